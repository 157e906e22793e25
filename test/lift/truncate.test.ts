// docs/method.md §6 middle truncation and the token-level answer prompt; beyond the paper: BM25 retrieval of the
// document part (retrieve.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chunkDocument, rankChunks, retrieveContext } from '../../src/lift/retrieve.js';
import { encodeAfter } from '../../src/lift/tokens.js';
import { buildAnswerPrompt, middleTruncate } from '../../src/lift/truncate.js';
import { SentencePieceTokenizer } from '../../src/text/sentencepiece.js';
import { requireShared, sharedPath } from '../helpers/shared.js';
import { CharTokenizer } from './fake-tokenizer.js';

test('middleTruncate keeps the first B/2 − |"..."| and the last B/2 tokens', () => {
  const ids = Array.from({ length: 100 }, (_, i) => i);
  const ell = [-1, -2, -3];
  const out = middleTruncate(ids, 20, ell);
  assert.equal(out.length, 20);
  assert.deepEqual(out, [...ids.slice(0, 7), ...ell, ...ids.slice(90)]);
  const odd = middleTruncate(ids, 21, ell);
  assert.deepEqual(odd, [...ids.slice(0, 8), ...ell, ...ids.slice(90)]);
  assert.deepEqual(middleTruncate(ids, 100, ell), ids);
  assert.notEqual(middleTruncate(ids, 100, ell), ids); // a copy
  assert.throws(() => middleTruncate(ids, 3, ell), RangeError);
});

const filler = (i: number): string => `Tom and Lily played with the ball near the tree on morning ${i}.`;
const NEEDLE = 'The secret code of the old castle is 4721 and only Max knows it.';
function haystack(n: number): string {
  const s = Array.from({ length: n }, (_, i) => filler(i));
  s.splice(Math.floor(n / 2), 0, NEEDLE);
  return s.join(' ');
}

test('answer prompt (stories260K tokenizer): fits the budget, keeps title and question, cuts the document', (t) => {
  if (!requireShared(t, 'models/stories260K')) return;
  const tok = SentencePieceTokenizer.fromLlama2cFile(sharedPath('models/stories260K/tok512.bin'));
  const input = { title: 'Play', document: haystack(60), question: 'What is the secret code of the castle?' };
  for (const budget of [100, 200, 333]) {
    const ids = buildAnswerPrompt(tok, input, budget);
    assert.equal(ids.length, budget, 'a truncated prompt uses the whole budget');
    const text = tok.decode(ids);
    assert.ok(text.trimStart().startsWith('The article Play: \nTom and Lily'));
    assert.ok(text.endsWith('\nPlease answer the question based on Play.\nQuestion: What is the secret code of the castle?\nAnswer: '));
    assert.ok(text.includes('...'));
    assert.ok(!text.includes('4721'), 'the needle sits in the truncated middle');
  }
  // A short document is not cut: the prompt is the §6 text verbatim.
  const short = { title: 'Play', document: 'Lily saw a dog.', question: 'What did Lily see?' };
  const ids = buildAnswerPrompt(tok, short, 200);
  assert.equal(tok.decode(ids).trimStart(), 'The article Play: \nLily saw a dog.\nPlease answer the question based on Play.\nQuestion: What did Lily see?\nAnswer: ');
  assert.equal(buildAnswerPrompt(tok, short, 200, 'truncate', { bos: true })[0], tok.bosId);
  assert.throws(() => buildAnswerPrompt(tok, input, 30), /leaves .* for the document/);
  // Retrieval mode finds the needle the truncation lost, within the same budget.
  const r = buildAnswerPrompt(tok, input, 200, 'retrieve');
  assert.ok(r.length <= 200);
  assert.ok(tok.decode(r).includes('4721'), tok.decode(r));
});

test('retrieval picks the chunk holding the answer and keeps document order', () => {
  const tok = new CharTokenizer();
  const doc = haystack(40);
  const q = 'What is the secret code of the old castle?';
  const chunks = chunkDocument(tok, doc, 64);
  assert.ok(chunks.length > 30);
  chunks.forEach((c) => { assert.equal(doc.slice(c.start, c.end), c.text); assert.ok(c.tokens <= 64); });
  const best = rankChunks(chunks, q)[0];
  assert.ok(chunks[best].text.includes('4721'));
  const ctx = retrieveContext(tok, doc, q, 300);
  assert.ok(encodeAfter(tok, ctx).length <= 300);
  assert.ok(ctx.includes(NEEDLE));
  // Pieces between " ... " appear in the document in increasing order.
  let at = -1;
  for (const piece of ctx.split(' ... ')) {
    const i = doc.indexOf(piece);
    assert.ok(i > at, `"${piece.slice(0, 30)}" out of document order`);
    at = i;
  }
  assert.equal(retrieveContext(tok, doc, q, 300), ctx, 'deterministic');
  assert.equal(retrieveContext(tok, 'Short text.', q, 300), 'Short text.', 'a fitting document is kept whole');
});

test('retrieval works on documents of fewer than 3 chunks (BM25 minimum-document quirk)', () => {
  const tok = new CharTokenizer();
  const doc = `${'Lily likes red apples very much indeed. '.repeat(1)}Max found the key under the blue mat.`;
  const chunks = chunkDocument(tok, doc, 48);
  assert.equal(chunks.length, 2);
  assert.deepEqual(rankChunks(chunks, 'Where was the key?'), [1, 0]);
  assert.equal(retrieveContext(tok, doc, 'Where was the key?', 45), 'Max found the key under the blue mat.');
  assert.deepEqual(rankChunks([chunks[0]], 'nothing matches'), [0]);
});
