// LoRA (Hu et al. 2021) as PEFT defines it: y = W·x + (α / r)·B·(A·x), A [r, in] kaiming-uniform,
// B [out, r] zero, so step 0 equals the base model exactly. The base weights are never touched; merge()
// returns merged copies instead. Tensor names are PEFT's, so adapter_model.safetensors loads in Python.
import { Tensor, loraUpdate, untracked, native, valuesF32 } from '../engine/index.js';
import type { AdapterHooks, LlamaModel, LowRankTerm, ProjName } from '../model/llama.js';
import { kaimingBound, seededRandom, uniformParam, zeroParam } from './init.js';

export const ALL_LINEAR: ProjName[] = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

export interface LoraConfig {
  r: number;
  lora_alpha: number;
  /** Module names as PEFT's target_modules (q_proj, …, lm_head). */
  target_modules: ProjName[];
  seed?: number;
}

/** The Hugging Face module path of a projection: model.layers.3.self_attn.q_proj, lm_head. */
export function modulePath(layer: number, name: ProjName): string {
  if (name === 'lm_head') return 'lm_head';
  const block = name.endsWith('proj') && ['gate_proj', 'up_proj', 'down_proj'].includes(name) ? 'mlp' : 'self_attn';
  return `model.layers.${layer}.${block}.${name}`;
}

/** modulePath's inverse: model.layers.3.self_attn.q_proj → [3, 'q_proj'], lm_head → [−1, 'lm_head']. */
export function moduleOf(path: string): [number, ProjName] {
  const m = /^model\.layers\.(\d+)\.(?:self_attn|mlp)\.(\w+_proj)$/.exec(path);
  if (m) return [Number(m[1]), m[2] as ProjName];
  if (path === 'lm_head') return [-1, 'lm_head'];
  throw new Error(`LoRA: ${path} is not a module path (model.layers.N.self_attn|mlp.NAME_proj or lm_head)`);
}

export class LoraAdapter implements AdapterHooks {
  readonly kind = 'lora';
  /** module path → [A [r, in], B [out, r]] */
  readonly modules = new Map<string, [Tensor, Tensor]>();
  readonly scaling: number;
  #targets: Set<ProjName>;

  constructor(model: LlamaModel, readonly config: LoraConfig) {
    if (!Number.isInteger(config.r) || config.r <= 0) throw new Error(`LoRA: r must be a positive integer, got ${config.r}`);
    this.scaling = config.lora_alpha / config.r;
    this.#targets = new Set(config.target_modules);
    const rand = seededRandom(config.seed ?? 0);
    const c = model.config;
    const dims: Record<ProjName, [number, number]> = {
      q_proj: [c.hidden_size, c.num_attention_heads * c.head_dim],
      k_proj: [c.hidden_size, c.num_key_value_heads * c.head_dim],
      v_proj: [c.hidden_size, c.num_key_value_heads * c.head_dim],
      o_proj: [c.num_attention_heads * c.head_dim, c.hidden_size],
      gate_proj: [c.hidden_size, c.intermediate_size],
      up_proj: [c.hidden_size, c.intermediate_size],
      down_proj: [c.intermediate_size, c.hidden_size],
      lm_head: [c.hidden_size, c.vocab_size],
    };
    for (const name of config.target_modules) {
      if (!(name in dims)) throw new Error(`LoRA: unknown target module "${name}"; expected one of ${Object.keys(dims).join(', ')}`);
      const layers = name === 'lm_head' ? [-1] : [...Array(c.num_hidden_layers).keys()];
      for (const l of layers) {
        const [inF, outF] = dims[name], p = modulePath(l, name);
        this.modules.set(p, [uniformParam([config.r, inF], kaimingBound(inF), rand, `${p}.lora_A.weight`), zeroParam([outF, config.r], `${p}.lora_B.weight`)]);
      }
    }
  }

  project(layer: number, name: ProjName, x: Tensor, y: Tensor): Tensor {
    if (!this.#targets.has(name)) return y;
    const [A, B] = this.modules.get(modulePath(layer, name))!;
    // y + (α/r)·(x·Aᵀ)·Bᵀ as one op (engine/ops/lora.ts), written over y (project's contract: y is not read again).
    return loraUpdate(x, y, A, B, this.scaling, { consumeY: true });
  }

  /** Every adapted module as a term scale·B·(A·x) (what project adds; native decode applies them itself). */
  lowRank(): LowRankTerm[] {
    return [...this.modules].map(([path, [A, B]]) => {
      const [layer, name] = moduleOf(path);
      return { layer, name, A, B, scale: this.scaling };
    });
  }

  parameters(): Tensor[] {
    return [...this.modules.values()].flat();
  }

  /** Trainable parameters: r·(in + out) per adapted module. */
  parameterCount(): number {
    return this.parameters().reduce((s, t) => s + t.size, 0);
  }

  /** W + (α/r)·B·A for one module, as a new tensor (the base weight is left as it is). */
  mergedWeight(path: string, base: Tensor): Tensor {
    const m = this.modules.get(path);
    if (!m) throw new Error(`LoRA: no adapter on ${path}`);
    const [A, B] = m;
    const [out, inF] = base.shape;
    return untracked(() => {
      const w = Tensor.empty([out, inF], { name: base.name });
      w.f32().set(valuesF32(base)); // a 16-bit/quantized base merges from its dequantized values
      native.gemm(false, false, out, inF, this.config.r, this.scaling, B.f32(), 0, this.config.r, A.f32(), 0, inF, 1, w.f32(), 0, inF);
      return w;
    });
  }

  /** A weights map where every adapted weight is merged (shared tensors for the rest): a plain model again. */
  merge(model: LlamaModel): Map<string, Tensor> {
    const out = new Map(model.weights);
    for (const path of this.modules.keys()) {
      const key = path === 'lm_head' && model.config.tie_word_embeddings ? 'model.embed_tokens.weight' : `${path}.weight`;
      const merged = this.mergedWeight(path, model.weights.get(key)!);
      out.set(path === 'lm_head' ? 'lm_head.weight' : key, merged);
    }
    return out;
  }

  dispose(): void {
    for (const t of this.parameters()) t.dispose();
  }
}
