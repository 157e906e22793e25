// The linear layer and the embedding lookup on a frozen weight kept in 16-bit or ggml block storage
// (QLoRA-style: the base stays quantized, adapters train on top). Forward y = x·Wᵀ and the input gradient
// dx = dy·W are computed from the blocks by native/quant.cc; the weight itself never gets a gradient, so
// a quantized (or 16-bit) weight that requires grad is refused.
// Legend: T tokens, I in-features, O out-features, V vocabulary, C channels.
import { native } from '../native.js';
import { Tensor, ggmlOf } from '../tensor.js';
import { gradFor, gradIf, needsGrad, record } from '../tape.js';
import { expectF32, fmt } from './shapes.js';
import { bf16Packed, computesInBf16 } from '../compute.js';
import { MATVEC_MAX_ROWS, matvecEnabled } from './matvec-switch.js';

function frozen(op: string, w: Tensor): void {
  if (w.requiresGrad) throw new Error(`${op}: weight ${w.name || fmt(w)} is ${w.dtype} and requires grad; only f32 weights train (${w.dtype} weights are frozen)`);
}

/** y[T,O] = x[T,I] · W[O,I]ᵀ (+ b[O]) for W stored as f16/bf16/q*. Saves x's shape only (W is frozen). */
export function quantLinear(x: Tensor, w: Tensor, b: Tensor | null): Tensor {
  frozen('linear', w);
  expectF32('linear', x, b);
  const [T, I] = x.shape, O = w.shape[0];
  const type = ggmlOf(w.dtype).id;
  // A bf16 weight marked by the loader (engine/compute.ts) runs on the bf16 units; otherwise f32 tiles + sgemm.
  const bf16 = computesInBf16(w);
  const y = Tensor.empty([T, O]);
  // (decode-sized x: dot products straight from W's rows; more rows: W packed once, compute.ts bf16Packed)
  if (bf16 && T <= MATVEC_MAX_ROWS) native.bf16Matmul(x.f32(), T, I, w.bytes(), O, y.f32());
  else if (bf16) native.bf16MatmulPacked(x.f32(), T, I, bf16Packed(w, 'forward'), O, y.f32(), false);
  // Decode on 16-bit storage: the matrix-vector kernel converts W in registers (qMatmul dequantizes each row to memory first).
  else if (T <= MATVEC_MAX_ROWS && (w.dtype === 'f16' || w.dtype === 'bf16') && matvecEnabled()) native.matvec(x.f32(), T, I, w.bytes(), type, O, y.f32());
  // Decode on Q4_K/Q5_K/Q6_K/Q8_0/Q5_0/Q4_0 blocks (inference only: nothing needs a gradient): x rounded to 8 bits per block
  // as llama.cpp does, integer dot products (native/quant-dot.cc); training and larger T keep exact f32 products.
  else if (T >= 1 && T <= MATVEC_MAX_ROWS && matvecEnabled() && !needsGrad(x, b) && native.qDotSupported(type)) native.qDot(x.f32(), T, I, w.bytes(), type, O, y.f32());
  else native.qMatmul(x.f32(), T, I, w.bytes(), type, O, y.f32());
  if (b) native.addBias(y.f32(), b.f32(), T, O);
  if (!needsGrad(x, b)) return y;
  return record('linear', y, () => {
    const dy = y.grad!.f32();
    const dx = gradFor(x), db = gradIf(b);
    if (dx && bf16) native.bf16MatmulPacked(dy, T, O, bf16Packed(w, 'backward'), I, dx.g, !dx.fresh);
    else if (dx) native.qMatmulBackward(dy, T, O, w.bytes(), type, I, dx.g, !dx.fresh);
    if (db) native.biasBackward(dy, db, T, O);
  });
}

/** out[T,C] = table[ids[t]] for a frozen table[V,C] stored as f16/bf16/q*. */
export function quantEmbedding(table: Tensor, ids: Int32Array): Tensor {
  frozen('embedding', table);
  const [V, C] = table.shape;
  const out = Tensor.empty([ids.length, C]);
  native.qEmbedding(table.bytes(), ggmlOf(table.dtype).id, V, C, ids, out.f32());
  return out;
}
