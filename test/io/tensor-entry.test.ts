// Exact F16 / BF16 / Q8_0 conversions against hand-computed values, and readF32/readRaw reading only a
// tensor's byte range (entries pointing into the middle of a temp file).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FormatError } from '../../src/io/errors.js';
import {
  type TensorEntry, bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits, readF32, readRaw,
} from '../../src/io/tensor-entry.js';

test('f16 bits -> f32 on hand-computed values', () => {
  const cases: [number, number][] = [
    [0x3c00, 1], [0xc000, -2], [0x3800, 0.5], [0x3e00, 1.5], [0x3555, 0.333251953125], [0x7bff, 65504],
    [0x0001, 2 ** -24], [0x03ff, 1023 * 2 ** -24], [0x0400, 2 ** -14], [0x7c00, Infinity], [0xfc00, -Infinity], [0x0000, 0],
  ];
  for (const [bits, v] of cases) assert.equal(f16BitsToF32(bits), v, `0x${bits.toString(16)}`);
  assert.ok(Object.is(f16BitsToF32(0x8000), -0));
  assert.ok(Number.isNaN(f16BitsToF32(0x7e00)));
  // Every finite f16 survives f16 -> f32 -> f16.
  for (let h = 0; h < 0x10000; h++) if ((h & 0x7c00) !== 0x7c00) assert.equal(f32ToF16Bits(f16BitsToF32(h)), h);
});

test('f32 -> f16 rounds to nearest even, overflows to inf, underflows through subnormals', () => {
  assert.equal(f32ToF16Bits(1 + 2 ** -11), 0x3c00); // tie, even stays
  assert.equal(f32ToF16Bits(1 + 3 * 2 ** -11), 0x3c02); // tie, odd rounds up
  assert.equal(f32ToF16Bits(1 + 2 ** -11 + 2 ** -20), 0x3c01); // above the tie
  assert.equal(f32ToF16Bits(65519), 0x7bff);
  assert.equal(f32ToF16Bits(65520), 0x7c00);
  assert.equal(f32ToF16Bits(-1e9), 0xfc00);
  assert.equal(f32ToF16Bits(2 ** -25), 0x0000); // tie between 0 and the smallest subnormal
  assert.equal(f32ToF16Bits(1.5 * 2 ** -25), 0x0001);
  assert.equal(f32ToF16Bits(3 * 2 ** -25), 0x0002); // 1.5 ulp: tie, rounds to even 2
  assert.equal(f32ToF16Bits(2 ** -14 - 2 ** -25), 0x0400); // rounds up into the smallest normal
  assert.equal(f32ToF16Bits(-0), 0x8000);
  assert.equal(f32ToF16Bits(NaN) & 0x7e00, 0x7e00);
});

test('bf16 <-> f32 on hand-computed values', () => {
  assert.equal(bf16BitsToF32(0x3f80), 1);
  assert.equal(bf16BitsToF32(0x4049), 3.140625);
  assert.equal(bf16BitsToF32(0x3f81), 1.0078125);
  assert.equal(bf16BitsToF32(0xc2f7), -123.5);
  assert.equal(bf16BitsToF32(0x7f80), Infinity);
  assert.equal(f32ToBf16Bits(Math.PI), 0x4049); // 0x40490fdb: below the tie
  assert.equal(f32ToBf16Bits(1 + 2 ** -8), 0x3f80); // tie, even stays
  assert.equal(f32ToBf16Bits(1 + 3 * 2 ** -8), 0x3f82); // tie, odd rounds up
  assert.equal(f32ToBf16Bits(-123.5), 0xc2f7);
  assert.ok(Number.isNaN(bf16BitsToF32(f32ToBf16Bits(NaN))));
});

test('readF32 converts F32, F16, BF16 and Q8_0 tensors read from the middle of a file', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lift-io-te-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'blob.bin');
  const b = Buffer.alloc(256, 0xee); // 0xee filler around each tensor: reads must stay inside their range
  b.writeFloatLE(1.25, 3); b.writeFloatLE(-7, 7);                          // F32 [2] at 3
  b.writeUInt16LE(0x3c00, 20); b.writeUInt16LE(0xc000, 22); b.writeUInt16LE(0x0001, 24); // F16 [3] at 20
  b.writeUInt16LE(0x4049, 40); b.writeUInt16LE(0xc2f7, 42);                // BF16 [2] at 40
  // Q8_0 [2,32] at 64: block 0 d=0.5 (0x3800) q=[-128,-1,0,1,127,0...]; block 1 d=1 q=0..31.
  b.writeUInt16LE(0x3800, 64);
  for (let j = 0; j < 32; j++) b.writeInt8(0, 66 + j);
  [-128, -1, 0, 1, 127].forEach((q, j) => b.writeInt8(q, 66 + j));
  b.writeUInt16LE(0x3c00, 98);
  for (let j = 0; j < 32; j++) b.writeInt8(j, 100 + j);
  writeFileSync(file, b);
  const e = (dtype: TensorEntry['dtype'], shape: number[], byteOffset: number, byteLength: number): TensorEntry =>
    ({ name: `t_${dtype}`, dtype, shape, file, byteOffset, byteLength });

  assert.deepEqual([...readF32(e('F32', [2], 3, 8))], [1.25, -7]);
  assert.deepEqual([...readF32(e('F16', [3], 20, 6))], [1, -2, 2 ** -24].map(Math.fround));
  assert.deepEqual([...readF32(e('BF16', [2], 40, 4))], [3.140625, -123.5]);
  const q = readF32(e('Q8_0', [2, 32], 64, 68));
  const want = [-64, -0.5, 0, 0.5, 63.5, ...new Array(27).fill(0), ...Array.from({ length: 32 }, (_, j) => j)];
  assert.deepEqual([...q], want);
  assert.deepEqual([...readRaw(e('BF16', [2], 40, 4))], [0x49, 0x40, 0xf7, 0xc2]);

  // An entry whose byteLength disagrees with dtype x shape, or that runs past the end of the file.
  assert.throws(() => readF32(e('F16', [4], 20, 6)), (err: unknown) => err instanceof FormatError && /blob\.bin: tensor "t_F16"/.test(err.message));
  assert.throws(() => readF32(e('F32', [4], 248, 16)), (err: unknown) => err instanceof FormatError && /blob\.bin: tensor "t_F32": expected 16 bytes at offset 248/.test(err.message));
});
