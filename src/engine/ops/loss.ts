// Softmax cross-entropy with ignore-index −100, mean over supervised tokens (PyTorch's F.cross_entropy).
import { native } from '../native.js';
import { Tensor, untracked } from '../tensor.js';
import { gradOf, needsGrad, record } from '../tape.js';
import { expectF32, expectRank, fmt } from './shapes.js';

export const IGNORE_INDEX = -100;

export interface CrossEntropyResult {
  /** Scalar mean loss (records backward when logits require grad). */
  loss: Tensor;
  /** Supervised token count. */
  count: number;
  /** Per-token NLL (0 where ignored), when asked for. */
  nll?: Float32Array;
}

/**
 * logits[T,V], targets[T] (−100 = ignore). Backward writes the softmax gradient into the logits' own
 * gradient buffer; `inPlace` lets it overwrite the logits instead (saves T·V floats; the logits must not
 * be read after backward).
 */
export function crossEntropy(logits: Tensor, targets: Int32Array, opts: { perToken?: boolean; inPlace?: boolean; rowWeights?: Float32Array } = {}): CrossEntropyResult {
  expectRank('crossEntropy', 'logits', logits, 2);
  expectF32('crossEntropy', logits);
  const [T, V] = logits.shape;
  if (targets.length !== T) throw new Error(`crossEntropy: ${targets.length} targets for logits ${fmt(logits)}`);
  // rowWeights [T]: the loss is Σₜ wₜ·nllₜ instead of the mean — a packed batch's per-sample weights
  // (trainer.ts: wₜ = the sample's weight / its supervised tokens, so Σ is Σᵢ wᵢ·meanᵢ).
  const w = opts.rowWeights;
  if (w && w.length !== T) throw new Error(`crossEntropy: rowWeights has ${w.length} entries for ${T} rows`);
  const lse = Tensor.empty([T]);
  const nll = opts.perToken || w ? new Float32Array(T) : null;
  const r = native.xentForward(logits.f32(), targets, lse.f32(), nll, T, V);
  const count = r.count;
  let loss = r.loss;
  if (w) {
    loss = 0;
    for (let t = 0; t < T; t++) if (targets[t] !== IGNORE_INDEX) loss += w[t] * nll![t];
  }
  const out = Tensor.from([loss], [1]);
  const result: CrossEntropyResult = { loss: out, count, ...(nll && opts.perToken ? { nll } : {}) };
  if (!needsGrad(logits) || count === 0) {
    lse.dispose();
    return result;
  }
  record('crossEntropy', out, () => {
    const s = w ? out.grad!.f32()[0] : out.grad!.f32()[0] / count;
    if (opts.inPlace && logits.grad === null) {
      // Overwrite the logits with their gradient and hand that buffer over as logits.grad.
      native.xentBackward(logits.f32(), targets, lse.f32(), logits.f32(), T, V, s, w);
      logits.grad = logits.view(logits.shape);
      logits.grad.name = 'logits.grad(in place)';
    } else if (logits.grad === null) {
      // First gradient to reach the logits: write it straight into a fresh buffer.
      logits.grad = untracked(() => Tensor.empty([T, V], { name: 'logits.grad' }));
      native.xentBackward(logits.f32(), targets, lse.f32(), logits.grad.f32(), T, V, s, w);
    } else {
      const tmp = Tensor.empty([T, V]);
      native.xentBackward(logits.f32(), targets, lse.f32(), tmp.f32(), T, V, s, w);
      native.axpy(1, tmp.f32(), gradOf(logits));
      tmp.dispose();
    }
  });
  return result;
}

/**
 * Mean over rows of KL(p ‖ q), p = softmax(refLogits) from the frozen base (no gradient), q = softmax(logits):
 * the forgetting guard keeps the adapted model's next-token distributions near the base's on general text.
 * `rowWeights` [T] scales each row's KL (the sum is still divided by T): the selective anchor uses 0/1 here.
 * `divisor` replaces T (1 with per-sample weights in rowWeights: a packed batch, trainer.ts).
 */
export function klDivergence(logits: Tensor, refLogits: Tensor, opts: { rowWeights?: Float32Array; divisor?: number } = {}): Tensor {
  expectRank('klDivergence', 'logits', logits, 2);
  expectF32('klDivergence', logits, refLogits);
  if (refLogits.shape[0] !== logits.shape[0] || refLogits.shape[1] !== logits.shape[1])
    throw new Error(`klDivergence: logits ${fmt(logits)} and reference ${fmt(refLogits)} differ`);
  const [T, V] = logits.shape;
  const w = opts.rowWeights;
  if (w && w.length !== T) throw new Error(`klDivergence: rowWeights has ${w.length} entries for ${T} rows`);
  const lse = Tensor.empty([T]);
  const { loss } = native.klForward(logits.f32(), refLogits.f32(), lse.f32(), T, V, w);
  const div = opts.divisor ?? T;
  if (!(div > 0)) throw new Error(`klDivergence: divisor must be > 0, got ${div}`);
  const out = Tensor.from([opts.divisor === undefined || T === 0 ? loss : (loss * T) / div], [1]);
  if (!needsGrad(logits) || T === 0) {
    lse.dispose();
    return out;
  }
  return record('klDivergence', out, () => {
    const tmp = Tensor.empty([T, V]);
    native.klBackward(logits.f32(), refLogits.f32(), lse.f32(), tmp.f32(), T, V, out.grad!.f32()[0] / div, w);
    native.axpy(1, tmp.f32(), gradOf(logits));
    tmp.dispose();
  });
}
