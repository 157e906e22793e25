// Overlapping memorisation segments of a long input (docs/method.md §1).
// The document is tokenized once as `title + "\n" + document` without special tokens; segments of ℓ tokens
// start every s tokens (0, s, 2s, … < L), so there are ceil(L / s) of them and, since ℓ > s, the last few
// are shorter tails that run to the end of the document. Every token is covered by about ℓ/s segments.
import type { Tokenizer } from '../text/tokenizer.js';
import { documentTokenSteps } from './tokens.js';
import { drainSync } from './pace.js';

export interface Segment {
  /** Index of the segment's first token in the document tokens. */
  start: number;
  /** The segment's tokens: docIds[start, min(start + ℓ, L)). */
  ids: number[];
}

/** Token ids as a plain array or an Int32Array (absorb keeps long documents' tokens and segments in one). */
export type Ids = readonly number[] | Int32Array;

/** A segment whose ids may be a view into the document's Int32Array (segmentViews). */
export interface SegmentView {
  start: number;
  ids: Ids;
}

/** The document as LIFT tokenizes it (§1): `title + "\n" + document`, no BOS/EOS. */
export function documentTokens(tok: Tokenizer, title: string, document: string): number[] {
  return drainSync(documentTokenSteps(tok, title.length > 0 ? `${title}\n` : '', document)).ids;
}

/** Segment starts 0, s, 2s, … < L: ceil(L / s) of them (none for an empty document). */
export function segmentStarts(length: number, stride: number): number[] {
  if (!Number.isInteger(stride) || stride < 1) throw new RangeError(`segmentStarts: stride must be a positive integer, got ${stride}`);
  const starts: number[] = [];
  for (let s = 0; s < length; s += stride) starts.push(s);
  return starts;
}

/**
 * Cuts document tokens into overlapping segments of `segmentLength` tokens every `stride` tokens.
 * A document shorter than one segment gives one segment (or ceil(L/s) short ones if L > s): the whole text.
 */
export function makeSegments(docIds: readonly number[], segmentLength: number, stride: number): Segment[] {
  if (!Number.isInteger(segmentLength) || segmentLength < 1) throw new RangeError(`makeSegments: segmentLength must be a positive integer, got ${segmentLength}`);
  if (stride > segmentLength) throw new RangeError(`makeSegments: stride ${stride} > segmentLength ${segmentLength} would skip tokens`);
  return segmentStarts(docIds.length, stride).map((start) => ({ start, ids: docIds.slice(start, start + segmentLength) }));
}

/** makeSegments over an Int32Array, each segment a view into it (no copies: 225k segments of a 20 MB document). */
export function segmentViews(docIds: Int32Array, segmentLength: number, stride: number): SegmentView[] {
  if (!Number.isInteger(segmentLength) || segmentLength < 1) throw new RangeError(`segmentViews: segmentLength must be a positive integer, got ${segmentLength}`);
  if (stride > segmentLength) throw new RangeError(`segmentViews: stride ${stride} > segmentLength ${segmentLength} would skip tokens`);
  return segmentStarts(docIds.length, stride).map((start) => ({ start, ids: docIds.subarray(start, start + segmentLength) }));
}
