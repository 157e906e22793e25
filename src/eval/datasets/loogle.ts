// LooGLE loader (github.com/bigai-nlco/LooGLE): JSONL records {input, title, qa_pairs, output} → EvalDocument.
// Why a custom reader: `qa_pairs` is a STRING holding a Python literal (or "none"), parsed here with the
// strict pyliteral parser; the four tasks use different item shapes:
//   longdep_qa      {Q, A: str, type, S: str[]}   (one item is multiple choice with "1. ..." options in Q)
//   shortdep_qa     {S: str, Q, A: str}
//   shortdep_cloze  {Q with <mask-N>, S: str, A: {"<mask-N>": entity}}
//   longdep_summarization  qa_pairs "none", reference summary in `output`
import { basename } from 'node:path';
import { parsePyLiteral, PyLiteralSyntaxError, type PyValue } from '../pyliteral.js';
import { Fields, kind, readJsonl } from './jsonl.js';
import type { EvalDocument, EvalQuestion } from './types.js';

export type LooGLETask = 'longdep_qa' | 'shortdep_qa' | 'shortdep_cloze' | 'longdep_summarization';
export const LOOGLE_TASKS: readonly LooGLETask[] = ['longdep_qa', 'shortdep_qa', 'shortdep_cloze', 'longdep_summarization'];

/** LooGLE's own summarization instruction (config/task2prompt.json), used as the question text. */
export const LOOGLE_SUMMARY_QUESTION = 'Please generate a summary of the below paper.';

export interface LooGLEOptions {
  /** Defaults to the file's base name when it is one of LOOGLE_TASKS; used in ids only. */
  task?: string;
}

/** Reads one LooGLE JSONL file. Throws DatasetFormatError (file:line: field ...) on any malformed record. */
export function loadLooGLE(file: string, opts: LooGLEOptions = {}): EvalDocument[] {
  const task = opts.task ?? basename(file).replace(/\.jsonl$/, '');
  return readJsonl(file).map((rec, docIndex) => {
    const f = new Fields(file, rec.line, rec.value);
    const text = f.str('input');
    const title = f.str('title');
    const qaRaw = f.str('qa_pairs');
    const docId = `${task}/${docIndex}`;
    if (qaRaw.trim().toLowerCase() === 'none') {
      // summarization: the reference is the paper's abstract in `output`
      const output = f.str('output');
      const q: EvalQuestion = { id: `${docId}/0`, question: LOOGLE_SUMMARY_QUESTION, answers: [output], type: 'summarization' };
      return { id: docId, title, text, questions: [q] };
    }
    const items = parseQaPairs(f, qaRaw);
    const questions = items.map((item, i) => toQuestion(f.nested(`qa_pairs[${i}]`, item), `${docId}/${i}`));
    return { id: docId, title, text, questions };
  });
}

function parseQaPairs(f: Fields, raw: string): PyValue[] {
  let items: PyValue;
  try {
    items = parsePyLiteral(raw);
  } catch (e) {
    if (e instanceof PyLiteralSyntaxError) f.fail('qa_pairs', e.message);
    throw e;
  }
  if (!Array.isArray(items)) f.fail('qa_pairs', `expected a list of QA dicts, found ${kind(items)}`);
  return items;
}

function toQuestion(q: Fields, id: string): EvalQuestion {
  const question = q.str('Q');
  const a = q.obj.A;
  if (a !== null && typeof a === 'object' && !Array.isArray(a)) {
    // cloze: A maps each <mask-N> to its entity
    const masks: Record<string, string> = {};
    for (const [k, v] of Object.entries(a)) {
      if (!/^<mask-\d+>$/.test(k)) q.fail('A', `cloze key ${JSON.stringify(k)} is not <mask-N>`);
      if (typeof v !== 'string') q.fail(`A.${k}`, `expected a string, found ${kind(v)}`);
      masks[k] = v;
    }
    if (Object.keys(masks).length === 0) q.fail('A', 'empty cloze answer dict');
    const evidence = q.has('S') ? [q.str('S')] : undefined;
    return { id, question, answers: [pyDictRepr(masks)], masks, type: 'cloze', ...(evidence && { evidence }) };
  }
  const answer = q.str('A');
  const out: EvalQuestion = { id, question, answers: [answer] };
  if (q.has('S')) out.evidence = Array.isArray(q.obj.S) ? q.strArray('S') : [q.str('S')];
  if (q.has('type')) out.type = q.str('type');
  else out.type = 'shortdep_qa';
  const mc = multipleChoice(question, answer, out.type);
  if (mc) Object.assign(out, mc);
  return out;
}

/**
 * A long-dependency question whose Q ends in "1. x\n2. y..." options and whose A is one option number is
 * multiple choice. timeline_reorder items have the same list but an ordering ("2,1,3") as answer, so the
 * single-integer answer is what separates them.
 */
function multipleChoice(question: string, answer: string, type: string): { choices: string[]; gold: number } | undefined {
  if (type === 'timeline_reorder' || !/^\s*\d+\s*$/.test(answer)) return undefined;
  const lines = question.split('\n');
  const options: { n: number; text: string }[] = [];
  for (let i = lines.length - 1; i > 0; i--) {
    const m = /^\s*(\d+)\s*[.)]\s*(.*)$/.exec(lines[i]);
    if (!m) break;
    options.unshift({ n: Number(m[1]), text: m[2].trim() });
  }
  // options must be numbered 1..n in order, or the trailing lines are something else
  if (options.length < 2 || !options.every((o, i) => o.n === i + 1)) return undefined;
  const choices = options.map((o) => o.text);
  const gold = Number(answer) - 1;
  return gold >= 0 && gold < choices.length ? { choices, gold } : undefined;
}

/** Python repr of a str→str dict: the answer format LooGLE's cloze prompt asks the model for. */
export function pyDictRepr(d: Record<string, string>): string {
  return `{${Object.entries(d).map(([k, v]) => `${pyStrRepr(k)}: ${pyStrRepr(v)}`).join(', ')}}`;
}

function pyStrRepr(s: string): string {
  // Python prefers single quotes unless the text has a ' and no "
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  const body = s.replace(/[\\\n\r\t]/g, (c) => ({ '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c]!);
  return q + (q === "'" ? body.replace(/'/g, "\\'") : body) + q;
}
