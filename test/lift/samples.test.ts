// docs/method.md §1–§3 training samples: plain segments, contextualized segments (structure, loss mask, seeds,
// short documents) and QA samples (mask, truncation), with the real stories260K tokenizer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { liftLengths } from '../../src/lift/budget.js';
import { rngFor } from '../../src/lift/rng.js';
import { buildQASamples, buildSegmentSamples, ctContextTokens, IGNORE, maskedSample, RECITE_PROMPT, supervisedTokens, type Sample } from '../../src/lift/samples.js';
import { documentTokens, makeSegments } from '../../src/lift/segments.js';
import { encodeAfter } from '../../src/lift/tokens.js';
import { SentencePieceTokenizer } from '../../src/text/sentencepiece.js';
import { requireShared, sharedPath } from '../helpers/shared.js';

const NAMES = ['Lily', 'Tom', 'Sue', 'Ben', 'Max', 'Mia'];
const THINGS = ['a red ball', 'a big dog', 'a small cat', 'a blue car', 'a happy bird', 'a tall tree'];
/** A story of `n` sentences in the vocabulary stories260K knows. */
export function story(n: number): string {
  return Array.from({ length: n }, (_, i) => `${NAMES[i % 6]} saw ${THINGS[(i * 5) % 6]} in the park on day ${i}.`).join(' ');
}
const DOC = { title: 'The Park', document: story(40) };

function loadTok(): SentencePieceTokenizer {
  return SentencePieceTokenizer.fromLlama2cFile(sharedPath('models/stories260K/tok512.bin'));
}

/** Shape invariants of every sample: aligned lengths, labels[i] = input[i+1] wherever supervised. */
function checkAligned(s: Sample): void {
  assert.equal(s.labels.length, s.input.length);
  assert.equal(s.labels[s.labels.length - 1], IGNORE);
  s.labels.forEach((l, i) => { if (l !== IGNORE) assert.equal(l, s.input[i + 1]); });
}

test('maskedSample: targets are the shifted input over the target span only', () => {
  const s = maskedSample([7, 8, 9], [4, 5], 'qa');
  assert.deepEqual(s.input, [7, 8, 9, 4, 5]);
  assert.deepEqual(s.labels, [IGNORE, IGNORE, 4, 5, IGNORE]);
  assert.deepEqual(maskedSample([], [4, 5, 6], 'segment').labels, [5, 6, IGNORE]);
});

test('plain segment samples: loss on every token after the first', (t) => {
  if (!requireShared(t, 'models/stories260K')) return;
  const tok = loadTok();
  const lengths = liftLengths(256);
  const docIds = documentTokens(tok, DOC.title, DOC.document);
  const segs = makeSegments(docIds, lengths.segmentLength, lengths.stride);
  const samples = buildSegmentSamples(tok, DOC, lengths, { contextualized: false });
  assert.equal(samples.length, segs.length);
  samples.forEach((s, i) => {
    checkAligned(s);
    assert.equal(s.kind, 'segment');
    assert.deepEqual(s.input, segs[i].ids);
    assert.deepEqual(supervisedTokens(s), segs[i].ids.slice(1));
  });
  const withBos = buildSegmentSamples(tok, DOC, lengths, { contextualized: false, bos: true });
  assert.equal(withBos[0].input[0], tok.bosId);
  assert.deepEqual(supervisedTokens(withBos[0]), segs[0].ids); // after BOS every segment token is a target
});

test('contextualized samples: front + "..." + back + recite prompt + segment, loss on the segment only', (t) => {
  if (!requireShared(t, 'models/stories260K')) return;
  const tok = loadTok();
  const lengths = liftLengths(256);
  const docIds = documentTokens(tok, DOC.title, DOC.document);
  assert.ok(docIds.length > 2 * lengths.ctContext, `test document too short: ${docIds.length}`);
  const segs = makeSegments(docIds, lengths.segmentLength, lengths.stride);
  const recite = encodeAfter(tok, RECITE_PROMPT);
  const ellipsis = encodeAfter(tok, '...');
  const samples = buildSegmentSamples(tok, DOC, lengths, { seed: 3 });
  assert.equal(samples.length, segs.length);
  samples.forEach((s, i) => {
    checkAligned(s);
    assert.equal(s.kind, 'ct');
    const seg = segs[i].ids;
    assert.deepEqual(supervisedTokens(s), seg);
    assert.equal(tok.decode(supervisedTokens(s)), tok.decode(seg));
    // input = context (C + |"..."| tokens) + recite + segment
    assert.equal(s.input.length, lengths.ctContext + ellipsis.length + recite.length + seg.length);
    assert.deepEqual(s.input.slice(-seg.length - recite.length, -seg.length), recite);
    assert.ok(s.input.length <= lengths.budget);
    const firstTarget = s.labels.findIndex((l) => l !== IGNORE);
    assert.equal(firstTarget, s.input.length - seg.length - 1); // predicted from the prompt's last token
  });
  assert.match(tok.decode(samples[0].input), /\.\.\..*Given above context, please recite following segment of the context: \n\n\n/s);
});

test('ctContextTokens: a + b = C, front inside the first C tokens, back inside the last C', () => {
  const L = 500;
  const C = 128;
  const doc = Array.from({ length: L }, (_, i) => i);
  const ELL = [-7];
  const fronts = new Set<number>();
  for (let seed = 0; seed < 200; seed++) {
    const ctx = ctContextTokens(doc, C, ELL, rngFor(seed, 0));
    const cut = ctx.indexOf(-7);
    const front = ctx.slice(0, cut);
    const back = ctx.slice(cut + 1);
    assert.equal(front.length + back.length, C);
    assert.ok(front.length <= C - 1 && back.length >= 1);
    front.forEach((v, j) => { assert.ok(v < C); if (j > 0) assert.equal(v, front[j - 1] + 1); });
    back.forEach((v, j) => { assert.ok(v >= L - C); if (j > 0) assert.equal(v, back[j - 1] + 1); });
    fronts.add(front.length);
  }
  assert.ok(fronts.size > 50, 'front length should vary with the seed');
});

test('contextualized samples are deterministic for a seed and differ across seeds', (t) => {
  if (!requireShared(t, 'models/stories260K')) return;
  const tok = loadTok();
  const lengths = liftLengths(256);
  const a = buildSegmentSamples(tok, DOC, lengths, { seed: 1 });
  const b = buildSegmentSamples(tok, DOC, lengths, { seed: 1 });
  const c = buildSegmentSamples(tok, DOC, lengths, { seed: 2 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.map((s) => s.input), c.map((s) => s.input));
  assert.deepEqual(a.map(supervisedTokens), c.map(supervisedTokens)); // same segments, different contexts
});

test('a document shorter than ctContext is its own whole context (no "...")', (t) => {
  if (!requireShared(t, 'models/stories260K')) return;
  const tok = loadTok();
  const lengths = liftLengths(256);
  const doc = { title: 'Tiny', document: 'Lily saw a dog.' };
  const docIds = documentTokens(tok, doc.title, doc.document);
  const samples = buildSegmentSamples(tok, doc, lengths, { seed: 5 });
  assert.equal(samples.length, 1);
  const recite = encodeAfter(tok, RECITE_PROMPT);
  assert.deepEqual(samples[0].input, [...docIds, ...recite, ...docIds]);
  assert.deepEqual(supervisedTokens(samples[0]), docIds);
});

test('QA samples: the truncated answer prompt, then " " + answer; loss on the answer only', (t) => {
  if (!requireShared(t, 'models/stories260K')) return;
  const tok = loadTok();
  const lengths = liftLengths(256);
  const qas = [{ question: 'What did Lily see?', answer: 'a red ball' }, { question: 'Who saw a big dog?', answer: 'Tom' }];
  const samples = buildQASamples(tok, DOC, qas, lengths);
  samples.forEach((s, i) => {
    checkAligned(s);
    assert.equal(s.kind, 'qa');
    const answer = encodeAfter(tok, ` ${qas[i].answer}`);
    assert.deepEqual(supervisedTokens(s), answer);
    assert.equal(tok.decode(supervisedTokens(s)), ` ${qas[i].answer}`);
    const prompt = s.input.slice(0, s.input.length - answer.length);
    assert.ok(prompt.length <= lengths.truncation && s.input.length <= lengths.budget);
    const text = tok.decode(prompt);
    assert.ok(text.trimStart().startsWith('The article The Park: \nLily saw'), text.slice(0, 60));
    assert.ok(text.endsWith(`\nPlease answer the question based on The Park.\nQuestion: ${qas[i].question}\nAnswer: `));
    assert.ok(text.includes('...'), 'the long document is middle-truncated');
  });
  const withEos = buildQASamples(tok, DOC, qas.slice(0, 1), lengths, { eos: true })[0];
  assert.equal(supervisedTokens(withEos).at(-1), tok.eosId);
});
