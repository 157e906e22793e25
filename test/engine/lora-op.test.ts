// loraUpdate (native/lora.cc) against the composition it replaced, linear(linear(x, A), B) scaled and added to y
// (sgemm): output and every gradient (x, y, A, B) within float32 summation error, on shapes at the kernels'
// edges — T = 1 and not a multiple of the 3-row groups, O and I not multiples of 16/48/64, r = 1, 8, 9 (a
// second rank block) and 70 (past the 64-wide broadcast block) — and with x or y not needing a gradient.
// Also bit-for-bit: B = 0 (LoRA's step 0) leaves y unchanged, and 1 and 2 threads agree exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, Tape, linear, add, loraUpdate, native } from '../../src/engine/index.js';
import { seededRandom } from '../../src/adapters/init.js';

function randT(shape: number[], seed: number, grad: boolean, scale = 1): Tensor {
  const r = seededRandom(seed), n = shape.reduce((a, b) => a * b, 1);
  return Tensor.from(Float32Array.from({ length: n }, () => (2 * r() - 1) * scale), shape, { requiresGrad: grad });
}

function run(fused: boolean, T: number, I: number, O: number, r: number, gx: boolean, gy: boolean, consumeY = false) {
  const x = randT([T, I], 1, gx), y = randT([T, O], 2, gy), A = randT([r, I], 3, true, 0.1), B = randT([O, r], 4, true, 0.1);
  const dOut = randT([T, O], 5, false);
  const tape = new Tape();
  try {
    const out = tape.record(() => (fused ? loraUpdate(x, y, A, B, 2.5, { consumeY }) : add(y, linear(linear(x, A), B), 2.5)));
    if (consumeY) assert.equal(out.buffer(), y.buffer(), 'consumeY: the sum is written over y');
    const o = out.f32().slice();
    tape.backward(out, dOut.f32());
    const g = (t: Tensor) => (t.grad ? t.grad.f32().slice() : null);
    return { out: o, dx: g(x), dy: g(y), dA: g(A), dB: g(B) };
  } finally {
    tape.dispose();
    for (const t of [x, y, A, B, dOut]) t.dispose();
  }
}

function close(what: string, got: Float32Array | null, want: Float32Array | null, terms: number): void {
  assert.equal(got === null, want === null, `${what}: gradient present in one path only`);
  if (!got || !want) return;
  let worst = 0, scale = 1e-30;
  for (let i = 0; i < want.length; i++) {
    worst = Math.max(worst, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  // both sides sum `terms` products in float32: a few ulps of the largest entry times √terms is generous
  assert.ok(worst <= 8 * 2 ** -23 * Math.sqrt(terms) * scale, `${what}: max diff ${worst} (largest ${scale})`);
}

test('loraUpdate equals linear(linear(x, A), B)·s + y: output and gradients', () => {
  for (const [T, I, O, r] of [[1, 5, 3, 1], [7, 33, 17, 8], [256, 576, 192, 8], [50, 100, 1537, 9], [4, 64, 49, 70], [3, 16, 48, 16], [9, 576, 1536, 8], [2, 48, 96, 24]]) {
    for (const [gx, gy] of [[true, true], [false, true], [true, false]]) {
      const a = run(true, T, I, O, r, gx, gy), b = run(false, T, I, O, r, gx, gy);
      const what = `T ${T} I ${I} O ${O} r ${r} grad x ${gx} y ${gy}`;
      close(`${what} out`, a.out, b.out, I * r);
      close(`${what} dx`, a.dx, b.dx, O * r);
      close(`${what} dy`, a.dy, b.dy, 1);
      close(`${what} dA`, a.dA, b.dA, T * O);
      close(`${what} dB`, a.dB, b.dB, T * I);
    }
  }
});

test('loraUpdate with consumeY: the same bits in y\'s storage, which the result then owns', () => {
  for (const [T, I, O, r] of [[7, 33, 17, 8], [256, 576, 192, 8]]) {
    for (const [gx, gy] of [[true, true], [false, true], [true, false]]) {
      const a = run(true, T, I, O, r, gx, gy, true), b = run(true, T, I, O, r, gx, gy);
      for (const k of ['out', 'dx', 'dy', 'dA', 'dB'] as const) assert.deepEqual(a[k], b[k], `T ${T} O ${O} grad x ${gx} y ${gy}: ${k}`);
    }
  }
  // Ownership moved: y's dispose leaves the result readable; the result's dispose frees the storage.
  const x = randT([4, 8], 1, false), y = randT([4, 6], 2, false), A = randT([2, 8], 3, false, 0.1), B = randT([6, 2], 4, false, 0.1);
  const want = loraUpdate(x, y, A, B, 2).f32().slice();
  const out = loraUpdate(x, y, A, B, 2, { consumeY: true });
  y.dispose();
  assert.deepEqual(out.f32(), want);
  out.dispose();
  assert.throws(() => out.f32(), /used after it was disposed/);
  // Without ownership (a view) there is nothing to take: a new buffer, the view untouched.
  const base = randT([4, 6], 2, false), view = base.view([4, 6]);
  const before = view.f32().slice();
  const fresh = loraUpdate(x, view, A, B, 2, { consumeY: true });
  assert.notEqual(fresh.buffer(), view.buffer());
  assert.deepEqual(view.f32(), before);
  for (const t of [x, A, B, base, fresh]) t.dispose();
});

test('loraUpdate: B = 0 leaves y bit for bit; 1 and 2 threads give identical results', () => {
  const x = randT([40, 96], 1, false), y = randT([40, 200], 2, false), A = randT([8, 96], 3, false), B = Tensor.zeros([200, 8]);
  const out = loraUpdate(x, y, A, B, 2);
  assert.deepEqual(out.f32(), y.f32());
  for (const t of [x, y, A, B, out]) t.dispose();
  const was = native.getThreads();
  try {
    const res = [1, 2].map((n) => {
      native.setThreads(n);
      return run(true, 300, 576, 1536, 8, true, true);
    });
    for (const k of ['out', 'dx', 'dy', 'dA', 'dB'] as const) assert.deepEqual(res[0][k], res[1][k], `${k} differs between 1 and 2 threads`);
  } finally {
    native.setThreads(was);
  }
});

test('loraUpdate: mismatched shapes are refused naming them', () => {
  const x = Tensor.zeros([4, 8]), y = Tensor.zeros([4, 6]), A = Tensor.zeros([2, 8]), B = Tensor.zeros([5, 2]);
  assert.throws(() => loraUpdate(x, y, A, B, 1), /loraUpdate: x \[4, 8\], y \[4, 6\], A \[2, 8\], B \[5, 2\] disagree/);
  for (const t of [x, y, A, B]) t.dispose();
});
