// Per-layer key/value cache for generation: post-RoPE keys and values of every position so far,
// preallocated to a capacity, so each decode step appends one row and attends over a prefix view.
import { Tensor, untracked } from '../engine/index.js';
import type { LlamaConfig } from './config.js';

export class KVCache {
  readonly keys: Tensor[];
  readonly values: Tensor[];
  #length = 0;

  constructor(config: LlamaConfig, readonly capacity: number) {
    const KD = config.num_key_value_heads * config.head_dim;
    this.keys = untracked(() => Array.from({ length: config.num_hidden_layers }, () => Tensor.empty([capacity, KD])));
    this.values = untracked(() => Array.from({ length: config.num_hidden_layers }, () => Tensor.empty([capacity, KD])));
  }

  /** Tokens cached. */
  get length(): number {
    return this.#length;
  }

  /** Writes this step's k, v [T, KVH·D] after the cached rows; returns views of all rows so far. */
  append(layer: number, k: Tensor, v: Tensor): [Tensor, Tensor] {
    const [T, KD] = k.shape;
    const P = this.#length;
    this.keys[layer].f32().set(k.f32(), P * KD);
    this.values[layer].f32().set(v.f32(), P * KD);
    return [this.keys[layer].prefix([P + T, KD]), this.values[layer].prefix([P + T, KD])];
  }

  /** Called once per forward, after every layer appended. */
  advance(n: number): void {
    this.#length += n;
  }

  /** Forgets everything after the first n tokens (reuse a shared prompt prefix). */
  truncate(n: number): void {
    this.#length = Math.min(this.#length, n);
  }

  dispose(): void {
    for (const t of [...this.keys, ...this.values]) t.dispose();
  }
}
