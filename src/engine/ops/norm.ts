// Embedding lookup and RMSNorm. Legend: T tokens, C channels, V vocabulary.
import { native } from '../native.js';
import { Tensor } from '../tensor.js';
import { gradFor, gradIf, needsGrad, record } from '../tape.js';
import { expectF32, expectRank, fmt } from './shapes.js';
import { quantEmbedding } from './quant-linear.js';

/** out[T,C] = table[ids[t]] for table[V,C]. */
export function embedding(table: Tensor, ids: Int32Array): Tensor {
  expectRank('embedding', 'table', table, 2);
  if (table.dtype !== 'f32') return quantEmbedding(table, ids); // frozen 16-bit / quantized table
  expectF32('embedding', table);
  const [V, C] = table.shape;
  const out = Tensor.empty([ids.length, C]);
  native.embeddingForward(table.f32(), ids, out.f32(), V, C);
  if (!needsGrad(table)) return out;
  return record('embedding', out, () => native.embeddingBackward(out.grad!.f32(), ids, gradIf(table)!, V, C));
}

/** RMSNorm over the last dim: x[T,C] · rstd · w[C], rstd = 1/√(mean(x²) + eps). Saves rstd[T]. */
export function rmsnorm(x: Tensor, w: Tensor, eps: number): Tensor {
  expectRank('rmsnorm', 'x', x, 2);
  expectF32('rmsnorm', x, w);
  const [T, C] = x.shape;
  if (w.shape.length !== 1 || w.shape[0] !== C) throw new Error(`rmsnorm: weight ${fmt(w)} must be [${C}] for x ${fmt(x)}`);
  const out = Tensor.empty([T, C]);
  const rstd = Tensor.empty([T]);
  native.rmsnormForward(x.f32(), w.f32(), out.f32(), rstd.f32(), T, C, eps);
  if (!needsGrad(x, w)) {
    rstd.dispose();
    return out;
  }
  return record('rmsnorm', out, () => {
    const dx = gradFor(x);
    native.rmsnormBackward(out.grad!.f32(), x.f32(), w.f32(), rstd.f32(), dx?.g ?? null, gradIf(w), T, C, !dx?.fresh);
  });
}
