// Bad input to the engine: shape and dtype mismatches throw an Error naming the op and the shapes (never a
// crash of the process), native kernels reject out-of-bounds buffers, non-finite values are reported and a
// non-finite step is skipped, and memory is freed deterministically.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, Tape, tidy, keep, linear, attention, rmsnorm, rope, gateMix, crossEntropy, embedding, add, AdamW, findNonFinite, native, memoryStats } from '../../src/engine/index.js';

test('shape mismatches name the op and the shapes', () => {
  tidy(() => {
    const x = Tensor.zeros([3, 4]), w = Tensor.zeros([5, 6]);
    assert.throws(() => linear(x, w), /linear: x \[3, 4\] and weight \[5, 6\] disagree/);
    assert.throws(() => rmsnorm(x, Tensor.zeros([5]), 1e-5), /rmsnorm: weight \[5\] must be \[4\]/);
    assert.throws(() => attention(Tensor.zeros([2, 12]), Tensor.zeros([2, 8]), Tensor.zeros([2, 8]), { heads: 3, kvHeads: 1 }), /attention: q \[2, 12\] and k \[2, 8\] do not split into 3 query and 1 KV heads/);
    assert.throws(() => attention(Tensor.zeros([3, 8]), Tensor.zeros([2, 8]), Tensor.zeros([2, 8]), { heads: 1, kvHeads: 1 }), /exceed the 2 keys/);
    assert.throws(() => rope(Tensor.zeros([2, 10]), 3, 0, new Float32Array(2), 'half'), /rope: x \[2, 10\] is not divisible into 3 heads/);
    assert.throws(() => add(x, Tensor.zeros([4, 3])), /add: shapes \[3, 4\] and \[4, 3\] differ/);
    assert.throws(() => gateMix(x, x, Tensor.zeros([2, 2])), /gateMix/);
    assert.throws(() => crossEntropy(x, new Int32Array(2)), /crossEntropy: 2 targets for logits \[3, 4\]/);
    assert.throws(() => crossEntropy(x, Int32Array.from([0, 9, -100])), /target 9 at position 1 is neither -100 nor inside the vocabulary \[0, 4\)/);
    assert.throws(() => embedding(x, Int32Array.from([3])), /token id 3 at position 0 is outside the vocabulary \[0, 3\)/);
    assert.throws(() => Tensor.from([1, 2, 3], [2, 2]), /3 values do not fill shape \[2, 2\]/);
    assert.throws(() => Tensor.empty([2, -1]), /bad shape \[2, -1\]/);
  });
});

test('dtype mismatches ask for a conversion', () => {
  tidy(() => {
    const w16 = Tensor.from([1, 2, 3, 4], [2, 2]).to16('bf16');
    // A 16-bit (or quantized) frozen weight is read as stored; 16-bit activations still ask for a conversion.
    assert.deepEqual(Array.from(linear(Tensor.from([1, 1], [1, 2]), w16).f32()), [3, 7]);
    assert.throws(() => linear(w16, Tensor.zeros([2, 2])), /linear: .* is bf16; ops compute in f32 \(call toF32\(\)\)/);
    assert.deepEqual(Array.from(w16.toF32().f32()), [1, 2, 3, 4]);
    const h = Tensor.from([0.1, -2.5, 65504, 1e-7], [4]).to16('f16').toF32().f32();
    assert.deepEqual(Array.from(h), [0.0999755859375, -2.5, 65504, 1.1920928955078125e-7]);
  });
});

test('native kernels reject bad buffers with an Error instead of crashing', () => {
  const a = new Float32Array(6), b = new Float32Array(6), c = new Float32Array(3);
  assert.throws(() => native.gemm(false, false, 2, 2, 3, 1, a, 0, 3, b, 0, 2, 0, c, 0, 2), /gemm: C needs 4 elements from offset 0 but has 3/);
  assert.throws(() => native.gemm(false, false, 2, 2, 3, 1, a, 1, 3, b, 0, 2, 0, new Float32Array(4), 0, 2), /gemm: A needs 6 elements from offset 1 but has 6/);
  assert.throws(() => native.gemm(false, false, 2, 2, 3, 1, a, 0, 2, b, 0, 2, 0, new Float32Array(4), 0, 2), /leading dimension of A is 2, must be >= 3/);
  assert.throws(() => (native.gemm as (...x: unknown[]) => void)('yes'), /gemm: argument 0 must be a boolean/);
  assert.throws(() => native.attentionForward(a, a, a, a, a, 1, 1, 3, 2, 2, 0, 1), /query heads 3 must be a multiple of KV heads 2/);
  assert.throws(() => native.rmsnormForward(a, a, a, a, 2, 4, 1e-5), /rmsnorm: x needs 8 elements/);
  assert.throws(() => native.adamw(a, a, a, c, 0.1, 0.9, 0.99, 1e-8, 0, 1), /adamw: param, grad, m and v must have the same length/);
  assert.throws(() => (native.toF32 as (...x: unknown[]) => void)(a, a, 'f16'), /toF32: argument 0 must be a Uint16Array/);
});

test('non-finite losses and gradients are reported and the step is skipped', () => {
  const p = keep(Tensor.from([1, 2], [2], { requiresGrad: true, name: 'p' }));
  const opt = new AdamW([p], { lr: 0.1 });
  p.gradBuffer().f32().set([NaN, 1]);
  const r = opt.stepWith();
  assert.equal(r.applied, false);
  assert.deepEqual(r.nonFinite, ['p']);
  assert.deepEqual(Array.from(p.f32()), [1, 2], 'weights untouched by a NaN step');
  assert.equal(opt.step, 0);
  assert.deepEqual(findNonFinite([['loss', Infinity], ['ok', 1], ['p', p], ['p.grad', p.grad]]), ['loss', 'p.grad']);
  p.gradBuffer().f32().set([3, 4]);
  const r2 = opt.stepWith();
  assert.ok(r2.applied);
  assert.equal(r2.gradNorm, 5);
  opt.dispose();
  p.dispose();
});

test('buffers are freed deterministically: tidy, tape.dispose and dispose return every byte', () => {
  const base = memoryStats();
  const w = keep(Tensor.from(Array.from({ length: 64 }, (_, i) => i / 64), [8, 8], { requiresGrad: true, name: 'w' }));
  tidy(() => {
    const tape = new Tape();
    const { loss } = tape.record(() => crossEntropy(linear(rmsnorm(Tensor.from(Array.from({ length: 24 }, (_, i) => Math.sin(i)), [3, 8]), Tensor.from(new Array(8).fill(1), [8]), 1e-5), w), Int32Array.from([1, 2, 3])));
    tape.backward(loss);
    tape.dispose();
    assert.ok(loss.disposed, 'the tape frees what it recorded');
  });
  assert.ok(w.grad !== null, 'the parameter keeps its gradient');
  w.dispose();
  const end = memoryStats();
  assert.equal(end.liveBuffers, base.liveBuffers);
  assert.equal(end.liveBytes, base.liveBytes);
  const t = Tensor.zeros([4]);
  t.dispose();
  assert.throws(() => t.f32(), /used after it was disposed/);
  t.dispose(); // twice is harmless
});
