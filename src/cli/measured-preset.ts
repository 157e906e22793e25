// `lift absorb` and measured presets (src/lift/measured.ts): `--preset tiny` fills every flag not typed, like
// --preset paper; with no --preset and no recipe flag at all, the preset that fits the model is the default.
// A command line that sets any recipe flag (or names a --recipe file) keeps our plain defaults for the rest, as
// before — a recipe is either the measured one or the one the user composes.

/**
 * Flags that do not change what is trained: typing them still leaves the measured default in place. --compute
 * picks the arithmetic the same recipe runs with, not the recipe.
 */
const NOT_RECIPE = new Set(['model', 'out', 'title', 'preset', 'seed', 'checkpointEvery', 'tokenizer', 'report', 'force', 'json', 'compute', 'parts']);

/** True when the command line typed a flag that changes the recipe. */
export const hasRecipeFlags = (explicit: ReadonlySet<string>): boolean => [...explicit].some((k) => !NOT_RECIPE.has(k));
