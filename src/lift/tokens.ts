// Token-level text assembly shared by the LIFT samples and prompts (docs/method.md §2, §3, §6).
// Prompts are built from separately tokenized pieces so that the document part can be cut at token
// boundaries. A piece that CONTINUES earlier text must not get the tokenizer's start-of-text treatment:
// SentencePiece-style tokenizers (llama2.c, Llama 2) add a dummy-prefix space to every encode() call, so
// encode("...") alone is " ...". encodeAfter() tokenizes a piece as it would appear after a newline.
import type { Tokenizer } from '../text/tokenizer.js';

/** The anchor a continuation is tokenized after: pre-tokenizers of both SentencePiece and byte-level BPE
 *  models split after a newline, so the anchor's tokens stay a clean prefix that can be cut off. */
const ANCHOR = '\n';

/** Tokens of `text` with no special tokens, as text that starts a prompt (dummy prefix included if any). */
export function encodeStart(tok: Tokenizer, text: string): number[] {
  return text.length === 0 ? [] : tok.encode(text, { bos: false, eos: false });
}

/** Tokens of `text` as a continuation of earlier text (no dummy prefix, no special tokens). */
export function encodeAfter(tok: Tokenizer, text: string): number[] {
  if (text.length === 0) return [];
  const anchor = tok.encode(ANCHOR, { bos: false, eos: false });
  const ids = tok.encode(ANCHOR + text, { bos: false, eos: false });
  const clean = ids.length >= anchor.length && anchor.every((id, i) => ids[i] === id);
  // Fallback for a tokenizer that merges the newline into what follows: plain encode (maybe a stray space).
  return clean ? ids.slice(anchor.length) : tok.encode(text, { bos: false, eos: false });
}

/** Characters per piece when a long text is tokenized piecewise, and per side of a cut's check. */
const PIECE = 1 << 14;
const CHECK = 256;

/** True when cutting `text` at `at` tokenizes the CHECK characters either side as the uncut text does. */
function cleanCut(tok: Tokenizer, text: string, at: number): boolean {
  const left = text.slice(Math.max(0, at - CHECK), at), right = text.slice(at, at + CHECK);
  if (left.length === 0 || right.length === 0) return false;
  const whole = encodeAfter(tok, left + right), a = encodeAfter(tok, left), b = encodeAfter(tok, right);
  return whole.length === a.length + b.length && a.every((id, i) => whole[i] === id) && b.every((id, i) => whole[a.length + i] === id);
}

/** The first clean cut at a line start (else a space) in [from, from + PIECE/2), or −1. */
function findCut(tok: Tokenizer, text: string, from: number): number {
  const limit = Math.min(text.length - 1, from + PIECE / 2);
  for (const sep of ['\n', ' ']) {
    // A line start (after '\n') or a space itself (the space opens the next piece): up to 8 tries each.
    for (let p = text.indexOf(sep, from), tries = 0; p >= 0 && p < limit && tries < 8; p = text.indexOf(sep, p + 1), tries++) {
      const at = sep === '\n' ? p + 1 : p;
      if (cleanCut(tok, text, at)) return at;
    }
  }
  return -1;
}

/**
 * The document as LIFT tokenizes it (segments.ts): `head + body` encoded as text that starts a prompt, in
 * pieces of about 16k characters so that it can pause (pace.ts) and so that no single encode call sees
 * megabytes (tokenizers.js's SentencePiece BPE took 18 s for 1 MB in one call, 9 s in pieces). Pieces are
 * cut only where the tokenization of the 256 characters either side is the same cut and
 * uncut (the cut is at a pre-tokenizer boundary and no merge spans it); a piece after a cut is encoded as a
 * continuation (encodeAfter). Yields [characters done, characters]. `body` is the index where the tokens of
 * `body` alone (as encodeAfter(body)) begin, when `head` could be cut off cleanly, else null; a text of up to
 * two pieces is encoded in one call, as before (body null unless head is empty).
 */
export function* documentTokenSteps(tok: Tokenizer, head: string, body: string): Generator<readonly [number, number], { ids: number[]; body: number | null }> {
  const text = head + body;
  if (text.length <= 2 * PIECE) return { ids: encodeStart(tok, text), body: head.length === 0 ? 0 : null };
  const ids: number[] = [];
  const push = (xs: number[]): void => { for (const x of xs) ids.push(x); }; // no spread: pieces are long
  let at = 0, bodyAt: number | null = head.length === 0 ? 0 : null;
  if (head.length > 0 && cleanCut(tok, text, head.length)) {
    push(encodeStart(tok, head));
    at = head.length;
    bodyAt = ids.length;
  }
  while (at < text.length) {
    yield [at, text.length];
    // The next clean cut at least PIECE characters on; where none is near (one endless line, or a tokenizer
    // that merges across every boundary) the piece grows, up to the whole rest: never a cut that changes ids.
    let end = text.length;
    for (let from = at + PIECE; from < text.length - 1; from += PIECE / 2) {
      const cut = findCut(tok, text, from);
      if (cut > 0) { end = cut; break; }
    }
    push(at === 0 ? encodeStart(tok, text.slice(0, end)) : encodeAfter(tok, text.slice(at, end)));
    at = end;
  }
  return { ids, body: bodyAt };
}
