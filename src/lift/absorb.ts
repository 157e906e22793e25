// absorb(): LIFT end to end for one document or several (docs/method.md §1–§5): tokenize, cut overlapping segments, build
// contextualized (or plain) segment samples and auxiliary QA samples, then train a Gated Memory or LoRA
// adapter on the frozen model in two stages (segments; segments + QA) with the paper's optimizer defaults.
// Beyond the paper: the forgetting guard (general text under KL or replay; by default text the frozen base
// writes itself, so no data set is needed) and resumable checkpoints. Several documents train one adapter:
// each gets its own segments (its title at its head), QAs and answer recitations, and all samples train together;
// the first document's seeds are the single-document ones, so one document in a list trains as it did alone.
import { createHash } from 'node:crypto';
import type { LoadedModel } from '../model/load.js';
import { generateText } from '../model/generate.js';
import { LoraAdapter, ALL_LINEAR, type LoraConfig } from '../adapters/lora.js';
import { GatedMemoryAdapter, type GatedMemoryOptions } from '../adapters/gated-memory.js';
import type { Adapter } from '../adapters/files.js';
import { adamwSettings, type AdamWOptions } from '../engine/optim.js';
import { liftLengths, type LiftLengths, type LiftLengthOverrides } from './budget.js';
import { segmentViews, type SegmentView } from './segments.js';
import { buildQASamples, int32Arena, sampleOverhead, segmentSampleSteps, segmentSamplesFromTokens, type Sample, IGNORE } from './samples.js';
import { documentTokenSteps, encodeStart } from './tokens.js';
import { drive, pause, AbortedError } from './pace.js';
import { makePlan, PLAN_PREFIX, type AbsorbPlan } from './plan.js';
import { readCheckpointState } from './checkpoint.js';
import type { ContextMode } from './truncate.js';
import type { QAGenerator, QAPair } from './qa/types.js';
import { DEFAULT_PACK_TOKENS } from './packed.js';
import { train, calibrate, type TrainEvent, type TrainResult, type GuardOptions, type AnchorOn, type TrainSample } from './trainer.js';
import { answerMask, anchorRowsFor, answerRecitations } from './answers.js';
import { PAPER_DEFAULTS } from './presets.js';

export interface AbsorbOptions {
  adapter?: 'gated-memory' | 'lora';
  lora?: Partial<LoraConfig>;
  gatedMemory?: GatedMemoryOptions;
  /** Tokens the model sees at answer time (B); every length derives from it (budget.ts). */
  contextBudget?: number;
  lengths?: LiftLengthOverrides;
  /** §2 contextualized training (default true). */
  contextualized?: boolean;
  /** Auxiliary QAs (§3, default 10); 0 skips stage 2's QA samples. */
  qa?: number;
  qaGenerator?: QAGenerator | null;
  /** How QA samples fit the document into the prompt (default 'truncate', the paper). */
  qaContext?: ContextMode;
  /** Epochs of stage 1 (segments) and stage 2 (segments + QA); paper: 3 and 5. */
  epochs?: [number, number];
  lr?: number;
  /** AdamW's other settings (default ADAMW_DEFAULTS, LIFT §5); the manifest records them resolved. */
  optimizer?: Omit<AdamWOptions, 'lr'>;
  /** 'full' = one step per epoch (the paper's scripts); a number = mini-batches of that many samples. */
  batchSize?: number | 'full';
  warmupSteps?: number;
  /** One warm-up per run (default 'run') or transformers' per stage from lr 0 ('stage', the authors' code). */
  warmupScope?: 'run' | 'stage';
  /** After warm-up: 'constant' (the paper) or 'cosine' decay to 0. */
  schedule?: 'constant' | 'cosine';
  guard?: 'none' | 'kl' | 'replay';
  guardLambda?: number;
  /** General text for the guard; default: `guardSamples` texts the frozen base generates from BOS. */
  guardText?: string[];
  guardSamples?: number;
  /**
   * Most tokens per guard text, self-generated or the user's (default: min(context budget, 256)). Longer than
   * the budget covers the positions beyond it, where held-out text is read and an uncovered adapter drifts most.
   */
  guardTokens?: number;
  guardPerStep?: number;
  /** Weight of KL(base ‖ adapted) on the training samples themselves (beyond the paper; 0 = off). */
  anchor?: number;
  /**
   * The anchor on every position ('all'), only where the base already ranks the label first ('known'), on the
   * recitation samples but not the QA samples ('segments'), or as 'segments' and also not where the document
   * holds a QA's answer ('answers', the default: measured best, README "Recall"; see answers.ts). Without QAs
   * 'segments' and 'answers' are the same as 'all'.
   */
  anchorOn?: AnchorOn;
  /**
   * Beyond the paper: copies of answer recitations in stage 2 — for each place the document holds a QA's
   * answer, a recitation sample of the ℓ tokens ending there with the loss on the answer alone (answers.ts).
   * 0 = off (default).
   */
  answerRecitations?: number;
  /** Per-token losses averaged per sample (default 'samples') or over the batch's tokens (the authors' code). */
  lossAverage?: 'tokens' | 'samples';
  /** Batched training: tokens per packed forward/backward (0 = one pass per sample; TrainerOptions.packTokens). */
  packTokens?: number;
  /** Prepend BOS to training samples (default: the model's convention, LoadedModel.addBos). */
  bos?: boolean;
  seed?: number;
  checkpointDir?: string;
  checkpointEvery?: number;
  signal?: AbortSignal;
  onEvent?: (e: AbsorbEvent) => void;
}

export type AbsorbEvent =
  /** Before any heavy preparation (estimated: true, for a long document) and again once tokenized. */
  | ({ type: 'plan'; lengths: LiftLengths } & AbsorbPlan)
  /** A long preparation phase: `done` of `total` (characters, segments, sentences, guard texts), every ~50 ms. */
  | { type: 'progress'; phase: 'tokenizing' | 'building samples' | 'synthesizing QAs' | 'writing guard texts'; done: number; total: number }
  | { type: 'prepare'; documentTokens: number; segments: number; lengths: LiftLengths }
  | { type: 'qa-progress'; done: number; total: number }
  | { type: 'qa'; generated: number; requested: number }
  | { type: 'warning'; message: string }
  | { type: 'guard'; samples: number; source: 'user' | 'self' }
  | { type: 'train'; event: TrainEvent };

export interface AbsorbResult {
  adapter: Adapter;
  qas: QAPair[];
  lengths: LiftLengths;
  train: TrainResult;
  /** Everything needed to reproduce the run (for the manifest). */
  recipe: Record<string, unknown>;
  /** The document's sha256; for several, documentsSha256 of theirs (what the manifest records). */
  documentSha256: string;
  /** Per document, in order: its title, sha256 (of the UTF-8 text), tokens and segments. */
  documents: { title: string; sha256: string; tokens: number; segments: number }[];
  seconds: number;
}

export interface AbsorbDocument { title: string; text: string }

/**
 * The sha256 a manifest records for an adapter's documents: the document's own for one (as before several
 * were possible), else sha256("lift-documents-v1\n" + their sha256s joined by "\n"), so the manifest covers
 * the list of per-document hashes kept in document.json.
 */
export function documentsSha256(shas: readonly string[]): string {
  if (shas.length === 1) return shas[0];
  return createHash('sha256').update(`lift-documents-v1\n${shas.join('\n')}`, 'utf8').digest('hex');
}

/**
 * The guard's defaults. Many short texts beat a few long ones: on the recall benchmark, 8 texts with 1 per
 * step let held-out NLL rise 1.28 → 2.13 and 128 texts with 4 per step 1.28 → 1.65, at the same recall.
 * Texts are capped at 256 tokens so the base model writes them quickly on large models.
 */
export const GUARD_DEFAULTS = { samples: 64, perStep: 4, maxTokens: 256 };

// The paper's recipe as a named preset (presets.ts, where every difference from our defaults is an option).
export { PAPER_DEFAULTS };

/** Rejects documents we cannot learn from, naming what was wrong. */
export function checkDocument(text: string, where = 'document'): void {
  if (text.trim().length === 0) throw new Error(`${where} is empty (or only whitespace): there is nothing to absorb`);
}

export async function absorb(loaded: LoadedModel, documents: AbsorbDocument | readonly AbsorbDocument[], o: AbsorbOptions = {}): Promise<AbsorbResult> {
  const t0 = performance.now();
  const docs = Array.isArray(documents) ? [...documents] as AbsorbDocument[] : [documents as AbsorbDocument];
  if (docs.length === 0) throw new Error('absorb: no documents given');
  docs.forEach((d, i) => checkDocument(d.text, docs.length > 1 ? `document ${i + 1} ("${d.title}")` : 'document'));
  const { model, tokenizer: tok } = loaded;
  const seed = o.seed ?? 0;
  const budget = o.contextBudget ?? Math.min(model.config.max_position_embeddings, 2048);
  // Answering reads `budget` tokens at once: beyond the model's positions every later ask would fail.
  if (budget > model.config.max_position_embeddings)
    throw new RangeError(`context budget ${budget} exceeds the model's context of ${model.config.max_position_embeddings} tokens (max_position_embeddings); use at most ${model.config.max_position_embeddings}`);
  const lengths = liftLengths(budget, o.lengths);
  const bos = o.bos ?? loaded.addBos;
  const kind = o.adapter ?? 'gated-memory';
  const adapter: Adapter =
    kind === 'lora'
      ? new LoraAdapter(model, { r: 128, lora_alpha: 256, target_modules: ALL_LINEAR, seed, ...o.lora })
      : new GatedMemoryAdapter(model, { seed, ...o.gatedMemory });
  try {
    return await absorbWith(loaded, docs, o, { t0, seed, lengths, bos, kind, adapter });
  } catch (e) {
    adapter.dispose();
    throw e;
  }
}

/** absorb() once the adapter exists (it is disposed by the caller when this throws). */
async function absorbWith(loaded: LoadedModel, docs: AbsorbDocument[], o: AbsorbOptions, c: { t0: number; seed: number; lengths: LiftLengths; bos: boolean; kind: 'gated-memory' | 'lora'; adapter: Adapter }): Promise<AbsorbResult> {
  const { model, tokenizer: tok } = loaded;
  const { t0, seed, lengths, bos, kind, adapter } = c;
  // A damaged checkpoint is said now, not after minutes of preparation (the trainer reads it again).
  if (o.checkpointDir) readCheckpointState(o.checkpointDir);
  const progress = (phase: Extract<AbsorbEvent, { type: 'progress' }>['phase']) => ({ phase, signal: o.signal, onProgress: (done: number, total: number) => o.onEvent?.({ type: 'progress', phase, done, total }) });
  // The plan first (plan.ts): a long document's counts from its first PLAN_PREFIX characters, before the
  // tokenizing, sample building and QA synthesis that take minutes on megabytes.
  const heads = docs.map((d) => (d.title.length > 0 ? `${d.title}\n` : ''));
  const plan = planner(loaded, o, lengths, bos, adapter, docs.map((d, i) => heads[i] + d.text).join('\n\n'));
  if (plan.long) o.onEvent?.({ type: 'plan', lengths, ...plan.at(plan.estimate, true) });
  // Document i's seed: the run's for the first (so one document trains as it always did), apart for the others.
  const seedOf = (i: number) => seed + 7919 * i;
  const nQA = o.qa ?? PAPER_DEFAULTS.qa;
  const prepared: Prepared[] = [];
  for (const [i, doc] of docs.entries()) {
    const tokenized = await drive(documentTokenSteps(tok, heads[i], doc.text), progress('tokenizing'));
    // Segments are views into one Int32Array copy of the tokens, not 225k arrays on the JS heap (20 MB).
    const docI32 = Int32Array.from(tokenized.ids);
    prepared.push({ doc, seed: seedOf(i), docIds: tokenized.ids, docI32, body: tokenized.body, segments: segmentViews(docI32, lengths.segmentLength, lengths.stride), qas: [], qaSamples: [] });
  }
  o.onEvent?.({ type: 'plan', lengths, ...plan.at(prepared.reduce((a, p) => a + p.docIds.length, 0), false) });
  for (const p of prepared) {
    o.onEvent?.({ type: 'prepare', documentTokens: p.docIds.length, segments: p.segments.length, lengths });
    if (nQA > 0 && o.qaGenerator) {
      try {
        p.qas = await o.qaGenerator.generate(p.doc.text, nQA, { seed: p.seed, signal: o.signal, onProgress: (done, total) => o.onEvent?.({ type: 'qa-progress', done, total }) });
      } catch (e) {
        // Generators end an aborted request with the signal's reason (a DOMException): one error for every phase.
        if (o.signal?.aborted && !(e instanceof AbortedError)) throw new AbortedError(undefined, 'synthesizing QAs');
        throw e;
      }
      if (o.signal?.aborted) throw new AbortedError(undefined, 'synthesizing QAs');
      o.onEvent?.({ type: 'qa', generated: p.qas.length, requested: nQA });
    }
    // A QA whose prompt cannot fit the budget even with no document text is skipped and reported, not fatal.
    // The document's tokens as a continuation are those after the title in docIds when the tokenizer allowed
    // that cut (tokens.ts), so the QA prompts need no tokenization of the whole document each.
    const documentIds = p.body === null || p.qas.length === 0 ? undefined : p.docIds.slice(p.body);
    for (const qa of p.qas) {
      try {
        p.qaSamples.push(...buildQASamples(tok, { title: p.doc.title, document: p.doc.text }, [qa], lengths, { bos, mode: o.qaContext ?? 'truncate', documentIds }));
      } catch (e) {
        if (!(e instanceof RangeError)) throw e;
        o.onEvent?.({ type: 'warning', message: `QA skipped (${e.message}): "${qa.question.slice(0, 60)}"` });
      }
    }
  }
  const qas = prepared.flatMap((p) => p.qas);
  const qaSamples = prepared.flatMap((p) => p.qaSamples);

  const guard = await guardOptions(loaded, lengths, o, seed);
  const [e1, e2] = o.epochs ?? PAPER_DEFAULTS.epochs;
  const lr = o.lr ?? (kind === 'lora' ? 2e-4 : PAPER_DEFAULTS.lr);
  const batchSize = o.batchSize ?? PAPER_DEFAULTS.batchSize;
  const optimizer = adamwSettings({ ...o.optimizer, lr });
  // Training samples hold Int32Arrays: half the bytes of number[] (8 per token each), and off the JS heap, so
  // the garbage collector does not rescan hundreds of thousands of arrays (a 20 MB document: 225k samples).
  const take = int32Arena();
  const toTrain = (s: Sample): TrainSample => ({ input: take(s.input), labels: take(s.labels), kind: s.kind });
  // 'answers': the anchor is lifted where the document holds a QA's answer.
  const anchorOn = o.anchorOn ?? 'answers';
  const lifted = anchorOn === 'answers' && (o.anchor ?? 0) > 0;
  const nRecite = o.answerRecitations ?? 0;
  const segTrain: TrainSample[] = [], reciteTrain: TrainSample[] = [];
  let liftedTokens = 0;
  for (const p of prepared) {
    const answers = lifted || nRecite > 0 ? answerMask(tok, p.docIds, p.qas) : null;
    const mask = lifted ? answers : null;
    if (mask) liftedTokens += mask.reduce((a, v) => a + v, 0);
    // A recitation sample of `segment`, with the anchor's rows when it is lifted on the answers.
    const recitation = (s: Sample, segment: SegmentView): TrainSample => (mask ? { ...toTrain(s), anchorRows: anchorRowsFor(s, segment, mask) } : toTrain(s));
    // Built after the QAs (the anchor's rows need their answers), each converted as soon as it is made.
    segTrain.push(...await drive(segmentSampleSteps(tok, p.docI32, p.segments, lengths, { seed: p.seed, contextualized: o.contextualized ?? true, bos }, (s, i) => recitation(s, p.segments[i])), progress('building samples')));
    // Answer recitations (answers.ts), seeded apart from the segment samples (seed + 1 + k for copy k).
    for (let k = 0; answers && k < nRecite; k++) {
      const r = answerRecitations(p.docIds, answers, lengths.segmentLength, (segs) => segmentSamplesFromTokens(tok, p.docIds, segs, lengths, { seed: p.seed + 1 + k, contextualized: o.contextualized ?? true, bos }));
      reciteTrain.push(...r.samples.map((s, i) => recitation(s, r.segments[i])));
    }
  }
  const mask = lifted;
  const stages = [
    { name: 'segments', epochs: e1, samples: segTrain },
    { name: 'segments+qa', epochs: e2, samples: [...segTrain, ...reciteTrain, ...qaSamples.map(toTrain)] },
  ].filter((s) => s.epochs > 0 && s.samples.length > 0);
  const recipe = {
    adapter: kind,
    adapter_options: kind === 'lora' ? (adapter as LoraAdapter).config : (adapter as GatedMemoryAdapter).options,
    lengths,
    contextualized: o.contextualized ?? true,
    qa: { requested: nQA, generated: qas.length, trained: qaSamples.length, generator: o.qaGenerator?.id ?? null, context: o.qaContext ?? 'truncate' },
    epochs: [e1, e2],
    lr,
    batch_size: batchSize,
    warmup_steps: o.warmupSteps ?? 0,
    warmup_scope: o.warmupScope ?? 'run',
    schedule: o.schedule ?? 'constant',
    anchor: o.anchor ?? 0,
    anchor_on: anchorOn,
    loss_average: o.lossAverage ?? 'samples',
    pack_tokens: o.packTokens ?? DEFAULT_PACK_TOKENS,
    ...(mask ? { anchor_lifted_tokens: liftedTokens } : {}),
    ...(docs.length > 1 ? { documents: docs.length } : {}),
    answer_recitations: reciteTrain.length,
    optimizer: { name: 'adamw', betas: [optimizer.beta1, optimizer.beta2], eps: optimizer.eps, weight_decay: optimizer.weightDecay, clip: optimizer.clip },
    guard: guard ? { kind: guard.kind, lambda: guard.lambda, samples: guard.samples.length, per_step: guard.perStep, longest: Math.max(0, ...guard.samples.map((s) => s.input.length)), source: o.guardText ? 'user' : 'self' } : null,
    bos,
    seed,
    compute: loaded.compute, // fp32 or bf16 products of the frozen weights (LoadOptions.compute)
  };
  const result = await train(model, adapter, stages, {
      ...optimizer,
      batchSize,
      warmupSteps: o.warmupSteps,
      warmupScope: o.warmupScope,
      schedule: o.schedule,
      anchor: o.anchor,
      anchorOn,
      lossAverage: o.lossAverage,
      packTokens: o.packTokens,
      seed,
      guard,
      checkpointDir: o.checkpointDir,
      checkpointEvery: o.checkpointEvery,
      signal: o.signal,
      onEvent: (event) => o.onEvent?.({ type: 'train', event }),
    });
  const documents = prepared.map((p) => ({ title: p.doc.title, sha256: createHash('sha256').update(p.doc.text, 'utf8').digest('hex'), tokens: p.docIds.length, segments: p.segments.length }));
  return {
    adapter,
    qas,
    lengths,
    train: result,
    recipe,
    documentSha256: documentsSha256(documents.map((d) => d.sha256)),
    documents,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** One document on its way to samples: its tokens (title at the head), segments, QAs and their samples. */
interface Prepared {
  doc: AbsorbDocument;
  seed: number;
  docIds: number[];
  docI32: Int32Array;
  /** Index in docIds where the document's own tokens start after the title (tokens.ts), or null. */
  body: number | null;
  segments: SegmentView[];
  qas: QAPair[];
  qaSamples: Sample[];
}

/** The guard's general-text samples: the user's text, or what the frozen base writes itself from BOS. */
async function guardOptions(loaded: LoadedModel, lengths: LiftLengths, o: AbsorbOptions, seed: number): Promise<GuardOptions | null> {
  const kind = o.guard ?? 'none';
  if (kind === 'none') return null;
  const { model, tokenizer: tok } = loaded;
  const maxTokens = o.guardTokens ?? Math.min(lengths.budget, GUARD_DEFAULTS.maxTokens);
  const window = model.config.max_position_embeddings;
  if (!Number.isInteger(maxTokens) || maxTokens < 2 || maxTokens > window)
    throw new Error(`absorb: guardTokens must be an integer from 2 to the model's ${window}-token window, got ${maxTokens}`);
  let texts = o.guardText;
  if (!texts) {
    texts = [];
    const n = o.guardSamples ?? GUARD_DEFAULTS.samples;
    for (let i = 0; i < n; i++) {
      o.onEvent?.({ type: 'progress', phase: 'writing guard texts', done: i, total: n });
      await pause();
      if (o.signal?.aborted) throw new AbortedError(undefined, 'writing guard texts');
      const text = await generateText(model, tok, [], { maxTokens, temperature: 1, topP: 0.9, seed: seed * 1000 + i + 1, signal: o.signal });
      if (o.signal?.aborted) throw new AbortedError(undefined, 'writing guard texts'); // the text is partial
      texts.push(text);
    }
  }
  const bos = tok.bosId !== null && loaded.addBos ? [tok.bosId] : [];
  const samples = texts
    .map((t) => [...bos, ...tok.encode(t, { bos: false })].slice(0, maxTokens))
    .filter((ids) => ids.length >= 2)
    .map((ids) => ({ input: ids, labels: [...ids.slice(1), IGNORE] }));
  o.onEvent?.({ type: 'guard', samples: samples.length, source: o.guardText ? 'user' : 'self' });
  return { kind, lambda: o.guardLambda ?? 1, samples, perStep: o.guardPerStep ?? GUARD_DEFAULTS.perStep };
}

/**
 * The plan's fixed parts, measured once: tokens per character of the document's first PLAN_PREFIX
 * characters, and a calibration — timed training passes (after a short warm-up pass) on a sample of the
 * run's typical length, made of the document's first tokens. `at(tokens)` makes the plan for a token count.
 */
function planner(loaded: LoadedModel, o: AbsorbOptions, lengths: LiftLengths, bos: boolean, adapter: Adapter, text: string) {
  const { model, tokenizer: tok } = loaded;
  const prefix = encodeStart(tok, text.slice(0, PLAN_PREFIX));
  const tokensPerChar = prefix.length / Math.max(1, Math.min(text.length, PLAN_PREFIX));
  const long = text.length > PLAN_PREFIX;
  const estimate = long ? Math.round(tokensPerChar * text.length) : prefix.length;
  const sampleOpts = { contextualized: o.contextualized ?? true, bos };
  const T = Math.min(model.config.max_position_embeddings, sampleOverhead(tok, estimate, lengths, sampleOpts) + Math.min(lengths.segmentLength, estimate));
  const ids = Int32Array.from({ length: T }, (_, i) => prefix[i % Math.max(1, prefix.length)] ?? 0);
  const anchored = (o.anchor ?? 0) > 0;
  calibrate(model, adapter, ids.subarray(0, Math.min(T, 8)), anchored); // warm-up: first-call costs are not per token
  // The median of up to 7 timed passes, as many as fit in about a second (at least 3 unless they take over
  // 3 s; at least 1): one pass alone is noisy on a busy machine (0.05 to 0.42 s for the same 435-token pass on
  // stories260K), and a large model's plan must still come within seconds.
  const runs: { seconds: number; peakBytes: number }[] = [];
  for (let spent = 0; runs.length < 1 || (runs.length < 7 && spent < 1) || (runs.length < 3 && spent < 3); ) {
    runs.push(calibrate(model, adapter, ids, anchored));
    spent += runs.at(-1)!.seconds;
  }
  const sorted = runs.map((r) => r.seconds).sort((x, y) => x - y);
  const calibration = { tokens: T, seconds: sorted[sorted.length >> 1], peakBytes: Math.max(...runs.map((r) => r.peakBytes)) };
  const adapterBytes = adapter.parameters().reduce((a, p) => a + 4 * p.shape.reduce((x, y) => x * y, 1), 0);
  const nQA = o.qaGenerator ? (o.qa ?? PAPER_DEFAULTS.qa) : 0;
  const guard = (o.guard ?? 'none') === 'none' ? null : { perStep: o.guardPerStep ?? GUARD_DEFAULTS.perStep, tokens: o.guardTokens ?? Math.min(lengths.budget, GUARD_DEFAULTS.maxTokens) };
  const at = (documentTokens: number, estimated: boolean): AbsorbPlan => makePlan({
    estimated, documentTokens, lengths, sampleOverhead: sampleOverhead(tok, documentTokens, lengths, sampleOpts),
    qa: nQA, answerRecitations: o.answerRecitations ?? 0, epochs: o.epochs ?? PAPER_DEFAULTS.epochs,
    batchSize: o.batchSize ?? PAPER_DEFAULTS.batchSize, guard, calibration, adapterBytes, rssBytes: process.memoryUsage().rss,
  });
  return { long, tokensPerChar, at, estimate };
}
