// Is a trained adapter usable? A run that trained nothing, diverged, or yields NaN must end with an error and
// a non-zero exit, never with "absorbed" and an adapter that prints <unk> (issue: "nothing wrong is silent").
import { tidy } from '../engine/index.js';
import { native } from '../engine/native.js';
import type { LlamaModel } from '../model/llama.js';
import { nonFiniteTensors, type Adapter } from '../adapters/files.js';
import type { TrainResult } from './trainer.js';

/** Thrown when a result is not usable (untrained, diverged, non-finite): nothing is written. */
export class UnusableResultError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnusableResultError';
  }
}

/**
 * Throws UnusableResultError unless training applied at least one step, its last loss is finite, every adapter
 * tensor is finite, and the adapted model's logits on `probe` (a few document tokens) are finite.
 */
export function assertUsable(model: LlamaModel, r: { adapter: Adapter; train: TrainResult }, probe: Int32Array): void {
  const { steps, nonFiniteSteps, losses } = r.train;
  if (steps === 0) throw new UnusableResultError('no training step was run (0 steps): the adapter would be untrained; raise --epochs');
  if (nonFiniteSteps >= steps)
    throw new UnusableResultError(`all ${steps} training steps were skipped for non-finite loss or gradients: the adapter is untrained. ` +
      'Check the base model (NaN weights?) and lower --lr');
  const last = losses.at(-1);
  if (last && !Number.isFinite(last.loss))
    throw new UnusableResultError(`training diverged: the last step's loss is ${last.loss} (${nonFiniteSteps} of ${steps} steps skipped); lower --lr`);
  const bad = nonFiniteTensors(r.adapter);
  if (bad.length > 0) throw new UnusableResultError(`the trained adapter holds NaN or infinite values (${bad.slice(0, 3).join(', ')}); lower --lr`);
  if (probe.length > 0) {
    const n = tidy(() => native.countNonFinite(model.forward(probe, { adapter: r.adapter }).f32()));
    if (n > 0) throw new UnusableResultError(`the adapted model's logits are not finite (${n} NaN or infinite values on the first ${probe.length} document tokens): training diverged; lower --lr`);
  }
}
