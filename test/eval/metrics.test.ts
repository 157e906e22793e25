// Metric tests on hand-computed cases: SQuAD normalisation/F1/EM (official script semantics), ROUGE-L on
// Lin (2004)'s worked example, keyword recall, multiple-choice parsing, LooGLE cloze match, judge prompt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildJudgePrompt, choiceAccuracy, clozeMatch, exactMatch, f1Score, keywordRecall, lcsLength, normalizeAnswer,
  parseChoice, parseJudgeVerdict, rougeL, rougeLScore, tokenF1,
} from '../../src/eval/metrics.js';

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} ≠ ${b}`);

test('SQuAD normalisation', () => {
  assert.equal(normalizeAnswer('The  Cat, a hat!'), 'cat hat');
  assert.equal(normalizeAnswer('An apple-pie.'), 'applepie'); // '-' is punctuation: removed, not a space
  assert.equal(normalizeAnswer('theater anthem'), 'theater anthem'); // articles only as whole words
  assert.equal(normalizeAnswer('Über the café'), 'über café');
  assert.equal(normalizeAnswer("rock 'n' roll"), 'rock n roll');
});

test('token F1 and exact match', () => {
  close(tokenF1('the cat sat on the mat', 'a cat sat on a mat'), 1); // both normalise to "cat sat on mat"
  close(tokenF1('Barack Obama was president', 'Obama'), 0.4); // P = 1/4, R = 1 → 2·0.25/1.25
  close(tokenF1('cat cat dog', 'cat dog dog'), 2 / 3); // overlap counts min per token: cat 1 + dog 1
  close(tokenF1('Paris', 'London'), 0);
  close(tokenF1('', ''), 0); // LongBench / SQuAD v1.1: no common token → 0
  close(f1Score('in 1887', ['1887', 'the year 1887']), 2 / 3); // max over references: P 1/2, R 1
  close(f1Score('x', []), 0);
  assert.equal(exactMatch('The Eiffel Tower!', ['eiffel tower']), 1);
  assert.equal(exactMatch('Eiffel', ['eiffel tower', 'tower']), 0);
});

test('ROUGE-L: Lin (2004) example and variants', () => {
  // reference "police killed the gunman": S2 shares "police the gunman" (LCS 3), S3 only "the gunman"
  assert.equal(lcsLength(['a', 'b', 'c', 'b', 'd', 'a', 'b'], ['b', 'd', 'c', 'a', 'b', 'a']), 4);
  const s2 = rougeL('police kill the gunman', 'police killed the gunman');
  close(s2.precision, 0.75);
  close(s2.recall, 0.75);
  close(s2.f, 0.75);
  close(rougeL('the gunman kill police', 'police killed the gunman').f, 0.5);
  // unequal lengths: LCS "the cat on mat" = 4, P = 4/5, R = 4/7, F = 2PR/(P+R) = 2/3
  close(rougeL('the cat was on mat', 'the cat sat on the red mat').f, 2 / 3);
  close(rougeL('The Cat', 'the cat').f, 0); // case-sensitive like LongBench's rouge_score
  close(rougeL('The Cat!', 'the cat', { normalize: true }).f, 1);
  close(rougeLScore('police kill the gunman', ['nothing here', 'police killed the gunman']), 0.75);
  close(rougeL('', 'x').f, 0);
});

test('keyword recall', () => {
  close(keywordRecall('Eat a Sandwich in Dolores  Park', ['sandwich', 'dolores park', 'sunny']), 2 / 3);
  close(keywordRecall('anything', []), 1);
});

test('multiple-choice parsing and accuracy', () => {
  const choices = ['a criminal that Blake is hunting', 'a psycheye that taught Blake', "an old friend of Blake's", "Eldoria's alter ego"];
  assert.equal(parseChoice('B', choices), 1);
  assert.equal(parseChoice('(C) an old friend', choices), 2);
  assert.equal(parseChoice('D. Eldoria', choices), 3);
  assert.equal(parseChoice('The answer is (b).', choices), 1);
  assert.equal(parseChoice('Answer: C', choices), 2);
  assert.equal(parseChoice('4', choices), 3);
  assert.equal(parseChoice('A criminal that Blake is hunting.', choices), 0); // option text, not letter A
  assert.equal(parseChoice('I think she is an old friend of Blake\'s, clearly.', choices), 2);
  assert.equal(parseChoice('A dog', choices), null); // a sentence starting with "A" names no option
  assert.equal(parseChoice('E', choices), null);
  assert.equal(parseChoice('', choices), null);
  const acc = choiceAccuracy([
    { prediction: 'B', choices, gold: 1 },
    { prediction: 'A', choices, gold: 1 },
    { prediction: 'no idea', choices, gold: 0 },
    { prediction: "Eldoria's alter ego", choices, gold: 3 },
  ]);
  assert.deepEqual(acc, { accuracy: 0.5, correct: 2, unparsed: 1, total: 4 });
});

test('LooGLE cloze exact and partial match', () => {
  const masks = { '<mask-0>': 'Justin Timberlake', '<mask-1>': 'Cerina Aragones', '<mask-2>': 'Kentwood' };
  assert.deepEqual(clozeMatch("{'<mask-0>': 'Justin Timberlake', '<mask-1>': 'Cerina', '<mask-2>': 'Kentucky'}", masks), { exact: 1, partial: 2, count: 3 });
  assert.deepEqual(clozeMatch('{"<mask-2>": "Kentwood"}', masks), { exact: 1, partial: 1, count: 3 });
  assert.deepEqual(clozeMatch("Answer: {'<mask-2>': 'Kentwood'}", masks), { exact: 0, partial: 0, count: 3 });
  assert.deepEqual(clozeMatch("Answer: {'<mask-2>': 'Kentwood'}", masks, { lenient: true }), { exact: 1, partial: 1, count: 3 });
  assert.deepEqual(clozeMatch("['Kentwood']", masks), { exact: 0, partial: 0, count: 3 });
});

test('LLM judge prompt and verdicts', () => {
  const p = buildJudgePrompt('Who?', 'Jane', 'It was Jane.');
  assert.match(p.system!, /Please only output 'True' or 'False' \.$/);
  assert.equal(p.user, 'Question: Who?\ngroudtruth = Jane\npredict_answer = It was Jane.');
  assert.equal(parseJudgeVerdict('True'), true);
  assert.equal(parseJudgeVerdict(' false. '), false);
  assert.equal(parseJudgeVerdict('"True"'), true);
  assert.equal(parseJudgeVerdict('**False**'), false);
  assert.equal(parseJudgeVerdict('True. The prediction matches although it is not false in spirit'), true);
  assert.equal(parseJudgeVerdict('The prediction is false.'), false);
  assert.equal(parseJudgeVerdict('Not sure'), null);
  assert.equal(parseJudgeVerdict('It could be true or false'), null);
  assert.equal(parseJudgeVerdict('Trueish'), null);
});
