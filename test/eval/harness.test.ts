// The evaluation harness (`lift eval`): scoring and aggregation on hand-made records, task loading errors, the
// LLM judge against a local stand-in server, and `lift eval needle` / `lift eval loogle` end to end on
// stories260K (its scores are near zero on essays and Wikipedia; what is checked is that every method answers
// every question and every output is written).
import { scoreNeedle } from '../../src/eval/datasets/needle.js';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireShared, sharedPath } from '../helpers/shared.js';
import { formatTable, makeJudge, needleMatrix, summarize, type EvalRecord } from '../../src/eval/harness.js';
import { firstTokens, loadTask, longBenchScore, scoreAnswer } from '../../src/eval/tasks.js';
import { NEEDLE_QUESTION, NEEDLE_SENTENCE } from '../../src/eval/datasets/needle.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MODEL = sharedPath('models', 'stories260K', 'stories260K.bin');
const countChars = (s: string): number => s.length; // a stand-in tokenizer: one token per character

function lift(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'src', 'cli', 'main.ts'), ...args], {
    cwd: REPO, encoding: 'utf8', timeout: 120_000, env: { ...process.env, LIFT_SHARED: sharedPath() },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function tempDir(t: { after: (f: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'lift-eval-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function rec(method: EvalRecord['method'], doc: string, scores: Record<string, number>, extra: Partial<EvalRecord> = {}): EvalRecord {
  return { task: 'needle', doc_id: doc, question_id: `${doc}/0`, method, question: 'q', references: ['r'], prediction: 'p', scores, seconds: 0.5, train_seconds: method === 'icl' ? 0 : 2, ...extra };
}

describe('scoring', () => {
  const needleQ = { id: 'n', question: NEEDLE_QUESTION, answers: [NEEDLE_SENTENCE] };
  test('needle: 1 only when every keyword is present', () => {
    const all = scoreAnswer('needle', needleQ, 'Eat a Sandwich in Dolores  Park on a sunny day');
    assert.equal(all.needle, 1);
    assert.equal(all.keyword_recall, 1);
    const two = scoreAnswer('needle', needleQ, 'a sandwich on a sunny day');
    assert.equal(two.needle, 0);
    assert.ok(Math.abs(two.keyword_recall - 2 / 3) < 1e-12);
    assert.ok(two.f1 > 0 && two.f1 < 1);
  });
  test('loogle: SQuAD F1 / EM / ROUGE-L, max over references', () => {
    const s = scoreAnswer('loogle', { id: 'q', question: 'Where?', answers: ['in Madrid', 'Spain'] }, 'The Madrid.');
    assert.equal(s.em, 0);
    assert.ok(Math.abs(s.f1 - 2 / 3) < 1e-12); // "madrid" vs "in madrid"
    assert.equal(scoreAnswer('loogle', { id: 'q', question: 'Where?', answers: ['Spain'] }, 'spain!').em, 1);
    assert.equal(scoreAnswer('loogle', { id: 'q', question: 'Where?', answers: ['in Madrid'] }, 'in Madrid').rougeL, 1);
  });
  test('quality: the named option against gold; unparsed when none is named', () => {
    const q = { id: 'q', question: 'Q', answers: ['blue'], choices: ['red', 'blue', 'green', 'gray'], gold: 1 };
    assert.deepEqual([scoreAnswer('quality', q, 'B').accuracy, scoreAnswer('quality', q, 'B').unparsed], [1, 0]);
    assert.equal(scoreAnswer('quality', q, '(A)').accuracy, 0);
    assert.equal(scoreAnswer('quality', q, 'no idea').unparsed, 1);
  });
  test('longbench: the dataset metric (qa_f1, retrieval, classification)', () => {
    assert.equal(longBenchScore('narrativeqa', 'the cat', { id: 'q', question: '', answers: ['cat'] }), 1);
    assert.equal(longBenchScore('passage_retrieval_en', 'Paragraph 3, not 4', { id: 'q', question: '', answers: ['Paragraph 3'] }), 0.5);
    assert.equal(longBenchScore('trec', 'Location', { id: 'q', question: '', answers: ['Location'], choices: ['Location', 'Person'] }), 1);
    assert.equal(longBenchScore('lcc', 'x', { id: 'q', question: '', answers: ['x'] }), null);
    assert.equal(scoreAnswer('longbench', { id: 'q', question: '', answers: ['cat'] }, 'cat', { dataset: 'narrativeqa' }).longbench, 1);
  });
});

describe('aggregation', () => {
  const records = [
    rec('icl', 'd1', { needle: 0, f1: 0.2 }, { length: 256, depth: 0 }),
    rec('icl', 'd2', { needle: 1, f1: 0.4 }, { length: 512, depth: 0 }),
    rec('lift', 'd1', { needle: 1, f1: 1, judge: 1 }, { length: 256, depth: 0 }),
    rec('lift', 'd1', { needle: 1, f1: 0.5 }, { length: 256, depth: 0, question_id: 'd1/1', error: 'too long', prediction: '' }),
    rec('lift', 'd2', { needle: 0, f1: 0 }, { length: 512, depth: 50 }),
  ];
  test('means per method over the records that have each metric', () => {
    const s = summarize(records);
    assert.deepEqual(s.methods.map((m) => m.method), ['icl', 'lift']);
    assert.deepEqual(s.metrics, ['needle', 'judge', 'f1']);
    const [icl, lift] = s.methods;
    assert.equal(icl.n, 2);
    assert.ok(Math.abs(icl.metrics.f1 - 0.3) < 1e-12);
    assert.equal(icl.metrics.judge, undefined);
    assert.equal(lift.metrics.judge, 1);
    assert.equal(lift.counts.judge, 1);
    assert.ok(Math.abs(lift.metrics.needle - 2 / 3) < 1e-12);
    assert.equal(lift.not_asked, 1);
    assert.equal(lift.train_seconds, 4, 'training counted once per document');
    assert.equal(lift.answer_seconds, 1.5);
    const table = formatTable(s);
    assert.match(table, /^method\s+n\s+not asked\s+needle\s+judge\s+f1/);
    assert.match(table, /\nicl\s+2\s+0\s+0\.5000\s+-\s+0\.3000/);
  });
  test('needle matrix: [depth][length], null where unmeasured', () => {
    const g = needleMatrix(records, 'lift');
    assert.deepEqual(g.lengths, [256, 512]);
    assert.deepEqual(g.depths, [0, 50]);
    assert.deepEqual(g.values, [[1, null], [null, 0]]);
  });
});

describe('task loading', () => {
  test('errors name the task, the path and what is expected', () => {
    assert.throws(() => loadTask('nedle', { countTokens: countChars }), /unknown task 'nedle': expected one of needle, loogle, longbench, quality/);
    assert.throws(() => loadTask('loogle', { data: '/nonexistent/x.jsonl', countTokens: countChars }), /loogle data not found: \/nonexistent\/x\.jsonl does not exist; pass --data with a LooGLE/);
    assert.throws(() => loadTask('longbench', { countTokens: countChars }), /longbench needs --data FILE/);
  });
  test('firstTokens keeps the longest prefix within N tokens', () => {
    assert.equal(firstTokens('abcdefgh', 3, countChars), 'abc');
    assert.equal(firstTokens('ab', 3, countChars), 'ab');
  });
  test('loogle with --max-docs / --max-questions / --doc-tokens', (t) => {
    if (!requireShared(t, 'data', 'loogle-testdata', 'shortdep_qa.jsonl')) return;
    const spec = loadTask('loogle', { data: sharedPath('data', 'loogle-testdata', 'shortdep_qa.jsonl'), countTokens: countChars, maxDocs: 2, maxQuestions: 1, docTokens: 100 });
    assert.equal(spec.docs.length, 2);
    for (const d of spec.docs) {
      assert.equal(d.questions.length, 1);
      assert.ok(d.text.length <= 100 && d.text.length > 90);
    }
  });
});

describe('LLM judge', () => {
  test('posts the LooGLE judge prompt and reads the verdict; times out with a message', async (t) => {
    let body: { model?: string; messages?: { role: string; content: string }[]; temperature?: number } = {};
    const server = createServer((req, res) => {
      let data = '';
      req.on('data', (c) => (data += c));
      req.on('end', () => {
        if (req.url === '/slow/chat/completions') return; // never answers
        body = JSON.parse(data);
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ choices: [{ message: { content: "'True'." } }] }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.after(() => server.close());
    server.unref();
    const port = (server.address() as { port: number }).port;
    const judge = makeJudge({ url: `http://127.0.0.1:${port}/v1`, model: 'judge-m' });
    assert.equal(await judge('Where?', 'Madrid', 'in Madrid'), true);
    assert.equal(body.model, 'judge-m');
    assert.equal(body.temperature, 0);
    assert.match(body.messages!.at(-1)!.content, /^Question: Where\?\ngroudtruth = Madrid\npredict_answer = in Madrid$/);
    const slow = makeJudge({ url: `http://127.0.0.1:${port}/slow`, model: 'm', timeoutMs: 200 });
    await assert.rejects(slow('q', 'r', 'p'), /slow\/chat\/completions: no answer within 0\.2 s/);
    server.closeAllConnections();
  });
});

describe('lift eval end to end on stories260K', () => {
  test('needle: 2 lengths × 2 depths, every method', (t) => {
    if (!requireShared(t, 'models', 'stories260K')) return;
    if (!requireShared(t, 'data', 'niah-paulgraham-essays')) return;
    const out = tempDir(t);
    const r = lift(['eval', 'needle', '--model', MODEL, '--lengths', '192,256', '--depths', '0,100', '--epochs', '1,1', '--qa', '2', '--max-tokens', '16', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^method\s+n\s+needle\s+keyword_recall\s+f1/);
    for (const m of ['icl', 'ft', 'lift', 'lift-retrieve']) assert.match(r.stdout, new RegExp(`\\n${m}\\s+4\\s`));
    assert.match(r.stderr, /trained lift in/);
    const records = readFileSync(join(out, 'results.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as EvalRecord);
    assert.equal(records.length, 16, 'one record per question per method');
    for (const x of records) {
      assert.equal(typeof x.prediction, 'string');
      assert.equal(x.error, undefined);
      assert.ok([0, 1].includes(x.scores.needle) && [192, 256].includes(x.length!) && [0, 100].includes(x.depth!));
    }
    assert.ok(records.some((x) => x.prediction.length > 0), 'the model answered');
    // Every score is the metric of that record's own prediction (not a default, nor another record's).
    for (const x of records) assert.equal(x.scores.keyword_recall, scoreNeedle(x.prediction).recall, `${x.method} ${x.length}/${x.depth}: ${JSON.stringify(x.prediction)}`);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    assert.equal(summary.summary.methods.length, 4);
    assert.deepEqual(summary.settings.lengths, [192, 256]);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    for (const m of ['icl', 'ft', 'lift', 'lift-retrieve']) assert.match(html, new RegExp(`data-kind="heatmap" id="needle-${m}"`));
    assert.match(html, /data-kind="table" id="scores"/);
    assert.match(html, /data-kind="bars" id="metrics"/);
    assert.match(html, /data-kind="kv" id="timings"/);
  });

  test('loogle: 1 document, 2 questions, --json', (t) => {
    if (!requireShared(t, 'models', 'stories260K')) return;
    if (!requireShared(t, 'data', 'loogle-testdata', 'shortdep_qa.jsonl')) return;
    const out = tempDir(t);
    const r = lift(['eval', 'loogle', '--model', MODEL, '--max-docs', '1', '--max-questions', '2', '--doc-tokens', '384', '--context-budget', '256',
      '--epochs', '1,1', '--qa', '2', '--max-tokens', '16', '--adapter', 'lora', '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout);
    assert.equal(res.settings.task, 'loogle');
    assert.deepEqual(res.summary.metrics, ['f1', 'em', 'rougeL']);
    for (const m of res.summary.methods) {
      assert.equal(m.n, 2);
      for (const k of ['f1', 'em', 'rougeL']) assert.ok(m.metrics[k] >= 0 && m.metrics[k] <= 1, `${m.method} ${k}`);
    }
    const records = readFileSync(join(out, 'results.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as EvalRecord);
    assert.equal(records.length, 8);
    assert.deepEqual([...new Set(records.map((x) => x.method))], ['icl', 'ft', 'lift', 'lift-retrieve']);
    for (const x of records) assert.ok(x.prediction.length > 0 && x.references.length > 0 && x.seconds >= 0, JSON.stringify(x));
    assert.ok(existsSync(join(out, 'summary.json')));
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    assert.match(html, /data-kind="table" id="scores"/);
    assert.doesNotMatch(html, /data-kind="heatmap"/);
  });

  test('a wrong task name or missing data file exits non-zero with a helpful message', (t) => {
    if (!requireShared(t, 'models', 'stories260K')) return;
    const bad = lift(['eval', 'nedle', '--model', MODEL]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /unknown task 'nedle': expected one of needle, loogle, longbench, quality/);
    const missing = lift(['eval', 'loogle', '--model', MODEL, '--data', '/nonexistent/shortdep_qa.jsonl']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /loogle data not found: \/nonexistent\/shortdep_qa\.jsonl does not exist; pass --data/);
    const methods = lift(['eval', 'needle', '--model', MODEL, '--methods', 'icl,lora']);
    assert.notEqual(methods.code, 0);
    assert.match(methods.stderr, /--methods: unknown method 'lora'/);
  });
});
