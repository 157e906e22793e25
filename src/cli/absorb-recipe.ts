// `lift absorb`'s recipe from its command line, in the order of src/lift/recipe.ts: the flags' defaults → a
// --preset (paper/ours, or a measured one; with no recipe flag at all, the measured preset that fits the model)
// → a --recipe file → the flags typed. Flags become recipe layers through the one table (recipe-flags.ts), and
// the CLI hands the merged recipe to recipeAbsorbOptions like every other caller. `lines` say where it came from.
import type { LlamaConfig } from '../model/config.js';
import { mergeRecipes, type Recipe } from '../lift/recipe.js';
import { presetByName, presetRecipe, type Preset } from '../lift/presets.js';
import { MEASURED_PRESETS, describeMeasured, measuredPresetFor, type MeasuredPreset } from '../lift/measured.js';
import type { AbsorbFlags } from './commands/absorb.js';
import { flagLayers } from './recipe-flags.js';
import { budgetNote } from './preset.js';
import { hasRecipeFlags } from './measured-preset.js';

export interface AbsorbRecipe {
  recipe: Recipe;
  /** The named preset (paper/ours) or measured preset the recipe builds on, if any. */
  preset: Preset | null;
  measured: MeasuredPreset | null;
  /** What to log about the recipe's source, before the plan. */
  lines: string[];
}

/**
 * `explicit`: the flags typed (commander's 'cli' source); the rest of `flags` are defaults. `documentTokens`
 * counts the documents' tokens (a measured preset's QA count scales with them); called only when one applies.
 */
export function absorbRecipe(flags: AbsorbFlags, explicit: ReadonlySet<string>, file: Recipe | null, config: Pick<LlamaConfig, 'head_dim' | 'max_position_embeddings'>,
  documentTokens: () => number): AbsorbRecipe {
  const { defaults, typed } = flagLayers(flags, explicit);
  const window = config.max_position_embeddings;
  const measuredName = flags.preset && MEASURED_PRESETS[flags.preset] ? flags.preset : null;
  const preset = flags.preset && !measuredName ? presetByName(flags.preset) : null;
  // The preset's budget depends on the model's window. Its learning rate is Gated Memory's: LoRA keeps its own
  // default unless an lr is given.
  let presetLayer: Recipe | null = null;
  if (preset) {
    const { lr, ...rest } = presetRecipe(preset, window);
    presetLayer = mergeRecipes(defaults, typed).adapter === 'lora' ? rest : { ...rest, lr };
  }
  // A measured preset: named, or the one that fits the model when the command line sets no recipe flag (a
  // --recipe file is one: the file is then the recipe's source).
  const fitting = measuredPresetFor(config);
  const measured = measuredName ? MEASURED_PRESETS[measuredName] : !flags.preset && !hasRecipeFlags(explicit) ? fitting : null;
  const lines: string[] = [];
  let measuredLayer: Recipe | null = null;
  if (measured) {
    const budget = mergeRecipes(defaults, presetLayer, typed).context_budget ?? Math.min(window, 2048);
    measuredLayer = measured.recipe(documentTokens(), budget);
    lines.push(`recipe: ${describeMeasured(measured, measuredLayer)}${measuredName ? '' : '; the default on this model with no recipe flags'}` +
      `${file ? `, then the recipe file ${flags.recipe}` : ''}; flags given override it`);
  } else if (file) {
    lines.push(`recipe: the recipe file ${flags.recipe} (${Object.keys(file).length} fields) over ${preset ? `preset ${preset.name}` : 'our defaults'}; flags given override it`);
  } else if (!flags.preset) {
    lines.push(fitting ? `recipe: our defaults with the flags given (the measured preset ${fitting.name} is the default here only with no recipe flag; --preset ${fitting.name} builds on it)`
      : `recipe: our defaults (no measured preset for this model's head width ${config.head_dim}; docs/recall.md)`);
  }
  const note = preset ? budgetNote(preset, window, explicit) : null;
  if (note) lines.push(note);
  return { recipe: mergeRecipes(defaults, presetLayer, measuredLayer, file, typed), preset, measured, lines };
}
