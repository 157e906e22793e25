// `lift convert --to gguf --type …`: which ggml type each tensor gets, as llama.cpp's llama_model_quantize
// chooses it (llama-quant.cpp, llama_tensor_get_type) for the presets people download, and the encoding.
//   f32 | f16 | bf16 | q8_0 | q6_k: every matrix in that type; vectors (norms, biases) stay F32.
//   q4_k_m / q5_k_m: Q4_K / Q5_K, except Q6_K for output.weight (token_embd.weight when the output is tied)
//     and for attn_v / ffn_down in the layers use_more_bits picks (the first and last eighth of the layers
//     and every third one between).
//   q4_0 | q4_1 | q5_0 | q5_1 | q2_k | q3_k: that type for every matrix but the output (Q6_K, as llama.cpp).
//     Simpler than llama.cpp's Q2_K / Q3_K_S presets, which mix in Q3_K/Q4_K tensors: these two are for
//     testing and experiments (general.file_type says MOSTLY_Q2_K / MOSTLY_Q3_K_S).
// K-quant super-blocks need rows of whole 256 values; as llama.cpp does, a matrix whose rows are not falls
// back to Q5_0 (for Q4_K), Q5_1 (Q5_K) or Q8_0 (Q6_K), and one whose rows are not whole 32-value blocks to F16.
import { quantize, valuesF32, type DType, type Tensor } from '../engine/index.js';
import type { GGUFTensorInput } from '../io/gguf.js';
import { GGML_TYPES, type GGMLTypeName } from '../io/quant-types.js';

export const GGUF_FILE_TYPES = ['f32', 'f16', 'bf16', 'q8_0', 'q4_k_m', 'q5_k_m', 'q6_k', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'q2_k', 'q3_k'] as const;
export type GGUFFileType = (typeof GGUF_FILE_TYPES)[number];

/** llama_ftype values for general.file_type. */
export const LLAMA_FTYPE: Record<GGUFFileType, number> = {
  f32: 0, f16: 1, q4_0: 2, q4_1: 3, q8_0: 7, q5_0: 8, q5_1: 9, q2_k: 10, q3_k: 11, q4_k_m: 15, q5_k_m: 17, q6_k: 18, bf16: 32,
};

const BASE: Record<GGUFFileType, GGMLTypeName> = {
  f32: 'F32', f16: 'F16', bf16: 'BF16', q8_0: 'Q8_0', q4_k_m: 'Q4_K', q5_k_m: 'Q5_K', q6_k: 'Q6_K',
  q4_0: 'Q4_0', q4_1: 'Q4_1', q5_0: 'Q5_0', q5_1: 'Q5_1', q2_k: 'Q2_K', q3_k: 'Q3_K',
};
/** The 16/32-bit file types: no output promotion, and no general.quantization_version. */
export const isQuantizedFileType = (ft: GGUFFileType): boolean => ft !== 'f32' && ft !== 'f16' && ft !== 'bf16';
const FALLBACK: Partial<Record<GGMLTypeName, GGMLTypeName>> = { Q4_K: 'Q5_0', Q5_K: 'Q5_1', Q6_K: 'Q8_0', Q2_K: 'Q4_0', Q3_K: 'Q4_0' };

/** llama.cpp's use_more_bits: layers that get Q6_K attn_v / ffn_down in the _M presets. */
export function useMoreBits(layer: number, layers: number): boolean {
  const e = Math.trunc(layers / 8);
  return layer < e || layer >= Math.trunc((7 * layers) / 8) || (layer - e) % 3 === 2;
}

/**
 * The ggml type of GGUF tensor `name` (shape outermost first) in a file of type `ft`.
 * `layers` is the block count; `tiedOutput` when the model has no output.weight.
 */
export function tensorType(ft: GGUFFileType, name: string, shape: readonly number[], layers: number, tiedOutput: boolean): GGMLTypeName {
  if (shape.length < 2) return 'F32';
  let t = BASE[ft];
  if (isQuantizedFileType(ft) && ft !== 'q8_0') {
    const layer = Number(/^blk\.(\d+)\./.exec(name)?.[1] ?? -1);
    if (name === 'output.weight' || (tiedOutput && name === 'token_embd.weight')) t = 'Q6_K';
    else if ((ft === 'q4_k_m' || ft === 'q5_k_m') && /\.(attn_v|ffn_down)\.weight$/.test(name) && useMoreBits(layer, layers)) t = 'Q6_K';
  }
  const cols = shape[shape.length - 1];
  if (cols % GGML_TYPES[t].block !== 0) t = FALLBACK[t] ?? t;
  if (cols % GGML_TYPES[t].block !== 0) t = 'F16';
  return t;
}

/** A tensor for writeGGUF in type `t` from f32 values (quantized with ggml's reference formulas). */
export function encodeTensor(name: string, data: Float32Array, shape: number[], t: GGMLTypeName): GGUFTensorInput {
  if (t === 'F32' || t === 'F16') return { name, dtype: t, shape, data };
  const q = quantize(data, shape, t.toLowerCase() as DType, name);
  try {
    return { name, dtype: t, shape, data: q.bytes().slice() };
  } finally {
    q.dispose();
  }
}

/** f32 values of a weight whatever its storage (a quantized source is dequantized, then requantized). */
export function weightValues(t: Tensor): Float32Array {
  return valuesF32(t);
}
