// LoRA rows across RoPE layouts. A LoRA trained on a GGUF or llama2.c base lives in that base's interleaved q/k
// row order (model.ropeLayout 'interleaved'); Hugging Face's q_proj/k_proj (and so PEFT) use rotate-half
// ('half'); llama.cpp's llama architecture wants interleaved, its qwen2 rotate-half. Only q_proj/k_proj lora_B
// [out, r] have rows in that order: lora_A [r, in] reads the hidden state, which no layout permutes.
import { permuteQK } from '../io/names.js';
import type { LlamaConfig } from '../model/config.js';
import type { RopeLayout } from '../engine/index.js';

const QK_MODULE = /^model\.layers\.\d+\.self_attn\.(q|k)_proj$/;

/** lora_B [out, r] of module `path` with its rows moved from layout `from` to `to` (the same array when nothing moves). */
export function loraBRows(path: string, data: Float32Array, shape: readonly number[], c: LlamaConfig, from: RopeLayout, to: RopeLayout): Float32Array {
  const m = QK_MODULE.exec(path);
  if (!m || from === to) return data;
  return permuteQK(data, shape[0], shape[1], m[1] === 'q' ? c.num_attention_heads : c.num_key_value_heads, to === 'interleaved');
}

/** The q/k row layout llama.cpp expects in a GGUF of this architecture (what convert_hf_to_gguf.py writes). */
export const ggufRopeLayout = (c: LlamaConfig): RopeLayout => (c.model_type === 'qwen2' ? 'half' : 'interleaved');
