// Needle-in-a-haystack (after gkamradt/LLMTest_NeedleInAHaystack): Paul Graham essays concatenated to a
// target token length, one "needle" sentence inserted at a depth percentage, scored by keywords.
// Upstream works on token ids (encode, cut, insert, decode); here the tokenizer is only a counter
// (`countTokens`), so cuts are found by binary search over character prefixes, which gives the same text
// up to token-boundary effects and works with any tokenizer the caller has.
import { readdirSync, readFileSync } from 'node:fs';
import { seededRandom, shuffled } from '../../engine/random.js';
import { join } from 'node:path';

export const NEEDLE_SENTENCE = 'The best thing to do in San Francisco is eat a sandwich and sit in Dolores Park on a sunny day.';
/** Upstream's default needle (needlehaystack/run.py) is the sentence wrapped in newlines. */
export const DEFAULT_NEEDLE = `\n${NEEDLE_SENTENCE}\n`;
export const NEEDLE_QUESTION = 'What is the best thing to do in San Francisco?';
export const NEEDLE_KEYWORDS: readonly string[] = ['sandwich', 'dolores park', 'sunny'];

export interface HaystackOptions {
  essaysDir: string;
  contextLengthTokens: number;
  /** 0 = needle first, 100 = needle last. */
  depthPercent: number;
  countTokens: (s: string) => number;
  /** Default DEFAULT_NEEDLE. */
  needle?: string;
  /** When given, essays are shuffled with this seed instead of taken in sorted file order. */
  seed?: number;
  /** Tokens kept free for the prompt template, question and answer (upstream uses 150–200). Default 0. */
  bufferTokens?: number;
}

export interface Haystack {
  text: string;
  /** Where the needle string starts in `text`. */
  needleCharOffset: number;
  /** countTokens(text). */
  actualTokens: number;
  needle: string;
  depthPercent: number;
  contextLengthTokens: number;
}

/** Essay texts of a folder: *.txt in sorted name order (LICENSE and README files are not essays), or shuffled by `seed`. */
export function readEssays(essaysDir: string, seed?: number): string[] {
  const names = readdirSync(essaysDir).filter((n) => n.endsWith('.txt') && !/^(license|readme)/i.test(n)).sort();
  if (names.length === 0) throw new Error(`no .txt essays in ${essaysDir}`);
  const ordered = seed === undefined ? names : shuffled(seededRandom(seed), names);
  return ordered.map((n) => readFileSync(join(essaysDir, n), 'utf8'));
}

/**
 * Builds one haystack: essays concatenated (repeating if needed) and cut to
 * contextLengthTokens − bufferTokens − tokens(needle), then the needle inserted at depthPercent of the
 * haystack's tokens. As upstream, the insertion point then moves back to just after the previous '.', so
 * the needle starts a sentence (or the text, when no '.' precedes it); depth 100 appends at the end.
 */
export function buildHaystack(opts: HaystackOptions): Haystack {
  const { countTokens, depthPercent, contextLengthTokens } = opts;
  const needle = opts.needle ?? DEFAULT_NEEDLE;
  if (!(depthPercent >= 0 && depthPercent <= 100)) throw new RangeError(`depthPercent must be in [0, 100], got ${depthPercent}`);
  if (!(contextLengthTokens > 0)) throw new RangeError(`contextLengthTokens must be positive, got ${contextLengthTokens}`);
  const budget = Math.max(0, contextLengthTokens - (opts.bufferTokens ?? 0) - countTokens(needle));

  const essays = readEssays(opts.essaysDir, opts.seed);
  // grow with per-essay counts (cheap) and confirm with one full count, instead of recounting every step
  let context = '';
  let estimate = 0;
  for (let i = 0; budget > 0; i++) {
    const essay = essays[i % essays.length];
    context += essay;
    estimate += countTokens(essay);
    if (estimate >= budget && countTokens(context) >= budget) break;
  }
  context = context.slice(0, longestPrefixWithin(context, budget, countTokens));

  let at = context.length;
  if (depthPercent < 100) {
    const target = Math.floor(countTokens(context) * (depthPercent / 100));
    at = longestPrefixWithin(context, target, countTokens);
    while (at > 0 && context[at - 1] !== '.') at--;
  }
  const text = context.slice(0, at) + needle + context.slice(at);
  return { text, needleCharOffset: at, actualTokens: countTokens(text), needle, depthPercent, contextLengthTokens };
}

/** Largest L with countTokens(s.slice(0, L)) ≤ maxTokens (binary search; never splits a surrogate pair). */
export function longestPrefixWithin(s: string, maxTokens: number, countTokens: (s: string) => number): number {
  if (countTokens(s) <= maxTokens) return s.length;
  let lo = 0;
  let hi = s.length; // invariant: prefix lo fits, prefix hi does not
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (countTokens(s.slice(0, mid)) <= maxTokens) lo = mid;
    else hi = mid;
  }
  const c = s.charCodeAt(lo - 1);
  if (lo > 0 && c >= 0xd800 && c <= 0xdbff) lo--;
  return lo;
}

export interface NeedleScore {
  /** 1 when every keyword is present (the reported number), else 0. */
  score: 0 | 1;
  /** Fraction of keywords present. */
  recall: number;
  found: string[];
  missing: string[];
}

/** Case-insensitive keyword check of a model response against the needle's keywords. */
export function scoreNeedle(response: string, keywords: readonly string[] = NEEDLE_KEYWORDS): NeedleScore {
  const text = response.toLowerCase().replace(/\s+/g, ' ');
  const found = keywords.filter((k) => text.includes(k.toLowerCase()));
  const missing = keywords.filter((k) => !found.includes(k));
  return { score: missing.length === 0 ? 1 : 0, recall: keywords.length ? found.length / keywords.length : 1, found, missing };
}

export interface NeedleCell {
  contextLengthTokens: number;
  depthPercent: number;
}

/** Every (length, depth) pair, lengths outer, as upstream iterates them. */
export function needleGrid(lengths: readonly number[], depths: readonly number[]): NeedleCell[] {
  return lengths.flatMap((contextLengthTokens) => depths.map((depthPercent) => ({ contextLengthTokens, depthPercent })));
}

/** Upstream's interval helper: np.round(np.linspace(min, max, n)).astype(int) (round half to even). */
export function linspaceInts(min: number, max: number, n: number): number[] {
  if (n <= 1) return [Math.round(min)];
  const step = (max - min) / (n - 1); // numpy's order of operations, so .5 ties land the same way
  return Array.from({ length: n }, (_, i) => roundHalfEven(i * step + min));
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Haystacks for a whole grid, built lazily (each build reads and counts the essays again). */
export function* haystackGrid(
  base: Omit<HaystackOptions, 'contextLengthTokens' | 'depthPercent'>,
  lengths: readonly number[],
  depths: readonly number[],
): Generator<Haystack> {
  for (const cell of needleGrid(lengths, depths)) yield buildHaystack({ ...base, ...cell });
}

