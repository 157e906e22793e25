// The plan's estimate when a short document's samples share their prefix (packed.ts packPlan): as many segment
// samples per pass as the trainer puts behind the prefix, their common tokens counted once, and one pass's peak
// memory grown with its rows. Checked against packPlan itself on samples of the same shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makePlan, sharedPerPass, type PlanInput } from '../../src/lift/plan.js';
import { liftLengths } from '../../src/lift/budget.js';
import { segmentStarts } from '../../src/lift/segments.js';
import { packPlan, DEFAULT_PACK_TOKENS } from '../../src/lift/packed.js';
import { IGNORE_INDEX as IGN } from '../../src/engine/index.js';

const lengths = liftLengths(2048); // ℓ 512, stride 192, CT context 1024: the 135M default's
const overhead = 1034; // the whole 1024-token document + BOS + the recite prompt
const base: PlanInput = {
  estimated: false, documentTokens: 1024, lengths, sampleOverhead: overhead, qa: 0, answerRecitations: 0, epochs: [1, 0], batchSize: 'full',
  guard: null, calibration: { tokens: overhead + 512, seconds: 3, peakBytes: 1e9 }, adapterBytes: 0, rssBytes: 0,
};

test('sharedPerPass agrees with the trainer\'s packPlan on samples of that shape', () => {
  for (const [prefix, seg, pack] of [[1034, 512, 1024], [1034, 512, 2048], [300, 128, 1024], [70, 32, 256], [500, 512, 0]] as const) {
    const samples = Array.from({ length: 9 }, (_, i) => {
      const ids = [...Array.from({ length: prefix }, (_, t) => 1 + (t % 50)), ...Array.from({ length: seg }, (_, t) => 100 + i * 7 + t)];
      return { input: ids, labels: ids.map((x, t) => (t < prefix ? IGN : x)) };
    });
    const groups = packPlan(samples, pack);
    const k = sharedPerPass(prefix, seg, pack);
    assert.equal(Math.max(...groups.map((g) => g.members.length)), Math.min(9, k), `prefix ${prefix}, segments ${seg}, pack ${pack}: ${JSON.stringify(groups.map((g) => g.members.length))}`);
  }
});

test('the plan of a shared-prefix document: fewer tokens, a larger pass', () => {
  const segments = segmentStarts(1024, lengths.stride).length;
  const plain = makePlan(base), shared = makePlan({ ...base, sharedPackTokens: DEFAULT_PACK_TOKENS });
  const k = sharedPerPass(overhead, 512, DEFAULT_PACK_TOKENS);
  assert.equal(k, 2);
  let segTokens = 0;
  for (let i = 0; i < segments; i++) segTokens += Math.min(512, 1024 - i * lengths.stride);
  const perToken = 3 / (overhead + 512);
  assert.ok(Math.abs(plain.seconds - (segTokens + segments * overhead) * perToken) < 1e-9);
  assert.ok(Math.abs(shared.seconds - (segTokens + Math.ceil(segments / k) * overhead) * perToken) < 1e-9);
  assert.ok(shared.seconds < 0.75 * plain.seconds, `${shared.seconds} vs ${plain.seconds}`);
  // One pass's peak grows with its rows (2058 against 1546); the samples' own bytes (< 1 MB here) aside.
  assert.ok(Math.abs(shared.memoryBytes - 1e9 * (overhead + 2 * 512) / (overhead + 512)) < 1e6, `${shared.memoryBytes}`);
  assert.ok(Math.abs(plain.memoryBytes - 1e9) < 1e6, `${plain.memoryBytes}`);
  assert.equal(shared.steps, plain.steps);
});
