// `lift eval --preset paper`'s per-task settings, as the authors' run scripts (GraphPKU/LIFT shells/*_main/
// Llama-LIFT-*.sh) set them, and the harness giving them to lift (not to ft) per document.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { paperTaskRecipe } from '../../src/eval/paper-tasks.js';
import { absorbOptions, type HarnessOptions } from '../../src/eval/harness.js';

test("the authors' per-task settings: LooGLE, LongBench QA (lr 2e-3, 4 warm-up steps), gov_report / qmsum (8 epochs, no QAs)", () => {
  const pick = (r: ReturnType<typeof paperTaskRecipe>) => [r.qa, r.epochs, r.lr, r.warmupSteps];
  assert.deepEqual(pick(paperTaskRecipe('loogle')), [10, [3, 5], 1e-3, 0]);
  assert.deepEqual(pick(paperTaskRecipe('longbench', 'narrativeqa')), [30, [3, 5], 2e-3, 4]);
  assert.deepEqual(pick(paperTaskRecipe('longbench', 'passage_retrieval_en')), [60, [3, 5], 2e-3, 4]);
  assert.deepEqual(pick(paperTaskRecipe('longbench', 'musique')), [10, [3, 5], 2e-3, 4]);
  assert.deepEqual(pick(paperTaskRecipe('longbench', 'gov_report')), [0, [8, 0], 1e-3, 0]);
  assert.deepEqual(pick(paperTaskRecipe('longbench', 'qmsum_e')), [0, [8, 0], 1e-3, 0], 'LongBench-E as its base dataset');
  assert.match(paperTaskRecipe('longbench', 'gov_report').source, /shells\/LongBench_main\/Llama-LIFT-gov_report\.sh/);
  // Datasets they ran no script for: the settings of their kind, and the source says it was inferred.
  assert.deepEqual(pick(paperTaskRecipe('longbench', 'multi_news')), [0, [8, 0], 1e-3, 0]);
  assert.deepEqual(pick(paperTaskRecipe('longbench', 'hotpotqa')), [10, [3, 5], 2e-3, 4]);
  assert.match(paperTaskRecipe('longbench', 'hotpotqa').source, /no script of theirs/);
});

test('the harness gives per-document settings to lift only, and the shared training and answer choices to both', () => {
  const o: HarnessOptions = {
    methods: ['ft', 'lift'], adapter: 'gated-memory', contextBudget: 128, epochs: [1, 1], batchSize: 'full', lora: { r: 2, lora_alpha: 4 },
    qa: 3, qaGenerator: null, maxTokens: 16, seed: 0,
    training: { lossAverage: 'tokens', bos: false, gatedMemory: { gateOutBias: false } },
    perDocument: (doc) => ({ qa: doc.id === 'gov' ? 0 : 30, epochs: doc.id === 'gov' ? [8, 0] : [3, 5], lr: 2e-3, warmupSteps: 4 }),
  };
  const doc = (id: string) => ({ id, title: id, text: 'x', questions: [] });
  const lift = absorbOptions('lift', o, doc('gov')), ft = absorbOptions('ft', o, doc('gov')), nq = absorbOptions('lift', o, doc('nq'));
  assert.deepEqual([lift.qa, lift.epochs, lift.lr, lift.warmupSteps], [0, [8, 0], 2e-3, 4]);
  assert.deepEqual([nq.qa, nq.epochs], [30, [3, 5]]);
  assert.deepEqual([ft.qa, ft.epochs, ft.lr, ft.adapter], [0, [1, 1], undefined, 'lora'], 'ft keeps the common settings');
  for (const x of [lift, ft]) assert.deepEqual([x.lossAverage, x.bos], ['tokens', false]);
  assert.deepEqual(absorbOptions('lift', { ...o, perDocument: undefined }, doc('gov')).epochs, [1, 1], 'no per-document settings: the common ones');
});
