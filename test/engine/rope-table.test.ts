// RoPE keeps its cos/sin table between calls (native/rope.cc): the table must follow the positions and the
// frequencies asked for — a training pass at positions 0…T−1, a decode step far beyond them, another model's
// frequencies, then the first again — and the rows must be split over threads (T·H·D above the parallel
// threshold) without any thread reading a table it does not have. Each result equals a fresh float32
// computation (angle = float(pos)·invFreq in float32, then cos/sin) bit for bit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native } from '../../src/engine/index.js';
import { seededRandom } from '../../src/adapters/init.js';

/** The kernel's arithmetic in JS with float32 rounding at each step (Math.fround), half-rotation layout. */
function ropeRef(x: Float32Array, T: number, H: number, D: number, start: number, inv: Float32Array): Float32Array {
  const f = Math.fround, half = inv.length, y = new Float32Array(x.length);
  for (let t = 0; t < T; t++)
    for (let h = 0; h < H; h++)
      for (let j = 0; j < half; j++) {
        const ang = f(f(start + t) * inv[j]), c = f(Math.cos(ang)), s = f(Math.sin(ang));
        const o = (t * H + h) * D, x0 = x[o + j], x1 = x[o + j + half];
        y[o + j] = f(f(x0 * c) - f(x1 * s));
        y[o + j + half] = f(f(x1 * c) + f(x0 * s));
      }
  return y;
}

test('rope: the kept cos/sin table follows positions and frequencies, across threads', () => {
  const H = 4, D = 64, r = seededRandom(3);
  const freqs = (base: number) => Float32Array.from({ length: D / 2 }, (_, j) => 1 / base ** ((2 * j) / D));
  const a = freqs(10000), b = freqs(500000);
  const was = native.getThreads();
  native.setThreads(2);
  try {
    for (const [T, start, inv] of [[300, 0, a], [300, 0, a], [1, 5000, a], [200, 40, b], [300, 0, a], [2, 70000, a]] as const) {
      const x = Float32Array.from({ length: T * H * D }, () => 2 * r() - 1);
      const y = new Float32Array(x.length);
      native.rope(x, y, T, H, D, start, inv, false, 1, false);
      const want = ropeRef(x, T, H, D, start, inv);
      // Math.cos/sin are not guaranteed to equal glibc's cosf/sinf in the last bit: allow 2 float32 ulps.
      for (let i = 0; i < y.length; i++)
        assert.ok(Math.abs(y[i] - want[i]) <= 2 ** -22 * Math.max(Math.abs(want[i]), 1), `T ${T}, start ${start}: element ${i} ${y[i]} vs ${want[i]}`);
      // backward (sign −1) undoes it
      const back = new Float32Array(x.length);
      native.rope(y, back, T, H, D, start, inv, false, -1, false);
      for (let i = 0; i < x.length; i++) assert.ok(Math.abs(back[i] - x[i]) <= 1e-5, `inverse rotation at ${i}`);
    }
  } finally {
    native.setThreads(was);
  }
});
