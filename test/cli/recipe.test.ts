// `lift inspect ADAPTER --recipe` prints the recipe an absorb was built from (the manifest's recipe.built), and
// `lift absorb --recipe FILE.json` trains from it: the second adapter is the first one's bytes, its recipe the
// same, a flag typed beside --recipe wins over the file, and a wrong field is refused naming the file and field.
// The library's path (recipeAbsorbOptions of the same recipe, then absorb()) trains the same bytes too: flags,
// file and library call are one path from a recipe to the adapter.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireShared } from '../helpers/shared.js';
import { buildOnce, lift, MODEL_BIN, storyDocument, tempDir } from './helpers.js';
import { loadModelFromPath } from '../../src/model/load.js';
import { absorb } from '../../src/lift/absorb.js';
import { loadDocument } from '../../src/lift/document.js';
import { parseRecipe, readRecipeFile, recipeAbsorbOptions } from '../../src/lift/recipe.js';
import { saveAdapter } from '../../src/adapters/files.js';

before(() => buildOnce());

test('absorb --recipe round-trips the recipe lift inspect --recipe prints, to the same adapter bytes; so does the library call', async (t) => {
  if (!requireShared(t, 'models', 'stories260K', 'stories260K.bin')) return;
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const doc = join(dir, 'story.txt');
  writeFileSync(doc, storyDocument(4));
  const a = lift(['absorb', doc, '--model', MODEL_BIN, '--out', join(dir, 'a.lift'), '--no-report', '--adapter', 'lora', '--lora-rank', '4',
    '--epochs', '1,1', '--batch-size', '4', '--context-budget', '64', '--qa', '2', '--guard', 'kl', '--guard-samples', '2', '--seed', '3',
    '--anchor', '0.5', '--answer-recitations', '1']);
  assert.equal(a.code, 0, a.stderr);
  const printed = lift(['inspect', join(dir, 'a.lift'), '--recipe']);
  assert.equal(printed.code, 0, printed.stderr);
  const recipe = JSON.parse(printed.stdout);
  // As built: what the flags set and what absorb derived from them, the optimizer included.
  assert.deepEqual([recipe.adapter, recipe.lora_rank, recipe.lora_alpha, recipe.epochs, recipe.batch_size, recipe.context_budget, recipe.segment_length, recipe.stride],
    ['lora', 4, 8, [1, 1], 4, 64, 16, 6]);
  assert.deepEqual(recipe.optimizer, { beta1: 0.9, beta2: 0.98, eps: 1e-8, weight_decay: 1e-4, clip: 1 });
  assert.deepEqual([recipe.guard, recipe.guard_samples, recipe.guard_per_step, recipe.guard_tokens, recipe.seed, recipe.qa], ['kl', 2, 4, 64, 3, 2]);
  const aBytes = readFileSync(join(dir, 'a.lift', 'adapter_model.safetensors'));

  // The library: the printed recipe through recipeAbsorbOptions alone (it brings the builtin QA generator it names).
  const loaded = loadModelFromPath(MODEL_BIN);
  t.after(() => loaded.model.dispose());
  const d = await loadDocument(doc);
  const lib = await absorb(loaded, { title: d.title, text: d.text }, recipeAbsorbOptions(parseRecipe(recipe)));
  saveAdapter(join(dir, 'lib.lift'), lib.adapter, { base: { model: loaded.model, id: loaded.id, revision: loaded.revision } });
  lib.adapter.dispose();
  assert.ok(readFileSync(join(dir, 'lib.lift', 'adapter_model.safetensors')).equals(aBytes), 'absorb() with recipeAbsorbOptions(recipe) trains the CLI\'s bytes');

  const file = join(dir, 'recipe.json');
  writeFileSync(file, printed.stdout);
  const b = lift(['absorb', doc, '--model', MODEL_BIN, '--out', join(dir, 'b.lift'), '--no-report', '--recipe', file]);
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stderr, /^recipe: the recipe file .*recipe\.json \(\d+ fields\) over our defaults; flags given override it$/m, 'the log names the file as the source');
  assert.deepEqual(JSON.parse(lift(['inspect', join(dir, 'b.lift'), '--recipe']).stdout), recipe, 'the recipe read back is the recipe written');
  assert.ok(aBytes.equals(readFileSync(join(dir, 'b.lift', 'adapter_model.safetensors'))),
    'the same recipe trains the same adapter, byte for byte');

  // A flag typed beside --recipe wins over the file; the manifest records what was used.
  // --guard-text is part of the recipe: its file, by absolute path (a recipe file names it relative to itself).
  writeFileSync(join(dir, 'general.txt'), 'Once upon a time there was a cat.\n\nThe sun was warm and the sky was blue.\n');
  const c = lift(['absorb', doc, '--model', MODEL_BIN, '--out', join(dir, 'c.lift'), '--no-report', '--recipe', file, '--seed', '5', '--epochs', '1,0', '--guard-text', join(dir, 'general.txt')]);
  assert.equal(c.code, 0, c.stderr);
  const cr = JSON.parse(lift(['inspect', join(dir, 'c.lift'), '--recipe']).stdout);
  assert.deepEqual([cr.seed, cr.epochs, cr.lora_rank, cr.context_budget, cr.guard_text], [5, [1, 0], 4, 64, join(dir, 'general.txt')]);
  assert.match(c.stderr, /forgetting guard: 2 general-text samples \(from --guard-text\)/);
  writeFileSync(join(dir, 'relative.json'), JSON.stringify({ guard: 'kl', guard_text: 'general.txt' }));
  assert.equal(readRecipeFile(join(dir, 'relative.json')).guard_text, join(dir, 'general.txt'), "a recipe file's guard_text is relative to the file");
});

test('absorb --recipe: a wrong or unknown field is refused before loading anything, naming the file and the field', (t) => {
  if (!requireShared(t, 'models', 'stories260K', 'stories260K.bin')) return;
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const doc = join(dir, 'story.txt');
  writeFileSync(doc, storyDocument(2));
  const cases: [unknown, RegExp][] = [
    [{ epochs: [3] }, /bad\.json: recipe\.epochs: expected two integers \[stage 1, stage 2\]/],
    [{ lr: 'fast' }, /bad\.json: recipe\.lr: expected a number above 0/],
    [{ optimizer: { beta3: 1 } }, /bad\.json: recipe\.optimizer\.beta3: unknown field; known: beta1, beta2, eps, weight_decay, clip/],
    [{ epoch: [1, 1] }, /bad\.json: recipe\.epoch: unknown absorb option; known: adapter, /],
  ];
  for (const [json, re] of cases) {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify(json));
    const r = lift(['absorb', doc, '--model', MODEL_BIN, '--out', join(dir, 'x.lift'), '--recipe', file]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, re);
  }
  writeFileSync(join(dir, 'bad.json'), '{"epochs": [1,');
  const r = lift(['absorb', doc, '--model', MODEL_BIN, '--out', join(dir, 'x.lift'), '--recipe', join(dir, 'bad.json')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /bad\.json: .*a JSON object of absorb options/);
});

test('eval --recipe: the file goes over the flags\' defaults and a typed flag over the file, into the recipe lift and ft train with', (t) => {
  if (!requireShared(t, 'models', 'stories260K', 'stories260K.bin') || !requireShared(t, 'data', 'loogle-testdata')) return;
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = join(dir, 'r.json');
  writeFileSync(file, JSON.stringify({ epochs: [2, 0], qa: 0, lr: 5e-3, batch_size: 2, warmup: 1, context_budget: 96, loss_average: 'tokens' }));
  const r = lift(['eval', 'loogle', '--model', MODEL_BIN, '--methods', 'icl,ft,lift', '--max-docs', '1', '--max-questions', '1', '--doc-tokens', '150',
    '--recipe', file, '--epochs', '1,0', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const { settings } = JSON.parse(r.stdout);
  assert.deepEqual([settings.epochs, settings.lr, settings.batch_size, settings.warmup, settings.context_budget, settings.loss_average, settings.qa],
    [[1, 0], 5e-3, 2, 1, 96, 'tokens', 0], 'file over defaults; --epochs typed over the file');
  assert.equal(settings.lora_rank, 8, "a field neither sets: the flag's default");
  assert.equal(settings.recipe_file, file);
  // Both trained methods ran the file's 1-epoch recipe: a step count of ceil(segments / 2) each, the same for ft and lift.
  const steps = [...r.stderr.matchAll(/trained (ft|lift) in [\d.]+ s \((\d+) steps/g)].map((m) => [m[1], Number(m[2])]);
  assert.equal(steps.length, 2, r.stderr);
  assert.equal(steps[0][1], steps[1][1], `ft and lift: the same segments and batch (${JSON.stringify(steps)})`);
  writeFileSync(file, JSON.stringify({ epoch: [1, 1] }));
  const bad = lift(['eval', 'loogle', '--model', MODEL_BIN, '--recipe', file]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /r\.json: recipe\.epoch: unknown absorb option/);
});
