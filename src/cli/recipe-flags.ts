// `lift absorb`'s flags and the recipe (src/lift/recipe.ts) in one table: which flag sets which recipe field and
// how its value is spelled on each side. flagsRecipe turns flags into a recipe layer (the defaults' layer and the
// typed flags' layer of defaults → preset → file → flags); recipeToFlags turns a recipe back into flag values
// (eval's --preset); builtRecipe is the recipe the manifest keeps (`recipe.built`, printed by `lift inspect
// ADAPTER --recipe`).
import { resolve } from 'node:path';
import type { AbsorbFlags } from './commands/absorb.js';
import type { AbsorbResult } from '../lift/absorb.js';
import { GUARD_DEFAULTS } from '../lift/absorb.js';
import type { Recipe } from '../lift/recipe.js';

interface Row { key: keyof Recipe; flag: keyof AbsorbFlags; toFlag?: (v: never) => unknown; fromFlag?: (v: never) => unknown }

/** Recipe field ↔ absorb flag (camelCase attribute); a converter where the spellings differ. */
export const RECIPE_FLAGS: readonly Row[] = [
  { key: 'adapter', flag: 'adapter' },
  { key: 'lora_rank', flag: 'loraRank' },
  { key: 'lora_alpha', flag: 'loraAlpha' },
  { key: 'memory_multiplier', flag: 'memoryMultiplier' },
  { key: 'gm_init', flag: 'gmInit' },
  { key: 'gm_input', flag: 'gmInput' },
  { key: 'gm_gate_bias', flag: 'gmGateBias' },
  { key: 'contextualized', flag: 'ct' },
  { key: 'context_budget', flag: 'contextBudget' },
  { key: 'segment_length', flag: 'segmentLength' },
  { key: 'stride', flag: 'stride' },
  { key: 'qa', flag: 'qa' },
  { key: 'qa_generator', flag: 'qaGenerator' },
  { key: 'qa_model', flag: 'qaModel' },
  { key: 'qa_max_tokens', flag: 'qaMaxTokens' },
  { key: 'qa_acceptance', flag: 'qaAcceptance' },
  { key: 'epochs', flag: 'epochs', toFlag: (v: [number, number]) => v.join(','), fromFlag: (s: string) => s.split(',').map(Number) },
  { key: 'lr', flag: 'lr' },
  { key: 'lr_schedule', flag: 'lrSchedule' },
  { key: 'warmup', flag: 'warmup' },
  { key: 'warmup_scope', flag: 'warmupScope' },
  { key: 'batch_size', flag: 'batchSize', toFlag: (v: number | 'full') => String(v), fromFlag: (s: string) => (s === 'full' ? s : Number(s)) },
  { key: 'loss_average', flag: 'lossAverage' },
  { key: 'optimizer', flag: 'optimizer' },
  { key: 'guard', flag: 'guard' },
  { key: 'guard_lambda', flag: 'guardLambda' },
  { key: 'guard_text', flag: 'guardText', fromFlag: (s: string) => resolve(s) },
  { key: 'guard_samples', flag: 'guardSamples' },
  { key: 'guard_per_step', flag: 'guardPerStep' },
  { key: 'guard_tokens', flag: 'guardTokens' },
  { key: 'anchor', flag: 'anchor' },
  { key: 'anchor_on', flag: 'anchorOn' },
  { key: 'answer_recitations', flag: 'answerRecitations' },
  { key: 'bos', flag: 'bos' },
  { key: 'answer_stop', flag: 'answerStop' },
  { key: 'seed', flag: 'seed' },
  { key: 'checkpoint_every', flag: 'checkpointEvery' },
];

/** A recipe's fields as absorb flag values (fields it does not set stay out). */
export function recipeToFlags(r: Recipe): Partial<AbsorbFlags> {
  const out: Record<string, unknown> = {};
  for (const row of RECIPE_FLAGS) {
    const v = r[row.key];
    if (v !== undefined) out[row.flag] = row.toFlag ? row.toFlag(v as never) : v;
  }
  return out as Partial<AbsorbFlags>;
}

/** The recipe fields `f` sets (a flag left undefined sets nothing); a guard text's path made absolute. */
export function flagsRecipe(f: Partial<AbsorbFlags>): Recipe {
  const out: Record<string, unknown> = {};
  for (const row of RECIPE_FLAGS) {
    const v = f[row.flag];
    if (v !== undefined) out[row.key] = row.fromFlag ? row.fromFlag(v as never) : v;
  }
  return out as Recipe;
}

/**
 * A command line's two flag layers (defaults → preset → file → flags): the flags' defaults and the flags typed
 * (`explicit`, commander's 'cli' source). Any command whose flags share absorb's names (absorb, eval) uses it.
 */
export function flagLayers(flags: object, explicit: ReadonlySet<string>): { defaults: Recipe; typed: Recipe } {
  const pick = (typed: boolean): Recipe => flagsRecipe(Object.fromEntries(Object.entries(flags).filter(([k]) => explicit.has(k) === typed)) as Partial<AbsorbFlags>);
  return { defaults: pick(false), typed: pick(true) };
}

/**
 * The recipe a run was built from, every field resolved: the run's recipe (defaults → preset → file → flags),
 * with what absorb() derived where it was left to a default (lengths from the budget, epochs, lr, LoRA rank,
 * guard sizes, the optimizer). Given back to `lift absorb --recipe`, it trains the same adapter.
 */
export function builtRecipe(recipe: Recipe, r: AbsorbResult): Recipe {
  const out: Record<string, unknown> = { ...recipe };
  const rec = r.recipe as { epochs: [number, number]; lr: number; batch_size: number | 'full'; adapter_options: Record<string, unknown>; optimizer: { betas: [number, number]; eps: number; weight_decay: number; clip: number } };
  Object.assign(out, {
    context_budget: r.lengths.budget, segment_length: r.lengths.segmentLength, stride: r.lengths.stride,
    epochs: rec.epochs, lr: rec.lr, batch_size: rec.batch_size,
    optimizer: { beta1: rec.optimizer.betas[0], beta2: rec.optimizer.betas[1], eps: rec.optimizer.eps, weight_decay: rec.optimizer.weight_decay, clip: rec.optimizer.clip },
  });
  if (recipe.adapter === 'lora') Object.assign(out, { lora_rank: rec.adapter_options.r, lora_alpha: rec.adapter_options.lora_alpha });
  if ((recipe.guard ?? 'none') !== 'none') {
    Object.assign(out, {
      guard_samples: recipe.guard_samples ?? GUARD_DEFAULTS.samples,
      guard_per_step: recipe.guard_per_step ?? GUARD_DEFAULTS.perStep,
      guard_tokens: recipe.guard_tokens ?? Math.min(r.lengths.budget, GUARD_DEFAULTS.maxTokens),
    });
  }
  return out as Recipe;
}
