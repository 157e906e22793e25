// A document's recipe on the server (src/server/recipe.ts jobRecipe): no recipe field → the measured preset that
// fits the model, as `lift absorb DOC --model M` with no recipe flag; any recipe field → the client's fields over
// our defaults. The absorb job (absorb-child.ts) trains with exactly this.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { absorbOptions, jobRecipe, parseRecipe } from '../../src/server/recipe.js';
import { TINY_PRESET } from '../../src/lift/measured.js';

const tiny = { head_dim: 8, max_position_embeddings: 512 }; // stories260K
const wide = { head_dim: 64, max_position_embeddings: 8192 }; // SmolLM2-135M

test('server recipe: no fields on a tiny model → the tiny preset at the CLI\'s default budget', () => {
  const j = jobRecipe({}, tiny, 2400);
  assert.equal(j.measured?.name, 'tiny');
  assert.deepEqual(j.recipe, { ...TINY_PRESET.recipe(2400, 512), context_budget: 512 });
  assert.equal(j.recipe.adapter, 'lora');
  assert.equal(j.recipe.qa, 60); // one QA per 40 tokens
  assert.equal(j.parts, null);
  // Fields that train nothing differently keep the preset, and are kept themselves.
  const s = jobRecipe({ seed: 3, evaluate: true, heldout_text: 'x', checkpoint_every: 5 }, tiny, 2400);
  assert.equal(s.measured?.name, 'tiny');
  assert.equal(s.recipe.seed, 3);
  assert.equal(s.recipe.checkpoint_every, 5);
  assert.equal((s.recipe as Record<string, unknown>).evaluate, undefined);
  // Long documents: parts of ≤ ~3072 tokens as the CLI, each part with the recipe of its own length.
  const long = jobRecipe({}, tiny, 5000);
  assert.equal(long.parts, 3072);
  assert.deepEqual(long.recipe.epochs, TINY_PRESET.recipe(5000, 512).epochs);
  assert.deepEqual(long.recipeFor(2500), { ...TINY_PRESET.recipe(2500, 512), context_budget: 512 });
  assert.equal(long.recipeFor(2500).qa, TINY_PRESET.recipe(2500, 512).qa);
  assert.notEqual(long.recipeFor(2500).qa, long.recipe.qa);
  // `parts` is how the document is cut, not a recipe field: the preset stays; 0 keeps one adapter.
  assert.equal(jobRecipe({ parts: 0 }, tiny, 5000).parts, null);
  assert.equal(jobRecipe({ parts: 0 }, tiny, 5000).measured?.name, 'tiny');
  assert.equal(jobRecipe({ parts: 1000 }, tiny, 2400).parts, 1000);
  assert.equal(jobRecipe({ parts: 1000 }, tiny, 2400).measured?.name, 'tiny');
});

test('server recipe: `parts` is checked, with the field named; the rest as the lift recipe', () => {
  assert.deepEqual(parseRecipe({ parts: 600, epochs: [1, 0] }), { parts: 600, epochs: [1, 0] });
  assert.deepEqual(parseRecipe('{"parts": 0}'), { parts: 0 });
  assert.deepEqual(parseRecipe({ parts: undefined, qa: 0 }), { qa: 0 });
  for (const bad of [-1, 1.5, '600', null, 2_000_000])
    assert.throws(() => parseRecipe({ parts: bad }), (e: Error & { param?: string }) => /recipe\.parts/.test(`${e.param} ${e.message}`) && /tokens per part/.test(e.message), String(bad));
  assert.throws(() => parseRecipe({ parts: 600, epochz: 1 }), /recipe\.epochz/);
  assert.throws(() => parseRecipe('{parts'), /JSON object/);
  // Parts with explicit recipe fields: our defaults for every part, cut as asked.
  const j = jobRecipe({ parts: 600, epochs: [1, 0], qa: 0 }, tiny, 2400);
  assert.equal(j.measured, null);
  assert.equal(j.parts, 600);
  assert.deepEqual(j.recipeFor(600), { epochs: [1, 0], qa: 0 });
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
