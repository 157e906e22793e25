// Loader tests: LooGLE sample files (counts checked against Python's ast.literal_eval), LongBench on a
// JSONL written here, QuALITY's example file, and malformed-record errors naming file, line and field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireShared, sharedPath } from '../helpers/shared.js';
import { loadLooGLE, LOOGLE_SUMMARY_QUESTION } from '../../src/eval/datasets/loogle.js';
import { loadLongBench, longBenchPostprocess, LONGBENCH_METRIC, type LongBenchInfo } from '../../src/eval/datasets/longbench.js';
import { htmlToText, loadQuality } from '../../src/eval/datasets/quality.js';
import { DatasetFormatError } from '../../src/eval/datasets/jsonl.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'lift-eval-'));
}

// Questions per document, computed once with
//   python3 -c "import json,ast; print([len(ast.literal_eval(json.loads(l)['qa_pairs'])) for l in open(F)])"
// over the shared LooGLE sample files (LooGLE commit 6734382).
const LOOGLE_COUNTS: Record<string, number[]> = {
  longdep_qa: [6, 9, 11, 10, 7],
  shortdep_qa: [11, 12, 16, 25, 16],
  shortdep_cloze: [19, 19, 19, 18, 19],
  longdep_summarization: [1, 1, 1, 1, 1], // qa_pairs "none": one summary question per paper
};

test('LooGLE: all four sample files parse with the QA counts ast.literal_eval gives', (t) => {
  if (!requireShared(t, 'data/loogle-testdata')) return;
  for (const [task, counts] of Object.entries(LOOGLE_COUNTS)) {
    const docs = loadLooGLE(sharedPath('data/loogle-testdata', `${task}.jsonl`));
    assert.equal(docs.length, 5, task);
    assert.deepEqual(docs.map((d) => d.questions.length), counts, task);
    for (const d of docs) {
      assert.ok(d.text.length > 40_000, `${d.id} text`);
      assert.ok(d.title.length > 0);
      for (const q of d.questions) {
        assert.ok(q.question.length > 0 && q.answers.length === 1 && q.answers[0].length > 0, q.id);
      }
    }
    assert.equal(new Set(docs.flatMap((d) => d.questions.map((q) => q.id))).size, counts.reduce((a, b) => a + b), `${task} ids unique`);
  }
});

test('LooGLE: item shapes (long-dependency types and evidence, multiple choice, cloze masks, summaries)', (t) => {
  if (!requireShared(t, 'data/loogle-testdata')) return;
  const dir = sharedPath('data/loogle-testdata');
  const long = loadLooGLE(join(dir, 'longdep_qa.jsonl'));
  const q0 = long[0].questions[0];
  assert.equal(long[0].title, 'José Luis Picardo');
  assert.equal(q0.type, 'comprehension_and_reasoning');
  assert.deepEqual(q0.choices, ['seven', 'six', 'five', 'four']);
  assert.equal(q0.gold, 2); // A = '3'
  assert.equal(q0.evidence?.length, 2);
  // python: Counter(x['type'] for every longdep item)
  const types = long.flatMap((d) => d.questions.map((q) => q.type));
  assert.equal(types.filter((x) => x === 'comprehension_and_reasoning').length, 15);
  assert.equal(types.filter((x) => x === 'multiple_information_retrieval').length, 15);
  assert.equal(types.filter((x) => x === 'computation').length, 10);
  assert.equal(types.filter((x) => x === 'timeline_reorder').length, 3);
  // only that one item is multiple choice; timeline_reorder lists ("2,1,3") are not
  assert.equal(long.flatMap((d) => d.questions).filter((q) => q.choices).length, 1);

  const short = loadLooGLE(join(dir, 'shortdep_qa.jsonl'));
  assert.equal(short[0].questions[0].type, 'shortdep_qa');
  assert.equal(short[0].questions[0].evidence?.length, 1);

  const cloze = loadLooGLE(join(dir, 'shortdep_cloze.jsonl'));
  const c0 = cloze[0].questions[0];
  assert.equal(c0.type, 'cloze');
  assert.deepEqual(c0.masks, { '<mask-0>': 'Justin Timberlake', '<mask-1>': 'Cerina Aragones', '<mask-2>': 'Kentwood' });
  assert.equal(c0.answers[0], "{'<mask-0>': 'Justin Timberlake', '<mask-1>': 'Cerina Aragones', '<mask-2>': 'Kentwood'}");
  assert.match(c0.question, /<mask-1>/);

  const summ = loadLooGLE(join(dir, 'longdep_summarization.jsonl'));
  assert.equal(summ[0].questions[0].question, LOOGLE_SUMMARY_QUESTION);
  assert.match(summ[0].questions[0].answers[0], /^In this article, we study Prasad's conjecture/);
});

test('LooGLE: malformed lines are reported with file, line and field', () => {
  const dir = tempDir();
  try {
    const good = JSON.stringify({ input: 'doc', title: 't', qa_pairs: "[{'Q': 'q?', 'A': 'a', 'S': 's'}]", output: 'none' });
    const cases: [string, RegExp][] = [
      ['{not json', /bad\.jsonl:2: invalid JSON/],
      [JSON.stringify({ input: 'doc', title: 5, qa_pairs: 'none', output: '' }), /bad\.jsonl:2: field "title": expected a string, found a number/],
      [JSON.stringify({ input: 'doc', title: 't', qa_pairs: "[{'Q': 'q?', 'A': 'a'", output: '' }), /bad\.jsonl:2: field "qa_pairs": Python literal: .*line 1, column 22/],
      [JSON.stringify({ input: 'doc', title: 't', qa_pairs: "[{'Q': 'q?'}]", output: '' }), /bad\.jsonl:2: field "qa_pairs\[0\]\.A": expected a string, found nothing/],
      [JSON.stringify({ input: 'doc', title: 't', qa_pairs: "{'Q': 1}", output: '' }), /bad\.jsonl:2: field "qa_pairs": expected a list/],
      [JSON.stringify({ input: 'doc', title: 't', qa_pairs: "[{'Q': 'q', 'A': {'mask': 'x'}}]", output: '' }), /field "qa_pairs\[0\]\.A": cloze key "mask"/],
    ];
    for (const [bad, re] of cases) {
      const file = join(dir, 'bad.jsonl');
      writeFileSync(file, `${good}\n${bad}\n`);
      assert.throws(() => loadLooGLE(file), (e: unknown) => e instanceof DatasetFormatError && re.test(e.message) && e.line === 2);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('LongBench: records become one-question documents; classes become choices', () => {
  const dir = tempDir();
  try {
    const file = join(dir, 'lb.jsonl');
    const recs = [
      { input: 'Who wrote it?', context: 'Passage 1: ... Jane wrote it.', answers: ['Jane', 'Jane Doe'], length: 6, dataset: 'hotpotqa', language: 'en', all_classes: null, _id: 'h1' },
      { input: '', context: 'A long government report.', answers: ['A summary.'], length: 4, dataset: 'gov_report', language: 'en', all_classes: null, _id: 'g1' },
      { input: 'What is the question type?', context: 'examples', answers: ['Location'], length: 1, dataset: 'trec', language: 'en', all_classes: ['Entity', 'Location', 'Person'], _id: 't1' },
    ];
    writeFileSync(file, recs.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const info: LongBenchInfo = new Map();
    const docs = loadLongBench(file, info);
    assert.equal(docs.length, 3);
    assert.deepEqual(docs[0], {
      id: 'h1', title: 'hotpotqa', text: 'Passage 1: ... Jane wrote it.',
      questions: [{ id: 'h1', question: 'Who wrote it?', answers: ['Jane', 'Jane Doe'], type: 'hotpotqa' }],
    });
    assert.equal(docs[1].questions[0].question, '');
    assert.deepEqual(docs[2].questions[0].choices, ['Entity', 'Location', 'Person']);
    assert.equal(docs[2].questions[0].gold, 1);
    assert.deepEqual(info.get('t1'), { dataset: 'trec', language: 'en', length: 1 });
    assert.equal(LONGBENCH_METRIC.gov_report, 'rouge');
    assert.equal(longBenchPostprocess('trec', '\nLocation\nmore'), 'Location');
    assert.equal(longBenchPostprocess('hotpotqa', 'a\nb'), 'a\nb');

    writeFileSync(file, JSON.stringify(recs[0]) + '\n' + JSON.stringify({ ...recs[1], answers: 'A summary.' }) + '\n');
    assert.throws(() => loadLongBench(file), /lb\.jsonl:2: field "answers": expected a list of strings, found a string/);
    writeFileSync(file, JSON.stringify(recs[0]) + '\n\n' + JSON.stringify({ ...recs[1], answers: ['x', 3] }) + '\n');
    assert.throws(() => loadLongBench(file), /lb\.jsonl:3: field "answers\[1\]": expected a string/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('QuALITY: 2 records × 5 questions, gold labels, HTML turned into paragraphs', (t) => {
  if (!requireShared(t, 'data/quality-example')) return;
  const docs = loadQuality(sharedPath('data/quality-example/quality_example.jsonl'));
  assert.equal(docs.length, 2);
  // the example file repeats one record (same unique_id 52845_YLZPNNYD), so ids are disambiguated
  assert.deepEqual(docs.map((d) => d.id), ['52845_YLZPNNYD', '52845_YLZPNNYD@L2']);
  for (const d of docs) {
    assert.equal(d.title, 'The Girl in His Mind');
    assert.equal(d.questions.length, 5);
    assert.deepEqual(d.questions.map((q) => q.gold), [1, 2, 3, 0, 3]); // gold labels 2,3,4,1,4 (1-based)
    for (const q of d.questions) {
      assert.equal(q.choices?.length, 4);
      assert.equal(q.answers[0], q.choices![q.gold!]);
    }
  }
  const q4 = docs[0].questions[3];
  assert.equal(q4.question, 'Sabrina York is');
  assert.equal(q4.answers[0], 'a criminal that Blake is hunting');
  const text = docs[0].text;
  assert.ok(!/[<>]/.test(text), 'no tags left');
  assert.ok(text.startsWith('THE GIRL IN HIS MIND\n\nBy ROBERT F. YOUNG\n\n[Transcriber\'s Note: This etext was produced from\nWorlds of Tomorrow April 1963'));
  assert.ok(text.includes('"I do not know, mensakin. Perhaps."\n\nBlake resumed watching.'));
  assert.ok(text.includes('The dance that the chocoletto girl was performing was an expurgated version of the kylee'), 'hard wraps re-joined');
});

test('htmlToText: entities, inline tags, comments', () => {
  assert.equal(
    htmlToText('<html><head><title>x</title></head><body><!-- c --><p>A &amp; B&#8212;<i>c</i>&#x41;&nbsp;d &bogus;</p><p>\n</p><p>line<br/>two</p></body></html>'),
    'A & B—cA d &bogus;\n\nline\ntwo',
  );
});
