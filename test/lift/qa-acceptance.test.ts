// QA acceptance: 'lenient' (ours) vs 'exact' (the authors' generate_task: `if evidence not in context: continue`,
// five tries on the same 16-sentence window). A paraphrased evidence line is refused by both; a reflowed one
// (same words, other whitespace) only by 'exact'. The self generator asks for up to maxTokens (paper: 1024) and
// does not regenerate a request it has just answered (greedy: the same reply).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evidenceIsExact, evidenceIsVerbatim, synthesizeQAs } from '../../src/lift/qa/prompt.js';
import { SelfQAGenerator } from '../../src/lift/qa/self.js';

const passage = Array.from({ length: 40 }, (_, i) => `Sentence number ${i} tells that box ${i} holds ${i * 3} red marbles.`).join(' ');
const windowOf = (prompt: string): string => prompt.slice(prompt.indexOf('The following is the piece of text: ') + 36);
const firstSentence = (w: string): string => w.slice(0, w.indexOf('.') + 1);

test('exact acceptance refuses a paraphrased evidence line and a reflowed one; lenient only the paraphrase', () => {
  const window = 'Box 3 holds 9 red marbles. Box 4 holds 12 red marbles.';
  assert.equal(evidenceIsExact('Box 3 holds 9 red marbles.', window), true);
  assert.equal(evidenceIsExact('Box three contains nine red marbles.', window), false, 'paraphrase');
  assert.equal(evidenceIsVerbatim(['Box three contains nine red marbles.'], window), false, 'paraphrase');
  assert.equal(evidenceIsExact('Box 3 holds 9\nred marbles.', window), false, 'reflowed');
  assert.equal(evidenceIsVerbatim(['Box 3 holds 9\nred marbles.'], window), true, 'reflowed: lenient normalises whitespace');
  assert.equal(evidenceIsExact('"Box 3 holds 9 red marbles."', window), false, 'quoted');
});

test("'exact': every retry asks about the same window and a paraphrase is never accepted; 'lenient' draws new windows", async () => {
  for (const acceptance of ['exact', 'lenient'] as const) {
    const windows: string[] = [];
    const warnings: string[] = [];
    const qas = await synthesizeQAs(passage, 1, async (prompt) => {
      windows.push(windowOf(prompt));
      return 'Question: How many marbles? \nAnswer: Some. \nEvidence: A box holds a number of red marbles.';
    }, { acceptance, seed: 3, warn: (m) => warnings.push(m) });
    assert.equal(qas.length, 0, `${acceptance}: the paraphrase is refused`);
    assert.equal(windows.length, 5, `${acceptance}: five attempts, as the authors' loop`);
    const distinct = new Set(windows).size;
    assert.ok(acceptance === 'exact' ? distinct === 1 : distinct > 1, `${acceptance}: ${distinct} distinct windows asked`);
    assert.match(warnings[0], /skipped after 5 attempts/);
  }
});

test("'exact' accepts the evidence as generated and keeps it whole", async () => {
  const qas = await synthesizeQAs(passage, 2, async (prompt) => {
    const ev = firstSentence(windowOf(prompt));
    return `Question: What does it tell? \nAnswer: A count. \nEvidence: ${ev}`;
  }, { acceptance: 'exact', seed: 1 });
  assert.equal(qas.length, 2);
  for (const qa of qas) assert.equal(qa.evidence.length, 1);
});

test('the self generator: maxTokens reaches complete(), settings are in its id, a repeated request is answered once', async () => {
  const calls: number[] = [];
  const gen = new SelfQAGenerator({
    complete: async (_prompt, maxTokens) => { calls.push(maxTokens); return 'Question: ? \nAnswer: ! \nEvidence: not in the text'; },
    chatTemplate: null, modelId: 'm', maxTokens: 1024, acceptance: 'exact',
  });
  assert.equal(gen.id, 'self:m:max1024:exact');
  assert.equal(new SelfQAGenerator({ complete: async () => '', chatTemplate: null, modelId: 'm' }).id, 'self:m', 'the defaults keep the id earlier caches used');
  const qas = await gen.generate(passage, 2, { warn: () => {} });
  assert.equal(qas.length, 0);
  assert.deepEqual(calls, [1024, 1024], 'one generation per QA slot: its four retries repeat the same greedy request');
});
