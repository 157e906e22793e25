// A long document as several adapters: the text is cut at paragraph boundaries into parts of about equal
// length, each part is absorbed into an adapter of its own (the same recipe, its own QAs), and an AdapterRouter
// (src/adapters/route.ts) applies, per request, the part whose adapter finds the request most likely.
//
// Why: one adapter's recall falls with the document's length at a fixed recipe — stories260K recalled 0.83 of
// its planted facts by their own prefix at 2.7–2.9k tokens, 0.62 at 4.7–6.3k, 0.38 at ~9k and 0.12 at ~17k
// (docs/recall.md), and the held-out NLL drifts further the more steps a document takes. Parts keep every
// adapter at the length where the recipe was measured; what they cost is one scoring pass per part per request
// and a wrong choice when the request does not point at its part.
import type { LoadedModel } from '../model/load.js';
import { AdapterRouter } from '../adapters/route.js';
import { absorb, type AbsorbDocument, type AbsorbOptions, type AbsorbResult } from './absorb.js';

/**
 * Where a part may end, coarsest first: a blank line (a paragraph break), a line break, a sentence's end. A unit
 * longer than a part is cut at the next finer break, so a text with no blank lines (an extracted PDF, one long
 * paragraph) still splits.
 */
const BREAKS = [/\n[ \t]*\n\s*/g, /\n\s*/g, /(?<=[.!?]["'”’)\]]*)\s+/g];

/** The spans [start, end) of text[a, b) between matches of `re` (the matches dropped). */
function spansBetween(text: string, a: number, b: number, re: RegExp): [number, number][] {
  const out: [number, number][] = [];
  let at = a;
  for (const m of text.slice(a, b).matchAll(re)) {
    const i = a + m.index!;
    if (i > at) out.push([at, i]);
    at = i + m[0].length;
  }
  if (at < b) out.push([at, b]);
  return out;
}

/**
 * `text` cut into ⌈tokens / maxTokens⌉ parts, each boundary the break nearest to an equal share of the tokens
 * (countTokens per unit). Units are paragraphs; one longer than maxTokens is cut at line breaks, then at sentence
 * ends; a sentence is never cut, so a part can pass maxTokens when a sentence does, and fewer parts come back when
 * there are fewer units. Each part is its units with the text between them as written; the breaks between parts
 * are dropped.
 */
export function splitDocument(text: string, countTokens: (s: string) => number, maxTokens: number): string[] {
  if (!(Number.isInteger(maxTokens) && maxTokens >= 1)) throw new Error(`splitDocument: the part size must be a positive integer of tokens, got ${maxTokens}`);
  const units = (a: number, b: number, level: number): [number, number][] =>
    spansBetween(text, a, b, BREAKS[level]).flatMap(([x, y]) => (level + 1 < BREAKS.length && countTokens(text.slice(x, y)) > maxTokens ? units(x, y, level + 1) : [[x, y] as [number, number]]));
  const spans = units(0, text.length, 0);
  if (spans.length === 0) return [text];
  const tokens = spans.map(([a, b]) => countTokens(text.slice(a, b)));
  const total = tokens.reduce((a, b) => a + b, 0);
  const n = Math.min(spans.length, Math.max(1, Math.ceil(total / maxTokens)));
  // cum[i]: tokens of paragraphs 0…i. Cut k (1 … n−1) goes after the paragraph whose cum is nearest to k·total/n,
  // after the previous cut and leaving a paragraph for each part still to come.
  const cum: number[] = [];
  tokens.reduce((acc, t, i) => (cum[i] = acc + t), 0);
  const parts: string[] = [];
  let first = 0;
  for (let k = 1; k < n; k++) {
    const share = (total * k) / n, last = spans.length - 1 - (n - k);
    let cut = first;
    for (let i = first + 1; i <= last; i++) if (Math.abs(cum[i] - share) < Math.abs(cum[cut] - share)) cut = i;
    parts.push(text.slice(spans[first][0], spans[cut][1]));
    first = cut + 1;
  }
  parts.push(text.slice(spans[first][0], spans[spans.length - 1][1]));
  return parts;
}

export interface PartsResult {
  /** The parts' adapters behind one router (it owns them: dispose() frees all). */
  router: AdapterRouter;
  /** Each part's text and absorb result, in document order. */
  parts: { text: string; result: AbsorbResult }[];
}

/**
 * Absorbs `doc` as parts of at most ~maxTokens tokens (splitDocument), one adapter each. `optionsFor(tokens)`
 * gives each part's recipe from its length (a QA count per token, epochs by length: the preset's rules), so a
 * part is trained as a document of that length would be. `onPart` hears each part before it starts. `partContexts`:
 * the router answers with the chosen part's own text in context (AdapterRouter.contexts) instead of the caller's.
 */
export async function absorbInParts(loaded: LoadedModel, doc: AbsorbDocument, maxTokens: number, optionsFor: (tokens: number) => AbsorbOptions, onPart?: (index: number, count: number, tokens: number) => void, partContexts = false): Promise<PartsResult> {
  const count = (s: string) => loaded.tokenizer.encode(s, { bos: false }).length;
  const texts = splitDocument(doc.text, count, maxTokens);
  const parts: PartsResult['parts'] = [];
  try {
    for (const [i, text] of texts.entries()) {
      const tokens = count(text);
      onPart?.(i, texts.length, tokens);
      parts.push({ text, result: await absorb(loaded, { title: doc.title, text }, optionsFor(tokens)) });
    }
  } catch (e) {
    for (const p of parts) p.result.adapter.dispose();
    throw e;
  }
  return { router: new AdapterRouter(loaded.model, parts.map((p) => p.result.adapter), parts.map((_, i) => `${doc.title} part ${i + 1}/${texts.length}`), partContexts ? texts : undefined), parts };
}
