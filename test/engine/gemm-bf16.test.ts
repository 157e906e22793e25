// The bf16 kernels (native/gemm-bf16.cc) against a scalar reference that rounds the fp32 operand to bf16 the
// same way (nearest even) and sums the exact products in double. The kernel sums in fp32, so it may differ by
// fp32 accumulation error only: |y − ref| ≤ (K + 32)·2⁻²⁴·Σ|a·w| (the Σ from the reference on |a|, |W|).
// Shapes cover the blocking's edges: M not a multiple of the 6-row tile (and M ≤ 4, the matrix-vector path),
// N not a multiple of 16/64, K odd and across the 384-value K blocks. Also: switching the units off through
// LIFT_CPU_FEATURES is a clear error (never an illegal instruction) and `auto` falls back to fp32 with a note.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native, cpuFeatures, ComputeError, Tensor, untracked } from '../../src/engine/index.js';
import { chooseCompute, BF16_MIN_HIDDEN } from '../../src/model/compute.js';
import { seededRandom } from '../../src/adapters/init.js';

const hasUnits = cpuFeatures().bf16;

function rand(n: number, seed: number, scale = 1): Float32Array {
  const r = seededRandom(seed);
  return Float32Array.from({ length: n }, () => (2 * r() - 1) * scale);
}
/** bf16 bits of `a` (round to nearest even) as the bytes a bf16 Tensor holds, at byte offset `at` of a fresh buffer. */
function bf16Bytes(a: Float32Array, at = 0): Uint8Array {
  const bits = new Uint16Array(a.length);
  native.fromF32(a, bits, 'bf16');
  const out = new Uint8Array(new ArrayBuffer(at + 2 * a.length), at, 2 * a.length);
  out.set(new Uint8Array(bits.buffer));
  return out;
}
const abs = (a: Float32Array): Float32Array => a.map(Math.abs);

/** Checks c against the reference for C[M,N] = bf16(a)[M,K] · (W[N,K]ᵀ if wRowsN else W[K,N]), plus `base`. */
function check(what: string, c: Float32Array, a: Float32Array, M: number, K: number, w: Float32Array, N: number, wRowsN: boolean, base?: Float32Array): void {
  const ref = new Float32Array(M * N), mag = new Float32Array(M * N);
  native.bf16MatmulRef(a, M, K, bf16Bytes(w), N, wRowsN, ref);
  native.bf16MatmulRef(abs(a), M, K, bf16Bytes(abs(w)), N, wRowsN, mag);
  const g = (K + 32) * 2 ** -24;
  for (let i = 0; i < M * N; i++) {
    const want = ref[i] + (base ? base[i] : 0), bound = g * (mag[i] + (base ? Math.abs(base[i]) : 0)) + 1e-30;
    assert.ok(Math.abs(c[i] - want) <= bound, `${what}: element ${i} (row ${Math.floor(i / N)}, col ${i % N}) is ${c[i]}, reference ${want} ± ${bound}`);
  }
}

const SHAPES: [M: number, K: number, N: number][] = [
  [1, 1, 1], [1, 33, 17], [2, 64, 1], [3, 3, 65], [4, 577, 40], [5, 385, 200], [6, 384, 64], [7, 31, 15],
  [13, 769, 97], [37, 96, 130], [64, 1001, 33],
];

test('bf16Matmul (y = x·Wᵀ) equals the rounded-input reference within fp32 summation error', { skip: !hasUnits && 'no AVX-512 BF16 units' }, () => {
  for (const [M, K, N] of SHAPES) {
    const x = rand(M * K, M * 1000 + K), w = rand(N * K, N * 7 + K, 0.5);
    // Ties: values halfway between two bf16 numbers must round to even, as the reference does.
    if (x.length > 3) x.set([1 + 2 ** -8, 1 + 3 * 2 ** -8, -(2 + 2 ** -7)], 0);
    const y = new Float32Array(M * N).fill(NaN);
    native.bf16Matmul(x, M, K, bf16Bytes(w, 1), N, y); // odd byte offset: a mapped bf16 tensor may sit anywhere
    check(`forward ${M}×${K}×${N}`, y, x, M, K, w, N, true);
  }
});

test('bf16Matmul with ≤ 4 rows on a weight of ≥ 8 MiB (the threaded decode path): 2 threads equal 1 bit for bit and the reference', { skip: !hasUnits && 'no AVX-512 BF16 units' }, () => {
  const [M, K, N] = [2, 1040, 4099]; // 8.5 MB of bf16 weight
  const x = rand(M * K, 11), w = rand(N * K, 12, 0.5), wb = bf16Bytes(w), before = native.getThreads();
  try {
    const ys = [1, 2].map((t) => {
      native.setThreads(t);
      const y = new Float32Array(M * N).fill(NaN);
      native.bf16Matmul(x, M, K, wb, N, y);
      return y;
    });
    assert.deepEqual(ys[1], ys[0]);
    check(`forward ${M}×${K}×${N}, 2 threads`, ys[1], x, M, K, w, N, true);
  } finally {
    native.setThreads(before);
  }
});

test('bf16MatmulBackward (dx (+)= dy·W) equals the reference, with and without accumulation', { skip: !hasUnits && 'no AVX-512 BF16 units' }, () => {
  for (const [T, O, I] of SHAPES) {
    const dy = rand(T * O, T + O), w = rand(O * I, O * 3 + I, 0.5), wb = bf16Bytes(w);
    const dx = new Float32Array(T * I).fill(NaN);
    native.bf16MatmulBackward(dy, T, O, wb, I, dx, false);
    check(`backward ${T}×${O}×${I}`, dx, dy, T, O, w, I, false);
    const base = rand(T * I, 99), acc = base.slice();
    native.bf16MatmulBackward(dy, T, O, wb, I, acc, true);
    check(`backward+= ${T}×${O}×${I}`, acc, dy, T, O, w, I, false, base);
  }
});

// Pre-packed weights (bf16Pack once, then bf16MatmulPacked): the path linear() takes for more than 4 rows.
// Shapes add several 64-column strips with a ragged last one, row counts across the 6-row tile and the row
// chunks, and K across the 512-value inner and 4096-value outer k-blocks (odd, so the last pair is half padding).
const PACKED_SHAPES: [M: number, K: number, N: number][] = [
  ...SHAPES, [5, 1, 3], [40, 577, 193], [97, 1536, 130], [12, 4097, 70], [9, 9001, 17],
];

test('bf16MatmulPacked: forward (B = Wᵀ) and input gradient (B = W) equal the reference, with and without accumulation', { skip: !hasUnits && 'no AVX-512 BF16 units' }, () => {
  for (const [M, K, N] of PACKED_SHAPES) {
    const a = rand(M * K, M * 31 + K), w = rand(N * K, N * 5 + K, 0.5), base = rand(M * N, 7);
    // forward: W[N, K] (rows = N outputs), B = Wᵀ
    const fwd = new Uint8Array(native.bf16PackedBytes(K, N) + 3).subarray(3); // any byte offset: the layout aligns itself
    native.bf16Pack(bf16Bytes(w, 1), N, K, true, fwd);
    const y = new Float32Array(M * N).fill(NaN);
    native.bf16MatmulPacked(a, M, K, fwd, N, y, false);
    check(`packed forward ${M}×${K}×${N}`, y, a, M, K, w, N, true);
    // input gradient: W[K, N] (rows = K outputs of the layer, here the reduced dimension), B = W
    const bwd = new Uint8Array(native.bf16PackedBytes(K, N));
    native.bf16Pack(bf16Bytes(w), K, N, false, bwd);
    const acc = base.slice();
    native.bf16MatmulPacked(a, M, K, bwd, N, acc, true);
    check(`packed backward+= ${M}×${K}×${N}`, acc, a, M, K, w, N, false, base);
  }
});

test('bf16MatmulPacked: a packed buffer too small for K, N is refused', { skip: !hasUnits && 'no AVX-512 BF16 units' }, () => {
  const w = bf16Bytes(rand(64 * 8, 3));
  const small = new Uint8Array(native.bf16PackedBytes(8, 64) - 1);
  assert.throws(() => native.bf16Pack(w, 64, 8, true, small), /bf16Pack: packed needs/);
  const ok = new Uint8Array(native.bf16PackedBytes(8, 64));
  native.bf16Pack(w, 64, 8, true, ok);
  assert.throws(() => native.bf16MatmulPacked(new Float32Array(16), 2, 8, ok, 65, new Float32Array(130), false), /bf16MatmulPacked: packed needs/);
});

test('bf16 kernels: bad sizes are refused naming the argument; empty products are no-ops', { skip: !hasUnits && 'no AVX-512 BF16 units' }, () => {
  const w = bf16Bytes(rand(12, 1));
  assert.throws(() => native.bf16Matmul(new Float32Array(8), 2, 4, w, 4, new Float32Array(8)), /bf16Matmul: w needs 16 elements/);
  assert.throws(() => native.bf16Matmul(new Float32Array(7), 2, 4, w, 3, new Float32Array(6)), /bf16Matmul: x needs 8/);
  assert.throws(() => native.bf16MatmulBackward(new Float32Array(6), 2, 3, w, 4, new Float32Array(7), false), /dx needs 8/);
  native.bf16Matmul(new Float32Array(0), 0, 4, w, 3, new Float32Array(0));
  const dx = new Float32Array(8).fill(5);
  native.bf16MatmulBackward(new Float32Array(0), 2, 0, w, 4, dx, false);
  assert.deepEqual([...dx], new Array(8).fill(0));
});

test('LIFT_CPU_FEATURES=-avx512bf16: no bf16 units — kernels refuse, compute bf16 is a clear error, auto says fp32', () => {
  const saved = process.env.LIFT_CPU_FEATURES;
  process.env.LIFT_CPU_FEATURES = '-avx512bf16';
  const weights = untracked(() => new Map([['w', Tensor.from(rand(6, 2), [2, 3], { name: 'w' })]]));
  try {
    assert.equal(cpuFeatures().bf16, false);
    assert.equal(cpuFeatures().avx512bf16, false);
    assert.throws(() => native.bf16Matmul(new Float32Array(3), 1, 3, bf16Bytes(rand(6, 2)), 2, new Float32Array(2)), /no AVX-512 BF16 units/);
    assert.throws(() => chooseCompute('bf16', weights, 'm.gguf'), (e: unknown) => e instanceof ComputeError && /--compute bf16: this CPU has no AVX-512 BF16 units/.test(e.message));
    const auto = chooseCompute('auto', weights, 'm.gguf');
    assert.equal(auto.compute, 'fp32');
    assert.match(auto.note ?? '', /^compute: fp32 \(this CPU has no AVX-512 BF16 units/);
    // A model wide enough for bf16 gets the note; a narrow one is fp32 by auto's own rule, so no note.
    assert.match(chooseCompute('auto', weights, 'm.gguf', 576).note ?? '', /^compute: fp32 \(this CPU has no AVX-512 BF16 units/);
    assert.deepEqual(chooseCompute('auto', weights, 'm.gguf', BF16_MIN_HIDDEN - 1), { compute: 'fp32', note: null });
  } finally {
    if (saved === undefined) delete process.env.LIFT_CPU_FEATURES;
    else process.env.LIFT_CPU_FEATURES = saved;
    for (const t of weights.values()) t.dispose();
  }
  assert.equal(chooseCompute('fp32', weights, 'm.gguf').compute, 'fp32');
});

test('compute auto: quantized weights keep fp32 (with the reason), narrow models fp32; bf16 on quantized weights is refused naming the tensor', { skip: !hasUnits && 'no AVX-512 BF16 units' }, () => {
  const weights = untracked(() => {
    const q = Tensor.empty([2, 32], { dtype: 'q8_0', zero: true, name: 'model.layers.0.mlp.up_proj.weight' });
    return new Map([['q', q]]);
  });
  try {
    assert.deepEqual(chooseCompute('auto', new Map(), 'x'), { compute: 'bf16', note: null });
    // auto: bf16 from BF16_MIN_HIDDEN wide (a 64-wide model gains nothing), explicit bf16 at any width
    assert.deepEqual(chooseCompute('auto', new Map(), 'x', BF16_MIN_HIDDEN - 1), { compute: 'fp32', note: null });
    assert.deepEqual(chooseCompute('auto', new Map(), 'x', 576), { compute: 'bf16', note: null });
    assert.deepEqual(chooseCompute('bf16', new Map(), 'x', 64), { compute: 'bf16', note: null });
    const auto = chooseCompute('auto', weights, 'm.gguf');
    assert.equal(auto.compute, 'fp32');
    assert.match(auto.note ?? '', /m\.gguf holds q8_0 weights \(model\.layers\.0\.mlp\.up_proj\.weight\)/);
    assert.throws(() => chooseCompute('bf16', weights, 'm.gguf'), /--compute bf16: m\.gguf holds q8_0 weights/);
    assert.throws(() => chooseCompute('fast' as never, weights, 'm.gguf'), /compute: expected fp32, bf16 or auto, got "fast"/);
  } finally {
    for (const t of weights.values()) t.dispose();
  }
});
