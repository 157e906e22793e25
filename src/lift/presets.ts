// Recipe presets: one object per recipe naming every choice where our defaults and the authors' released code
// (GraphPKU/LIFT, transformers 4.47.1) differ, so a run can reproduce either and its manifest says which.
//   'paper'  the authors' code, difference by difference (docs/fidelity.md has the table and the sources)
//   'ours'   this project's defaults (what absorb/ask/eval do with no preset); where they differ from the paper
//            docs/fidelity.md says why
// A preset only fills what the caller did not set: explicit options and CLI flags always win (the CLI asks
// commander which flags came from the command line). presetRecipe is the preset as a recipe layer (recipe.ts
// mergeRecipes); presetAbsorbOptions / presetAskOptions turn it into the options of absorb() and ask();
// presetRecord is what the manifest records.
import { mergeRecipes, recipeAbsorbOptions, type Recipe } from './recipe.js';
import type { AbsorbOptions } from './absorb.js';

/** How an answer ends: at the first blank line, trimmed (ours), or the raw greedy output up to EOS (the paper). */
export type AnswerStop = 'blank-line' | 'eos';

/** How a generated QA is accepted (src/lift/qa/prompt.ts). */
export type QAAcceptance =
  /** Ours: every evidence line (list markers and quotes stripped) is in the window after whitespace
   *  normalisation; a failed attempt draws a new window. */
  | 'lenient'
  /** The authors': the whole evidence text, as generated, is an exact substring of the window; a retry asks
   *  again about the same window. */
  | 'exact';

/**
 * A named preset: a partial recipe of the one Recipe type (recipe.ts) and the longest answer, which is the
 * answering side's. A preset names only the choices where our defaults and the authors' code differ; a
 * context_budget it leaves out is the model's (min(window, 2048)); one it sets is capped to the window.
 */
export interface Preset extends Recipe {
  name: string;
  /** Longest answer in tokens (ask/eval). */
  answer_max_tokens: number;
}

/** The authors' code (GraphPKU/LIFT): shells/LooGLE_main/Llama-LIFT-*.sh, lift/*.py, scripts/test_loogle_*.py. */
export const PAPER_DEFAULTS = {
  name: 'paper',
  context_budget: 8192,
  loss_average: 'tokens',
  qa: 10,
  qa_generator: 'self',
  qa_max_tokens: 1024,
  qa_acceptance: 'exact',
  bos: 'never',
  gm_gate_bias: 'none',
  answer_stop: 'eos',
  answer_max_tokens: 200,
  epochs: [3, 5] as [number, number],
  lr: 1e-3,
  batch_size: 'full' as const,
  warmup: 0,
  warmup_scope: 'stage',
} satisfies Preset;

/** This project's defaults, the same values absorb(), ask() and the CLI use when no preset is named. */
export const OURS_DEFAULTS: Preset = {
  name: 'ours',
  loss_average: 'samples',
  qa: 10,
  qa_generator: 'builtin',
  qa_max_tokens: 200,
  qa_acceptance: 'lenient',
  bos: 'model',
  gm_gate_bias: 'attention',
  answer_stop: 'blank-line',
  answer_max_tokens: 200,
  epochs: [3, 5],
  lr: 1e-3,
  batch_size: 'full',
  warmup: 0,
  warmup_scope: 'run',
};

export const PRESETS: Readonly<Record<string, Preset>> = { paper: PAPER_DEFAULTS, ours: OURS_DEFAULTS };
export const PRESET_NAMES = Object.keys(PRESETS);

export function presetByName(name: string): Preset {
  const p = PRESETS[name];
  if (!p) throw new Error(`unknown preset '${name}': expected one of ${PRESET_NAMES.join(', ')}`);
  return p;
}

/**
 * The context budget a preset gives on a model whose window is `window` tokens: the preset's own, capped to
 * the window (an answer prompt beyond it could not be read), with `capped` saying whether it was.
 */
export function presetBudget(p: Preset, window: number): { budget: number; capped: boolean } {
  if (p.context_budget === undefined) return { budget: Math.min(window, 2048), capped: false };
  return { budget: Math.min(p.context_budget, window), capped: p.context_budget > window };
}

/** The preset as a recipe layer on a model whose window is `window` tokens: its fields, the budget resolved. */
export function presetRecipe(p: Preset, window: number): Recipe {
  const { name: _name, answer_max_tokens: _max, ...r } = p;
  return mergeRecipes(r, { context_budget: presetBudget(p, window).budget });
}

/** BOS on or off for a model whose convention is `modelAddsBos`. */
export const presetBos = (p: Preset, modelAddsBos: boolean): boolean => (p.bos === 'never' ? false : modelAddsBos);

/**
 * The absorb() options a preset sets (recipeAbsorbOptions of presetRecipe, BOS resolved for the model; the QA
 * generator is built by the caller from qa_generator / qa_max_tokens / qa_acceptance, since it needs the model).
 */
export function presetAbsorbOptions(p: Preset, model: { window: number; addBos: boolean }): AbsorbOptions {
  return { ...recipeAbsorbOptions(presetRecipe(p, model.window)), bos: presetBos(p, model.addBos) };
}

/** The ask() options a preset sets: answer length, where it stops, BOS. */
export function presetAskOptions(p: Preset, modelAddsBos: boolean): { maxTokens: number; answerStop: AnswerStop; bos: boolean } {
  return { maxTokens: p.answer_max_tokens, answerStop: p.answer_stop ?? 'blank-line', bos: presetBos(p, modelAddsBos) };
}

/** The preset as the manifest records it: its fields as a recipe spells them ('model' for the model's budget). */
export function presetRecord(p: Preset): Record<string, unknown> {
  return { ...p, context_budget: p.context_budget ?? 'model' };
}
