// A LIFT recipe as data: every choice of an absorb, in JSON with the `lift absorb` flag names in snake_case, checked
// once, field by field, by one table (RECIPE_FIELDS). The same checks serve a recipe file (`lift absorb --recipe
// FILE.json`), the recipe a client posts to `lift serve` (src/server/recipe.ts) and the recipe an adapter's manifest
// keeps as built (`recipe.built`, printed by `lift inspect ADAPTER --recipe`), so what one writes the others read.
// An unknown field is refused, naming it and the known ones: a typo never silently trains with a default.
// Layers (mergeRecipes): defaults → preset → file → flags typed on the command line; presets (presets.ts,
// measured.ts) are partial recipes of this one type, and recipeAbsorbOptions is the one way a recipe becomes
// absorb() options — the CLI, the server and library callers all go through it.
import { readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { FormatError } from '../io/errors.js';
import { adamwSettings, type AdamWOptions } from '../engine/optim.js';
import type { AbsorbOptions, AnchorOn } from './absorb.js';
import { BuiltinQAGenerator } from './qa/builtin.js';

/** AdamW's settings as a recipe spells them (engine/optim.ts ADAMW_DEFAULTS). */
export interface RecipeOptimizer { beta1?: number; beta2?: number; eps?: number; weight_decay?: number; clip?: number }

export interface Recipe {
  adapter?: 'gated-memory' | 'lora';
  lora_rank?: number;
  lora_alpha?: number;
  memory_multiplier?: number;
  gm_init?: 'paper' | 'zero-output';
  gm_input?: 'head' | 'layer';
  gm_gate_bias?: 'attention' | 'none';
  /** §2 contextualized training (the flag is --ct / --no-ct). */
  contextualized?: boolean;
  context_budget?: number;
  segment_length?: number;
  stride?: number;
  qa?: number;
  /** 'builtin', 'self' or an OpenAI-compatible URL; qa_model names the model there. */
  qa_generator?: string;
  qa_model?: string;
  qa_max_tokens?: number;
  qa_acceptance?: 'lenient' | 'exact';
  epochs?: [number, number];
  lr?: number;
  lr_schedule?: 'constant' | 'cosine';
  warmup?: number;
  warmup_scope?: 'run' | 'stage';
  batch_size?: number | 'full';
  loss_average?: 'samples' | 'tokens';
  optimizer?: RecipeOptimizer;
  guard?: 'none' | 'kl' | 'replay';
  guard_lambda?: number;
  /**
   * A file of general text for the guard (blank-line separated passages; any format `lift absorb` reads), instead
   * of texts the base model writes. A path: the CLI reads it; in a recipe file it is relative to that file.
   */
  guard_text?: string;
  guard_samples?: number;
  guard_per_step?: number;
  guard_tokens?: number;
  anchor?: number;
  anchor_on?: AnchorOn;
  answer_recitations?: number;
  bos?: 'model' | 'never';
  answer_stop?: 'blank-line' | 'eos';
  seed?: number;
  checkpoint_every?: number;
}

/** A recipe field that is wrong: `field` is its path (recipe.epochs), `message` says what was expected. */
export class RecipeError extends Error {
  constructor(readonly field: string, readonly expected: string) {
    super(`${field}: ${expected}`);
    this.name = 'RecipeError';
  }
}

type Check = (v: unknown, name: string) => unknown;
const got = (v: unknown): string => `got ${JSON.stringify(v)}`;
const oneOf = (...choices: string[]): Check => (v, name) => {
  if (typeof v !== 'string' || !choices.includes(v)) throw new RecipeError(name, `expected ${choices.map((c) => JSON.stringify(c)).join(' or ')}, ${got(v)}`);
  return v;
};
const int = (min: number, max: number): Check => (v, name) => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new RecipeError(name, `expected an integer from ${min} to ${max}, ${got(v)}`);
  return v;
};
/** A finite number in [min, max] (above min when `open`). */
const num = (min: number, max: number, open = false): Check => (v, name) => {
  if (typeof v !== 'number' || !Number.isFinite(v) || (open ? v <= min : v < min) || v > max)
    throw new RecipeError(name, `expected a number ${open ? 'above' : 'from'} ${min}${open ? ' and at most' : ' to'} ${max}, ${got(v)}`);
  return v;
};
const bool: Check = (v, name) => {
  if (typeof v !== 'boolean') throw new RecipeError(name, `expected true or false, ${got(v)}`);
  return v;
};
const text: Check = (v, name) => {
  if (typeof v !== 'string' || v.length === 0) throw new RecipeError(name, `expected a non-empty string, ${got(v)}`);
  return v;
};
const object = (fields: Record<string, Check>): Check => (v, name) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new RecipeError(name, `expected an object with ${Object.keys(fields).join(', ')}, ${got(v)}`);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const check = fields[k];
    if (!check) throw new RecipeError(`${name}.${k}`, `unknown field; known: ${Object.keys(fields).join(', ')}`);
    out[k] = check(x, `${name}.${k}`);
  }
  return out;
};

/** The one table of recipe fields and their checks (the bounds are the CLI flags'). */
export const RECIPE_FIELDS: Record<keyof Recipe, Check> = {
  adapter: oneOf('gated-memory', 'lora'),
  lora_rank: int(1, 4096),
  lora_alpha: num(0, 1e6, true),
  memory_multiplier: int(1, 64),
  gm_init: oneOf('paper', 'zero-output'),
  gm_input: oneOf('head', 'layer'),
  gm_gate_bias: oneOf('attention', 'none'),
  contextualized: bool,
  context_budget: int(16, 1e7),
  segment_length: int(1, 1e7),
  stride: int(1, 1e7),
  qa: int(0, 10000),
  qa_generator: text,
  qa_model: text,
  qa_max_tokens: int(1, 1e6),
  qa_acceptance: oneOf('lenient', 'exact'),
  epochs: (v, name) => {
    if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => Number.isInteger(x) && x >= 0 && x <= 1000))
      throw new RecipeError(name, `expected two integers [stage 1, stage 2] from 0 to 1000, like [3, 5], ${got(v)}`);
    if (v[0] + v[1] === 0) throw new RecipeError(name, 'expected at least one epoch in all (an untrained adapter answers like the base model)');
    return [v[0], v[1]];
  },
  lr: num(0, 1, true),
  lr_schedule: oneOf('constant', 'cosine'),
  warmup: int(0, 1e9),
  warmup_scope: oneOf('run', 'stage'),
  batch_size: (v, name) => (v === 'full' ? v : int(1, 1e6)(v, name)),
  loss_average: oneOf('samples', 'tokens'),
  optimizer: object({ beta1: num(0, 1), beta2: num(0, 1), eps: num(0, 1, true), weight_decay: num(0, 10), clip: num(0, 1e9) }),
  guard: oneOf('none', 'kl', 'replay'),
  guard_lambda: num(0, 1e6),
  guard_text: text,
  guard_samples: int(1, 1e6),
  guard_per_step: int(1, 1e4),
  guard_tokens: int(2, 1e7),
  anchor: num(0, 1e6),
  anchor_on: oneOf('all', 'known', 'segments', 'answers'),
  answer_recitations: int(0, 100),
  bos: oneOf('model', 'never'),
  answer_stop: oneOf('blank-line', 'eos'),
  seed: int(0, 2 ** 31),
  checkpoint_every: int(1, 1e9),
};

/**
 * Checks a recipe given as JSON (an object, or a string holding one) against RECIPE_FIELDS; `name` is the path
 * errors name fields under (recipe.epochs). `allowed`, when given, is the subset of fields this caller accepts.
 */
export function parseRecipe(v: unknown, name = 'recipe', allowed?: readonly (keyof Recipe)[]): Recipe {
  if (v === undefined || v === null) return {};
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch {
      throw new RecipeError(name, 'expected a JSON object of absorb options');
    }
  }
  if (typeof v !== 'object' || Array.isArray(v) || v === null) throw new RecipeError(name, `expected an object of absorb options, ${got(v)}`);
  const known = allowed ?? (Object.keys(RECIPE_FIELDS) as (keyof Recipe)[]);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (!known.includes(k as keyof Recipe)) throw new RecipeError(`${name}.${k}`, `unknown absorb option; known: ${known.join(', ')}`);
    if (x === undefined) continue;
    out[k] = RECIPE_FIELDS[k as keyof Recipe](x, `${name}.${k}`);
  }
  return out as Recipe;
}

/** A recipe file (`lift absorb --recipe FILE.json`, or what `lift inspect ADAPTER --recipe` printed). */
export function readRecipeFile(path: string): Recipe {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new FormatError(path, '(file)', 'a JSON object of absorb options (lift inspect ADAPTER --recipe writes one)', `got ${(e as Error).message.slice(0, 200)}`);
  }
  try {
    const r = parseRecipe(json);
    // The guard's text file is named relative to the recipe file, so a recipe and its text travel together.
    return r.guard_text === undefined ? r : { ...r, guard_text: resolve(dirname(path), r.guard_text) };
  } catch (e) {
    if (e instanceof RecipeError) throw FormatError.withMessage(path, e.field, `${basename(path)}: ${e.message}`);
    throw e;
  }
}

/** The optimizer a recipe names, every setting resolved (AdamW's defaults where it names none). */
export function recipeOptimizer(r: Recipe, lr: number): Required<AdamWOptions> {
  const o = r.optimizer ?? {};
  return adamwSettings({ lr, beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weight_decay, clip: o.clip });
}

/** AdamW settings as a recipe spells them. */
export function optimizerRecord(o: Required<AdamWOptions>): Required<RecipeOptimizer> {
  return { beta1: o.beta1, beta2: o.beta2, eps: o.eps, weight_decay: o.weightDecay, clip: o.clip };
}

/**
 * Recipes layered in order, a later one's fields over an earlier one's (an undefined field sets nothing):
 * mergeRecipes(defaults, preset, file, typed flags).
 */
export function mergeRecipes(...layers: (Recipe | null | undefined)[]): Recipe {
  const out: Record<string, unknown> = {};
  for (const r of layers) for (const [k, v] of Object.entries(r ?? {})) if (v !== undefined) out[k] = v;
  return out as Recipe;
}

/** `o` without its undefined fields, nested plain objects too (a spread of it never overrides a default with undefined). */
function defined<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) continue;
    out[k] = typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype ? defined(v) : v; // plain objects only: a QA generator keeps its class
  }
  return out as T;
}

/**
 * The absorb() options a recipe sets: the one path from a recipe to absorb() (CLI, server, library). The builtin
 * QA generator when qa_generator is 'builtin' or unset (the CLI's default); 'self' and a URL need the loaded model
 * or an endpoint, so that generator stays the caller's, as do the guard's texts (guard_text names their file),
 * the checkpoint folder, signal and events. answer_stop and the QA generator's settings are the answering side's
 * and the generator's.
 */
export function recipeAbsorbOptions(r: Recipe): AbsorbOptions {
  const lora = r.lora_rank !== undefined ? { r: r.lora_rank, lora_alpha: r.lora_alpha ?? 2 * r.lora_rank } : r.lora_alpha !== undefined ? { lora_alpha: r.lora_alpha } : undefined;
  const gm = { init: r.gm_init, memoryInput: r.gm_input, ...(r.gm_gate_bias ? { gateOutBias: r.gm_gate_bias !== 'none' } : {}), ...(r.memory_multiplier ? { memoryMultiplier: r.memory_multiplier } : {}) };
  return defined<AbsorbOptions>({
    adapter: r.adapter,
    lora,
    gatedMemory: Object.values(gm).some((x) => x !== undefined) ? gm : undefined,
    contextBudget: r.context_budget,
    lengths: { segmentLength: r.segment_length, stride: r.stride },
    contextualized: r.contextualized,
    qa: r.qa,
    qaGenerator: r.qa !== 0 && (r.qa_generator ?? 'builtin') === 'builtin' ? new BuiltinQAGenerator() : undefined,
    epochs: r.epochs,
    lr: r.lr,
    schedule: r.lr_schedule,
    warmupSteps: r.warmup,
    warmupScope: r.warmup_scope,
    batchSize: r.batch_size,
    lossAverage: r.loss_average,
    optimizer: r.optimizer ? { beta1: r.optimizer.beta1, beta2: r.optimizer.beta2, eps: r.optimizer.eps, weightDecay: r.optimizer.weight_decay, clip: r.optimizer.clip } : undefined,
    guard: r.guard,
    guardLambda: r.guard_lambda,
    guardSamples: r.guard_samples,
    guardPerStep: r.guard_per_step,
    guardTokens: r.guard_tokens,
    anchor: r.anchor,
    anchorOn: r.anchor_on,
    answerRecitations: r.answer_recitations,
    ...(r.bos === 'never' ? { bos: false } : {}),
    seed: r.seed,
    checkpointEvery: r.checkpoint_every,
  });
}
