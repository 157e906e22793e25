// Shape checks shared by the ops: a mismatch throws an Error naming the op and the shapes.
import type { Tensor } from '../tensor.js';

export const fmt = (t: Tensor): string => `[${t.shape.join(', ')}]`;

export function expectRank(op: string, what: string, t: Tensor, rank: number): void {
  if (t.shape.length !== rank) throw new Error(`${op}: ${what} must have rank ${rank}, got shape ${fmt(t)}`);
}
export function expectF32(op: string, ...ts: (Tensor | null | undefined)[]): void {
  for (const t of ts)
    if (t && t.dtype !== 'f32') throw new Error(`${op}: ${t.name || 'input'} ${fmt(t)} is ${t.dtype}; ops compute in f32 (call toF32())`);
}
