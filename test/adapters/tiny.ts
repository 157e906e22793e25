// Tiny random Llama-family models for the adapter tests (the same recipe as bench/engine.ts randomModel,
// plus q/k/v(/o) biases when the config has attention biases, so the bias paths are exercised too).
import { Tensor, untracked } from '../../src/engine/index.js';
import { parseHFConfig, type LlamaConfig } from '../../src/model/config.js';
import { LlamaModel } from '../../src/model/llama.js';
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
  const rand = seededRandom(seed);
  const C = c.hidden_size, QD = c.num_attention_heads * c.head_dim, KD = c.num_key_value_heads * c.head_dim, I = c.intermediate_size;
  const shapes: [string, number[]][] = [['model.embed_tokens.weight', [c.vocab_size, C]], ['model.norm.weight', [C]]];
  if (!c.tie_word_embeddings) shapes.push(['lm_head.weight', [c.vocab_size, C]]);
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`;
    shapes.push([p + 'input_layernorm.weight', [C]], [p + 'post_attention_layernorm.weight', [C]],
      [p + 'self_attn.q_proj.weight', [QD, C]], [p + 'self_attn.k_proj.weight', [KD, C]], [p + 'self_attn.v_proj.weight', [KD, C]],
      [p + 'self_attn.o_proj.weight', [C, QD]], [p + 'mlp.gate_proj.weight', [I, C]], [p + 'mlp.up_proj.weight', [I, C]], [p + 'mlp.down_proj.weight', [C, I]]);
    if (c.attention_bias) shapes.push([p + 'self_attn.q_proj.bias', [QD]], [p + 'self_attn.k_proj.bias', [KD]], [p + 'self_attn.v_proj.bias', [KD]]);
  }
  const weights = untracked(() => new Map(shapes.map(([name, shape]) => {
    const t = Tensor.empty(shape, { name });
    const d = t.f32();
    if (name.endsWith('norm.weight')) d.fill(1);
    else for (let i = 0; i < d.length; i++) d[i] = (2 * rand() - 1) * 0.2;
    return [name, t] as const;
  })));
  return new LlamaModel(c, weights, 'half', id);
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
