// The decode matrix-vector kernel (native/matvec.cc): y[M,O] = x[M,I] · W[O,I]ᵀ for M ≤ 4, checked against
// a float64 reference (independent of both kernels) and against sgemm, at odd shapes (tails of the 16-lane
// loop, row counts that are not multiples of the 4-row block, the threaded path), for f32/f16/bf16 weights,
// through the AVX-512, AVX2 and portable loops; and greedy generation on stories260K gives the same tokens with
// the kernel as with sgemm for every product.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, native, tidy, quantize } from '../../src/engine/index.js';
import { linear, useMatvec } from '../../src/engine/ops/linear.js';
import { loadModelFromPath } from '../../src/model/load.js';
import { generate } from '../../src/model/generate.js';
import { seededRandom } from '../../src/adapters/init.js';
import { requireShared, sharedPath } from '../helpers/shared.js';

const TYPES = { f32: 0, f16: 1, bf16: 30 } as const;

/** Weights as the kernel takes them, and the f32 values they stand for (16-bit rounding applied). */
function weights(kind: keyof typeof TYPES, values: Float32Array): { w: Float32Array | Uint8Array; exact: Float32Array } {
  if (kind === 'f32') return { w: values, exact: values };
  const h = new Uint16Array(values.length);
  native.fromF32(values, h, kind);
  const exact = new Float32Array(values.length);
  native.toF32(h, exact, kind);
  return { w: new Uint8Array(h.buffer), exact };
}

/** Checks y against Σ_i x[m,i]·W[o,i] in float64, within float32 rounding of the sum: I·2⁻²³·Σ|x·w|. */
function expectClose(y: Float32Array, x: Float32Array, w: Float32Array, M: number, I: number, O: number, what: string): void {
  for (let m = 0; m < M; m++)
    for (let o = 0; o < O; o++) {
      let s = 0, a = 0;
      for (let i = 0; i < I; i++) {
        s += x[m * I + i] * w[o * I + i];
        a += Math.abs(x[m * I + i] * w[o * I + i]);
      }
      const tol = I * 2 ** -23 * a + 1e-30;
      const got = y[m * O + o];
      if (!(Math.abs(got - s) <= tol)) assert.fail(`${what}: y[${m},${o}] = ${got}, float64 says ${s} (tolerance ${tol})`);
    }
}

/** Runs fn with LIFT_CPU_FEATURES set to `hide` (native/common.h: "-avx512f" hides AVX-512), then restores it. */
function withCpuFeatures(hide: string | undefined, fn: () => void): void {
  const saved = process.env.LIFT_CPU_FEATURES;
  if (hide !== undefined) process.env.LIFT_CPU_FEATURES = hide;
  try {
    fn();
  } finally {
    if (saved === undefined) delete process.env.LIFT_CPU_FEATURES;
    else process.env.LIFT_CPU_FEATURES = saved;
  }
}

const SHAPES: [number, number][] = [[1, 1], [3, 15], [5, 16], [7, 17], [67, 33], [130, 100], [1000, 77], [2051, 40]];

for (const kind of ['f32', 'f16', 'bf16'] as const) {
  test(`matvec (${kind}) equals a float64 reference and sgemm within float32 rounding, M = 1…4, odd shapes, 1 and 2 threads`, () => {
    const rand = seededRandom(3);
    const before = native.getThreads();
    try {
      for (const threads of [1, 2]) {
        native.setThreads(threads);
        for (const [O, I] of SHAPES)
          for (let M = 1; M <= 4; M++) {
            const x = Float32Array.from({ length: M * I }, () => rand() * 2 - 1);
            const { w, exact } = weights(kind, Float32Array.from({ length: O * I }, () => rand() * 2 - 1));
            const what = `${kind} O=${O} I=${I} M=${M} threads=${threads}`;
            // the best SIMD path here; AVX2 (AVX-512 hidden; on a CPU without AVX-512 the same path again); portable
            for (const [path, hide, portable] of [['', undefined, false], [' avx2', '-avx512f', false], [' portable', undefined, true]] as const) {
              const y = new Float32Array(M * O).fill(NaN);
              withCpuFeatures(hide, () => native.matvec(x, M, I, w, TYPES[kind], O, y, portable));
              expectClose(y, x, exact, M, I, O, `${what}${path}`);
            }
            const g = new Float32Array(M * O);
            native.gemm(false, true, M, O, I, 1, x, 0, I, exact, 0, I, 0, g, 0, O);
            expectClose(g, x, exact, M, I, O, `${what} sgemm`); // the same bound holds for the path it replaces
          }
      }
    } finally {
      native.setThreads(before);
    }
  });
}

test('matvec threads only weights of ≥ 8 MiB; that path equals one thread bit for bit and float64 within rounding', () => {
  // 4099 × 1040 values: 17 MB in f32, 8.5 MB in f16/bf16 — above the threaded bound for every type.
  const O = 4099, I = 1040, M = 2, rand = seededRandom(5), before = native.getThreads();
  try {
    for (const kind of ['f32', 'f16', 'bf16'] as const) {
      const x = Float32Array.from({ length: M * I }, () => rand() * 2 - 1);
      const { w, exact } = weights(kind, Float32Array.from({ length: O * I }, () => rand() * 2 - 1));
      const ys = [1, 2].map((threads) => {
        native.setThreads(threads);
        const y = new Float32Array(M * O).fill(NaN);
        native.matvec(x, M, I, w, TYPES[kind], O, y);
        return y;
      });
      assert.deepEqual(ys[1], ys[0], `${kind}: 2 threads differ from 1`);
      expectClose(ys[1], x, exact, M, I, O, `${kind} O=${O} I=${I} threads=2`);
    }
  } finally {
    native.setThreads(before);
  }
});

test('linear() on f16/bf16 storage with ≤ 4 rows (the matvec path) and with 5 agrees with the dequantize-a-row path and float64', () => {
  const rand = seededRandom(9);
  const [O, I] = [70, 48];
  for (const dtype of ['f16', 'bf16'] as const)
    for (let T = 1; T <= 5; T++) {
      const w = quantize(Float32Array.from({ length: O * I }, () => rand() * 2 - 1), [O, I], dtype);
      const x = Tensor.from(Float32Array.from({ length: T * I }, () => rand() * 2 - 1), [T, I]);
      try {
        const exact = new Float32Array(O * I);
        native.toF32(new Uint16Array(w.bytes().buffer, w.bytes().byteOffset, O * I), exact, dtype);
        const y = tidy(() => linear(x, w).f32().slice());
        const was = useMatvec(false);
        const yRow = tidy(() => linear(x, w).f32().slice());
        useMatvec(was);
        expectClose(y, x.f32(), exact, T, I, O, `${dtype} T=${T}`);
        expectClose(yRow, x.f32(), exact, T, I, O, `${dtype} T=${T} (qMatmul)`);
      } finally {
        w.dispose();
        x.dispose();
      }
    }
});

test('matvec refuses bad calls with a message naming the problem', () => {
  const x = new Float32Array(8), w = new Float32Array(16), y = new Float32Array(8);
  assert.throws(() => native.matvec(x, 5, 1, w, 0, 1, y), /matvec: M \(rows of x\) must be 1…4, got 5/);
  assert.throws(() => native.matvec(x, 1, 4, w, 0, 5, y), /matvec: weight needs 20 elements/);
  assert.throws(() => native.matvec(x, 1, 4, w, 2, 4, y), /weight type must be 0 \(F32\), 1 \(F16\) or 30 \(BF16\), got 2/);
  assert.throws(() => native.matvec(x, 1, 4, w, 30, 4, y), /must be a Uint8Array/);
  assert.throws(() => native.matvec(x, 1, 4, w, 0, 4, new Float32Array(3)), /matvec: y needs 4 elements/);
});

test('stories260K greedy generation: the same 200 tokens with the matvec decode path as with sgemm everywhere (.gguf and .bin)', async (t) => {
  const DIR = 'models/stories260K';
  if (!requireShared(t, DIR)) return;
  const before = native.getThreads();
  native.setThreads(1);
  try {
    for (const file of ['stories260K.gguf', 'stories260K.bin']) {
      const { model, tokenizer } = loadModelFromPath(sharedPath(DIR, file));
      try {
        const run = async (on: boolean): Promise<number[]> => {
          const was = useMatvec(on);
          try {
            const ids: number[] = [];
            for await (const tok of generate(model, tokenizer, tokenizer.encode('Once upon a time', { bos: true }), { maxTokens: 200, temperature: 0 })) if (tok.id >= 0) ids.push(tok.id);
            return ids;
          } finally {
            useMatvec(was);
          }
        };
        const viaGemm = await run(false), viaMatvec = await run(true);
        assert.ok(viaGemm.length >= 50, `${file}: only ${viaGemm.length} tokens generated`);
        assert.deepEqual(viaMatvec, viaGemm, `${file}: greedy tokens differ between the matvec and the sgemm decode`);
      } finally {
        model.dispose();
      }
    }
  } finally {
    native.setThreads(before);
  }
});
