// The fp32 linear-layer kernel (native/gemm-f32.cc, reached through native.gemm for A as stored, B = Wᵀ or W,
// alpha 1, beta 0 or 1) against products summed in double: |c − ref| ≤ (K + 2)·2⁻²⁴·Σ|a·w| (fp32 accumulation
// error only). Shapes cover its edges: M not a multiple of the 6-row tile, N not a multiple of 16 or 64, K not a
// multiple of 16 and across its 1024-value k-blocks, leading dimensions wider than the rows, the shared-buffer and
// the per-strip (wide N) paths, K beyond a 4096 slice. Also: the same bits on 1 and 2 threads, and the OpenBLAS path
// (LIFT_CPU_FEATURES=-avx512f, a CPU without AVX-512) meets the same bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native, cpuFeatures } from '../../src/engine/index.js';
import { seededRandom } from '../../src/adapters/init.js';

function rand(n: number, seed: number): Float32Array {
  const r = seededRandom(seed);
  return Float32Array.from({ length: n }, () => 2 * r() - 1);
}

interface Case { M: number; N: number; K: number; tb: boolean; acc: boolean; pad?: number }

/** Runs native.gemm for the case (leading dimensions widened by `pad`), returns C and checks it against double sums. */
function run({ M, N, K, tb, acc, pad = 0 }: Case, seed: number): Float32Array {
  const lda = K + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
  const A = rand(M * lda, seed), W = rand((tb ? N : K) * ldb, seed + 1), C0 = rand(M * ldc, seed + 2);
  const C = C0.slice();
  native.gemm(false, tb, M, N, K, 1, A, 0, lda, W, 0, ldb, acc ? 1 : 0, C, 0, ldc);
  const what = `M ${M} N ${N} K ${K} ${tb ? 'Wᵀ' : 'W'}${acc ? ' +=' : ''}${pad ? ` pad ${pad}` : ''}`;
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let s = acc ? C0[m * ldc + n] : 0, mag = Math.abs(s);
      for (let k = 0; k < K; k++) {
        const p = A[m * lda + k] * W[tb ? n * ldb + k : k * ldb + n];
        s += p;
        mag += Math.abs(p);
      }
      const got = C[m * ldc + n], bound = (K + 2) * 2 ** -24 * mag + 1e-30;
      if (!(Math.abs(got - s) <= bound)) assert.fail(`${what}: C[${m}, ${n}] is ${got}, reference ${s} ± ${bound}`);
    }
  // What lies between rows (the leading dimension's pad) is left alone.
  for (let m = 0; m < M; m++) for (let n = N; n < ldc; n++) assert.equal(C[m * ldc + n], C0[m * ldc + n], `${what}: pad of row ${m} written`);
  return C;
}

const CASES: Case[] = [
  { M: 33, N: 577, K: 1100, tb: true, acc: false },   // K across a k-block; N past 9 strips by one column
  { M: 100, N: 192, K: 576, tb: true, acc: true },
  { M: 257, N: 40, K: 3001, tb: false, acc: false },  // N within one strip, K long
  { M: 70, N: 1536, K: 17, tb: false, acc: true, pad: 5 },
  { M: 61, N: 300, K: 333, tb: true, acc: false, pad: 3 },
  { M: 40, N: 65600, K: 64, tb: true, acc: false },   // B packed would pass 16 MB: one strip per unit
  { M: 37, N: 70, K: 9000, tb: false, acc: true },    // K in three slices
  { M: 37, N: 70, K: 9000, tb: true, acc: false },
];

test('fp32 linear products match double sums within fp32 accumulation error, every edge', () => {
  CASES.forEach((c, i) => run(c, 10 * i + 1));
});

test('fp32 linear products are the same bits on 1 and 2 threads', () => {
  const was = native.getThreads();
  try {
    for (const [i, c] of CASES.slice(0, 4).entries()) {
      native.setThreads(1);
      const one = run(c, 100 + i);
      native.setThreads(2);
      const two = run(c, 100 + i);
      assert.deepEqual(two, one, `M ${c.M} N ${c.N} K ${c.K}`);
    }
  } finally {
    native.setThreads(was);
  }
});

test('without AVX-512 the products take OpenBLAS and meet the same bound', { skip: !cpuFeatures().avx512f && 'this CPU has no AVX-512: the test above already ran OpenBLAS' }, () => {
  const was = process.env.LIFT_CPU_FEATURES;
  process.env.LIFT_CPU_FEATURES = '-avx512f';
  try {
    const a = run(CASES[1], 7);
    delete process.env.LIFT_CPU_FEATURES;
    const b = run(CASES[1], 7);
    // Different summation orders: both within the bound, and not required to be equal bits.
    assert.equal(a.length, b.length);
  } finally {
    if (was === undefined) delete process.env.LIFT_CPU_FEATURES;
    else process.env.LIFT_CPU_FEATURES = was;
  }
});
