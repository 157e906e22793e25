// The evaluation tasks of `lift eval` (docs/method.md §9): what documents and questions each task asks, read through
// the dataset loaders in datasets/*, and how one answer is scored. The harness (harness.ts) only sees
// EvalDocuments and a score map per answer, so adding a task means adding a case here.
//   needle     Paul Graham essays cut to each --lengths × --depths cell, the needle inserted; keyword score
//   loogle     a LooGLE jsonl (shortdep_qa by default): token F1 / EM / ROUGE-L (+ cloze / choice when present)
//   longbench  a LongBench jsonl: F1 / EM / ROUGE-L plus the dataset's own LongBench metric where we have it
//   quality    QuALITY multiple choice: accuracy of the option the answer names
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { EvalDocument, EvalQuestion } from './datasets/types.js';
import { loadLooGLE } from './datasets/loogle.js';
import { loadLongBench, longBenchPostprocess, LONGBENCH_METRIC, type LongBenchInfo } from './datasets/longbench.js';
import { loadQuality } from './datasets/quality.js';
import { buildHaystack, longestPrefixWithin, NEEDLE_KEYWORDS, NEEDLE_QUESTION, NEEDLE_SENTENCE, scoreNeedle } from './datasets/needle.js';
import { clozeMatch, exactMatch, f1Score, parseChoice, rougeLScore } from './metrics.js';

export type TaskName = 'needle' | 'loogle' | 'longbench' | 'quality';
export const TASKS: readonly TaskName[] = ['needle', 'loogle', 'longbench', 'quality'];

/** Where the shared data sets live: $LIFT_DATA, else $LIFT_SHARED/data, else the project's shared folder. */
export function dataRoot(): string {
  if (process.env.LIFT_DATA) return process.env.LIFT_DATA;
  if (process.env.LIFT_SHARED) return join(process.env.LIFT_SHARED, 'data');
  return resolve('..', 'shared', 'data'); // the shared folder beside the repository, as the tests use
}

/** The data each task reads when --data is not given (null: the task has no default and needs --data). */
export function defaultData(task: TaskName): string | null {
  const root = dataRoot();
  switch (task) {
    case 'needle': return join(root, 'niah-paulgraham-essays');
    case 'loogle': return join(root, 'loogle-testdata', 'shortdep_qa.jsonl');
    case 'quality': return join(root, 'quality-example', 'quality_example.jsonl');
    case 'longbench': return null;
  }
}

const DATA_HINT: Record<TaskName, string> = {
  needle: 'a folder of Paul Graham essays as *.txt (gkamradt/LLMTest_NeedleInAHaystack PaulGrahamEssays)',
  loogle: 'a LooGLE .jsonl file such as shortdep_qa.jsonl (github.com/bigai-nlco/LooGLE)',
  longbench: 'a LongBench v1 .jsonl file such as narrativeqa.jsonl (github.com/THUDM/LongBench)',
  quality: 'a QuALITY .jsonl file (github.com/nyu-mll/quality)',
};

/** One needle cell a document was built for (needle task only). */
export interface NeedleCellInfo { length: number; depth: number }

export interface TaskSpec {
  task: TaskName;
  data: string;
  docs: EvalDocument[];
  /** needle: document id → its (length, depth) cell. */
  cells: Map<string, NeedleCellInfo>;
  /** longbench: document id → dataset name, language, length. */
  longbench: LongBenchInfo;
}

export interface LoadTaskOptions {
  /** File or folder to read (default: defaultData(task)). */
  data?: string;
  /** Token counter of the model under test (needle lengths and --doc-tokens are in its tokens). */
  countTokens: (s: string) => number;
  /** Keep the first N documents (0 or absent: all). Not used by needle, whose grid is the document set. */
  maxDocs?: number;
  /** Keep the first N questions of each document (0 or absent: all). */
  maxQuestions?: number;
  /** Cut each document to its first N tokens (0 or absent: whole). Answers may be cut away: it is a speed knob. */
  docTokens?: number;
  /** needle: haystack lengths in tokens and needle depths in percent. */
  lengths?: number[];
  depths?: number[];
  /** needle: shuffle the essays with this seed (default: sorted file order, as upstream). */
  seed?: number;
}

export function isTask(s: string): s is TaskName {
  return (TASKS as readonly string[]).includes(s);
}

const unknownTask = (task: string): Error => new Error(`unknown task '${task}': expected one of ${TASKS.join(', ')}`);

/** The task's data path (--data or the default), checked to exist and be a file or folder as the task needs. */
export function checkData(task: string, data?: string): string {
  if (!isTask(task)) throw unknownTask(task);
  const path = data ?? defaultData(task);
  if (path === null) throw new Error(`${task} needs --data FILE: ${DATA_HINT[task]}`);
  if (!existsSync(path)) throw new Error(`${task} data not found: ${path} does not exist; pass --data with ${DATA_HINT[task]}`);
  const isDir = statSync(path).isDirectory();
  if (isDir !== (task === 'needle')) throw new Error(`${task} data ${path} is ${isDir ? 'a folder' : 'a file'}; expected ${DATA_HINT[task]}`);
  return path;
}

/** Reads a task's documents and questions, cut as the options ask. Errors name the task, the path and what was expected. */
export function loadTask(task: string, o: LoadTaskOptions): TaskSpec {
  if (!isTask(task)) throw unknownTask(task);
  const data = checkData(task, o.data);
  const spec: TaskSpec = { task, data, docs: [], cells: new Map(), longbench: new Map() };
  if (task === 'needle') {
    const lengths = o.lengths ?? [256, 512, 1024], depths = o.depths ?? [0, 50, 100];
    for (const length of lengths)
      for (const depth of depths) {
        const h = buildHaystack({ essaysDir: data, contextLengthTokens: length, depthPercent: depth, countTokens: o.countTokens, seed: o.seed });
        const id = `needle/${length}/${depth}`;
        spec.cells.set(id, { length, depth });
        spec.docs.push({ id, title: 'Paul Graham essays', text: h.text, questions: [{ id: `${id}/0`, question: NEEDLE_QUESTION, answers: [NEEDLE_SENTENCE], type: 'needle' }] });
      }
    return spec;
  }
  let docs = task === 'loogle' ? loadLooGLE(data) : task === 'longbench' ? loadLongBench(data, spec.longbench) : loadQuality(data);
  if (o.maxDocs) docs = docs.slice(0, o.maxDocs);
  spec.docs = docs.map((d) => ({
    ...d,
    text: o.docTokens ? firstTokens(d.text, o.docTokens, o.countTokens) : d.text,
    questions: (o.maxQuestions ? d.questions.slice(0, o.maxQuestions) : d.questions).map((q) => askable(task, q)),
  }));
  if (spec.docs.length === 0) throw new Error(`${task} data ${data} holds no documents`);
  return spec;
}

/** The longest prefix of `text` within `n` tokens; searched inside a generous character window so huge documents stay cheap. */
export function firstTokens(text: string, n: number, countTokens: (s: string) => number): string {
  const window = text.slice(0, n * 16); // no tokenizer we use averages 16 characters per token
  return window.slice(0, longestPrefixWithin(window, n, countTokens));
}

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/**
 * The question as the model is asked it. QuALITY's options are not in its question text, so they are listed
 * (A. …) for parseChoice to read the letter back; LongBench summarization tasks have an empty question, which
 * ask() refuses, so they get LooGLE's summary instruction.
 */
function askable(task: TaskName, q: EvalQuestion): EvalQuestion {
  if (task === 'quality' && q.choices) {
    const options = q.choices.map((c, i) => `${LETTERS[i]}. ${c}`).join('\n');
    return { ...q, question: `${q.question}\n${options}\nAnswer with the letter of the correct option.` };
  }
  if (q.question.trim() === '') return { ...q, question: 'Please write a summary of the article.' };
  return q;
}

/**
 * Scores one prediction. Every free-text task gets SQuAD-normalised token F1, exact match and ROUGE-L
 * (docs/method.md §9); on top: needle → all keywords present (the reported number) and keyword recall; cloze →
 * LooGLE's per-mask exact / partial; multiple choice → accuracy (and unparsed when no option is named);
 * longbench → the dataset's own metric where implemented.
 */
export function scoreAnswer(task: TaskName, q: EvalQuestion, prediction: string, info?: { dataset?: string }): Record<string, number> {
  const s: Record<string, number> = {};
  let pred = prediction;
  if (task === 'longbench' && info?.dataset) pred = longBenchPostprocess(info.dataset, prediction);
  if (task === 'needle') {
    const n = scoreNeedle(pred, NEEDLE_KEYWORDS);
    s.needle = n.score;
    s.keyword_recall = n.recall;
  }
  if (q.choices && q.gold !== undefined && task !== 'longbench') {
    const idx = parseChoice(pred, q.choices);
    s.accuracy = idx === q.gold ? 1 : 0;
    s.unparsed = idx === null ? 1 : 0;
  }
  if (q.masks) {
    const c = clozeMatch(pred, q.masks);
    s.cloze_exact = c.count ? c.exact / c.count : 0;
    s.cloze_partial = c.count ? c.partial / c.count : 0;
  }
  s.f1 = f1Score(pred, q.answers);
  s.em = exactMatch(pred, q.answers);
  s.rougeL = rougeLScore(pred, q.answers);
  if (task === 'longbench' && info?.dataset) {
    const v = longBenchScore(info.dataset, pred, q);
    if (v !== null) s.longbench = v;
  }
  return s;
}

/**
 * LongBench eval.py's per-dataset metric (dataset2metric), for the English metrics that need no extra package:
 * qa_f1, rouge (ROUGE-L F, see metrics.rougeL on the small difference), classification, retrieval, count.
 * null for the Chinese metrics and code_sim (fuzzy matching), which are not implemented here.
 */
export function longBenchScore(dataset: string, prediction: string, q: EvalQuestion): number | null {
  const metric = LONGBENCH_METRIC[dataset.replace(/_e$/, '')];
  const best = (f: (ref: string) => number): number => Math.max(0, ...q.answers.map(f));
  switch (metric) {
    case 'qa_f1': return f1Score(prediction, q.answers);
    case 'rouge': return rougeLScore(prediction, q.answers);
    case 'classification': return best((ref) => {
      // classes named in the prediction, minus those that are substrings of the reference (LongBench's rule)
      const named = (q.choices ?? []).filter((c) => prediction.includes(c) && !(c !== ref && ref.includes(c)));
      return named.includes(ref) ? 1 / named.length : 0;
    });
    case 'retrieval': return best((ref) => {
      const want = /Paragraph (\d+)/.exec(ref)?.[1];
      const nums = prediction.match(/\d+/g) ?? [];
      return nums.length && want ? nums.filter((n) => n === want).length / nums.length : 0;
    });
    case 'count': return best((ref) => {
      const nums = prediction.match(/\d+/g) ?? [];
      return nums.length ? nums.filter((n) => n === ref.trim()).length / nums.length : 0;
    });
    default: return null;
  }
}
