// The vectorised exp (native/simd-math.h) through the kernels that use it — cross-entropy over a vocabulary,
// its softmax gradient, SwiGLU, attention's softmax — against float64 references, on values spread over the
// whole useful range of exp (logits from −100 to 80, so some e^x underflow to denormals and 0). Bounds: a few
// float32 ulps (exp16 is ≤ 2 ulp; each result adds one or two roundings).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native, Tensor, Tape, attention } from '../../src/engine/index.js';
import { seededRandom } from '../../src/adapters/init.js';

const ULP = 2 ** -23;

function spread(n: number, seed: number, lo: number, hi: number): Float32Array {
  const r = seededRandom(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}

test('cross-entropy over wide-range logits: log-sum-exp, loss and softmax gradient within a few ulps of float64', () => {
  const T = 5, V = 1000 + 7; // V not a multiple of 16: the masked tail
  const x = spread(T * V, 1, -100, 80);
  x[3] = -Infinity; // an impossible word: probability 0
  const targets = Int32Array.from([0, 17, -100, V - 1, 500]);
  const lse = new Float32Array(T), nll = new Float32Array(T);
  const { loss, count } = native.xentForward(x, targets, lse, nll, T, V);
  let want = 0;
  const wantLse: number[] = [];
  for (let t = 0; t < T; t++) {
    const row = x.subarray(t * V, (t + 1) * V);
    const mx = Math.max(...row);
    let s = 0;
    for (const v of row) s += Math.exp(v - mx);
    wantLse.push(mx + Math.log(s));
    if (targets[t] !== -100) want += wantLse[t] - row[targets[t]];
  }
  assert.equal(count, 4);
  for (let t = 0; t < T; t++) assert.ok(Math.abs(lse[t] - wantLse[t]) <= 4 * ULP * Math.abs(wantLse[t]), `lse row ${t}: ${lse[t]} vs ${wantLse[t]}`);
  assert.ok(Math.abs(loss - want / 4) <= 1e-6 * Math.abs(want / 4), `loss ${loss} vs ${want / 4}`);

  const d = new Float32Array(T * V);
  native.xentBackward(x, targets, lse, d, T, V, 0.25, null);
  for (let t = 0; t < T; t++)
    for (let j = 0; j < V; j++) {
      const i = t * V + j;
      if (x[i] === -Infinity) continue; // checked below: exactly 0
      const p = targets[t] === -100 ? 0 : Math.exp(x[i] - lse[t]) * 0.25 - (j === targets[t] ? 0.25 : 0);
      // x − lse is formed in float32 (as before vectorising): half an ulp of |x − lse| becomes relative error of e^(x − lse)
      const rel = 6 * ULP + Math.abs(x[i] - lse[t]) * 2 ** -24;
      assert.ok(Math.abs(d[i] - p) <= rel * Math.abs(p) + 1e-38, `dLogits[${t}, ${j}] = ${d[i]}, float64 ${p} (logit ${x[i]})`);
    }
  assert.equal(d[3], 0, 'a −inf logit has probability 0');
});

test('cross-entropy: a NaN logit makes the loss NaN (the trainer then skips the step)', () => {
  const x = spread(40, 2, -3, 3);
  x[21] = NaN;
  const r = native.xentForward(x, Int32Array.from([1, 2]), new Float32Array(2), null, 2, 20);
  assert.ok(Number.isNaN(r.loss));
});

// (Below σ(x) ≈ 1e−38, for x < −87, exp(−x) overflows and σ is 0, as with libm's expf: results under 1e−30
// are compared absolutely.)
test('SwiGLU forward and backward over [−90, 90] within a few ulps of float64', () => {
  const n = 4096 + 13;
  const g = spread(n, 3, -90, 90), u = spread(n, 4, -2, 2), dy = spread(n, 5, -1, 1);
  const out = new Float32Array(n), dg = new Float32Array(n), du = new Float32Array(n);
  native.swigluForward(g, u, out);
  native.swigluBackward(dy, g, u, dg, du, false);
  for (let i = 0; i < n; i++) {
    const x = g[i], s = 1 / (1 + Math.exp(-x));
    const y = x * s * u[i], wg = dy[i] * u[i] * s * (1 + x * (1 - s)), wu = dy[i] * x * s;
    assert.ok(Math.abs(out[i] - y) <= 8 * ULP * Math.abs(y) + 1e-30, `swiglu[${i}] (gate ${x}) ${out[i]} vs ${y}`);
    assert.ok(Math.abs(du[i] - wu) <= 8 * ULP * Math.abs(wu) + 1e-30, `dUp[${i}] (gate ${x}) ${du[i]} vs ${wu}`);
    // dGate: 1 + x(1 − σ) cancels for x ≪ 0, so its bound is relative to the terms' size
    const mag = Math.abs(dy[i] * u[i] * s) * (1 + Math.abs(x * (1 - s)));
    assert.ok(Math.abs(dg[i] - wg) <= 16 * ULP * mag + 1e-30, `dGate[${i}] (gate ${x}) ${dg[i]} vs ${wg}`);
  }
});

test('attention softmax (vectorised exp) against float64 at 200 keys: outputs within 1e-6', () => {
  const T = 200, H = 2, D = 16, r = seededRandom(6);
  const mk = (scale: number) => Tensor.from(Float32Array.from({ length: T * H * D }, () => (2 * r() - 1) * scale), [T, H * D]);
  const q = mk(3), k = mk(3), v = mk(1);
  const tape = new Tape();
  try {
    const out = tape.record(() => attention(q, k, v, { heads: H, kvHeads: H, start: 0 })).f32();
    const qa = q.f32(), ka = k.f32(), va = v.f32(), sc = 1 / Math.sqrt(D);
    let worst = 0;
    for (let h = 0; h < H; h++)
      for (let i = 0; i < T; i++) {
        const s: number[] = [];
        for (let j = 0; j <= i; j++) {
          let d = 0;
          for (let e = 0; e < D; e++) d += qa[(i * H + h) * D + e] * ka[(j * H + h) * D + e];
          s.push(d * sc);
        }
        const mx = Math.max(...s), z = s.reduce((a, b) => a + Math.exp(b - mx), 0);
        for (let e = 0; e < D; e++) {
          let o = 0;
          for (let j = 0; j <= i; j++) o += (Math.exp(s[j] - mx) / z) * va[(j * H + h) * D + e];
          worst = Math.max(worst, Math.abs(o - out[(i * H + h) * D + e]));
        }
      }
    assert.ok(worst <= 1e-6, `attention output differs from float64 by ${worst}`);
  } finally {
    tape.dispose();
    for (const t of [q, k, v]) t.dispose();
  }
});
