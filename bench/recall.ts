// `npm run bench -- recall` is the recall suite (bench/recall-suite.ts: six fact families, 2k–16k tokens, three
// probe forms, several seeds); `recall --multi` measures interference between documents (below); and
// `npm run bench -- recall --grid [--json] [--quick] [--only TEXT] [--skip TEXT] [--seeds 1,2,3] [--guard none|kl]`
// is the first bench, one template of fact, kept for the recipe grid its README rows came from:
// does LIFT make facts outside the context window answerable, and at what cost to what the model knew?
// stories260K, a context budget of 128 tokens, a ≥ 2048-token TinyStories document (16× the budget) with 12
// planted facts; probes are the middle-truncated document + "Lily's dog was called" (the facts sit in the
// truncated middle). Per configuration (adapter × guard × contextualized training): recall without and with
// the adapter, NLL of the document and of held-out text (the first 100 stories of tinystories-valid-sample,
// disjoint from the document's stories) before/after, and the answers' NLL after the probe (nats per token:
// graded where recall is all-or-nothing); in_context_* is the base model with the fact's sentence in its window
// (the ceiling of reading it with attention, which Gated Memory imitates). Each line also names the recipe's
// knobs: seed, stride, anchor, anchor_on and anchor_lifted_tokens, answer_recitations, qa and qa_generator,
// guard_tokens (the longest guard text), steps, epochs.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { native } from '../src/engine/index.js';
import { loadModelFromPath, type LoadedModel } from '../src/model/load.js';
import { meanNll } from '../src/model/perplexity.js';
import { absorb, type AbsorbOptions } from '../src/lift/absorb.js';
import { BuiltinQAGenerator } from '../src/lift/qa/builtin.js';
import { readStories, plantedDocument } from '../src/eval/datasets/planted.js';
import { recall } from '../src/eval/recall.js';
import type { AdapterHooks } from '../src/model/llama.js';
import { Output, log, type BenchArgs } from './util.js';
import { threadsFlag } from './threads-flag.js';

const SHARED = process.env.LIFT_SHARED ?? join(process.cwd(), '..', 'shared');
const BUDGET = 128;

interface Config {
  adapter: 'lora' | 'gated-memory';
  variant: string;
  guard: 'none' | 'kl';
  ct: boolean;
  options: AbsorbOptions;
  /** Only with contextualized training (saves time for variants of one knob). */
  ctOnly?: boolean;
  /** Only with the KL guard (for knobs of the guard itself). */
  klOnly?: boolean;
}

// Guard settings measured best on this document (README): 128 texts the base writes itself, 4 per step, λ = 1.
// With 8 texts, 1 per step (the first version) held-out NLL rose to 2.13 at the same recall (0.50).
const GUARD = { guardLambda: 1, guardSamples: 128, guardPerStep: 4 };

function configs(quick: boolean): Config[] {
  const common: AbsorbOptions = { contextBudget: BUDGET, batchSize: 8, qa: 10, qaGenerator: new BuiltinQAGenerator(), ...GUARD, seed: 1 };
  // Paper segment geometry at B = 128: ℓ = 32, s = 12 (3/8·ℓ). "stride 4" sees each passage at 8 offsets
  // instead of ~3 (3× the samples, so a third of the epochs: the same number of steps).
  const dense = { lengths: { stride: 4 }, epochs: [2, 4] as [number, number] };
  // The long-guard recipe the best rows share: stride 4, 4 + 8 epochs, anchor 0.75, 60 QAs, 512-token guard texts.
  const long: AbsorbOptions = { ...common, ...dense, epochs: [4, 8], anchor: 0.75, qa: 60, guardTokens: 512 };
  const r32: AbsorbOptions = { adapter: 'lora', lora: { r: 32, lora_alpha: 64 }, lr: 1e-3 };
  const variants: Omit<Config, 'guard' | 'ct'>[] = [
    { adapter: 'lora', variant: 'r32', options: { ...common, adapter: 'lora', lora: { r: 32, lora_alpha: 64 }, lr: 1e-3, epochs: [6, 12] } },
    { adapter: 'lora', variant: 'r32, stride 4', options: { ...common, adapter: 'lora', lora: { r: 32, lora_alpha: 64 }, lr: 1e-3, ...dense } },
    { adapter: 'lora', variant: 'r32, stride 4, anchor 1.5', ctOnly: true, options: { ...common, adapter: 'lora', lora: { r: 32, lora_alpha: 64 }, lr: 1e-3, ...dense, epochs: [4, 8], anchor: 1.5, anchorOn: 'all' } },
    // Guard texts up to 512 tokens (the held-out stories' length; the budget is 128) cover the positions where
    // the adapter drifted most; the held-out room that frees pays for a weaker anchor and 60 QAs.
    { adapter: 'lora', variant: 'r32, stride 4, anchor 0.75, 60 QAs, guard texts ≤ 512 tokens', ctOnly: true, klOnly: true, options: { ...long, ...r32, anchorOn: 'all' } },
    // The anchor caps how sure the adapter gets of a name (~1/(1+β) at the optimum); lifted where the QAs'
    // answers sit in the document, and off on the QA samples (`--anchor-on answers`).
    { adapter: 'lora', variant: 'r32, stride 4, anchor 0.75 except on QA answers, 60 QAs, guard texts ≤ 512 tokens', ctOnly: true, klOnly: true, options: { ...long, ...r32, anchorOn: 'answers' } },
    // …plus one answer recitation per place the document holds a QA's answer (`--answer-recitations 1`).
    { adapter: 'lora', variant: 'r32, stride 4, anchor 0.75 except on QA answers, answer recitations, 60 QAs, guard texts ≤ 512 tokens', ctOnly: true, klOnly: true, options: { ...long, ...r32, anchorOn: 'answers', answerRecitations: 1 } },
    { adapter: 'gated-memory', variant: 'paper (k=2, paper init)', options: { ...common, adapter: 'gated-memory', gatedMemory: { memoryMultiplier: 2, init: 'paper' }, lr: 1e-3, epochs: [6, 12] } },
    { adapter: 'gated-memory', variant: 'k=8, zero-output init, lr 3e-3, stride 4', options: { ...common, adapter: 'gated-memory', gatedMemory: { memoryMultiplier: 8, init: 'zero-output' }, lr: 3e-3, ...dense } },
    // The LoRA row's recipe on our memory: 60 QAs, the anchor (lifted on the answers), 512-token guard texts.
    { adapter: 'gated-memory', variant: 'k=8, zero-output init, lr 3e-3, stride 4, anchor 0.75 except on QA answers, 60 QAs, guard texts ≤ 512 tokens', ctOnly: true, klOnly: true, options: { ...long, adapter: 'gated-memory', gatedMemory: { memoryMultiplier: 8, init: 'zero-output' }, lr: 3e-3, anchorOn: 'answers' } },
    // Beyond the paper: memory and gate read the whole layer's pre-RoPE query (every head), not one head's 8 numbers.
    { adapter: 'gated-memory', variant: 'layer query (beyond the paper), stride 4', ctOnly: true, options: { ...common, adapter: 'gated-memory', gatedMemory: { memoryInput: 'layer' }, lr: 1e-3, ...dense, epochs: [4, 8] } },
  ];
  const out: Config[] = [];
  for (const v of variants)
    for (const guard of ['none', 'kl'] as const)
      for (const ct of [true, false]) {
        if ((v.ctOnly && !ct) || (v.klOnly && guard !== 'kl') || (quick && (!ct || (guard === 'kl' && v.adapter !== 'lora')))) continue;
        out.push({ ...v, guard, ct, options: { ...v.options, guard, contextualized: ct } });
      }
  return out;
}

function nllOf(loaded: LoadedModel, seqs: number[][], adapter: AdapterHooks | null): number {
  return meanNll(loaded.model, seqs, { adapter }).nll;
}

export async function benchRecall(args: BenchArgs): Promise<void> {
  if (args.flags.has('multi')) return benchRecallMulti(args);
  if (args.flags.has('table')) return (await import('./recall-table.js')).benchRecallTable(args);
  if (!args.flags.has('grid')) return (await import('./recall-suite.js')).benchRecallSuite(args);
  const modelPath = join(SHARED, 'models', 'stories260K', 'stories260K.bin');
  const dataPath = join(SHARED, 'data', 'tinystories-valid-sample', 'tinystories_val.txt');
  if (!existsSync(modelPath) || !existsSync(dataPath)) throw new Error(`recall bench needs ${modelPath} and ${dataPath} (set LIFT_SHARED)`);
  native.setThreads(threadsFlag(args.flags.get('threads'), 1)); // a 260K-parameter model: one thread is fastest
  // --only / --skip TEXT: run the configurations whose "adapter variant" does / does not contain TEXT
  const only = args.flags.get('only'), skip = args.flags.get('skip');
  const out = new Output(args.json);
  const loaded = loadModelFromPath(modelPath);
  const tok = loaded.tokenizer;
  const stories = readStories(dataPath);
  const heldout = stories.slice(0, 100).map((s) => tok.encode(s, { bos: true }).slice(0, 512));
  const doc = plantedDocument(stories, { minTokens: 16 * BUDGET, countTokens: (s) => tok.encode(s, { bos: false }).length, skip: 100 });
  const docIds = tok.encode(doc.text, { bos: false });
  const docSeqs: number[][] = [];
  for (let i = 0; i < docIds.length; i += 255) docSeqs.push([tok.bosId!, ...docIds.slice(i, i + 255)]);
  log(`document: ${docIds.length} tokens, ${doc.facts.length} facts; budget ${BUDGET}; held-out: ${heldout.length} stories`);
  const base = await recall(loaded, null, doc.text, doc.facts, BUDGET);
  // The ceiling of reading a fact with attention: the base model with the fact's sentence in its window.
  const icl = await recall(loaded, null, doc.text, doc.facts, BUDGET, 'in-context');
  log(`base model: recall ${base.accuracy.toFixed(2)} truncated, ${icl.accuracy.toFixed(2)} with the fact in context (answer NLL ${base.answerNll.toFixed(2)} / ${icl.answerNll.toFixed(2)} nats per token)`);
  const heldBefore = nllOf(loaded, heldout, null), docBefore = nllOf(loaded, docSeqs, null);
  // --seeds 1,2,3: every configuration once per seed (init, sample order, guard texts); 12 probes make one
  // run's recall ±1 fact, and seeds differ by more than that.
  const seeds = (args.flags.get('seeds') ?? '1').split(',').map(Number);
  const guardOnly = args.flags.get('guard'); // --guard none|kl: only that guard
  const named = (c: Config) => `${c.adapter} ${c.variant}`;
  const chosen = configs(args.flags.has('quick')).filter((c) => (!only || named(c).includes(only)) && (!skip || !named(c).includes(skip)) && (!guardOnly || c.guard === guardOnly));
  for (const c of chosen) for (const seed of seeds) {
    const t0 = performance.now();
    const r = await absorb(loaded, { title: doc.title, text: doc.text }, { ...c.options, seed });
    const seconds = (performance.now() - t0) / 1000;
    const lift = await recall(loaded, r.adapter, doc.text, doc.facts, BUDGET);
    out.emit({
      bench: 'recall', adapter: c.adapter, variant: c.variant, guard: c.guard, ct: c.ct, facts: doc.facts.length,
      baseline_accuracy: base.accuracy, lift_accuracy: lift.accuracy, in_context_accuracy: icl.accuracy,
      answer_nll_before: base.answerNll, answer_nll_after: lift.answerNll, in_context_answer_nll: icl.answerNll,
      doc_nll_before: docBefore, doc_nll_after: nllOf(loaded, docSeqs, r.adapter),
      heldout_nll_before: heldBefore, heldout_nll_after: nllOf(loaded, heldout, r.adapter),
      seed, stride: r.lengths.stride, anchor: c.options.anchor ?? 0, anchor_on: r.recipe.anchor_on, anchor_lifted_tokens: (r.recipe as { anchor_lifted_tokens?: number }).anchor_lifted_tokens ?? 0, answer_recitations: c.options.answerRecitations ?? 0, qa: c.options.qa ?? 0, qa_generator: c.options.qaGenerator?.id ?? null, guard_tokens: (r.recipe.guard as { longest?: number } | null)?.longest ?? 0, steps: r.train.steps, epochs: (c.options.epochs ?? []).join(','), seconds,
    });
    r.adapter.dispose();
  }
  out.table(['adapter', 'variant', 'guard', 'ct', 'seed', 'stride', 'baseline_accuracy', 'lift_accuracy', 'answer_nll_after', 'doc_nll_before', 'doc_nll_after', 'heldout_nll_before', 'heldout_nll_after', 'seconds']);
  loaded.model.dispose();
}

/**
 * `npm run bench -- recall --multi [--seeds 1,2]`: interference between documents (issue 14 item 4). Documents
 * of ≥ 384 tokens with 4 disjoint planted facts each (stories from 100, 130, … 310 on), the e2e test's
 * short recipe (LoRA r32, stride 4, 2 + 4 epochs, 6 QAs per document, KL guard on 16 texts). Recall of
 * document A's facts (probes with A's own truncated context) when A is absorbed alone, with B, with B–D, with B–H, and
 * when 2 or 4 adapters, trained apart, are combined (sum of LoRA deltas) or routed (2, 4, 8) (adapters/route.ts: per
 * probe, the adapter under which the probe's own words are likeliest); the others'
 * recall alongside, and each adapter's recall alone.
 */
export async function benchRecallMulti(args: BenchArgs): Promise<void> {
  const { CombinedLora } = await import('../src/adapters/combine.js');
  const { AdapterRouter } = await import('../src/adapters/route.js');
  const { LoraAdapter } = await import('../src/adapters/lora.js');
  const modelPath = join(SHARED, 'models', 'stories260K', 'stories260K.bin');
  const dataPath = join(SHARED, 'data', 'tinystories-valid-sample', 'tinystories_val.txt');
  native.setThreads(1);
  const out = new Output(args.json);
  const loaded = loadModelFromPath(modelPath);
  const tok = loaded.tokenizer;
  const stories = readStories(dataPath);
  const docs = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => plantedDocument(stories, { minTokens: 3 * BUDGET, countTokens: (s) => tok.encode(s, { bos: false }).length, nFacts: 4, skip: 100 + 30 * i, firstFact: 4 * i }));
  const only = args.flags.get('only'); // --only 1|2|4|8|combined|routed
  const recipe = (seed: number): AbsorbOptions => ({ adapter: 'lora', lora: { r: 32, lora_alpha: 64 }, lr: 1e-3, contextBudget: BUDGET, lengths: { stride: 4 }, epochs: [2, 4], batchSize: 8, qa: 6, qaGenerator: new BuiltinQAGenerator(), guard: 'kl', guardSamples: 16, guardPerStep: 2, seed });
  const score = async (adapter: AdapterHooks, n: number) => Promise.all(docs.slice(0, n).map((d) => recall(loaded, adapter, d.text, d.facts, BUDGET).then((r) => r.accuracy)));
  for (const seed of (args.flags.get('seeds') ?? '1').split(',').map(Number)) {
    for (const n of [1, 2, 4, 8]) {
      if (only && only !== String(n)) continue;
      const t0 = performance.now();
      const r = await absorb(loaded, docs.slice(0, n).map((d, i) => ({ title: `${d.title} ${i + 1}`, text: d.text })), recipe(seed));
      out.emit({ bench: 'recall-multi', setup: `${n} in one adapter`, seed, recall_per_document: await score(r.adapter, n), steps: r.train.steps, seconds: (performance.now() - t0) / 1000 });
      r.adapter.dispose();
    }
    if (only && only !== 'combined' && only !== 'routed') continue;
    // Adapters trained apart, one per document: summed (combine.ts) and routed (route.ts: per probe, the adapter
    // that finds the probe's own words likeliest). The same eight trained adapters serve every setup.
    const t0 = performance.now();
    const parts: InstanceType<typeof LoraAdapter>[] = [];
    for (const d of docs.slice(0, only === 'combined' ? 4 : 8)) parts.push((await absorb(loaded, { title: d.title, text: d.text }, recipe(seed))).adapter as InstanceType<typeof LoraAdapter>);
    const trained = (performance.now() - t0) / 1000;
    const alone = await Promise.all(parts.map((p, i) => recall(loaded, p, docs[i].text, docs[i].facts, BUDGET).then((r) => r.accuracy)));
    if (only !== 'routed') for (const n of [2, 4]) out.emit({ bench: 'recall-multi', setup: `${n} adapters combined`, seed, recall_per_document: await score(new CombinedLora(parts.slice(0, n)), n), recall_each_alone: alone.slice(0, n), seconds: trained });
    if (only !== 'combined') for (const n of [2, 4, 8]) out.emit({ bench: 'recall-multi', setup: `${n} adapters routed`, seed, recall_per_document: await score(new AdapterRouter(loaded.model, parts.slice(0, n)), n), recall_each_alone: alone.slice(0, n), seconds: trained });
    parts.forEach((p) => p.dispose());
  }
  loaded.model.dispose();
}
