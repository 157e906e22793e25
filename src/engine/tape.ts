// Tape-based reverse-mode autograd over the coarse primitives in ops/. While a tape records, every op
// whose inputs include a tensor that requires grad pushes one backward closure; backward() replays them
// in reverse. Gradients exist only where needed: frozen base weights never get a gradient buffer, and
// ops whose inputs are all frozen record nothing (and their backward is never run).
// The tape is also a scope: activations created while recording are freed by dispose(), deterministically.
// Leaf tensors that require grad (the trained parameters) keep their .grad until the optimizer zeroes it.
import { Tensor, closeScope, disposeScope, freedExplicitly, newGrad, openScope } from './tensor.js';

interface Node {
  op: string;
  out: Tensor;
  backward: () => void;
}

let active: Tape | null = null;

export class Tape {
  readonly nodes: Node[] = [];
  #outs = new Set<Tensor>();
  #scope: Set<Tensor> | null = null;

  /** Runs fn while recording and returns its result; what it creates lives until dispose(). */
  record<T>(fn: () => T): T {
    if (active) throw new Error('Tape.record: another tape is already recording');
    this.#scope ??= new Set();
    const s = openScope();
    active = this;
    try {
      return fn();
    } finally {
      active = null;
      closeScope(s);
      for (const t of s) this.#scope.add(t), (t.scope = this.#scope);
    }
  }

  /**
   * Reverse pass from a scalar loss seeded with dLoss = 1 (or `seed`); a non-scalar output needs its full
   * upstream gradient as `seed` (vector-Jacobian product, used by the gradient checks).
   */
  backward(loss: Tensor, seed: number | Float32Array = 1): void {
    freedExplicitly(() => this.#backward(loss, seed));
  }
  #backward(loss: Tensor, seed: number | Float32Array): void {
    if (typeof seed === 'number' && loss.size !== 1) throw new Error(`backward: loss must be a scalar, got shape [${loss.shape.join(', ')}]`);
    if (typeof seed !== 'number' && seed.length !== loss.size) throw new Error(`backward: seed has ${seed.length} values for an output of ${loss.size}`);
    if (!loss.requiresGrad) throw new Error('backward: the loss does not depend on any tensor that requires grad');
    if (typeof seed === 'number') loss.gradBuffer().f32()[0] = seed;
    else loss.gradBuffer().f32().set(seed);
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i];
      if (n.out.grad === null) continue; // nothing flowed into this node
      n.backward();
      // This output's gradient has been consumed by its producer: free it now, not at the end
      // (unless the backward handed the buffer on to an input, see takeGrad).
      n.out.grad?.dispose();
      n.out.grad = null;
    }
  }

  /** Frees every activation the recording created, and their gradients. */
  dispose(): void {
    if (this.#scope) disposeScope(this.#scope);
    this.nodes.length = 0;
    this.#outs.clear();
  }

  /** @internal */ push(n: Node): void {
    this.nodes.push(n);
    this.#outs.add(n.out);
  }
}

/** True when an op with these inputs must record its backward (a tape is recording and an input needs grad). */
export function needsGrad(...inputs: (Tensor | null | undefined)[]): boolean {
  return active !== null && inputs.some((t) => t?.requiresGrad === true);
}

/** Registers an op's backward closure and marks its output as requiring grad. */
export function record(op: string, out: Tensor, backward: () => void): Tensor {
  if (!active) throw new Error(`${op}: no tape is recording`);
  out.requiresGrad = true;
  active.push({ op, out, backward });
  return out;
}

/** The gradient accumulator of a tensor (allocated zeroed on first use). */
export function gradOf(t: Tensor): Float32Array {
  return t.gradBuffer().f32();
}

/**
 * Passes `out`'s gradient buffer on to `input` as its gradient when `input` has none yet and would receive
 * exactly dOut (a residual connection): saves allocating, zeroing and adding a buffer. Returns false when
 * the caller must accumulate instead.
 */
export function takeGrad(out: Tensor, input: Tensor): boolean {
  if (!input.requiresGrad || input.grad !== null || out.grad === null || input === out) return false;
  input.grad = out.grad;
  out.grad = null;
  if (input.scope === null) input.grad.countMemory(); // a parameter's gradient outlives the pass (newGrad)
  return true;
}

/**
 * A gradient buffer for `t` and whether it is fresh (uninitialised, to be overwritten: BLAS with beta = 0)
 * or already holds gradient to accumulate into (beta = 1). Null when `t` needs no gradient.
 */
export function gradFor(t: Tensor | null | undefined): { g: Float32Array; fresh: boolean } | null {
  if (!t?.requiresGrad) return null;
  if (t.grad !== null) return { g: t.grad.f32(), fresh: false };
  t.grad = newGrad(t, false);
  return { g: t.grad.f32(), fresh: true };
}

/** Gradient accumulator if `t` requires grad, else null (the kernel then skips that gradient). */
export function gradIf(t: Tensor | null | undefined): Float32Array | null {
  return t?.requiresGrad ? t.gradBuffer().f32() : null;
}
