// The engine: tensors with native storage, a tape for reverse-mode autograd, fused primitives, AdamW.
export { Tensor, tidy, keep, untracked, memoryStats, type DType, type Device } from './tensor.js';
export { Tape, needsGrad } from './tape.js';
export * from './ops/index.js';
export { AdamW, findNonFinite, type AdamWOptions, type StepReport } from './optim.js';
export { native } from './native.js';
