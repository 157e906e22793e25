// The run.c sampler port: RNG words and softmax values checked against run.c's C code compiled with gcc
// (the constants below), the top-p / multinomial rules on hand-made distributions, top-k and greedy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sampler, XorShiftRng, sampleArgmax, sampleMult, sampleTopP, softmaxF32 } from '../../src/model/sampling.js';

test('xorshift RNG reproduces run.c random_u32 / random_f32', () => {
  const r = new XorShiftRng(42);
  assert.deepEqual([r.u32(), r.u32(), r.u32(), r.u32()], [1456360119, 3359763283, 3393612768, 4054632243]);
  const r2 = new XorShiftRng(1234567890123n);
  assert.equal(r2.f32(), Math.fround(0.936711371));
  assert.throws(() => new XorShiftRng(0), /non-zero/);
});

test('temperature + float32 softmax match run.c (gcc, expf) bit for bit', () => {
  const x = Float32Array.from([1.5, -2.25, 0.3, 3.1, 3.1]);
  const t = Math.fround(0.7);
  for (let i = 0; i < x.length; i++) x[i] = x[i] / t;
  softmaxF32(x);
  const expected = [0.0479611307, 0.00022610584, 0.00863743108, 0.471587658, 0.471587658].map(Math.fround);
  assert.deepEqual([...x], expected);
});

test('argmax takes the first maximum; multinomial walks the float cdf', () => {
  assert.equal(sampleArgmax([0.1, 0.5, 0.5, 0.2]), 1);
  const p = Float32Array.from([0.25, 0.25, 0.5]);
  assert.equal(sampleMult(p, 0), 0);
  assert.equal(sampleMult(p, 0.2499), 0);
  assert.equal(sampleMult(p, 0.25), 1);
  assert.equal(sampleMult(p, 0.99), 2);
});

test('top-p keeps the smallest sorted prefix whose mass exceeds p and rescales the coin to it', () => {
  const p = Float32Array.from([0.1, 0.6, 0.05, 0.25]);
  // sorted: 1 (0.6), 3 (0.25) -> cumulative 0.85 > 0.8 stops; r = coin * 0.85
  assert.equal(sampleTopP(p, 0.8, 0), 1);
  assert.equal(sampleTopP(p, 0.8, 0.7), 1); // r = 0.595 < 0.6
  assert.equal(sampleTopP(p, 0.8, 0.71), 3); // r = 0.6035
  assert.equal(sampleTopP(p, 0.8, 0.9999), 3); // never index 0 or 2
  // cutoff (1 - p)/(n - 1): with p = 0.5 and n = 4, candidates need ≥ 1/6, so 0.1 and 0.05 never qualify
  assert.equal(sampleTopP(p, 0.5, 0.99), 1);
});

test('Sampler: temperature 0 is greedy and uses no randomness; top-k = 1 equals greedy', () => {
  const logits = Float32Array.from([0.3, 2.5, -1, 2.4, 0]);
  const copy = logits.slice();
  assert.equal(new Sampler({ temperature: 0, seed: 7 }).sample(logits), 1);
  const k1 = new Sampler({ temperature: 1.3, topP: 0.9, topK: 1, seed: 7 });
  for (let i = 0; i < 20; i++) assert.equal(k1.sample(logits), 1);
  const k1NoTopP = new Sampler({ temperature: 1, topP: 1, topK: 1, seed: 9 });
  for (let i = 0; i < 20; i++) assert.equal(k1NoTopP.sample(logits), 1);
  assert.deepEqual(logits, copy, 'sample() must not modify its input');
});

test('Sampler: top-k restricts to the k best ids; same seed, same sequence', () => {
  const logits = Float32Array.from([1, 1.1, 0.9, 1.05, 0.95, 1.02]);
  const s = new Sampler({ temperature: 1, topP: 0, topK: 2, seed: 3 });
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) seen.add(s.sample(logits));
  assert.deepEqual([...seen].sort(), [1, 3]);
  const a = new Sampler({ seed: 11 }), b = new Sampler({ seed: 11 });
  const xs = Array.from({ length: 50 }, () => a.sample(logits));
  assert.deepEqual(Array.from({ length: 50 }, () => b.sample(logits)), xs);
});

test('Sampler rejects bad options', () => {
  assert.throws(() => new Sampler({ temperature: -1 }), /temperature/);
  assert.throws(() => new Sampler({ temperature: NaN }), /temperature/);
  assert.throws(() => new Sampler({ topK: 1.5 }), /topK/);
  assert.throws(() => new Sampler({ seed: 0 }), /non-zero/);
});
