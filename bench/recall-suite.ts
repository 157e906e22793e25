// `npm run bench -- recall [--json] [--lengths 2048,4096,8192,16384] [--seeds 1,2,3,4,5] [--recipe NAME,…]
//  [--per-family 4] [--threads 1]`: the recall suite (issue 14 item 1). stories260K, a 128-token context budget;
// per (length, seed) a TinyStories document of ≥ length tokens (stories from a seeded start ≥ 100, disjoint from
// the held-out stories 0–99) with 6 families × 4 planted facts from the seeded generator
// (src/eval/datasets/facts.ts), each probed three ways (src/eval/recall-forms.ts): the planted sentence's own
// prefix, another wording's prefix, and a question through ask(), all with the document middle-truncated to
// the budget. The builtin QA generator does not know the families or the probes; each run reports how many facts
// its QAs happened to ask about (qa_asked: a QA's answer holds the fact's answer) or touch (qa_seen), and
// in_context_* is the base model with the fact's sentence in its window (the ceiling of reading it).
// Lines: 'recall-suite' per recipe × length × seed × family × probe form (recall and answer NLL before/after,
// qa coverage of that family, held-out NLL before/after, seconds); 'recall-suite-summary' per recipe × length ×
// family × form over the seeds run: mean and spread (min, max, sample standard deviation) of recall, the mean
// held-out rise. Held-out NLL as in the old bench: the first 100 stories of tinystories-valid-sample, ≤ 512 tokens.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { COMPUTE_MODES, native, type ComputeMode } from '../src/engine/index.js';
import { loadModelFromPath } from '../src/model/load.js';
import { meanNll } from '../src/model/perplexity.js';
import { absorb, type AbsorbOptions } from '../src/lift/absorb.js';
import { BuiltinQAGenerator } from '../src/lift/qa/builtin.js';
import { readStories } from '../src/eval/datasets/planted.js';
import { FACT_FAMILIES, PROBE_FORMS, factDocument } from '../src/eval/datasets/facts.js';
import { probeAll, qaCoverage, type FormItem } from '../src/eval/recall-forms.js';
import { Output, log, type BenchArgs } from './util.js';
import { threadsFlag } from './threads-flag.js';
import { PAPER_DEFAULTS, presetAbsorbOptions } from '../src/lift/presets.js';
import { epochsForLength } from '../src/lift/measured.js';
import { absorbInParts } from '../src/lift/parts.js';

/**
 * `RECIPE-parts` (e.g. best-about-parts): the document cut at story boundaries into parts of ≤ ~PART_TOKENS tokens
 * (lift/parts.ts), each absorbed with RECIPE at its own length, one adapter per part behind a router
 * (adapters/route.ts) that picks a part per probe by the probe's own words. 3072: the suite's 2k documents are
 * 2.7–2.9k tokens, where best-about was measured (docs/recall.md).
 */
const PART_TOKENS = 3072;

const SHARED = process.env.LIFT_SHARED ?? join(process.cwd(), '..', 'shared');
const BUDGET = 128;

/**
 * The recipes the suite compares. 'best': the old bench's best measured recipe (README "Recall": LoRA r32,
 * stride 4, 4 + 8 epochs, KL guard on 128 self-written texts of ≤ 512 tokens, anchor 0.75 lifted on the QAs'
 * answers, one answer recitation) with QAs in proportion to the document (60 at 2.4k tokens: one per 40).
 * 'best-about': 'best' with the builtin generator's about-questions (qa/builtin.ts BuiltinQAOptions.about; the
 * default since builtin-v5, so 'best' = 'best-about' now); 'best-v4' / 'short-v4' without them.
 * 'short': the e2e test's recipe (2 + 4 epochs, no anchor, 16 short guard texts) with the same QA density;
 * 'short-about' the same with the about-questions.
 * 'none' (in benchRecallSuite): no training, the base model's lines and the in-context ceiling.
 */
export function suiteRecipe(name: string, documentTokens: number): AbsorbOptions {
  const qa = Math.ceil(documentTokens / 40);
  const lora: AbsorbOptions = { adapter: 'lora', lora: { r: 32, lora_alpha: 64 }, lr: 1e-3, contextBudget: BUDGET, batchSize: 8, qaGenerator: new BuiltinQAGenerator(), contextualized: true };
  switch (name) {
    case 'best':
      return { ...lora, lengths: { stride: 4 }, epochs: [4, 8], qa, guard: 'kl', guardLambda: 1, guardSamples: 128, guardPerStep: 4, guardTokens: 512, anchor: 0.75, anchorOn: 'answers', answerRecitations: 1 };
    case 'best-about': // the same, with the builtin generator's "What does the text say about E?" QAs
      return { ...suiteRecipe('best', documentTokens), qaGenerator: new BuiltinQAGenerator({ about: true }) };
    case 'best-r64': // length experiments (docs/recall.md "Recall against length"): twice the rank, alpha/r kept
      return { ...suiteRecipe('best-about', documentTokens), lora: { r: 64, lora_alpha: 128 } };
    case 'best-guard2': // … and twice the KL guard's weight
      return { ...suiteRecipe('best-about', documentTokens), guardLambda: 2 };
    case 'best-steps': // … with the epochs scaled by 2k / length: each stage takes as many steps as at 2k
      return { ...suiteRecipe('best-about', documentTokens), epochs: epochsForLength([4, 8], documentTokens) };
    case 'best-wordings': // … with the about-questions in several wordings (builtin-v6)
      return { ...suiteRecipe('best-steps', documentTokens), qaGenerator: new BuiltinQAGenerator({ about: true, aboutWordings: true }) };
    case 'best-guard8': // … with twice the guard texts per step (the same λ: a less noisy estimate of the drift)
      return { ...suiteRecipe('best-about', documentTokens), guardPerStep: 8 };
    case 'short-about':
      return { ...suiteRecipe('short', documentTokens), qaGenerator: new BuiltinQAGenerator({ about: true }) };
    case 'best-v4': // the generator without about-questions (builtin-v4, the default before builtin-v5)
      return { ...suiteRecipe('best', documentTokens), qaGenerator: new BuiltinQAGenerator({ about: false }) };
    case 'short-v4':
      return { ...suiteRecipe('short', documentTokens), qaGenerator: new BuiltinQAGenerator({ about: false }) };
    case 'short':
      return { ...lora, lengths: { stride: 4 }, epochs: [2, 4], qa, guard: 'kl', guardSamples: 16, guardPerStep: 2 };
    case 'paper': // --preset paper (the authors' code: Gated Memory, 3 + 5 full-batch epochs, token-averaged loss, no
      // BOS…) at the suite's budget; its QA generator is the model itself, which stories260K (no chat template)
      // cannot be, so the builtin generator writes the same number of QAs (10) here.
      return { ...presetAbsorbOptions(PAPER_DEFAULTS, { window: 512, addBos: false }), contextBudget: BUDGET, qaGenerator: new BuiltinQAGenerator() };
    default:
      throw new Error(`recall suite: unknown recipe '${name}': expected best, best-about, best-v4, best-r64, best-guard2, best-steps, best-wordings, best-guard8, short, short-about, short-v4, paper or none (any but paper and none may end in -parts)`);
  }
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const sd = (xs: number[]): number => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));

export async function benchRecallSuite(args: BenchArgs): Promise<void> {
  const modelPath = join(SHARED, 'models', 'stories260K', 'stories260K.bin');
  const dataPath = join(SHARED, 'data', 'tinystories-valid-sample', 'tinystories_val.txt');
  if (!existsSync(modelPath) || !existsSync(dataPath)) throw new Error(`recall suite needs ${modelPath} and ${dataPath} (set LIFT_SHARED)`);
  native.setThreads(threadsFlag(args.flags.get('threads'), 1));
  const list = (k: string, d: string) => (args.flags.get(k) ?? d).split(',').filter(Boolean);
  const lengths = list('lengths', '2048,4096,8192,16384').map(Number);
  const seeds = list('seeds', '1,2,3,4,5').map(Number);
  const recipes = list('recipe', 'best');
  const perFamily = Number(args.flags.get('per-family') ?? 4);
  // --part-tokens N: parts of ≤ ~N tokens instead of the default's PART_TOKENS; the rows' recipe is then
  // RECIPE@N, so they never mix with the default's (bench/recall-table.ts reads the default only).
  const partTokens = Number(args.flags.get('part-tokens') ?? PART_TOKENS);
  if (!(Number.isInteger(partTokens) && partTokens >= 256)) throw new Error(`recall suite: --part-tokens ${args.flags.get('part-tokens')}: expected an integer ≥ 256`);
  const label = (name: string): string => (partTokens === PART_TOKENS || !/-parts(ctx)?$/.test(name) ? name : `${name}@${partTokens}`);
  const out = new Output(args.json);
  // --compute bf16: the frozen weights' products on the bf16 units (issue 15's check that recall and held-out
  // NLL are those of fp32 within the seed spread); rows carry `compute`.
  const compute = (args.flags.get('compute') ?? 'fp32') as ComputeMode;
  if (!COMPUTE_MODES.includes(compute)) throw new Error(`recall suite: --compute ${compute}: expected ${COMPUTE_MODES.join(', ')}`);
  const loaded = loadModelFromPath(modelPath, { compute });
  const tok = loaded.tokenizer;
  const countTokens = (s: string) => tok.encode(s, { bos: false }).length;
  const stories = readStories(dataPath);
  const heldout = stories.slice(0, 100).map((s) => tok.encode(s, { bos: true }).slice(0, 512));
  const heldBefore = meanNll(loaded.model, heldout).nll;
  const rows: Record<string, unknown>[] = [];
  for (const length of lengths) for (const seed of seeds) {
    const doc = factDocument(stories, { minTokens: length, countTokens, seed, perFamily, skip: 100, edgeTokens: BUDGET });
    const docTokens = countTokens(doc.text);
    const t0 = performance.now();
    const before = await probeAll(loaded, null, doc, doc.facts, PROBE_FORMS, BUDGET);
    const reading = await probeAll(loaded, null, doc, doc.facts, PROBE_FORMS, BUDGET, true); // the fact in the window
    log(`length ${length} seed ${seed}: ${docTokens} tokens, ${doc.stories} stories from ${doc.firstStory}, ${doc.facts.length} facts; base recall ${mean(before.map((i) => Number(i.correct))).toFixed(2)} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    for (const name of recipes) {
      // 'none': no training — the base model's lines (with the in-context ceiling), for every length and seed in seconds.
      // RECIPE-parts: the whole document in every probe's context; RECIPE-partsctx: the chosen part's own text.
      const suffix = /-parts(ctx)?$/.exec(name);
      const base = suffix ? name.slice(0, suffix.index) : name;
      const options = name === 'none' ? null : suiteRecipe(base, docTokens);
      const t1 = performance.now();
      const split = options && base !== name
        ? await absorbInParts(loaded, { title: doc.title, text: doc.text }, partTokens, (t) => ({ ...suiteRecipe(base, t), seed }), (i, n, t) => log(`  ${name}: part ${i + 1}/${n}, ${t} tokens`), suffix?.[1] === 'ctx')
        : null;
      const r = split
        ? { adapter: split.router, qas: split.parts.flatMap((p) => p.result.qas), train: { steps: split.parts.reduce((a, p) => a + p.result.train.steps, 0) } }
        : options ? await absorb(loaded, { title: doc.title, text: doc.text }, { ...options, seed }) : null;
      const seconds = (performance.now() - t1) / 1000;
      const after = r ? await probeAll(loaded, r.adapter, doc, doc.facts, PROBE_FORMS, BUDGET) : before;
      // With parts, held-out texts are routed as any request is (each to the part it finds likeliest: the mean of
      // per-text minima, what a user gets); heldout_rise_parts_max is the worst part applied to all of them.
      const heldAfter = r ? meanNll(loaded.model, heldout, { adapter: r.adapter }).nll : heldBefore;
      const partsHeld = split ? split.parts.map((p) => meanNll(loaded.model, heldout, { adapter: p.result.adapter }).nll / heldBefore - 1) : null;
      // Which part holds each fact's sentence (a router's right choice).
      const partOf = (f: (typeof doc.facts)[number]) => split ? split.parts.findIndex((p) => p.text.includes(f.sentence)) : -1;
      const routeRight = (items: FormItem[]) => mean(items.map((i) => Number(i.route === partOf(doc.facts[after.indexOf(i) / PROBE_FORMS.length | 0]))));
      const cov = qaCoverage(doc.facts, r?.qas ?? []);
      const pick = (items: FormItem[], fam: string, form: string) => items.filter((i) => i.family === fam && i.form === form);
      const run = { recipe: label(name), compute: loaded.compute, length, doc_tokens: docTokens, seed, qa: r?.qas.length ?? 0, qa_generator: options?.qaGenerator?.id ?? null, steps: r?.train.steps ?? 0, seconds, heldout_nll_before: heldBefore, heldout_nll_after: heldAfter, heldout_rise: heldAfter / heldBefore - 1,
        ...(split ? { parts: split.parts.length, part_tokens: split.parts.map((p) => countTokens(p.text)), heldout_rise_parts: partsHeld, heldout_rise_parts_max: Math.max(...partsHeld!) } : {}) };
      for (const family of FACT_FAMILIES) for (const form of PROBE_FORMS) {
        const b = pick(before, family, form), a = pick(after, family, form), ic = pick(reading, family, form);
        const row = {
          bench: 'recall-suite', family, form, ...run, facts: a.length,
          recall_before: mean(b.map((i) => Number(i.correct))), recall_after: mean(a.map((i) => Number(i.correct))),
          answer_nll_before: mean(b.map((i) => i.answerNll)), answer_nll_after: mean(a.map((i) => i.answerNll)),
          in_context_recall: mean(ic.map((i) => Number(i.correct))), in_context_answer_nll: mean(ic.map((i) => i.answerNll)),
          qa_asked: doc.facts.filter((f) => f.family === family && cov.asked.has(f)).length,
          qa_seen: doc.facts.filter((f) => f.family === family && cov.seen.has(f)).length,
          predictions: a.map((i) => i.prediction.trim().slice(0, 40)),
          ...(split ? { route_right: routeRight(a) } : {}),
        };
        rows.push(row);
        out.emit(row);
      }
      log(`  ${name}: recall ${PROBE_FORMS.map((f) => `${f} ${mean(after.filter((i) => i.form === f).map((i) => Number(i.correct))).toFixed(2)}${split ? ` (routed right ${routeRight(after.filter((i) => i.form === f)).toFixed(2)})` : ''}`).join(', ')}; QAs asked ${cov.asked.size}/${doc.facts.length}; held-out ${heldBefore.toFixed(3)} → ${heldAfter.toFixed(3)} (${(100 * run.heldout_rise).toFixed(1)} %); ${seconds.toFixed(0)} s`);
      r?.adapter.dispose();
    }
  }
  // Mean and spread over the seeds run, per recipe × length × family × form (and 'all' families).
  const summaries: Record<string, unknown>[] = [];
  for (const name of recipes) for (const length of lengths) for (const family of [...FACT_FAMILIES, 'all']) for (const form of PROBE_FORMS) {
    const of = rows.filter((r) => r.recipe === label(name) && r.length === length && r.form === form && (family === 'all' || r.family === family));
    if (of.length === 0) continue;
    // Per seed: that seed's recall over the chosen facts (for 'all', the mean over families of equal size).
    const bySeed = seeds.map((s) => of.filter((r) => r.seed === s)).filter((x) => x.length > 0);
    const recalls = bySeed.map((x) => mean(x.map((r) => r.recall_after as number)));
    const rises = bySeed.map((x) => x[0].heldout_rise as number);
    const s = { bench: 'recall-suite-summary', recipe: label(name), compute: loaded.compute, length, family, form, seeds: bySeed.map((x) => x[0].seed), recall_mean: mean(recalls), recall_min: Math.min(...recalls), recall_max: Math.max(...recalls), recall_sd: sd(recalls), recall_before_mean: mean(bySeed.map((x) => mean(x.map((r) => r.recall_before as number)))), in_context_recall_mean: mean(bySeed.map((x) => mean(x.map((r) => r.in_context_recall as number)))), qa_asked_mean: mean(bySeed.map((x) => x.reduce((a, r) => a + (r.qa_asked as number), 0))), heldout_rise_mean: mean(rises), seconds_mean: mean(bySeed.map((x) => x[0].seconds as number)) };
    summaries.push(s);
    out.emit(s);
  }
  if (!args.json) {
    out.rows.splice(0, out.rows.length, ...summaries);
    out.table(['recipe', 'length', 'family', 'form', 'recall_mean', 'recall_min', 'recall_max', 'recall_sd', 'recall_before_mean', 'in_context_recall_mean', 'qa_asked_mean', 'heldout_rise_mean', 'seconds_mean']);
  }
  loaded.model.dispose();
}
