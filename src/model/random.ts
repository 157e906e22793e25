// A random Llama-family model of a given shape, for benchmarks and tests that need a model of that shape and
// not its knowledge: every matrix (and the q/k/v biases, when the config has attention biases) drawn U(±scale)
// from one seeded stream, norms at 1 (or 1 + U(±normJitter/2), so their gradients are exercised). The tensors
// come in the order of llamaTensorShapes, so a seed and a shape always give the same weights.
import { Tensor, untracked } from '../engine/index.js';
import { seededRandom } from '../engine/random.js';
import type { LlamaConfig } from './config.js';
import { LlamaModel } from './llama.js';

/** Every tensor of a Llama of config `c`: Hugging Face names and shapes [out, in], in one fixed order. */
export function llamaTensorShapes(c: LlamaConfig): [string, number[]][] {
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
  return shapes;
}

export interface RandomLlamaOptions {
  seed?: number;
  /** Weights and biases U(±scale). */
  scale: number;
  /** Norm weights 1 + normJitter·(U[0,1) − ½) (default 0: exactly 1, drawing nothing). */
  normJitter?: number;
  /** The model's id (default 'random'). */
  id?: string;
}

/** A frozen random model of config `c` (RoPE in Hugging Face's rotate-half layout). */
export function randomLlama(c: LlamaConfig, o: RandomLlamaOptions): LlamaModel {
  const rand = seededRandom(o.seed ?? 0), jitter = o.normJitter ?? 0;
  const weights = untracked(() => new Map(llamaTensorShapes(c).map(([name, shape]) => {
    const t = Tensor.empty(shape, { name });
    const d = t.f32();
    if (!name.endsWith('norm.weight')) for (let i = 0; i < d.length; i++) d[i] = (2 * rand() - 1) * o.scale;
    else if (jitter === 0) d.fill(1);
    else for (let i = 0; i < d.length; i++) d[i] = 1 + jitter * (rand() - 0.5);
    return [name, t] as const;
  })));
  return new LlamaModel(c, weights, 'half', o.id ?? 'random');
}
