// Batched training (trainer.ts): the samples of a mini-batch concatenated into packs of up to `packTokens`
// tokens, each pack one forward/backward over all its tokens — [T_pack, C] row blocks instead of one small
// [Tᵢ, C] block per sample, with attention kept inside each sample (LlamaModel.forward's `offsets`) and RoPE
// positions restarting per sample. The pack's loss is the looped trainer's sum written per row:
//   task:  Σᵢ wᵢ·CEᵢ + β·Σᵢ wᵢ·KLᵢ = Σₜ (wᵢ/nᵢ)·nllₜ + β·Σₜ (wᵢ·aₜ/Tᵢ)·klₜ
// (wᵢ from sampleWeights, nᵢ sample i's supervised tokens, Tᵢ its length, aₜ the anchor's row weight), and
//   guard: Σₖ KLₖ/n (or replay CEₖ/n) over the step's n guard samples, scaled by λ in backward,
// so its gradients equal the per-sample loop's within float32 rounding (test/lift/packed.test.ts).
import { Tape, add, crossEntropy, klDivergence, tidy, IGNORE_INDEX as IGNORE } from '../engine/index.js';
import type { LlamaModel } from '../model/llama.js';
import type { GuardSchedule, RowRule, TrainableAdapter, TrainSample } from './trainer.js';

/** Supervised tokens of one sample: its labels that are not IGNORE (−100). */
export function supervisedTokens(s: Pick<TrainSample, 'labels'>): number {
  let n = 0;
  for (let i = 0; i < s.labels.length; i++) if (s.labels[i] !== IGNORE) n++;
  return n;
}

/** Default tokens per packed pass (TrainerOptions.packTokens): measured in docs/speed.md. */
export const DEFAULT_PACK_TOKENS = 1024;

/**
 * Consecutive groups of sample indices whose lengths sum to at most `maxTokens` (a longer sample alone):
 * the batch's order is kept, so which samples share a pass depends only on the batch.
 */
export function packGroups(lengths: readonly number[], maxTokens: number): number[][] {
  const groups: number[][] = [];
  let cur: number[] = [], tokens = 0;
  for (const [i, n] of lengths.entries()) {
    if (cur.length > 0 && tokens + n > maxTokens) {
      groups.push(cur);
      cur = [];
      tokens = 0;
    }
    cur.push(i);
    tokens += n;
  }
  if (cur.length > 0) groups.push(cur);
  return groups;
}

/** Samples back to back: ids and labels [T], row offsets [S+1] (sample s at rows offsets[s] … offsets[s+1]−1). */
export function packSamples(samples: readonly Pick<TrainSample, 'input' | 'labels'>[]): { ids: Int32Array; labels: Int32Array; offsets: Int32Array } {
  const offsets = new Int32Array(samples.length + 1);
  samples.forEach((s, i) => {
    if (s.labels.length !== s.input.length) throw new Error(`train: sample has ${s.input.length} inputs but ${s.labels.length} labels`);
    offsets[i + 1] = offsets[i] + s.input.length;
  });
  const T = offsets[samples.length], ids = new Int32Array(T), labels = new Int32Array(T);
  samples.forEach((s, i) => {
    ids.set(s.input, offsets[i]);
    labels.set(s.labels, offsets[i]);
  });
  return { ids, labels, offsets };
}

/** The rows of a pack with a label (R of T), or null when every row has one (no selection needed). */
function supervisedRows(labels: Int32Array): Int32Array | null {
  const rows: number[] = [];
  labels.forEach((x, t) => void (x !== IGNORE && rows.push(t)));
  return rows.length === labels.length ? null : Int32Array.from(rows);
}

/**
 * One packed forward/backward of training samples with their weights wᵢ (sampleWeights over the whole batch),
 * gradients accumulated into the adapter. Returns Σᵢ wᵢ·CEᵢ over the samples that supervise a token (what the
 * looped trainer reports), or a non-finite number when the differentiated loss is not finite (no backward then).
 */
export function packedTaskPass(model: LlamaModel, adapter: TrainableAdapter, samples: readonly TrainSample[], weights: readonly number[], beta: number): number {
  const { ids, labels, offsets } = packSamples(samples);
  const T = ids.length;
  const n = samples.map(supervisedTokens);
  // CE row weights wᵢ/nᵢ. A sample without a supervised token adds nothing at all (as in the loop, its anchor
  // too).
  const ceRows = new Float32Array(T);
  // The anchor's row weights wᵢ·aₜ/Tᵢ (aₜ: the sample's anchorRows); samples it skips (anchorRows 0) keep 0.
  const klRows = new Float32Array(T);
  let anchored = false;
  samples.forEach((s, i) => {
    if (n[i] === 0) return;
    ceRows.fill(weights[i] / n[i], offsets[i], offsets[i + 1]);
    if (beta > 0 && s.anchorRows !== 0) anchored = true;
  });
  if (!n.some((k) => k > 0)) return 0;
  const tape = new Tape();
  // The anchor's reference: the frozen base's logits on the same pack, kept until backward has used them.
  const ref = anchored ? tidy(() => model.forward(ids, { offsets })) : null;
  try {
    if (ref) {
      // A row rule (anchor.ts KNOWN_ROWS) reads each row alone: applied once to the whole pack, read per sample.
      const ruled = new Map<RowRule, Float32Array>();
      const applied = (r: RowRule): Float32Array => ruled.get(r) ?? ruled.set(r, r.rows(ref, labels)).get(r)!;
      samples.forEach((s, i) => {
        if (n[i] === 0 || s.anchorRows === 0) return;
        const len = offsets[i + 1] - offsets[i], base = weights[i] / len, rows = s.anchorRows;
        if (rows === undefined || rows instanceof Float32Array) for (let t = 0; t < len; t++) klRows[offsets[i] + t] = base * (rows ? rows[t] : 1);
        else {
          const w = applied(rows);
          for (let t = 0; t < len; t++) klRows[offsets[i] + t] = base * w[offsets[i] + t];
        }
      });
    }
    // Without the anchor only the supervised rows need logits: a contextualized sample's context rows skip the
    // final norm and the vocabulary projection (with the anchor, its KL reads every row's logits).
    const sel = ref ? null : supervisedRows(labels);
    const { loss, ce } = tape.record(() => {
      const logits = model.forward(ids, { adapter, offsets, rows: sel ?? undefined });
      const c = sel ? crossEntropy(logits, labels.filter((_, t) => labels[t] !== IGNORE), { inPlace: true, rowWeights: ceRows.filter((_, t) => labels[t] !== IGNORE) })
        : crossEntropy(logits, labels, { inPlace: ref === null, rowWeights: ceRows });
      return { loss: ref ? add(c.loss, klDivergence(logits, ref, { rowWeights: klRows, divisor: 1 }), beta) : c.loss, ce: c.loss };
    });
    const l = loss.item();
    if (!Number.isFinite(l)) return l;
    tape.backward(loss, 1);
    return ce.item();
  } finally {
    tape.dispose();
    ref?.dispose();
  }
}

/**
 * One packed pass of guard samples, each weighing 1/`count` of the guard loss (`count` the step's guard samples;
 * KL to the base, or replay CE per sample mean), backward scaled by λ. Returns this pack's share of the step's
 * guard loss.
 */
export function packedGuardPass(model: LlamaModel, adapter: TrainableAdapter, samples: readonly TrainSample[], guard: Pick<GuardSchedule, 'kind' | 'lambda'>, count: number): number {
  const { ids, labels, offsets } = packSamples(samples);
  const rows = new Float32Array(ids.length);
  samples.forEach((s, k) => {
    // KL: the mean over a sample's rows; replay: the mean over its supervised tokens (none: no loss, as CE's 0).
    const d = guard.kind === 'kl' ? offsets[k + 1] - offsets[k] : supervisedTokens(s);
    if (d > 0) rows.fill(1 / (d * count), offsets[k], offsets[k + 1]);
  });
  if (guard.kind === 'replay' && !labels.some((x) => x !== IGNORE)) return 0; // CE of no token: 0, no gradient
  const tape = new Tape();
  const ref = guard.kind === 'kl' ? tidy(() => model.forward(ids, { offsets })) : null;
  try {
    const sel = ref ? null : supervisedRows(labels);
    const l = tape.record(() => {
      const logits = model.forward(ids, { adapter, offsets, rows: sel ?? undefined });
      if (ref) return klDivergence(logits, ref, { rowWeights: rows, divisor: 1 });
      const keep = (_: number, t: number) => labels[t] !== IGNORE;
      return crossEntropy(logits, sel ? labels.filter(keep) : labels, { inPlace: true, rowWeights: sel ? rows.filter(keep) : rows }).loss;
    });
    const v = l.item();
    if (Number.isFinite(v)) tape.backward(l, guard.lambda);
    return v;
  } finally {
    tape.dispose();
    ref?.dispose();
  }
}
