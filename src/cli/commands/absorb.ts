// `lift absorb DOC --model M --out DIR`: LIFT one document into an adapter folder (the adapter in its file
// format, the manifest, the document itself for answering with context, and an HTML report). Ctrl-C leaves
// a checkpoint (in lift's cache folder, keyed by --out); running the same command again resumes from it.
// The output is claimed before training (src/io/output.ts): an existing path that is not a LIFT adapter is
// refused, an existing adapter only replaced with --force, a second absorb into the same --out fails at start.
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { Command, Option } from 'commander';
import { absorb, type AbsorbEvent, type AnchorOn } from '../../lift/absorb.js';
import { describePlan } from '../../lift/plan.js';
import { AbortedError } from '../../lift/trainer.js';
import { loadDocument, readGuardText } from '../../lift/document.js';
import { makeQAGenerator } from '../../lift/qa/index.js';
import { documentFolderFiles } from '../../lift/folder.js';
import { generateText } from '../../model/generate.js';
import { saveAdapter } from '../../adapters/files.js';
import { ADAPTER_OUTPUT, checkpointDirFor, claimOutput, liftCacheDir, type OutputTarget } from '../../io/output.js';
import { absorbParts, type AbsorbMetrics, type LoadedDoc } from '../../lift/absorb-parts.js';
import type { Recipe } from '../../lift/recipe.js';
import { assertUsable } from '../../lift/usable.js';
import { faultPoint } from '../../io/fault.js';
import { absorbReport } from '../../report/absorb.js';
import { renderReport } from '../../report/html.js';
import { computeOption, loadModelForCli, type ComputeMode } from '../model.js';
import { progress, type Progress } from '../progress.js';
import { log, numberFlag, out } from '../io.js';
import { PRESET_NAMES, presetRecord } from '../../lift/presets.js';
import { budgetNote, explicitOptions } from '../preset.js';
import { readRecipeFile, recipeAbsorbOptions, type RecipeOptimizer } from '../../lift/recipe.js';
import { builtRecipe, recipeToFlags } from '../recipe-flags.js';
import { MEASURED_PRESET_NAMES } from '../../lift/measured.js';
import { absorbRecipe } from '../absorb-recipe.js';
import { evaluateForCli, readHeldoutText } from '../absorb-evaluate.js';
import { parseBatch, parseEpochs, presetChoiceOptions, type PresetChoiceFlags } from '../recipe-options.js';

export interface AbsorbFlags extends PresetChoiceFlags {
  model: string;
  out: string;
  title?: string;
  adapter: 'gated-memory' | 'lora';
  ct: boolean;
  qa: number;
  qaGenerator: string;
  qaModel?: string;
  /** --evaluate / --heldout-text FILE (src/cli/absorb-evaluate.ts). */
  evaluate?: boolean;
  heldoutText?: string;
  preset?: string;
  guard: 'none' | 'kl' | 'replay';
  guardLambda: number;
  guardText?: string;
  guardSamples?: number;
  guardPerStep?: number;
  guardTokens?: number;
  anchor: number;
  anchorOn: AnchorOn;
  answerRecitations: number;
  contextBudget?: number;
  segmentLength?: number;
  stride?: number;
  epochs?: string;
  lr?: number;
  lrSchedule: 'constant' | 'cosine';
  warmup: number;
  batchSize?: string;
  loraRank?: number;
  loraAlpha?: number;
  memoryMultiplier?: number;
  gmInit: 'paper' | 'zero-output';
  gmInput: 'head' | 'layer';
  seed: number;
  checkpointEvery: number;
  json?: boolean;
  report: boolean;
  force?: boolean;
  tokenizer?: string;
  /** --compute: fp32, bf16 or auto (src/model/compute.ts). */
  compute?: ComputeMode;
  /** --recipe FILE.json (src/lift/recipe.ts): fills every flag not typed, after a --preset. */
  recipe?: string;
  /** AdamW's settings (no flags: from a recipe file only). */
  optimizer?: RecipeOptimizer;
  /** --parts N: the document cut into parts of ≤ ~N tokens, one adapter each (src/cli/absorb-parts.ts). */
  parts?: number;
}

const EXAMPLES = `
Training follows the paper (docs/method.md §5): Gated Memory, contextualized training, 10 auxiliary QAs, stage 1 = 3
epochs on segments, stage 2 = 5 epochs on segments + QAs, AdamW lr 1e-3 (LoRA: 2e-4), one full-batch step per
epoch. Our defaults differ from the authors' code where docs/fidelity.md says why: the QAs come from the builtin
cloze generator (theirs: the model itself, --qa-generator self), the context budget is min(window, 2048) (theirs:
8192), and more; --preset paper takes all of theirs. DIR must not exist (or be an empty folder); an existing LIFT adapter is replaced only with --force.
Interrupted (Ctrl-C) runs leave a checkpoint in lift's cache folder ($LIFT_CACHE_DIR, else
$XDG_CACHE_HOME/lift-ts or ~/.cache/lift-ts): run the same command to resume.

Examples:
  lift absorb book.txt --model ./SmolLM2-135M --out book.lift
  lift absorb story.txt --model stories260K.bin --out story.lift --adapter lora --lora-rank 32 --lr 1e-3 \\
      --epochs 6,12 --batch-size 8 --context-budget 128 --guard kl
  lift absorb report.txt --model org/name --out r.lift --qa 20 --qa-generator http://localhost:8000/v1 --qa-model m
  lift absorb book.txt --model ./Llama-3-8B-Instruct --out book.lift --preset paper
  lift absorb long.txt --model stories260K.bin --out long.lift --parts 3072   # one adapter per ~3k tokens, routed

--preset paper is the authors' released code (GraphPKU/LIFT), difference by difference: context budget 8192
(capped to the model's window), loss averaged over tokens, QAs by the model itself (1024-token replies, exact
evidence), no BOS, no bias on the gate's output, raw answers to EOS. Flags given explicitly override it.
docs/fidelity.md lists every difference and why our defaults differ.
`;

export function register(program: Command): void {
  const cmd = program
    .command('absorb')
    .description('Fine-tune a long document into an adapter (LIFT), written to --out')
    .argument('<documents...>', 'document(s) to absorb; several train one adapter, each under its own title (its file name)')
    .requiredOption('-m, --model <model>', 'base model: llama2.c .bin, .gguf, Hugging Face folder or org/name')
    .requiredOption('-o, --out <dir>', 'adapter folder to write')
    .option('--title <text>', 'document title used in prompts (default: the file name)')
    .addOption(new Option('--adapter <kind>', 'adapter type').choices(['gated-memory', 'lora']).default('gated-memory'))
    .option('--no-ct', 'train on plain segments instead of contextualized samples (§2)')
    .addOption(new Option('--qa <n>', 'auxiliary QA pairs (§3)').default(10).argParser(numberFlag('qa', 0, 10000, true)))
    .option('--qa-generator <spec>', "'builtin' (no model needed), 'self' (the base model) or an OpenAI-compatible URL", 'builtin')
    .option('--qa-model <name>', 'model name for an OpenAI-compatible --qa-generator (key from OPENAI_API_KEY)');
  for (const o of presetChoiceOptions()) cmd.addOption(o);
  cmd
    .addOption(new Option('--preset <name>', 'a named recipe filling every flag not given (paper: the authors\' code; ours: the defaults; tiny: measured best for heads ≤ 16 wide, the default there when no recipe flag is given)').choices([...PRESET_NAMES, ...MEASURED_PRESET_NAMES]))
    .addOption(new Option('--guard <kind>', 'forgetting guard on general text').choices(['none', 'kl', 'replay']).default('none'))
    .addOption(new Option('--guard-lambda <x>', 'weight of the guard loss').default(1).argParser(numberFlag('guard-lambda', 0)))
    .option('--guard-text <file>', 'general text for the guard (default: text the base model writes itself)')
    .addOption(new Option('--guard-samples <n>', 'general-text samples the base model writes for the guard (default 64)').argParser(numberFlag('guard-samples', 1, 1e6, true)))
    .addOption(new Option('--guard-tokens <n>', 'most tokens per guard text (default: min(context budget, 256)); more covers positions beyond the budget').argParser(numberFlag('guard-tokens', 2, 1e7, true)))
    .addOption(new Option('--guard-per-step <n>', 'guard samples added to each optimizer step (default 4)').argParser(numberFlag('guard-per-step', 1, 1e4, true)))
    .addOption(new Option('--anchor-on <where>', "the anchor on every position, only where the base already predicts the document's token ('known'), on the recitation samples and not the QA samples ('segments'), or also not where the document holds a QA's answer ('answers')").choices(['all', 'known', 'segments', 'answers']).default('answers'))
    .addOption(new Option('--answer-recitations <n>', "extra recitation samples per place the document holds a QA's answer, with the loss on the answer alone (beyond the paper; 0 = off)").default(0).argParser(numberFlag('answer-recitations', 0, 100, true)))
    .addOption(new Option('--anchor <beta>', 'weight of KL(base ‖ adapted) on the document samples themselves: learn the text, stay unsure (beyond the paper)').default(0).argParser(numberFlag('anchor', 0)))
    .addOption(new Option('--context-budget <n>', 'tokens the model sees when answering (default: min(context, 2048))').argParser(numberFlag('context-budget', 16, 1e7, true)))
    .addOption(new Option('--segment-length <n>', 'tokens per memorised segment ℓ (default budget/4)').argParser(numberFlag('segment-length', 1, 1e7, true)))
    .addOption(new Option('--stride <n>', 'tokens between segment starts s (default 3/8·ℓ); smaller = each passage seen at more offsets').argParser(numberFlag('stride', 1, 1e7, true)))
    .option('--epochs <a,b>', 'epochs of stage 1 and stage 2 (default 3,5)')
    .addOption(new Option('--lr <x>', 'learning rate').argParser(numberFlag('lr', 0)))
    .addOption(new Option('--lr-schedule <s>', 'learning rate after warm-up').choices(['constant', 'cosine']).default('constant'))
    .addOption(new Option('--warmup <n>', 'linear warm-up steps').default(0).argParser(numberFlag('warmup', 0, 1e9, true)))
    .option('--batch-size <n|full>', "samples per optimizer step, or 'full' (one step per epoch, the paper)")
    .addOption(new Option('--lora-rank <r>', 'LoRA rank (default 128)').argParser(numberFlag('lora-rank', 1, 4096, true)))
    .addOption(new Option('--lora-alpha <a>', 'LoRA alpha (default 2·rank)').argParser(numberFlag('lora-alpha', 0)))
    .addOption(new Option('--memory-multiplier <k>', 'Gated Memory hidden width k·d_h (paper: 2)').argParser(numberFlag('memory-multiplier', 1, 64, true)))
    .addOption(new Option('--gm-init <init>', 'Gated Memory init').choices(['paper', 'zero-output']).default('paper'))
    .addOption(new Option('--gm-input <what>', "what Gated Memory's memory and gate read: each head's query (the paper) or the whole layer's").choices(['head', 'layer']).default('head'))
    .addOption(new Option('--seed <s>', 'seed for samples, QAs and init').default(0).argParser(numberFlag('seed', 0, 2 ** 31, true)))
    .addOption(new Option('--checkpoint-every <n>', 'optimizer steps between checkpoints').default(10).argParser(numberFlag('checkpoint-every', 1, 1e9, true)))
    .option('--tokenizer <file>', 'llama2.c tokenizer file')
    .option('--recipe <file>', 'a recipe as JSON (what `lift inspect ADAPTER --recipe` prints): fills every flag not given, after --preset')
    .addOption(computeOption())
    .addOption(new Option('--parts <tokens>', 'cut the document at paragraph breaks into parts of ≤ ~N tokens, one adapter each; ask/chat/generate route each question to one part (docs/recall.md; the tiny preset does this beyond 4096 tokens); 0 = one adapter').argParser(numberFlag('parts', 0, 1e9, true)))
    .option('--no-report', 'do not write report.html')
    .option('--force', 'replace DIR if it is an existing LIFT adapter folder (anything else is never replaced)')
    .option('--json', 'print the result as JSON on stdout')
    .option('--evaluate', 'before writing, measure recall of the trained QAs through ask and held-out NLL before/after (into the manifest\'s metrics)')
    .option('--heldout-text <file>', 'held-out text for --evaluate (implies it; default: the TinyStories stories the npm package ships, if any)')
    .addHelpText('after', EXAMPLES)
    .action(async (docs: string[], flags: AbsorbFlags, cmd: Command) => {
      await runAbsorb(docs, flags, explicitOptions(cmd));
    });
}

/** `explicit`: flags typed on the command line, which a --preset or a --recipe file does not override. */
export async function runAbsorb(docPaths: string | string[], flags: AbsorbFlags, explicit: ReadonlySet<string> = new Set()): Promise<void> {
  if (flags.epochs !== undefined) parseEpochs(flags.epochs); // flags first, then files
  if (flags.batchSize !== undefined) parseBatch(flags.batchSize);
  const fileRecipe = flags.recipe ? readRecipeFile(flags.recipe) : null;
  const paths = typeof docPaths === 'string' ? [docPaths] : docPaths;
  // --title names one document; several are each titled by their file name (their own title in the prompts).
  if (paths.length > 1 && flags.title !== undefined) throw new Error(`--title names one document; with ${paths.length} documents each is titled by its file name`);
  const docs: Awaited<ReturnType<typeof loadDocument>>[] = [];
  for (const p of paths) docs.push(await loadDocument(p, flags.title)); // PDF, HTML, DOCX, EPUB or text: the extracted text is absorbed
  for (const doc of docs) if (doc.note) log(doc.note);
  // The guard's text file: typed, else the recipe file's (no preset names one); read before the model loads.
  const guardPath = explicit.has('guardText') ? flags.guardText : fileRecipe?.guard_text ?? flags.guardText;
  const guardText = guardPath ? readGuardText(guardPath) : undefined;
  const heldoutText = readHeldoutText(flags.heldoutText); // --evaluate's, read now: a bad file fails before training
  const loaded = await loadModelForCli(flags.model, flags.tokenizer, flags.compute);
  // flags → recipe (defaults → preset → file → typed flags; src/cli/absorb-recipe.ts) → absorb() options.
  let tokens: number | undefined;
  const docTokens = () => (tokens ??= docs.reduce((n, d) => n + loaded.tokenizer.encode(d.text, { bos: false }).length, 0));
  const { recipe, preset, measured, lines } = absorbRecipe(flags, explicit, fileRecipe, loaded.model.config, docTokens);
  // --parts N, or the measured preset's parts for a long document when --parts is not given (--parts 0: one adapter).
  const measuredParts = flags.parts === undefined && docs.length === 1 ? measured?.parts?.(docTokens()) ?? null : null;
  const f = { ...flags, ...recipeToFlags(recipe), parts: flags.parts === 0 ? undefined : flags.parts ?? measuredParts ?? undefined };
  if (measuredParts !== null) log(`parts: the ${measured!.name} preset absorbs a document of ${docTokens()} tokens as parts of ≤ ~${measuredParts} (${measured!.partsWhy}); --parts 0 keeps one adapter`);
  if (f.parts === undefined) for (const line of lines) log(line); // with parts each part's recipe is printed
  else if (docs.length > 1) {
    loaded.model.dispose();
    throw new Error(`--parts cuts one document into parts; ${docs.length} documents were given (absorb each, then ask with --adapter a.lift,b.lift: routed)`);
  }
  let target: OutputTarget;
  try {
    target = claimOutput(f.out, { kind: ADAPTER_OUTPUT, force: f.force, inputs: [...paths, guardPath, f.tokenizer, f.model, ...loaded.files] });
  } catch (e) {
    loaded.model.dispose();
    throw e;
  }
  const t0 = performance.now();
  const ac = new AbortController();
  const onSigint = (): void => {
    log('\ninterrupted: stopping (a checkpoint is saved if training has started)…');
    ac.abort();
  };
  process.once('SIGINT', onSigint);
  let bar: Progress | null = null;
  let qaBar: Progress | null = null;
  let phaseBar: { phase: string; bar: Progress } | null = null, trainDone = 0, trainSteps = 0, prepared = 0; // onEvent's state
  let current: readonly { path: string }[] = docs; // the documents being absorbed now (a part, with --parts)
  const onEvent = (e: AbsorbEvent): void => {
    faultPoint(e.type === 'train' ? `train:${e.event.type}` : e.type === 'progress' ? `absorb:${e.phase.replace(/ /g, '-')}` : `absorb:${e.type}`);
    if (e.type === 'qa-progress') {
      qaBar ??= progress('synthesizing QAs', e.total); // units are the generator's: QA slots, or sentences (builtin)
      qaBar.update(e.done);
      if (e.done === e.total) qaBar.stop();
      return;
    }
    // One bar per preparation phase (tokenizing, building samples, …), ended when the next event arrives.
    if (e.type === 'progress') {
      if (phaseBar?.phase !== e.phase) { phaseBar?.bar.stop(); phaseBar = { phase: e.phase, bar: progress(e.phase, e.total) }; }
      phaseBar.bar.update(e.done);
      return;
    }
    phaseBar?.bar.stop();
    phaseBar = null;
    if (e.type === 'qa') qaBar?.stop();
    if (e.type === 'plan') log(describePlan(e));
    else if (e.type === 'prepare') log(`document: ${current[prepared++]?.path} (${e.documentTokens} tokens) → ${e.segments} segments of ${e.lengths.segmentLength} (stride ${e.lengths.stride}), context budget ${e.lengths.budget}`);
    else if (e.type === 'qa') log(`auxiliary QAs: ${e.generated} of ${e.requested}`);
    else if (e.type === 'warning') log(`warning: ${e.message}`);
    else if (e.type === 'guard') log(`forgetting guard: ${e.samples} general-text samples (${e.source === 'user' ? 'from --guard-text' : 'written by the base model'})`);
    else if (e.event.type === 'start') {
      // Also at step 0: Ctrl-C inside the first step leaves a checkpoint there.
      if (e.event.resumed) log(`resuming from the checkpoint at step ${e.event.resumedAt}`);
      // Counted in forward/backward passes (the plan line names them), so a full-batch step over many samples
      // still moves the bar and its ETA; the info names the step.
      bar = progress('training', e.event.totalSamples);
      trainDone = e.event.resumedAtSample;
      bar.update(trainDone, `step ${e.event.resumedAt}/${e.event.totalSteps}`);
      trainSteps = e.event.totalSteps;
    } else if (e.event.type === 'progress') {
      trainDone = e.event.samples;
      bar?.update(trainDone, `step ${e.event.step + 1}/${trainSteps}`);
    } else if (e.event.type === 'step') bar?.update(trainDone, `step ${e.event.step}/${trainSteps} ${e.event.stage} loss ${e.event.loss.toFixed(4)}${e.event.guardLoss !== null ? ` guard ${e.event.guardLoss.toFixed(4)}` : ''}`);
    else if (e.event.type === 'stale-checkpoint') log(`warning: the checkpoint ${e.event.dir} is from other settings (${e.event.differs.join('; ')}): not resumed; training starts over and replaces it`);
    else if (e.event.type === 'nonfinite') log(`step ${e.event.step}: non-finite ${e.event.names.join(', ')}; step skipped`);
  };
  const qaGenerator = f.qa > 0 ? makeQAGenerator(f.qaGenerator, {
    cacheDir: join(liftCacheDir(), 'qa'),
    openai: f.qaModel ? { model: f.qaModel } : undefined,
    self: f.qaGenerator === 'self' ? {
      complete: (prompt: string, maxTokens: number) => generateText(loaded.model, loaded.tokenizer, loaded.tokenizer.encode(prompt, { bos: loaded.addBos }), { temperature: 0, maxTokens }),
      chatTemplate: loaded.chatTemplate,
      modelId: loaded.id,
      maxTokens: f.qaMaxTokens,
      acceptance: f.qaAcceptance,
    } : undefined,
    warn: (m) => log(`QA: ${m}`),
  }) : null;

  /** Absorbs `these` with `rec` and writes the adapter folder to `into`; its metrics. */
  const absorbInto = async (these: readonly LoadedDoc[], rec: Recipe, into: OutputTarget, checkpointDir: string): Promise<AbsorbMetrics> => {
    const fx = { ...flags, ...recipeToFlags(rec) };
    bar = null;
    qaBar = null;
    prepared = 0;
    current = these;
    try {
      const r = await absorb(loaded, these.map((d) => ({ title: d.title, text: d.text })), {
        ...recipeAbsorbOptions(rec),
        qaGenerator: fx.qa > 0 ? qaGenerator : null,
        guardText,
        checkpointDir,
        signal: ac.signal,
        onEvent,
      });
      (bar as Progress | null)?.stop();
      const losses = r.train.losses;
      const metrics: AbsorbMetrics = { steps: r.train.steps, first_loss: losses[0]?.loss ?? null, final_loss: losses.at(-1)?.loss ?? null, non_finite_steps: r.train.nonFiniteSteps, seconds: r.seconds, qa_generated: r.qas.length };
      assertUsable(loaded.model, r, Int32Array.from(loaded.tokenizer.encode(these[0].text.slice(0, 400), { bos: loaded.addBos }).slice(0, 64))); // non-zero exit, nothing written, the checkpoint kept: never an unusable adapter
      if (fx.evaluate || fx.heldoutText !== undefined) Object.assign(metrics, await evaluateForCli(loaded, r, these, { answerStop: fx.answerStop, heldoutText }));
      // One document: document.txt + document.json as always; several: documents/NN.txt listed in document.json.
      const kept = documentFolderFiles(these.map((d) => ({ title: d.title, text: d.text, source: d.path })), { context_budget: r.lengths.budget, answer_stop: fx.answerStop, bos: r.recipe.bos, qas: r.qas });
      const files: Record<string, string> = { ...kept.files };
      if (fx.report) files['report.html'] = renderReport(absorbReport(these.map((d) => d.title).join('; '), r, loaded.id));
      // The checkpoint goes just before the rename, not after: killed in between, the same command retrains to the
      // same bytes; the other way round it would find a finished adapter at --out and refuse without --force.
      // How answers are decoded is part of the recipe (presets.ts), and so is the preset a run was asked for.
      const record = { ...r.recipe, answer_stop: fx.answerStop, built: builtRecipe(rec, r), ...(preset ? { preset: presetRecord(preset) } : measured ? { preset: { name: measured.name, measured: true } } : {}) };
      saveAdapter(into, r.adapter, { base: { model: loaded.model, id: loaded.id, revision: loaded.revision }, document_sha256: r.documentSha256, recipe: record, metrics }, {
        files,
        beforeCommit: () => {
          rmSync(checkpointDir, { recursive: true, force: true });
          faultPoint('absorb:checkpoint-removed');
        },
      });
      r.adapter.dispose();
      return metrics;
    } catch (e) {
      (bar as Progress | null)?.stop();
      // Interrupted in training: a checkpoint to resume from. Before it: nothing to resume (the message says so).
      if (e instanceof AbortedError && e.checkpointDir) throw new Error(`${e.message}\n  resume with the same command: lift absorb ${process.argv.slice(3).join(' ')}`);
      throw e;
    }
  };

  try {
    const reportPath = join(f.out, 'report.html');
    if (f.parts === undefined) {
      const metrics = await absorbInto(docs, recipe, target, checkpointDirFor(target.path));
      const seconds = (performance.now() - t0) / 1000;
      log(`absorbed in ${seconds.toFixed(1)} s; loss ${metrics.first_loss?.toFixed(4)} → ${metrics.final_loss?.toFixed(4)}; adapter written to ${f.out}${f.report ? `, report ${reportPath}` : ''}`);
      if (f.json) out(JSON.stringify({ out: f.out, report: f.report ? reportPath : null, ...metrics }) + '\n');
      return;
    }
    const count = (s: string) => loaded.tokenizer.encode(s, { bos: false }).length;
    const r = await absorbParts(target, docs[0], f.parts, {
      count,
      recipeFor: (tokens) => {
        const x = absorbRecipe(flags, explicit, fileRecipe, loaded.model.config, () => tokens);
        for (const line of x.lines) log(line);
        return x.recipe;
      },
      absorbInto,
      settings: { model: loaded.id, flags: recipeToFlags(recipe), compute: loaded.compute },
      base: { id: loaded.id, revision: loaded.revision },
      log,
    });
    const seconds = (performance.now() - t0) / 1000;
    log(`absorbed in ${seconds.toFixed(1)} s as ${r.parts.length} parts (${r.parts.map((p) => p.tokens).join(', ')} tokens); adapters written to ${f.out}/${r.parts[0].folder} …`);
    if (f.json) out(JSON.stringify({ out: f.out, parts: r.parts, steps: r.parts.reduce((a, p) => a + (p.metrics?.steps ?? 0), 0), seconds }) + '\n');
  } finally {
    process.off('SIGINT', onSigint);
    target.release();
    loaded.model.dispose();
  }
}
