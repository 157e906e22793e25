// Measured presets: the recipe the recall benchmarks found best for a class of model, and the default of
// `lift absorb` on such a model when no recipe flag is given (issue 14 item 3). Only what was measured is here;
// a model no preset fits keeps our defaults (presets.ts OURS_DEFAULTS). Measurements: docs/recall.md.
//   'tiny'  models whose attention heads are ≤ 16 wide (stories260K: d_h 8, 260K parameters). Gated Memory
//           recalls 0–2 of 12 planted facts there (its gate reads an 8-number query); LoRA r32 with the KL guard,
//           the anchor and answer recitations recalled 0.88 ± 0.09 of 12 (6 seeds, +12–13 % held-out NLL) on the
//           first bench, and is what the recall suite measures across fact families, lengths and probe forms.
import type { LlamaConfig } from '../model/config.js';
import { liftLengths } from './budget.js';
import type { Recipe } from './recipe.js';

export interface MeasuredPreset {
  name: string;
  /** Which models it is the default for, in words. */
  fitsWhat: string;
  fits(c: Pick<LlamaConfig, 'head_dim'>): boolean;
  /** Where it was measured and what it gave (one line, docs/recall.md has the tables). */
  evidence: string;
  /**
   * The recipe layer (recipe.ts) for `documentTokens` tokens of document at context budget `budget` (the QA
   * generator is the builtin one unless said otherwise). Lengths scale with the budget: the stride is ℓ/8.
   */
  recipe(documentTokens: number, budget: number): Recipe;
  /** Where measured better than one adapter: absorb a document of `documentTokens` as parts of this many tokens (null: one adapter). */
  parts?(documentTokens: number): number | null;
  /** Why, in a few words (printed with the parts line). */
  partsWhy?: string;
}

/**
 * Epochs (stage 1, stage 2) that keep each stage near the optimizer steps of `epochs` on a 2048-token document:
 * scaled by 2048 / documentTokens beyond 2048 tokens, at least 1 each. Steps per epoch grow with the document, and
 * the held-out drift with the steps (docs/recall.md, "Epochs against length").
 */
export function epochsForLength(epochs: readonly [number, number], documentTokens: number): [number, number] {
  const f = Math.min(1, 2048 / Math.max(1, documentTokens));
  return [Math.max(1, Math.round(epochs[0] * f)), Math.max(1, Math.round(epochs[1] * f))];
}

/**
 * The tiny preset's epochs: 4 + 8 up to 4096 tokens (measured best at 2.3–2.9k: on three seeds the step-matched
 * 3 + 6 recalled 0.08–0.13 fewer own-prefix facts at the same held-out rise), beyond that epochsForLength (on
 * the recall suite's 4k and 8k documents, 4.7k–9.8k tokens: the same recall at a held-out rise 0.6–5 points
 * lower in 25–40 % of the steps; at 17k one seed traded recall 0.25 → 0.17 for +11.7 % against +21.7 %).
 * docs/recall.md, "Epochs against length".
 */
export function tinyEpochs(documentTokens: number): [number, number] {
  return documentTokens > 4096 ? epochsForLength([4, 8], documentTokens) : [4, 8];
}

/** QAs per document token of the tiny preset: 60 at 2.4k tokens on the first bench, one per 40 tokens. */
export const TINY_QA_PER_TOKEN = 1 / 40;

/**
 * The tiny preset's parts (lift/parts.ts): documents beyond 4096 tokens as parts of ≤ ~3072 tokens, each part
 * absorbed with the recipe at its own length and questions routed to one part (adapters/route.ts). 3072: the
 * suite's 2k documents (2.7–2.9k tokens) are where the recipe was measured. docs/recall.md, "Parts and routing".
 */
export const TINY_PARTS = { from: 4096, tokens: 3072 } as const;

export const TINY_PRESET: MeasuredPreset = {
  name: 'tiny',
  fitsWhat: 'models with attention heads ≤ 16 wide (stories260K: 8)',
  fits: (c) => c.head_dim <= 16,
  evidence: 'stories260K, budget 128, 2.3k-token document, 12 facts of one wording: recall 0.88 ± 0.09 over 6 seeds at +12–13 % held-out NLL; the recall suite (6 families, 3 probe forms): docs/recall.md',
  recipe: (documentTokens, budget) => ({
    adapter: 'lora', lora_rank: 32, lora_alpha: 64, lr: 1e-3, batch_size: 8,
    stride: Math.max(1, Math.round(liftLengths(budget).segmentLength / 8)),
    epochs: tinyEpochs(documentTokens), contextualized: true,
    qa: Math.max(1, Math.ceil(documentTokens * TINY_QA_PER_TOKEN)),
    guard: 'kl', guard_lambda: 1, guard_samples: 128, guard_per_step: 4, guard_tokens: 512,
    anchor: 0.75, anchor_on: 'answers', answer_recitations: 1,
  }),
  parts: (documentTokens) => (documentTokens > TINY_PARTS.from ? TINY_PARTS.tokens : null),
  partsWhy: 'on stories260K one adapter\'s recall fell with length, the parts\' held: docs/recall.md, "Parts and routing"',
};

export const MEASURED_PRESETS: Readonly<Record<string, MeasuredPreset>> = { tiny: TINY_PRESET };
export const MEASURED_PRESET_NAMES = Object.keys(MEASURED_PRESETS);

/** The measured preset that is the default for a model, or null (our defaults then). */
export function measuredPresetFor(c: Pick<LlamaConfig, 'head_dim'>): MeasuredPreset | null {
  return Object.values(MEASURED_PRESETS).find((p) => p.fits(c)) ?? null;
}

/** One line for a person: the recipe's knobs as flags would set them. */
export function describeMeasured(p: MeasuredPreset, r: Recipe): string {
  const g = r.guard === 'kl' ? `KL guard (${r.guard_samples} self-written texts ≤ ${r.guard_tokens} tokens, ${r.guard_per_step} per step)` : `guard ${r.guard ?? 'none'}`;
  return `${r.adapter === 'lora' ? `LoRA r${r.lora_rank} α${r.lora_alpha}` : r.adapter}, lr ${r.lr}, stride ${r.stride}, ` +
    `${r.epochs?.join(' + ')} epochs in batches of ${r.batch_size}, ${r.qa} QAs, ${g}, anchor ${r.anchor} off the QAs' answers, ` +
    `${r.answer_recitations} answer recitation${r.answer_recitations === 1 ? '' : 's'} (preset ${p.name}: ${p.fitsWhat})`;
}
