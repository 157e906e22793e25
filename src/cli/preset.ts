// `--preset NAME` on absorb and eval (src/lift/presets.ts): the preset fills every flag the command line did not
// set; a flag given explicitly always wins. Commander tells the two apart (getOptionValueSource: 'cli' for a
// typed flag, 'default' for a default), so a preset can replace defaults without a second set of flag names.
import type { Command } from 'commander';
import { presetBudget, type Recipe } from '../lift/presets.js';

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

/** The flags a recipe sets on both absorb and eval, as flag values (strings where the flag takes a string). */
export function recipeFlags(r: Recipe, window: number) {
  return {
    contextBudget: presetBudget(r, window).budget,
    qa: r.qa,
    qaMaxTokens: r.qaMaxTokens,
    qaAcceptance: r.qaAcceptance,
    lossAverage: r.lossAverage,
    bos: r.bos,
    gmGateBias: r.gateOutBias ? 'attention' as const : 'none' as const,
    answerStop: r.answerStop,
    epochs: r.epochs.join(','),
    lr: r.lr,
    batchSize: String(r.batchSize),
    warmup: r.warmupSteps,
    warmupScope: r.warmupScope,
  };
}

/** A line for the log when the preset's budget does not fit the model's window, else null. */
export function budgetNote(r: Recipe, window: number, explicit: ReadonlySet<string>): string | null {
  const b = presetBudget(r, window);
  return b.capped && !explicit.has('contextBudget')
    ? `preset ${r.name}: context budget ${String(r.contextBudget)} capped to the model's ${window}-token window; lengths derive from ${b.budget}`
    : null;
}
