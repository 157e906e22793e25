// GGUF: write -> read round trips (F32/F16 tensors, metadata of every value type incl. nested arrays), v2 files,
// Q8_0/BF16 tensors from a hand-built file, layout details llama.cpp relies on, and FormatErrors for bad files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FormatError } from '../../src/io/errors.js';
import { type GGUFMetadataEntry, readGGUF, writeGGUF } from '../../src/io/gguf.js';
import { readF32 } from '../../src/io/tensor-entry.js';
import { tmp, throwsFormat } from '../helpers/format-errors.js';

/** Hand-built GGUF: one tensor info per entry (dims inner-first, raw ggml type id), no metadata except alignment. */
function build(tensors: { name: string; dims: number[]; type: number; offset: number }[], data: Buffer, opts: { magic?: number; version?: number; count?: bigint } = {}): Buffer {
  const parts: Buffer[] = [];
  const u32 = (v: number): void => { const b = Buffer.alloc(4); b.writeUInt32LE(v); parts.push(b); };
  const u64 = (v: number | bigint): void => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); parts.push(b); };
  const str = (s: string): void => { u64(Buffer.byteLength(s)); parts.push(Buffer.from(s)); };
  u32(opts.magic ?? 0x46554747);
  u32(opts.version ?? 3);
  u64(opts.count ?? BigInt(tensors.length));
  u64(0);
  for (const t of tensors) {
    str(t.name);
    u32(t.dims.length);
    for (const d of t.dims) u64(d);
    u32(t.type);
    u64(t.offset);
  }
  const head = Buffer.concat(parts);
  return Buffer.concat([head, Buffer.alloc((32 - (head.length % 32)) % 32), data]);
}

const EVERY_TYPE: GGUFMetadataEntry[] = [
  { key: 'general.architecture', type: 'string', value: 'llama' },
  { key: 'v.u8', type: 'uint8', value: 255 },
  { key: 'v.i8', type: 'int8', value: -128 },
  { key: 'v.u16', type: 'uint16', value: 65535 },
  { key: 'v.i16', type: 'int16', value: -32768 },
  { key: 'v.u32', type: 'uint32', value: 4294967295 },
  { key: 'v.i32', type: 'int32', value: -2147483648 },
  { key: 'v.f32', type: 'float32', value: Math.fround(1e-5) },
  { key: 'v.bool', type: 'bool', value: false },
  { key: 'v.str', type: 'string', value: 'héllo ▁wörld 🦙' },
  { key: 'v.u64', type: 'uint64', value: 18446744073709551615n },
  { key: 'v.i64', type: 'int64', value: -9223372036854775808n },
  { key: 'v.f64', type: 'float64', value: Math.PI },
  { key: 'v.arr.str', type: 'array', value: { elementType: 'string', values: ['<unk>', '', '▁the'] } },
  { key: 'v.arr.f32', type: 'array', value: { elementType: 'float32', values: [0, -1.5, 3.25] } },
  { key: 'v.arr.i32', type: 'array', value: { elementType: 'int32', values: [1, 2, 3, -6] } },
  { key: 'v.arr.u8', type: 'array', value: { elementType: 'uint8', values: [0, 255] } },
  { key: 'v.arr.bool', type: 'array', value: { elementType: 'bool', values: [true, false] } },
  { key: 'v.arr.u64', type: 'array', value: { elementType: 'uint64', values: [0n, 1n << 60n] } },
  { key: 'v.arr.empty', type: 'array', value: { elementType: 'float64', values: [] } },
  { key: 'v.arr.nested', type: 'array', value: { elementType: 'array', values: [
    { elementType: 'int16', values: [-1, 2] }, { elementType: 'string', values: ['a'] }, { elementType: 'array', values: [] }] } },
];

test('writeGGUF -> readGGUF round trips F32/F16 tensors and metadata of every type', (t) => {
  const dir = tmp(t, 'lift-io-gguf-');
  const path = join(dir, 'm.gguf');
  const emb = Float32Array.from({ length: 5 * 3 }, (_, i) => Math.fround(i * 0.1 - 0.7));
  const q = Float32Array.from([1, -2, 0.5, 65504, 2 ** -24, 0.1]);
  const qBits = Uint16Array.from([0x3c00, 0xc000]);
  writeGGUF(path, EVERY_TYPE, [
    { name: 'token_embd.weight', dtype: 'F32', shape: [5, 3], data: emb },
    { name: 'blk.0.attn_q.weight', dtype: 'F16', shape: [2, 3], data: q },
    { name: 'blk.0.attn_q.bias', dtype: 'F16', shape: [2], data: qBits },
    { name: 'four.d', dtype: 'F32', shape: [1, 2, 1, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
  ]);
  assert.deepEqual(readdirSync(dir), ['m.gguf'], 'no temp file left behind');
  const ck = readGGUF(path);
  assert.equal(ck.version, 3);
  assert.equal(ck.alignment, 32);
  assert.deepEqual(ck.entries, EVERY_TYPE);
  assert.equal(ck.metadata['v.u64'], 18446744073709551615n); // not a safe integer: stays bigint
  assert.deepEqual(ck.metadata['v.arr.u64'], [0, 1n << 60n]); // safe 64-bit ints become numbers, others stay bigint
  assert.equal(ck.metadata['v.i32'], -2147483648);
  assert.deepEqual(ck.metadata['v.arr.nested'], [[-1, 2], ['a'], []]);
  assert.equal(ck.metadata['v.str'], 'héllo ▁wörld 🦙');
  assert.deepEqual(readF32(ck.tensors.get('token_embd.weight')!), emb);
  assert.deepEqual([...readF32(ck.tensors.get('blk.0.attn_q.weight')!)], [1, -2, 0.5, 65504, 2 ** -24, Math.fround(0.0999755859375)]);
  assert.deepEqual([...readF32(ck.tensors.get('blk.0.attn_q.bias')!)], [1, -2]);
  assert.deepEqual(ck.tensors.get('token_embd.weight')!.shape, [5, 3]);
  assert.deepEqual(ck.tensors.get('four.d')!.shape, [1, 2, 1, 3]);
  for (const e of ck.tensors.values()) assert.equal((e.byteOffset - ck.dataOffset) % 32, 0, `${e.name} aligned`);
  assert.equal(ck.dataOffset % 32, 0);
  assert.equal(readFileSync(path).length % 32, 0, 'last tensor padded too');

  // On disk the dims are inner-first: token_embd [5,3] is written as ne = (3, 5).
  const bytes = readFileSync(path);
  const at = bytes.indexOf('token_embd.weight') + 'token_embd.weight'.length;
  assert.equal(bytes.readUInt32LE(at), 2);
  assert.deepEqual([bytes.readBigUInt64LE(at + 4), bytes.readBigUInt64LE(at + 12)], [3n, 5n]);
});

test('writeGGUF infers types from a plain record and honours general.alignment', (t) => {
  const dir = tmp(t, 'lift-io-gguf-');
  const path = join(dir, 'r.gguf');
  writeGGUF(path, {
    'general.architecture': 'llama', 'general.alignment': 64, 'llama.embedding_length': 64,
    'llama.attention.layer_norm_rms_epsilon': 1e-5, 'x.neg': -3, 'x.big': 2 ** 40, 'x.flag': true,
    'tokenizer.ggml.tokens': ['a', 'b'], 'tokenizer.ggml.scores': [0.5, -1.25], 'tokenizer.ggml.token_type': [1, 6],
  }, [{ name: 'a', dtype: 'F32', shape: [3], data: Float32Array.from([1, 2, 3]) }, { name: 'b', dtype: 'F16', shape: [2], data: Float32Array.from([4, 5]) }]);
  const ck = readGGUF(path);
  const types = Object.fromEntries(ck.entries.map((e) => [e.key, e.type === 'array' ? `array<${(e.value as { elementType: string }).elementType}>` : e.type]));
  assert.deepEqual(types, {
    'general.architecture': 'string', 'general.alignment': 'uint32', 'llama.embedding_length': 'uint32',
    'llama.attention.layer_norm_rms_epsilon': 'float32', 'x.neg': 'int32', 'x.big': 'uint64', 'x.flag': 'bool',
    'tokenizer.ggml.tokens': 'array<string>', 'tokenizer.ggml.scores': 'array<float32>', 'tokenizer.ggml.token_type': 'array<int32>',
  });
  assert.equal(ck.alignment, 64);
  assert.equal(ck.dataOffset % 64, 0);
  assert.equal(ck.tensors.get('b')!.byteOffset - ck.dataOffset, 64);
  assert.deepEqual([...readF32(ck.tensors.get('b')!)], [4, 5]);
  assert.equal(ck.metadata['x.big'], 2 ** 40);
});

test('GGUF v2, Q8_0 and BF16 tensors from a hand-built file', (t) => {
  const dir = tmp(t, 'lift-io-gguf-');
  const path = join(dir, 'h.gguf');
  const data = Buffer.alloc(128);
  data.writeUInt16LE(0x3800, 0); // Q8_0 [1,32] at 0: d = 0.5, q = 0, 1, ..., 31
  for (let j = 0; j < 32; j++) data.writeInt8(j - 16, 2 + j);
  data.writeUInt16LE(0x3f80, 64); data.writeUInt16LE(0xc2f7, 66); // BF16 [2] at 64
  writeFileSync(path, build([{ name: 'q', dims: [32, 1], type: 8, offset: 0 }, { name: 'b', dims: [2], type: 30, offset: 64 }], data, { version: 2 }));
  const ck = readGGUF(path);
  assert.equal(ck.version, 2);
  assert.deepEqual(ck.tensors.get('q')!.shape, [1, 32]);
  assert.equal(ck.tensors.get('q')!.dtype, 'Q8_0');
  assert.equal(ck.tensors.get('q')!.byteLength, 34);
  assert.deepEqual([...readF32(ck.tensors.get('q')!)], Array.from({ length: 32 }, (_, j) => (j - 16) / 2));
  assert.deepEqual([...readF32(ck.tensors.get('b')!)], [1, -123.5]);
});

test('invalid GGUF files throw FormatError naming the file and the field', (t) => {
  const dir = tmp(t, 'lift-io-gguf-');
  const p = join(dir, 'bad.gguf');
  const one = (type: number, dims = [4, 2], offset = 0): Buffer => build([{ name: 'blk.0.attn_q.weight', dims, type, offset }], Buffer.alloc(32));
  writeFileSync(p, one(0));
  assert.deepEqual(readGGUF(p).tensors.get('blk.0.attn_q.weight')!.shape, [2, 4], 'the baseline is valid');

  writeFileSync(p, build([], Buffer.alloc(0), { magic: 0x4c4c4747 }));
  throwsFormat(() => readGGUF(p), /^bad\.gguf: magic: expected "GGUF", not a GGUF file/);
  writeFileSync(p, Buffer.from('GG'));
  throwsFormat(() => readGGUF(p), /bad\.gguf: magic/);
  writeFileSync(p, build([], Buffer.alloc(0), { version: 1 }));
  throwsFormat(() => readGGUF(p), /bad\.gguf: version: expected version 2 or 3, got 1/);
  writeFileSync(p, build([], Buffer.alloc(0), { count: 1n << 40n }));
  throwsFormat(() => readGGUF(p), /bad\.gguf: tensor_count: expected tensor count fitting in the \d+ bytes left, got 1099511627776/);
  writeFileSync(p, one(16));
  throwsFormat(() => readGGUF(p), /bad\.gguf: tensor "blk\.0\.attn_q\.weight": expected ggml type F32, F16, Q4_0, .*Q6_K, BF16, unsupported ggml type IQ2_XXS \(16\)/);
  writeFileSync(p, one(12, [16, 1]));
  throwsFormat(() => readGGUF(p), /tensor "blk\.0\.attn_q\.weight": expected innermost dimension a multiple of 256 for Q4_K, got 16/);
  writeFileSync(p, one(6, [64, 1])); // two Q5_0 blocks are 44 bytes: the 32-byte data area truncates them
  throwsFormat(() => readGGUF(p), /tensor "blk\.0\.attn_q\.weight": expected 44 bytes for Q5_0 \[1,64\] within the 32-byte data area/);
  writeFileSync(p, one(0, [4, 4]));
  throwsFormat(() => readGGUF(p), /bad\.gguf: tensor "blk\.0\.attn_q\.weight": expected 64 bytes for F32 \[4,4\] within the 32-byte data area/);
  writeFileSync(p, one(0, [4, 2], 64));
  throwsFormat(() => readGGUF(p), /tensor "blk\.0\.attn_q\.weight": .*out of bounds/);
  writeFileSync(p, one(0, [4, 2], 8));
  throwsFormat(() => readGGUF(p), /tensor "blk\.0\.attn_q\.weight": expected data offset aligned to 32, got 8/);
  writeFileSync(p, one(0, [2, 2, 2, 2, 2]));
  throwsFormat(() => readGGUF(p), /tensor "blk\.0\.attn_q\.weight": expected 1 to 4 dimensions, got 5/);
  writeFileSync(p, one(8, [16, 1]));
  throwsFormat(() => readGGUF(p), /innermost dimension a multiple of 32 for Q8_0, got 16/);
  writeFileSync(p, build([{ name: 'a', dims: [4], type: 0, offset: 0 }, { name: 'b', dims: [4], type: 0, offset: 0 }], Buffer.alloc(32)));
  throwsFormat(() => readGGUF(p), /tensor "(a|b)": expected data not overlapping/);
  writeFileSync(p, build([{ name: 'a', dims: [4], type: 0, offset: 0 }, { name: 'a', dims: [4], type: 0, offset: 32 }], Buffer.alloc(64)));
  throwsFormat(() => readGGUF(p), /tensor "a": expected unique tensor names/);

  // Metadata problems, starting from a valid written file.
  const good = join(dir, 'good.gguf');
  writeGGUF(good, [{ key: 'general.alignment', type: 'uint32', value: 32 }, { key: 'k', type: 'bool', value: true }], []);
  const bytes = readFileSync(good);
  const patched = Buffer.from(bytes);
  patched[bytes.lastIndexOf('k') + 1 + 4] = 7; // after key "k" and its u32 type: the bool byte
  writeFileSync(p, patched);
  throwsFormat(() => readGGUF(p), /bad\.gguf: metadata "k": expected bool 0 or 1, got 7/);
  const misaligned = Buffer.from(bytes);
  misaligned.writeUInt32LE(48, bytes.indexOf('general.alignment') + 'general.alignment'.length + 4);
  writeFileSync(p, misaligned);
  throwsFormat(() => readGGUF(p), /metadata "general\.alignment": expected a uint32 power of two, got uint32 48/);
  const dup = join(dir, 'dup.gguf');
  writeGGUF(dup, [{ key: 'aa', type: 'uint8', value: 1 }, { key: 'ab', type: 'uint8', value: 1 }], []);
  const d = readFileSync(dup);
  d[d.lastIndexOf('ab')+1] = 'a'.charCodeAt(0);
  writeFileSync(p, d);
  throwsFormat(() => readGGUF(p), /bad\.gguf: metadata "aa": expected unique keys, duplicate key/);

  // Truncation at every length of a file with metadata and tensors: always a FormatError naming the file.
  const full = join(dir, 'full.gguf');
  writeGGUF(full, EVERY_TYPE, [{ name: 'w', dtype: 'F16', shape: [3, 5], data: new Float32Array(15) }]);
  const all = readFileSync(full);
  let lastTensorByte = 0;
  { const e = readGGUF(full).tensors.get('w')!; lastTensorByte = e.byteOffset + e.byteLength; }
  for (let n = 0; n < lastTensorByte; n++) {
    writeFileSync(p, all.subarray(0, n));
    throwsFormat(() => readGGUF(p), /^bad\.gguf: /);
  }
});
