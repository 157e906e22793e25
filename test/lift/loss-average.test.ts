// lossAverage: 'samples' (ours) weighs every sample the same; 'tokens' (the authors' code, transformers 4.47.1's
// num_items_in_batch under full-batch gradient accumulation; docs/fidelity.md) divides the batch's summed token
// losses by its supervised tokens. Pinned on a 3-sample batch whose samples supervise 2, 3 and 7 tokens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requireShared, sharedPath } from '../helpers/shared.js';
import { loadModelFromPath } from '../../src/model/load.js';
import { LoraAdapter } from '../../src/adapters/lora.js';
import { crossEntropy, tidy, IGNORE_INDEX } from '../../src/engine/index.js';
import { sampleWeights, train, type TrainSample } from '../../src/lift/trainer.js';

const IGN = IGNORE_INDEX;

test('sampleWeights: 1/B each for samples, nᵢ/Σn for tokens (2, 3, 5 supervised tokens → .2, .3, .5)', () => {
  const lab = (n: number, pad: number) => ({ labels: [...Array(pad).fill(IGN), ...Array(n).fill(1)] });
  const batch = [lab(2, 4), lab(3, 0), lab(5, 1)];
  assert.deepEqual(sampleWeights(batch, 'samples'), [1 / 3, 1 / 3, 1 / 3]);
  assert.deepEqual(sampleWeights(batch, 'tokens'), [0.2, 0.3, 0.5]);
  assert.deepEqual(sampleWeights([lab(0, 3)], 'tokens'), [0], 'no supervised token: no weight, no NaN');
});

test("the 'tokens' loss of a 3-sample full batch is Σ token losses / Σ supervised tokens (hand-computed)", async (t) => {
  if (!requireShared(t, 'models/stories260K')) return;
  const { model, tokenizer } = loadModelFromPath(sharedPath('models/stories260K/stories260K.bin'));
  const texts = ['Tom had a red ball.', 'Lily saw a big dog in the park.', 'The sun was warm and the birds sang all day long.'];
  const supervised = [2, 3, 7]; // the last n labels of each sample carry loss, the rest are IGNORE
  const samples: TrainSample[] = texts.map((s, i) => {
    const ids = tokenizer.encode(s, { bos: true });
    const labels = ids.slice(1).map((id, j, a) => (j >= a.length - supervised[i] ? id : IGN));
    return { input: ids.slice(0, -1), labels };
  });
  // By hand: every supervised token's loss from the frozen model (the fresh LoRA's B = 0 leaves it unchanged).
  const perSample = samples.map((s) => tidy(() => {
    const r = crossEntropy(model.forward(Int32Array.from(s.input)), Int32Array.from(s.labels), { perToken: true });
    const nll = Array.from(r.nll!).filter((_, j) => s.labels[j] !== IGN);
    return { sum: nll.reduce((a, b) => a + b, 0), n: nll.length };
  }));
  assert.deepEqual(perSample.map((p) => p.n), supervised);
  const byTokens = perSample.reduce((a, p) => a + p.sum, 0) / perSample.reduce((a, p) => a + p.n, 0);
  const bySamples = perSample.reduce((a, p) => a + p.sum / p.n, 0) / perSample.length;
  const step1 = async (lossAverage?: 'tokens' | 'samples') => {
    const lora = new LoraAdapter(model, { r: 2, lora_alpha: 4, target_modules: ['q_proj'] });
    try {
      const r = await train(model, lora, [{ name: 's', epochs: 1, samples }], { lr: 1e-3, batchSize: 'full', lossAverage });
      return r.losses[0].loss;
    } finally {
      lora.dispose();
    }
  };
  const tokens = await step1('tokens'), samplesAvg = await step1('samples'), byDefault = await step1();
  console.log(`  tokens ${tokens.toFixed(5)} (hand ${byTokens.toFixed(5)}), samples ${samplesAvg.toFixed(5)} (hand ${bySamples.toFixed(5)})`);
  assert.ok(Math.abs(byTokens - bySamples) > 0.02, 'the two averages must differ on this batch for the test to mean anything');
  assert.ok(Math.abs(tokens - byTokens) < 1e-4, `tokens: ${tokens} vs hand ${byTokens}`);
  assert.ok(Math.abs(samplesAvg - bySamples) < 1e-4, `samples: ${samplesAvg} vs hand ${bySamples}`);
  assert.equal(byDefault, samplesAvg, "the default stays 'samples'");
  model.dispose();
});
