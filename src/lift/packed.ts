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

/**
 * Shared prefixes: samples that begin with the same tokens and labels (a short document's contextualized
 * samples all start with the whole document and the recite prompt) run as one pack of the prefix once and every
 * sample's rest after it (attention.ts sharedPrefixAttention), when the prefix is at least this many tokens.
 */
export const MIN_SHARED_PREFIX = 64;

/** A pass of the task: these samples (indices into the batch), behind a shared prefix of `prefix` tokens (0: none). */
export interface PackGroup {
  members: number[];
  prefix: number;
}

/** Tokens two samples share from their start: the same inputs and the same labels. */
export function commonPrefix(a: Pick<TrainSample, 'input' | 'labels'>, b: Pick<TrainSample, 'input' | 'labels'>, limit = Infinity): number {
  const n = Math.min(a.input.length, b.input.length, limit);
  let i = 0;
  while (i < n && a.input[i] === b.input[i] && a.labels[i] === b.labels[i]) i++;
  return i;
}

/**
 * The batch's task passes, in batch order. Consecutive samples sharing a prefix of ≥ MIN_SHARED_PREFIX tokens
 * form a shared pack of up to max(maxTokens, its longest sample) + maxTokens/2 rows (the prefix once, then each
 * sample's rest): what they share is computed once, at up to half a pack more memory than a plain pass. The rest
 * pack as packGroups does. maxTokens 0: one pass per sample, nothing shared (the reference loop).
 */
export function packPlan(samples: readonly Pick<TrainSample, 'input' | 'labels'>[], maxTokens: number): PackGroup[] {
  if (maxTokens === 0) return samples.map((_, i) => ({ members: [i], prefix: 0 }));
  const out: PackGroup[] = [];
  let plain: number[] = [];
  const flush = () => {
    if (plain.length) for (const g of packGroups(plain.map((i) => samples[i].input.length), maxTokens)) out.push({ members: g.map((k) => plain[k]), prefix: 0 });
    plain = [];
  };
  for (let i = 0; i < samples.length; ) {
    // The longest run from i that shares a prefix and fits: grow while the shared pack's rows stay in bounds.
    let members = [i], prefix = samples[i].input.length, longest = samples[i].input.length;
    for (let j = i + 1; j < samples.length; j++) {
      const p = commonPrefix(samples[i], samples[j], prefix);
      if (p < MIN_SHARED_PREFIX) break;
      const lg = Math.max(longest, samples[j].input.length);
      const rows = p + [...members, j].reduce((a, k) => a + samples[k].input.length - p, 0);
      if (rows > Math.max(maxTokens, lg) + maxTokens / 2) break;
      members.push(j);
      prefix = p;
      longest = lg;
    }
    if (members.length > 1) {
      flush();
      out.push({ members, prefix });
    } else plain.push(i);
    i += members.length;
  }
  flush();
  return out;
}

/** A pack's rows: ids and labels [T], model offsets, and rowOf(i, t), the pack row of sample i's row t. */
export interface Pack {
  ids: Int32Array;
  labels: Int32Array;
  offsets: Int32Array;
  rowOf: (i: number, t: number) => number;
}

/** Samples back to back: ids and labels [T], row offsets [S+1] (sample s at rows offsets[s] … offsets[s+1]−1). */
export function packSamples(samples: readonly Pick<TrainSample, 'input' | 'labels'>[]): Pack {
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
  return { ids, labels, offsets, rowOf: (i, t) => offsets[i] + t };
}

/**
 * Samples behind their shared first `prefix` tokens (inputs and labels equal): the prefix's rows once, then each
 * sample's rows after it. offsets [S+2]: the prefix is the model's sample 0 (LlamaModel.forward's `prefix`);
 * rowOf(i, t) is the pack row of sample i's row t.
 */
export function packShared(samples: readonly Pick<TrainSample, 'input' | 'labels'>[], prefix: number): Pack {
  for (const s of samples) {
    if (s.labels.length !== s.input.length) throw new Error(`train: sample has ${s.input.length} inputs but ${s.labels.length} labels`);
    if (commonPrefix(samples[0], s, prefix) < prefix) throw new Error(`train: samples packed behind a shared prefix of ${prefix} tokens do not all begin with it`);
  }
  const rest = samples.map((s) => ({ input: s.input.slice(prefix), labels: s.labels.slice(prefix) }));
  const packed = packSamples([{ input: samples[0].input.slice(0, prefix), labels: samples[0].labels.slice(0, prefix) }, ...rest]);
  const offsets = packed.offsets;
  return { ...packed, rowOf: (i, t) => (t < prefix ? t : offsets[i + 1] + t - prefix) };
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
export function packedTaskPass(model: LlamaModel, adapter: TrainableAdapter, samples: readonly TrainSample[], weights: readonly number[], beta: number, prefix = 0): number {
  const { ids, labels, offsets, rowOf: row } = prefix > 0 ? packShared(samples, prefix) : packSamples(samples);
  const fwd = { offsets, prefix: prefix > 0 ? prefix : undefined };
  const T = ids.length;
  const n = samples.map(supervisedTokens);
  // CE row weights wᵢ/nᵢ. A sample without a supervised token adds nothing at all (as in the loop, its anchor
  // too). A shared prefix row is every sample's: it sums their weights (same label, same logits).
  const ceRows = new Float32Array(T);
  // The anchor's row weights wᵢ·aₜ/Tᵢ (aₜ: the sample's anchorRows); samples it skips (anchorRows 0) keep 0.
  const klRows = new Float32Array(T);
  let anchored = false;
  samples.forEach((s, i) => {
    if (n[i] === 0) return;
    for (let t = 0; t < s.input.length; t++) ceRows[row(i, t)] += weights[i] / n[i];
    if (beta > 0 && s.anchorRows !== 0) anchored = true;
  });
  if (!n.some((k) => k > 0)) return 0;
  const tape = new Tape();
  // The anchor's reference: the frozen base's logits on the same pack, kept until backward has used them.
  const ref = anchored ? tidy(() => model.forward(ids, fwd)) : null;
  try {
    if (ref) {
      // A row rule (anchor.ts KNOWN_ROWS) reads each row alone: applied once to the whole pack, read per sample.
      const ruled = new Map<RowRule, Float32Array>();
      const applied = (r: RowRule): Float32Array => ruled.get(r) ?? ruled.set(r, r.rows(ref, labels)).get(r)!;
      samples.forEach((s, i) => {
        if (n[i] === 0 || s.anchorRows === 0) return;
        const len = s.input.length, base = weights[i] / len, rows = s.anchorRows;
        if (rows === undefined || rows instanceof Float32Array) for (let t = 0; t < len; t++) klRows[row(i, t)] += base * (rows ? rows[t] : 1);
        else {
          const w = applied(rows);
          for (let t = 0; t < len; t++) klRows[row(i, t)] += base * w[row(i, t)];
        }
      });
    }
    // Without the anchor only the supervised rows need logits: a contextualized sample's context rows skip the
    // final norm and the vocabulary projection (with the anchor, its KL reads every row's logits).
    const sel = ref ? null : supervisedRows(labels);
    const { loss, ce } = tape.record(() => {
      const logits = model.forward(ids, { adapter, ...fwd, rows: sel ?? undefined });
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
