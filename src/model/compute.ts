// The loader's half of `compute`: decides fp32 or bf16 for a loaded model and, for bf16, converts its frozen
// matrices (embedding, projections, lm_head) to bf16 storage marked for the bf16 kernels (engine/compute.ts).
// Vectors (norm weights, biases) stay f32. A bf16 checkpoint's weights are used as stored (mapped, no copy);
// f32 and f16 ones are rounded to nearest even (f32 → bf16 keeps 8 significant bits: relative error ≤ 2⁻⁹).
import { ComputeError, computeInBf16, cpuFeatures, untracked, type Compute, type ComputeMode, type Tensor } from '../engine/index.js';
import { LlamaModel } from './llama.js';

export interface ComputeChoice {
  compute: Compute;
  /** One line for the user when `auto` fell back to fp32 (why), else null. */
  note: string | null;
}

const BF16_SOURCES = new Set(['f32', 'f16', 'bf16']);

/**
 * `auto` picks bf16 only for models at least this wide (hidden_size). The bf16 kernels' gain is in products of
 * hundreds of columns: at 576 (SmolLM2-135M) a training step is 1.3–2× faster and absorb 1.5× (docs/speed.md);
 * at 64 (stories260K) the recall suite's 2k run took 367 s in bf16 against ~360 s in fp32 — nothing gained,
 * 8 bits of precision lost. Explicit `bf16` runs at any width.
 */
export const BF16_MIN_HIDDEN = 512;

/**
 * fp32 or bf16 for these weights on this CPU (and, for `auto`, this model width); throws ComputeError for an
 * explicit bf16 that cannot run.
 */
export function chooseCompute(mode: ComputeMode, weights: Map<string, Tensor>, source: string, hiddenSize?: number): ComputeChoice {
  if (mode !== 'fp32' && mode !== 'bf16' && mode !== 'auto') throw new ComputeError(`compute: expected fp32, bf16 or auto, got ${JSON.stringify(mode)}`);
  if (mode === 'fp32') return { compute: 'fp32', note: null };
  // A narrow model is fp32 under auto on every CPU: that is auto's choice, not a fallback, so no note.
  if (mode === 'auto' && hiddenSize !== undefined && hiddenSize < BF16_MIN_HIDDEN) return { compute: 'fp32', note: null };
  const quantized = [...weights.values()].find((t) => t.shape.length === 2 && !BF16_SOURCES.has(t.dtype));
  let why: string | null = null;
  if (!cpuFeatures().bf16) why = 'this CPU has no AVX-512 BF16 units (avx512_bf16 in /proc/cpuinfo)';
  else if (quantized) why = `${source} holds ${quantized.dtype} weights (${quantized.name}); bf16 compute takes f32, f16 or bf16 weights, quantized ones keep their own kernels`;
  if (why === null) return { compute: 'bf16', note: null };
  if (mode === 'bf16') throw new ComputeError(`--compute bf16: ${why}; use --compute fp32 or auto`);
  return { compute: 'fp32', note: `compute: fp32 (${why})` };
}

/**
 * The model with every 2-D weight in bf16 and marked for the bf16 kernels (a new LlamaModel over the same config;
 * the replaced f32/f16 tensors are disposed). The weights must be frozen.
 */
export function withBf16Weights(model: LlamaModel): LlamaModel {
  const weights = new Map<string, Tensor>();
  untracked(() => {
    for (const [name, t] of model.weights) {
      if (t.shape.length !== 2 || t.dtype === 'bf16') {
        weights.set(name, t);
        if (t.shape.length === 2) computeInBf16(t);
        continue;
      }
      let b: Tensor;
      if (t.dtype === 'f32') b = t.to16('bf16');
      else {
        const f = t.toF32();
        b = f.to16('bf16');
        f.dispose();
      }
      t.dispose();
      computeInBf16(b);
      weights.set(name, b);
    }
  });
  return new LlamaModel(model.config, weights, model.ropeLayout, model.id);
}
