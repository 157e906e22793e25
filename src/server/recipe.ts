// A document's "recipe": the absorb options a client may set, as JSON with the `lift absorb` flag names in
// snake_case — the recipe of src/lift/recipe.ts, checked by its table (a wrong field is a 400 naming it), limited
// to the fields a server job takes. Unknown fields are refused rather than ignored, so a typo never silently
// trains with defaults. The checked recipe is stored with the document and passed as is to the absorb job, so a
// restarted job trains with exactly the same settings (and resumes).
import type { AbsorbOptions } from '../lift/absorb.js';
import { parseRecipe as parseLiftRecipe, recipeAbsorbOptions, RecipeError, type Recipe as LiftRecipe } from '../lift/recipe.js';
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

/** The recipe as absorb() options (the job adds the QA generator, checkpoint folder, signal and events). */
export function absorbOptions(r: Recipe): AbsorbOptions {
  const { evaluate: _e, heldout_text: _h, ...lift } = r; // measured after absorb(), not absorb options
  return { ...recipeAbsorbOptions(lift), checkpointEvery: r.checkpoint_every ?? 10 };
}
