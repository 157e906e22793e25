// Gated Memory, the LIFT paper's adapter (docs/method.md §4). In every attention layer and for every query head h,
// on the PRE-RoPE query q = (W_q·x)_h ∈ R^D:
//
//   m(q) = W2_h · SiLU(W1_h · q)                    memory MLP   D → k·D → D      (paper: k = 2)
//   g(q) = σ(3 · (V_h · SiLU(U_h · q) − 1))          gate         D → G → 1        (G = ⌊√D⌋)
//   o    = (1 − g(q)) · Attn(q_rope, K, V) + g(q) · m(q)           then the model's own o_proj
//
// Why: attention over [long input X; context C] splits exactly into λ(q)·Attn(q, X) + (1 − λ(q))·Attn(q, C).
// X is gone at answer time, so m learns Attn(q, X) and g learns λ(q). K/V, masks, RoPE and the KV cache are
// untouched; the adapter is an `attnOut` hook and adds O(1) work per token. A rank-2 LoRA (α = 4) on the
// output head is trained with it (§4). The base model is never modified.
//
// Legend: T tokens, H query heads, D head dim, K = k·D memory width, G = ⌊√D⌋ gate width, C hidden, V vocab.
// Weights are shaped (H, in, out) and applied with headLinear (y[t,h] = x[t,h]·W[h]); biases [H, out] exist
// only where the model's attention has biases (config.attention_bias, always for Qwen2). The gate's output map
// V gets one too by default (gateOutBias); the authors' code (GraphPKU/LIFT lift/gated_memory/model.py) never
// gives V a bias — a free bias lets the gate open whatever the query — so `gateOutBias: false` is theirs.
//
// Beyond the paper, `memoryInput: 'layer'`: W1 and U read the layer's whole pre-RoPE query q ∈ R^{H·D}
// (every head's slice) instead of head h's own D numbers; W2, V, the gate's form and the mix are unchanged.
// Why: the query projection is frozen, and one head's D numbers are what that head attends with, not what
// tells one memorised passage from another. At D = 8 (stories260K) the paper's gate read identical values
// on a question about the document and on unrelated text. q over all heads is W_q·x, the full normed hidden
// state when W_q has full rank, so this memory sees what a LoRA on q_proj would, at K·H·D weights per head.
// Its first maps are then ordinary linear layers: W1 [H·K, H·D], U [H·G, H·D] (HF's (out, in) layout),
// whose outputs are split head-major into the per-head W2 [H, K, D] and V [H, G, 1].
// Measured on stories260K (README: Recall): it fits the document far better than the paper's form (doc NLL
// 0.98 vs 1.46) but recalls none of the 12 facts either; it stays an option, not the default.
import { Tensor, headLinear, linear, silu, sigmoidAffine, gateMix } from '../engine/index.js';
import type { AdapterHooks, LlamaModel, LowRankTerm, MemorySpec, ProjName } from '../model/llama.js';
import type { LlamaConfig } from '../model/config.js';
import { LoraAdapter } from './lora.js';
import { kaimingBound, seededRandom, uniformParam, zeroParam } from './init.js';

/** The gate is σ(GATE_SCALE·s + GATE_SHIFT) = σ(3·(s − 1)) (LIFT §4). */
export const GATE_SCALE = 3;
export const GATE_SHIFT = -3;

/**
 * 'paper': every weight (and bias) U(±1/√(in·out)), PyTorch's kaiming_uniform_(a=√5) on an (H, in, out)
 *   tensor, whose fan_in is in·out (LIFT §4). The gate starts near σ(−3) ≈ 0.047 and m is small but nonzero.
 * 'zero-output': as 'paper' but W2 = 0 (m ≡ 0) and the gate's output weight V = 0, so g ≡ σ(−3) exactly.
 *   NOTE: this is NOT the base model. The paper's mix gives (1 − σ(−3))·Attn ≈ 0.9526·Attn: every layer's
 *   attention output is scaled down by 4.74 %. No finite weights make g = 0 (the gate has no free bias in the
 *   paper's equations, and σ > 0), so an exactly base-preserving start is impossible without changing §4.
 *   What 'zero-output' gives is the closest q-independent start: a known, uniform attention scaling, with
 *   the memory silent, and training starting like LoRA (one factor of each branch is zero).
 */
export type GatedMemoryInit = 'paper' | 'zero-output';

/** What the memory MLP and the gate read: 'head' = head h's pre-RoPE query (the paper), 'layer' = all heads'. */
export type GatedMemoryInput = 'head' | 'layer';

export interface GatedMemoryOptions {
  /** k: the memory MLP's hidden width is k·D (paper: 2). */
  memoryMultiplier?: number;
  init?: GatedMemoryInit;
  /** 'head' (the paper) or 'layer' (beyond the paper; see the header). */
  memoryInput?: GatedMemoryInput;
  /** LoRA on lm_head trained alongside (paper: r = 2, α = 4); null for none. */
  headLora?: { r: number; alpha: number } | null;
  /**
   * Whether the gate's output map V (gate_out, [H, G, 1]) has a bias when the model's attention has biases
   * (default true, as every other map; the authors' code: false). Without attention biases no map has one.
   */
  gateOutBias?: boolean;
  seed?: number;
}

export const GATED_MEMORY_DEFAULTS = { memoryMultiplier: 2, init: 'paper', memoryInput: 'head', headLora: { r: 2, alpha: 4 }, seed: 0 } as const;

/** One per-head linear map: weight [H, in, out], bias [H, out] or null. */
interface HeadLinear { w: Tensor; b: Tensor | null }
interface LayerMemory { memIn: HeadLinear; memOut: HeadLinear; gateIn: HeadLinear; gateOut: HeadLinear }

/** The four maps of one layer with their (in, out) widths; the order fixes the parameter and RNG order. */
const MAPS = ['mem_in', 'mem_out', 'gate_in', 'gate_out'] as const;
type MapName = (typeof MAPS)[number];

export class GatedMemoryAdapter implements AdapterHooks {
  readonly kind = 'gated_memory';
  readonly options: { memoryMultiplier: number; init: GatedMemoryInit; memoryInput: GatedMemoryInput; headLora: { r: number; alpha: number } | null; gateOutBias: boolean; seed: number };
  readonly heads: number;
  readonly headDim: number;
  /** G = ⌊√D⌋, the gate MLP's hidden width. */
  readonly gateHidden: number;
  readonly bias: boolean;
  readonly layers: LayerMemory[];
  /** The output-head LoRA (PEFT naming: lm_head.lora_A.weight / lora_B.weight), if any. */
  readonly head: LoraAdapter | null;
  /** Mean gate per [layer][head] of the last forward; plain numbers, no tensors kept alive. */
  #gates: Float32Array[];

  constructor(model: LlamaModel, opts: GatedMemoryOptions = {}) {
    const c = model.config;
    this.options = {
      memoryMultiplier: opts.memoryMultiplier ?? GATED_MEMORY_DEFAULTS.memoryMultiplier,
      init: opts.init ?? GATED_MEMORY_DEFAULTS.init,
      memoryInput: opts.memoryInput ?? GATED_MEMORY_DEFAULTS.memoryInput,
      headLora: opts.headLora === undefined ? { ...GATED_MEMORY_DEFAULTS.headLora } : opts.headLora,
      gateOutBias: opts.gateOutBias ?? true,
      seed: opts.seed ?? GATED_MEMORY_DEFAULTS.seed,
    };
    const { memoryMultiplier: k, init, memoryInput, headLora, seed } = this.options;
    if (!Number.isInteger(k) || k <= 0) throw new Error(`GatedMemory: memoryMultiplier must be a positive integer, got ${k}`);
    if (init !== 'paper' && init !== 'zero-output') throw new Error(`GatedMemory: init must be 'paper' or 'zero-output', got ${String(init)}`);
    if (memoryInput !== 'head' && memoryInput !== 'layer') throw new Error(`GatedMemory: memoryInput must be 'head' or 'layer', got ${String(memoryInput)}`);
    this.heads = c.num_attention_heads;
    this.headDim = c.head_dim;
    this.gateHidden = Math.floor(Math.sqrt(c.head_dim));
    this.bias = c.attention_bias;
    const H = this.heads, rand = seededRandom(seed);
    const dims = mapDims(this.headDim, k, this.gateHidden, memoryInput === 'layer' ? H : 1);
    this.layers = Array.from({ length: c.num_hidden_layers }, (_, l) => {
      const make = (name: MapName): HeadLinear => {
        const [inF, outF] = dims[name], p = `${gatedMemoryPrefix(l)}.${name}`;
        // 'zero-output' zeroes the two output maps (W2 and V, with their biases): m ≡ 0 and g ≡ σ(−3).
        const zero = init === 'zero-output' && (name === 'mem_out' || name === 'gate_out');
        const mk = (shape: number[], n: string, bound: number): Tensor => (zero ? zeroParam(shape, n) : uniformParam(shape, bound, rand, n));
        // A first map reading the whole layer's query is one (out, in) = [H·out, in] linear: PyTorch's
        // kaiming_uniform_(a=√5) bound 1/√in. Per-head (H, in, out) tensors have fan_in in·out (the paper).
        if (memoryInput === 'layer' && (name === 'mem_in' || name === 'gate_in'))
          return { w: mk([H * outF, inF], `${p}.weight`, kaimingBound(inF)), b: this.bias ? mk([H * outF], `${p}.bias`, kaimingBound(inF)) : null };
        const bound = kaimingBound(inF * outF);
        const biased = this.bias && (name !== 'gate_out' || this.options.gateOutBias);
        return { w: mk([H, inF, outF], `${p}.weight`, bound), b: biased ? mk([H, outF], `${p}.bias`, bound) : null };
      };
      return { memIn: make('mem_in'), memOut: make('mem_out'), gateIn: make('gate_in'), gateOut: make('gate_out') };
    });
    this.head = headLora
      ? new LoraAdapter(model, { r: headLora.r, lora_alpha: headLora.alpha, target_modules: ['lm_head'], seed: seed + 1 })
      : null;
    this.#gates = this.layers.map(() => new Float32Array(H));
  }

  /** LIFT §4's mix, called by the model before o_proj with q[T, H·D] (pre-RoPE) and attn[T, H·D]. */
  attnOut(layer: number, q: Tensor, attn: Tensor): Tensor {
    const L = this.layers[layer], H = this.heads;
    // First maps: per head (the paper) or over the whole query ('layer'); both give [T, H·K] / [T, H·G].
    const first = (f: HeadLinear): Tensor => (this.options.memoryInput === 'layer' ? linear(q, f.w, f.b) : headLinear(q, f.w, H, f.b));
    const m = headLinear(silu(first(L.memIn)), L.memOut.w, H, L.memOut.b); // [T, H·D]
    const s = headLinear(silu(first(L.gateIn)), L.gateOut.w, H, L.gateOut.b); // [T, H]
    const g = sigmoidAffine(s, GATE_SCALE, GATE_SHIFT); // σ(3·(s − 1)), [T, H]
    this.#recordGates(layer, g);
    return gateMix(attn, m, g); // (1 − g)·attn + g·m
  }

  /** The output-head LoRA; every other projection passes through. */
  project(layer: number, name: ProjName, x: Tensor, y: Tensor): Tensor {
    return this.head && name === 'lm_head' ? this.head.project(layer, name, x, y) : y;
  }

  /** The maps as data for the native decode token (native/decode.cc), and where its gates go. */
  memory(): MemorySpec {
    const H = this.heads;
    return {
      layerWide: this.options.memoryInput === 'layer', K: this.options.memoryMultiplier * this.headDim, G: this.gateHidden,
      gateScale: GATE_SCALE, gateShift: GATE_SHIFT,
      maps: this.layers.flatMap((L) => [L.memIn, L.memOut, L.gateIn, L.gateOut].flatMap((m) => [m.w, m.b])),
      recordGates: (g) => this.#gates.forEach((out, l) => out.set(g.subarray(l * H, (l + 1) * H))),
    };
  }

  /** The output-head LoRA as terms (the only projection it changes). */
  lowRank(): LowRankTerm[] {
    return this.head?.lowRank() ?? [];
  }

  /** Mean gate value per layer and head over the tokens of the last forward: [layer][head], copies. */
  lastGates(): Float32Array[] {
    return this.#gates.map((g) => g.slice());
  }

  #recordGates(layer: number, g: Tensor): void {
    const [T, H] = g.shape, d = g.f32(), sums = new Float64Array(H);
    for (let t = 0; t < T; t++) for (let h = 0; h < H; h++) sums[h] += d[t * H + h];
    const out = this.#gates[layer];
    for (let h = 0; h < H; h++) out[h] = T > 0 ? sums[h] / T : NaN;
  }

  /** Trainable tensors: per layer W1, b1?, W2, b2?, U, bU?, V, bV?, then the head LoRA's A, B. */
  parameters(): Tensor[] {
    const out: Tensor[] = [];
    for (const L of this.layers)
      for (const m of [L.memIn, L.memOut, L.gateIn, L.gateOut]) out.push(m.w, ...(m.b ? [m.b] : []));
    if (this.head) out.push(...this.head.parameters());
    return out;
  }

  parameterCount(): number {
    return this.parameters().reduce((s, t) => s + t.size, 0);
  }

  /**
   * Closed form of parameterCount() for a model config:
   *   layers·H·(Q·K + K·D + Q·G + G  [+ K + D + G (+ 1 with gateOutBias) with attention biases])  +  r·(C + V) for the head LoRA,
   * with Q = D (the paper) or H·D ('layer').
   * Llama-3-8B (L 32, H 32, D 128, k 2, G 11, C 4096, V 128256, r 2): 68,561,920 + 264,704 = 68,826,624.
   */
  static countFor(c: LlamaConfig, opts: GatedMemoryOptions = {}): number {
    const k = opts.memoryMultiplier ?? GATED_MEMORY_DEFAULTS.memoryMultiplier;
    const headLora = opts.headLora === undefined ? GATED_MEMORY_DEFAULTS.headLora : opts.headLora;
    const D = c.head_dim, K = k * D, G = Math.floor(Math.sqrt(D));
    const Q = (opts.memoryInput ?? GATED_MEMORY_DEFAULTS.memoryInput) === 'layer' ? c.num_attention_heads * D : D;
    const weights = Q * K + K * D + Q * G + G * 1;
    const biases = c.attention_bias ? K + D + G + ((opts.gateOutBias ?? true) ? 1 : 0) : 0;
    const head = headLora ? headLora.r * (c.hidden_size + c.vocab_size) : 0;
    return c.num_hidden_layers * c.num_attention_heads * (weights + biases) + head;
  }

  dispose(): void {
    for (const t of this.parameters()) t.dispose();
  }
}

/** Tensor-name prefix of one layer's Gated Memory, beside the attention it hooks into. */
export function gatedMemoryPrefix(layer: number): string {
  return `model.layers.${layer}.self_attn.gated_memory`;
}

/**
 * (in, out) of each per-head map: mem_in = W1, mem_out = W2, gate_in = U, gate_out = V. `readHeads` = 1 for
 * the paper (W1 and U read one head's D numbers) or H for 'layer' (they read all H·D).
 */
export function mapDims(D: number, k: number, G: number, readHeads = 1): Record<MapName, [number, number]> {
  return { mem_in: [readHeads * D, k * D], mem_out: [k * D, D], gate_in: [readHeads * D, G], gate_out: [G, 1] };
}
