// Seeded parameter initialisation shared by the adapters.
import { Tensor, untracked } from '../engine/index.js';

export { seededRandom } from '../engine/random.js';

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
