// `--preset NAME` on absorb and eval (src/lift/presets.ts): the preset is a recipe layer over the flags' defaults;
// a flag given explicitly always wins. Commander tells the two apart (getOptionValueSource: 'cli' for a typed
// flag, 'default' for a default), so a preset can replace defaults without a second set of flag names
// (recipe-flags.ts flagLayers).
import type { Command } from 'commander';
import { presetBudget, type Preset } from '../lift/presets.js';

/** Attribute names (camelCase) of the options typed on the command line. */
export function explicitOptions(cmd: Command): Set<string> {
  return new Set(cmd.options.map((o) => o.attributeName()).filter((k) => cmd.getOptionValueSource(k) === 'cli'));
}

/** A line for the log when the preset's budget does not fit the model's window, else null. */
export function budgetNote(p: Preset, window: number, explicit: ReadonlySet<string>): string | null {
  const b = presetBudget(p, window);
  return b.capped && !explicit.has('contextBudget')
    ? `preset ${p.name}: context budget ${String(p.context_budget)} capped to the model's ${window}-token window; lengths derive from ${b.budget}`
    : null;
}
