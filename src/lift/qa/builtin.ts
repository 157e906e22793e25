// A QA generator that needs no language model (LIFT.md §3's auxiliary QAs, made heuristically): cloze
// questions and recitation prompts cut from the document's own sentences. Weaker than model-written QAs but
// free, offline and deterministic for a seed, so LIFT runs anywhere and tests need no model.
//   cloze:   "Fill in the blank: <sentence with one span replaced by ___>"  → the hidden span
//            span priority: a word after "called"/"named", a number, a capitalised non-initial word run (a
//            proper name), else the sentence's longest content word (a stand-in for a noun phrase)
//   recite:  "What comes after: '<first half of the sentence>'?"            → the second half
// Answers are verbatim spans of the sentence; the evidence is the sentence itself (a slice of the passage).
// Clozes are taken by the span priority above, then rarest answer first (how often the hidden span occurs in
// the passage), ties in seeded order: a name said once is what absorbing must keep; a content word, or a name
// on every page, the model meets anyway.
import { shuffled, rngFor } from '../rng.js';
import { splitSentences } from '../sentences.js';
import type { QAGenerateOptions, QAGenerator, QAPair } from './types.js';

interface Candidate { sentence: number; qa: QAPair; kind?: number }

const FUNCTION_WORDS = new Set(('the a an and or but of to in on at by for with from as is are was were be been it its this that ' +
  'these those there then than they them their he she his her him we you your our i me my not no so very just into over under ' +
  'about after before while when where which who what would could should have has had will shall can may might must').split(' '));

type Span = [number, number];

/** The span to hide in a sentence (offsets within it), by the priority above; null when nothing suits. */
export function clozeSpan(sentence: string): Span | null {
  return rankedClozeSpan(sentence)?.span ?? null;
}

/** clozeSpan with its kind: 0 a name after "called"/"named", 1 a number, 2 a proper name, 3 a content word. */
function rankedClozeSpan(sentence: string): { span: Span; kind: number } | null {
  // "called the Weeping Span" hides "Weeping Span"; "called it off" is no name, so function words are skipped.
  const called = /\b(?:called|named)\s+(?:(?:the|a|an)\s+)?((?:[A-Z][\w'-]*)(?:\s+[A-Z][\w'-]*)*|[\w'-]+)/.exec(sentence);
  if (called && !FUNCTION_WORDS.has(called[1].toLowerCase())) {
    const start = called.index + called[0].length - called[1].length;
    return { span: [start, start + called[1].length], kind: 0 };
  }
  const num = /\d(?:[\d,.]*\d)?%?/.exec(sentence);
  if (num) return { span: [num.index, num.index + num[0].length], kind: 1 };
  // Capitalised runs that do not start the sentence; "I" and words right after a colon/quote are skipped.
  const words = [...sentence.matchAll(/[\p{L}][\p{L}'-]*/gu)];
  for (let i = 1; i < words.length; i++) {
    const w = words[i];
    if (!/^\p{Lu}/u.test(w[0]) || w[0] === 'I' || /[:"\u201c]\s*$/.test(sentence.slice(0, w.index!))) continue;
    let j = i;
    while (j + 1 < words.length && /^\p{Lu}/u.test(words[j + 1][0]) && /^\s+$/.test(sentence.slice(words[j].index! + words[j][0].length, words[j + 1].index!))) j++;
    return { span: [w.index!, words[j].index! + words[j][0].length], kind: 2 };
  }
  let best: RegExpMatchArray | null = null;
  for (const w of words) {
    if (w[0].length >= 5 && !FUNCTION_WORDS.has(w[0].toLowerCase()) && (best === null || w[0].length > best[0].length)) best = w;
  }
  return best ? { span: [best.index!, best.index! + best[0].length], kind: 3 } : null;
}

/** "What comes after" split of a sentence at the word boundary nearest its middle; null for short sentences. */
export function recitationSplit(sentence: string): [string, string] | null {
  const gaps = [...sentence.matchAll(/\s+/g)];
  if (gaps.length < 5) return null;
  const mid = sentence.length / 2;
  const g = gaps.reduce((b, x) => (Math.abs(x.index! - mid) < Math.abs(b.index! - mid) ? x : b));
  return [sentence.slice(0, g.index!), sentence.slice(g.index! + g[0].length)];
}

export class BuiltinQAGenerator implements QAGenerator {
  readonly id = 'builtin-v2';

  async generate(passage: string, n: number, opts: QAGenerateOptions = {}): Promise<QAPair[]> {
    return builtinQAs(passage, n, opts.seed ?? 0);
  }
}

/** Synchronous core of BuiltinQAGenerator: up to n QAs, two clozes per recitation, one per sentence first. */
export function builtinQAs(passage: string, n: number, seed = 0): QAPair[] {
  const sentences = splitSentences(passage).map((s) => s.text).filter((s) => /\s/.test(s));
  const clozes: Candidate[] = [];
  const recites: Candidate[] = [];
  sentences.forEach((s, i) => {
    const ranked = rankedClozeSpan(s), span = ranked?.span;
    if (span && span[1] - span[0] < s.length) {
      clozes.push({ sentence: i, kind: ranked.kind, qa: { question: `Fill in the blank: ${s.slice(0, span[0])}___${s.slice(span[1])}`, answer: s.slice(span[0], span[1]), evidence: [s] } });
    }
    const split = recitationSplit(s);
    if (split) recites.push({ sentence: i, qa: { question: `What comes after: '${split[0]}'?`, answer: split[1], evidence: [s] } });
  });
  const rng = rngFor(seed, 0x5a);
  const rarity = new Map(clozes.map((c) => [c, passage.split(c.qa.answer).length - 1]));
  // Array.prototype.sort is stable: clozes of the same kind and rarity keep their seeded order.
  const byValue = (a: Candidate, b: Candidate): number => a.kind! - b.kind! || rarity.get(a)! - rarity.get(b)!;
  const pools = [shuffled(rng, clozes).sort(byValue), shuffled(rng, recites)];
  const pattern = [0, 0, 1];
  const out: QAPair[] = [];
  const usedSentence = new Set<number>();
  const usedCandidate = new Set<Candidate>();
  // Pass 0 uses each sentence once; pass 1 allows a second question (the other kind) on a sentence.
  for (let pass = 0; pass < 2 && out.length < n; pass++) {
    for (let k = 0; out.length < n; k++) {
      const order = [pattern[k % 3], 1 - pattern[k % 3]];
      let took = false;
      for (const p of order) {
        const c = pools[p].find((x) => !usedCandidate.has(x) && (pass > 0 || !usedSentence.has(x.sentence)));
        if (c) { usedCandidate.add(c); usedSentence.add(c.sentence); out.push(c.qa); took = true; break; }
      }
      if (!took) break;
    }
  }
  return out;
}
