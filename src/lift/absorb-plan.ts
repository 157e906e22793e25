// absorb()'s plan (plan.ts) from what the run knows before preparing: the fixed parts measured once — tokens per
// character of the documents' first PLAN_PREFIX characters, and a calibration: timed training passes (after a
// short warm-up pass) on a sample of the run's typical length, made of the document's first tokens, run as
// training runs a sample (a packed pass with logits on the supervised rows only).
// `at(tokens, estimated)` makes the plan for a token count (first estimated for a long text, then exact).
import type { LoadedModel } from '../model/load.js';
import type { Adapter } from '../adapters/files.js';
import type { LiftLengths } from './budget.js';
import { sampleOverhead } from './samples.js';
import { encodeStart } from './tokens.js';
import { makePlan, PLAN_PREFIX, type AbsorbPlan } from './plan.js';
import { IGNORE_INDEX as IGNORE, memoryStats, native } from '../engine/index.js';
import type { LlamaModel } from '../model/llama.js';
import type { TrainableAdapter } from './trainer.js';
import { DEFAULT_PACK_TOKENS, MIN_SHARED_PREFIX, packedTaskPass } from './packed.js';
import { GUARD_DEFAULTS, guardTokens } from './guard.js';
import type { AbsorbOptions, AbsorbSettings } from './absorb.js';

export function planner(loaded: LoadedModel, o: AbsorbOptions, s: AbsorbSettings, adapter: Adapter, text: string) {
  const { model, tokenizer: tok } = loaded;
  const { lengths } = s;
  const prefix = encodeStart(tok, text.slice(0, PLAN_PREFIX));
  const tokensPerChar = prefix.length / Math.max(1, Math.min(text.length, PLAN_PREFIX));
  const long = text.length > PLAN_PREFIX;
  const estimate = long ? Math.round(tokensPerChar * text.length) : prefix.length;
  const sampleOpts = { contextualized: s.contextualized, bos: s.bos };
  const T = Math.min(model.config.max_position_embeddings, sampleOverhead(tok, estimate, lengths, sampleOpts) + Math.min(lengths.segmentLength, estimate));
  const ids = Int32Array.from({ length: T }, (_, i) => prefix[i % Math.max(1, prefix.length)] ?? 0);
  // The loss on the last ℓ rows, as a segment sample's (its context and recite prompt carry none).
  const supervised = Math.min(T - 1, lengths.segmentLength, estimate);
  const beta = s.anchor;
  calibrate(model, adapter, ids.subarray(0, Math.min(T, 8)), Math.min(supervised, 7), beta); // warm-up: first-call costs are not per token
  // The median of up to 7 timed passes, as many as fit in about a second (at least 3 unless they take over
  // 3 s; at least 1): one pass alone is noisy on a busy machine (0.05 to 0.42 s for the same 435-token pass on
  // stories260K), and a large model's plan must still come within seconds.
  const runs: { seconds: number; peakBytes: number }[] = [];
  for (let spent = 0; runs.length < 1 || (runs.length < 7 && spent < 1) || (runs.length < 3 && spent < 3); ) {
    runs.push(calibrate(model, adapter, ids, supervised, beta));
    spent += runs.at(-1)!.seconds;
  }
  const sorted = runs.map((r) => r.seconds).sort((x, y) => x - y);
  const calibration = { tokens: T, seconds: sorted[sorted.length >> 1], peakBytes: Math.max(...runs.map((r) => r.peakBytes)) };
  const adapterBytes = adapter.parameters().reduce((a, p) => a + 4 * p.shape.reduce((x, y) => x * y, 1), 0);
  const nQA = o.qaGenerator ? s.qa : 0;
  const guard = (o.guard ?? 'none') === 'none' ? null : { perStep: o.guardPerStep ?? GUARD_DEFAULTS.perStep, tokens: guardTokens(o, lengths) };
  // A document within the CT context is every contextualized sample's context: they share it (packed.ts).
  const pack = o.packTokens ?? DEFAULT_PACK_TOKENS;
  const sharesPrefix = (documentTokens: number): boolean =>
    s.contextualized && documentTokens <= lengths.ctContext && sampleOverhead(tok, documentTokens, lengths, sampleOpts) >= MIN_SHARED_PREFIX;
  const at = (documentTokens: number, estimated: boolean): AbsorbPlan => makePlan({
    estimated, documentTokens, lengths, sampleOverhead: sampleOverhead(tok, documentTokens, lengths, sampleOpts),
    qa: nQA, answerRecitations: o.answerRecitations ?? 0, epochs: s.epochs,
    batchSize: s.batchSize, guard, calibration, adapterBytes, rssBytes: process.memoryUsage().rss,
    sharedPackTokens: sharesPrefix(documentTokens) ? pack : 0,
  });
  return { long, tokensPerChar, at, estimate };
}

/**
 * Seconds and peak native bytes of one training pass on `ids` [T] as training runs it (packed.ts packedTaskPass):
 * next-token labels on the last `supervised` rows only, so logits are computed on those rows alone (a segment
 * sample's context rows skip lm_head), and the base's forward on every row when the anchor is on (β > 0). The
 * gradients it leaves are zeroed, so the run that follows is unchanged (a zero gradient buffer and a missing one
 * are the same to AdamW).
 */
export function calibrate(model: LlamaModel, adapter: TrainableAdapter, ids: Int32Array, supervised: number, beta: number): { seconds: number; peakBytes: number } {
  // The peak from what is live now. The pool stays: trimming it here made every timed pass (and training's
  // first) page-fault its whole working set anew — a fifth of a 1k-token absorb's kernel time on the 135M model.
  native.resetPeak();
  const live = memoryStats().liveBytes;
  const labels = new Int32Array(ids.length).fill(IGNORE);
  for (let t = Math.max(0, ids.length - 1 - supervised); t < ids.length - 1; t++) labels[t] = ids[t + 1];
  const t0 = performance.now();
  packedTaskPass(model, adapter, [{ input: ids, labels }], [1], beta);
  const seconds = (performance.now() - t0) / 1000;
  const peakBytes = Math.max(0, memoryStats().peakBytes - live);
  for (const p of adapter.parameters()) p.grad?.f32().fill(0);
  return { seconds, peakBytes };
}
