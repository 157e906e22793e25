// Measured presets: the recipe the recall benchmarks found best for a class of model, and the default of
// `lift absorb` on such a model when no recipe flag is given (issue 14 item 3). Only what was measured is here;
// a model no preset fits keeps our defaults (presets.ts OURS_DEFAULTS). Measurements: docs/recall.md.
//   'tiny'  models whose attention heads are ≤ 16 wide (stories260K: d_h 8, 260K parameters). Gated Memory
//           recalls 0–2 of 12 planted facts there (its gate reads an 8-number query); LoRA r32 with the KL guard,
//           the anchor and answer recitations recalled 0.88 ± 0.09 of 12 (6 seeds, +12–13 % held-out NLL) on the
//           first bench, and is what the recall suite measures across fact families, lengths and probe forms.
import type { LlamaConfig } from '../model/config.js';
import { liftLengths } from './budget.js';
import type { AbsorbOptions } from './absorb.js';

export interface MeasuredPreset {
  name: string;
  /** Which models it is the default for, in words. */
  fitsWhat: string;
  fits(c: Pick<LlamaConfig, 'head_dim'>): boolean;
  /** Where it was measured and what it gave (one line, docs/recall.md has the tables). */
  evidence: string;
  /**
   * absorb() options for `documentTokens` tokens of document at context budget `budget` (the QA generator is
   * the caller's: the builtin one unless said otherwise). Lengths scale with the budget: the stride is ℓ/8.
   */
  options(documentTokens: number, budget: number): AbsorbOptions;
}

/** QAs per document token of the tiny preset: 60 at 2.4k tokens on the first bench, one per 40 tokens. */
export const TINY_QA_PER_TOKEN = 1 / 40;

export const TINY_PRESET: MeasuredPreset = {
  name: 'tiny',
  fitsWhat: 'models with attention heads ≤ 16 wide (stories260K: 8)',
  fits: (c) => c.head_dim <= 16,
  evidence: 'stories260K, budget 128, 2.3k-token document, 12 facts of one wording: recall 0.88 ± 0.09 over 6 seeds at +12–13 % held-out NLL; the recall suite (6 families, 3 probe forms): docs/recall.md',
  options: (documentTokens, budget) => ({
    adapter: 'lora', lora: { r: 32, lora_alpha: 64 }, lr: 1e-3, batchSize: 8,
    lengths: { stride: Math.max(1, Math.round(liftLengths(budget).segmentLength / 8)) },
    epochs: [4, 8], contextualized: true,
    qa: Math.max(1, Math.ceil(documentTokens * TINY_QA_PER_TOKEN)),
    guard: 'kl', guardLambda: 1, guardSamples: 128, guardPerStep: 4, guardTokens: 512,
    anchor: 0.75, anchorOn: 'answers', answerRecitations: 1,
  }),
};

export const MEASURED_PRESETS: Readonly<Record<string, MeasuredPreset>> = { tiny: TINY_PRESET };
export const MEASURED_PRESET_NAMES = Object.keys(MEASURED_PRESETS);

/** The measured preset that is the default for a model, or null (our defaults then). */
export function measuredPresetFor(c: Pick<LlamaConfig, 'head_dim'>): MeasuredPreset | null {
  return Object.values(MEASURED_PRESETS).find((p) => p.fits(c)) ?? null;
}

/** One line for a person: the recipe's knobs as flags would set them. */
export function describeMeasured(p: MeasuredPreset, o: AbsorbOptions): string {
  const g = o.guard === 'kl' ? `KL guard (${o.guardSamples} self-written texts ≤ ${o.guardTokens} tokens, ${o.guardPerStep} per step)` : `guard ${o.guard ?? 'none'}`;
  return `${o.adapter === 'lora' ? `LoRA r${o.lora?.r} α${o.lora?.lora_alpha}` : o.adapter}, lr ${o.lr}, stride ${o.lengths?.stride}, ` +
    `${o.epochs?.join(' + ')} epochs in batches of ${o.batchSize}, ${o.qa} QAs, ${g}, anchor ${o.anchor} off the QAs' answers, ` +
    `${o.answerRecitations} answer recitation${o.answerRecitations === 1 ? '' : 's'} (preset ${p.name}: ${p.fitsWhat})`;
}
