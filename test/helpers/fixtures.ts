// Reads the JSON fixtures written by scripts/fixtures/torch_reference.py (PyTorch, float32 tensors as
// base64 little-endian with their shapes) and builds engine tensors from them.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tensor, untracked } from '../../src/engine/index.js';

export interface Encoded {
  shape: number[];
  data: string;
}

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

export function loadFixture<T = Record<string, unknown>>(name: string): T {
  return JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as T;
}

export function decode(e: Encoded): Float32Array {
  const b = Buffer.from(e.data, 'base64');
  const out = new Float32Array(b.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = b.readFloatLE(i * 4);
  return out;
}

export function toTensor(e: Encoded, name = '', requiresGrad = false): Tensor {
  return untracked(() => Tensor.from(decode(e), e.shape, { name, requiresGrad }));
}

export function toWeights(ws: Record<string, Encoded>): Map<string, Tensor> {
  return new Map(Object.entries(ws).map(([k, v]) => [k, toTensor(v, k)]));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
