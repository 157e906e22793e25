// Splitting a long document into parts for one adapter each (src/lift/parts.ts splitDocument): ⌈tokens / max⌉
// parts, cut only at blank lines, every paragraph in exactly one part and in order, the parts near equal shares.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitDocument } from '../../src/lift/parts.js';

const words = (s: string) => s.split(/\s+/).filter(Boolean).length;
/** Paragraph i has sizes[i] words "pI_J". */
const doc = (sizes: number[]) => sizes.map((n, i) => Array.from({ length: n }, (_, j) => `p${i}_${j}`).join(' ')).join('\n\n');

test('parts: ⌈tokens / max⌉ of them, cut at paragraph breaks, every paragraph once and in order', () => {
  const sizes = [30, 10, 25, 40, 5, 20, 30, 15, 25, 10]; // 210 words
  const text = doc(sizes);
  for (const max of [1000, 210, 209, 100, 70, 50]) {
    const parts = splitDocument(text, words, max);
    assert.equal(parts.length, Math.ceil(210 / max), `max ${max}`);
    assert.equal(parts.join('\n\n'), text, `max ${max}: the parts are the paragraphs, in order, cut only between them`);
    for (const p of parts) assert.ok(!p.startsWith('\n') && !p.endsWith('\n') && p.length > 0);
  }
  // Near-equal shares: running counts 30 40 65 105 110 130 160 175 200 210; three parts cut at the counts
  // nearest 70 (65) and 140 (130, 10 away, before 160, 20 away).
  assert.deepEqual(splitDocument(text, words, 70).map(words), [65, 65, 80]);
});

test('parts: a long paragraph is cut at line breaks, then sentence ends, never inside a sentence; bad sizes are refused', () => {
  // One paragraph of 100 words with no break inside: never cut.
  assert.deepEqual(splitDocument(doc([100]), words, 10), [doc([100])]);
  assert.deepEqual(splitDocument(doc([50, 50]), words, 10).map(words), [50, 50]);
  // No blank lines: lines are the units; a line of sentences: sentences are.
  const lines = ['one two three four', 'five six seven eight', 'nine ten eleven twelve'].join('\n');
  // 12 words in parts of ≤ ~6: two parts, cut at the line break nearest 6 words (after 4; 8 is as near, the first wins).
  assert.deepEqual(splitDocument(lines, words, 6), ['one two three four', 'five six seven eight\nnine ten eleven twelve']);
  const sentences = 'One two three. Four five six! Seven eight nine? "Ten eleven." Twelve.';
  assert.deepEqual(splitDocument(sentences, words, 6), ['One two three. Four five six!', 'Seven eight nine? "Ten eleven." Twelve.']);
  // A short paragraph stays a unit, a long one is cut into sentences; units of 3 3 3 3 2 1 words, shares of 5 and 10.
  assert.deepEqual(splitDocument(`${doc([3])}\n\n${sentences}`, words, 6).map(words), [6, 3, 6]);
  // Breaks of several blank lines and spaces count as one; text between parts is dropped, within a part kept.
  const text = 'a b c\n\n\n  \n d e\n \nf g h i';
  assert.deepEqual(splitDocument(text, words, 5), ['a b c\n\n\n  \n d e', 'f g h i']);
  assert.deepEqual(splitDocument('  \n\n', words, 5), ['  ']); // a trailing break is dropped
  for (const bad of [0, -1, 1.5, NaN]) assert.throws(() => splitDocument('a\n\nb', words, bad), /positive integer/);
});
