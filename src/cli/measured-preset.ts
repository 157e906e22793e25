// `lift absorb` and measured presets (src/lift/measured.ts): `--preset tiny` fills every flag not typed, like
// --preset paper; with no --preset and no recipe flag at all, the preset that fits the model is the default.
// A command line that sets any recipe flag keeps our plain defaults for the rest, as before — a recipe is
// either the measured one or the one the user composes.
import type { AbsorbOptions } from '../lift/absorb.js';
import type { AbsorbFlags } from './commands/absorb.js';

/** Flags that do not change what is trained: typing them still leaves the measured default in place. */
const NOT_RECIPE = new Set(['model', 'out', 'title', 'preset', 'seed', 'checkpointEvery', 'tokenizer', 'report', 'force', 'json']);

/** True when the command line typed a flag that changes the recipe. */
export const hasRecipeFlags = (explicit: ReadonlySet<string>): boolean => [...explicit].some((k) => !NOT_RECIPE.has(k));

/** absorb() options of a measured preset as absorb's flag values (what overlay() writes over the defaults). */
export function measuredFlags(o: AbsorbOptions): Partial<AbsorbFlags> {
  return {
    adapter: o.adapter, loraRank: o.lora?.r, loraAlpha: o.lora?.lora_alpha, lr: o.lr,
    batchSize: o.batchSize === undefined ? undefined : String(o.batchSize), stride: o.lengths?.stride,
    epochs: o.epochs?.join(','), ct: o.contextualized, qa: o.qa,
    guard: o.guard, guardLambda: o.guardLambda, guardSamples: o.guardSamples, guardPerStep: o.guardPerStep, guardTokens: o.guardTokens,
    anchor: o.anchor, anchorOn: o.anchorOn, answerRecitations: o.answerRecitations,
  };
}
