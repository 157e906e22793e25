// Quantized frozen weights: every ggml type we load, quantized with ggml's reference formulas, then
//  - the dequantized values stay within a per-type error of the originals (the quantizer is not garbage),
//  - linear() on the blocks equals a float64 product with the dequantized f32 weight, forward and input
//    gradient (the gradient also against central finite differences), on awkward shapes: T = 1 (decode
//    path), T = 5 and 70 (tiled path), out-features not a multiple of any tile, several blocks per row,
//  - embedding() on the blocks returns exactly the dequantized rows,
//  - a quantized weight cannot require grad, and a row that is not whole blocks is refused.
// llama.cpp reading our quantized files is the independent check of the block layouts (test/model/quant-llamacpp.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, Tape, linear, embedding, quantize, valuesF32, native, ggmlOf, type DType } from '../../src/engine/index.js';
import { useMatvec } from '../../src/engine/ops/linear.js';
import * as R from './reference.js';

// Max RMS error of dequant(quant(w)) relative to w's RMS, for Gaussian w (measured ×~1.5 margin).
const TYPES: [DType, number, number][] = [
  // dtype, block, relative RMS bound
  ['f16', 1, 1e-3], ['bf16', 1, 5e-3], ['q8_0', 32, 0.01], ['q6_k', 256, 0.03], ['q5_1', 32, 0.06], ['q5_0', 32, 0.06],
  ['q5_k', 256, 0.06], ['q4_1', 32, 0.12], ['q4_0', 32, 0.12], ['q4_k', 256, 0.12], ['q3_k', 256, 0.25], ['q2_k', 256, 0.5],
];

const rms = (a: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((s, v) => s + v * v, 0) / a.length);

for (const [dtype, block] of TYPES) {
  test(`${dtype}: quantize error, linear forward/backward and embedding against the dequantized weight`, () => {
    const bound = TYPES.find((t) => t[0] === dtype)![2];
    const r = R.rng(7);
    const O = 37, I = block === 256 ? 512 : 160; // 2 super-blocks or 5 blocks per row, 37 rows
    const w = Float32Array.from(R.randn(O * I, r, 0.05));
    const q = quantize(w, [O, I], dtype, 'w');
    try {
      assert.equal(q.dtype, dtype);
      const wd = valuesF32(q);
      // The AVX-512 dequantization (Q8_0, Q4_K, Q5_K, Q6_K) equals the scalar reference loops bit for bit.
      const ref = new Float32Array(O * I);
      native.qDequantRef(q.bytes(), ggmlOf(dtype).id, O, I, ref);
      assert.deepEqual(wd, ref, `${dtype}: dequantization differs from the scalar reference`);
      const err = rms(wd.map((v, i) => v - w[i])) / rms(w);
      assert.ok(err < bound, `${dtype}: relative RMS error ${err.toFixed(4)} ≥ ${bound}`);
      assert.ok(err > 0 || dtype === 'f16', `${dtype}: a lossy type reproduced its input exactly (not quantized?)`);

      for (const T of [1, 3, 5, 70]) { // 1 and 3: the row-by-row (decode) path; 5 and 70: dequantized tiles into sgemm
        const x = Float32Array.from(R.randn(T * I, r));
        const dy = Float32Array.from(R.randn(T * O, r));
        // float64 references: y = x·Wdᵀ, dx = dy·Wd
        const yRef = new Float64Array(T * O), dxRef = new Float64Array(T * I);
        for (let t = 0; t < T; t++)
          for (let o = 0; o < O; o++) {
            let s = 0;
            for (let i = 0; i < I; i++) s += x[t * I + i] * wd[o * I + i];
            yRef[t * O + o] = s;
            for (let i = 0; i < I; i++) dxRef[t * I + i] += dy[t * O + o] * wd[o * I + i];
          }
        const xt = Tensor.from(x, [T, I], { requiresGrad: true, name: 'x' });
        const tape = new Tape();
        try {
          const y = tape.record(() => linear(xt, q));
          const got = y.f32();
          for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i] - yRef[i]) <= 1e-4 * (1 + Math.abs(yRef[i])), `${dtype} T=${T} y[${i}] ${got[i]} vs ${yRef[i]}`);
          tape.backward(y, dy);
          const dx = xt.grad!.f32();
          for (let i = 0; i < dx.length; i++) assert.ok(Math.abs(dx[i] - dxRef[i]) <= 1e-4 * (1 + Math.abs(dxRef[i])), `${dtype} T=${T} dx[${i}] ${dx[i]} vs ${dxRef[i]}`);
          assert.equal(q.grad, null, 'a frozen quantized weight gets no gradient buffer');
          // finite differences of <dy, linear(x)> in a few coordinates (the layer is linear in x: exact up to rounding)
          for (const i of [0, I - 1, Math.floor((T * I) / 2)]) {
            const h = 1e-2;
            // Exact f32 forward: decode-sized products outside a tape would round x to 8 bits (quant-dot.test.ts).
            const f = (d: number) => {
              const xp = x.slice();
              xp[i] += d;
              const was = useMatvec(false);
              try {
                return linear(Tensor.from(xp, [T, I]), q).f32().reduce((s, v, k) => s + v * dy[k], 0);
              } finally {
                useMatvec(was);
              }
            };
            const num = (f(h) - f(-h)) / (2 * h);
            assert.ok(Math.abs(num - dx[i]) <= 2e-3 * (1 + Math.abs(num)), `${dtype} T=${T}: finite difference d/dx[${i}] ${num} vs ${dx[i]}`);
          }
        } finally {
          tape.dispose();
          xt.dispose();
        }
      }

      const ids = Int32Array.from([0, 36, 5, 5, 17]);
      const e = embedding(q, ids).f32();
      ids.forEach((id, t) => assert.deepEqual(e.subarray(t * I, (t + 1) * I), wd.subarray(id * I, (id + 1) * I), `${dtype}: embedding row ${id}`));
    } finally {
      q.dispose();
    }
  });
}

test('a quantized weight cannot train, and rows must be whole blocks', () => {
  const q = quantize(new Float32Array(2 * 256).fill(0.5), [2, 256], 'q4_k', 'w');
  q.requiresGrad = true;
  const tape = new Tape();
  try {
    assert.throws(() => tape.record(() => linear(Tensor.zeros([1, 256]), q)), /weight w is q4_k and requires grad/);
  } finally {
    tape.dispose();
    q.dispose();
  }
  assert.throws(() => quantize(new Float32Array(2 * 96), [2, 96], 'q4_k'), /whole 256-value blocks/);
  assert.throws(() => quantize(new Float32Array(40), [40], 'q8_0'), /whole 32-value blocks/);
});
