// Matrix-product primitives (BLAS): the linear layer and its per-head batched form.
// Legend: T tokens, I in-features, O out-features, H heads.
import { native } from '../native.js';
import { Tensor } from '../tensor.js';
import { gradFor, gradIf, needsGrad, record } from '../tape.js';
import { expectF32, expectRank, fmt } from './shapes.js';
import { quantLinear } from './quant-linear.js';
import { MATVEC_MAX_ROWS, matvecEnabled } from './matvec-switch.js';
export { useMatvec, MATVEC_MAX_ROWS } from './matvec-switch.js';

/** y[T,O] = x[T,I] · W[O,I]ᵀ (+ b[O]). PyTorch's nn.Linear layout. */
export function linear(x: Tensor, w: Tensor, b: Tensor | null = null): Tensor {
  expectRank('linear', 'x', x, 2);
  expectRank('linear', 'weight', w, 2);
  const [T, I] = x.shape, [O, I2] = w.shape;
  if (I !== I2) throw new Error(`linear: x ${fmt(x)} and weight ${fmt(w)} disagree: weight must be [*, ${I}]`);
  if (b && (b.shape.length !== 1 || b.shape[0] !== O)) throw new Error(`linear: bias ${fmt(b)} must be [${O}]`);
  if (w.dtype !== 'f32') return quantLinear(x, w, b); // frozen 16-bit / quantized base weight
  expectF32('linear', x, w, b);
  const y = Tensor.empty([T, O]);
  // Decode (a token or a few): W streamed once by the matrix-vector kernel; sgemm would pack (copy) it first.
  if (T <= MATVEC_MAX_ROWS && matvecEnabled()) native.matvec(x.f32(), T, I, w.f32(), 0, O, y.f32());
  else native.gemm(false, true, T, O, I, 1, x.f32(), 0, I, w.f32(), 0, I, 0, y.f32(), 0, O);
  if (b) native.addBias(y.f32(), b.f32(), T, O);
  if (!needsGrad(x, w, b)) return y;
  return record('linear', y, () => linearBackward(x, w, b, y));
}
// Saved: x, W.  dx += dy·W;  dW += dyᵀ·x;  db += Σ_t dy
function linearBackward(x: Tensor, w: Tensor, b: Tensor | null, y: Tensor): void {
  const [T, I] = x.shape, O = w.shape[0];
  const dy = y.grad!.f32();
  const dx = gradFor(x), dw = gradIf(w), db = gradIf(b);
  if (dx) native.gemm(false, false, T, I, O, 1, dy, 0, O, w.f32(), 0, I, dx.fresh ? 0 : 1, dx.g, 0, I);
  if (dw) native.gemm(true, false, O, I, T, 1, dy, 0, O, x.f32(), 0, I, 1, dw, 0, I);
  if (db) native.biasBackward(dy, db, T, O);
}

/**
 * Per-head linear maps: y[T, H·O] with y[t,h] = x[t,h] · W[h]  for x[T, H·I], W[H, I, O], optional b[H, O].
 * The Gated Memory MLPs apply one small matrix per head this way (LIFT §4: weights shaped (H, in, out)).
 */
export function headLinear(x: Tensor, w: Tensor, heads: number, b: Tensor | null = null): Tensor {
  expectRank('headLinear', 'x', x, 2);
  expectRank('headLinear', 'weight', w, 3);
  expectF32('headLinear', x, w, b);
  const [H, I, O] = w.shape, T = x.shape[0];
  if (H !== heads || x.shape[1] !== H * I) throw new Error(`headLinear: x ${fmt(x)} and weight ${fmt(w)} disagree: x must be [T, ${H}·${I}]`);
  if (b && (b.shape.length !== 2 || b.shape[0] !== H || b.shape[1] !== O)) throw new Error(`headLinear: bias ${fmt(b)} must be [${H}, ${O}]`);
  const y = Tensor.empty([T, H * O]);
  native.gemmBatched(false, false, T, O, I, 1, x.f32(), 0, H * I, I, w.f32(), 0, O, I * O, 0, y.f32(), 0, H * O, O, H);
  if (b) native.addBias(y.f32(), b.f32(), T, H * O);
  if (!needsGrad(x, w, b)) return y;
  return record('headLinear', y, () => {
    const dy = y.grad!.f32();
    const dx = gradIf(x), dw = gradIf(w), db = gradIf(b);
    // dx[t,h] += dy[t,h]·W[h]ᵀ;  dW[h] += x[:,h]ᵀ·dy[:,h]
    if (dx) native.gemmBatched(false, true, T, I, O, 1, dy, 0, H * O, O, w.f32(), 0, O, I * O, 1, dx, 0, H * I, I, H);
    if (dw) native.gemmBatched(true, false, I, O, T, 1, x.f32(), 0, H * I, I, dy, 0, H * O, O, 1, dw, 0, O, I * O, H);
    if (db) native.biasBackward(dy, db, T, H * O);
  });
}
