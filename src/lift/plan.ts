// The plan of an absorb run, known before any heavy preparation: how many document tokens, segments,
// samples, forward/backward passes and optimizer steps, and an estimate of the training time and peak memory
// from a calibration — one timed training pass on a sample of the run's typical length. For a long document
// the counts are first extrapolated from its first 64k characters (`estimated`), so the plan appears within
// seconds whatever the size; once it is tokenized the exact plan follows.
import type { LiftLengths } from './budget.js';
import { segmentStarts } from './segments.js';

export interface AbsorbPlan {
  /** true: token counts extrapolated from the first PLAN_PREFIX characters (tokenizing is still to come). */
  estimated: boolean;
  documentTokens: number;
  segments: number;
  /**
   * Distinct training samples: segment samples, and in stage 2 (when it has epochs) the answer recitations
   * (estimated from the QAs requested) and the QA samples.
   */
  samples: number;
  /** Forward/backward passes over all epochs of both stages (guard samples not counted). */
  passes: number;
  steps: number;
  /** Estimated training seconds (passes × the calibrated seconds per token × their tokens, guard included). */
  seconds: number;
  /** Estimated peak memory in bytes: what the process holds now + the samples + one pass + optimizer state. */
  memoryBytes: number;
  /** The calibration: one training pass of `tokens` tokens took `seconds`. */
  calibration: { tokens: number; seconds: number; peakBytes: number };
}

/** Characters tokenized to extrapolate a long document's token count from. */
export const PLAN_PREFIX = 1 << 16;

export interface PlanInput {
  estimated: boolean;
  documentTokens: number;
  lengths: LiftLengths;
  /** Tokens of a segment sample besides its segment (BOS, CT context, "...", the recite prompt); 0 for plain. */
  sampleOverhead: number;
  qa: number;
  answerRecitations: number;
  epochs: [number, number];
  batchSize: number | 'full';
  guard: { perStep: number; tokens: number } | null;
  calibration: { tokens: number; seconds: number; peakBytes: number };
  /** Bytes of the adapter's parameters (the gradients and AdamW's two moments take as much each). */
  adapterBytes: number;
  /** Resident bytes of the process now (model, tokenizer, document). */
  rssBytes: number;
  /**
   * Tokens per packed pass (TrainerOptions.packTokens) when the segment samples share their first
   * sampleOverhead tokens (a document within the CT context: packed.ts packPlan trains them behind it); else 0.
   */
  sharedPackTokens?: number;
}

/**
 * Segment samples per pass behind a shared prefix of `overhead` tokens (packed.ts packPlan's row bound:
 * max(pack, longest) + pack/2), at least 1.
 */
export function sharedPerPass(overhead: number, segment: number, pack: number): number {
  if (pack <= 0 || segment <= 0) return 1;
  return Math.max(1, Math.floor((Math.max(pack, overhead + segment) + pack / 2 - overhead) / segment));
}

/** Bytes per token of a training sample: input and labels as Int32Array (absorb.ts). */
const SAMPLE_BYTES_PER_TOKEN = 8;

export function makePlan(p: PlanInput): AbsorbPlan {
  const L = p.documentTokens, { segmentLength: l, stride, budget } = p.lengths;
  const segments = L === 0 ? 0 : segmentStarts(L, stride).length;
  // Segment i holds min(ℓ, L − i·s) tokens.
  let segmentTokens = 0;
  for (let i = 0; i < segments; i++) segmentTokens += Math.min(l, L - i * stride);
  const recitations = p.answerRecitations * p.qa;
  const stage1 = segments, stage2 = segments + recitations + p.qa;
  const [e1, e2] = p.epochs;
  const stepsOf = (n: number, e: number): number => (e === 0 || n === 0 ? 0 : e * (p.batchSize === 'full' ? 1 : Math.ceil(n / Math.min(n, p.batchSize))));
  const steps = stepsOf(stage1, e1) + stepsOf(stage2, e2);
  // Shared prefixes: k segment samples per pass compute their common overhead once, in a pass k−1 segments longer.
  const k = p.sharedPackTokens ? Math.min(Math.max(1, segments), sharedPerPass(p.sampleOverhead, Math.min(l, L), p.sharedPackTokens)) : 1;
  const segTokens = segmentTokens + Math.ceil(segments / k) * p.sampleOverhead;
  const recTokens = recitations * (l + p.sampleOverhead);
  const qaTokens = p.qa * budget;
  const tokens = e1 * segTokens + e2 * (segTokens + recTokens + qaTokens) + (p.guard ? steps * p.guard.perStep * p.guard.tokens : 0);
  const perToken = p.calibration.seconds / Math.max(1, p.calibration.tokens);
  const sampleBytes = (segTokens + recTokens + qaTokens) * SAMPLE_BYTES_PER_TOKEN + segmentTokens * 8; // + the segments' own ids
  return {
    estimated: p.estimated,
    documentTokens: L,
    segments,
    samples: e2 > 0 ? stage2 : e1 > 0 ? stage1 : 0,
    passes: e1 * stage1 + e2 * stage2,
    steps,
    seconds: tokens * perToken,
    memoryBytes: p.rssBytes + sampleBytes + p.calibration.peakBytes * (k > 1 ? (p.sampleOverhead + k * Math.min(l, L)) / Math.max(1, p.calibration.tokens) : 1) + 3 * p.adapterBytes,
    calibration: p.calibration,
  };
}

const duration = (s: number): string => (s < 90 ? `${s.toFixed(s < 10 ? 1 : 0)} s` : s < 5400 ? `${(s / 60).toFixed(0)} min` : `${(s / 3600).toFixed(1)} h`);
const bytes = (b: number): string => (b < 2 ** 30 ? `${(b / 2 ** 20).toFixed(0)} MiB` : `${(b / 2 ** 30).toFixed(1)} GiB`);

/** One line for a person: "plan: 2.4M tokens → 49.6k segments, 49.6k samples, 8 steps (…); training ≈ 3 h, memory ≈ 1.2 GiB". */
export function describePlan(p: AbsorbPlan): string {
  const n = (x: number): string => (x >= 1e6 ? `${(x / 1e6).toFixed(1)}M` : x >= 1e4 ? `${(x / 1e3).toFixed(1)}k` : String(x));
  const est = p.estimated ? '≈' : '';
  return `plan${p.estimated ? ' (token counts estimated from the first 64k characters)' : ''}: ${est}${n(p.documentTokens)} document tokens → ` +
    `${est}${n(p.segments)} segments, ${est}${n(p.samples)} samples, ${est}${n(p.passes)} forward/backward passes in ${est}${n(p.steps)} optimizer steps; ` +
    `training ≈ ${duration(p.seconds)}, peak memory ≈ ${bytes(p.memoryBytes)} ` +
    `(calibrated: one ${p.calibration.tokens}-token pass in ${(p.calibration.seconds * 1000).toFixed(0)} ms)`;
}
