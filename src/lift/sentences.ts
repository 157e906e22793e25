// Sentence splitting for QA synthesis (docs/method.md §3: "pick 16 consecutive sentences") and retrieval chunks.
// Heuristic and language-light on purpose: a sentence ends at . ! or ? (plus closing quotes/brackets) before
// whitespace, or at a blank line; common abbreviations and single initials do not end a sentence. Every
// sentence is an exact slice of the input (start/end offsets), so evidence and answers stay verbatim.

export interface Sentence {
  text: string;
  /** Offsets in the input: input.slice(start, end) === text. */
  start: number;
  end: number;
}

const ABBREVIATIONS = new Set(['mr', 'mrs', 'ms', 'dr', 'prof', 'sr', 'jr', 'st', 'mt', 'vs', 'etc', 'e.g', 'i.e', 'no', 'vol', 'fig', 'inc', 'ltd', 'co', 'jan', 'feb', 'mar', 'apr', 'jun', 'jul', 'aug', 'sep', 'sept', 'oct', 'nov', 'dec', 'gen', 'col', 'capt', 'lt', 'sgt', 'rev', 'u.s', 'u.k']);

/** True when the period at `dot` most likely belongs to an abbreviation or an initial ("J. R. R. Tolkien"). */
function isAbbreviation(text: string, dot: number): boolean {
  let i = dot;
  while (i > 0 && /[A-Za-z.]/.test(text[i - 1])) i--;
  const word = text.slice(i, dot).toLowerCase();
  if (word.length === 1 && /[a-z]/.test(word)) return /[A-Z]/.test(text[i]); // single capital initial
  return ABBREVIATIONS.has(word);
}

/** Splits text into trimmed sentences with their offsets; empty pieces are dropped. */
export function splitSentences(text: string): Sentence[] {
  const out: Sentence[] = [];
  const push = (from: number, to: number): void => {
    while (from < to && /\s/.test(text[from])) from++;
    while (to > from && /\s/.test(text[to - 1])) to--;
    if (to > from) out.push({ text: text.slice(from, to), start: from, end: to });
  };
  const boundary = /([.!?]+)["'\u201d\u2019)\]]*(?=\s|$)|\n[ \t]*\n/g;
  let from = 0;
  for (let m = boundary.exec(text); m !== null; m = boundary.exec(text)) {
    if (m[1] === '.' && isAbbreviation(text, m.index)) continue;
    const to = m[0].startsWith('\n') ? m.index : m.index + m[0].length;
    push(from, to);
    from = m.index + m[0].length;
  }
  push(from, text.length);
  return out;
}

/** Collapses runs of whitespace to one space and trims (the only normalisation evidence checks allow, §3). */
export function normalizeSpace(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}
