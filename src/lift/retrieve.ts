// Beyond the paper: retrieval instead of middle truncation for the document part of the answer prompt.
// docs/method.md §8 notes that precise retrieval is LIFT's weak spot and that gold evidence in context adds 20+
// points; middle truncation (§6) drops the middle of the document whatever the question. Here the document
// is cut into ~64-token chunks (whole sentences grouped), ranked against the question with BM25, and the best
// chunks are kept until the document's token budget is full, then emitted IN DOCUMENT ORDER (so the text
// still reads forward) joined with " ... " where text was skipped. Deterministic: ties go to earlier chunks.
//
// Why BM25 through wink-bm25-text-search: it is already a dependency, pure JS (no native build, no embedding
// model to download or run on 2 shared cores), exposes k1/b, and lexical matching suits reading-comprehension
// questions, which usually reuse the document's names, numbers and rare words. Its quirks, handled below:
// consolidate() refuses fewer than 3 documents (we pad with empty ones), search() returns 10 hits unless told
// otherwise, and it tokenizes nothing by itself (we give it a prep task).
import { createRequire } from 'node:module';
import type { Tokenizer } from '../text/tokenizer.js';
import { splitSentences } from './sentences.js';
import { encodeAfter } from './tokens.js';

interface WinkBM25 {
  defineConfig(cfg: { fldWeights: Record<string, number>; bm25Params?: { k1?: number; b?: number; k?: number } }): boolean;
  definePrepTasks(tasks: ((x: unknown) => unknown)[]): number;
  addDoc(doc: Record<string, string>, id: string | number): number;
  consolidate(fp?: number): boolean;
  search(text: string, limit?: number): [string, number][];
}
// The package is CommonJS without types: load it through require and describe the part we use.
const bm25Factory = createRequire(import.meta.url)('wink-bm25-text-search') as () => WinkBM25;

export interface Chunk {
  text: string;
  /** Offsets in the document. */
  start: number;
  end: number;
  /** Token count of `text` as a continuation (encodeAfter). */
  tokens: number;
}

export interface RetrieveOptions {
  /** Target tokens per chunk (default 64); sentences are grouped up to this size. */
  chunkTokens?: number;
  /** Placed where document text was skipped (default " ... "). */
  separator?: string;
}

const STOPWORDS = new Set(('a an the and or but if of to in on at by for with from as is are was were be been being it its this that ' +
  'these those there here what which who whom whose when where why how do does did not no so than then too very can could ' +
  'would should will shall may might must has have had i you he she we they me him her us them my your his our their').split(' '));

/** BM25 terms: lower-cased letter/digit runs, stopwords dropped, a plural "s" stripped. */
export function bm25Terms(text: string): string[] {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  return words.filter((w) => !STOPWORDS.has(w)).map((w) => (w.length > 3 && w.endsWith('s') && !w.endsWith('ss') ? w.slice(0, -1) : w));
}

/** Groups whole sentences into chunks of about `chunkTokens` tokens; an over-long sentence is split at spaces. */
export function chunkDocument(tok: Tokenizer, document: string, chunkTokens = 64): Chunk[] {
  const pieces: { start: number; end: number; tokens: number }[] = [];
  for (const s of splitSentences(document)) {
    const n = encodeAfter(tok, s.text).length;
    if (n <= chunkTokens) { pieces.push({ start: s.start, end: s.end, tokens: n }); continue; }
    // Split a long sentence into k word-aligned parts of roughly equal length.
    const k = Math.ceil(n / chunkTokens);
    const words = [...s.text.matchAll(/\S+/g)];
    const per = Math.ceil(words.length / k);
    for (let i = 0; i < words.length; i += per) {
      const a = s.start + words[i].index!;
      const last = words[Math.min(words.length, i + per) - 1];
      const b = s.start + last.index! + last[0].length;
      pieces.push({ start: a, end: b, tokens: encodeAfter(tok, document.slice(a, b)).length });
    }
  }
  const chunks: Chunk[] = [];
  let cur: { start: number; end: number; tokens: number } | null = null;
  for (const p of pieces) {
    if (cur !== null && cur.tokens + p.tokens <= chunkTokens) { cur.end = p.end; cur.tokens += p.tokens; continue; }
    if (cur !== null) chunks.push({ ...cur, text: document.slice(cur.start, cur.end) });
    cur = { ...p };
  }
  if (cur !== null) chunks.push({ ...cur, text: document.slice(cur.start, cur.end) });
  // Recount grouped chunks exactly (token counts are not additive across sentence joins).
  return chunks.map((c) => ({ ...c, tokens: encodeAfter(tok, c.text).length }));
}

/** Chunk indices best first: BM25 score against the question, ties and unmatched chunks in document order. */
export function rankChunks(chunks: readonly Chunk[], question: string): number[] {
  const engine = bm25Factory();
  engine.defineConfig({ fldWeights: { body: 1 }, bm25Params: { k1: 1.2, b: 0.75, k: 1 } });
  engine.definePrepTasks([(x) => bm25Terms(String(x))]);
  chunks.forEach((c, i) => engine.addDoc({ body: c.text }, i));
  for (let pad = chunks.length; pad < 3; pad++) engine.addDoc({ body: '' }, `pad${pad}`); // consolidate() needs ≥ 3 docs
  engine.consolidate();
  const score = new Map<number, number>();
  for (const [id, s] of engine.search(question, chunks.length + 3)) {
    const i = Number(id);
    if (Number.isInteger(i)) score.set(i, s);
  }
  return chunks.map((_, i) => i).sort((x, y) => (score.get(y) ?? 0) - (score.get(x) ?? 0) || x - y);
}

/**
 * The document text to put in the answer prompt: the whole document when it fits `budgetTokens`, else the
 * best-ranked chunks that fit, in document order, with `separator` where text was skipped. The caller still
 * re-tokenizes and enforces the budget (joins can shift a token or two).
 */
export function retrieveContext(tok: Tokenizer, document: string, question: string, budgetTokens: number, opts: RetrieveOptions = {}): string {
  if (encodeAfter(tok, document).length <= budgetTokens) return document;
  const sep = opts.separator ?? ' ... ';
  const sepTokens = encodeAfter(tok, sep).length;
  const chunks = chunkDocument(tok, document, opts.chunkTokens ?? 64);
  const picked: number[] = [];
  let used = 0;
  for (const i of rankChunks(chunks, question)) {
    const cost = chunks[i].tokens + sepTokens; // a separator per chunk: an upper bound
    if (used + cost > budgetTokens) continue; // a smaller, lower-ranked chunk may still fit
    picked.push(i);
    used += cost;
  }
  picked.sort((a, b) => a - b);
  let out = '';
  picked.forEach((i, k) => {
    if (k > 0) out += picked[k - 1] === i - 1 ? document.slice(chunks[i - 1].end, chunks[i].start) : sep;
    out += chunks[i].text;
  });
  return out;
}
