// Elementwise primitives: sums, SwiGLU, SiLU, the Gated Memory gate activation and mix.
import { native } from '../native.js';
import { Tensor } from '../tensor.js';
import { gradFor, gradIf, needsGrad, record, takeGrad } from '../tape.js';
import { expectF32, fmt } from './shapes.js';

function sameSize(op: string, a: Tensor, b: Tensor): void {
  if (a.size !== b.size || a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i]))
    throw new Error(`${op}: shapes ${fmt(a)} and ${fmt(b)} differ`);
}

/** a + s·b (residual connections, LoRA's scaled update). */
export function add(a: Tensor, b: Tensor, s = 1): Tensor {
  sameSize('add', a, b);
  expectF32('add', a, b);
  const out = Tensor.empty(a.shape);
  native.addScaled(a.f32(), b.f32(), s, out.f32());
  if (!needsGrad(a, b)) return out;
  return record('add', out, () => {
    const dy = out.grad!.f32();
    if (a === b) return void native.axpy(1 + s, dy, gradIf(a)!);
    const db = gradIf(b);
    if (db) native.axpy(s, dy, db);
    // The residual stream: a receives dOut unchanged, so it can take the buffer itself.
    if (a.requiresGrad && !takeGrad(out, a)) native.axpy(1, dy, gradIf(a)!);
  });
}

/** s·x */
export function scale(x: Tensor, s: number): Tensor {
  expectF32('scale', x);
  const out = Tensor.empty(x.shape);
  out.f32().set(x.f32());
  native.scale(out.f32(), s);
  if (!needsGrad(x)) return out;
  return record('scale', out, () => native.axpy(s, out.grad!.f32(), gradIf(x)!));
}

/** silu(gate) · up: the Llama MLP's gated unit. */
export function swiglu(gate: Tensor, up: Tensor): Tensor {
  sameSize('swiglu', gate, up);
  expectF32('swiglu', gate, up);
  const out = Tensor.empty(gate.shape);
  native.swigluForward(gate.f32(), up.f32(), out.f32());
  if (!needsGrad(gate, up)) return out;
  return record('swiglu', out, () => {
    // Fresh gradient buffers are overwritten rather than zeroed and added to (both or neither).
    const fresh = gate !== up && gate.grad === null && up.grad === null && gate.requiresGrad && up.requiresGrad;
    if (fresh) native.swigluBackward(out.grad!.f32(), gate.f32(), up.f32(), gradFor(gate)!.g, gradFor(up)!.g, false);
    else native.swigluBackward(out.grad!.f32(), gate.f32(), up.f32(), gradIf(gate), gradIf(up));
  });
}

/** x·σ(x) */
export function silu(x: Tensor): Tensor {
  expectF32('silu', x);
  const out = Tensor.empty(x.shape);
  native.siluForward(x.f32(), out.f32());
  if (!needsGrad(x)) return out;
  return record('silu', out, () => native.siluBackward(out.grad!.f32(), x.f32(), gradIf(x)!));
}

/** σ(a·x + b); the Gated Memory gate uses a = 3, b = −3 (σ(3(x − 1)), LIFT §4). */
export function sigmoidAffine(x: Tensor, a: number, b: number): Tensor {
  expectF32('sigmoid', x);
  const out = Tensor.empty(x.shape);
  native.sigmoidAffineForward(x.f32(), out.f32(), a, b);
  if (!needsGrad(x)) return out;
  return record('sigmoid', out, () => native.sigmoidAffineBackward(out.grad!.f32(), out.f32(), gradIf(x)!, a));
}

/**
 * Per-head mix (1 − g)·attn + g·mem for attn, mem [T, H·D] and gate [T, H] (one gate value per token and
 * head, broadcast over the head dim): LIFT §4's output before o_proj.
 */
export function gateMix(attn: Tensor, mem: Tensor, gate: Tensor): Tensor {
  sameSize('gateMix', attn, mem);
  expectF32('gateMix', attn, mem, gate);
  const R = gate.size, D = attn.size / R;
  if (!Number.isInteger(D) || gate.shape[0] !== attn.shape[0])
    throw new Error(`gateMix: gate ${fmt(gate)} does not give one value per head of attn ${fmt(attn)}`);
  const out = Tensor.empty(attn.shape);
  native.gateMixForward(attn.f32(), mem.f32(), gate.f32(), out.f32(), R, D);
  if (!needsGrad(attn, mem, gate)) return out;
  return record('gateMix', out, () =>
    native.gateMixBackward(out.grad!.f32(), attn.f32(), mem.f32(), gate.f32(), gradIf(attn), gradIf(mem), gradIf(gate), R, D),
  );
}
