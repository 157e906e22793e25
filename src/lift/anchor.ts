// The anchor's modes (beyond the paper: KL(base ‖ adapted) on the training samples themselves, weight β) as each
// sample's per-row weights, which is all the trainer sees (TrainSample.anchorRows): absorb's sample step maps the
// mode here once per sample, so the trainer weighs rows and knows no modes. 'known' cannot be a fixed array —
// which rows the base already predicts is read from the base's logits in the training pass — so it is a row rule
// (trainer.ts RowRule) the trainer applies to those logits.
import { IGNORE_INDEX as IGNORE, type Tensor } from '../engine/index.js';
import type { RowRule, TrainSample } from './trainer.js';

/**
 * Where the anchor (AbsorbOptions.anchor) applies: 'all' positions; 'known' — every position except those whose
 * label the base does not already rank first (the document's new facts), which CE alone then moves; 'segments' —
 * every position of the recitation samples and none of the QA samples, whose few answer tokens are what a
 * question asks, so CE may make them certain; 'answers' — as 'segments', and also not where the document holds a
 * QA's answer (answers.ts).
 */
export type AnchorOn = 'all' | 'known' | 'segments' | 'answers';

/**
 * The selective anchor's row weights [T] from the base's logits `ref` [T, V] and the labels [T]: 0 where the label
 * is a target the base does not rank first (what the document teaches), 1 elsewhere (targets the base already
 * predicts, and unlabelled context). Row t reads only row t, so one call covers a pack of samples.
 */
export function knownRows(ref: Tensor, labels: ArrayLike<number>): Float32Array {
  const [T, V] = ref.shape, d = ref.f32(), w = new Float32Array(T).fill(1);
  for (let t = 0; t < T; t++) {
    if (labels[t] === IGNORE) continue;
    let best = 0;
    for (let v = 1; v < V; v++) if (d[t * V + v] > d[t * V + best]) best = v;
    if (best !== labels[t]) w[t] = 0;
  }
  return w;
}

/** anchorOn 'known' as the trainer's row rule (its name is what a checkpoint's fingerprint hashes). */
export const KNOWN_ROWS: RowRule = { name: 'known', rows: knownRows };

/**
 * A sample's anchor rows (TrainSample.anchorRows) under the anchor mode `on`: the 'known' rule everywhere; none
 * on QA samples under 'segments' and 'answers'; under 'answers' the recitation's own rows (`rows`: 0 on the
 * document's answer tokens, answers.ts anchorRowsFor); else every row (undefined).
 */
export function anchorRowsOf(on: AnchorOn, kind: string | undefined, rows?: Float32Array): TrainSample['anchorRows'] {
  if (on === 'known') return KNOWN_ROWS;
  if (kind === 'qa') return on === 'all' ? undefined : 0;
  return on === 'answers' ? rows : undefined;
}
