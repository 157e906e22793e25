// Answer-scoring metrics for LIFT evaluations (docs/method.md §9): SQuAD-normalised token F1 and exact match,
// ROUGE-L, keyword recall, multiple-choice parsing/accuracy, LooGLE's cloze match, and the GPT-4 judge
// prompt/verdict parsing. Pure functions; the HTTP call to a judge model lives elsewhere.
import { parsePyLiteral } from './pyliteral.js';

// ---------------------------------------------------------------- SQuAD / LongBench QA

// Python's string.punctuation: the SQuAD script removes exactly these characters (ASCII only)
const PUNCT = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;
// \b(a|an|the)\b as Python's Unicode-aware \b sees it (JS \b is ASCII-only)
const ARTICLES = /(?<![\p{L}\p{N}\p{M}_])(a|an|the)(?![\p{L}\p{N}\p{M}_])/gu;

/** SQuAD normalisation: lowercase, drop punctuation, drop articles a/an/the, collapse whitespace. */
export function normalizeAnswer(s: string): string {
  return s.toLowerCase().replace(PUNCT, '').replace(ARTICLES, ' ').split(/\s+/).filter(Boolean).join(' ');
}

function tokens(s: string): string[] {
  const n = normalizeAnswer(s);
  return n === '' ? [] : n.split(' ');
}

/**
 * Token F1 between one prediction and one reference after normalisation (SQuAD v1.1 / LongBench qa_f1_score:
 * no common token → 0, which includes both being empty).
 */
export function tokenF1(prediction: string, reference: string): number {
  const p = tokens(prediction);
  const r = tokens(reference);
  const counts = new Map<string, number>();
  for (const t of r) counts.set(t, (counts.get(t) ?? 0) + 1);
  let same = 0;
  for (const t of p) {
    const c = counts.get(t) ?? 0;
    if (c > 0) {
      same++;
      counts.set(t, c - 1);
    }
  }
  if (same === 0) return 0;
  const precision = same / p.length;
  const recall = same / r.length;
  return (2 * precision * recall) / (precision + recall);
}

/** Max token F1 over the references (0 with no references). */
export function f1Score(prediction: string, references: readonly string[]): number {
  return Math.max(0, ...references.map((r) => tokenF1(prediction, r)));
}

/** 1 when the normalised prediction equals some normalised reference, else 0. */
export function exactMatch(prediction: string, references: readonly string[]): number {
  const p = normalizeAnswer(prediction);
  return references.some((r) => normalizeAnswer(r) === p) ? 1 : 0;
}

// ---------------------------------------------------------------- ROUGE-L

export interface RougeScore {
  precision: number;
  recall: number;
  f: number;
}

/** Length of the longest common subsequence of two token lists (O(n·m) time, O(m) memory). */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  let prev = new Uint32Array(b.length + 1);
  let cur = new Uint32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      cur[j] = a[i - 1] === b[j - 1] ? prev[j - 1] + 1 : Math.max(prev[j], cur[j - 1]);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length];
}

/**
 * ROUGE-L (Lin 2004), sentence-level variant: LCS over whitespace tokens of the whole texts,
 * P = LCS/|pred|, R = LCS/|ref|, F = 2PR/(P+R) (β = 1), case-sensitive and unnormalised like LongBench's
 * rouge_score, unless `normalize` applies the SQuAD normalisation first.
 * LongBench calls the `rouge` pip package, whose rouge-l is the summary-level union-LCS over '.'-split
 * sentences with P/R denominators counting distinct words; for single-sentence texts without repeated
 * words the two agree, on long multi-sentence summaries they can differ by a few points.
 */
export function rougeL(prediction: string, reference: string, opts: { normalize?: boolean } = {}): RougeScore {
  const split = (s: string) => (opts.normalize ? tokens(s) : s.split(/\s+/).filter(Boolean));
  const p = split(prediction);
  const r = split(reference);
  const lcs = lcsLength(p, r);
  if (lcs === 0) return { precision: 0, recall: 0, f: 0 };
  const precision = lcs / p.length;
  const recall = lcs / r.length;
  return { precision, recall, f: (2 * precision * recall) / (precision + recall) };
}

/** Max ROUGE-L F over the references. */
export function rougeLScore(prediction: string, references: readonly string[], opts: { normalize?: boolean } = {}): number {
  return Math.max(0, ...references.map((r) => rougeL(prediction, r, opts).f));
}

// ---------------------------------------------------------------- keywords

/** Fraction of keywords found in the prediction (case-insensitive substring match, whitespace collapsed). */
export function keywordRecall(prediction: string, keywords: readonly string[]): number {
  if (keywords.length === 0) return 1;
  const text = prediction.toLowerCase().replace(/\s+/g, ' ');
  return keywords.filter((k) => text.includes(k.toLowerCase().replace(/\s+/g, ' '))).length / keywords.length;
}

// ---------------------------------------------------------------- multiple choice

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/**
 * Maps a free-text prediction to a choice index, or null when it names none or several:
 * 1. the whole prediction is an option's text (normalised);
 * 2. a label at the start — "(B)", "B", "B.", "B)", "B: ...", "2." — or after "answer/option/choice (is)";
 *    a bare letter must be uppercase and followed by punctuation or the end, so "A dog" is not option A;
 * 3. exactly one option's normalised text occurs inside the prediction.
 */
export function parseChoice(prediction: string, choices: readonly string[]): number | null {
  const t = prediction.trim();
  if (t === '' || choices.length === 0) return null;
  const norm = normalizeAnswer(t);
  const exact = choices.flatMap((c, i) => (normalizeAnswer(c) === norm && norm !== '' ? [i] : []));
  if (exact.length === 1) return exact[0];

  const fromLabel = (label: string): number | null => {
    const idx = /^\d+$/.test(label) ? Number(label) - 1 : LETTERS.indexOf(label.toUpperCase());
    return idx >= 0 && idx < choices.length ? idx : null;
  };
  const start =
    /^\(\s*([A-Za-z]|\d+)\s*\)/.exec(t) ?? /^([A-Z]|\d+)(?=$|[.):,]|\s*[-–—:])/.exec(t);
  if (start) {
    const idx = fromLabel(start[1]);
    if (idx !== null) return idx;
  }
  const phrase = /\b(?:answer|option|choice)\s*(?:is|would be|:)?\s*[:-]?\s*(?:\(\s*([A-Za-z]|\d+)\s*\)|([A-Z]|\d+))(?![A-Za-z0-9])/i.exec(t);
  if (phrase) {
    const idx = fromLabel(phrase[1] ?? phrase[2]);
    if (idx !== null) return idx;
  }
  const padded = ` ${norm} `;
  const contained = choices.flatMap((c, i) => {
    const n = normalizeAnswer(c);
    return n !== '' && padded.includes(` ${n} `) ? [i] : [];
  });
  return contained.length === 1 ? contained[0] : null;
}

export interface ChoiceItem {
  prediction: string;
  choices: readonly string[];
  gold: number;
}

/** Multiple-choice accuracy; unparseable predictions count as wrong and are reported separately. */
export function choiceAccuracy(items: readonly ChoiceItem[]): { accuracy: number; correct: number; unparsed: number; total: number } {
  let correct = 0;
  let unparsed = 0;
  for (const it of items) {
    const idx = parseChoice(it.prediction, it.choices);
    if (idx === null) unparsed++;
    else if (idx === it.gold) correct++;
  }
  return { accuracy: items.length ? correct / items.length : 0, correct, unparsed, total: items.length };
}

// ---------------------------------------------------------------- LooGLE cloze

/**
 * LooGLE's cloze scores (Evaluation/automatic_metrics.py get_exact_match / get_partial_match): the
 * prediction is evaluated as a Python dict literal (upstream uses eval; here the strict literal parser);
 * exact counts masks whose predicted string equals the reference, partial those sharing at least one
 * whitespace token. An unparseable prediction scores 0 of count. `lenient` first cuts the prediction to its
 * outermost {...} span (not upstream; use it only when reporting it).
 */
export function clozeMatch(
  prediction: string,
  masks: Readonly<Record<string, string>>,
  opts: { lenient?: boolean } = {},
): { exact: number; partial: number; count: number } {
  const count = Object.keys(masks).length;
  let src = prediction.trim();
  if (opts.lenient) {
    const a = src.indexOf('{');
    const b = src.lastIndexOf('}');
    if (a >= 0 && b > a) src = src.slice(a, b + 1);
  }
  let hyp: unknown;
  try {
    hyp = parsePyLiteral(src);
  } catch {
    return { exact: 0, partial: 0, count };
  }
  if (hyp === null || typeof hyp !== 'object' || Array.isArray(hyp) || hyp instanceof Set || hyp instanceof Uint8Array) {
    return { exact: 0, partial: 0, count };
  }
  const h = hyp as Record<string, unknown>;
  let exact = 0;
  let partial = 0;
  for (const [k, ref] of Object.entries(masks)) {
    if (!Object.prototype.hasOwnProperty.call(h, k)) continue;
    const v = h[k];
    if (v === ref) exact++;
    if (typeof v === 'string') {
      const refSet = new Set(ref.split(/\s+/).filter(Boolean));
      if (v.split(/\s+/).some((w) => w !== '' && refSet.has(w))) partial++;
    }
  }
  return { exact, partial, count };
}

// ---------------------------------------------------------------- LLM judge

/**
 * The GPT-4 judge of LooGLE, which the LIFT paper's LooGLE numbers (docs/method.md §7) use. Source:
 * github.com/bigai-nlco/LooGLE, Evaluation/llm_score.py (commit d3c81ae0), get_gpt4_score for QA tasks:
 * a system message asking for 'True' or 'False' and a user message "Question: …\ngroudtruth = …\n
 * predict_answer = …", called with temperature 0 and max_tokens 10. The wording, including the
 * "groudtruth" typo, is kept as upstream so scores stay comparable with published ones.
 */
export const JUDGE_SYSTEM_PROMPT =
  "Given one question, there is a groundtruth and a predict_answer. Please decide whether they are the same or not in semantic. Please only output 'True' or 'False' .";

export function buildJudgePrompt(question: string, reference: string, prediction: string): { system?: string; user: string } {
  return {
    system: JUDGE_SYSTEM_PROMPT,
    user: `Question: ${question}\ngroudtruth = ${reference}\npredict_answer = ${prediction}`,
  };
}

/**
 * The judge's verdict: true/false, or null when it gave neither (upstream then leaves the item out of both
 * numerator and denominator). Upstream only counts the exact strings "True"/"False"; this also accepts
 * case, quotes, a trailing period, or a single unambiguous true/false word in a longer reply.
 */
export function parseJudgeVerdict(text: string): boolean | null {
  const t = text.trim().replace(/^[\s"'`*]+|[\s"'`*.!]+$/g, '').toLowerCase();
  if (t === 'true') return true;
  if (t === 'false') return false;
  const lead = /^(true|false)\b/.exec(t);
  if (lead) return lead[1] === 'true';
  const hasTrue = /\btrue\b/.test(t);
  const hasFalse = /\bfalse\b/.test(t);
  return hasTrue !== hasFalse ? hasTrue : null;
}
