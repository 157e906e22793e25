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

/**
 * `parts`: as `lift absorb --parts N` — the document cut at paragraph breaks into parts of ≤ ~N tokens, one
 * adapter each, questions routed to one part that answers over its own text (lift/parts.ts); 0 = one adapter.
 * Not a field of the lift recipe (it is how a document is cut, not how an adapter trains), so it leaves the
 * measured preset in place, as the CLI flag does.
 */
export interface Parts { parts?: number }

export type Recipe = Pick<LiftRecipe, (typeof SERVER_RECIPE_FIELDS)[number]> & Evaluate & Parts;

/** Largest `parts` accepted (tokens per part); a part beyond the context budget's reach is still one adapter. */
export const MAX_PART_TOKENS = 1_000_000;

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
    if (typeof v === 'string') {
      try {
        v = JSON.parse(v);
      } catch {
        throw new RecipeError(name, 'expected a JSON object of absorb options');
      }
    }
    if (!(v && typeof v === 'object' && !Array.isArray(v) && 'parts' in v)) return parseLiftRecipe(v, name, SERVER_RECIPE_FIELDS);
    const { parts, ...rest } = v as Record<string, unknown>;
    const lift = parseLiftRecipe(rest, name, SERVER_RECIPE_FIELDS);
    if (parts === undefined) return lift;
    if (!(typeof parts === 'number' && Number.isInteger(parts) && parts >= 0 && parts <= MAX_PART_TOKENS))
      throw new RecipeError(`${name}.parts`, `expected an integer of tokens per part from 0 (one adapter) to ${MAX_PART_TOKENS}, got ${JSON.stringify(parts)?.slice(0, 60)}`);
    return { ...lift, parts };
  } catch (e) {
    if (e instanceof RecipeError) throw badField(e.field, e.expected);
    throw e;
  }
}

/** The fields that do not change what is trained (they leave the measured default in place, as in `lift absorb`). */
const NOT_RECIPE = new Set(['evaluate', 'heldout_text', 'checkpoint_every', 'seed', 'parts']);

export interface JobRecipe {
  /** The recipe layer absorb() gets (the client's fields, or the measured preset's). */
  recipe: LiftRecipe;
  /** The measured preset used because the client set no recipe field (null: the client's fields over our defaults). */
  measured: MeasuredPreset | null;
  /** Absorb the document as parts of ≤ ~this many tokens (the client's `parts`, else the measured preset's); null: one adapter. */
  parts: number | null;
  /** The recipe of one part of `tokens` tokens (the measured preset scales QAs and epochs with the length). */
  recipeFor(tokens: number): LiftRecipe;
}

/**
 * What a job trains with. As `lift absorb DOC --model M` with no recipe flag: a document posted with no recipe
 * field gets the measured preset that fits the model (src/lift/measured.ts; stories260K: the tiny preset, which
 * recalled 0.83 of the recall suite's 2k-document facts where our plain defaults, Gated Memory, recalled ~0), at
 * the CLI's default budget min(window, 2048); any recipe field keeps our defaults for the rest. `seed` and the
 * evaluation fields change nothing trained. Parts as the CLI: the client's `parts` (0: one adapter), else the
 * measured preset's for a long document (beyond 4096 tokens on the tiny preset: parts of ≤ ~3072), each part
 * trained with the recipe of its own length.
 */
export function jobRecipe(r: Recipe, config: Pick<LlamaConfig, 'head_dim' | 'max_position_embeddings'>, documentTokens: number): JobRecipe {
  const { evaluate: _e, heldout_text: _h, parts: asked, ...lift } = r; // measured after absorb(), not absorb options
  const measured = Object.keys(r).some((k) => !NOT_RECIPE.has(k)) ? null : measuredPresetFor(config);
  const budget = Math.min(config.max_position_embeddings, 2048);
  const recipeFor = (tokens: number): LiftRecipe => (measured ? { ...measured.recipe(tokens, budget), context_budget: budget, ...lift } : lift);
  const parts = asked === 0 ? null : asked ?? measured?.parts?.(documentTokens) ?? null;
  return { recipe: recipeFor(documentTokens), measured, parts, recipeFor };
}

/** The job's recipe as absorb() options (the job adds the QA generator, checkpoint folder, signal and events). */
export function absorbOptions(r: LiftRecipe, checkpointEvery: number | undefined): AbsorbOptions {
  return { ...recipeAbsorbOptions(r), checkpointEvery: checkpointEvery ?? 10 };
}
