// Long synchronous preparation (tokenizing, QA synthesis, sample building) written as generators that yield
// progress points [done, total] now and then, driven either to completion at once (drainSync) or with a
// pause on the event loop every ~50 ms (drive): in the pauses a SIGINT handler can abort the AbortSignal,
// which ends the work with an AbortedError naming the phase, and progress bars repaint. One code path for
// both, so the synchronous and the interruptible results cannot differ.
import { faultPoint } from '../io/fault.js';

/** The AbortSignal ended the work: during training (a checkpoint, if any, is in checkpointDir) or before it. */
export class AbortedError extends Error {
  constructor(readonly checkpointDir: string | undefined, readonly phase = 'training') {
    super(
      checkpointDir ? `training interrupted; a checkpoint is in ${checkpointDir}: run the same command again to resume`
      : phase === 'training' ? 'training interrupted'
      : `interrupted while ${phase}, before training started (nothing to resume: a rerun starts from the beginning)`,
    );
    this.name = 'AbortedError';
  }
}

/** A progress point: `done` of `total` units (characters, sentences, samples) of one phase. */
export type Progress = readonly [done: number, total: number];

export interface DriveOptions {
  /** The phase's name, for the error when aborted ("tokenizing", "building samples", …). */
  phase: string;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /** Longest stretch of synchronous work between pauses (default 50 ms). */
  sliceMs?: number;
}

/** Runs `steps` to completion without pausing. */
export function drainSync<T>(steps: Generator<Progress, T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** Lets pending events (signal handlers, timers, output) run. */
export const pause = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Runs `steps`, pausing about every `sliceMs` and throwing AbortedError once the signal is aborted. */
export async function drive<T>(steps: Generator<Progress, T>, o: DriveOptions): Promise<T> {
  const slice = o.sliceMs ?? 50;
  if (o.signal?.aborted) throw new AbortedError(undefined, o.phase);
  let last = performance.now();
  const point = `drive:${o.phase.replace(/ /g, '-')}`;
  faultPoint(point); // the phase's start, then each step: the crash-consistency test kills here (src/io/fault.ts)
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    faultPoint(point);
    const now = performance.now();
    if (now - last < slice) continue;
    o.onProgress?.(r.value[0], r.value[1]);
    await pause();
    if (o.signal?.aborted) throw new AbortedError(undefined, o.phase);
    last = performance.now();
  }
}
