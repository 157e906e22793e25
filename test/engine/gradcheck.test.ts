// Every primitive's forward against a naive float64 reference, and its backward against central finite
// differences of that reference (float64), on awkward shapes: odd sizes, T = 1, head ratios 1/2/4,
// head dims 8…128, KV-cache offsets, query blocks that cross the kernel's 64-row tiling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, Tape, linear, headLinear, embedding, rmsnorm, rope, attention, swiglu, silu, sigmoidAffine, gateMix, crossEntropy, klDivergence, add, scale } from '../../src/engine/index.js';
import * as R from './reference.js';

type F64 = Float64Array;
interface Input {
  shape: number[];
  grad: boolean;
  scale?: number;
}
interface Case {
  name: string;
  inputs: Input[];
  ours: (ts: Tensor[]) => Tensor;
  ref: (xs: F64[]) => F64;
}

/** docs/correctness.md: forward within 1e-5 × max(1, max |reference|), each gradient within 1e-5 × max(1, |numeric|)
 * (seen: 3.6e-6 and 2.9e-6, RoPE with D = 128 at position 100). */
const FWD_TOL = 1e-5, GRAD_TOL = 1e-5;

const f32round = (x: F64): F64 => Float64Array.from(Float32Array.from(x));
const dot = (a: F64, b: F64) => a.reduce((s, v, i) => s + v * b[i], 0);

function check(c: Case, seed = 1): { fwd: number; bwd: number } {
  const r = R.rng(seed);
  const xs = c.inputs.map((inp) => f32round(R.randn(inp.shape.reduce((a, b) => a * b, 1), r, inp.scale ?? 1)));
  const tape = new Tape();
  const ts = xs.map((x, i) => Tensor.from(x, c.inputs[i].shape, { requiresGrad: c.inputs[i].grad, name: `in${i}` }));
  try {
    const out = tape.record(() => c.ours(ts));
    const want = c.ref(xs);
    const got = out.f32();
    assert.equal(got.length, want.length, `${c.name}: output size`);
    const mag = Math.max(1, ...Array.from(want, Math.abs));
    let fwd = 0;
    want.forEach((w, i) => (fwd = Math.max(fwd, Math.abs(w - got[i]))));
    assert.ok(fwd <= FWD_TOL * mag, `${c.name}: forward max abs diff ${fwd} (magnitude ${mag})`);

    const dy = f32round(R.randn(want.length, r));
    tape.backward(out, Float32Array.from(dy));
    let bwd = 0;
    c.inputs.forEach((inp, k) => {
      if (!inp.grad) {
        assert.equal(ts[k].grad, null, `${c.name}: frozen input ${k} must get no gradient buffer`);
        return;
      }
      const analytic = ts[k].grad!.f32();
      const n = xs[k].length;
      const idx = n <= 64 ? [...Array(n).keys()] : Array.from({ length: 48 }, () => Math.floor(r() * n));
      for (const i of idx) {
        const h = 1e-6 * Math.max(1, Math.abs(xs[k][i]));
        const plus = xs.map((x) => x.slice()), minus = xs.map((x) => x.slice());
        plus[k][i] += h;
        minus[k][i] -= h;
        const num = (dot(c.ref(plus), dy) - dot(c.ref(minus), dy)) / (2 * h);
        const err = Math.abs(num - analytic[i]);
        bwd = Math.max(bwd, err / Math.max(1, Math.abs(num)));
        assert.ok(err <= GRAD_TOL * Math.max(1, Math.abs(num)), `${c.name}: d/d input${k}[${i}] analytic ${analytic[i]} vs numeric ${num}`);
      }
    });
    return { fwd, bwd };
  } finally {
    tape.dispose();
    ts.forEach((t) => t.dispose());
  }
}

function run(cases: Case[]) {
  for (const c of cases)
    test(c.name, () => {
      const { fwd, bwd } = check(c);
      console.log(`  ${c.name}: forward max|Δ| ${fwd.toExponential(2)}, backward max rel err ${bwd.toExponential(2)}`);
    });
}

// linear / headLinear
run([
  [1, 3, 5, false],
  [7, 13, 9, true],
  [2, 64, 33, true],
].map(([T, I, O, bias]) => ({
  name: `linear T=${T} I=${I} O=${O}${bias ? ' +bias' : ''}`,
  inputs: [{ shape: [T as number, I as number], grad: true }, { shape: [O as number, I as number], grad: true }, ...(bias ? [{ shape: [O as number], grad: true }] : [])],
  ours: (t: Tensor[]) => linear(t[0], t[1], t[2] ?? null),
  ref: (x: F64[]) => R.linearRef(x[0], x[1], x[2] ?? null, T as number, I as number, O as number),
})));
run([
  [5, 3, 8, 16, true],
  [1, 2, 4, 2, false],
].map(([T, H, I, O, bias]) => ({
  name: `headLinear T=${T} H=${H} ${I}→${O}${bias ? ' +bias' : ''}`,
  inputs: [{ shape: [T as number, (H as number) * (I as number)], grad: true }, { shape: [H as number, I as number, O as number], grad: true }, ...(bias ? [{ shape: [H as number, O as number], grad: true }] : [])],
  ours: (t: Tensor[]) => headLinear(t[0], t[1], H as number, t[2] ?? null),
  ref: (x: F64[]) => R.headLinearRef(x[0], x[1], x[2] ?? null, T as number, H as number, I as number, O as number),
})));
// A frozen weight: no gradient buffer, input gradient still correct.
run([{ name: 'linear with frozen weight', inputs: [{ shape: [4, 6], grad: true }, { shape: [3, 6], grad: false }], ours: (t) => linear(t[0], t[1]), ref: (x) => R.linearRef(x[0], x[1], null, 4, 6, 3) }]);

// embedding (repeated ids accumulate)
const ids = Int32Array.from([3, 0, 10, 3, 3, 7]);
run([{ name: 'embedding V=11 C=7 repeated ids', inputs: [{ shape: [11, 7], grad: true }], ours: (t) => embedding(t[0], ids), ref: (x) => R.embeddingRef(x[0], ids, 7) }]);

// rmsnorm
run([[1, 7], [5, 33], [3, 128]].map(([T, C]) => ({
  name: `rmsnorm T=${T} C=${C}`,
  inputs: [{ shape: [T, C], grad: true }, { shape: [C], grad: true }],
  ours: (t: Tensor[]) => rmsnorm(t[0], t[1], 1e-5),
  ref: (x: F64[]) => R.rmsnormRef(x[0], x[1], T, C, 1e-5),
})));

// rope: both layouts, offsets, partial rotary, head dim 128
const inv = (D: number, n = D / 2, theta = 10000) => Float32Array.from({ length: n }, (_, j) => 1 / Math.pow(theta, (2 * j) / D));
for (const layout of ['interleaved', 'half'] as const)
  run([
    [5, 3, 8, 0, 4],
    [1, 2, 128, 100, 64],
    [4, 1, 16, 7, 4],
  ].map(([T, H, D, start, nf]) => {
    const f = inv(D, nf);
    return {
      name: `rope ${layout} T=${T} H=${H} D=${D} start=${start} rotary=${2 * nf}`,
      inputs: [{ shape: [T, H * D], grad: true }],
      ours: (t: Tensor[]) => rope(t[0], H, start, f, layout),
      ref: (x: F64[]) => R.ropeRef(x[0], T, H, D, start, f, layout === 'interleaved'),
    };
  }));

// attention: head ratios 1/2/4, T = 1, blocks crossing 64 rows, KV-cache start, head dims 8…128
run([
  [1, 1, 1, 1, 8, 0],
  [7, 7, 4, 2, 16, 0],
  [70, 70, 4, 1, 8, 0],
  [3, 8, 2, 2, 32, 5],
  [5, 5, 2, 1, 128, 0],
  [1, 9, 4, 4, 64, 8],
].map(([T, Tk, NH, KVH, D, start]) => ({
  name: `attention T=${T} Tk=${Tk} NH=${NH} KVH=${KVH} D=${D} start=${start}`,
  inputs: [{ shape: [T, NH * D], grad: true }, { shape: [Tk, KVH * D], grad: true }, { shape: [Tk, KVH * D], grad: true }],
  ours: (t: Tensor[]) => attention(t[0], t[1], t[2], { heads: NH, kvHeads: KVH, start }),
  ref: (x: F64[]) => R.attentionRef(x[0], x[1], x[2], T, Tk, NH, KVH, D, start),
})));

// elementwise
run([
  { name: 'swiglu 5×37', inputs: [{ shape: [5, 37], grad: true }, { shape: [5, 37], grad: true }], ours: (t) => swiglu(t[0], t[1]), ref: (x) => R.swigluRef(x[0], x[1]) },
  { name: 'silu 3×11 (16-lane path and tail)', inputs: [{ shape: [3, 11], grad: true }], ours: (t) => silu(t[0]), ref: (x) => R.siluRef(x[0]) },
  { name: 'sigmoid(3(x−1)) 4×13 (16-lane path and tail)', inputs: [{ shape: [4, 13], grad: true }], ours: (t) => sigmoidAffine(t[0], 3, -3), ref: (x) => R.sigmoidAffineRef(x[0], 3, -3) },
  {
    name: 'gateMix T=3 H=2 D=8',
    inputs: [{ shape: [3, 16], grad: true }, { shape: [3, 16], grad: true }, { shape: [3, 2], grad: true }],
    ours: (t) => gateMix(t[0], t[1], t[2]),
    ref: (x) => R.gateMixRef(x[0], x[1], x[2], 8),
  },
  { name: 'add with scale', inputs: [{ shape: [2, 5], grad: true }, { shape: [2, 5], grad: true }], ours: (t) => add(t[0], t[1], 2.5), ref: (x) => x[0].map((v, i) => v + 2.5 * x[1][i]) },
  // A tensor used twice: gradients from both uses accumulate.
  { name: 'residual x + x·Wᵀ', inputs: [{ shape: [3, 4], grad: true }, { shape: [4, 4], grad: true }], ours: (t) => add(t[0], linear(t[0], t[1])), ref: (x) => { const l = R.linearRef(x[0], x[1], null, 3, 4, 4); return x[0].map((v, i) => v + l[i]); } },
  { name: 'scale', inputs: [{ shape: [7], grad: true }], ours: (t) => scale(t[0], -0.3), ref: (x) => x[0].map((v) => -0.3 * v) },
]);

// cross-entropy with ignored positions (output is the scalar mean loss)
const targets = Int32Array.from([4, -100, 0, 16, -100, 9]);
run([{
  name: 'crossEntropy T=6 V=17 with ignore -100',
  inputs: [{ shape: [6, 17], grad: true, scale: 3 }],
  ours: (t) => crossEntropy(t[0], targets).loss,
  ref: (x) => Float64Array.of(R.crossEntropyRef(x[0], targets, 17)),
}]);
run([{
  name: 'crossEntropy in place',
  inputs: [{ shape: [3, 5], grad: true }],
  ours: (t) => crossEntropy(t[0], Int32Array.from([1, 2, 3]), { inPlace: true }).loss,
  ref: (x) => Float64Array.of(R.crossEntropyRef(x[0], Int32Array.from([1, 2, 3]), 5)),
}]);

// KL(base ‖ adapted) of the forgetting guard; the reference logits carry no gradient.
run([{
  name: 'klDivergence T=4 V=13',
  inputs: [{ shape: [4, 13], grad: true, scale: 2 }, { shape: [4, 13], grad: false, scale: 2 }],
  ours: (t) => klDivergence(t[0], t[1]),
  ref: (x) => Float64Array.of(R.klRef(x[0], x[1], 4, 13)),
}]);
const klRows = Float32Array.from([1, 0, 0.5, 2]);
run([{
  name: 'klDivergence with row weights (1, 0, 0.5, 2)',
  inputs: [{ shape: [4, 13], grad: true, scale: 2 }, { shape: [4, 13], grad: false, scale: 2 }],
  ours: (t) => klDivergence(t[0], t[1], { rowWeights: klRows }),
  ref: (x) => Float64Array.of(R.klRef(x[0], x[1], 4, 13, klRows)),
}]);
