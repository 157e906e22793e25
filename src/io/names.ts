// Tensor-name mapping between llama.cpp's GGUF names and Hugging Face LlamaForCausalLM / Qwen2 names, and
// the q/k row permutation convert_hf_to_gguf.py applies between their RoPE layouts.
//   HF "rotate-half": within each head of size hd, row i pairs with row i + hd/2.
//   GGUF / Meta / llama2.c "interleaved": row 2i pairs with row 2i + 1.
import type { Checkpoint, TensorEntry } from './tensor-entry.js';

/** Per-layer suffixes: GGUF `blk.N.<g>` <-> HF `model.layers.N.<h>` (suffix .weight or .bias appended to both). */
const LAYER: readonly [string, string][] = [
  ['attn_norm', 'input_layernorm'],
  ['attn_q', 'self_attn.q_proj'],
  ['attn_k', 'self_attn.k_proj'],
  ['attn_v', 'self_attn.v_proj'],
  ['attn_output', 'self_attn.o_proj'],
  ['attn_q_norm', 'self_attn.q_norm'], // Qwen3 / OLMo2-style q/k norms
  ['attn_k_norm', 'self_attn.k_norm'],
  ['ffn_norm', 'post_attention_layernorm'],
  ['ffn_gate', 'mlp.gate_proj'],
  ['ffn_down', 'mlp.down_proj'],
  ['ffn_up', 'mlp.up_proj'],
];
const GLOBAL: readonly [string, string][] = [
  ['token_embd.weight', 'model.embed_tokens.weight'],
  ['output_norm.weight', 'model.norm.weight'],
  ['output.weight', 'lm_head.weight'],
];
const LAYER_G2H = new Map(LAYER);
const LAYER_H2G = new Map(LAYER.map(([g, h]) => [h, g]));
const GLOBAL_G2H = new Map(GLOBAL);
const GLOBAL_H2G = new Map(GLOBAL.map(([g, h]) => [h, g]));

/** GGUF name -> HF name, or undefined for tensors without an HF counterpart (e.g. rope_freqs.weight). */
export function ggufToHfName(name: string): string | undefined {
  const g = GLOBAL_G2H.get(name);
  if (g) return g;
  const m = /^blk\.(\d+)\.(\w+)\.(weight|bias)$/.exec(name);
  const h = m && LAYER_G2H.get(m[2]);
  return h ? `model.layers.${m[1]}.${h}.${m[3]}` : undefined;
}

/** HF name -> GGUF name, or undefined when unmapped (e.g. rotary_emb.inv_freq). */
export function hfToGgufName(name: string): string | undefined {
  const g = GLOBAL_H2G.get(name);
  if (g) return g;
  const m = /^model\.layers\.(\d+)\.([\w.]+)\.(weight|bias)$/.exec(name);
  const h = m && LAYER_H2G.get(m[2]);
  return h ? `blk.${m[1]}.${h}.${m[3]}` : undefined;
}

/**
 * A checkpoint's tensors re-keyed by HF name (unmapped GGUF tensors are left out; non-GGUF checkpoints,
 * already HF-named, are returned as is). Entries keep their GGUF `name`, so errors point at the file's name.
 */
export function tensorsByHfName(ck: Checkpoint): Map<string, TensorEntry> {
  if (ck.format !== 'gguf') return ck.tensors;
  const out = new Map<string, TensorEntry>();
  for (const [name, e] of ck.tensors) {
    const hf = ggufToHfName(name);
    if (hf) out.set(hf, e);
  }
  return out;
}

/**
 * Permutes the rows of a [rows, cols] row-major q_proj/k_proj weight (or bias: cols = 1) between RoPE layouts.
 * nHeads is the number of heads the rows hold (n_kv_heads for k_proj). convert_hf_to_gguf.py's
 *   w.reshape(nHeads, 2, hd/2, cols).swapaxes(1, 2).reshape(rows, cols)
 * is toInterleaved = true: GGUF row h*hd + 2i + s  <-  HF row h*hd + s*hd/2 + i   (s in {0,1}, i < hd/2).
 * toInterleaved = false is its inverse (what HF's convert_llama_weights_to_hf.py applies to Meta weights).
 */
export function permuteQK(w: Float32Array, rows: number, cols: number, nHeads: number, toInterleaved: boolean): Float32Array {
  if (w.length !== rows * cols) throw new RangeError(`permuteQK: ${w.length} values for [${rows}, ${cols}]`);
  if (nHeads <= 0 || rows % nHeads !== 0 || (rows / nHeads) % 2 !== 0) {
    throw new RangeError(`permuteQK: ${rows} rows do not split into ${nHeads} heads of even size`);
  }
  const hd = rows / nHeads;
  const half = hd / 2;
  const out = new Float32Array(w.length);
  for (let h = 0; h < nHeads; h++) {
    for (let s = 0; s < 2; s++) {
      for (let i = 0; i < half; i++) {
        const rotateHalfRow = h * hd + s * half + i;
        const interleavedRow = h * hd + 2 * i + s;
        const [src, dst] = toInterleaved ? [rotateHalfRow, interleavedRow] : [interleavedRow, rotateHalfRow];
        out.set(w.subarray(src * cols, (src + 1) * cols), dst * cols);
      }
    }
  }
  return out;
}
