// Decode products on quantized weights as llama.cpp computes them (native/quant-dot.cc): the activation rounded
// to Q8_K (K-quants) or Q8_0 (Q8_0 weights) per block, integer dot products. Checked against a reference written
// here from ggml's formulas, independent of the kernel:
//  - the activation quantized in float32 arithmetic exactly as quantize_row_q8_K_ref / quantize_row_q8_0_ref
//    (Math.fround at every step, ggml's nearest_int = round half to even, roundf = half away from zero, the Q8_0
//    scale rounded to f16),
//  - the weight dequantized by the scalar reference loops (qDequantRef, which llama.cpp checks in
//    test/model/quant-llamacpp.test.ts),
//  - Σ w·(d_x·q_x) in float64.
// The kernel equals it to float32 rounding (the integer sums are exact), and differs from the unrounded product
// (so the test would see an unrounded or wrongly rounded activation); for each kernel family the CPU has (AVX-512
// VNNI, AVX2). Also: linear() routes decode here, hides it under LIFT_CPU_FEATURES=-avx512vnni,-avx2, and keeps
// the exact path whenever a gradient is recorded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, Tape, linear, quantize, native, ggmlOf, cpuFeatures, type DType } from '../../src/engine/index.js';
import * as R from './reference.js';

const f = Math.fround;
const roundHalfEven = (v: number): number => {
  const fl = Math.floor(v), diff = v - fl;
  return diff > 0.5 ? fl + 1 : diff < 0.5 ? fl : fl % 2 === 0 ? fl : fl + 1;
};
/** float → IEEE half → float, round to nearest even (what F16C's vcvtps2ph does, ggml's GGML_FP32_TO_FP16). */
function f16round(x: number): number {
  const a = Math.abs(x);
  if (a === 0 || !Number.isFinite(a)) return x;
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  const q = 2 ** (Math.max(e, -14) - 10); // spacing of halves at this magnitude (subnormals below 2^-14)
  const r = roundHalfEven(a / q) * q;
  return Math.sign(x) * (r >= 65520 ? Infinity : r);
}

/** quantize_row_q8_K_ref: per 256 values → dequantized activation values d·q. */
function q8K(x: Float32Array): Float64Array {
  const out = new Float64Array(x.length);
  for (let b = 0; b < x.length; b += 256) {
    let max = 0, amax = 0;
    for (let j = 0; j < 256; j++) {
      const ax = Math.abs(x[b + j]);
      if (ax > amax) (amax = ax), (max = x[b + j]);
    }
    if (!amax) continue;
    const iscale = f(-127 / max), d = f(1 / iscale);
    for (let j = 0; j < 256; j++) out[b + j] = d * Math.min(127, roundHalfEven(f(iscale * x[b + j])));
  }
  return out;
}

/** quantize_row_q8_0_ref: per 32 values → dequantized activation values (the f16 scale) · q. */
function q80(x: Float32Array): Float64Array {
  const out = new Float64Array(x.length);
  for (let b = 0; b < x.length; b += 32) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b + j]));
    const d = f(amax / 127), id = d ? f(1 / d) : 0, dh = f16round(d);
    for (let j = 0; j < 32; j++) {
      const v = f(x[b + j] * id);
      out[b + j] = dh * Math.sign(v) * Math.round(Math.abs(v));
    }
  }
  return out;
}

/** Activation rows with awkward blocks: scales 1e-3…1e3, a zero block, the largest |x| negative in some, a tie. */
function activation(M: number, I: number, r: () => number): Float32Array {
  const x = Float32Array.from(R.randn(M * I, r));
  for (let m = 0; m < M; m++)
    for (let b = 0; b < I; b += 32) {
      const s = [1e-3, 1, 30, 1e3][(m + b / 32) % 4];
      for (let j = 0; j < 32; j++) x[m * I + b + j] *= s;
    }
  if (M > 1) x.fill(0, I, I + 256); // row 1: one whole zero block (d = 0)
  x[3] = -50 * Math.abs(x[3]) - 1e3; // row 0: the largest |x| of its block is negative
  x[5] = 0.5 * x[3] / 127; // … and one near a .5 rounding tie (K: half to even; Q8_0: half away from zero)
  return x;
}

// 32-value types: 5 blocks per row (pairs of blocks per register, and an odd tail).
const TYPES: [DType, number][] = [['q4_k', 768], ['q5_k', 512], ['q6_k', 768], ['q8_0', 160], ['q5_0', 160], ['q4_0', 160]];

const block32 = (t: DType): boolean => !t.endsWith('_k');

/** Runs fn with `hide` added to LIFT_CPU_FEATURES (the native side reads it at every call), then restores it. */
function hiding<T>(hide: string | undefined, fn: () => T): T {
  const was = process.env.LIFT_CPU_FEATURES;
  if (hide !== undefined) process.env.LIFT_CPU_FEATURES = was ? `${was},${hide}` : hide;
  try {
    return fn();
  } finally {
    if (was === undefined) delete process.env.LIFT_CPU_FEATURES;
    else process.env.LIFT_CPU_FEATURES = was;
  }
}
// The kernel families this CPU runs: AVX-512 VNNI (quant-dot.cc), and AVX2 (quant-dot-avx2.cc, taken when VNNI is
// absent or hidden). Each is checked against the reference on its own.
const q4k = ggmlOf('q4_k').id;
const PATHS: { name: string; hide: string | undefined; skip: string | false }[] = [
  { name: 'AVX-512 VNNI', hide: undefined, skip: cpuFeatures().avx512vnni && native.qDotSupported(q4k) ? false : 'this CPU has no AVX-512 VNNI (or LIFT_CPU_FEATURES hides it)' },
  { name: 'AVX2', hide: '-avx512vnni', skip: hiding('-avx512vnni', () => native.qDotSupported(q4k)) ? false : 'this CPU has no AVX2 (or LIFT_CPU_FEATURES hides it)' },
];
const supported = native.qDotSupported(q4k);
const skip = supported ? false : 'this CPU has neither AVX-512 VNNI nor AVX2 (or LIFT_CPU_FEATURES hides them): the f32 path runs instead';

for (const path of PATHS) for (const [dtype, I] of TYPES) {
  test(`${dtype}, ${path.name}: integer decode product equals ggml's formula (activation to ${block32(dtype) ? 'Q8_0' : 'Q8_K'}) to float rounding`, { skip: path.skip }, () => hiding(path.hide, () => {
    const r = R.rng(11);
    const type = ggmlOf(dtype).id;
    for (const O of [37, 301]) { // 301 × I ≥ 64k values: the threaded path
      const q = quantize(Float32Array.from(R.randn(O * I, r, 0.05)), [O, I], dtype, 'w');
      try {
        const wd = new Float32Array(O * I);
        native.qDequantRef(q.bytes(), type, O, I, wd);
        for (const M of [1, 2, 3, 4]) {
          const x = activation(M, I, r);
          const xq = new Float64Array(M * I);
          for (let m = 0; m < M; m++) xq.set((block32(dtype) ? q80 : q8K)(x.subarray(m * I, (m + 1) * I)), m * I);
          const y = new Float32Array(M * O), exact = new Float32Array(M * O);
          native.qDot(x, M, I, q.bytes(), type, O, y);
          native.qMatmul(x, M, I, q.bytes(), type, O, exact);
          let worst = 0, apart = 0;
          for (let m = 0; m < M; m++)
            for (let o = 0; o < O; o++) {
              let s = 0, mag = 0;
              for (let i = 0; i < I; i++) {
                const p = wd[o * I + i] * xq[m * I + i];
                s += p;
                mag += Math.abs(p);
              }
              const err = Math.abs(y[m * O + o] - s) / (mag || 1);
              worst = Math.max(worst, err);
              apart = Math.max(apart, Math.abs(exact[m * O + o] - s) / (mag || 1));
              assert.ok(err <= 2e-6, `${dtype} M=${M} O=${O} y[${m},${o}] = ${y[m * O + o]}, reference ${s} (rel. to Σ|terms| ${err.toExponential(2)})`);
            }
          // The unrounded product is far from the reference: an activation left in f32 would fail the check above.
          assert.ok(apart > 50 * Math.max(worst, 1e-7), `${dtype} M=${M}: f32 product within ${apart.toExponential(2)} of the rounded reference (kernel ${worst.toExponential(2)})`);
        }
      } finally {
        q.dispose();
      }
    }
  }));
}

test('linear() takes the integer path for decode only: not when hidden, not under a recorded gradient, not for T > 4', { skip }, () => {
  const r = R.rng(3);
  const O = 40, I = 512, type = ggmlOf('q4_k').id;
  const q = quantize(Float32Array.from(R.randn(O * I, r, 0.05)), [O, I], 'q4_k', 'w');
  const was = process.env.LIFT_CPU_FEATURES;
  try {
    const xs = Float32Array.from(R.randn(2 * I, r));
    const viaDot = new Float32Array(2 * O), viaF32 = new Float32Array(2 * O);
    native.qDot(xs, 2, I, q.bytes(), type, O, viaDot);
    native.qMatmul(xs, 2, I, q.bytes(), type, O, viaF32);
    assert.notDeepEqual(viaDot, viaF32);
    assert.deepEqual(linear(Tensor.from(xs, [2, I]), q).f32(), viaDot, 'decode-sized linear() without a tape: the integer path');
    // Under a tape with x requiring grad: the exact path (training rounds nothing).
    const xt = Tensor.from(xs, [2, I], { requiresGrad: true });
    const tape = new Tape();
    try {
      assert.deepEqual(tape.record(() => linear(xt, q)).f32(), viaF32, 'a recorded product keeps exact f32');
    } finally {
      tape.dispose();
      xt.dispose();
    }
    process.env.LIFT_CPU_FEATURES = '-avx512vnni,-avx2';
    assert.equal(native.qDotSupported(type), false, 'LIFT_CPU_FEATURES=-avx512vnni,-avx2 hides both kernel families');
    assert.deepEqual(linear(Tensor.from(xs, [2, I]), q).f32(), viaF32, 'hidden: the f32 path');
    assert.throws(() => native.qDot(xs, 2, I, q.bytes(), type, O, viaDot), /neither AVX-512 VNNI nor AVX2/);
  } finally {
    if (was === undefined) delete process.env.LIFT_CPU_FEATURES;
    else process.env.LIFT_CPU_FEATURES = was;
    q.dispose();
  }
  // Five rows: the tile path, exact.
  const q2 = quantize(Float32Array.from(R.randn(O * I, r, 0.05)), [O, I], 'q8_0', 'w');
  try {
    const x5 = Float32Array.from(R.randn(5 * I, r)), want = new Float32Array(5 * O);
    native.qMatmul(x5, 5, I, q2.bytes(), ggmlOf('q8_0').id, O, want);
    assert.deepEqual(linear(Tensor.from(x5, [5, I]), q2).f32(), want);
  } finally {
    q2.dispose();
  }
});

test('qDot refuses bad arguments with the op and the expectation named', { skip }, () => {
  const q = quantize(new Float32Array(4 * 256).fill(0.25), [4, 256], 'q6_k', 'w');
  const q41 = quantize(new Float32Array(4 * 256).fill(0.25), [4, 256], 'q4_1', 'w');
  try {
    const x = new Float32Array(5 * 256), y = new Float32Array(5 * 4);
    assert.throws(() => native.qDot(x, 5, 256, q.bytes(), ggmlOf('q6_k').id, 4, y), /qDot: M \(rows of x\) must be 1…4, got 5/);
    assert.throws(() => native.qDot(x, 1, 256, q41.bytes(), ggmlOf('q4_1').id, 4, y), /no integer dot product for ggml type 3/);
    assert.equal(native.qDotSupported(ggmlOf('q4_1').id), false);
    assert.throws(() => native.qDot(x, 1, 256, q.bytes(), ggmlOf('q6_k').id, 5, y), /weight needs 1050 bytes, buffer has 840/);
    assert.throws(() => native.qDot(x, 1, 128, q.bytes(), ggmlOf('q6_k').id, 4, y), /not a whole number of 256-value blocks/);
    assert.throws(() => native.qDot(x, 1, 256, q.bytes(), ggmlOf('q6_k').id, 4, new Float32Array(3)), /y needs 4 elements/);
  } finally {
    q.dispose();
    q41.dispose();
  }
});
