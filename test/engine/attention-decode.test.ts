// Decode-sized attention (native/attention.cc, decodeForward: T ≤ 4 queries against a KV cache) against the
// float64 reference (test/engine/reference.ts), output and log-sum-exp, and T = 5 (the block path) alongside.
// Shapes: one query at the cache's first and last key, GQA ratios 1–3, head dims 10 (not a multiple of the
// vector width), 64 and 128, key counts not a multiple of the 4-key blocks. With a context long enough for
// the heads to be split over threads (K and V rows ≥ 1 MiB) the result must be bitwise the one-thread result:
// each head is one thread's work in a fixed order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native } from '../../src/engine/index.js';
import { seededRandom } from '../../src/adapters/init.js';
import { attentionRef } from './reference.js';

interface Case { T: number; Tk: number; NH: number; KVH: number; D: number; start: number }

function run(c: Case, seed = 5): { out: Float32Array; lse: Float32Array; q: Float32Array; k: Float32Array; v: Float32Array } {
  const r = seededRandom(seed);
  const rand = (n: number) => Float32Array.from({ length: n }, () => 4 * r() - 2);
  const q = rand(c.T * c.NH * c.D), k = rand(c.Tk * c.KVH * c.D), v = rand(c.Tk * c.KVH * c.D);
  const out = new Float32Array(c.T * c.NH * c.D).fill(Number.NaN), lse = new Float32Array(c.NH * c.T).fill(Number.NaN);
  native.attentionForward(q, k, v, out, lse, c.T, c.Tk, c.NH, c.KVH, c.D, c.start, 1 / Math.sqrt(c.D));
  return { out, lse, q, k, v };
}

/** log Σ exp(scale · q·k) over the keys query i sees, in float64. */
function lseRef(q: Float32Array, k: Float32Array, c: Case): number[] {
  const out: number[] = [];
  for (let h = 0; h < c.NH; h++) {
    const g = Math.floor(h / (c.NH / c.KVH));
    for (let i = 0; i < c.T; i++) {
      const s: number[] = [];
      for (let j = 0; j <= c.start + i; j++) {
        let d = 0;
        for (let e = 0; e < c.D; e++) d += q[(i * c.NH + h) * c.D + e] * k[(j * c.KVH + g) * c.D + e];
        s.push(d / Math.sqrt(c.D));
      }
      const mx = Math.max(...s);
      out[h * c.T + i] = mx + Math.log(s.reduce((a, x) => a + Math.exp(x - mx), 0));
    }
  }
  return out;
}

const cases: Case[] = [
  { T: 1, Tk: 1, NH: 2, KVH: 1, D: 10, start: 0 },
  { T: 1, Tk: 40, NH: 9, KVH: 3, D: 64, start: 38 },
  { T: 1, Tk: 131, NH: 4, KVH: 4, D: 128, start: 130 },
  { T: 3, Tk: 70, NH: 6, KVH: 2, D: 64, start: 21 },
  { T: 4, Tk: 9, NH: 3, KVH: 1, D: 10, start: 5 },
  { T: 5, Tk: 77, NH: 4, KVH: 2, D: 64, start: 72 },
];

for (const c of cases) {
  test(`decode attention T=${c.T} Tk=${c.Tk} NH=${c.NH} KVH=${c.KVH} D=${c.D} start=${c.start} matches float64`, () => {
    const { out, lse, q, k, v } = run(c);
    const ref = attentionRef(Float64Array.from(q), Float64Array.from(k), Float64Array.from(v), c.T, c.Tk, c.NH, c.KVH, c.D, c.start);
    let worst = 0;
    for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(out[i] - ref[i]));
    assert.ok(worst < 2e-6 * 8, `output: max |Δ| ${worst}`); // outputs are |·| ≤ 2; float32 rounding over ≤ 131 terms
    const lr = lseRef(q, k, c);
    for (let i = 0; i < lr.length; i++) assert.ok(Math.abs(lse[i] - lr[i]) < 1e-5 * Math.max(1, Math.abs(lr[i])), `lse[${i}] ${lse[i]} vs ${lr[i]}`);
  });
}

test('decode attention over a long cache: heads split over threads give the one-thread result bitwise', () => {
  const c: Case = { T: 1, Tk: 1500, NH: 9, KVH: 3, D: 64, start: 1499 }; // K+V rows 2.3 MB ≥ the 1 MiB bound
  const before = native.getThreads();
  try {
    native.setThreads(1);
    const one = run(c, 9);
    native.setThreads(2);
    const two = run(c, 9);
    assert.deepEqual(two.out, one.out);
    assert.deepEqual(two.lse, one.lse);
    const ref = attentionRef(Float64Array.from(one.q), Float64Array.from(one.k), Float64Array.from(one.v), c.T, c.Tk, c.NH, c.KVH, c.D, c.start);
    let worst = 0;
    for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(one.out[i] - ref[i]));
    assert.ok(worst < 1e-5, `output: max |Δ| ${worst}`);
  } finally {
    native.setThreads(before);
  }
});
