// Where a frozen weight's matrix products run: fp32 (OpenBLAS sgemm; a 16-bit/quantized weight is dequantized
// into f32 tiles first) or bf16 (native/gemm-bf16.cc: the weight held in bf16, the activation rounded to bf16,
// products on the AVX-512 BF16 units with fp32 sums). Only frozen base weights take bf16; adapters, optimizer
// state, norms, softmax and the loss stay fp32. A weight computes in bf16 when the model loader marked it so
// (src/model/compute.ts); the mark lives here, beside the ops that read it, so Tensor stays storage-only.
import { native } from './native.js';
import type { Tensor } from './tensor.js';

/** What the user asks for: fp32, bf16, or auto (bf16 where the CPU has the units and the weights allow it). */
export type ComputeMode = 'fp32' | 'bf16' | 'auto';
/** What a loaded model actually computes in. */
export type Compute = 'fp32' | 'bf16';
export const COMPUTE_MODES: readonly ComputeMode[] = ['fp32', 'bf16', 'auto'];

/** The CPU's AVX-512 features as the native engine sees them (LIFT_CPU_FEATURES=-avx512bf16 hides one). */
export interface CpuFeatures {
  avx512f: boolean;
  avx512bw: boolean;
  avx512vl: boolean;
  avx512bf16: boolean;
  avx512vnni: boolean;
  /** The bf16 kernels can run here (all of avx512f/bw/vl/bf16). */
  bf16: boolean;
  /** The instruction level the addon was compiled for (-march=native at install): its host-built kernels' form. */
  build: 'avx512' | 'avx2' | 'portable';
}

export function cpuFeatures(): CpuFeatures {
  return native.cpuFeatures();
}

/** Thrown for `compute: 'bf16'` where it cannot run (no bf16 units, or quantized weights). */
export class ComputeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ComputeError';
  }
}

const bf16Weights = new WeakSet<Tensor>();

/** Marks a frozen bf16 weight: linear() on it runs on the bf16 units. */
export function computeInBf16(w: Tensor): void {
  if (w.dtype !== 'bf16' || w.shape.length !== 2) throw new Error(`computeInBf16: ${w.name || 'weight'} is ${w.dtype} [${w.shape.join(', ')}]; only 2-D bf16 weights compute in bf16`);
  if (w.requiresGrad) throw new Error(`computeInBf16: ${w.name || 'weight'} requires grad; only frozen weights compute in bf16`);
  if (!cpuFeatures().bf16) throw new ComputeError('compute bf16: this CPU has no AVX-512 BF16 units (avx512_bf16 in /proc/cpuinfo); use --compute fp32 or auto');
  bf16Weights.add(w);
}

/** True when linear() runs this weight's products on the bf16 units. */
export function computesInBf16(w: Tensor): boolean {
  return bf16Weights.has(w);
}

// Packed forms of a bf16 weight (native/gemm-bf16.cc bf16Pack): made on first use, kept as long as the weight
// (GC-owned, keyed by the tensor). Each direction costs as much memory as the bf16 weight itself: the forward's
// (B = Wᵀ) for any product of more than a few rows, the input gradient's (B = W) only when training. Packing per
// call instead was a strided transpose of the whole weight for every product.
const packs = new WeakMap<Tensor, { forward?: Uint8Array; backward?: Uint8Array }>();

/** The bf16 weight W[O, I] packed for y = x·Wᵀ ('forward', B[I, O]) or dx = dy·W ('backward', B[O, I]). */
export function bf16Packed(w: Tensor, dir: 'forward' | 'backward'): Uint8Array {
  let p = packs.get(w);
  if (!p) packs.set(w, (p = {}));
  const have = p[dir];
  if (have) return have;
  const [O, I] = w.shape;
  const fwd = dir === 'forward';
  const buf = new Uint8Array(native.bf16PackedBytes(fwd ? I : O, fwd ? O : I));
  native.bf16Pack(w.bytes(), O, I, fwd, buf);
  p[dir] = buf;
  return buf;
}
