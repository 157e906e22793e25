// `lift eval TASK --model M`: the benchmark harness as a command (docs/method.md §9). Runs truncated ICL, fine-tuning
// on the raw text, LIFT and LIFT + retrieval on the same questions of a task (needle, loogle, longbench,
// quality) and prints the method × metric table on stdout (JSON with --json); progress goes to stderr. The
// trained methods' recipe is built as absorb's is (src/lift/recipe.ts): the flags' defaults → --preset (and, for
// paper, the authors' per-task settings) → --recipe FILE.json → the flags typed.
// --out DIR writes results.jsonl (one record per answer), summary.json and report.html. DIR is claimed at start
// (src/io/output.ts: an existing path is refused unless it is an earlier eval folder and --force is given); the
// records are appended as they come to a staging folder beside it (its path is logged), renamed to DIR at the end.
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { formatTable, makeJudge, METHODS, needleMatrix, runEval, summarize, type EvalRecord, type HarnessOptions, type Method, type Summary } from '../../eval/harness.js';
import { checkData, loadTask, TASKS, isTask, type TaskName, type TaskSpec } from '../../eval/tasks.js';
import { makeQAGenerator } from '../../lift/qa/index.js';
import { claimOutput, EVAL_OUTPUT, type OutputTarget } from '../../io/output.js';
import type { Report, Section } from '../../report/types.js';
import { writeReport } from '../../report/html.js';
import { computeOption, loadModelForCli, type ComputeMode } from '../model.js';
import { progress, type Progress } from '../progress.js';
import { log, numberFlag, out } from '../io.js';
import { generateText } from '../../model/generate.js';
import { PRESET_NAMES, presetByName, presetRecipe, presetRecord } from '../../lift/presets.js';
import { paperTaskRecipe, taskLayer } from '../../eval/paper-tasks.js';
import { mergeRecipes, readRecipeFile, type Recipe } from '../../lift/recipe.js';
import { readGuardText } from '../../lift/document.js';
import type { EvalDocument } from '../../eval/datasets/types.js';
import { budgetNote, explicitOptions } from '../preset.js';
import { flagLayers } from '../recipe-flags.js';
import { parseBatch, parseEpochs, presetChoiceOptions, type PresetChoiceFlags } from '../recipe-options.js';

interface EvalFlags extends PresetChoiceFlags {
  model: string;
  data?: string;
  methods: string;
  adapter: 'gated-memory' | 'lora';
  contextBudget: number;
  epochs: string;
  lr?: number;
  batchSize: string;
  loraRank: number;
  loraAlpha?: number;
  qa: number;
  qaGenerator: 'builtin' | 'self';
  warmup: number;
  preset?: string;
  maxTokens: number;
  maxDocs: number;
  maxQuestions: number;
  docTokens: number;
  lengths: string;
  depths: string;
  judge?: string;
  judgeModel?: string;
  judgeTimeout: number;
  seed: number;
  out?: string;
  force?: boolean;
  json?: boolean;
  tokenizer?: string;
  /** --compute: fp32, bf16 or auto (src/model/compute.ts). */
  compute?: ComputeMode;
  /** --recipe FILE.json (src/lift/recipe.ts): fills every flag not typed, over a --preset. */
  recipe?: string;
}

const EXAMPLES = `
Tasks (default data in $LIFT_DATA, else $LIFT_SHARED/data, else ../shared/data):
  needle     Paul Graham essays (--data DIR) cut to each --lengths × --depths cell with the needle inside;
             scored 1 when the answer has every keyword (sandwich, dolores park, sunny)
  loogle     a LooGLE .jsonl (default loogle-testdata/shortdep_qa.jsonl): F1, EM, ROUGE-L; --judge adds the
             GPT-4-style judge of the paper's numbers through an OpenAI-compatible endpoint
  longbench  a LongBench .jsonl (--data required): F1, EM, ROUGE-L and the dataset's LongBench metric
  quality    QuALITY multiple choice (default quality-example/quality_example.jsonl): accuracy
Methods: icl (truncated ICL, no training), ft (LoRA on the raw text: no CT, no QAs), lift (the paper's
recipe: CT + builtin QAs, --adapter), lift-retrieve (the lift adapter, retrieval instead of truncation).
The defaults are sized for a tiny model (stories260K) to finish in minutes. --preset paper is the authors' code
(docs/fidelity.md): budget 8192 (capped to the model's window), epochs 3,5, full batch, the model's own QAs,
loss averaged over tokens, no BOS, raw answers of up to 200 tokens to EOS, and their per-task settings — LooGLE
10 QAs at lr 1e-3; LongBench narrativeqa / passage_retrieval_en / musique 30 / 60 / 10 QAs at lr 2e-3 with 4
warm-up steps; gov_report and qmsum 8 epochs of segments, no QAs. --recipe FILE.json (what lift inspect ADAPTER
--recipe prints) goes over the preset; flags given explicitly override both.

Examples:
  lift eval needle --model stories260K.bin --lengths 256,512 --depths 0,50,100 --out runs/needle
  lift eval loogle --model stories260K.bin --max-docs 1 --max-questions 2 --doc-tokens 512 --json
  lift eval loogle --model ./Llama-3-8B-Instruct --context-budget 8192 --epochs 3,5 --batch-size full \\
      --judge http://localhost:8000/v1 --judge-model gpt-4o --out runs/loogle
  lift eval longbench --data LongBench/data/narrativeqa.jsonl --model m --methods icl,lift
  lift eval loogle --model ./Llama-3-8B-Instruct --preset paper --out runs/loogle-paper
`;

const intList = (name: string) => (v: string): number[] => {
  const xs = v.split(',').map((s) => Number(s.trim()));
  if (xs.length === 0 || xs.some((x) => !Number.isInteger(x) || x < 0)) throw new Error(`--${name}: expected comma-separated non-negative integers like 256,512, got "${v}"`);
  return xs;
};

export function register(program: Command): void {
  const cmd = program
    .command('eval')
    .description('Benchmark truncated ICL, fine-tuning and LIFT side by side on a task (needle, loogle, longbench, quality)')
    .argument('<task>', `one of ${TASKS.join(', ')}`)
    .requiredOption('-m, --model <model>', 'base model: llama2.c .bin, .gguf, Hugging Face folder or org/name')
    .option('--data <path>', 'data file (loogle, longbench, quality) or essays folder (needle)')
    .option('--methods <list>', `comma-separated subset of ${METHODS.join(',')}`, METHODS.join(','))
    .addOption(new Option('--adapter <kind>', 'adapter of the lift methods (ft is always LoRA)').choices(['gated-memory', 'lora']).default('gated-memory'))
    .addOption(new Option('--context-budget <n>', 'tokens the model sees when answering').default(128).argParser(numberFlag('context-budget', 16, 1e7, true)))
    .option('--epochs <a,b>', 'epochs of stage 1 (segments) and stage 2 (segments + QAs)', '1,1')
    .addOption(new Option('--lr <x>', 'learning rate (default: 1e-3 Gated Memory, 2e-4 LoRA)').argParser(numberFlag('lr', 0)))
    .option('--batch-size <n|full>', "samples per optimizer step, or 'full'", '8')
    .addOption(new Option('--lora-rank <r>', 'LoRA rank (ft, and lift with --adapter lora)').default(8).argParser(numberFlag('lora-rank', 1, 4096, true)))
    .addOption(new Option('--lora-alpha <a>', 'LoRA alpha (default 2·rank)').argParser(numberFlag('lora-alpha', 0)))
    .addOption(new Option('--qa <n>', 'auxiliary QAs per document for lift').default(10).argParser(numberFlag('qa', 0, 10000, true)))
    .addOption(new Option('--qa-generator <g>', "who writes lift's QAs: the builtin cloze or the model itself (the paper)").choices(['builtin', 'self']).default('builtin'))
    .addOption(new Option('--warmup <n>', 'linear warm-up steps of the trained methods').default(0).argParser(numberFlag('warmup', 0, 1e9, true)));
  for (const o of presetChoiceOptions()) cmd.addOption(o);
  cmd
    .addOption(new Option('--preset <name>', "a named recipe filling every flag not given, with the authors' per-task settings for paper").choices(PRESET_NAMES))
    .option('--recipe <file>', 'a recipe file (JSON, as lift inspect ADAPTER --recipe prints) over the preset; flags typed win')
    .addOption(new Option('--max-tokens <n>', 'longest answer').default(64).argParser(numberFlag('max-tokens', 1, 100000, true)))
    .addOption(new Option('--max-docs <n>', 'first N documents (0 = all; not for needle)').default(0).argParser(numberFlag('max-docs', 0, 1e9, true)))
    .addOption(new Option('--max-questions <n>', 'first N questions per document (0 = all)').default(0).argParser(numberFlag('max-questions', 0, 1e9, true)))
    .addOption(new Option('--doc-tokens <n>', 'cut documents to their first N tokens (0 = whole; may cut answers away)').default(0).argParser(numberFlag('doc-tokens', 0, 1e9, true)))
    .option('--lengths <list>', 'needle: haystack lengths in tokens', '256,512,1024')
    .option('--depths <list>', 'needle: needle depths in percent', '0,50,100')
    .option('--judge <url>', 'OpenAI-compatible endpoint of an LLM judge (key from OPENAI_API_KEY)')
    .option('--judge-model <name>', 'model name for --judge')
    .addOption(new Option('--judge-timeout <s>', 'seconds to wait for one judge reply').default(60).argParser(numberFlag('judge-timeout', 1, 3600)))
    .addOption(new Option('--seed <s>', 'seed for samples, QAs and init').default(0).argParser(numberFlag('seed', 0, 2 ** 31, true)))
    .option('-o, --out <dir>', 'write results.jsonl, summary.json and report.html here (a new folder)')
    .option('--force', 'replace --out if it is an earlier lift eval folder (anything else is never replaced)')
    .option('--tokenizer <file>', 'llama2.c tokenizer file')
    .addOption(computeOption())
    .option('--json', 'print the summary as JSON on stdout')
    .addHelpText('after', EXAMPLES)
    .action(async (task: string, flags: EvalFlags, cmd: Command) => {
      await runEvalCommand(task, flags, explicitOptions(cmd));
    });
}

function parseMethods(s: string): Method[] {
  const ms = s.split(',').map((x) => x.trim()).filter(Boolean);
  const bad = ms.filter((m) => !(METHODS as readonly string[]).includes(m));
  if (bad.length || ms.length === 0) throw new Error(`--methods: unknown method ${bad.map((b) => `'${b}'`).join(', ') || "''"}; expected a comma-separated subset of ${METHODS.join(',')}`);
  return ms as Method[];
}

/** The trained methods' recipe and how it was built (flags, preset, file; lift's per-document layer for paper). */
interface EvalRecipe {
  recipe: Recipe;
  /** lift's recipe for one document: the authors' per-task settings over the preset (paper only). */
  perDocument?: (doc: EvalDocument) => Recipe;
  /** Longest answer: --max-tokens typed, else the preset's, else the flag's default. */
  maxTokens: number;
}

/** The recipe as absorb builds it (src/lift/recipe.ts): flags' defaults → preset (→ per-task) → file → flags typed. */
function evalRecipe(task: TaskName, f: EvalFlags, explicit: ReadonlySet<string>, file: Recipe | null, window: number, spec: TaskSpec): EvalRecipe {
  const preset = f.preset ? presetByName(f.preset) : null;
  const { defaults, typed } = flagLayers(f, explicit);
  const presetLayer = preset ? presetRecipe(preset, window) : null;
  const recipe = mergeRecipes(defaults, presetLayer, file, typed);
  const maxTokens = preset && !explicit.has('maxTokens') ? preset.answer_max_tokens : f.maxTokens;
  if (preset?.name !== 'paper') return { recipe, maxTokens };
  // The authors' per-task settings (paper-tasks.ts) for lift: part of the preset, so under the file and the flags.
  const perTask = (doc: EvalDocument) => taskLayer(paperTaskRecipe(task, spec.longbench.get(doc.id)?.dataset));
  return { recipe, maxTokens, perDocument: (doc) => mergeRecipes(defaults, presetLayer, perTask(doc), file, typed) };
}

/** `explicit`: flags typed on the command line, which a --preset, its per-task settings and a --recipe file do not override. */
export async function runEvalCommand(task: string, flags: EvalFlags, explicit: ReadonlySet<string> = new Set()): Promise<void> {
  // Everything that can be checked without the model is checked first, so a typo fails in milliseconds.
  if (!isTask(task)) throw new Error(`unknown task '${task}': expected one of ${TASKS.join(', ')} (lift eval --help lists them)`);
  const f = flags;
  const preset = f.preset ? presetByName(f.preset) : null;
  const methods = parseMethods(f.methods);
  parseEpochs(f.epochs), parseBatch(f.batchSize);
  const lengths = intList('lengths')(f.lengths), depths = intList('depths')(f.depths);
  if (depths.some((d) => d > 100)) throw new Error(`--depths: depths are percentages from 0 to 100, got ${f.depths}`);
  if (f.judge && !f.judgeModel) throw new Error('--judge needs --judge-model NAME (the model the endpoint should use)');
  const data = checkData(task, f.data);
  const file = f.recipe ? readRecipeFile(f.recipe) : null;
  if (file?.qa_generator !== undefined && !['builtin', 'self'].includes(file.qa_generator))
    throw new Error(`${f.recipe}: qa_generator: lift eval writes QAs with 'builtin' or 'self', got ${JSON.stringify(file.qa_generator)}`);
  const guardText = file?.guard_text !== undefined ? readGuardText(file.guard_text) : undefined;

  const loaded = await loadModelForCli(f.model, f.tokenizer, f.compute);
  const window = loaded.model.config.max_position_embeddings;
  if (preset) {
    const note = budgetNote(preset, window, explicit);
    if (note) log(note);
  }
  let target: OutputTarget | null = null;
  try {
    if (f.out) target = claimOutput(f.out, { kind: EVAL_OUTPUT, force: f.force, inputs: [f.data, f.model, f.recipe, ...loaded.files] });
    const staged = target?.stage() ?? null;
    const t0 = performance.now();
    const countTokens = (s: string): number => loaded.tokenizer.encode(s, { bos: false }).length;
    const spec = loadTask(task, { data, countTokens, maxDocs: f.maxDocs, maxQuestions: f.maxQuestions, docTokens: f.docTokens, lengths, depths });
    const { recipe, perDocument, maxTokens } = evalRecipe(task, f, explicit, file, window, spec);
    const budget = recipe.context_budget ?? Math.min(window, 2048), qa = recipe.qa ?? 10;
    const options: HarnessOptions = {
      methods, recipe, perDocument, guardText, maxTokens,
      qaGenerator: qa > 0 || perDocument ? qaGenerator(recipe, loaded) : null,
      answer: { answerStop: recipe.answer_stop, ...(recipe.bos === 'never' ? { bos: false } : {}) },
      judge: f.judge ? makeJudge({ url: f.judge, model: f.judgeModel!, timeoutMs: f.judgeTimeout * 1000, apiKey: process.env.OPENAI_API_KEY }) : undefined,
    };
    const settings = {
      task, data: spec.data, model: loaded.id, methods, ...recipe, lr: recipe.lr ?? null, max_tokens: maxTokens, documents: spec.docs.length,
      questions: spec.docs.reduce((n, d) => n + d.questions.length, 0), doc_tokens: f.docTokens || null,
      ...(task === 'needle' ? { lengths, depths } : {}), judge: f.judge ? { url: f.judge, model: f.judgeModel } : null,
      qa_generator: options.qaGenerator?.id ?? null,
      ...(preset ? { preset: presetRecord(preset) } : {}),
      ...(f.recipe ? { recipe_file: f.recipe } : {}),
      // What lift trained each document with: the authors' per-task settings, a recipe file's and typed flags' kept.
      ...(perDocument ? { per_task: Object.fromEntries(spec.docs.map((d) => {
        const r = perDocument(d);
        return [d.id, { qa: r.qa, epochs: r.epochs, lr: r.lr, warmup: r.warmup, source: paperTaskRecipe(task, spec.longbench.get(d.id)?.dataset).source }];
      })) } : {}),
    };
    log(`eval ${task}: ${settings.documents} documents, ${settings.questions} questions × ${methods.join(', ')}; model ${loaded.id}; ` +
      `budget ${budget}, epochs ${recipe.epochs?.join(',')}, batch ${recipe.batch_size}, lift adapter ${recipe.adapter}, ${qa} QAs`);
    const results = staged ? join(staged, 'results.jsonl') : null;
    if (results) {
      writeFileSync(results, '');
      log(`records go to ${results} as they come, then to ${target!.path}`);
    }
    let bar: Progress | null = null;
    const records = await runEval(loaded, spec, {
      ...options,
      onEvent: (e) => {
        if (e.type === 'start') bar = progress('answers', e.answers);
        else if (e.type === 'train') log(`${e.doc_id}: trained ${e.method} in ${e.seconds.toFixed(1)} s (${e.steps} steps, loss ${e.firstLoss?.toFixed(3)} → ${e.finalLoss?.toFixed(3)})`);
        else if (e.type === 'warning') log(`warning: ${e.message}`);
        else {
          if (results) appendFileSync(results, JSON.stringify(e.record) + '\n');
          (bar as Progress | null)?.update(e.done, `${e.record.method} ${e.record.question_id}`);
        }
      },
    });
    (bar as Progress | null)?.stop();
    const summary = summarize(records);
    const seconds = (performance.now() - t0) / 1000;
    if (target && staged) {
      writeReport(join(staged, 'report.html'), evalReport(spec, summary, records, settings, seconds));
      writeFileSync(join(staged, 'summary.json'), JSON.stringify({ settings, summary, seconds }, null, 2) + '\n');
      target.commit(staged);
      log(`wrote ${['results.jsonl', 'summary.json', 'report.html'].map((n) => join(f.out!, n)).join(', ')}`);
    }
    log(`eval finished in ${seconds.toFixed(1)} s`);
    out(f.json ? JSON.stringify({ settings, summary, seconds }) + '\n' : formatTable(summary));
  } finally {
    target?.release();
    loaded.model.dispose();
  }
}

/** lift's QA generator as the recipe names it: the builtin cloze, or the model itself through its chat template (greedy). */
function qaGenerator(r: Recipe, loaded: Awaited<ReturnType<typeof loadModelForCli>>) {
  if ((r.qa_generator ?? 'builtin') === 'builtin') return makeQAGenerator('builtin');
  return makeQAGenerator('self', { self: {
    complete: (prompt: string, maxTokens: number) => generateText(loaded.model, loaded.tokenizer, loaded.tokenizer.encode(prompt, { bos: loaded.addBos }), { temperature: 0, maxTokens }),
    chatTemplate: loaded.chatTemplate, modelId: loaded.id, maxTokens: r.qa_max_tokens, acceptance: r.qa_acceptance,
  }, warn: (m) => log(`QA: ${m}`) });
}

/** The HTML report: score table, needle heatmaps (needle task), one bar chart of the metrics per method, timings, settings. */
export function evalReport(spec: TaskSpec, summary: Summary, records: readonly EvalRecord[], settings: Record<string, unknown>, seconds: number): Report {
  const sections: Section[] = [{
    kind: 'table', id: 'scores', title: 'Mean score per method',
    columns: ['method', 'n', ...summary.metrics],
    rows: summary.methods.map((m) => [m.method, m.n, ...summary.metrics.map((k) => (k in m.metrics ? Number(m.metrics[k].toFixed(4)) : '-'))]),
  }];
  if (spec.task === 'needle')
    for (const m of summary.methods) {
      const g = needleMatrix(records, m.method);
      sections.push({
        kind: 'heatmap', id: `needle-${m.method}`, title: `Needle in a haystack: ${m.method} (1 = every keyword found)`,
        xLabel: 'haystack length (tokens)', yLabel: 'needle depth (%)', xTicks: g.lengths.map(String), yTicks: g.depths.map(String),
        values: g.values, min: 0, max: 1,
      });
    }
  const shown = summary.metrics.filter((k) => k !== 'unparsed');
  sections.push(
    { kind: 'bars', id: 'metrics', title: 'Metrics per method', labels: shown, series: summary.methods.map((m) => ({ name: m.method, values: shown.map((k) => m.metrics[k] ?? 0) })) },
    { kind: 'kv', id: 'timings', title: 'Timings (seconds)', entries: [
      ['whole run', Number(seconds.toFixed(1))],
      ...summary.methods.flatMap((m): [string, number][] => [[`${m.method}: training`, Number(m.train_seconds.toFixed(1))], [`${m.method}: answering`, Number(m.answer_seconds.toFixed(1))]]),
    ] },
    { kind: 'table', id: 'answers', title: 'Answers (first 50)', columns: ['method', 'question', 'reference', 'prediction', summary.metrics[0] ?? 'score'],
      rows: records.slice(0, 50).map((r) => [r.method, r.question.slice(0, 120), (r.references[0] ?? '').slice(0, 120), r.prediction.slice(0, 200), r.scores[summary.metrics[0]] ?? '-']) },
    { kind: 'text', id: 'settings', title: 'Settings', text: JSON.stringify(settings, null, 2) },
  );
  return { title: `LIFT eval: ${spec.task}`, subtitle: `${String(settings.model)} · ${spec.data}`, createdAt: new Date().toISOString(), sections };
}
