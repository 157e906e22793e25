// Per-op time split of a training step (`npm run bench -- engine --profile`): every native kernel call is
// timed (wall clock around the call) and filed under a category; what no kernel accounts for is JS-side
// overhead (tape, tensor bookkeeping, argument checks, the loop). Categories:
//   gemm       frozen-weight products (sgemm, or bf16Matmul/bf16MatmulBackward) except the vocabulary projection
//   lm_head    the vocabulary projection's forward and input gradient (a side of V columns/rows)
//   lora       LoRA's rank-r kernels (native/lora.cc), and any product with a side ≤ 64
//   attention  attention forward/backward (its own sgemm calls and softmax inside)
//   loss       softmax cross-entropy / KL over the vocabulary
//   norm_rope  RMSNorm, RoPE, embedding
//   elementwise SwiGLU/SiLU, adds, axpy, scale, bias
//   optimizer  AdamW, grad-norm sums, non-finite checks
//   alloc      native allocation, free and pool trimming
import { native } from '../src/engine/index.js';

type Fn = (...a: unknown[]) => unknown;

export interface Profile {
  /** Seconds per category, summed over calls since start(). */
  readonly seconds: Map<string, number>;
  readonly calls: Map<string, number>;
  /** Seconds per native kernel name. */
  readonly byName: Map<string, number>;
  /** Clears the counters. */
  reset(): void;
  /** Restores the unwrapped kernels. */
  stop(): void;
}

const ELEMENTWISE = new Set(['swigluForward', 'swigluBackward', 'siluForward', 'siluBackward', 'add', 'addScaled', 'axpy', 'scale', 'addBias', 'biasBackward', 'gateMixForward', 'gateMixBackward', 'sigmoidAffineForward', 'sigmoidAffineBackward']);
const NORM = new Set(['rmsnormForward', 'rmsnormBackward', 'rope', 'embeddingForward', 'embeddingBackward', 'qEmbedding']);
const OPTIM = new Set(['adamw', 'sumSquares', 'countNonFinite']);
const ALLOC = new Set(['alloc', 'free', 'trimPool', 'resetPeak']);

/** The category of one call (vocab: the vocabulary size, to tell lm_head from the other products). */
function category(name: string, a: unknown[], vocab: number): string {
  if (name === 'gemm') {
    const [M, N, K] = [a[2], a[3], a[4]] as number[];
    if (Math.min(M, N, K) <= 64) return 'lora';
    return M === vocab || N === vocab || K === vocab ? 'lm_head' : 'gemm';
  }
  if (name === 'bf16Matmul' || name === 'qMatmul' || name === 'matvec') return a[5] === vocab || a[4] === vocab ? 'lm_head' : 'gemm';
  if (name === 'bf16MatmulBackward' || name === 'qMatmulBackward') return a[2] === vocab ? 'lm_head' : 'gemm';
  if (name.startsWith('bf16Matmul')) return (a as number[]).includes(vocab) ? 'lm_head' : 'gemm';
  if (name.startsWith('lora')) return 'lora';
  if (name.startsWith('attention')) return 'attention';
  if (name.startsWith('xent') || name.startsWith('kl')) return 'loss';
  if (ELEMENTWISE.has(name)) return 'elementwise';
  if (NORM.has(name)) return 'norm_rope';
  if (OPTIM.has(name)) return 'optimizer';
  if (ALLOC.has(name)) return 'alloc';
  return 'other';
}

/** Wraps every native kernel with a timer until stop(). */
export function startProfile(vocab: number): Profile {
  const seconds = new Map<string, number>(), calls = new Map<string, number>(), byName = new Map<string, number>();
  const engine = native as unknown as Record<string, Fn>;
  const originals = new Map<string, Fn>();
  const skip = new Set(['setThreads', 'getThreads', 'memoryStats', 'cpuFeatures', 'matvecSimd']);
  for (const name of Object.keys(engine)) {
    const f = engine[name];
    if (typeof f !== 'function' || skip.has(name)) continue;
    originals.set(name, f);
    engine[name] = (...a: unknown[]) => {
      const t0 = performance.now();
      try {
        return f(...a);
      } finally {
        const c = category(name, a, vocab);
        seconds.set(c, (seconds.get(c) ?? 0) + (performance.now() - t0) / 1000);
        calls.set(c, (calls.get(c) ?? 0) + 1);
        byName.set(name, (byName.get(name) ?? 0) + (performance.now() - t0) / 1000);
      }
    };
  }
  return {
    seconds,
    calls,
    byName,
    reset() {
      seconds.clear();
      calls.clear();
      byName.clear();
    },
    stop() {
      for (const [name, f] of originals) engine[name] = f;
    },
  };
}

export const PROFILE_CATEGORIES = ['gemm', 'lm_head', 'lora', 'attention', 'loss', 'norm_rope', 'elementwise', 'optimizer', 'alloc', 'other'] as const;

/** Fractions of `total` seconds per category plus `overhead` (the part no kernel accounts for), for `steps` steps. */
export function profileSplit(p: Profile, total: number, steps: number): Record<string, number> {
  const out: Record<string, number> = {};
  let sum = 0;
  for (const c of PROFILE_CATEGORIES) {
    const s = p.seconds.get(c) ?? 0;
    sum += s;
    out[`${c}_s`] = s / steps;
  }
  out.overhead_s = Math.max(0, total - sum) / steps;
  out.kernel_calls = [...p.calls.values()].reduce((a, b) => a + b, 0) / steps;
  return out;
}
