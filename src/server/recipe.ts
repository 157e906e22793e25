// A document's "recipe": the absorb options a client may set, as JSON with the `lift absorb` flag names in
// snake_case — the recipe of src/lift/recipe.ts, checked by its table (a wrong field is a 400 naming it), limited
// to the fields a server job takes. Unknown fields are refused rather than ignored, so a typo never silently
// trains with defaults. The checked recipe is stored with the document and passed as is to the absorb job, so a
// restarted job trains with exactly the same settings (and resumes).
import type { AbsorbOptions } from '../lift/absorb.js';
import { parseRecipe as parseLiftRecipe, recipeAbsorbOptions, RecipeError, type Recipe as LiftRecipe } from '../lift/recipe.js';
import { measuredPresetFor, type MeasuredPreset } from '../lift/measured.js';
import type { LlamaConfig } from '../model/config.js';
import { badField } from './errors.js';

/** The fields a document's recipe may set over HTTP. */
export const SERVER_RECIPE_FIELDS = ['adapter', 'lora_rank', 'lora_alpha', 'epochs', 'lr', 'batch_size', 'context_budget', 'segment_length',
  'stride', 'qa', 'contextualized', 'seed', 'checkpoint_every'] as const;

/**
 * What a document asks to be measured after training, before its adapter is published (src/eval/absorbed.ts).
 * Sent as top-level `evaluate` / `heldout_text` fields, kept in the stored recipe so a restarted or queued job
 * (embedded or on Redis) still measures it.
 */
export interface Evaluate { evaluate?: boolean; heldout_text?: string }

export type Recipe = Pick<LiftRecipe, (typeof SERVER_RECIPE_FIELDS)[number]> & Evaluate;

/** Longest held-out text accepted (it is stored with the recipe; only its first HELDOUT_MAX_TOKENS tokens count). */
export const MAX_HELDOUT_CHARS = 100_000;

/** The recipe with the request's `evaluate` (true/false, or "true"/"false" from a form) and `heldout_text`. */
export function withEvaluation(recipe: Recipe, evaluate: unknown, heldout: unknown): Recipe {
  const on = evaluate === undefined || evaluate === null || evaluate === '' ? false : evaluate === true || evaluate === 'true' ? true : evaluate === false || evaluate === 'false' ? false : null;
  if (on === null) throw badField('evaluate', `expected true or false, got ${JSON.stringify(evaluate)?.slice(0, 60)}`);
  if (heldout === undefined || heldout === null || heldout === '') return on ? { ...recipe, evaluate: true } : recipe;
  if (!on) throw badField('heldout_text', 'is only used with "evaluate": true (it is the text whose NLL is measured before and after the adapter)');
  if (typeof heldout !== 'string' || heldout.trim().length === 0 || heldout.length > MAX_HELDOUT_CHARS || heldout.includes('\u0000'))
    throw badField('heldout_text', `expected a non-empty text of at most ${MAX_HELDOUT_CHARS} characters without NUL, got ${typeof heldout === 'string' ? `${heldout.length} characters` : JSON.stringify(heldout)?.slice(0, 60)}`);
  return { ...recipe, evaluate: true, heldout_text: heldout };
}

export function parseRecipe(v: unknown, name = 'recipe'): Recipe {
  try {
    return parseLiftRecipe(v, name, SERVER_RECIPE_FIELDS);
  } catch (e) {
    if (e instanceof RecipeError) throw badField(e.field, e.expected);
    throw e;
  }
}

/** The fields that do not change what is trained (they leave the measured default in place, as in `lift absorb`). */
const NOT_RECIPE = new Set(['evaluate', 'heldout_text', 'checkpoint_every', 'seed']);

export interface JobRecipe {
  /** The recipe layer absorb() gets (the client's fields, or the measured preset's). */
  recipe: LiftRecipe;
  /** The measured preset used because the client set no recipe field (null: the client's fields over our defaults). */
  measured: MeasuredPreset | null;
  /** Tokens per part the CLI would absorb this document in (the measured preset's parts); the server writes one adapter. */
  cliParts: number | null;
}

/**
 * What a job trains with. As `lift absorb DOC --model M` with no recipe flag: a document posted with no recipe
 * field gets the measured preset that fits the model (src/lift/measured.ts; stories260K: the tiny preset, which
 * recalled 0.83 of the recall suite's 2k-document facts where our plain defaults, Gated Memory, recalled ~0), at
 * the CLI's default budget min(window, 2048); any recipe field keeps our defaults for the rest. `seed` and the
 * evaluation fields change nothing trained. The server absorbs one adapter even where the CLI would cut the
 * document into parts (beyond 4096 tokens on the tiny preset): `cliParts` says so, and the job warns.
 */
export function jobRecipe(r: Recipe, config: Pick<LlamaConfig, 'head_dim' | 'max_position_embeddings'>, documentTokens: number): JobRecipe {
  const { evaluate: _e, heldout_text: _h, ...lift } = r; // measured after absorb(), not absorb options
  const measured = Object.keys(r).some((k) => !NOT_RECIPE.has(k)) ? null : measuredPresetFor(config);
  if (!measured) return { recipe: lift, measured: null, cliParts: null };
  const budget = Math.min(config.max_position_embeddings, 2048);
  return { recipe: { ...measured.recipe(documentTokens, budget), context_budget: budget, ...lift }, measured, cliParts: measured.parts?.(documentTokens) ?? null };
}

/** The job's recipe as absorb() options (the job adds the QA generator, checkpoint folder, signal and events). */
export function absorbOptions(r: LiftRecipe, checkpointEvery: number | undefined): AbsorbOptions {
  return { ...recipeAbsorbOptions(r), checkpointEvery: checkpointEvery ?? 10 };
}
