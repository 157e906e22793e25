// Reader and writer for GGUF (llama.cpp's checkpoint format), versions 2 and 3, little-endian.
// Layout:
//   "GGUF" magic, u32 version, u64 tensor_count, u64 kv_count
//   kv_count x { string key, u32 value_type, value }          string = u64 byte length + UTF-8 bytes
//       value types: 0 u8, 1 i8, 2 u16, 3 i16, 4 u32, 5 i32, 6 f32, 7 bool, 8 string,
//                    9 array = { u32 element_type, u64 count, count x value }, 10 u64, 11 i64, 12 f64
//   tensor_count x { string name, u32 n_dims, n_dims x u64 dim (INNERMOST first), u32 ggml_type, u64 offset }
//   padding to `general.alignment` (default 32); tensor data, each offset (relative to here) aligned.
// Every count and length read from the file is checked against the bytes left before it is used, so a
// mutated header fails with a FormatError instead of allocating gigabytes or looping for a long time.
import { closeSync, fstatSync, openSync } from 'node:fs';
import { FormatError, shown } from './errors.js';
import {
  type Checkpoint, type StorageDType, type TensorEntry, elementCount, f32ToF16Bits, readExact, storageByteLength, writeChunksAtomic,
} from './tensor-entry.js';
import { GGML_TYPES, ggmlTypeById } from './quant-types.js';

export const GGUF_TYPES = ['uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'float32', 'bool', 'string', 'array', 'uint64', 'int64', 'float64'] as const;
export type GGUFTypeName = (typeof GGUF_TYPES)[number];
/** An array with its element type kept explicit (needed to write it back bit-exactly). */
export interface GGUFArray { elementType: GGUFTypeName; values: GGUFValue[] }
export type GGUFValue = number | bigint | boolean | string | GGUFValue[] | GGUFArray;
export interface GGUFMetadataEntry { key: string; type: GGUFTypeName; value: GGUFValue }

export interface GGUFCheckpoint extends Checkpoint {
  format: 'gguf';
  version: number;
  alignment: number;
  /** Absolute offset where tensor data starts. */
  dataOffset: number;
  /** Metadata in file order with exact types (arrays as GGUFArray, 64-bit ints as bigint): feed to writeGGUF. */
  entries: GGUFMetadataEntry[];
}

const FIXED_SIZE: Partial<Record<GGUFTypeName, number>> = {
  uint8: 1, int8: 1, uint16: 2, int16: 2, uint32: 4, int32: 4, float32: 4, bool: 1, uint64: 8, int64: 8, float64: 8,
};
/** Fewest bytes one value of a type can occupy: bounds array counts by the bytes left. */
const minSize = (t: GGUFTypeName): number => FIXED_SIZE[t] ?? (t === 'string' ? 8 : 12);
const MAX_NESTING = 8;
const WINDOW = 1 << 20;

const SUPPORTED_TYPES = Object.keys(GGML_TYPES).join(', ');
const GGML_NAMES = ['F32', 'F16', 'Q4_0', 'Q4_1', 'Q4_2', 'Q4_3', 'Q5_0', 'Q5_1', 'Q8_0', 'Q8_1', 'Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K',
  'Q8_K', 'IQ2_XXS', 'IQ2_XS', 'IQ3_XXS', 'IQ1_S', 'IQ4_NL', 'IQ3_S', 'IQ2_S', 'IQ4_XS', 'I8', 'I16', 'I32', 'I64', 'F64', 'IQ1_M', 'BF16'];

/** Sequential reader over the file through a 1 MiB window; `field` names what is being read for errors. */
class Cursor {
  pos = 0;
  field = 'header';
  private buf = new Uint8Array(0);
  private dv = new DataView(this.buf.buffer);
  private start = 0;
  private readonly text = new TextDecoder('utf-8');
  constructor(readonly fd: number, readonly file: string, readonly size: number) {}

  fail(expected: string, detail?: string): never {
    throw new FormatError(this.file, this.field, expected, detail);
  }
  get left(): number { return this.size - this.pos; }
  /** Makes n bytes at pos addressable; returns their offset in the window. */
  private need(n: number): number {
    if (n > this.left) this.fail(`${n} bytes at offset ${this.pos}`, `file is ${this.size} bytes (truncated)`);
    if (this.pos < this.start || this.pos + n > this.start + this.buf.length) {
      this.buf = readExact(this.fd, this.file, this.pos, Math.min(Math.max(n, WINDOW), this.left), this.field);
      this.dv = new DataView(this.buf.buffer);
      this.start = this.pos;
    }
    const at = this.pos - this.start;
    this.pos += n;
    return at;
  }
  /** Refreshes the window first, then reads (`this.dv.getX(this.need(n))` would read the stale view). */
  private at(n: number): DataView {
    this.last = this.need(n);
    return this.dv;
  }
  private last = 0;
  u8(): number { return this.at(1).getUint8(this.last); }
  u32(): number { return this.at(4).getUint32(this.last, true); }
  u64(): bigint { return this.at(8).getBigUint64(this.last, true); }
  /** A u64 count of items each at least `itemBytes` long, bounded by the bytes left in the file. */
  count(itemBytes: number, what: string): number {
    const n = this.u64();
    if (n * BigInt(itemBytes) > BigInt(this.left)) this.fail(`${what} fitting in the ${this.left} bytes left`, `got ${n}`);
    return Number(n);
  }
  string(): string {
    const n = this.count(1, 'string length');
    const at = this.need(n);
    return this.text.decode(this.buf.subarray(at, at + n));
  }
  value(type: GGUFTypeName, depth: number): GGUFValue {
    switch (type) {
      case 'uint8': return this.u8();
      case 'int8': return this.at(1).getInt8(this.last);
      case 'uint16': return this.at(2).getUint16(this.last, true);
      case 'int16': return this.at(2).getInt16(this.last, true);
      case 'uint32': return this.u32();
      case 'int32': return this.at(4).getInt32(this.last, true);
      case 'float32': return this.at(4).getFloat32(this.last, true);
      case 'float64': return this.at(8).getFloat64(this.last, true);
      case 'uint64': return this.u64();
      case 'int64': return this.at(8).getBigInt64(this.last, true);
      case 'string': return this.string();
      case 'bool': {
        const b = this.u8();
        if (b > 1) this.fail('bool 0 or 1', `got ${b}`);
        return b === 1;
      }
      case 'array': {
        if (depth >= MAX_NESTING) this.fail(`arrays nested at most ${MAX_NESTING} deep`);
        const elementType = this.typeId('array element type');
        const n = this.count(minSize(elementType), 'array length');
        const values: GGUFValue[] = new Array(n);
        for (let i = 0; i < n; i++) values[i] = this.value(elementType, depth + 1);
        return { elementType, values };
      }
    }
  }
  typeId(what: string): GGUFTypeName {
    const id = this.u32();
    if (id >= GGUF_TYPES.length) this.fail(`${what} 0..${GGUF_TYPES.length - 1}`, `got ${id}`);
    return GGUF_TYPES[id];
  }
}

/** Exact typed value -> plain JS (arrays flattened to JS arrays, 64-bit ints as number when safe). */
function plain(v: GGUFValue): unknown {
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === 'object') return v.values.map(plain);
  return v;
}

/** Opens a GGUF file: parses the header (metadata + tensor infos) only; tensor data stays on disk. */
export function readGGUF(path: string): GGUFCheckpoint {
  const fd = openSync(path, 'r');
  try {
    const c: Cursor = new Cursor(fd, path, fstatSync(fd).size); // annotated so c.fail() (never) narrows types
    c.field = 'magic';
    if (c.size < 4 || c.u32() !== 0x46554747) {
      const head = c.size < 4 ? '' : Buffer.from(readExact(fd, path, 0, 4, 'magic')).toString('latin1');
      c.fail('"GGUF"', `not a GGUF file (found ${JSON.stringify(head)})`);
    }
    c.field = 'version';
    const version = c.u32();
    if (version !== 2 && version !== 3) c.fail('version 2 or 3', `got ${version}`);
    c.field = 'tensor_count';
    const nTensors = c.count(24, 'tensor count');
    c.field = 'metadata_kv_count';
    const nKV = c.count(13, 'metadata count');

    const entries: GGUFMetadataEntry[] = [];
    const metadata: Record<string, unknown> = {};
    for (let i = 0; i < nKV; i++) {
      c.field = `metadata entry #${i}`;
      const key = c.string();
      c.field = `metadata "${shown(key)}"`;
      if (Object.hasOwn(metadata, key)) c.fail('unique keys', 'duplicate key');
      const type = c.typeId('value type');
      const value = c.value(type, 0);
      entries.push({ key, type, value });
      Object.defineProperty(metadata, key, { value: plain(value), enumerable: true, writable: true, configurable: true });
    }
    let alignment = 32;
    const al = entries.find((e) => e.key === 'general.alignment');
    if (al) {
      c.field = 'metadata "general.alignment"';
      const v = al.value;
      if (al.type !== 'uint32' || typeof v !== 'number' || v === 0 || (v & (v - 1)) !== 0) c.fail('a uint32 power of two', `got ${al.type} ${String(v)}`);
      alignment = v;
    }

    interface Info { name: string; dtype: StorageDType; shape: number[]; offset: number; byteLength: number }
    const infos: Info[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < nTensors; i++) {
      c.field = `tensor info #${i}`;
      const name = c.string();
      c.field = `tensor "${shown(name)}"`;
      if (seen.has(name)) c.fail('unique tensor names', 'duplicate name');
      seen.add(name);
      const nDims = c.u32();
      if (nDims < 1 || nDims > 4) c.fail('1 to 4 dimensions', `got ${nDims}`);
      const dims: number[] = [];
      for (let d = 0; d < nDims; d++) {
        const n = c.u64();
        if (n > BigInt(c.size)) c.fail(`dimension ${d} no larger than the ${c.size}-byte file allows`, `got ${n}`);
        dims.push(Number(n));
      }
      const typeId = c.u32();
      const dtype = ggmlTypeById(typeId);
      if (!dtype) c.fail(`ggml type ${SUPPORTED_TYPES}`, `unsupported ggml type ${GGML_NAMES[typeId] ?? 'unknown'} (${typeId})`);
      const block = GGML_TYPES[dtype].block;
      if (dims[0] % block !== 0) c.fail(`innermost dimension a multiple of ${block} for ${dtype}`, `got ${dims[0]}`);
      const offset = c.u64();
      if (offset % BigInt(alignment) !== 0n) c.fail(`data offset aligned to ${alignment}`, `got ${offset}`);
      if (offset > BigInt(c.size)) c.fail(`data offset inside the ${c.size}-byte file`, `got ${offset} (out of bounds)`);
      const shape = dims.reverse(); // GGUF lists ne[0] (innermost) first
      const byteLength = storageByteLength(dtype, elementCount(shape), shape[shape.length - 1]);
      if (byteLength === undefined || byteLength > c.size) c.fail(`a tensor no larger than the ${c.size}-byte file`, `shape [${shape.join(',')}] ${dtype}`);
      infos.push({ name, dtype, shape, offset: Number(offset), byteLength });
    }
    const dataOffset = Math.ceil(c.pos / alignment) * alignment;
    const dataSize = c.size - dataOffset;
    const tensors = new Map<string, TensorEntry>();
    for (const t of infos) {
      if (t.offset + t.byteLength > dataSize) {
        throw new FormatError(path, `tensor "${shown(t.name)}"`, `${t.byteLength} bytes for ${t.dtype} [${t.shape.join(',')}] within the ${Math.max(0, dataSize)}-byte data area`,
          `data at ${t.offset}..${t.offset + t.byteLength} (out of bounds)`);
      }
      tensors.set(t.name, { name: t.name, dtype: t.dtype, shape: t.shape, file: path, byteOffset: dataOffset + t.offset, byteLength: t.byteLength });
    }
    const sorted = [...infos].sort((a, b) => a.offset - b.offset);
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1];
      if (sorted[i].offset < prev.offset + prev.byteLength) {
        throw new FormatError(path, `tensor "${shown(sorted[i].name)}"`, `data not overlapping tensor "${shown(prev.name)}"`, `starts at ${sorted[i].offset}, inside ${prev.offset}..${prev.offset + prev.byteLength}`);
      }
    }
    return { format: 'gguf', files: [path], tensors, metadata, version, alignment, dataOffset, entries };
  } finally {
    closeSync(fd);
  }
}

// ---- writing -----------------------------------------------------------------------------------------

export type GGUFTensorInput = {
  name: string;
  /** Outermost first (the writer reverses it into GGUF's inner-first dims). */
  shape: number[];
} & ({
  dtype: 'F32' | 'F16';
  /** Float32Array values (F16 rounds to nearest even), or Uint16Array raw F16 bits. */
  data: Float32Array | Uint16Array;
} | {
  /** Any other ggml type (BF16, Q8_0, Q4_K, …): the stored bytes as they go to the file (src/engine/quant.ts makes them). */
  dtype: Exclude<StorageDType, 'F32' | 'F16'>;
  data: Uint8Array;
});

function isGGUFArray(v: GGUFValue): v is GGUFArray {
  return typeof v === 'object' && !Array.isArray(v);
}

/** The GGUF type a plain JS value gets when none is given (llama.cpp's usual choices: u32 hparams, f32 floats, i32 arrays). */
export function inferGGUFType(v: GGUFValue): GGUFTypeName {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'bigint') return v < 0n ? 'int64' : 'uint64';
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) return 'float32';
    if (v >= 0) return v <= 0xffffffff ? 'uint32' : 'uint64';
    return v >= -0x80000000 ? 'int32' : 'int64';
  }
  return 'array';
}

function inferElementType(values: GGUFValue[]): GGUFTypeName {
  const kinds = new Set(values.map(inferGGUFType));
  if (kinds.size === 0) return 'int32';
  if (kinds.size === 1 && !kinds.has('uint32') && !kinds.has('int32')) return [...kinds][0];
  if (kinds.has('float32')) return 'float32';
  if ([...kinds].every((k) => k === 'uint32' || k === 'int32')) return values.every((x) => (x as number) <= 0x7fffffff) ? 'int32' : 'int64';
  if ([...kinds].every((k) => k === 'uint32' || k === 'int32' || k === 'int64' || k === 'uint64')) return 'int64';
  throw new TypeError(`writeGGUF: array mixes element kinds ${[...kinds].join(', ')}`);
}

const INT_RANGE: Partial<Record<GGUFTypeName, [bigint, bigint]>> = {
  uint8: [0n, 0xffn], int8: [-0x80n, 0x7fn], uint16: [0n, 0xffffn], int16: [-0x8000n, 0x7fffn],
  uint32: [0n, 0xffffffffn], int32: [-0x80000000n, 0x7fffffffn], uint64: [0n, 2n ** 64n - 1n], int64: [-(2n ** 63n), 2n ** 63n - 1n],
};

/** Appends little-endian encodings to a list of small buffers (header only; tensor data is streamed). */
class Writer {
  parts: Uint8Array[] = [];
  length = 0;
  private put(n: number, f: (dv: DataView) => void): void {
    const b = new Uint8Array(n);
    f(new DataView(b.buffer));
    this.parts.push(b);
    this.length += n;
  }
  u32(v: number): void { this.put(4, (d) => d.setUint32(0, v, true)); }
  u64(v: number | bigint): void { this.put(8, (d) => d.setBigUint64(0, BigInt(v), true)); }
  bytes(b: Uint8Array): void { this.parts.push(b); this.length += b.length; }
  string(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.bytes(b);
  }
  value(key: string, type: GGUFTypeName, v: GGUFValue): void {
    const bad = (): never => { throw new TypeError(`writeGGUF: metadata "${key}": ${String(v)} is not a valid ${type}`); };
    const range = INT_RANGE[type];
    if (range) {
      if (!(typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v)))) bad();
      const b = BigInt(v as number | bigint);
      if (b < range[0] || b > range[1]) bad();
      const size = FIXED_SIZE[type]!;
      this.put(size, (d) => {
        if (size === 8) (type === 'int64' ? d.setBigInt64(0, b, true) : d.setBigUint64(0, b, true));
        else if (size === 4) (type === 'int32' ? d.setInt32(0, Number(b), true) : d.setUint32(0, Number(b), true));
        else if (size === 2) (type === 'int16' ? d.setInt16(0, Number(b), true) : d.setUint16(0, Number(b), true));
        else (type === 'int8' ? d.setInt8(0, Number(b)) : d.setUint8(0, Number(b)));
      });
      return;
    }
    switch (type) {
      case 'float32': if (typeof v !== 'number') bad(); this.put(4, (d) => d.setFloat32(0, v as number, true)); return;
      case 'float64': if (typeof v !== 'number') bad(); this.put(8, (d) => d.setFloat64(0, v as number, true)); return;
      case 'bool': if (typeof v !== 'boolean') bad(); this.put(1, (d) => d.setUint8(0, v ? 1 : 0)); return;
      case 'string': if (typeof v !== 'string') bad(); this.string(v as string); return;
      case 'array': {
        if (typeof v !== 'object') bad();
        const arr = v as GGUFValue[] | GGUFArray;
        const values = isGGUFArray(arr) ? arr.values : arr;
        const et = isGGUFArray(arr) ? arr.elementType : inferElementType(values);
        this.u32(GGUF_TYPES.indexOf(et));
        this.u64(values.length);
        for (const x of values) this.value(key, et, x);
        return;
      }
      default: bad();
    }
  }
}

/**
 * Writes a GGUF v3 file llama.cpp can load: metadata (typed entries in order, or a record whose value types are
 * inferred, see inferGGUFType), then tensor infos, then the data, every tensor aligned to `general.alignment`
 * (32 unless the metadata sets it). Written to a temp file and renamed into place.
 */
export function writeGGUF(path: string, metadata: GGUFMetadataEntry[] | Record<string, GGUFValue>, tensors: GGUFTensorInput[]): void {
  const entries: GGUFMetadataEntry[] = Array.isArray(metadata)
    ? metadata
    : Object.entries(metadata).map(([key, value]) => ({ key, type: inferGGUFType(value), value }));
  const al = entries.find((e) => e.key === 'general.alignment');
  const alignment = al ? Number(al.value) : 32;
  if (!Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0 || (al && al.type !== 'uint32')) {
    throw new RangeError('writeGGUF: general.alignment must be a uint32 power of two');
  }
  const w = new Writer();
  w.u32(0x46554747);
  w.u32(3);
  w.u64(tensors.length);
  w.u64(entries.length);
  const keys = new Set<string>();
  for (const e of entries) {
    if (keys.has(e.key)) throw new RangeError(`writeGGUF: duplicate metadata key "${e.key}"`);
    keys.add(e.key);
    w.string(e.key);
    w.u32(GGUF_TYPES.indexOf(e.type));
    w.value(e.key, e.type, e.value);
  }
  const align = (n: number): number => Math.ceil(n / alignment) * alignment;
  const names = new Set<string>();
  const offsets: number[] = [];
  let offset = 0;
  for (const t of tensors) {
    const numel = elementCount(t.shape);
    if (names.has(t.name)) throw new RangeError(`writeGGUF: duplicate tensor name "${t.name}"`);
    names.add(t.name);
    if (t.shape.length < 1 || t.shape.length > 4) throw new RangeError(`writeGGUF: tensor "${t.name}" needs 1 to 4 dimensions`);
    const type = GGML_TYPES[t.dtype as StorageDType];
    if (type === undefined) throw new TypeError(`writeGGUF: tensor "${t.name}": unsupported dtype ${t.dtype}`);
    const stored = storageByteLength(t.dtype, numel, t.shape[t.shape.length - 1]);
    if (stored === undefined) throw new RangeError(`writeGGUF: tensor "${t.name}" [${t.shape.join(',')}] is not whole ${t.dtype} blocks of ${type.block}`);
    if (t.dtype === 'F32' || t.dtype === 'F16') {
      if (t.data.length !== numel) throw new RangeError(`writeGGUF: tensor "${t.name}" has ${t.data.length} values for shape [${t.shape.join(',')}]`);
      if (t.dtype === 'F32' && !(t.data instanceof Float32Array)) throw new TypeError(`writeGGUF: tensor "${t.name}" is F32 but data is not a Float32Array`);
    } else if (!(t.data instanceof Uint8Array) || t.data.length !== stored) {
      throw new RangeError(`writeGGUF: tensor "${t.name}" (${t.dtype} [${t.shape.join(',')}]) needs ${stored} bytes of blocks`);
    }
    w.string(t.name);
    w.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) w.u64(d);
    w.u32(type.id);
    offsets.push(offset);
    w.u64(offset);
    offset = align(offset + stored);
  }
  const headerPad = align(w.length) - w.length;
  writeChunksAtomic(path, (function* () {
    yield* w.parts;
    yield new Uint8Array(headerPad);
    let at = 0;
    for (let i = 0; i < tensors.length; i++) {
      const t = tensors[i];
      if (offsets[i] > at) yield new Uint8Array(offsets[i] - at);
      let bytes: Uint8Array;
      if (t.dtype === 'F32' || t.dtype === 'F16') {
        bytes = new Uint8Array(storageByteLength(t.dtype, t.data.length)!);
        const dv = new DataView(bytes.buffer);
        if (t.dtype === 'F32') for (let j = 0; j < t.data.length; j++) dv.setFloat32(j * 4, t.data[j], true);
        else for (let j = 0; j < t.data.length; j++) dv.setUint16(j * 2, t.data instanceof Uint16Array ? t.data[j] : f32ToF16Bits(t.data[j]), true);
      } else bytes = t.data as Uint8Array; // already the file's bytes (little-endian blocks)
      yield bytes;
      at = offsets[i] + bytes.length;
    }
    const end = align(at);
    if (end > at) yield new Uint8Array(end - at);
  })());
}
