// Where the QAs' answers sit in the document (the anchor's 'answers' mode): exact positions with a
// character tokenizer, the name's tokens with stories260K's, and row weights aligned with the samples' labels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CharTokenizer } from './fake-tokenizer.js';
import { answerMask, anchorRowsFor, answerRecitations, maskedSpans } from '../../src/lift/answers.js';
import { makeSegments, documentTokens } from '../../src/lift/segments.js';
import { segmentSamplesFromTokens, IGNORE } from '../../src/lift/samples.js';
import { liftLengths } from '../../src/lift/budget.js';
import { requireShared, sharedPath } from '../helpers/shared.js';
import { loadModelFromPath } from '../../src/model/load.js';

const tok = new CharTokenizer();
const DOC = 'Lily had a dog. Lily\'s dog was called Biscuit. They ran. Tom\'s cat was small and grey. They ran.';

function masked(text: string, mask: Uint8Array, ids: number[]): string[] {
  const runs: string[] = [];
  let cur = '';
  for (let i = 0; i <= ids.length; i++) {
    if (i < ids.length && mask[i]) cur += text[i];
    else if (cur) (runs.push(cur), (cur = ''));
  }
  return runs;
}

test('answerMask: a verbatim answer marks its tokens (one of slack on the left); a paraphrase marks the evidence', () => {
  const ids = tok.encode(DOC);
  // Cloze: the answer is inside the evidence.
  assert.deepEqual(masked(DOC, answerMask(tok, ids, [{ answer: 'Biscuit', evidence: ["Lily's dog was called Biscuit."] }]), ids), [' Biscuit']);
  // Paraphrased answer: the whole evidence sentence (matched as it reads after a space).
  assert.deepEqual(masked(DOC, answerMask(tok, ids, [{ answer: 'a small grey one', evidence: ["Tom's cat was small and grey."] }]), ids), ["Tom's cat was small and grey."]);
  // Evidence that occurs twice is marked at both places; evidence not in the document marks nothing.
  assert.deepEqual(masked(DOC, answerMask(tok, ids, [{ answer: 'ran', evidence: ['They ran.'] }]), ids), [' ran', ' ran']);
  assert.equal(answerMask(tok, ids, [{ answer: 'x', evidence: ['Not in the text at all.'] }]).reduce((a, v) => a + v, 0), 0);
  assert.equal(answerMask(tok, ids, []).length, ids.length);
});

test('anchorRowsFor: the rows whose label is a marked document token get weight 0, in every sample kind', () => {
  const docIds = documentTokens(tok, 'T', DOC);
  const mask = answerMask(tok, docIds, [{ answer: 'Biscuit', evidence: ["Lily's dog was called Biscuit."] }]);
  const lengths = liftLengths(64, { segmentLength: 24, stride: 8 });
  const segments = makeSegments(docIds, lengths.segmentLength, lengths.stride);
  for (const contextualized of [false, true]) {
    const samples = segmentSamplesFromTokens(tok, docIds, segments, lengths, { contextualized, seed: 3 });
    let zeroed = 0;
    samples.forEach((s, i) => {
      const rows = anchorRowsFor(s, segments[i], mask);
      assert.equal(rows.length, s.input.length);
      for (let r = 0; r < rows.length; r++) {
        if (rows[r] === 1) continue;
        zeroed++;
        // A zeroed row is labelled with a marked token: one of " Biscuit"'s characters.
        assert.notEqual(s.labels[r], IGNORE);
        assert.ok(' Biscuit'.includes(String.fromCodePoint(s.labels[r])), `row ${r} label ${String.fromCodePoint(s.labels[r])}`);
      }
      // Every labelled occurrence of the marked tokens in this sample is zeroed (the segment's own positions).
      const seg = segments[i];
      const marked = seg.ids.filter((_, j) => mask[seg.start + j] && s.input.length - seg.ids.length + j - 1 >= 0).length;
      assert.equal(rows.filter((w) => w === 0).length, marked);
    });
    assert.ok(zeroed >= 8, `the answer is covered by several overlapping segments (${zeroed} rows)`);
  }
});

test('answerMask on stories260K tokens: a cloze marks the name and little else', (t) => {
  if (!requireShared(t, 'models/stories260K')) return;
  const real = loadModelFromPath(sharedPath('models/stories260K/stories260K.bin')).tokenizer;
  const text = 'Once upon a time there was a girl. Lily\'s dog was called Biscuit. The dog liked to run in the park.';
  const ids = documentTokens(real, 'Stories', text);
  const mask = answerMask(real, ids, [{ answer: 'Biscuit', evidence: ["Lily's dog was called Biscuit."] }]);
  const marked = ids.filter((_, i) => mask[i]);
  const decoded = real.decode(marked);
  assert.ok(decoded.includes('Biscuit'), `marked tokens decode to ${JSON.stringify(decoded)}`);
  assert.ok(decoded.length <= ' called Biscuit'.length, `only the name and at most one token before it: ${JSON.stringify(decoded)}`);
});

test('answer recitations: one per marked span, the ℓ tokens ending with it, loss on the span alone', () => {
  const docIds = documentTokens(tok, 'T', DOC);
  const qas = [{ answer: 'Biscuit', evidence: ["Lily's dog was called Biscuit."] }, { answer: 'ran', evidence: ['They ran.'] }];
  const mask = answerMask(tok, docIds, qas);
  assert.deepEqual(maskedSpans(mask).map(([a, b]) => String.fromCodePoint(...docIds.slice(a, b))), [' Biscuit', ' ran', ' ran']);
  const lengths = liftLengths(64, { segmentLength: 24, stride: 8 });
  for (const contextualized of [false, true]) {
    const r = answerRecitations(docIds, mask, 24, (segs) => segmentSamplesFromTokens(tok, docIds, segs, lengths, { contextualized, seed: 5 }));
    assert.equal(r.samples.length, 3);
    r.samples.forEach((s, i) => {
      const seg = r.segments[i];
      assert.ok(seg.ids.length <= 24 && seg.start + seg.ids.length === maskedSpans(mask)[i][1], 'the window ends with the span');
      assert.deepEqual(s.input.slice(-seg.ids.length), seg.ids, 'the segment closes the sample');
      const supervised = s.labels.filter((l) => l !== IGNORE).map((c) => String.fromCodePoint(c)).join('');
      assert.equal(supervised, [' Biscuit', ' ran', ' ran'][i]);
    });
  }
});
