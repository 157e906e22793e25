// Tiny random Llama-family models for the adapter tests (src/model/random.ts, as bench/engine.ts randomModel,
// with q/k/v biases when the config has attention biases, so the bias paths are exercised too).
import { parseHFConfig, type LlamaConfig } from '../../src/model/config.js';
import type { LlamaModel } from '../../src/model/llama.js';
import { randomLlama } from '../../src/model/random.js';
import { seededRandom } from '../../src/adapters/init.js';

/** GQA 2:1, head dim 16 (gate width ⌊√16⌋ = 4), untied head unless overridden. */
export function tinyConfig(over: Record<string, unknown> = {}): LlamaConfig {
  return parseHFConfig({
    architectures: ['LlamaForCausalLM'], hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2,
    num_attention_heads: 2, num_key_value_heads: 1, vocab_size: 40, rms_norm_eps: 1e-5, rope_theta: 10000,
    tie_word_embeddings: false, max_position_embeddings: 64, ...over,
  }, 'tiny');
}

/** A frozen model with U(±0.2) weights (large enough that attention and the gate matter), norms at 1. */
export function tinyModel(c: LlamaConfig, seed = 1, id = 'tiny-random'): LlamaModel {
  return randomLlama(c, { seed, scale: 0.2, id });
}

export function randomIds(n: number, vocab: number, seed = 7): Int32Array {
  const rand = seededRandom(seed);
  return Int32Array.from({ length: n }, () => Math.floor(rand() * vocab));
}

export function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
