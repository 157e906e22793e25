// Needle-in-a-haystack builder: target lengths, depths 0/50/100 with the sentence-boundary back-off,
// essay cycling for lengths beyond the corpus, seeded order, keyword scoring and the grid helpers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requireShared, sharedPath } from '../helpers/shared.js';
import {
  buildHaystack, DEFAULT_NEEDLE, haystackGrid, linspaceInts, longestPrefixWithin, needleGrid, NEEDLE_QUESTION,
  NEEDLE_SENTENCE, readEssays, scoreNeedle,
} from '../../src/eval/datasets/needle.js';

// whitespace words as "tokens": monotone over prefixes and exact, so the arithmetic below is checkable
const words = (s: string) => s.split(/\s+/).filter(Boolean).length;
const NEEDLE_WORDS = words(DEFAULT_NEEDLE); // 19

test('needle: depth 0, 50 and 100 put the needle first, mid-way after a period, and last', (t) => {
  if (!requireShared(t, 'data/niah-paulgraham-essays')) return;
  const essaysDir = sharedPath('data/niah-paulgraham-essays');
  const base = { essaysDir, contextLengthTokens: 2000, countTokens: words };

  const d0 = buildHaystack({ ...base, depthPercent: 0 });
  assert.equal(d0.needleCharOffset, 0);
  assert.ok(d0.text.startsWith(DEFAULT_NEEDLE));
  assert.equal(d0.actualTokens, 2000);

  const d100 = buildHaystack({ ...base, depthPercent: 100 });
  assert.ok(d100.text.endsWith(DEFAULT_NEEDLE));
  assert.equal(d100.needleCharOffset, d100.text.length - DEFAULT_NEEDLE.length);
  assert.equal(d100.actualTokens, 2000);

  const d50 = buildHaystack({ ...base, depthPercent: 50 });
  const at = d50.needleCharOffset;
  assert.equal(d50.text.slice(at, at + DEFAULT_NEEDLE.length), DEFAULT_NEEDLE);
  assert.equal(d50.text[at - 1], '.', 'needle follows a period');
  const haystack = d50.text.slice(0, at) + d50.text.slice(at + DEFAULT_NEEDLE.length);
  assert.equal(haystack, d0.text.slice(DEFAULT_NEEDLE.length), 'same haystack whatever the depth');
  const target = Math.floor((2000 - NEEDLE_WORDS) * 0.5);
  const targetChar = longestPrefixWithin(haystack, target, words);
  assert.ok(at <= targetChar && !haystack.slice(at, targetChar).includes('.'), 'moved back to the previous period only');
  assert.ok(words(haystack.slice(0, at)) > target - 150, 'still near the middle');
  // upstream starts from the first essay in sorted order (addiction.txt)
  assert.ok(haystack.startsWith(readEssays(essaysDir)[0].slice(0, 200)));
});

test('needle: token lengths from 500 to beyond the corpus (essays repeat), with a buffer', (t) => {
  if (!requireShared(t, 'data/niah-paulgraham-essays')) return;
  const essaysDir = sharedPath('data/niah-paulgraham-essays');
  const corpusWords = words(readEssays(essaysDir).join(''));
  for (const len of [500, 8000, corpusWords + 20_000]) {
    const h = buildHaystack({ essaysDir, contextLengthTokens: len, depthPercent: 35, countTokens: words, bufferTokens: 100 });
    assert.equal(h.actualTokens, len - 100, `length ${len}`);
    assert.equal(h.text.indexOf(DEFAULT_NEEDLE), h.needleCharOffset);
  }
  // a character-based count (≈ 4 chars per token) works the same way: never over budget
  const chars = (s: string) => Math.ceil(s.length / 4);
  const h = buildHaystack({ essaysDir, contextLengthTokens: 4096, depthPercent: 70, countTokens: chars });
  assert.ok(h.actualTokens <= 4096 && h.actualTokens >= 4090, String(h.actualTokens));
  // a seed shuffles the essay order reproducibly
  const s1 = buildHaystack({ essaysDir, contextLengthTokens: 300, depthPercent: 0, countTokens: words, seed: 7 });
  const s2 = buildHaystack({ essaysDir, contextLengthTokens: 300, depthPercent: 0, countTokens: words, seed: 7 });
  assert.equal(s1.text, s2.text);
  assert.notEqual(s1.text, buildHaystack({ essaysDir, contextLengthTokens: 300, depthPercent: 0, countTokens: words }).text);
  assert.throws(() => buildHaystack({ essaysDir, contextLengthTokens: 300, depthPercent: 101, countTokens: words }), RangeError);
});

test('needle: keyword scoring, question, grid helpers', () => {
  assert.equal(NEEDLE_SENTENCE, 'The best thing to do in San Francisco is eat a sandwich and sit in Dolores Park on a sunny day.');
  assert.equal(NEEDLE_QUESTION, 'What is the best thing to do in San Francisco?');
  assert.deepEqual(scoreNeedle('Eat a SANDWICH in Dolores\nPark on a sunny day'), { score: 1, recall: 1, found: ['sandwich', 'dolores park', 'sunny'], missing: [] });
  const partial = scoreNeedle('Have a sandwich at Dolores Park.');
  assert.equal(partial.score, 0);
  assert.equal(partial.recall, 2 / 3);
  assert.deepEqual(partial.missing, ['sunny']);
  assert.equal(scoreNeedle('No idea.').recall, 0);

  assert.deepEqual(needleGrid([1000, 2000], [0, 100]), [
    { contextLengthTokens: 1000, depthPercent: 0 }, { contextLengthTokens: 1000, depthPercent: 100 },
    { contextLengthTokens: 2000, depthPercent: 0 }, { contextLengthTokens: 2000, depthPercent: 100 },
  ]);
  // expected values from numpy: np.round(np.linspace(a, b, num=n)).astype(int)
  assert.deepEqual(linspaceInts(0, 100, 11), [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
  assert.deepEqual(linspaceInts(0, 100, 15), [0, 7, 14, 21, 29, 36, 43, 50, 57, 64, 71, 79, 86, 93, 100]);
  assert.deepEqual(linspaceInts(1000, 128000, 15), [1000, 10071, 19143, 28214, 37286, 46357, 55429, 64500, 73571, 82643, 91714, 100786, 109857, 118929, 128000]);
});

test('needle: haystackGrid yields one haystack per cell', (t) => {
  if (!requireShared(t, 'data/niah-paulgraham-essays')) return;
  const cells = [...haystackGrid({ essaysDir: sharedPath('data/niah-paulgraham-essays'), countTokens: words }, [300, 600], [0, 50, 100])];
  assert.equal(cells.length, 6);
  assert.deepEqual(cells.map((c) => c.actualTokens), [300, 300, 300, 600, 600, 600]);
});
