// `--preset NAME` on absorb and eval (src/lift/presets.ts): the preset fills every flag the command line did not
// set; a flag given explicitly always wins. Commander tells the two apart (getOptionValueSource: 'cli' for a
// typed flag, 'default' for a default), so a preset can replace defaults without a second set of flag names.
import type { Command } from 'commander';
import { presetBudget, presetRecipe, type Preset } from '../lift/presets.js';
import { recipeToFlags } from './recipe-flags.js';

/** Attribute names (camelCase) of the options typed on the command line. */
export function explicitOptions(cmd: Command): Set<string> {
  return new Set(cmd.options.map((o) => o.attributeName()).filter((k) => cmd.getOptionValueSource(k) === 'cli'));
}

/** `flags` with `values` written over every key the command line did not set explicitly. */
export function overlay<T extends object>(flags: T, explicit: ReadonlySet<string>, values: Partial<T>): T {
  const out = { ...flags } as Record<string, unknown>;
  for (const [k, v] of Object.entries(values)) if (!explicit.has(k) && v !== undefined) out[k] = v;
  return out as unknown as T;
}

/** The flags a preset sets on absorb and eval (its recipe layer as flag values; eval takes the same names). */
export function presetFlags(p: Preset, window: number): ReturnType<typeof recipeToFlags> {
  return recipeToFlags(presetRecipe(p, window));
}

/** A line for the log when the preset's budget does not fit the model's window, else null. */
export function budgetNote(p: Preset, window: number, explicit: ReadonlySet<string>): string | null {
  const b = presetBudget(p, window);
  return b.capped && !explicit.has('contextBudget')
    ? `preset ${p.name}: context budget ${String(p.context_budget)} capped to the model's ${window}-token window; lengths derive from ${b.budget}`
    : null;
}
