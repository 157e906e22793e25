// POST /v1/documents with "evaluate": true: the absorb job measures its adapter before publishing, and the figures
// are in GET /v1/documents/{id}'s metrics and in the published manifest. Checked independently here, on the
// published adapter folder: qa_recall is recomputed with the library's ask() on the first 16 QAs of document.json
// and this test's own answer normalisation; the held-out NLLs are recomputed from the model's logits with this
// test's own log-softmax (not meanNll / crossEntropy). Also: the multipart field, the held-out figures' source
// without heldout_text (the built-in text only where the package's assets/ ship it), and bad input.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MODEL_BIN, REPO, storyDocument } from '../cli/helpers.js';
import { http, modelSkip, servedFixture, until } from './helpers.js';
import { loadModelFromPath } from '../../src/model/load.js';
import { loadAdapter } from '../../src/adapters/files.js';
import type { AdapterHooks } from '../../src/model/llama.js';
import { ask } from '../../src/lift/ask.js';
import { rawMeanNll } from '../helpers/nll.js';

// Enough training that some trained QAs are answered (1 of 8 when written), so the recall comparison is not 0 = 0.
const RECIPE = { adapter: 'lora', lora_rank: 8, epochs: [4, 8], qa: 8, batch_size: 4, context_budget: 128, lr: 3e-3 };
// Not in the document (storyDocument's sentences are about parks, balls and trees).
const HELDOUT = 'Once upon a time, there was a little cat named Mittens. Mittens liked to sleep in the sun. One day, a bird came to the window and sang a song. Mittens woke up and smiled. They became good friends and played every day.';

/** This test's own answer check: lower case, letters and digits only, the expected answer as whole words. */
const norm = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim();
const contains = (prediction: string, answer: string): boolean => norm(answer).length > 0 && ` ${norm(prediction)} `.includes(` ${norm(answer)} `);

describe('lift serve: "evaluate": true measures recall and held-out NLL before publishing', { skip: modelSkip() }, () => {
  const served = servedFixture();

  const ready = (id: string) => until(async () => {
    const d = (await http(`${served.url}/v1/documents/${id}`, 'GET')).json;
    assert.notEqual(d.status, 'failed', JSON.stringify(d));
    return d.status === 'ready' ? d : undefined;
  }, 180_000, `${id} to be absorbed`);

  it('qa_recall equals the library\'s on the published adapter; held-out NLLs equal an independent computation', async (t) => {
    const posted = await http(`${served.url}/v1/documents`, 'POST', { text: storyDocument(16, 7), title: 'park', recipe: RECIPE, evaluate: true, heldout_text: HELDOUT });
    assert.equal(posted.status, 202, posted.text);
    const id: string = posted.json.id;
    // The recipe shown is the one posted (it can be posted again); the evaluation request beside it.
    assert.deepEqual(posted.json.recipe, RECIPE);
    assert.equal(posted.json.evaluate, true);
    assert.equal(posted.json.heldout_text_chars, HELDOUT.length);
    const doc = await ready(id);
    const m = doc.metrics;
    t.diagnostic(`qa_recall ${m.qa_recall} of ${m.qa_asked}; held-out NLL ${m.heldout_nll_before} → ${m.heldout_nll_after} (rise ${m.heldout_rise})`);
    const folder = join(served.dir, 'adapters', id);
    const manifest = JSON.parse(readFileSync(join(folder, 'lift_manifest.json'), 'utf8'));
    for (const k of ['qa_recall', 'qa_asked', 'heldout_nll_before', 'heldout_nll_after', 'heldout_rise']) assert.equal(manifest.metrics[k], m[k], `manifest metrics.${k}`);
    assert.equal(m.heldout_source, 'caller');

    const loaded = loadModelFromPath(MODEL_BIN);
    t.after(() => loaded.model.dispose());
    const { adapter } = loadAdapter(folder, { model: loaded.model, id: loaded.id, revision: loaded.revision });
    t.after(() => adapter.dispose());
    const meta = JSON.parse(readFileSync(join(folder, 'document.json'), 'utf8')) as { title: string; context_budget: number; qas: { question: string; answer: string }[] };
    const text = readFileSync(join(folder, 'document.txt'), 'utf8');
    const qas = meta.qas.slice(0, 16);
    assert.ok(qas.length > 0, 'the absorb made QAs');
    let hits = 0;
    for (const qa of qas) if (contains(await ask(loaded, adapter, qa.question, { title: meta.title, document: text, contextBudget: meta.context_budget, maxTokens: 32 }), qa.answer)) hits++;
    assert.equal(m.qa_asked, qas.length);
    assert.ok(m.qa_recall >= 0 && m.qa_recall <= 1);
    assert.equal(m.qa_recall, hits / qas.length);
    assert.ok(hits > 0, 'some trained QA is answered (else the comparison above is 0 = 0)');
    assert.match(m.qa_recall_note, /trained QAs/);

    // Mean next-token NLL of the held-out text (one sequence: it is well under 512 tokens), from raw logits.
    const ids = loaded.tokenizer.encode(HELDOUT, { bos: loaded.addBos });
    assert.ok(ids.length < 512);
    const nll = (a: AdapterHooks | null): number => rawMeanNll(loaded, ids, a);
    const before = nll(null), afterNll = nll(adapter);
    assert.ok(Math.abs(m.heldout_nll_before - before) < 1e-4 * before, `${m.heldout_nll_before} vs ${before}`);
    assert.ok(Math.abs(m.heldout_nll_after - afterNll) < 1e-4 * afterNll, `${m.heldout_nll_after} vs ${afterNll}`);
    assert.ok(Math.abs(m.heldout_rise - (afterNll / before - 1)) < 1e-3, `${m.heldout_rise} vs ${afterNll / before - 1}`);
    assert.notEqual(before, afterNll, 'the adapter changes the held-out NLL');
    assert.equal(m.heldout_tokens, ids.length - 1);
  });

  it('as a form field; without heldout_text the built-in text only where it ships; bad values are 400s naming the field', async () => {
    const form = new FormData();
    form.append('file', new Blob([storyDocument(8, 3)], { type: 'text/plain' }), 'story.txt');
    form.append('recipe', JSON.stringify({ adapter: 'lora', lora_rank: 2, epochs: [1, 0], qa: 0, batch_size: 4, context_budget: 96 }));
    form.append('evaluate', 'true');
    const r = await fetch(`${served.url}/v1/documents`, { method: 'POST', body: form });
    const posted = await r.json() as { id: string };
    assert.equal(r.status, 202, JSON.stringify(posted));
    const m = (await ready(posted.id)).metrics;
    assert.equal(m.qa_recall, null, 'no QAs: no recall figure');
    assert.equal(m.qa_asked, 0);
    if (existsSync(join(REPO, 'assets', 'data', 'tinystories-valid-sample', 'tinystories_val.txt'))) {
      assert.match(m.heldout_source, /^builtin: 16 TinyStories validation stories/);
      assert.ok(m.heldout_rise > -1 && Number.isFinite(m.heldout_nll_after) && m.heldout_tokens > 100);
    } else {
      assert.match(m.heldout_source, /^none: no held-out text was given/);
      assert.equal(m.heldout_rise, undefined);
    }
    const plain = await http(`${served.url}/v1/documents`, 'POST', { text: 'a story', recipe: { epochs: [1, 0], qa: 0 } });
    assert.equal(plain.status, 202);
    assert.equal(plain.json.evaluate, false, 'no evaluation unless asked');
    await http(`${served.url}/v1/documents/${plain.json.id}`, 'DELETE');
    let bad = await http(`${served.url}/v1/documents`, 'POST', { text: 'a story', evaluate: 'yes' });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.param, 'evaluate');
    bad = await http(`${served.url}/v1/documents`, 'POST', { text: 'a story', heldout_text: 'other text' });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.param, 'heldout_text');
    bad = await http(`${served.url}/v1/documents`, 'POST', { text: 'a story', evaluate: true, heldout_text: 42 });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.param, 'heldout_text');
  });
});
