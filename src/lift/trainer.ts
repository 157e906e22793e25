// The LIFT trainer (docs/method.md §5): AdamW on the adapter's parameters only, the frozen base untouched; stages
// run in order with the optimizer state kept (stage 1: segments, stage 2: segments + QA); full-batch
// gradient accumulation (the paper's released scripts: one step per epoch) or mini-batches; constant (the
// paper) or cosine learning rate after an optional warm-up; global grad-norm clipping; a loss per step.
// Beyond the paper: a forgetting guard (general text trained with KL(base ‖ adapted) or replayed with the LM
// loss; the caller's schedule gives each step's guard batch, guard.ts), an anchor (the same KL on the training
// samples themselves, weighted per row as each sample says; the caller maps its modes to rows, anchor.ts),
// checkpoints every N steps from which a killed run resumes and ends bit-identical to an uninterrupted one, and
// non-finite steps skipped and reported instead of written into the adapter.
import { createHash } from 'node:crypto';
import { Tape, add, crossEntropy, klDivergence, tidy, AdamW, type AdamWOptions, type Tensor } from '../engine/index.js';
import type { AdapterHooks, LlamaModel } from '../model/llama.js';
import { seededRandom, shuffled } from '../engine/random.js';
import { checkpointPath, fingerprintDifferences, loadCheckpoint, readCheckpointState, saveCheckpoint, type FingerprintParts, type TrainerState } from './checkpoint.js';
import { AbortedError, pause } from './pace.js';
import { DEFAULT_PACK_TOKENS, packGroups, packPlan, packedGuardPass, packedTaskPass, supervisedTokens } from './packed.js';

/** How per-token losses are averaged over a batch (see TrainerOptions.lossAverage). */
export type LossAverage = 'tokens' | 'samples';

/**
 * Each sample's weight on its own mean token loss, so that Σ wᵢ·meanᵢ is the batch loss: 'samples' 1/B each;
 * 'tokens' nᵢ/Σn (nᵢ supervised tokens of sample i), making Σ wᵢ·meanᵢ = Σ(token losses)/Σn. A batch with no
 * supervised token at all gets zeros.
 */
export function sampleWeights(batch: readonly Pick<TrainSample, 'labels'>[], mode: LossAverage): number[] {
  if (mode === 'samples') return batch.map(() => 1 / batch.length);
  const n = batch.map(supervisedTokens), total = n.reduce((a, b) => a + b, 0);
  return n.map((k) => (total > 0 ? k / total : 0));
}

/** One training sequence: labels[i] is the token to predict after input[0..i] (src/lift/samples.ts) (−100 = no loss there). */
export interface TrainSample {
  input: readonly number[] | Int32Array;
  labels: readonly number[] | Int32Array;
  kind?: string;
  /**
   * The anchor's weight on each row of this sample (times TrainerOptions.anchor β): absent = 1 on every row; a
   * Float32Array [input.length] = those weights; 0 = no anchor on this sample (the base's forward is skipped); a
   * RowRule = the weights it reads from the base's logits in the pass. absorb() maps its anchor modes to these
   * (anchor.ts anchorRowsOf): the trainer knows no modes.
   */
  anchorRows?: Float32Array | RowRule | 0;
}

/**
 * Row weights [T] read from the frozen base's logits `ref` [T, V] and the labels [T] (anchor.ts KNOWN_ROWS). Row
 * t's weight may read only row t of both, so the packed pass applies a rule once to a whole pack. `name`
 * identifies the rule in a checkpoint's fingerprint.
 */
export interface RowRule {
  name: string;
  rows(ref: Tensor, labels: ArrayLike<number>): Float32Array;
}

const isRule = (a: TrainSample['anchorRows']): a is RowRule => typeof a === 'object' && !(a instanceof Float32Array);

export interface Stage {
  name: string;
  epochs: number;
  samples: TrainSample[];
}

/**
 * The forgetting guard as the trainer sees it: its loss and weight, and the batch of general-text samples each
 * optimizer step adds — chosen by the caller (guard.ts guardSchedule), a function of the step alone so that a
 * resumed run takes the same batches.
 */
export interface GuardSchedule {
  /** KL(base ‖ adapted) on the batch, or replay (the LM loss on its labels). */
  kind: 'kl' | 'replay';
  /** Weight of the guard loss relative to the task loss. */
  lambda: number;
  /** The guard samples of optimizer step `step` (0-based over the run), each 1/length of the step's guard loss; [] = none. */
  batch(step: number): readonly TrainSample[];
  /** What else identifies the schedule in a checkpoint's fingerprint (JSON; a run with another schedule is another run). */
  identity: Record<string, unknown>;
}

/** AdamW's settings (lr, betas, eps, weight decay, clip; engine/optim.ts) and how the run uses them. */
export interface TrainerOptions extends AdamWOptions {
  /** Linear warm-up over this many steps (0 = constant, the paper). */
  warmupSteps?: number;
  /**
   * 'run' (default): one warm-up at the start of the run, lr·(k+1)/w at step k. 'stage': transformers'
   * get_constant_schedule_with_warmup (lr·k/w, so 0 at the first step) restarted at every stage — what the
   * authors' scripts get, one Trainer (and scheduler) per stage (GraphPKU/LIFT lift/train.py). Constant schedule only.
   */
  warmupScope?: 'run' | 'stage';
  /** After warm-up: 'constant' (the paper) or 'cosine' decay to 0 at the last step. */
  schedule?: 'constant' | 'cosine';
  /** Samples per optimizer step; 'full' accumulates the whole stage (one step per epoch, the paper). */
  batchSize: number | 'full';
  seed?: number;
  guard?: GuardSchedule | null;
  /**
   * Beyond the paper: weight β of KL(base ‖ adapted) on the training samples themselves, added to their loss,
   * on each sample's rows as its TrainSample.anchorRows weighs them (the caller's modes, anchor.ts). It keeps every predicted distribution near
   * the base's while the argmax moves to the document's token: the adapter learns what the document says
   * without becoming certain of it (0 = off).
   */
  anchor?: number;
  /**
   * How a batch's per-token losses are averaged into the step's loss (and its gradient):
   * 'samples' (default): the mean over samples of each sample's mean token loss — every sample weighs the same,
   *   so ~10 short QA answers weigh ~10/(segments + 10) of the gradient.
   * 'tokens': the sum of every supervised token's loss over the batch divided by the batch's supervised tokens
   *   — what the authors' code does (transformers 4.47.1 Trainer with gradient accumulation over the whole set
   *   passes num_items_in_batch to the model's loss; docs/fidelity.md), so a sample weighs by its token count.
   */
  lossAverage?: LossAverage;
  /**
   * Batched training (packed.ts): a mini-batch's samples run as packed forward/backward passes of up to this
   * many tokens each (samples concatenated, attention within each sample), not one pass per sample; the
   * gradients are the same within float32 rounding. 0 = one pass per sample. (default DEFAULT_PACK_TOKENS)
   */
  packTokens?: number;
  checkpointDir?: string;
  /** Checkpoint every N optimizer steps (and at the end). */
  checkpointEvery?: number;
  onEvent?: (e: TrainEvent) => void;
  signal?: AbortSignal;
}

export type TrainEvent =
  | { type: 'start'; totalSteps: number; resumedAt: number; totalSamples: number; resumedAtSample: number; resumed: boolean }
  /** Forward/backward passes done of the run's total (guard samples not counted), every ~50 ms within steps. */
  | { type: 'progress'; samples: number; totalSamples: number; step: number }
  | { type: 'step'; stage: string; epoch: number; step: number; totalSteps: number; loss: number; guardLoss: number | null; gradNorm: number; lr: number; skipped: boolean; seconds: number }
  | { type: 'nonfinite'; step: number; names: string[] }
  | { type: 'checkpoint'; step: number; dir: string }
  /** The checkpoint in `dir` is from other settings (`differs`, in words): training starts over and replaces it. */
  | { type: 'stale-checkpoint'; dir: string; differs: string[] };

export interface TrainResult {
  steps: number;
  losses: TrainerState['losses'];
  nonFiniteSteps: number;
  seconds: number;
  resumed: boolean;
}

export interface TrainableAdapter extends AdapterHooks {
  parameters(): Tensor[];
}

/** Deterministic order of sample indices for (stage, epoch): resumable without storing it. */
function order(n: number, seed: number, stage: number, epoch: number): number[] {
  return shuffled(seededRandom((seed * 1000003 + stage * 7919 + epoch * 104729) >>> 0), [...Array(n).keys()]);
}

/** What identifies a run (checkpoint.ts): its samples, the options that change the result, the adapter's shape. */
function fingerprintParts(stages: Stage[], opts: TrainerOptions, params: Tensor[]): FingerprintParts {
  const h = createHash('sha256');
  for (const s of stages) {
    h.update(`${s.name}:${s.samples.length}`);
    for (const x of s.samples) {
      h.update(Int32Array.from(x.input)).update(Int32Array.from(x.labels));
      // The anchor's rows are part of the sample (a run with other anchor rows is another run).
      // (A rule hashes as its name: 'anchor:known' as when 'known' was a mode the trainer knew; 0 as 'anchor:0'.)
      if (x.anchorRows !== undefined) h.update(x.anchorRows instanceof Float32Array ? x.anchorRows : `anchor:${isRule(x.anchorRows) ? x.anchorRows.name : x.anchorRows}`);
    }
  }
  // checkpointEvery only says when to save: a run resumes under another value and ends the same.
  const { onEvent, signal, checkpointDir, checkpointEvery, guard, ...rest } = opts;
  void onEvent, signal, checkpointDir, checkpointEvery;
  // The guard as { kind, lambda, ...identity }: guard.ts's identity { samples: n, perStep } keeps the JSON of the
  // fingerprints written before the schedule moved out of the trainer, so their checkpoints still resume.
  const options = { ...rest, epochs: stages.map((s) => `${s.name}:${s.epochs}`).join(','), guard: guard ? { kind: guard.kind, lambda: guard.lambda, ...guard.identity } : null };
  const p = createHash('sha256');
  for (const t of params) p.update(`${t.name}:${t.shape.join('x')}`);
  return { samples: h.digest('hex').slice(0, 32), options: JSON.parse(JSON.stringify(options)) as Record<string, unknown>, params: p.digest('hex').slice(0, 32) };
}

const fingerprintOf = (parts: FingerprintParts): string => createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);

export { AbortedError } from './pace.js';

export async function train(model: LlamaModel, adapter: TrainableAdapter, stages: Stage[], opts: TrainerOptions): Promise<TrainResult> {
  const params = adapter.parameters();
  const opt = new AdamW(params, opts);
  const seed = opts.seed ?? 0;
  const parts = fingerprintParts(stages, opts, params);
  const fp = fingerprintOf(parts);
  const batchOf = (n: number) => (opts.batchSize === 'full' ? n : Math.max(1, Math.min(n, opts.batchSize)));
  const pack = opts.packTokens ?? DEFAULT_PACK_TOKENS;
  if (!Number.isInteger(pack) || pack < 0) throw new Error(`train: packTokens must be an integer ≥ 0 (0 = one pass per sample), got ${pack}`);
  const totalSteps = stages.reduce((s, st) => s + st.epochs * Math.ceil(st.samples.length / batchOf(st.samples.length)), 0);
  let state: TrainerState = { fingerprint: fp, parts, stage: 0, epoch: 0, batch: 0, step: 0, losses: [], nonFiniteSteps: 0, seconds: 0 };
  let resumed = false;
  if (opts.checkpointDir) {
    // A checkpoint of other settings is not resumed: said, with what differs; the next checkpoint replaces it.
    const found = readCheckpointState(opts.checkpointDir);
    if (found && found.fingerprint !== fp) opts.onEvent?.({ type: 'stale-checkpoint', dir: checkpointPath(opts.checkpointDir), differs: fingerprintDifferences(found, parts) });
    const s = loadCheckpoint(opts.checkpointDir, fp, params, opt.m, opt.v);
    if (s) {
      state = s;
      opt.step = s.step - s.nonFiniteSteps;
      resumed = true;
    }
  }
  // Progress in samples, not steps: one full-batch step can be most of an hour on a long document.
  const totalSamples = stages.reduce((s, st) => s + st.epochs * st.samples.length, 0);
  let samplesDone = stages.slice(0, state.stage).reduce((s, st) => s + st.epochs * st.samples.length, 0);
  if (state.stage < stages.length) {
    const n = stages[state.stage].samples.length;
    samplesDone += state.epoch * n + Math.min(n, state.batch * batchOf(n));
  }
  opts.onEvent?.({ type: 'start', totalSteps, resumedAt: state.step, totalSamples, resumedAtSample: samplesDone, resumed });
  // Optimizer steps of the stages before stage i (warmupScope 'stage' counts steps within a stage).
  const stepsBefore = (i: number): number => stages.slice(0, i).reduce((s, st) => s + st.epochs * Math.ceil(st.samples.length / batchOf(st.samples.length)), 0);
  if (opts.warmupScope === 'stage' && (opts.schedule ?? 'constant') !== 'constant') throw new Error("train: warmupScope 'stage' is transformers' constant schedule with warm-up; use schedule 'constant'");
  const pace: Pace = {
    signal: opts.signal,
    last: performance.now(),
    onSample: () => void samplesDone++,
    report: () => opts.onEvent?.({ type: 'progress', samples: samplesDone, totalSamples, step: state.step }),
  };
  const t0 = performance.now() - state.seconds * 1000;
  const checkpoint = () => {
    if (!opts.checkpointDir) return;
    state.seconds = (performance.now() - t0) / 1000;
    saveCheckpoint(opts.checkpointDir, params, opt.m, opt.v, state);
    opts.onEvent?.({ type: 'checkpoint', step: state.step, dir: opts.checkpointDir });
  };
  try {
    for (; state.stage < stages.length; state.stage++, state.epoch = 0) {
      const st = stages[state.stage];
      const B = batchOf(st.samples.length);
      const nb = Math.ceil(st.samples.length / B);
      for (; state.epoch < st.epochs; state.epoch++, state.batch = 0) {
        const ord = order(st.samples.length, seed, state.stage, state.epoch);
        for (; state.batch < nb; state.batch++) {
          if (opts.signal?.aborted) {
            checkpoint();
            throw new AbortedError(opts.checkpointDir);
          }
          const ts = performance.now();
          const batch = ord.slice(state.batch * B, (state.batch + 1) * B).map((i) => st.samples[i]);
          const before = samplesDone;
          const acc = await accumulate(model, adapter, batch, opts.guard ?? null, state.step, opts.anchor ?? 0, pace, opts.lossAverage ?? 'samples', pack);
          if (acc === null) {
            // Aborted between two samples of the batch: its partial gradient is dropped and the checkpoint
            // points at this batch, so a resumed run redoes it whole and ends bit-identical.
            opt.zeroGrad();
            samplesDone = before;
            checkpoint();
            throw new AbortedError(opts.checkpointDir);
          }
          const { loss, guardLoss } = acc;
          const lr = opts.warmupScope === 'stage' ? stageLearningRate(opts, state.step - stepsBefore(state.stage)) : learningRate(opts, state.step, totalSteps);
          const finite = Number.isFinite(loss) && (guardLoss === null || Number.isFinite(guardLoss));
          const rep = finite ? opt.stepWith(lr) : { gradNorm: NaN, applied: false, nonFinite: ['loss'] };
          opt.zeroGrad();
          if (!rep.applied) {
            state.nonFiniteSteps++;
            opts.onEvent?.({ type: 'nonfinite', step: state.step, names: rep.nonFinite });
          }
          state.losses.push({ stage: st.name, epoch: state.epoch, step: state.step, loss, gradNorm: rep.gradNorm, skipped: !rep.applied });
          state.step++;
          opts.onEvent?.({ type: 'step', stage: st.name, epoch: state.epoch, step: state.step, totalSteps, loss, guardLoss, gradNorm: rep.gradNorm, lr, skipped: !rep.applied, seconds: (performance.now() - ts) / 1000 });
          if (opts.checkpointEvery && state.step % opts.checkpointEvery === 0) {
            state.batch++; // the position to resume from is the next batch
            checkpoint();
            state.batch--;
          }
          // Let signal handlers and progress output run between steps; a progress event after every step, since a
          // packed step may hold no pause of its own (carryOn reports only after ~50 ms within a step).
          pace.report();
          await pause();
          pace.last = performance.now();
        }
      }
    }
    checkpoint();
  } finally {
    opt.dispose();
  }
  return { steps: state.step, losses: state.losses, nonFiniteSteps: state.nonFiniteSteps, seconds: (performance.now() - t0) / 1000, resumed };
}

/** The learning rate of optimizer step `step` (0-based) of `total`: linear warm-up, then constant or cosine. */
export function learningRate(opts: Pick<TrainerOptions, 'lr' | 'warmupSteps' | 'schedule'>, step: number, total: number): number {
  const w = opts.warmupSteps ?? 0;
  if (step < w) return (opts.lr * (step + 1)) / w;
  if ((opts.schedule ?? 'constant') === 'constant') return opts.lr;
  const span = Math.max(1, total - w);
  return opts.lr * 0.5 * (1 + Math.cos((Math.PI * Math.min(step - w, span)) / span));
}

/** transformers' get_constant_schedule_with_warmup at step k (0-based) of a stage: lr·k/w while k < w, then lr. */
export function stageLearningRate(opts: Pick<TrainerOptions, 'lr' | 'warmupSteps'>, k: number): number {
  const w = opts.warmupSteps ?? 0;
  return k < w ? (opts.lr * k) / Math.max(1, w) : opts.lr;
}

/**
 * Forward + backward over one batch, accumulating gradients into the adapter's parameters: the task loss is
 * Σ wᵢ × sample i's mean token loss (plus β × its KL to the base with the anchor), wᵢ from sampleWeights; the
 * guard adds λ × the mean guard loss. The returned task loss is the cross-entropy alone.
 */
/** Between samples: every ~50 ms a pause on the event loop (a SIGINT handler can abort) and a progress event. */
interface Pace {
  signal?: AbortSignal;
  last: number;
  onSample(): void;
  report(): void;
}

/** False when the signal is aborted; pauses first when the last pause is ~50 ms ago. */
async function carryOn(p: Pace): Promise<boolean> {
  if (performance.now() - p.last >= 50) {
    p.report();
    await pause();
    p.last = performance.now();
  }
  return !p.signal?.aborted;
}

/** null when aborted between samples (the gradients then hold part of the batch: the caller zeroes them). */
async function accumulate(model: LlamaModel, adapter: TrainableAdapter, batch: TrainSample[], guard: GuardSchedule | null, step: number, beta: number, pace: Pace, average: LossAverage, pack: number): Promise<{ loss: number; guardLoss: number | null } | null> {
  let total = 0;
  // wᵢ on sample i's mean loss (sampleWeights): 1/B, or its share of the batch's supervised tokens. With the
  // anchor, wᵢ scales the sample's whole differentiated loss (CE + β·KL).
  const weights = sampleWeights(batch, average);
  if (pack > 0) return accumulatePacked(model, adapter, batch, weights, guard, step, beta, pace, pack);
  for (const [i, s] of batch.entries()) {
    if (!(await carryOn(pace))) return null;
    pace.onSample();
    const tape = new Tape();
    const ids = Int32Array.from(s.input);
    // The anchor's reference: the frozen base's logits on the same sample, kept until backward has used them.
    const ref = beta > 0 && s.anchorRows !== 0 ? tidy(() => model.forward(ids)) : null;
    const rows = ref && isRule(s.anchorRows) ? s.anchorRows.rows(ref, s.labels) : s.anchorRows instanceof Float32Array ? s.anchorRows : undefined;
    try {
      // `loss` is what is differentiated (CE + β·KL with the anchor); the reported task loss is the CE alone.
      const { loss, ce, count } = tape.record(() => {
        const logits = model.forward(ids, { adapter });
        const c = crossEntropy(logits, Int32Array.from(s.labels), { inPlace: ref === null });
        return { loss: ref ? add(c.loss, klDivergence(logits, ref, { rowWeights: rows }), beta) : c.loss, ce: c.loss, count: c.count };
      });
      if (count > 0) {
        // A non-finite differentiated loss (CE or the anchor's KL) makes the step's loss non-finite: skipped.
        total += (Number.isFinite(loss.item()) ? ce.item() : loss.item()) * weights[i];
        if (Number.isFinite(loss.item())) tape.backward(loss, weights[i]);
      }
    } finally {
      tape.dispose();
      ref?.dispose();
    }
  }
  // The step's guard batch, each sample 1/n of the guard loss (the schedule chose them: guard.ts).
  const gs = guard?.batch(step) ?? [];
  if (!guard || gs.length === 0) return { loss: total, guardLoss: null };
  let g = 0;
  for (const s of gs) {
    if (!(await carryOn(pace))) return null;
    const ids = Int32Array.from(s.input);
    const tape = new Tape();
    // KL's reference: the frozen base's logits (no adapter, no tape), kept until backward has used them.
    const ref = guard.kind === 'kl' ? tidy(() => model.forward(ids)) : null;
    try {
      const l = ref
        ? tape.record(() => klDivergence(model.forward(ids, { adapter }), ref))
        : tape.record(() => crossEntropy(model.forward(ids, { adapter }), Int32Array.from(s.labels), { inPlace: true }).loss);
      g += l.item() / gs.length;
      if (Number.isFinite(l.item())) tape.backward(l, guard.lambda / gs.length);
    } finally {
      tape.dispose();
      ref?.dispose();
    }
  }
  return { loss: total, guardLoss: g };
}

/**
 * One batch's loss and its gradients accumulated into the adapter's parameters' .grad, as a training step
 * computes them before AdamW (`step` picks the guard's batch): for comparing batched and looped passes.
 */
export async function batchGradients(model: LlamaModel, adapter: TrainableAdapter, batch: TrainSample[], opts: Pick<TrainerOptions, 'anchor' | 'lossAverage' | 'packTokens' | 'guard'>, step = 0): Promise<{ loss: number; guardLoss: number | null }> {
  const pace: Pace = { last: performance.now(), onSample: () => {}, report: () => {} };
  const r = await accumulate(model, adapter, batch, opts.guard ?? null, step, opts.anchor ?? 0, pace, opts.lossAverage ?? 'samples', opts.packTokens ?? DEFAULT_PACK_TOKENS);
  return r!;
}

/** accumulate() with the batch (and the step's guard samples) in packs of up to `pack` tokens (packed.ts). */
async function accumulatePacked(model: LlamaModel, adapter: TrainableAdapter, batch: TrainSample[], weights: number[], guard: GuardSchedule | null, step: number, beta: number, pace: Pace, pack: number): Promise<{ loss: number; guardLoss: number | null } | null> {
  let total = 0;
  for (const { members, prefix } of packPlan(batch, pack)) {
    if (!(await carryOn(pace))) return null;
    for (let k = 0; k < members.length; k++) pace.onSample();
    total += packedTaskPass(model, adapter, members.map((i) => batch[i]), members.map((i) => weights[i]), beta, prefix);
  }
  const samples = guard?.batch(step) ?? [];
  if (!guard || samples.length === 0) return { loss: total, guardLoss: null };
  let g = 0;
  for (const group of packGroups(samples.map((s) => s.input.length), pack)) {
    if (!(await carryOn(pace))) return null;
    g += packedGuardPass(model, adapter, group.map((k) => samples[k]), guard, samples.length);
  }
  return { loss: total, guardLoss: g };
}
