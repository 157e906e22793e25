// `lift absorb --evaluate --heldout-text FILE`: the figures printed (--json) and kept in the manifest are those an
// outsider gets from the written folder — qa_recall from `lift ask OUT Q` (its own process) on the first 16 QAs of
// document.json with this test's own answer check, the held-out NLLs from the model's raw logits (test/helpers/
// nll.ts). A missing held-out file fails before training, naming it, with nothing written.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireShared } from '../helpers/shared.js';
import { rawMeanNll } from '../helpers/nll.js';
import { buildOnce, lift, MODEL_BIN, storyDocument, tempDir } from './helpers.js';
import { loadModelFromPath } from '../../src/model/load.js';
import { loadAdapter } from '../../src/adapters/files.js';

before(() => buildOnce());

const HELDOUT = 'Once upon a time, there was a little cat named Mittens. Mittens liked to sleep in the sun. One day, a bird came to the window and sang a song. Mittens woke up and smiled. They became good friends and played every day.';
const norm = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim();
const contains = (prediction: string, answer: string): boolean => norm(answer).length > 0 && ` ${norm(prediction)} `.includes(` ${norm(answer)} `);

test('absorb --evaluate: recall of the trained QAs and held-out NLL as measured from the written folder', async (t) => {
  if (!requireShared(t, 'models', 'stories260K', 'stories260K.bin')) return;
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const doc = join(dir, 'park.txt'), held = join(dir, 'held.txt'), out = join(dir, 'park.lift');
  writeFileSync(doc, storyDocument(16, 7));
  writeFileSync(held, HELDOUT);
  const recipe = ['--adapter', 'lora', '--lora-rank', '8', '--epochs', '4,8', '--qa', '8', '--batch-size', '4', '--context-budget', '128', '--lr', '3e-3', '--no-report'];

  const missing = lift(['absorb', doc, '--model', MODEL_BIN, '--out', out, ...recipe, '--evaluate', '--heldout-text', join(dir, 'nope.txt')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /--heldout-text: .*nope\.txt does not exist/);
  assert.doesNotMatch(missing.stderr, /step \d+/, 'it failed before training');
  assert.equal(existsSync(out), false);

  const r = lift(['absorb', doc, '--model', MODEL_BIN, '--out', out, ...recipe, '--evaluate', '--heldout-text', held, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const m = JSON.parse(r.stdout);
  t.diagnostic(`qa_recall ${m.qa_recall} of ${m.qa_asked}; held-out NLL ${m.heldout_nll_before} → ${m.heldout_nll_after} (rise ${m.heldout_rise})`);
  assert.match(r.stderr, /recall of trained QAs [\d.]+ \(\d+ of \d+ trained QAs answered\); held-out NLL/);
  const manifest = JSON.parse(readFileSync(join(out, 'lift_manifest.json'), 'utf8'));
  for (const k of ['qa_recall', 'qa_asked', 'heldout_nll_before', 'heldout_nll_after', 'heldout_rise', 'heldout_source']) assert.equal(manifest.metrics[k], m[k], k);
  assert.equal(m.heldout_source, 'caller');

  const qas = (JSON.parse(readFileSync(join(out, 'document.json'), 'utf8')) as { qas: { question: string; answer: string }[] }).qas.slice(0, 16);
  assert.ok(qas.length > 0);
  let hits = 0;
  for (const qa of qas) {
    const a = lift(['ask', out, qa.question, '--max-tokens', '32']);
    assert.ok(a.code === 0 || /no answer/.test(a.stderr), a.stderr); // an empty answer exits 1 and answers nothing
    if (a.code === 0 && contains(a.stdout, qa.answer)) hits++;
  }
  assert.equal(m.qa_asked, qas.length);
  assert.equal(m.qa_recall, hits / qas.length);
  assert.ok(hits > 0, 'some trained QA is answered (else the comparison above is 0 = 0)');

  const loaded = loadModelFromPath(MODEL_BIN);
  t.after(() => loaded.model.dispose());
  const { adapter } = loadAdapter(out, { model: loaded.model, id: loaded.id, revision: loaded.revision });
  t.after(() => adapter.dispose());
  const ids = loaded.tokenizer.encode(HELDOUT, { bos: loaded.addBos });
  const nllBefore = rawMeanNll(loaded, ids, null), nllAfter = rawMeanNll(loaded, ids, adapter);
  assert.ok(Math.abs(m.heldout_nll_before - nllBefore) < 1e-4 * nllBefore, `${m.heldout_nll_before} vs ${nllBefore}`);
  assert.ok(Math.abs(m.heldout_nll_after - nllAfter) < 1e-4 * nllAfter, `${m.heldout_nll_after} vs ${nllAfter}`);
  assert.ok(Math.abs(m.heldout_rise - (nllAfter / nllBefore - 1)) < 1e-3);
  assert.equal(m.heldout_tokens, ids.length - 1);
});
