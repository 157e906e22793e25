// LoRA's update of a projection as one op: out = y + s·(x·Aᵀ)·Bᵀ for x [T, I], y [T, O] (the frozen
// projection's output), A [r, I], B [O, r]. It used to be linear(linear(x, A), B) then add(): three tape nodes,
// two temporaries of [T, O], and four skinny sgemm calls in backward (256×8×576 …) where OpenBLAS packed the
// wide operand for 8 columns of work — a LoRA step spent ~20 % of its time there (docs/speed.md, profile).
// native/lora.cc streams the wide operand once per product with the rank side in registers.
// Backward, with d = dOut:  dy += d;  dBᵀ += s·uᵀ·d;  du = s·d·B;  dA += duᵀ·x;  dx += du·A   (u = x·Aᵀ, saved)
import { native } from '../native.js';
import { Tensor } from '../tensor.js';
import { gradFor, gradIf, needsGrad, record, takeGrad } from '../tape.js';
import { expectF32, expectRank, fmt } from './shapes.js';

/**
 * `consumeY`: y is a fresh output no one reads again (the frozen projection's, as LlamaModel.forward hands it to
 * an adapter): the result is written over y's storage and takes it over (Tensor.takeStorage) instead of a new
 * [T, O] buffer — y's values are not needed for any gradient (linear's backward reads y.grad, x and W), and a
 * training step then holds one [T, O] activation per adapted projection instead of two.
 */
export function loraUpdate(x: Tensor, y: Tensor, A: Tensor, B: Tensor, s: number, opts: { consumeY?: boolean } = {}): Tensor {
  for (const [n, t] of [['x', x], ['y', y], ['A', A], ['B', B]] as const) expectRank('loraUpdate', n, t, 2);
  expectF32('loraUpdate', x, y, A, B);
  const [T, I] = x.shape, [r, I2] = A.shape, [O, r2] = B.shape;
  if (I2 !== I || r2 !== r || y.shape[0] !== T || y.shape[1] !== O)
    throw new Error(`loraUpdate: x ${fmt(x)}, y ${fmt(y)}, A ${fmt(A)}, B ${fmt(B)} disagree: want x [T, I], y [T, O], A [r, I], B [O, r]`);
  const u = Tensor.empty([T, r]); // x·Aᵀ
  native.loraRowsDot(x.f32(), T, I, A.f32(), r, u.f32(), 1);
  const bt = Tensor.empty([r, O]); // Bᵀ, rows contiguous along O for the kernels
  const b = B.f32(), btv = bt.f32();
  for (let o = 0; o < O; o++) for (let j = 0; j < r; j++) btv[j * O + o] = b[o * r + j];
  const yv = y.f32();
  const out = (opts.consumeY ? y.takeStorage() : null) ?? Tensor.empty([T, O]);
  native.loraAddLowRank(yv, u.f32(), T, r, btv, O, out.f32(), s); // in place when out took y's storage
  if (!needsGrad(x, y, A, B)) {
    u.dispose();
    bt.dispose();
    return out;
  }
  return record('lora', out, () => {
    const d = out.grad!.f32();
    if (B.requiresGrad) {
      const dbt = Tensor.zeros([r, O]);
      native.loraLowRankGrad(u.f32(), T, r, d, O, dbt.f32(), s);
      const g = gradIf(B)!, v = dbt.f32();
      for (let o = 0; o < O; o++) for (let j = 0; j < r; j++) g[o * r + j] += v[j * O + o];
      dbt.dispose();
    }
    if (A.requiresGrad || x.requiresGrad) {
      const du = Tensor.empty([T, r]);
      native.loraRowsDot(d, T, O, btv, r, du.f32(), s);
      if (A.requiresGrad) native.loraLowRankGrad(du.f32(), T, r, x.f32(), I, gradIf(A)!, 1);
      const dx = gradFor(x);
      if (dx) native.loraAddLowRank(dx.fresh ? null : dx.g, du.f32(), T, r, A.f32(), I, dx.g, 1);
      du.dispose();
    }
    // The frozen projection's output receives dOut unchanged: hand it the buffer when it has none yet (last:
    // d is not read after this).
    if (y.requiresGrad && !takeGrad(out, y)) native.axpy(1, d, gradIf(y)!);
  });
}
