// warmupScope 'stage': transformers' constant schedule with warm-up (lr·k/w, 0 at the first step), restarted
// at each stage as the authors' one-Trainer-per-stage code does; 'run' (ours) warms up once, from lr/w.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requireShared, sharedPath } from '../helpers/shared.js';
import { loadModelFromPath } from '../../src/model/load.js';
import { LoraAdapter } from '../../src/adapters/lora.js';
import { stageLearningRate, train, type TrainEvent } from '../../src/lift/trainer.js';

test('stageLearningRate: 0, lr/4, lr/2, 3lr/4, then lr for 4 warm-up steps', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 9].map((k) => stageLearningRate({ lr: 2e-3, warmupSteps: 4 }, k)), [0, 5e-4, 1e-3, 1.5e-3, 2e-3, 2e-3]);
  assert.equal(stageLearningRate({ lr: 1e-3 }, 0), 1e-3, 'no warm-up: constant');
});

test("the learning rate per step: 'stage' restarts the warm-up in stage 2, 'run' warms up once", async (t) => {
  if (!requireShared(t, 'models/stories260K')) return;
  const { model, tokenizer } = loadModelFromPath(sharedPath('models/stories260K/stories260K.bin'));
  const ids = tokenizer.encode('Tom had a red ball.', { bos: true });
  const samples = [{ input: ids.slice(0, -1), labels: ids.slice(1) }];
  const lrs = async (warmupScope: 'run' | 'stage') => {
    const lora = new LoraAdapter(model, { r: 2, lora_alpha: 4, target_modules: ['q_proj'] });
    const ev: TrainEvent[] = [];
    await train(model, lora, [{ name: 'a', epochs: 3, samples }, { name: 'b', epochs: 5, samples }], { lr: 2e-3, warmupSteps: 4, warmupScope, batchSize: 'full', onEvent: (e) => ev.push(e) });
    lora.dispose();
    return ev.flatMap((e) => (e.type === 'step' ? [Number((e.lr / 2e-3).toFixed(4))] : []));
  };
  assert.deepEqual(await lrs('stage'), [0, 0.25, 0.5, 0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(await lrs('run'), [0.25, 0.5, 0.75, 1, 1, 1, 1, 1]);
  model.dispose();
});
