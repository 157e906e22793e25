// The recall suite's probe forms (src/eval/recall-forms.ts) on stories260K: every form's prompt lacks the fact
// when truncated and holds it in the in-context ceiling; the question form is ask()'s own answer and prompt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requireShared, sharedPath } from '../helpers/shared.js';
import { loadModelFromPath } from '../../src/model/load.js';
import { readStories } from '../../src/eval/datasets/planted.js';
import { factDocument } from '../../src/eval/datasets/facts.js';
import { probe } from '../../src/eval/recall-forms.js';
import { ask } from '../../src/lift/ask.js';
import { liftLengths } from '../../src/lift/budget.js';
import { buildAnswerPrompt } from '../../src/lift/truncate.js';

test('probe forms: truncated prompts lack the fact, in-context ones hold it; the question form is ask()', async (t) => {
  if (!requireShared(t, 'models/stories260K') || !requireShared(t, 'data/tinystories-valid-sample')) return;
  const loaded = loadModelFromPath(sharedPath('models/stories260K/stories260K.bin'));
  t.after(() => loaded.model.dispose());
  const tok = loaded.tokenizer;
  const stories = readStories(sharedPath('data/tinystories-valid-sample/tinystories_val.txt'));
  const doc = factDocument(stories, { minTokens: 1024, countTokens: (s) => tok.encode(s, { bos: false }).length, seed: 5, skip: 100, edgeTokens: 128 });
  const f = doc.facts.find((x) => x.family === 'names')!;
  // The question probe's prompt, truncated and in context: the fact's sentence is cut away / kept at the tail.
  const promptText = (document: string) => tok.decode(buildAnswerPrompt(tok, { title: doc.title, document, question: f.question }, liftLengths(128).truncation, 'truncate', { bos: loaded.addBos }));
  const cut = doc.text.slice(0, doc.text.indexOf(f.sentence) + f.sentence.length);
  assert.ok(!promptText(doc.text).includes(f.answer), 'the truncated answer prompt lacks the fact');
  // At budget 128 the answer prompt keeps ~8 tokens of the document's tail: the sentence's end, answer included.
  assert.ok(promptText(cut).includes(`${f.answer}.\nPlease answer`), 'the in-context answer prompt holds the answer');
  const q = await probe(loaded, null, doc, f, 'question', 128);
  assert.equal(q.prediction, await ask(loaded, null, f.question, { title: doc.title, document: doc.text, contextBudget: 128, maxTokens: 24 }));
  assert.equal(q.correct, false, 'the base model does not know the planted name');
  assert.ok(q.answerNll > 1, `answer NLL ${q.answerNll}`);
  for (const form of ['prefix', 'paraphrase'] as const) {
    const p = await probe(loaded, null, doc, f, form, 128);
    assert.equal(p.correct, false, form);
    assert.ok(Number.isFinite(p.answerNll) && p.answerNll > 1, `${form}: answer NLL ${p.answerNll}`);
    const ic = await probe(loaded, null, doc, f, form, 128, true);
    assert.ok(ic.answerNll < p.answerNll, `${form}: reading the fact lowers the answer's NLL (${ic.answerNll.toFixed(2)} < ${p.answerNll.toFixed(2)})`);
  }
});
