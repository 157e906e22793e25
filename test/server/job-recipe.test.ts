// A document's recipe on the server (src/server/recipe.ts jobRecipe): no recipe field → the measured preset that
// fits the model, as `lift absorb DOC --model M` with no recipe flag; any recipe field → the client's fields over
// our defaults. The absorb job (absorb-child.ts) trains with exactly this.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { absorbOptions, jobRecipe } from '../../src/server/recipe.js';
import { TINY_PRESET } from '../../src/lift/measured.js';

const tiny = { head_dim: 8, max_position_embeddings: 512 }; // stories260K
const wide = { head_dim: 64, max_position_embeddings: 8192 }; // SmolLM2-135M

test('server recipe: no fields on a tiny model → the tiny preset at the CLI\'s default budget', () => {
  const j = jobRecipe({}, tiny, 2400);
  assert.equal(j.measured?.name, 'tiny');
  assert.deepEqual(j.recipe, { ...TINY_PRESET.recipe(2400, 512), context_budget: 512 });
  assert.equal(j.recipe.adapter, 'lora');
  assert.equal(j.recipe.qa, 60); // one QA per 40 tokens
  assert.equal(j.cliParts, null);
  // Fields that train nothing differently keep the preset, and are kept themselves.
  const s = jobRecipe({ seed: 3, evaluate: true, heldout_text: 'x', checkpoint_every: 5 }, tiny, 2400);
  assert.equal(s.measured?.name, 'tiny');
  assert.equal(s.recipe.seed, 3);
  assert.equal(s.recipe.checkpoint_every, 5);
  assert.equal((s.recipe as Record<string, unknown>).evaluate, undefined);
  // Long documents: the CLI would cut them into parts; the server says so and writes one adapter.
  assert.equal(jobRecipe({}, tiny, 5000).cliParts, 3072);
  assert.deepEqual(jobRecipe({}, tiny, 5000).recipe.epochs, TINY_PRESET.recipe(5000, 512).epochs);
});

test('server recipe: any recipe field keeps our defaults; no preset fits a wide model', () => {
  const j = jobRecipe({ epochs: [1, 0], qa: 0 }, tiny, 2400);
  assert.equal(j.measured, null);
  assert.deepEqual(j.recipe, { epochs: [1, 0], qa: 0 });
  const w = jobRecipe({}, wide, 2400);
  assert.equal(w.measured, null);
  assert.deepEqual(w.recipe, {});
  assert.equal(absorbOptions(w.recipe, undefined).checkpointEvery, 10);
  assert.equal(absorbOptions(j.recipe, 3).checkpointEvery, 3);
  assert.deepEqual(absorbOptions(j.recipe, 3).epochs, [1, 0]);
});
