// The recall suite's fact generator (src/eval/datasets/facts.ts): deterministic per seed, every family present
// with distinct answers and subjects, three probes per fact, planted where a middle-truncated context cannot
// see them; and the QA generator (src/lift/qa/) shares nothing with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FACT_FAMILIES, FACT_POOLS, factDocument, generateFacts } from '../../src/eval/datasets/facts.js';
import { readStories } from '../../src/eval/datasets/planted.js';
import { continuationOf, recallPrompt, startsWithAnswer } from '../../src/eval/recall.js';
import { replyHolds, qaCoverage } from '../../src/eval/recall-forms.js';
import { loadModelFromPath } from '../../src/model/load.js';
import { encodeAfter } from '../../src/lift/tokens.js';
import { requireShared, sharedPath } from '../helpers/shared.js';

test('generateFacts: deterministic per seed, 4 facts of each of the 6 families, unique subjects and answers', () => {
  const a = generateFacts(1), b = generateFacts(1), c = generateFacts(2);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.map((f) => f.sentence), c.map((f) => f.sentence));
  assert.equal(a.length, 24);
  for (const fam of FACT_FAMILIES) {
    const of = a.filter((f) => f.family === fam);
    assert.equal(of.length, 4, fam);
    assert.equal(new Set(of.map((f) => f.answer)).size, 4, `${fam}: distinct answers`);
  }
  // One subject per fact: its first capitalised word that is a subject.
  const subjects = a.map((f) => FACT_POOLS.SUBJECTS.find((s) => new RegExp(`\\b${s}\\b`).test(f.sentence)));
  assert.ok(subjects.every(Boolean));
  assert.equal(new Set(subjects).size, 24);
  const wordings = new Set<string>();
  for (const f of [...a, ...c, ...generateFacts(3)]) {
    assert.ok(f.sentence.startsWith(f.prompt + continuationOf(f)), f.sentence);
    assert.ok(continuationOf(f).endsWith(f.answer));
    assert.ok(!f.prompt.includes(f.answer) && !f.paraphrase.includes(f.answer) && !f.question.includes(f.answer), `${f.sentence}: no probe gives the answer away`);
    assert.notEqual(f.paraphrase, f.prompt, 'the paraphrase is another wording');
    assert.ok(f.paraphraseContinuation.endsWith(f.answer));
    assert.match(f.question, /\?$/);
    wordings.add(`${f.family}:${f.wording}`);
  }
  assert.ok(wordings.size >= 15, `several wordings per family are used (${wordings.size})`);
  assert.throws(() => generateFacts(1, 6), /need 36 subjects/);
});

test('answers are compared without case, punctuation or quotes, as whole words', () => {
  assert.ok(startsWithAnswer(' "Hop to the moon!" she said', 'Hop to the moon'));
  assert.ok(startsWithAnswer(' 37 shells', '37') && !startsWithAnswer(' 370 shells', '37') && !startsWithAnswer(' 3', '37'));
  assert.ok(startsWithAnswer(' Biscuit.', 'Biscuit') && !startsWithAnswer(' the dog', 'Biscuit'));
  assert.ok(replyHolds('It was called Biscuit, the dog.', 'Biscuit') && !replyHolds('Biscuits', 'Biscuit'));
});

test('qaCoverage: a QA asks a fact when its evidence is the sentence and its answer holds the fact\'s answer', () => {
  const [f, g] = generateFacts(4);
  const cov = qaCoverage([f, g], [
    { answer: f.answer, evidence: [f.sentence] },
    { answer: 'something else', evidence: [g.sentence] },
    { answer: g.answer, evidence: ['An unrelated sentence.'] },
  ]);
  assert.deepEqual([...cov.asked], [f]);
  assert.deepEqual([...cov.seen].sort((x, y) => x.sentence.localeCompare(y.sentence)), [f, g].sort((x, y) => x.sentence.localeCompare(y.sentence)));
});

test('factDocument: every fact once, beyond what a middle-truncated 128-token probe keeps', (t) => {
  if (!requireShared(t, 'models/stories260K') || !requireShared(t, 'data/tinystories-valid-sample')) return;
  const loaded = loadModelFromPath(sharedPath('models/stories260K/stories260K.bin'));
  const tok = loaded.tokenizer;
  const stories = readStories(sharedPath('data/tinystories-valid-sample/tinystories_val.txt'));
  const countTokens = (s: string) => tok.encode(s, { bos: false }).length;
  for (const [seed, minTokens] of [[1, 2048], [2, 4096]]) {
    const doc = factDocument(stories, { minTokens, countTokens, seed, skip: 100, edgeTokens: 128 });
    assert.deepEqual(doc, factDocument(stories, { minTokens, countTokens, seed, skip: 100, edgeTokens: 128 }));
    assert.ok(doc.firstStory >= 100);
    assert.ok(countTokens(doc.text) >= minTokens);
    assert.equal(doc.facts.length, 24);
    for (const f of doc.facts) {
      assert.equal(doc.text.split(f.sentence).length, 2, `${f.sentence} once`);
      const probe = recallPrompt(loaded, doc.text, f, 128);
      const ids = encodeAfter(tok, f.answer);
      const context = tok.decode(probe);
      assert.ok(!context.includes(f.sentence) && !context.includes(f.answer), `${f.sentence} is outside the truncated probe (${ids.length} answer tokens)`);
    }
  }
  loaded.model.dispose();
});

test('the QA generator knows nothing of the fact families, their wordings or word pools', () => {
  const dir = join(import.meta.dirname, '..', '..', 'src', 'lift', 'qa');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const src = readFileSync(join(dir, file), 'utf8');
    // Code only: comments may say what an older version did.
    const code = src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
    assert.ok(!/eval\//.test(code), `${file} imports nothing from src/eval`);
    const strings = [...code.matchAll(/(['"`])((?:\\.|(?!\1).)*)\1/g)].map((m) => m[2]).join('\n');
    const has = (w: string, where: string, flags = '') => new RegExp(`\\b${w}\\b`, flags).test(where);
    // The old bench's wording anywhere in code; names, places and quotes as written;
    // the common words of the pools (red, cup, …) inside string literals.
    for (const w of ['called', 'named']) assert.ok(!has(w, code, 'i'), `${file} mentions "${w}"`);
    for (const w of [...FACT_POOLS.SUBJECTS, ...FACT_POOLS.PET_NAMES, ...FACT_POOLS.PLACES, ...FACT_POOLS.PARTNERS, ...FACT_POOLS.QUOTES]) assert.ok(!has(w, code), `${file} mentions "${w}"`);
    for (const w of [...FACT_POOLS.PETS, ...FACT_POOLS.ITEMS, ...FACT_POOLS.OBJECTS, ...FACT_POOLS.COLOURS, ...FACT_POOLS.RELATIONS]) assert.ok(!has(w, strings, 'i'), `${file} has "${w}" in a string`);
  }
});
