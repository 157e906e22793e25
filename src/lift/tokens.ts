// Token-level text assembly shared by the LIFT samples and prompts (LIFT.md §2, §3, §6).
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
