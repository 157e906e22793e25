// Seeded parameter initialisation shared by the adapters.
import { Tensor, untracked } from '../engine/index.js';

/** mulberry32: small, fast, seedable; enough for initialisation and data order. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** U(−bound, bound), a trainable parameter (requires grad), owned by the caller. */
export function uniformParam(shape: number[], bound: number, rand: () => number, name: string): Tensor {
  const t = untracked(() => Tensor.empty(shape, { requiresGrad: true, name }));
  const d = t.f32();
  for (let i = 0; i < d.length; i++) d[i] = (2 * rand() - 1) * bound;
  return t;
}

export function zeroParam(shape: number[], name: string): Tensor {
  return untracked(() => Tensor.zeros(shape, { requiresGrad: true, name }));
}

/** PyTorch's kaiming_uniform_(a=√5) bound for a given fan-in: gain·√(3/fan_in) with gain = √(2/(1+5)) = 1/√fan_in. */
export const kaimingBound = (fanIn: number): number => 1 / Math.sqrt(fanIn);
