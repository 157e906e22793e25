// A decode token (one id, a KV cache, no adapter or a LoRA one) as one native call (native/decode.cc) instead of
// ~20 ops a layer: no per-op tensors, N-API calls or JS between the kernels. The kernels and their order are the
// op-by-op path's, so without an adapter the logits are bitwise LlamaModel.forward's, and with LoRA equal to float
// rounding (test/model/native-decode.test.ts); LIFT's Gated Memory too, bitwise; weights marked for the bf16 units
// take their product as quantLinear does. What cannot take it keeps the op-by-op path: a tape recording a
// gradient, other adapter hooks, hooks.
import { Tensor, native, ggmlOf, computesInBf16, matvecEnabled, needsGrad } from '../engine/index.js';
import type { LowRankTerm, MemorySpec, ProjName } from './llama.js';
import type { LlamaConfig } from './config.js';
import type { KVCache } from './kv-cache.js';
import { DecodeThreads } from './decode-threads.js';

let on = true;

/** Turns the whole-token native decode off (every token op by op) or back on; returns the previous setting. */
export function useNativeDecode(enabled: boolean): boolean {
  const was = on;
  on = enabled;
  return was;
}

/** The arguments native/decode.cc takes for a model, built once (typed views of the weights). */
export interface DecodePlan {
  readonly tensors: Tensor[];
  readonly weights: (Float32Array | Uint8Array | null)[];
  readonly types: Int32Array;
  readonly dims: Float64Array;
  /** This model's choice of threads a token, by measured token time (decode-threads.ts). */
  readonly threads: DecodeThreads;
}

const LAYER_TENSORS = [
  'input_layernorm.weight', 'post_attention_layernorm.weight',
  'self_attn.q_proj.weight', 'self_attn.k_proj.weight', 'self_attn.v_proj.weight', 'self_attn.o_proj.weight',
  'self_attn.q_proj.bias', 'self_attn.k_proj.bias', 'self_attn.v_proj.bias', 'self_attn.o_proj.bias',
  'mlp.gate_proj.weight', 'mlp.up_proj.weight', 'mlp.down_proj.weight',
] as const;

const BF16_UNITS = 130;

/** The arguments for these weights (every storage decode meets: f32, f16, bf16, bf16 on the units, ggml blocks). */
export function decodePlan(c: LlamaConfig, weights: Map<string, Tensor>, interleaved: boolean): DecodePlan {
  const names = ['model.embed_tokens.weight', 'model.norm.weight', c.tie_word_embeddings ? 'model.embed_tokens.weight' : 'lm_head.weight'];
  for (let l = 0; l < c.num_hidden_layers; l++) for (const n of LAYER_TENSORS) names.push(`model.layers.${l}.${n}`);
  const list = names.map((n) => weights.get(n) ?? null);
  const tensors = list.filter((t): t is Tensor => t !== null);
  return {
    tensors,
    weights: list.map((t) => (t === null ? null : t.dtype === 'f32' ? t.f32() : t.bytes())),
    // A weight the loader marked for the bf16 units takes their product (bf16Matmul's) there too: type 130.
    types: Int32Array.from(list, (t) => (t === null ? -1 : computesInBf16(t) ? BF16_UNITS : ggmlOf(t.dtype).id)),
    dims: Float64Array.of(c.hidden_size, c.num_attention_heads, c.num_key_value_heads, c.head_dim, c.intermediate_size,
      c.vocab_size, c.num_hidden_layers, c.rms_norm_eps, interleaved ? 1 : 0),
    threads: new DecodeThreads(),
  };
}

/** Whether a one-token forward may take the plan now (the switches on, nothing to record for a gradient). */
export function decodeUsable(plan: DecodePlan, terms: readonly LowRankTerm[] = [], memory: MemorySpec | null = null): boolean {
  return on && matvecEnabled() && !needsGrad(...plan.tensors) && !terms.some((t) => needsGrad(t.A, t.B) || t.A.dtype !== 'f32' || t.B.dtype !== 'f32') &&
    (memory === null || !memory.maps.some((t) => t !== null && (needsGrad(t) || t.dtype !== 'f32')));
}

const PROJ: Record<ProjName, number> = { q_proj: 0, k_proj: 1, v_proj: 2, o_proj: 3, gate_proj: 4, up_proj: 5, down_proj: 6, lm_head: 7 };

/** Logits [1, V] of `token` at the cache's next position; its K/V rows are written (the caller advances the cache). */
export function decodeStep(plan: DecodePlan, invFreq: Float32Array, cache: KVCache, token: number, terms: readonly LowRankTerm[] = [], memory: MemorySpec | null = null): Tensor {
  const logits = Tensor.empty([1, plan.dims[5]]);
  const lora = terms.length === 0 ? null : terms.flatMap((t) => [t.A.f32(), t.B.f32()]);
  const meta = terms.length === 0 ? null : Float64Array.from(terms.flatMap((t) => [t.layer, PROJ[t.name], t.A.shape[0], t.scale]));
  const gates = memory ? new Float32Array(plan.dims[6] * plan.dims[1]) : null;
  const cap = plan.threads.pick(native.getThreads());
  const t0 = performance.now();
  native.decodeStep(plan.weights, plan.types, plan.dims, invFreq, cache.keys.map((t) => t.f32()), cache.values.map((t) => t.f32()), token, cache.length, logits.f32(), lora, meta,
    memory ? memory.maps.map((t) => t?.f32() ?? null) : null,
    memory ? Float64Array.of(memory.layerWide ? 1 : 0, memory.K, memory.G, memory.gateScale, memory.gateShift) : null, gates, cap);
  plan.threads.record(cap, performance.now() - t0);
  if (memory) memory.recordGates(gates!);
  return logits;
}
