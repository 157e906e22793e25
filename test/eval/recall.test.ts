// The recall probes of the planted-facts benchmark on stories260K: the truncated probe has lost the fact, the
// in-context probe holds it, and the answer's NLL equals a float64 log-softmax of the same logits at the
// answer's positions (the forward itself is checked against llama2.c elsewhere).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requireShared, sharedPath } from '../helpers/shared.js';
import { loadModelFromPath, type LoadedModel } from '../../src/model/load.js';
import { readStories, plantedDocument } from '../../src/eval/datasets/planted.js';
import { answerNll, answerTokens, inContextPrompt, recall, recallPrompt } from '../../src/eval/recall.js';
import { encodeAfter } from '../../src/lift/tokens.js';
import { tidy } from '../../src/engine/index.js';

let cached: LoadedModel | undefined;
const stories = (): LoadedModel => (cached ??= loadModelFromPath(sharedPath('models/stories260K/stories260K.bin')));

function fixture(loaded: LoadedModel) {
  const texts = readStories(sharedPath('data/tinystories-valid-sample/tinystories_val.txt'));
  return plantedDocument(texts, { minTokens: 1024, countTokens: (s) => loaded.tokenizer.encode(s, { bos: false }).length, skip: 100, nFacts: 4 });
}

/** True when `needle` occurs as a contiguous run in `hay`. */
function contains(hay: number[], needle: number[]): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

test('recall probes: the truncated probe lost the fact, the in-context probe holds it; both end with the prompt', (t) => {
  if (!requireShared(t, 'models/stories260K') || !requireShared(t, 'data/tinystories-valid-sample')) return;
  const loaded = stories();
  const doc = fixture(loaded);
  assert.equal(doc.facts.length, 4);
  for (const f of doc.facts) {
    const tail = encodeAfter(loaded.tokenizer, `\n\n${f.prompt}`);
    const sentence = encodeAfter(loaded.tokenizer, f.sentence).slice(1); // drop a leading piece the newline may merge
    const cut = recallPrompt(loaded, doc.text, f, 128);
    const inside = inContextPrompt(loaded, doc.text, f, 128);
    for (const p of [cut, inside]) {
      assert.ok(p.length <= 128 - 8, `probe of ${p.length} tokens leaves room for the answer`);
      assert.deepEqual(p.slice(-tail.length), tail);
      assert.equal(p[0], loaded.tokenizer.bosId);
    }
    assert.ok(!contains(cut.slice(0, -tail.length), sentence), `truncated probe still holds "${f.sentence}"`);
    assert.ok(contains(inside.slice(0, -tail.length), sentence), `in-context probe lacks "${f.sentence}"`);
  }
  assert.throws(() => inContextPrompt(loaded, doc.text, { ...doc.facts[0], sentence: 'Not in the text.' }, 128), /not in the document/);
});

test('answer NLL: the answer tokens follow the prompt; NLL equals a float64 log-softmax of the logits', (t) => {
  if (!requireShared(t, 'models/stories260K') || !requireShared(t, 'data/tinystories-valid-sample')) return;
  const loaded = stories();
  const doc = fixture(loaded);
  const f = doc.facts[0];
  const ans = answerTokens(loaded, f);
  assert.equal(loaded.tokenizer.decode(ans).trim(), f.answer);
  assert.deepEqual([...encodeAfter(loaded.tokenizer, `\n\n${f.prompt}`), ...ans], encodeAfter(loaded.tokenizer, `\n\n${f.prompt} ${f.answer}`));
  const prompt = recallPrompt(loaded, doc.text, f, 128);
  const ids = [...prompt, ...ans];
  const want = tidy(() => {
    const logits = loaded.model.forward(Int32Array.from(ids.slice(0, -1)));
    const [, V] = logits.shape, d = logits.f32();
    let sum = 0;
    for (let k = 0; k < ans.length; k++) {
      const row = prompt.length - 1 + k;
      let m = -Infinity;
      for (let v = 0; v < V; v++) m = Math.max(m, d[row * V + v]);
      let z = 0;
      for (let v = 0; v < V; v++) z += Math.exp(d[row * V + v] - m);
      sum += m + Math.log(z) - d[row * V + ans[k]];
    }
    return sum / ans.length;
  });
  const got = answerNll(loaded, null, prompt, ans);
  assert.ok(Math.abs(got - want) < 1e-4 * Math.max(1, want), `answerNll ${got} vs float64 ${want}`);
  assert.ok(want > 1, `the base model does not know the planted name (NLL ${want.toFixed(2)} nats/token)`);
});

test('recall(): accuracy counts greedy continuations that start with the answer; answerNll is the items\' mean', async (t) => {
  if (!requireShared(t, 'models/stories260K') || !requireShared(t, 'data/tinystories-valid-sample')) return;
  const loaded = stories();
  const doc = fixture(loaded);
  for (const probe of ['truncated', 'in-context'] as const) {
    const r = await recall(loaded, null, doc.text, doc.facts, 128, probe);
    assert.equal(r.items.length, 4);
    const ok = r.items.filter((i) => i.prediction.trim().toLowerCase().startsWith(i.answer.toLowerCase())).length;
    assert.equal(r.accuracy, ok / 4);
    assert.ok(r.items.every((i) => i.correct === i.prediction.trim().toLowerCase().startsWith(i.answer.toLowerCase())));
    const mean = r.items.reduce((a, i) => a + i.answerNll, 0) / 4;
    assert.ok(Math.abs(r.answerNll - mean) < 1e-9);
    assert.ok(r.items.every((i) => Number.isFinite(i.answerNll) && i.answerNll > 0));
  }
});
