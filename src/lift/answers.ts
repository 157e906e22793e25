// Where the auxiliary QAs' answers sit in the document, in token positions — for the anchor's 'answers' mode
// (beyond the paper). The anchor (KL to the base on the training samples) keeps every prediction near the
// base's, which is what keeps held-out text intact; it also caps how sure the adapter gets of a new fact
// (with CE + β·KL the optimum puts ~1/(1+β) on the document's token). The QAs name what matters in the
// document, so the anchor is lifted there: on the tokens of each QA's answer where its evidence sentence
// holds it verbatim (a cloze's hidden name), or on the whole evidence sentence where it does not (a
// paraphrased answer). Token matching is on ids, not characters: the evidence is tokenized as it reads after
// earlier text, and its first token (which may merge with what precedes it) is not required to match.
import type { Tokenizer } from '../text/tokenizer.js';
import type { QAPair } from './qa/types.js';
import type { Segment, SegmentView } from './segments.js';
import { IGNORE, type Sample } from './samples.js';
import { encodeAfter } from './tokens.js';

/** Index of the first occurrence of `needle` in `hay` at or after `from`, or −1. */
function indexOf(hay: readonly number[], needle: readonly number[], from = 0): number {
  outer: for (let i = from; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * mask[i] = 1 where document token i belongs to a QA's answer inside its evidence (or to the evidence
 * sentence itself when the answer is not a verbatim part of it), every occurrence of that evidence. [L]
 */
export function answerMask(tok: Tokenizer, docIds: readonly number[], qas: readonly Pick<QAPair, 'answer' | 'evidence'>[]): Uint8Array {
  const mask = new Uint8Array(docIds.length);
  for (const qa of qas) {
    const answer = qa.answer.trim();
    for (const ev of qa.evidence) {
      // The evidence as it reads after a newline and after a space: SentencePiece tokenizers mark a word that
      // follows a space ("▁Lily"), not one that starts a line, so a sentence inside a paragraph only matches
      // the second.
      for (const text of [ev, ` ${ev}`]) {
        const evIds = encodeAfter(tok, text);
        if (evIds.length < 2) continue;
        // Span [a, b) of the answer within the evidence's tokens: tokens up to the answer's first character,
        // then through its last; one token of slack on the left where the boundary merges.
        const at = answer.length > 0 ? text.indexOf(answer) : -1;
        let a = 1, b = evIds.length;
        if (at >= 0) {
          a = Math.max(1, encodeAfter(tok, text.slice(0, at)).length - 1);
          b = Math.min(evIds.length, encodeAfter(tok, text.slice(0, at + answer.length)).length);
        }
        const body = evIds.slice(1);
        for (let p = indexOf(docIds, body); p >= 0; p = indexOf(docIds, body, p + 1)) {
          const start = p - 1; // the evidence's token 0 sits just before its body
          for (let k = a; k < b; k++) mask[start + k] = 1;
        }
      }
    }
  }
  return mask;
}

/**
 * The anchor's row weights [T] for a recitation sample of `segment`: 0 on rows whose label is a masked
 * document token, 1 elsewhere (context rows included). The segment's tokens are the sample's last
 * |segment| inputs, so label row P + j − 1 (P = input length − |segment|) predicts document token start + j.
 */
export function anchorRowsFor(sample: Pick<Sample, 'input'>, segment: SegmentView, mask: Uint8Array): Float32Array {
  const T = sample.input.length, P = T - segment.ids.length;
  const rows = new Float32Array(T).fill(1);
  for (let j = 0; j < segment.ids.length; j++) {
    const row = P + j - 1;
    if (row >= 0 && mask[segment.start + j]) rows[row] = 0;
  }
  return rows;
}

/** Runs [start, end) of consecutive marked tokens in `mask`. */
export function maskedSpans(mask: Uint8Array): [number, number][] {
  const spans: [number, number][] = [];
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    const a = i;
    while (i < mask.length && mask[i]) i++;
    spans.push([a, i]);
  }
  return spans;
}

/**
 * Answer recitations (beyond the paper): for each marked span, a recitation sample of the ℓ document tokens
 * that end with it, built like any other (contextualized when `build` makes §2 samples), whose loss is on the
 * span alone. Its mean loss is over a few tokens, not ℓ, so each answer weighs about as much as a whole
 * segment: the few tokens the QAs point at get more of the gradient, the rest of the document no more.
 * Returned with their segments so the anchor's rows can be derived as for the segment samples.
 */
export function answerRecitations(docIds: readonly number[], mask: Uint8Array, segmentLength: number, build: (segments: Segment[]) => Sample[]): { samples: Sample[]; segments: Segment[] } {
  const spans = maskedSpans(mask);
  const segments = spans.map(([, end]) => {
    const start = Math.max(0, end - segmentLength);
    return { start, ids: docIds.slice(start, end) };
  });
  const samples = build(segments).map((s, i) => {
    // Label row P + j − 1 predicts document token start + j (P = input length − |segment|): keep the rows of
    // this span's tokens only (another answer inside the window is trained by its own recitation).
    const [a, end] = spans[i], seg = segments[i], P = s.input.length - seg.ids.length;
    const labels = s.labels.map(() => IGNORE);
    for (let j = Math.max(0, a - seg.start); j < seg.ids.length; j++) if (P + j - 1 >= 0) labels[P + j - 1] = s.labels[P + j - 1];
    return { ...s, labels };
  });
  return { samples, segments };
}
