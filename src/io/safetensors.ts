// Reader and writer for Hugging Face safetensors checkpoints, single-file or sharded.
// File layout:
//   u64 LE  N                 header length
//   N bytes JSON header       { "__metadata__": {str: str}?, "<name>": {"dtype": "F32", "shape": [..],
//                               "data_offsets": [begin, end]}, ... }   (writers pad it with spaces to 8 bytes)
//   data                      tensors; offsets are relative to the first byte after the header and,
//                             per the spec, tile the data area exactly (no overlap, no holes).
// Sharded checkpoints add model.safetensors.index.json: { "metadata": {...}, "weight_map": {name: shard file} }.
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FormatError, shown, shownJson } from './errors.js';
import {
  type Checkpoint, type TensorEntry, elementCount, f32ToBf16Bits, f32ToF16Bits, readExact, storageByteLength, writeChunksAtomic,
} from './tensor-entry.js';

export type SafetensorsDType = 'F32' | 'F16' | 'BF16';
const SUPPORTED = new Set<string>(['F32', 'F16', 'BF16']);
/** The reference implementation refuses headers above 100 MB; so do we (before allocating anything). */
const MAX_HEADER = 100_000_000;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

interface Parsed { tensors: TensorEntry[]; metadata: Record<string, string> }

/** Parses and validates one .safetensors file's header (reads only the header bytes). */
function parseFile(file: string): Parsed {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size < 8) throw new FormatError(file, 'header length', 'an 8-byte little-endian u64', `file is only ${size} bytes`);
    const lenBytes = readExact(fd, file, 0, 8, 'header length');
    const n64 = new DataView(lenBytes.buffer).getBigUint64(0, true);
    if (n64 < 2n || n64 > BigInt(Math.min(size - 8, MAX_HEADER))) {
      throw new FormatError(file, 'header length', `2..${Math.min(size - 8, MAX_HEADER)} (bounded by the file size ${size})`, `got ${n64}`);
    }
    const n = Number(n64);
    const dataStart = 8 + n;
    const dataSize = size - dataStart;
    let header: unknown;
    try {
      header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(readExact(fd, file, 8, n, 'header')));
    } catch (e) {
      if (e instanceof FormatError) throw e;
      throw new FormatError(file, 'header', 'UTF-8 JSON', `got ${(e as Error).message}`);
    }
    if (!isObject(header)) throw new FormatError(file, 'header', 'a JSON object', `got ${Array.isArray(header) ? 'an array' : typeof header}`);
    const metaEntries: [string, string][] = [];
    const tensors: TensorEntry[] = [];
    const spans: { begin: number; end: number; name: string }[] = [];
    for (const [name, info] of Object.entries(header)) {
      if (name === '__metadata__') {
        if (!isObject(info)) throw new FormatError(file, '__metadata__', 'an object of strings');
        for (const [k, v] of Object.entries(info)) {
          if (typeof v !== 'string') throw new FormatError(file, `__metadata__ "${shown(k)}"`, 'a string value', `got ${typeof v}`);
          metaEntries.push([k, v]);
        }
        continue;
      }
      const field = `tensor "${shown(name)}"`;
      if (!isObject(info)) throw new FormatError(file, field, 'an object with dtype, shape and data_offsets');
      const { dtype, shape, data_offsets: offs } = info;
      if (typeof dtype !== 'string' || !SUPPORTED.has(dtype)) {
        throw new FormatError(file, field, 'F32, F16 or BF16', `unsupported dtype ${typeof dtype === 'string' ? shown(dtype) : shownJson(dtype)}`);
      }
      if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
        throw new FormatError(file, field, 'shape as an array of non-negative integers', `got ${shownJson(shape)}`);
      }
      if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0) || offs[0] > offs[1]) {
        throw new FormatError(file, field, 'data_offsets [begin, end] with 0 <= begin <= end', `got ${shownJson(offs)}`);
      }
      const [begin, end] = offs as [number, number];
      if (end > dataSize) {
        throw new FormatError(file, field, `data_offsets within the ${dataSize}-byte data area`, `got [${begin},${end}] (out of bounds)`);
      }
      const want = storageByteLength(dtype as SafetensorsDType, elementCount(shape as number[]));
      if (want !== end - begin) {
        throw new FormatError(file, field, `${want} bytes for ${dtype} [${shape.join(',')}]`, `data_offsets span ${end - begin}`);
      }
      tensors.push({ name, dtype: dtype as SafetensorsDType, shape: [...(shape as number[])], file, byteOffset: dataStart + begin, byteLength: end - begin });
      spans.push({ begin, end, name });
    }
    // The spec requires the tensors to tile the data area: sorted by offset each starts where the previous ended.
    spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
    let at = 0;
    for (const s of spans) {
      if (s.begin < at) throw new FormatError(file, `tensor "${shown(s.name)}"`, `data starting at or after ${at}`, `overlaps the previous tensor (begins at ${s.begin})`);
      if (s.begin > at) throw new FormatError(file, `tensor "${shown(s.name)}"`, `data starting at ${at}`, `leaves a hole (begins at ${s.begin})`);
      at = s.end;
    }
    if (at !== dataSize) throw new FormatError(file, 'data', `${at} bytes of tensor data after the header`, `file holds ${dataSize}`);
    return { tensors, metadata: Object.fromEntries(metaEntries) };
  } finally {
    closeSync(fd);
  }
}

function readIndex(indexFile: string): Checkpoint {
  let index: unknown;
  try {
    index = JSON.parse(readFileSync(indexFile, 'utf8'));
  } catch (e) {
    throw new FormatError(indexFile, 'index', 'a JSON object', `got ${(e as Error).message}`);
  }
  if (!isObject(index) || !isObject(index.weight_map)) throw new FormatError(indexFile, 'weight_map', 'an object {tensor name: shard file}');
  const dir = dirname(indexFile);
  const byShard = new Map<string, string[]>();
  for (const [name, shard] of Object.entries(index.weight_map)) {
    if (typeof shard !== 'string' || shard.includes('/') || shard.includes('\\') || shard === '..') {
      throw new FormatError(indexFile, `weight_map "${shown(name)}"`, 'a shard file name in the same folder', `got ${shownJson(shard)}`);
    }
    const list = byShard.get(shard) ?? [];
    list.push(name);
    byShard.set(shard, list);
  }
  const metadata: Record<string, unknown> = isObject(index.metadata) ? { ...index.metadata } : {};
  const tensors = new Map<string, TensorEntry>();
  const files: string[] = [];
  for (const shard of [...byShard.keys()].sort()) {
    const file = join(dir, shard);
    if (!existsSync(file)) throw new FormatError(indexFile, `weight_map shard "${shown(shard)}"`, 'an existing file next to the index', 'not found');
    files.push(file);
    const parsed = parseFile(file);
    for (const [k, v] of Object.entries(parsed.metadata)) Object.defineProperty(metadata, k, { value: v, enumerable: true, writable: true, configurable: true });
    const inShard = new Map(parsed.tensors.map((t) => [t.name, t]));
    for (const name of byShard.get(shard)!) {
      const entry = inShard.get(name);
      if (!entry) throw new FormatError(indexFile, `weight_map "${shown(name)}"`, `the tensor to be in ${shown(shard)}`, 'it is not');
      tensors.set(name, entry);
    }
  }
  return { format: 'safetensors', files, tensors, metadata };
}

/**
 * Opens a safetensors checkpoint: a .safetensors file, a model.safetensors.index.json (sharded), or a folder
 * holding either (the index wins; otherwise model.safetensors, otherwise the folder's only .safetensors file).
 */
export function readSafetensors(pathOrDir: string): Checkpoint {
  let path = pathOrDir;
  if (statSync(path).isDirectory()) {
    const idx = join(path, 'model.safetensors.index.json');
    const single = join(path, 'model.safetensors');
    if (existsSync(idx)) path = idx;
    else if (existsSync(single)) path = single;
    else {
      const found = readdirSync(path).filter((f) => f.endsWith('.safetensors'));
      if (found.length !== 1) {
        throw new FormatError(pathOrDir, 'folder', 'model.safetensors.index.json, model.safetensors or exactly one .safetensors file', `found ${found.length} .safetensors files`);
      }
      path = join(path, found[0]);
    }
  }
  if (path.endsWith('.json')) return readIndex(path);
  const parsed = parseFile(path);
  return { format: 'safetensors', files: [path], tensors: new Map(parsed.tensors.map((t) => [t.name, t])), metadata: { ...parsed.metadata } };
}

export interface SafetensorsInput {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** Float32Array values (converted with round-to-nearest-even for F16/BF16), or Uint16Array raw F16/BF16 bits. */
  data: Float32Array | Uint16Array;
}

function encode(file: string, t: SafetensorsInput): Uint8Array {
  const numel = elementCount(t.shape);
  if (!Number.isSafeInteger(numel) || t.data.length !== numel) {
    throw new RangeError(`writeSafetensors ${file}: tensor "${t.name}" has ${t.data.length} values for shape [${t.shape.join(',')}]`);
  }
  if (t.dtype === 'F32') {
    if (!(t.data instanceof Float32Array)) throw new TypeError(`writeSafetensors: tensor "${t.name}" is F32 but data is not a Float32Array`);
    const out = new Uint8Array(numel * 4);
    const dv = new DataView(out.buffer);
    for (let i = 0; i < numel; i++) dv.setFloat32(i * 4, t.data[i], true);
    return out;
  }
  const out = new Uint8Array(numel * 2);
  const dv = new DataView(out.buffer);
  const conv = t.dtype === 'F16' ? f32ToF16Bits : f32ToBf16Bits;
  for (let i = 0; i < numel; i++) dv.setUint16(i * 2, t.data instanceof Uint16Array ? t.data[i] : conv(t.data[i]), true);
  return out;
}

/**
 * Writes a standard safetensors file: tensors sorted by name, header JSON padded with spaces to a multiple of
 * 8 bytes, written to a temp file beside `path` and renamed over it so readers never see a partial file.
 * Bad arguments (wrong data length, duplicate names, unsupported dtype) are programming errors: RangeError/TypeError.
 */
export function writeSafetensors(path: string, tensors: SafetensorsInput[], metadata?: Record<string, string>): void {
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // Entries + Object.fromEntries (not obj[name] = ...) so a tensor called "__proto__" is kept as data.
  const entries: [string, unknown][] = [];
  if (metadata && Object.keys(metadata).length > 0) entries.push(['__metadata__', { ...metadata }]);
  const seen = new Set<string>(['__metadata__']);
  let offset = 0;
  for (const t of sorted) {
    if (!SUPPORTED.has(t.dtype)) throw new TypeError(`writeSafetensors: tensor "${t.name}" has unsupported dtype ${t.dtype}`);
    if (seen.has(t.name)) throw new RangeError(`writeSafetensors: duplicate or reserved tensor name "${t.name}"`);
    seen.add(t.name);
    const len = storageByteLength(t.dtype, elementCount(t.shape))!;
    entries.push([t.name, { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + len] }]);
    offset += len;
  }
  let json = Buffer.from(JSON.stringify(Object.fromEntries(entries)), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const lenBytes = Buffer.alloc(8);
  lenBytes.writeBigUInt64LE(BigInt(json.length));
  writeChunksAtomic(path, (function* () {
    yield lenBytes;
    yield json;
    for (const t of sorted) yield encode(path, t);
  })());
}
