// Random Llamas written as F32 GGUFs by our writer, for tests that need a model of a given shape that llama.cpp
// also reads (quantized conversions, byte-level BPE vocabularies attached by `convert --tokenizer`).
import { Tensor, untracked } from '../../src/engine/index.js';
import { parseHFConfig } from '../../src/model/config.js';
import { spmVocabOf, writeModelGGUF, type SpmVocab } from '../../src/model/convert.js';
import { TokenType } from '../../src/text/gguf-vocab-tokenizer.js';
import { loadModelFromPath } from '../../src/model/load.js';
import { sharedPath } from './shared.js';
import * as R from '../engine/reference.js';

export interface RandomShape { C: number; I: number; L: number; NH: number; KVH: number; V: number; tied: boolean }

/** A SentencePiece vocabulary of V entries that llama.cpp loads (its 256 byte tokens present): a stand-in until
 * `convert --tokenizer` attaches a real vocabulary. */
export function placeholderVocab(V: number): SpmVocab {
  const tokens = ['<unk>', '<s>', '</s>', ...Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)];
  const types: number[] = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL, ...new Array<number>(256).fill(TokenType.BYTE)];
  for (let i = tokens.length; i < V; i++) [tokens[i], types[i]] = [`t${i}`, TokenType.NORMAL];
  return { tokens, types, scores: tokens.map((_, i) => -i), bosId: 1, eosId: 2, unkId: 0, addBos: true, addSpacePrefix: true, chatTemplate: null };
}

/** A random Llama of K-quant-friendly shape (or `shape`), written as an F32 GGUF with stories260K's vocabulary (or `vocab`). */
export function writeRandomModel(path: string, shape: RandomShape = { C: 256, I: 512, L: 2, NH: 4, KVH: 2, V: 512, tied: false }, vocab?: SpmVocab): void {
  if (!vocab) {
    const src = loadModelFromPath(sharedPath('models/stories260K/stories260K.gguf'));
    vocab = spmVocabOf(src)!;
    src.model.dispose();
  }
  const { C, I, L, NH, KVH, V } = shape, D = C / NH;
  const config = parseHFConfig({
    architectures: ['LlamaForCausalLM'], hidden_size: C, intermediate_size: I, num_hidden_layers: L, num_attention_heads: NH,
    num_key_value_heads: KVH, vocab_size: V, rms_norm_eps: 1e-5, rope_theta: 10000, max_position_embeddings: 256,
    tie_word_embeddings: shape.tied, bos_token_id: 1, eos_token_id: 2,
  }, 'random-llama');
  const r = R.rng(3);
  const weights = new Map<string, Tensor>();
  // Weights ~ N(0, 1/fan_in) keep activations O(1); the head is scaled so next-token distributions are far from uniform.
  const put = (name: string, shape: number[], std: number, mean = 0) =>
    weights.set(name, untracked(() => Tensor.from(Float32Array.from(R.randn(shape.reduce((a, b) => a * b, 1), r, std), (x) => x + mean), shape, { name })));
  put('model.embed_tokens.weight', [V, C], 1);
  put('model.norm.weight', [C], shape.tied ? 0.1 / Math.sqrt(C) : 0.1, shape.tied ? 1 / Math.sqrt(C) : 1); // a tied head is the N(0, 1) embedding: keep its logits O(1)
  if (!shape.tied) put('lm_head.weight', [V, C], 1 / Math.sqrt(C));
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}.`;
    put(p + 'input_layernorm.weight', [C], 0.1, 1);
    put(p + 'post_attention_layernorm.weight', [C], 0.1, 1);
    put(p + 'self_attn.q_proj.weight', [NH * D, C], 0.5 / Math.sqrt(C));
    put(p + 'self_attn.k_proj.weight', [KVH * D, C], 0.5 / Math.sqrt(C));
    put(p + 'self_attn.v_proj.weight', [KVH * D, C], 1 / Math.sqrt(C));
    put(p + 'self_attn.o_proj.weight', [C, NH * D], 1 / Math.sqrt(NH * D));
    put(p + 'mlp.gate_proj.weight', [I, C], 1 / Math.sqrt(C));
    put(p + 'mlp.up_proj.weight', [I, C], 1 / Math.sqrt(C));
    put(p + 'mlp.down_proj.weight', [C, I], 1 / Math.sqrt(I));
  }
  try {
    writeModelGGUF(path, config, weights, 'interleaved', vocab, 'random-llama');
  } finally {
    for (const t of weights.values()) t.dispose();
  }
}
