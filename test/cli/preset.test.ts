// `lift absorb --preset paper`: the authors' recipe fills every flag not given, explicit flags win, and the
// manifest records each choice (src/lift/presets.ts, docs/fidelity.md).
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireShared } from '../helpers/shared.js';
import { buildOnce, lift, MODEL_BIN, storyDocument, tempDir } from './helpers.js';

before(() => buildOnce());

const recipeOf = (out: string) => JSON.parse(readFileSync(join(out, 'lift_manifest.json'), 'utf8')).recipe;

test('absorb --preset paper: the paper\'s choices in the manifest; explicit flags override them', (t) => {
  if (!requireShared(t, 'models', 'stories260K', 'stories260K.bin')) return;
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const doc = join(dir, 'story.txt');
  writeFileSync(doc, storyDocument(5)); // short: the QA request about it fits stories260K's 512-token window
  const fast = ['--epochs', '1,1', '--no-report', '--qa', '1'];
  const a = lift(['absorb', doc, '--model', MODEL_BIN, '--out', join(dir, 'paper.lift'), '--preset', 'paper', ...fast]);
  assert.equal(a.code, 0, a.stderr);
  assert.match(a.stderr, /preset paper: context budget 8192 capped to the model's 512-token window/);
  const r = recipeOf(join(dir, 'paper.lift'));
  assert.equal(r.preset.name, 'paper');
  assert.equal(r.warmup_scope, 'stage');
  assert.equal(r.loss_average, 'tokens');
  assert.equal(r.bos, false);
  assert.equal(r.answer_stop, 'eos');
  assert.equal(r.adapter_options.gateOutBias, false);
  assert.equal(r.lengths.budget, 512);
  assert.match(r.qa.generator, /^self:.*:max1024:exact$/, 'the model writes its own QAs, 1024-token replies, exact evidence');
  assert.deepEqual(r.epochs, [1, 1], 'the explicit --epochs wins over the preset');
  assert.equal(JSON.parse(readFileSync(join(dir, 'paper.lift', 'document.json'), 'utf8')).answer_stop, 'eos');

  const b = lift(['absorb', doc, '--model', MODEL_BIN, '--out', join(dir, 'mixed.lift'), '--preset', 'paper', ...fast,
    '--loss-average', 'samples', '--bos', 'model', '--context-budget', '128', '--qa-generator', 'builtin']);
  assert.equal(b.code, 0, b.stderr);
  const m = recipeOf(join(dir, 'mixed.lift'));
  assert.deepEqual([m.loss_average, m.bos, m.lengths.budget, m.qa.generator, m.answer_stop], ['samples', true, 128, 'builtin-v5', 'eos']);

  const c = lift(['absorb', doc, '--model', MODEL_BIN, '--out', join(dir, 'ours.lift'), ...fast, '--context-budget', '128']);
  assert.equal(c.code, 0, c.stderr);
  const o = recipeOf(join(dir, 'ours.lift'));
  assert.deepEqual([o.loss_average, o.bos, o.answer_stop, o.preset], ['samples', true, 'blank-line', undefined], 'no preset: our defaults, unchanged');
});

test('eval --preset paper: the recipe, the per-task settings (explicit flags kept) and raw answers in the summary', (t) => {
  if (!requireShared(t, 'models', 'stories260K', 'stories260K.bin') || !requireShared(t, 'data', 'loogle-testdata')) return;
  const r = lift(['eval', 'loogle', '--model', MODEL_BIN, '--preset', 'paper', '--methods', 'icl,lift', '--max-docs', '1', '--max-questions', '1',
    '--doc-tokens', '150', '--qa', '0', '--epochs', '1,0', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const { settings } = JSON.parse(r.stdout);
  assert.equal(settings.preset.name, 'paper');
  assert.equal(settings.warmup_scope, 'stage');
  assert.deepEqual([settings.context_budget, settings.max_tokens, settings.answer_stop, settings.bos, settings.loss_average, settings.gm_gate_bias, settings.batch_size],
    [512, 200, 'eos', 'never', 'tokens', 'none', 'full']);
  const perTask = Object.values(settings.per_task) as { qa: number; epochs: number[]; lr: number; warmup: number; source: string }[];
  assert.equal(perTask.length, 1);
  assert.deepEqual([perTask[0].qa, perTask[0].epochs, perTask[0].lr, perTask[0].warmup], [0, [1, 0], 1e-3, 0], '--qa 0 and --epochs 1,0 given: kept');
  assert.match(perTask[0].source, /LooGLE_main/);
});
