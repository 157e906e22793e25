// A document's "recipe": the absorb options a client may set, as JSON with the `lift absorb` flag names in
// snake_case. Checked field by field (a wrong one is a 400 naming it); unknown fields are refused rather than
// ignored, so a typo never silently trains with defaults. The checked recipe is stored with the document and
// passed as is to the absorb job, so a restarted job trains with exactly the same settings (and resumes).
import type { AbsorbOptions } from '../lift/absorb.js';
import { badField } from './errors.js';

export interface Recipe {
  adapter?: 'gated-memory' | 'lora';
  lora_rank?: number;
  lora_alpha?: number;
  epochs?: [number, number];
  lr?: number;
  batch_size?: number | 'full';
  context_budget?: number;
  segment_length?: number;
  stride?: number;
  qa?: number;
  contextualized?: boolean;
  seed?: number;
  checkpoint_every?: number;
}

type Check = (v: unknown, name: string) => unknown;
const int = (min: number, max: number): Check => (v, name) => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw badField(name, `expected an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return v;
};
const num = (min: number, max: number): Check => (v, name) => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= min || v > max) throw badField(name, `expected a number above ${min} and at most ${max}, got ${JSON.stringify(v)}`);
  return v;
};

const FIELDS: Record<keyof Recipe, Check> = {
  adapter: (v, name) => {
    if (v !== 'gated-memory' && v !== 'lora') throw badField(name, `expected "gated-memory" or "lora", got ${JSON.stringify(v)}`);
    return v;
  },
  lora_rank: int(1, 4096),
  lora_alpha: num(0, 1e6),
  epochs: (v, name) => {
    if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => Number.isInteger(x) && x >= 0 && x <= 1000))
      throw badField(name, `expected two integers [stage 1, stage 2] from 0 to 1000, like [3, 5], got ${JSON.stringify(v)}`);
    if (v[0] + v[1] === 0) throw badField(name, 'expected at least one epoch in all (an untrained adapter answers like the base model)');
    return [v[0], v[1]];
  },
  lr: num(0, 1),
  batch_size: (v, name) => (v === 'full' ? v : int(1, 1e6)(v, name)),
  context_budget: int(16, 1e7),
  segment_length: int(1, 1e7),
  stride: int(1, 1e7),
  qa: int(0, 1000),
  contextualized: (v, name) => {
    if (typeof v !== 'boolean') throw badField(name, `expected true or false, got ${JSON.stringify(v)}`);
    return v;
  },
  seed: int(0, 2 ** 31),
  checkpoint_every: int(1, 1e9),
};

export function parseRecipe(v: unknown, name = 'recipe'): Recipe {
  if (v === undefined || v === null) return {};
  if (typeof v === 'string') {
    // Multipart forms carry the recipe as a JSON string.
    try {
      v = JSON.parse(v);
    } catch {
      throw badField(name, 'expected a JSON object of absorb options');
    }
  }
  if (typeof v !== 'object' || Array.isArray(v) || v === null) throw badField(name, `expected an object of absorb options, got ${JSON.stringify(v)}`);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const check = FIELDS[k as keyof Recipe];
    if (!check) throw badField(`${name}.${k}`, `unknown absorb option; known: ${Object.keys(FIELDS).join(', ')}`);
    out[k] = check(x, `${name}.${k}`);
  }
  return out as Recipe;
}

/** The recipe as absorb() options (the job adds the QA generator, checkpoint folder, signal and events). */
export function absorbOptions(r: Recipe): AbsorbOptions {
  const lora = r.lora_rank !== undefined ? { r: r.lora_rank, lora_alpha: r.lora_alpha ?? 2 * r.lora_rank } : r.lora_alpha !== undefined ? { lora_alpha: r.lora_alpha } : undefined;
  return {
    adapter: r.adapter,
    lora,
    epochs: r.epochs,
    lr: r.lr,
    batchSize: r.batch_size,
    contextBudget: r.context_budget,
    lengths: { segmentLength: r.segment_length, stride: r.stride },
    qa: r.qa,
    contextualized: r.contextualized,
    seed: r.seed,
    checkpointEvery: r.checkpoint_every ?? 10,
  };
}
