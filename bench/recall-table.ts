// `npm run bench -- recall --table [--results FILE] [--json]`: the recall suite's table for the default recipe —
// fact family × document length × probe form, mean ± sd over seeds — from the suite's recorded runs
// (bench/results/recall-suite.jsonl; nothing is trained). What `lift absorb` does with no recipe flag on
// stories260K: one adapter with the tiny preset up to 4096 tokens ('best-about' in the suite), beyond it parts that
// answer over their own text ('best-about-partsctx'). Each (length, seed, family, form) counts once, its latest
// fp32 run (bf16 runs are reported apart); the seeds are those with every family and form recorded.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchArgs } from './util.js';

/** The suite's recipe that `lift absorb` runs by default at a document length (src/lift/measured.ts, TINY_PARTS.from = 4096). */
export const DEFAULT_RECIPE_AT = (length: number): string => (length <= 2048 ? 'best-about' : 'best-about-partsctx');
export const FAMILIES = ['names', 'places', 'numbers', 'colours', 'quotes', 'relations'] as const;
export const FORMS = ['prefix', 'paraphrase', 'question'] as const;

interface Run { bench: string; recipe: string; compute?: string; length: number; seed: number; family: string; form: string; recall_after: number; heldout_rise: number }

export interface Cell { mean: number; sd: number; min: number; max: number; seeds: number[] }

const mean = (x: number[]): number => x.reduce((a, b) => a + b, 0) / x.length;
/** Sample standard deviation (n − 1), 0 for one value: the README's ±. */
const sd = (x: number[]): number => (x.length < 2 ? 0 : Math.sqrt(x.reduce((a, v) => a + (v - mean(x)) ** 2, 0) / (x.length - 1)));

/** cell(length, family | 'all', form) over the seeds of the default recipe at that length, and the held-out rise range. */
export function recallTable(lines: readonly string[]): { lengths: number[]; cell(length: number, family: string, form: string): Cell | null; rise(length: number): [number, number] | null } {
  const latest = new Map<string, Run>();
  for (const line of lines) {
    if (!line.trim()) continue;
    const r = JSON.parse(line) as Run;
    if (r.bench !== 'recall-suite' || (r.compute !== undefined && r.compute !== 'fp32') || r.recipe !== DEFAULT_RECIPE_AT(r.length)) continue;
    latest.set(`${r.length}/${r.seed}/${r.family}/${r.form}`, r); // the latest run of each key
  }
  const runs = [...latest.values()];
  const lengths = [...new Set(runs.map((r) => r.length))].sort((a, b) => a - b);
  // Seeds with every family and form at a length (a run that stopped half way does not count).
  const seedsAt = (length: number): number[] => [...new Set(runs.filter((r) => r.length === length).map((r) => r.seed))]
    .filter((s) => runs.filter((r) => r.length === length && r.seed === s).length === FAMILIES.length * FORMS.length).sort((a, b) => a - b);
  const cell = (length: number, family: string, form: string): Cell | null => {
    const seeds = seedsAt(length);
    if (seeds.length === 0) return null;
    // Per seed, the family's recall (all: the mean over the families, each of the same number of facts).
    const per = seeds.map((s) => mean(runs.filter((r) => r.length === length && r.seed === s && r.form === form && (family === 'all' || r.family === family)).map((r) => r.recall_after)));
    return { mean: mean(per), sd: sd(per), min: Math.min(...per), max: Math.max(...per), seeds };
  };
  const rise = (length: number): [number, number] | null => {
    const seeds = seedsAt(length), r = runs.filter((x) => x.length === length && seeds.includes(x.seed)).map((x) => x.heldout_rise);
    return r.length ? [Math.min(...r), Math.max(...r)] : null;
  };
  return { lengths, cell, rise };
}

export async function benchRecallTable(args: BenchArgs): Promise<void> {
  const file = args.flags.get('results') ?? join(import.meta.dirname, 'results', 'recall-suite.jsonl');
  const t = recallTable(readFileSync(file, 'utf8').split('\n'));
  const rows = ['all', ...FAMILIES];
  if (args.json) {
    for (const length of t.lengths) for (const form of FORMS) for (const family of rows) {
      const c = t.cell(length, family, form);
      if (c) console.log(JSON.stringify({ bench: 'recall-table', recipe: DEFAULT_RECIPE_AT(length), length, family, form, recall_mean: c.mean, recall_sd: c.sd, recall_min: c.min, recall_max: c.max, seeds: c.seeds, heldout_rise_min: t.rise(length)?.[0], heldout_rise_max: t.rise(length)?.[1] }));
    }
    return;
  }
  const k = (n: number): string => `${n / 1024}k`;
  // Half up (0.725 → 0.73): the means are multiples of 1/120 over 5 seeds, so halves are common and float's 0.72499… is not meant.
  const f2 = (x: number): string => (Math.round(x * 100 + 1e-6) / 100).toFixed(2);
  for (const form of FORMS) {
    console.log(`\n| ${form === 'prefix' ? 'own prefix' : form === 'paraphrase' ? 'paraphrased prefix' : 'question through ask'} | ${t.lengths.map(k).join(' | ')} |`);
    console.log(`|---|${t.lengths.map(() => '---').join('|')}|`);
    for (const family of rows) {
      const cells = t.lengths.map((l) => {
        const c = t.cell(l, family, form);
        return c ? `${f2(c.mean)} ± ${f2(c.sd)}` : '—';
      });
      console.log(`| ${family === 'all' ? '**all families**' : family} | ${cells.join(' | ')} |`);
    }
  }
  const seeds = t.lengths.map((l) => `${k(l)} ${t.cell(l, 'all', 'prefix')?.seeds.length ?? 0} seeds, held-out +${((t.rise(l)?.[0] ?? 0) * 100).toFixed(1)} to +${((t.rise(l)?.[1] ?? 0) * 100).toFixed(1)} %`);
  console.log(`\n${seeds.join('; ')}`);
}
