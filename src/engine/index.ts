// The engine: tensors with native storage, a tape for reverse-mode autograd, fused primitives, AdamW.
export { Tensor, tidy, keep, untracked, memoryStats, ggmlOf, storageBytes, type DType, type QDType, type Device } from './tensor.js';
export { Tape, needsGrad } from './tape.js';
export * from './ops/index.js';
export { AdamW, ADAMW_DEFAULTS, adamwSettings, findNonFinite, type AdamWOptions, type StepReport } from './optim.js';
export { native } from './native.js';
export { quantize, tensorFromStorage, tensorMapped, firstNonFiniteStored, valuesF32, rowF32 } from './quant.js';
export { cpuFeatures, computeInBf16, computesInBf16, ComputeError, COMPUTE_MODES, type ComputeMode, type Compute, type CpuFeatures } from './compute.js';
