// absorb(): LIFT end to end for one document or several (docs/method.md §1–§5), as a short sequence of named
// steps: settings (the options resolved), the adapter, the plan, the samples (tokens and segments; QAs and their
// samples; segment samples, answer masks and recitations, in two stages — absorb-samples.ts), the guard's
// batches (guard.ts), training (trainer.ts) and the record the manifest keeps. A Gated Memory or LoRA adapter is
// trained on the frozen model in two stages (segments; segments + QA) with the paper's optimizer defaults.
// Beyond the paper: the forgetting guard (general text under KL or replay; by default text the frozen base
// writes itself, so no data set is needed) and resumable checkpoints. Several documents train one adapter:
// each gets its own segments (its title at its head), QAs and answer recitations, and all samples train together;
// the first document's seeds are the single-document ones, so one document in a list trains as it did alone.
// Options usually come from a recipe (recipe.ts recipeAbsorbOptions), the CLI's and the server's alike.
import { createHash } from 'node:crypto';
import type { LoadedModel } from '../model/load.js';
import { LoraAdapter, ALL_LINEAR, type LoraConfig } from '../adapters/lora.js';
import { GatedMemoryAdapter, type GatedMemoryOptions } from '../adapters/gated-memory.js';
import type { Adapter } from '../adapters/files.js';
import { adamwSettings, type AdamWOptions } from '../engine/optim.js';
import { liftLengths, type LiftLengths, type LiftLengthOverrides } from './budget.js';
import type { AbsorbPlan } from './plan.js';
import { readCheckpointState } from './checkpoint.js';
import type { ContextMode } from './truncate.js';
import type { QAGenerator, QAPair } from './qa/types.js';
import { DEFAULT_PACK_TOKENS } from './packed.js';
import { train, type TrainEvent, type TrainResult, type TrainerOptions } from './trainer.js';
import { PAPER_DEFAULTS } from './presets.js';
import { documentHead, synthesizeQAs, tokenizeDocuments, trainingStages, type Prepared, type TrainingStages } from './absorb-samples.js';
import { buildGuard, guardSchedule, GUARD_DEFAULTS, type GuardSet } from './guard.js';
import { planner } from './absorb-plan.js';
import type { AnchorOn } from './anchor.js';

// Where the anchor applies (anchor.ts): the sample-building step turns the mode into each sample's anchor rows
// (anchorRowsOf), so the trainer weighs rows and knows no modes.
export type { AnchorOn } from './anchor.js';

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

/** The guard's defaults (guard.ts). */
export { GUARD_DEFAULTS };

// The paper's recipe as a named preset (presets.ts, where every difference from our defaults is an option).
export { PAPER_DEFAULTS };

/** Rejects documents we cannot learn from, naming what was wrong. */
export function checkDocument(text: string, where = 'document'): void {
  if (text.trim().length === 0) throw new Error(`${where} is empty (or only whitespace): there is nothing to absorb`);
}

export async function absorb(loaded: LoadedModel, documents: AbsorbDocument | readonly AbsorbDocument[], o: AbsorbOptions = {}): Promise<AbsorbResult> {
  const t0 = performance.now();
  const docs = checkDocuments(documents);
  const s = absorbSettings(loaded, o);
  const adapter = buildAdapter(loaded, s, o);
  try {
    // A damaged checkpoint is said now, not after minutes of preparation (the trainer reads it again).
    if (o.checkpointDir) readCheckpointState(o.checkpointDir);
    // The plan first (absorb-plan.ts): a long document's counts from its first characters, before the
    // tokenizing, sample building and QA synthesis that take minutes on megabytes; the exact plan once tokenized.
    const plan = planner(loaded, o, s, adapter, docs.map((d) => documentHead(d) + d.text).join('\n\n'));
    if (plan.long) o.onEvent?.({ type: 'plan', lengths: s.lengths, ...plan.at(plan.estimate, true) });
    const prepared = await tokenizeDocuments(loaded, docs, o, s);
    o.onEvent?.({ type: 'plan', lengths: s.lengths, ...plan.at(prepared.reduce((a, p) => a + p.docIds.length, 0), false) });
    await synthesizeQAs(loaded, prepared, o, s);
    const guard = await buildGuard(loaded, s.lengths, o, s.seed);
    const samples = await trainingStages(loaded, prepared, o, s);
    const result = await train(loaded.model, adapter, samples.stages, trainerOptions(o, s, guard));
    return absorbResult(loaded, o, s, adapter, prepared, samples, guard, result, t0);
  } catch (e) {
    adapter.dispose();
    throw e;
  }
}

/** The documents as a list, each checked (a document with nothing to learn is refused, naming it). */
function checkDocuments(documents: AbsorbDocument | readonly AbsorbDocument[]): AbsorbDocument[] {
  const docs = Array.isArray(documents) ? [...documents] as AbsorbDocument[] : [documents as AbsorbDocument];
  if (docs.length === 0) throw new Error('absorb: no documents given');
  docs.forEach((d, i) => checkDocument(d.text, docs.length > 1 ? `document ${i + 1} ("${d.title}")` : 'document'));
  return docs;
}

/** The options absorb() resolves once (defaults filled in), read by every step. */
export interface AbsorbSettings {
  seed: number;
  lengths: LiftLengths;
  bos: boolean;
  kind: 'gated-memory' | 'lora';
  contextualized: boolean;
  /** QAs requested per document. */
  qa: number;
  qaContext: ContextMode;
  epochs: [number, number];
  lr: number;
  batchSize: number | 'full';
  optimizer: Required<AdamWOptions>;
  anchor: number;
  anchorOn: AnchorOn;
}

/** Step 0: the settings, each default in one place (the paper's, presets.ts, where it names one). */
export function absorbSettings(loaded: LoadedModel, o: AbsorbOptions): AbsorbSettings {
  const window = loaded.model.config.max_position_embeddings;
  const budget = o.contextBudget ?? Math.min(window, 2048);
  // Answering reads `budget` tokens at once: beyond the model's positions every later ask would fail.
  if (budget > window) throw new RangeError(`context budget ${budget} exceeds the model's context of ${window} tokens (max_position_embeddings); use at most ${window}`);
  const kind = o.adapter ?? 'gated-memory';
  const lr = o.lr ?? (kind === 'lora' ? 2e-4 : PAPER_DEFAULTS.lr);
  return {
    seed: o.seed ?? 0,
    lengths: liftLengths(budget, o.lengths),
    bos: o.bos ?? loaded.addBos,
    kind,
    contextualized: o.contextualized ?? true,
    qa: o.qa ?? PAPER_DEFAULTS.qa,
    qaContext: o.qaContext ?? 'truncate',
    epochs: o.epochs ?? PAPER_DEFAULTS.epochs,
    lr,
    batchSize: o.batchSize ?? PAPER_DEFAULTS.batch_size,
    optimizer: adamwSettings({ ...o.optimizer, lr }),
    anchor: o.anchor ?? 0,
    anchorOn: o.anchorOn ?? 'answers',
  };
}

/** Step 1: the adapter, initialised from the run's seed (LoRA: rank 128, α 256 on every linear map unless set). */
function buildAdapter(loaded: LoadedModel, s: AbsorbSettings, o: AbsorbOptions): Adapter {
  return s.kind === 'lora'
    ? new LoraAdapter(loaded.model, { r: 128, lora_alpha: 256, target_modules: ALL_LINEAR, seed: s.seed, ...o.lora })
    : new GatedMemoryAdapter(loaded.model, { seed: s.seed, ...o.gatedMemory });
}

/** The trainer's options: the settings, the guard's batches, the run's checkpoints, signal and events. */
function trainerOptions(o: AbsorbOptions, s: AbsorbSettings, guard: GuardSet | null): TrainerOptions {
  return {
    ...s.optimizer,
    batchSize: s.batchSize,
    warmupSteps: o.warmupSteps,
    warmupScope: o.warmupScope,
    schedule: o.schedule,
    anchor: o.anchor,
    lossAverage: o.lossAverage,
    packTokens: o.packTokens,
    seed: s.seed,
    guard: guard ? guardSchedule(guard) : null,
    checkpointDir: o.checkpointDir,
    checkpointEvery: o.checkpointEvery,
    signal: o.signal,
    onEvent: (event) => o.onEvent?.({ type: 'train', event }),
  };
}

/** Last step: the result, with the record of everything needed to reproduce the run (the manifest's recipe). */
function absorbResult(loaded: LoadedModel, o: AbsorbOptions, s: AbsorbSettings, adapter: Adapter, prepared: Prepared[], samples: TrainingStages,
  guard: GuardSet | null, train: TrainResult, t0: number): AbsorbResult {
  const qas = prepared.flatMap((p) => p.qas);
  const { optimizer } = s;
  const recipe = {
    adapter: s.kind,
    adapter_options: s.kind === 'lora' ? (adapter as LoraAdapter).config : (adapter as GatedMemoryAdapter).options,
    lengths: s.lengths,
    contextualized: s.contextualized,
    qa: { requested: s.qa, generated: qas.length, trained: prepared.reduce((n, p) => n + p.qaSamples.length, 0), generator: o.qaGenerator?.id ?? null, context: s.qaContext },
    epochs: [...s.epochs],
    lr: s.lr,
    batch_size: s.batchSize,
    warmup_steps: o.warmupSteps ?? 0,
    warmup_scope: o.warmupScope ?? 'run',
    schedule: o.schedule ?? 'constant',
    anchor: s.anchor,
    anchor_on: s.anchorOn,
    loss_average: o.lossAverage ?? 'samples',
    pack_tokens: o.packTokens ?? DEFAULT_PACK_TOKENS,
    ...(samples.liftedTokens !== null ? { anchor_lifted_tokens: samples.liftedTokens } : {}),
    ...(prepared.length > 1 ? { documents: prepared.length } : {}),
    answer_recitations: samples.recitations,
    optimizer: { name: 'adamw', betas: [optimizer.beta1, optimizer.beta2], eps: optimizer.eps, weight_decay: optimizer.weightDecay, clip: optimizer.clip },
    guard: guard ? { kind: guard.kind, lambda: guard.lambda, samples: guard.samples.length, per_step: guard.perStep, longest: Math.max(0, ...guard.samples.map((x) => x.input.length)), source: o.guardText ? 'user' : 'self' } : null,
    bos: s.bos,
    seed: s.seed,
    compute: loaded.compute, // fp32 or bf16 products of the frozen weights (LoadOptions.compute)
  };
  const documents = prepared.map((p) => ({ title: p.doc.title, sha256: createHash('sha256').update(p.doc.text, 'utf8').digest('hex'), tokens: p.docIds.length, segments: p.segments.length }));
  return {
    adapter, qas, lengths: s.lengths, train, recipe,
    documentSha256: documentsSha256(documents.map((d) => d.sha256)),
    documents,
    seconds: (performance.now() - t0) / 1000,
  };
}
