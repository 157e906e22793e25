// A QA generator that needs no language model (LIFT.md §3's auxiliary QAs, made heuristically): cloze
// questions and recitation prompts cut from the document's own sentences. Weaker than model-written QAs but
// free, offline and deterministic for a seed, so LIFT runs anywhere and tests need no model.
//   cloze:   "Fill in the blank: <sentence with one span replaced by ___>"  → the hidden span
//   recite:  "What comes after: '<first half of the sentence>'?"            → the second half
//   about:   "What does the text say about <name>?"                         → the sentence (BuiltinQAOptions)
// What a cloze hides is chosen from general signals only, never from a sentence's wording: the candidate spans
// of a sentence are its numbers, its entities (capitalised word runs that do not start the sentence or a
// quote) and its content words (≥ 4 letters, not a function word); the sentence's cloze hides its rarest
// candidate in the passage (ties: a number or entity before a word, then the longer), and every other number or
// entity it holds that the passage says at most twice gets a cloze of its own (a sentence that relates two
// rare names is asked about both). Clozes are then taken rare first — a span said at most twice in the passage
// before any said more often — and within that, numbers and entities before words, then fewer occurrences,
// ties in seeded order: a name or figure said once is what absorbing must keep; a word on every page, the
// model meets anyway. Rare numbers and entities are exempt from "one question per sentence first".
// (builtin-v2 ranked a word after "called"/"named" first: tuned to the old recall bench's one fact wording.)
// Answers are verbatim spans of the sentence; the evidence is the sentence itself (a slice of the passage).
import { shuffled, rngFor } from '../rng.js';
import { splitSentences } from '../sentences.js';
import { withoutPageMarkers } from '../../docs/pages.js';
import type { QAGenerateOptions, QAGenerator, QAPair } from './types.js';
import { drainSync, drive, type Progress } from '../pace.js';

interface Candidate { sentence: number; qa: QAPair; kind?: SpanKind; count?: number }

const FUNCTION_WORDS = new Set(('the a an and or but of to in on at by for with from as is are was were be been it its this that ' +
  'these those there then than they them their he she his her him we you your our i me my not no so very just into over under ' +
  'about after before while when where which who what would could should have has had will shall can may might must').split(' '));

type Span = [number, number];
/** 0 a number, 1 an entity (capitalised run), 2 a content word. */
type SpanKind = 0 | 1 | 2;

/** Every candidate span of a sentence (offsets within it) with its kind; empty when nothing suits. */
export function candidateSpans(sentence: string): { span: Span; kind: SpanKind }[] {
  const out: { span: Span; kind: SpanKind }[] = [];
  for (const m of sentence.matchAll(/\d(?:[\d,.]*\d)?%?/g)) out.push({ span: [m.index!, m.index! + m[0].length], kind: 0 });
  // Capitalised runs that do not start the sentence; "I" and words right after a colon/quote are skipped.
  const words = [...sentence.matchAll(/[\p{L}][\p{L}'-]*/gu)];
  const inRun = new Set<number>();
  for (let i = 1; i < words.length; i++) {
    const w = words[i];
    if (!/^\p{Lu}/u.test(w[0]) || w[0] === 'I' || /[:"\u201c]\s*$/.test(sentence.slice(0, w.index!))) continue;
    let j = i;
    while (j + 1 < words.length && /^\p{Lu}/u.test(words[j + 1][0]) && /^\s+$/.test(sentence.slice(words[j].index! + words[j][0].length, words[j + 1].index!))) j++;
    out.push({ span: [w.index!, words[j].index! + words[j][0].length], kind: 1 });
    for (let k = i; k <= j; k++) inRun.add(k);
    i = j;
  }
  words.forEach((w, i) => {
    if (!inRun.has(i) && w[0].length >= 4 && !FUNCTION_WORDS.has(w[0].toLowerCase())) out.push({ span: [w.index!, w.index! + w[0].length], kind: 2 });
  });
  return out;
}

/**
 * The span a cloze hides in a sentence, given how often each candidate occurs in the passage (`count`, default:
 * every candidate once): the rarest; ties a number or entity before a word, then the longer, then the first.
 */
export function clozeSpan(sentence: string, count: (span: string) => number = () => 1): Span | null {
  return pickSpan(sentence, count)?.span ?? null;
}

function pickSpan(sentence: string, count: (span: string) => number): { span: Span; kind: SpanKind; count: number } | null {
  let best: { span: Span; kind: SpanKind; count: number } | null = null;
  for (const c of candidateSpans(sentence)) {
    const x = { ...c, count: count(sentence.slice(c.span[0], c.span[1])) };
    if (best === null || compareSpans(x, best) < 0) best = x;
  }
  return best;
}

/** Fewer occurrences first, then a number or entity before a word, then the longer span. */
function compareSpans(a: { span: Span; kind: SpanKind; count: number }, b: { span: Span; kind: SpanKind; count: number }): number {
  const cls = (k: SpanKind): number => (k === 2 ? 1 : 0);
  return a.count - b.count || cls(a.kind) - cls(b.kind) || (b.span[1] - b.span[0]) - (a.span[1] - a.span[0]);
}

/** "What comes after" split of a sentence at the word boundary nearest its middle; null for short sentences. */
export function recitationSplit(sentence: string): [string, string] | null {
  const gaps = [...sentence.matchAll(/\s+/g)];
  if (gaps.length < 5) return null;
  const mid = sentence.length / 2;
  const g = gaps.reduce((b, x) => (Math.abs(x.index! - mid) < Math.abs(b.index! - mid) ? x : b));
  return [sentence.slice(0, g.index!), sentence.slice(g.index! + g[0].length)];
}

export interface BuiltinQAOptions {
  /**
   * Also ask "What does the text say about E?" → the sentence, for each name E the passage says at most twice
   * (mid-sentence capitalised runs, and a sentence's first word when the passage never writes it in lower
   * case): the name → its sentence in the answer prompt's own format. Pattern cloze, cloze, recitation, about.
   * Default true (builtin-v5): on the recall suite (docs/recall.md, 2k tokens, seeds 1 and 2; measured with the
   * about-questions second of four — the same QAs for seed 1, one cloze for an about-question on seed 2) questions through
   * ask() went 0.04 → 0.17 and 0.00 → 0.25, paraphrased prefixes 0.12 → 0.21 and 0.08 → 0.13, own prefixes
   * 0.71 → 0.79 and 0.88 → 0.83, held-out NLL the same. false: builtin-v4, clozes and recitations only.
   */
  about?: boolean;
  /**
   * Ask each about-question in one of several wordings (ABOUT_WORDINGS, drawn per question from the seed)
   * instead of always "What does the text say about E?", so that what the answer hangs on is the name, not one
   * question's words (builtin-v6). Default false.
   */
  aboutWordings?: boolean;
}

/** Ways to ask what a passage says about a name E (generic: none names a relation, a place, a number or a time). */
export const ABOUT_WORDINGS: readonly ((e: string) => string)[] = [
  (e) => `What does the text say about ${e}?`,
  (e) => `What do we learn about ${e}?`,
  (e) => `Tell me about ${e}.`,
  (e) => `What is written about ${e}?`,
  (e) => `What do you know about ${e}?`,
  (e) => `Which part of the text is about ${e}?`,
];

export class BuiltinQAGenerator implements QAGenerator {
  readonly id: string;
  constructor(readonly options: BuiltinQAOptions = {}) {
    this.id = options.about === false ? 'builtin-v4' : options.aboutWordings ? 'builtin-v6' : 'builtin-v5';
  }

  /** Interruptible: pauses every ~50 ms (opts.signal ends it with an AbortedError); progress in sentences. */
  async generate(passage: string, n: number, opts: QAGenerateOptions = {}): Promise<QAPair[]> {
    return drive(builtinSteps(passage, n, opts.seed ?? 0, this.options), { phase: 'synthesizing QAs', signal: opts.signal, onProgress: opts.onProgress });
  }
}

/** Synchronous core of BuiltinQAGenerator: up to n QAs, two clozes per recitation, one per sentence first. */
export function builtinQAs(passage: string, n: number, seed = 0, options: BuiltinQAOptions = {}): QAPair[] {
  return drainSync(builtinSteps(passage, n, seed, options));
}

/** Words that open English sentences without being names (a short text may never write them in lower case). */
const OPENERS = new Set('once one later suddenly finally soon today yesterday tomorrow now every everyone everything some someone something also still yes please maybe'.split(' '));

/** The names of a sentence for "about" questions: its entity spans, and its first word when the passage never
 *  writes that word in lower case (a proper noun, not "The") and no comma follows it; a possessive "'s" is dropped. */
function namesOf(sentence: string, lowerWords: ReadonlySet<string>): string[] {
  const out = candidateSpans(sentence).filter((c) => c.kind === 1).map((c) => sentence.slice(c.span[0], c.span[1]));
  // "Suddenly," / "Later," open sentences without being names: a first word right before a comma is skipped.
  const first = /^[\p{Lu}][\p{L}'-]*/u.exec(sentence)?.[0];
  if (first && first !== 'I' && !sentence.slice(first.length).startsWith(',')) {
    const base = first.replace(/['\u2019]s$/, '');
    if (!lowerWords.has(base.toLowerCase()) && !FUNCTION_WORDS.has(base.toLowerCase()) && !OPENERS.has(base.toLowerCase())) out.unshift(base);
  }
  return [...new Set(out.map((x) => x.replace(/['\u2019]s$/, '')))];
}

/** builtinQAs as steps: progress in sentences examined (the splitting and counting are one step each). */
function* builtinSteps(passage: string, n: number, seed: number, opts: BuiltinQAOptions = {}): Generator<Progress, QAPair[]> {
  const options = { about: opts.about ?? true, aboutWordings: opts.aboutWordings ?? false };
  const wordingRng = rngFor(seed, 0x5b);
  // A PDF's "[page N]" marker lines are navigation, not content: never a sentence, so never a cloze answer.
  const sentences = splitSentences(withoutPageMarkers(passage)).map((s) => s.text).filter((s) => /\s/.test(s));
  const total = sentences.length + 2;
  yield [1, total];
  // Every candidate span of every sentence, counted in the passage in one pass.
  const spans = sentences.map((s) => candidateSpans(s).map((c) => s.slice(c.span[0], c.span[1])));
  const lowerWords = new Set(options.about ? passage.match(/(?<![\p{L}'-])\p{Ll}[\p{L}'-]*/gu) ?? [] : []);
  const names = options.about ? sentences.map((s) => namesOf(s, lowerWords)) : [];
  const counts = yield* occurrenceSteps(passage, [...spans.flat(), ...names.flat()], 1, total);
  const abouts: Candidate[] = [];
  const clozes: Candidate[] = [];
  const recites: Candidate[] = [];
  for (let i = 0; i < sentences.length; i++) {
    if (i % 256 === 0) yield [1 + i, total];
    const s = sentences[i];
    const countOf = (x: string): number => counts.get(x) ?? 1;
    const picked = pickSpan(s, countOf);
    const rareNames = candidateSpans(s).filter((c) => c.kind !== 2 && countOf(s.slice(c.span[0], c.span[1])) <= 2);
    for (const c of picked ? [picked, ...rareNames.filter((r) => r.span[0] !== picked.span[0])] : []) {
      const span = c.span;
      if (span[1] - span[0] >= s.length) continue;
      clozes.push({ sentence: i, kind: c.kind, count: countOf(s.slice(span[0], span[1])), qa: { question: `Fill in the blank: ${s.slice(0, span[0])}___${s.slice(span[1])}`, answer: s.slice(span[0], span[1]), evidence: [s] } });
    }
    const split = recitationSplit(s);
    if (split) recites.push({ sentence: i, qa: { question: `What comes after: '${split[0]}'?`, answer: split[1], evidence: [s] } });
    for (const e of names[i] ?? []) {
      const c = countOf(e);
      const ask = options.aboutWordings ? ABOUT_WORDINGS[Math.floor(wordingRng() * ABOUT_WORDINGS.length)] : ABOUT_WORDINGS[0];
      if (c <= 2) abouts.push({ sentence: i, kind: 1, count: c, qa: { question: ask(e), answer: s, evidence: [s] } });
    }
  }
  const rng = rngFor(seed, 0x5a);
  // Rare (≤ 2 occurrences) first; then numbers and entities before words; then fewer occurrences. The sort is
  // stable: clozes that tie keep their seeded order.
  const rare = (c: Candidate): number => (c.count! <= 2 ? 0 : 1);
  const cls = (c: Candidate): number => (c.kind === 2 ? 1 : 0);
  const byValue = (a: Candidate, b: Candidate): number => rare(a) - rare(b) || cls(a) - cls(b) || a.count! - b.count!;
  const rareName = (c: Candidate): boolean => c.kind !== undefined && c.kind !== 2 && c.count! <= 2;
  const pools = [shuffled(rng, clozes).sort(byValue), shuffled(rng, recites), shuffled(rng, abouts).sort((a, b) => a.count! - b.count!)];
  // About-questions last: with up to 3 QAs the mix is v4's (two clozes, a recitation).
  const pattern = options.about ? [0, 0, 1, 2] : [0, 0, 1];
  const out: QAPair[] = [];
  const usedSentence = new Set<number>();
  const usedCandidate = new Set<Candidate>();
  // Pass 0 uses each sentence once; pass 1 allows a second question (the other kind) on a sentence.
  for (let pass = 0; pass < 2 && out.length < n; pass++) {
    // A candidate that fails the test once fails it for the rest of the pass (used sets only grow), so each
    // pool is scanned once per pass from a cursor: linear in the candidates, not candidates × n.
    const cursor = [0, 0, 0];
    const next = (p: number): Candidate | undefined => {
      const pool = pools[p];
      while (cursor[p] < pool.length && (usedCandidate.has(pool[cursor[p]]) || (pass === 0 && usedSentence.has(pool[cursor[p]].sentence) && !rareName(pool[cursor[p]])))) cursor[p]++;
      return pool[cursor[p]];
    };
    for (let k = 0; out.length < n; k++) {
      const first = pattern[k % pattern.length];
      const order = [first, ...[0, 1, 2].filter((p) => p !== first && (p < 2 || options.about))];
      let took = false;
      for (const p of order) {
        const c = next(p);
        if (c) { usedCandidate.add(c); usedSentence.add(c.sentence); out.push(c.qa); took = true; break; }
      }
      if (!took) break;
    }
  }
  return out;
}

/**
 * How often each answer occurs in the passage: what `passage.split(answer).length - 1` counts (leftmost
 * non-overlapping occurrences), for all answers in one pass (Aho–Corasick over UTF-16 code units). Calling
 * split once per candidate (one per sentence) was quadratic in the document: 3.6 s for 1 MB, 55 s for 4 MB.
 */
export function occurrences(passage: string, answers: readonly string[]): Map<string, number> {
  return drainSync(occurrenceSteps(passage, answers, 0, 1));
}

/** occurrences as steps: reports `at` of `total` every 2^20 characters scanned. */
function* occurrenceSteps(passage: string, answers: readonly string[], at: number, total: number): Generator<Progress, Map<string, number>> {
  const patterns = [...new Set(answers)].filter((a) => a.length > 0);
  // The trie: node 0 is the root; edges in one Map keyed node · 2^16 + code unit; out[n] = the pattern that
  // ends at n (−1 none), dict[n] = the nearest node on n's failure chain where a pattern ends (0 none).
  const edges = new Map<number, number>();
  const parent = [0], code = [0], depth = [0], out = [-1];
  patterns.forEach((a, p) => {
    let n = 0;
    for (let i = 0; i < a.length; i++) {
      const key = n * 65536 + a.charCodeAt(i);
      let m = edges.get(key);
      if (m === undefined) {
        m = parent.length;
        parent.push(n); code.push(a.charCodeAt(i)); depth.push(i + 1); out.push(-1);
        edges.set(key, m);
      }
      n = m;
    }
    out[n] = p;
  });
  const N = parent.length;
  const fail = new Int32Array(N), dict = new Int32Array(N);
  // Shallower nodes first: a node's failure link needs its parent's.
  const byDepth = [...Array(N).keys()].sort((a, b) => depth[a] - depth[b]);
  const step = (n: number, c: number): number => {
    for (;;) {
      const m = edges.get(n * 65536 + c);
      if (m !== undefined) return m;
      if (n === 0) return 0;
      n = fail[n];
    }
  };
  for (const n of byDepth) {
    if (n === 0) continue;
    fail[n] = parent[n] === 0 ? 0 : step(fail[parent[n]], code[n]);
    dict[n] = out[fail[n]] >= 0 ? fail[n] : dict[fail[n]];
  }
  const counts = new Int32Array(patterns.length), lastEnd = new Float64Array(patterns.length);
  let n = 0;
  for (let i = 0; i < passage.length; i++) {
    if ((i & 0xfffff) === 0) yield [at, total];
    n = step(n, passage.charCodeAt(i));
    for (let o = out[n] >= 0 ? n : dict[n]; o !== 0; o = dict[o]) {
      const p = out[o], start = i + 1 - patterns[p].length;
      if (start >= lastEnd[p]) { counts[p]++; lastEnd[p] = i + 1; }
    }
  }
  const result = new Map<string, number>(answers.filter((a) => a.length === 0).map((a) => [a, passage.split(a).length - 1]));
  patterns.forEach((a, p) => result.set(a, counts[p]));
  return result;
}
