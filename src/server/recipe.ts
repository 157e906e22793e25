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

export type Recipe = Pick<LiftRecipe, (typeof SERVER_RECIPE_FIELDS)[number]>;

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
  return { ...recipeAbsorbOptions(r), checkpointEvery: r.checkpoint_every ?? 10 };
}
