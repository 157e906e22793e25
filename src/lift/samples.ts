// LIFT training samples (docs/method.md §1–§3) as token ids plus per-position targets; no training code here.
//
// Convention (shifted targets aligned with input positions):
//   input:  [t0, t1, …, t_{n-1}]          what the model reads
//   labels: labels[i] = the token the model must predict AFTER reading input[0..i], i.e. input[i+1],
//           or IGNORE (-100) where no loss is taken. labels.length === input.length and the last label is
//           always IGNORE. A trainer computes cross-entropy(logits[i], labels[i]) over labels[i] ≠ -100.
// So the supervised tokens of a sample are labels.filter(l => l !== IGNORE) (see supervisedTokens()).
//
// Kinds:
//   'segment': one §1 segment, loss on every token after the first (or on all of them after an optional BOS).
//   'ct':      §2 contextualized segment: front + "..." + back + RECITE_PROMPT + segment, loss on the segment.
//   'qa':      §3 answer prompt with the document middle-truncated + " " + answer, loss on the answer.
import type { Tokenizer } from '../text/tokenizer.js';
import type { LiftLengths } from './budget.js';
import type { QAPair } from './qa/types.js';
import { randInt, rngFor } from './rng.js';
import { documentTokens, makeSegments, type Ids, type SegmentView } from './segments.js';
import { encodeAfter } from './tokens.js';
import { drainSync, type Progress } from './pace.js';
import { bosOf, buildAnswerPrompt, ELLIPSIS, type ContextMode } from './truncate.js';

export const IGNORE = -100;


/**
 * Int32Array copies carved from shared 4M-entry blocks: one backing store per block instead of one per array,
 * so hundreds of thousands of training samples neither strain the allocator nor trigger a garbage collection
 * per few megabytes of external memory (building 225k samples took 6× as long as 56k without it).
 */
export function int32Arena(block = 1 << 22): (ids: ArrayLike<number>) => Int32Array {
  let buf = new Int32Array(0), at = 0;
  return (ids) => {
    if (at + ids.length > buf.length) { buf = new Int32Array(Math.max(block, ids.length)); at = 0; }
    const v = buf.subarray(at, at + ids.length);
    v.set(ids);
    at += ids.length;
    return v;
  };
}

export type SampleKind = 'segment' | 'ct' | 'qa';

export interface Sample {
  input: number[];
  /** labels[i] = target after reading input[0..i] (input[i+1]) or IGNORE; same length as input. */
  labels: number[];
  kind: SampleKind;
}

/** The §2 recitation instruction, verbatim. */
export const RECITE_PROMPT = 'Given above context, please recite following segment of the context: \n\n\n';

export interface LiftDocument {
  title: string;
  document: string;
}

export interface SampleOptions {
  /** Seed of the contextualized samples' random offsets (default 0). */
  seed?: number;
  /** Build §2 contextualized samples instead of plain segments (default true, as in the paper). */
  contextualized?: boolean;
  /** Prepend BOS to every sample (default false: §1 tokenizes without special tokens). */
  bos?: boolean;
}

/** input = prefix + target; labels supervise exactly the target tokens (those after a non-empty prefix). */
export function maskedSample(prefix: Ids, target: Ids, kind: SampleKind): Sample {
  const input = [...prefix, ...target];
  const labels = new Array<number>(input.length).fill(IGNORE);
  // Target token j sits at position p + j and is predicted from position p + j − 1 (none for p + j = 0).
  for (let j = 0; j < target.length; j++) {
    const at = prefix.length + j - 1;
    if (at >= 0) labels[at] = target[j];
  }
  return { input, labels, kind };
}

/** The tokens a sample is trained to produce, in order. */
export function supervisedTokens(s: Sample): number[] {
  return s.labels.filter((l) => l !== IGNORE);
}

/** §1 plain segment sample: causal LM on the segment (every token after the first, or all after a BOS). */
export function segmentSample(segment: Ids, bos: number[] = []): Sample {
  return maskedSample(bos, segment, 'segment');
}

/**
 * §2 context of a contextualized sample, drawn from `rng` (a uniform [0,1) source):
 *   a ~ U[0, C−1], b = C − a
 *   front = a tokens at a random offset inside the first C tokens of the document
 *   back  = b tokens ending at a random offset inside the last C tokens
 *   context = front + "..." + back
 * Short documents (L ≤ C): the context is the whole document without "...", which is what the answer prompt
 * shows for such a document (nothing is truncated at answer time), so training still mimics answering.
 */
export function ctContextTokens(docIds: Ids, ctContext: number, ellipsis: readonly number[], rng: () => number): number[] {
  const L = docIds.length;
  const C = ctContext;
  if (L <= C) return Array.from(docIds);
  const a = randInt(rng, 0, C - 1);
  const b = C - a;
  const frontStart = randInt(rng, 0, C - a); // front ⊂ [0, C)
  const backEnd = randInt(rng, L - C + b, L); // back ⊂ [L − C, L)
  return [...docIds.slice(frontStart, frontStart + a), ...ellipsis, ...docIds.slice(backEnd - b, backEnd)];
}

/** §2 contextualized sample for one segment: context + RECITE_PROMPT, loss on the segment tokens only. */
export function contextualizedSample(docIds: Ids, segment: Ids, ctContext: number, pieces: { ellipsis: number[]; recite: number[]; bos?: number[] }, rng: () => number): Sample {
  const context = ctContextTokens(docIds, ctContext, pieces.ellipsis, rng);
  return maskedSample([...(pieces.bos ?? []), ...context, ...pieces.recite], segment, 'ct');
}

/**
 * The memorisation samples of one document (§1, §2): one per segment, contextualized by default. Sample i
 * draws its offsets from rngFor(seed, i), so it is the same however many samples are built.
 */
export function buildSegmentSamples(tok: Tokenizer, doc: LiftDocument, lengths: LiftLengths, opts: SampleOptions = {}): Sample[] {
  const docIds = documentTokens(tok, doc.title, doc.document);
  return segmentSamplesFromTokens(tok, docIds, makeSegments(docIds, lengths.segmentLength, lengths.stride), lengths, opts);
}

/** buildSegmentSamples on already tokenized document tokens and segments. */
export function segmentSamplesFromTokens(tok: Tokenizer, docIds: Ids, segments: readonly SegmentView[], lengths: LiftLengths, opts: SampleOptions = {}): Sample[] {
  return drainSync(segmentSampleSteps(tok, docIds, segments, lengths, opts));
}

/**
 * segmentSamplesFromTokens as steps (pace.ts): yields [samples built, segments] every 256 samples. `map`
 * turns each sample into what the caller keeps (absorb: a TrainSample of Int32Arrays) as soon as it is built.
 */
export function* segmentSampleSteps<T = Sample>(tok: Tokenizer, docIds: Ids, segments: readonly SegmentView[], lengths: LiftLengths, opts: SampleOptions = {}, map: (s: Sample, i: number) => T = (s) => s as T): Generator<Progress, T[]> {
  const bos = opts.bos ? [bosOf(tok)] : [];
  const pieces = opts.contextualized === false ? null : { ellipsis: encodeAfter(tok, ELLIPSIS), recite: encodeAfter(tok, RECITE_PROMPT), bos };
  const seed = opts.seed ?? 0;
  const out: T[] = [];
  for (let i = 0; i < segments.length; i++) {
    if (i % 256 === 0) yield [i, segments.length];
    out.push(map(pieces ? contextualizedSample(docIds, segments[i].ids, lengths.ctContext, pieces, rngFor(seed, i)) : segmentSample(segments[i].ids, bos), i));
  }
  return out;
}

/** Tokens of a segment sample besides its segment: BOS, the CT context, "..." and the recite prompt (plan.ts). */
export function sampleOverhead(tok: Tokenizer, documentTokens: number, lengths: LiftLengths, opts: SampleOptions = {}): number {
  const bos = opts.bos ? 1 : 0;
  if (opts.contextualized === false) return bos;
  const ellipsis = documentTokens > lengths.ctContext ? encodeAfter(tok, ELLIPSIS).length : 0;
  return bos + Math.min(documentTokens, lengths.ctContext) + ellipsis + encodeAfter(tok, RECITE_PROMPT).length;
}

export interface QASampleOptions {
  /** Prepend BOS (default false, as §6's prompt). */
  bos?: boolean;
  /** How the document is fitted into the prompt (default 'truncate', as in the paper). */
  mode?: ContextMode;
  /** Append EOS after the answer so the model learns to stop (default false: the paper does not). */
  eos?: boolean;
  /** encodeAfter(document), when already known (AnswerPromptOptions.documentIds). */
  documentIds?: readonly number[];
}

/**
 * §3 QA sample: the §6 answer prompt (document middle-truncated) followed by " " + answer, loss on the answer
 * tokens only. The prompt gets min(truncation, budget − answer tokens) so prompt + answer fit the window.
 */
export function qaSample(tok: Tokenizer, doc: LiftDocument, qa: Pick<QAPair, 'question' | 'answer'>, lengths: LiftLengths, opts: QASampleOptions = {}): Sample {
  const answer = encodeAfter(tok, ` ${qa.answer}`);
  if (opts.eos) {
    if (tok.eosId === null) throw new Error('qaSample: eos requested but the tokenizer has no EOS');
    answer.push(tok.eosId);
  }
  const promptBudget = Math.min(lengths.truncation, lengths.budget - answer.length);
  const prompt = buildAnswerPrompt(tok, { title: doc.title, document: doc.document, question: qa.question }, promptBudget, opts.mode ?? 'truncate', { bos: opts.bos, documentIds: opts.documentIds });
  return maskedSample(prompt, answer, 'qa');
}

/** One §3 sample per QA pair. */
export function buildQASamples(tok: Tokenizer, doc: LiftDocument, qas: readonly Pick<QAPair, 'question' | 'answer'>[], lengths: LiftLengths, opts: QASampleOptions = {}): Sample[] {
  return qas.map((qa) => qaSample(tok, doc, qa, lengths, opts));
}
