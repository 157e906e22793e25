// safetensors: write -> read round trips (F32/F16/BF16, metadata), the on-disk layout HF expects, sharded
// checkpoints through model.safetensors.index.json, and FormatErrors that name the file and the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FormatError } from '../../src/io/errors.js';
import { readSafetensors, writeSafetensors } from '../../src/io/safetensors.js';
import { readF32, readRaw } from '../../src/io/tensor-entry.js';
import { tmp, throwsFormat } from '../helpers/format-errors.js';

/** A safetensors file from an arbitrary header object and data bytes (to build invalid files). */
function raw(path: string, header: unknown, data: Uint8Array | number, lenOverride?: bigint): void {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(lenOverride ?? BigInt(json.length));
  writeFileSync(path, Buffer.concat([len, json, typeof data === 'number' ? Buffer.alloc(data) : data]));
}

test('writeSafetensors -> readSafetensors round trips F32, F16 and BF16 with metadata', (t) => {
  const dir = tmp(t, 'lift-io-st-');
  const path = join(dir, 'model.safetensors');
  const f32 = Float32Array.from({ length: 24 }, (_, i) => Math.fround(Math.sin(i) * 100));
  const f16 = Float32Array.from([1, -2, 0.333251953125, 65504, 2 ** -24, 0]);
  const bf16bits = Uint16Array.from([0x3f80, 0x4049, 0xc2f7]);
  writeSafetensors(path, [
    { name: 'z.weight', dtype: 'F32', shape: [4, 6], data: f32 },
    { name: 'a.weight', dtype: 'F16', shape: [2, 3], data: f16 },
    { name: 'm.bias', dtype: 'BF16', shape: [3], data: bf16bits },
  ], { format: 'pt', source: 'test' });
  assert.deepEqual(readdirSync(dir), ['model.safetensors'], 'no temp file left behind');

  const ck = readSafetensors(path);
  assert.equal(ck.format, 'safetensors');
  assert.deepEqual(ck.files, [path]);
  assert.deepEqual(ck.metadata, { format: 'pt', source: 'test' });
  assert.deepEqual([...ck.tensors.keys()].sort(), ['a.weight', 'm.bias', 'z.weight']);
  assert.deepEqual(readF32(ck.tensors.get('z.weight')!), f32);
  assert.deepEqual(readF32(ck.tensors.get('a.weight')!), f16);
  assert.deepEqual([...readF32(ck.tensors.get('m.bias')!)], [1, 3.140625, -123.5]);
  assert.deepEqual(ck.tensors.get('z.weight')!.shape, [4, 6]);

  // Layout: header length multiple of 8, padded with spaces, tensors stored in name order.
  const bytes = readFileSync(path);
  const n = Number(bytes.readBigUInt64LE(0));
  assert.equal(n % 8, 0);
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString()) as Record<string, { data_offsets: number[] }>;
  assert.deepEqual(header['a.weight'].data_offsets, [0, 12]);
  assert.deepEqual(header['m.bias'].data_offsets, [12, 18]);
  assert.deepEqual(header['z.weight'].data_offsets, [18, 114]);
  assert.equal(bytes.length, 8 + n + 114);
  assert.equal(ck.tensors.get('a.weight')!.byteOffset, 8 + n);
  assert.deepEqual([...readRaw(ck.tensors.get('m.bias')!)], [0x80, 0x3f, 0x49, 0x40, 0xf7, 0xc2]);

  // Float32 input to F16/BF16 is rounded to nearest even.
  writeSafetensors(path, [{ name: 'x', dtype: 'BF16', shape: [2], data: Float32Array.from([Math.PI, 1 + 3 * 2 ** -8]) }]);
  assert.deepEqual([...readF32(readSafetensors(path).tensors.get('x')!)], [3.140625, 1 + 2 ** -6]);
});

test('sharded checkpoint via model.safetensors.index.json (file or folder)', (t) => {
  const dir = tmp(t, 'lift-io-st-');
  const a = Float32Array.from([1, 2, 3, 4]);
  const b = Float32Array.from([5, 6]);
  const c = Float32Array.from([7, 8, 9]);
  writeSafetensors(join(dir, 'model-00001-of-00002.safetensors'), [
    { name: 'model.embed_tokens.weight', dtype: 'F32', shape: [2, 2], data: a },
    { name: 'model.norm.weight', dtype: 'F16', shape: [2], data: b },
  ], { format: 'pt' });
  writeSafetensors(join(dir, 'model-00002-of-00002.safetensors'), [{ name: 'lm_head.weight', dtype: 'F32', shape: [3, 1], data: c }]);
  const index = {
    metadata: { total_size: 30 },
    weight_map: {
      'model.embed_tokens.weight': 'model-00001-of-00002.safetensors',
      'model.norm.weight': 'model-00001-of-00002.safetensors',
      'lm_head.weight': 'model-00002-of-00002.safetensors',
    },
  };
  const indexPath = join(dir, 'model.safetensors.index.json');
  writeFileSync(indexPath, JSON.stringify(index));
  for (const ck of [readSafetensors(dir), readSafetensors(indexPath)]) {
    assert.equal(ck.files.length, 2);
    assert.equal(ck.tensors.size, 3);
    assert.deepEqual(ck.metadata, { total_size: 30, format: 'pt' });
    assert.deepEqual(readF32(ck.tensors.get('model.embed_tokens.weight')!), a);
    assert.deepEqual(readF32(ck.tensors.get('model.norm.weight')!), b);
    assert.deepEqual(readF32(ck.tensors.get('lm_head.weight')!), c);
    assert.match(ck.tensors.get('lm_head.weight')!.file, /model-00002-of-00002\.safetensors$/);
  }
  // The index claims a tensor its shard lacks; a missing shard.
  writeFileSync(indexPath, JSON.stringify({ weight_map: { ...index.weight_map, 'extra.weight': 'model-00002-of-00002.safetensors' } }));
  throwsFormat(() => readSafetensors(dir), /model\.safetensors\.index\.json: weight_map "extra\.weight"/);
  writeFileSync(indexPath, JSON.stringify({ weight_map: { x: 'model-00003-of-00002.safetensors' } }));
  throwsFormat(() => readSafetensors(dir), /weight_map shard "model-00003-of-00002\.safetensors"/);
  writeFileSync(indexPath, JSON.stringify({ weight_map: { x: '../../etc/passwd' } }));
  throwsFormat(() => readSafetensors(dir), /weight_map "x": expected a shard file name/);
});

test('invalid safetensors files throw FormatError naming the file and the field', (t) => {
  const dir = tmp(t, 'lift-io-st-');
  const p = join(dir, 'bad.safetensors');
  const ok = { w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] } };

  raw(p, ok, 16);
  assert.equal(readSafetensors(p).tensors.size, 1, 'the baseline is valid');

  writeFileSync(p, Buffer.alloc(5));
  throwsFormat(() => readSafetensors(p), /^bad\.safetensors: header length: expected an 8-byte/);
  raw(p, ok, 16, 1n << 62n);
  throwsFormat(() => readSafetensors(p), /bad\.safetensors: header length: expected 2\.\.\d+ \(bounded by the file size \d+\), got 4611686018427387904/);
  raw(p, ok, 16, 10n);
  throwsFormat(() => readSafetensors(p), /bad\.safetensors: header: expected UTF-8 JSON/);
  raw(p, [1, 2], 0);
  throwsFormat(() => readSafetensors(p), /header: expected a JSON object/);

  raw(p, { w: { dtype: 'I8', shape: [4], data_offsets: [0, 4] } }, 4);
  throwsFormat(() => readSafetensors(p), /bad\.safetensors: tensor "w": expected F32, F16 or BF16, unsupported dtype I8/);
  raw(p, { w: { dtype: 'F32', shape: [2, -1], data_offsets: [0, 16] } }, 16);
  throwsFormat(() => readSafetensors(p), /tensor "w": expected shape as an array of non-negative integers/);
  raw(p, { w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 32] } }, 16);
  throwsFormat(() => readSafetensors(p), /tensor "w": expected data_offsets within the 16-byte data area, got \[0,32\] \(out of bounds\)/);
  raw(p, { w: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 16] } }, 16);
  throwsFormat(() => readSafetensors(p), /tensor "w": expected 24 bytes for F32 \[2,3\], data_offsets span 16/);
  raw(p, { w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] }, v: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, 16);
  throwsFormat(() => readSafetensors(p), /tensor "(w|v)": expected data starting at or after \d+, overlaps/);
  raw(p, { w: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, 16);
  throwsFormat(() => readSafetensors(p), /tensor "w": expected data starting at 0, leaves a hole/);
  raw(p, ok, 20);
  throwsFormat(() => readSafetensors(p), /bad\.safetensors: data: expected 16 bytes of tensor data after the header, file holds 20/);
  raw(p, { __metadata__: { a: 1 }, ...ok }, 16);
  throwsFormat(() => readSafetensors(p), /__metadata__ "a": expected a string value/);

  // Truncation at every length: always a FormatError.
  raw(p, ok, 16);
  const full = readFileSync(p);
  for (let n = 0; n < full.length; n++) {
    writeFileSync(p, full.subarray(0, n));
    throwsFormat(() => readSafetensors(p), /^bad\.safetensors: /);
  }
});
