// The Llama-family decoder (Llama 2/3, TinyLlama, SmolLM/SmolLM2, Mistral, Qwen2): one loop over layers,
// one op per line, weights under their Hugging Face names. Adapters hook in without touching the base:
// `project` sees every linear layer's input and base output (LoRA adds B·A·x), `attnOut` sees the
// pre-RoPE query and the attention output of each layer (Gated Memory mixes in its memory there).
//
// Legend: T tokens in this call, P tokens already in the KV cache, C hidden, NH/KVH heads, D head dim,
// I intermediate, V vocabulary.
import { Tensor, linear, embedding, rmsnorm, rope, attention, add, swiglu, gatherRows, computesInBf16, BF16_ATTENTION_ROWS, type RopeLayout } from '../engine/index.js';
import type { LlamaConfig } from './config.js';
import { ropeInvFreq } from './rope.js';
import type { KVCache } from './kv-cache.js';
import { decodePlan, decodeStep, decodeUsable, type DecodePlan } from './native-decode.js';

export type ProjName = 'q_proj' | 'k_proj' | 'v_proj' | 'o_proj' | 'gate_proj' | 'up_proj' | 'down_proj' | 'lm_head';

/** A LoRA delta scale·B·(A·x) on one projection: A [r, in], B [out, r]; layer −1 for lm_head. */
export interface LowRankTerm {
  layer: number;
  name: ProjName;
  A: Tensor;
  B: Tensor;
  scale: number;
}

/** LIFT's Gated Memory as data, for the native decode token (native/decode.cc documents the layout). */
export interface MemorySpec {
  /** First maps read the whole layer's query (true) or each head's (false, the paper). */
  layerWide: boolean;
  /** Memory width K and gate width G. */
  K: number;
  G: number;
  gateScale: number;
  gateShift: number;
  /** Per layer: mem_in, mem_out, gate_in, gate_out, each weight then bias (null when absent). */
  maps: (Tensor | null)[];
  /** Receives the decode token's gates [layers · heads]. */
  recordGates(gates: Float32Array): void;
}

export interface AdapterHooks {
  /** When all `project` does is add these terms (LoRA): a decode token then runs as one native call (native-decode.ts). */
  lowRank?(): LowRankTerm[];
  /** When `attnOut` is LIFT's Gated Memory: its maps, so a decode token runs as one native call too. */
  memory?(): MemorySpec;
  /**
   * Called after each linear layer with its input x and base output y; returns the layer's output. y is that
   * layer's fresh output and read by no one else: project may overwrite it (LoRA writes its sum over y).
   */
  project?(layer: number, name: ProjName, x: Tensor, y: Tensor): Tensor;
  /** Called with the pre-RoPE query q[T, NH·D] and the attention output a[T, NH·D] before o_proj. */
  attnOut?(layer: number, q: Tensor, a: Tensor): Tensor;
  /**
   * A router (src/adapters/route.ts): the adapter to apply for a prompt whose tokens from `from` on are the
   * request's own. forward() refuses a router; generateText resolves it once per generation.
   */
  forPrompt?(ids: readonly number[], from?: number): AdapterHooks | null;
}

export interface ForwardOptions {
  cache?: KVCache;
  adapter?: AdapterHooks | null;
  /** Compute logits for the last position only (generation). */
  lastOnly?: boolean;
  /** Return the final hidden states instead of logits. */
  hiddenOnly?: boolean;
  /** Sees every named intermediate (for comparisons against other implementations). */
  hook?: (name: string, t: Tensor) => void;
  /**
   * Packed samples (batched training): ids holds S samples back to back, sample s at rows offsets[s] …
   * offsets[s+1]−1 (offsets [S+1], 0 … T); each attends to itself only, RoPE positions restart at 0. No cache.
   */
  offsets?: Int32Array;
  /** With offsets: the first sample is a prefix every later sample continues (AttentionOptions.prefix). */
  prefix?: number;
  /** Logits [R, V] of these rows only (training: the rows that carry a loss; the others skip norm and lm_head). */
  rows?: Int32Array;
}

interface Layer {
  input_layernorm: Tensor;
  post_attention_layernorm: Tensor;
  q: Tensor; k: Tensor; v: Tensor; o: Tensor;
  qb: Tensor | null; kb: Tensor | null; vb: Tensor | null; ob: Tensor | null;
  gate: Tensor; up: Tensor; down: Tensor;
}

export class LlamaModel {
  readonly invFreq: Float32Array;
  readonly #layers: Layer[];
  readonly #embed: Tensor;
  readonly #norm: Tensor;
  readonly #head: Tensor;
  #plan: DecodePlan | undefined; // native/decode.cc's arguments, built on the first decode token

  /**
   * @param weights tensors under Hugging Face names (model.embed_tokens.weight, model.layers.N.…, lm_head.weight)
   * @param ropeLayout 'half' for Hugging Face checkpoints; 'interleaved' for GGUF and llama2.c, whose q/k rows are permuted
   */
  constructor(readonly config: LlamaConfig, readonly weights: Map<string, Tensor>, readonly ropeLayout: RopeLayout, readonly id = 'model') {
    const w = (n: string): Tensor => {
      const t = weights.get(n);
      if (!t) throw new Error(`${id}: missing tensor ${n}`);
      return t;
    };
    const opt = (n: string): Tensor | null => weights.get(n) ?? null;
    this.invFreq = ropeInvFreq(config);
    this.#embed = w('model.embed_tokens.weight');
    this.#norm = w('model.norm.weight');
    this.#head = config.tie_word_embeddings ? this.#embed : w('lm_head.weight');
    this.#layers = Array.from({ length: config.num_hidden_layers }, (_, i) => {
      const p = `model.layers.${i}.`;
      return {
        input_layernorm: w(p + 'input_layernorm.weight'),
        post_attention_layernorm: w(p + 'post_attention_layernorm.weight'),
        q: w(p + 'self_attn.q_proj.weight'), k: w(p + 'self_attn.k_proj.weight'),
        v: w(p + 'self_attn.v_proj.weight'), o: w(p + 'self_attn.o_proj.weight'),
        qb: opt(p + 'self_attn.q_proj.bias'), kb: opt(p + 'self_attn.k_proj.bias'),
        vb: opt(p + 'self_attn.v_proj.bias'), ob: opt(p + 'self_attn.o_proj.bias'),
        gate: w(p + 'mlp.gate_proj.weight'), up: w(p + 'mlp.up_proj.weight'), down: w(p + 'mlp.down_proj.weight'),
      };
    });
  }

  /** Logits [T, V] (or [1, V] with lastOnly) for token ids continuing the cache, if any. */
  forward(ids: Int32Array, o: ForwardOptions = {}): Tensor {
    const c = this.config, ad = o.adapter ?? null, hook = o.hook;
    const NH = c.num_attention_heads, KVH = c.num_key_value_heads, D = c.head_dim;
    const P = o.cache?.length ?? 0;
    if (this.#embed.disposed) throw new Error(`forward: model ${this.id} was used after dispose()`);
    if (ad?.forPrompt) throw new Error('forward: a router holds several adapters; choose one for the prompt first (AdapterHooks.forPrompt: generateText and ask do)');
    if (o.cache && o.offsets) throw new Error('forward: packed samples (offsets) are for training and take no KV cache');
    if (o.cache && P + ids.length > o.cache.capacity)
      throw new Error(`forward: ${P} cached + ${ids.length} new tokens exceed the KV cache capacity ${o.cache.capacity}`);
    // A decode token with no adapter or a LoRA one and nothing else to hook: one native call for the whole decoder
    // (native-decode.ts).
    if (o.cache && ids.length === 1 && (!ad?.attnOut || ad.memory) && (!ad?.project || ad.lowRank) && !hook && !o.hiddenOnly && !o.rows) {
      const plan = (this.#plan ??= decodePlan(c, this.weights, this.ropeLayout === 'interleaved'));
      const terms = ad?.lowRank?.() ?? [], memory = ad?.attnOut ? ad.memory!() : null;
      if (decodeUsable(plan, terms, memory)) {
        const logits = decodeStep(plan, this.invFreq, o.cache, ids[0], terms, memory);
        o.cache.advance(1);
        return logits;
      }
    }
    const proj = (l: number, name: ProjName, x: Tensor, w: Tensor, b: Tensor | null): Tensor => {
      const y = linear(x, w, b);
      return ad?.project ? ad.project(l, name, x, y) : y;
    };
    let x = embedding(this.#embed, ids); // [T, C]
    hook?.('embed', x);
    this.#layers.forEach((L, l) => {
      const h = rmsnorm(x, L.input_layernorm, c.rms_norm_eps);
      const q = proj(l, 'q_proj', h, L.q, L.qb); // [T, NH·D], pre-RoPE
      const k = proj(l, 'k_proj', h, L.k, L.kb); // [T, KVH·D]
      const v = proj(l, 'v_proj', h, L.v, L.vb);
      const qr = rope(q, NH, P, this.invFreq, this.ropeLayout, o.offsets, o.prefix);
      const kr = rope(k, KVH, P, this.invFreq, this.ropeLayout, o.offsets, o.prefix);
      const [keys, values] = o.cache ? o.cache.append(l, kr, v) : [kr, v]; // [P+T, KVH·D]
      // compute bf16: attention's products on the bf16 units too, for blocks of queries (not one decode row).
      const bf16 = qr.shape[0] >= BF16_ATTENTION_ROWS && computesInBf16(L.q);
      let a = attention(qr, keys, values, { heads: NH, kvHeads: KVH, start: P, offsets: o.offsets, prefix: o.prefix, bf16 }); // [T, NH·D]
      if (ad?.attnOut) a = ad.attnOut(l, q, a);
      x = add(x, proj(l, 'o_proj', a, L.o, L.ob));
      hook?.(`layers.${l}.attn_residual`, x);
      const h2 = rmsnorm(x, L.post_attention_layernorm, c.rms_norm_eps);
      const m = swiglu(proj(l, 'gate_proj', h2, L.gate, null), proj(l, 'up_proj', h2, L.up, null)); // [T, I]
      x = add(x, proj(l, 'down_proj', m, L.down, null));
      hook?.(`layers.${l}.out`, x);
    });
    o.cache?.advance(ids.length);
    if (o.lastOnly && ids.length > 1) x = lastRow(x);
    else if (o.rows) x = gatherRows(x, o.rows);
    x = rmsnorm(x, this.#norm, c.rms_norm_eps);
    hook?.('norm', x);
    if (o.hiddenOnly) return x;
    return proj(-1, 'lm_head', x, this.#head, null); // [T, V]
  }

  /** Every base tensor (for freezing checks and memory accounting). */
  parameters(): Tensor[] {
    return [...this.weights.values()];
  }

  dispose(): void {
    for (const t of this.weights.values()) t.dispose();
    this.#plan = undefined;  // (it holds the weights' buffers)
  }
}

/** The last row of x[T, C] as a new [1, C] tensor (generation needs only the last position's logits). */
function lastRow(x: Tensor): Tensor {
  const [T, C] = x.shape;
  const out = Tensor.empty([1, C]);
  out.f32().set(x.f32().subarray((T - 1) * C, T * C));
  if (x.requiresGrad) throw new Error('lastOnly is for inference; it does not propagate gradients');
  return out;
}
