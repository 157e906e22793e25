// The recall suite's table (bench/recall-table.ts): the default recipe at each length, the latest fp32 run of
// each (length, seed, family, form), only seeds with every family and form, mean and sample sd over seeds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_RECIPE_AT, FAMILIES, FORMS, recallTable } from '../../bench/recall-table.js';

const run = (o: Record<string, unknown>): string => JSON.stringify({ bench: 'recall-suite', compute: 'fp32', heldout_rise: 0.1, ...o });
const full = (length: number, seed: number, recall: (family: string, form: string) => number, extra: Record<string, unknown> = {}): string[] =>
  FAMILIES.flatMap((family) => FORMS.map((form) => run({ recipe: DEFAULT_RECIPE_AT(length), length, seed, family, form, recall_after: recall(family, form), ...extra })));

test('recall table: default recipe, latest fp32 run per key, complete seeds, mean ± sample sd', () => {
  const lines = [
    ...full(2048, 1, () => 0.25), // replaced by the later run of the same seed below
    ...full(2048, 1, (f) => (f === 'names' ? 1 : 0.5)),
    ...full(2048, 2, (f) => (f === 'names' ? 0.5 : 0.5), { heldout_rise: 0.2 }),
    ...full(2048, 3, () => 0, { compute: 'bf16' }), // bf16: reported apart
    ...full(2048, 4, () => 0).slice(1), // incomplete: a family/form missing
    ...full(4096, 1, () => 0.75),
    ...full(4096, 2, () => 0, { recipe: 'best-steps' }), // not the default at 4k
    run({ bench: 'recall-suite-summary', recipe: 'best-about', length: 2048, seed: 9, family: 'all', form: 'prefix', recall_after: 0 }),
    '',
  ];
  const t = recallTable(lines);
  assert.deepEqual(t.lengths, [2048, 4096]);
  const names = t.cell(2048, 'names', 'prefix')!;
  assert.deepEqual(names.seeds, [1, 2]);
  assert.equal(names.mean, 0.75);
  assert.ok(Math.abs(names.sd - Math.SQRT1_2 * 0.5) < 1e-12); // sample sd of {1, 0.5}
  const all = t.cell(2048, 'all', 'question')!;
  assert.ok(Math.abs(all.mean - (((1 + 5 * 0.5) / 6 + 0.5) / 2)) < 1e-12);
  assert.deepEqual(t.rise(2048), [0.1, 0.2]);
  assert.deepEqual(t.cell(4096, 'places', 'paraphrase'), { mean: 0.75, sd: 0, min: 0.75, max: 0.75, seeds: [1] });
  assert.equal(t.cell(8192, 'names', 'prefix'), null);
});
