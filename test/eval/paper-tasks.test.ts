// `lift eval --preset paper`'s per-task settings, as the authors' run scripts (GraphPKU/LIFT shells/*_main/
// Llama-LIFT-*.sh) set them, and the harness giving them to lift (not to ft) per document.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { paperTaskRecipe } from '../../src/eval/paper-tasks.js';
import { absorbOptions, methodRecipe, type HarnessOptions } from '../../src/eval/harness.js';
import { mergeRecipes, type Recipe } from '../../src/lift/recipe.js';

test("the authors' per-task settings: LooGLE, LongBench QA (lr 2e-3, 4 warm-up steps), gov_report / qmsum (8 epochs, no QAs)", () => {
  const pick = (r: ReturnType<typeof paperTaskRecipe>) => [r.qa, r.epochs, r.lr, r.warmup];
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

test('the harness trains lift on the per-document recipe and ft on the run\'s recipe as LoRA on raw text, both through recipeAbsorbOptions', () => {
  const recipe: Recipe = { adapter: 'gated-memory', context_budget: 128, epochs: [1, 1], batch_size: 'full', lora_rank: 2, qa: 3, seed: 0,
    loss_average: 'tokens', bos: 'never', gm_gate_bias: 'none', guard: 'kl', anchor: 0.5, answer_recitations: 2 };
  const o: HarnessOptions = {
    methods: ['ft', 'lift'], recipe, qaGenerator: null, maxTokens: 16,
    perDocument: (doc) => mergeRecipes(recipe, doc.id === 'gov' ? { qa: 0, epochs: [8, 0], lr: 1e-3 } : { qa: 30, epochs: [3, 5], lr: 2e-3, warmup: 4 }),
  };
  const doc = (id: string) => ({ id, title: id, text: 'x', questions: [] });
  const lift = absorbOptions('lift', o, doc('nq')), ft = absorbOptions('ft', o, doc('nq')), gov = absorbOptions('lift', o, doc('gov'));
  assert.deepEqual([lift.qa, lift.epochs, lift.lr, lift.warmupSteps, lift.adapter], [30, [3, 5], 2e-3, 4, 'gated-memory']);
  assert.deepEqual([gov.qa, gov.epochs, gov.lr, gov.warmupSteps], [0, [8, 0], 1e-3, undefined]);
  assert.deepEqual([lift.guard, lift.anchor, lift.answerRecitations, lift.gatedMemory], ['kl', 0.5, 2, { gateOutBias: false }], 'lift: the whole recipe');
  assert.deepEqual([ft.qa, ft.epochs, ft.lr, ft.adapter, ft.contextualized, ft.qaGenerator], [0, [1, 1], undefined, 'lora', false, null], 'ft keeps the run\'s recipe');
  assert.deepEqual([ft.guard, ft.anchor, ft.answerRecitations, ft.lora], ['none', 0, 0, { r: 2, lora_alpha: 4 }], 'ft: no guard, anchor or recitations');
  for (const x of [lift, ft]) assert.deepEqual([x.lossAverage, x.bos, x.contextBudget, x.seed], ['tokens', false, 128, 0]);
  assert.deepEqual(absorbOptions('lift', { ...o, perDocument: undefined }, doc('gov')).epochs, [1, 1], 'no per-document recipe: the run\'s');
  assert.deepEqual(methodRecipe('lift', { recipe }), recipe);
});
