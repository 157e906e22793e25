// The engine's primitive ops, each with its backward beside its forward.
export { linear, headLinear } from './linear.js';
export { useMatvec, matvecEnabled, MATVEC_MAX_ROWS } from './matvec-switch.js';
export { embedding, rmsnorm } from './norm.js';
export { rope, attention, BF16_ATTENTION_ROWS, type RopeLayout, type AttentionOptions } from './attention.js';
export { add, scale, swiglu, silu, sigmoidAffine, gateMix } from './elementwise.js';
export { crossEntropy, klDivergence, IGNORE_INDEX, type CrossEntropyResult } from './loss.js';
export { gatherRows } from './rows.js';
export { loraUpdate } from './lora.js';
