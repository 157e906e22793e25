// The forgetting guard's batches (beyond the paper): general text trained under KL to the frozen base or as
// plain replay, beside the document's samples. The text is the user's, or what the frozen base writes itself
// from BOS (so no data set is needed); each text becomes one sample of at most `guardTokens` tokens, and
// guardSchedule picks each optimizer step's batch from them (the trainer takes the batches it is given).
import type { LoadedModel } from '../model/load.js';
import { generateText } from '../model/generate.js';
import type { LiftLengths } from './budget.js';
import { IGNORE } from './samples.js';
import { pause, AbortedError } from './pace.js';
import type { GuardSchedule, TrainSample } from './trainer.js';
import type { AbsorbOptions } from './absorb.js';

/**
 * The guard's defaults. Many short texts beat a few long ones: on the recall benchmark, 8 texts with 1 per
 * step let held-out NLL rise 1.28 → 2.13 and 128 texts with 4 per step 1.28 → 1.65, at the same recall.
 * Texts are capped at 256 tokens so the base model writes them quickly on large models.
 */
export const GUARD_DEFAULTS = { samples: 64, perStep: 4, maxTokens: 256 };

/** Most tokens per guard text: guardTokens, else min(context budget, GUARD_DEFAULTS.maxTokens). */
export const guardTokens = (o: Pick<AbsorbOptions, 'guardTokens'>, lengths: LiftLengths): number => o.guardTokens ?? Math.min(lengths.budget, GUARD_DEFAULTS.maxTokens);

/** The guard's general-text samples and how many join each optimizer step (what the manifest records). */
export interface GuardSet {
  kind: 'kl' | 'replay';
  /** Weight of the guard loss relative to the task loss. */
  lambda: number;
  samples: TrainSample[];
  perStep: number;
}

/**
 * The trainer's guard batches (trainer.ts GuardSchedule): step k takes `perStep` samples in turn from index
 * k·perStep (mod n), so every text is used as often as any other and a resumed run takes the same batches.
 */
export function guardSchedule(g: GuardSet): GuardSchedule {
  const n = g.samples.length;
  return {
    kind: g.kind,
    lambda: g.lambda,
    batch: (step) => (n === 0 ? [] : Array.from({ length: g.perStep }, (_, k) => g.samples[(step * g.perStep + k) % n])),
    identity: { samples: n, perStep: g.perStep },
  };
}

/** The guard's general-text samples (null when there is no guard): the user's text, or what the base writes. */
export async function buildGuard(loaded: LoadedModel, lengths: LiftLengths, o: AbsorbOptions, seed: number): Promise<GuardSet | null> {
  const kind = o.guard ?? 'none';
  if (kind === 'none') return null;
  const { model, tokenizer: tok } = loaded;
  const maxTokens = guardTokens(o, lengths);
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
