// Frozen base weights kept as the file stores them: a GGUF's Q4_K/Q8_0/… blocks or a 16-bit matrix are
// memory-mapped from the file (LIFT_MMAP=0: read into native storage instead) and stay so (QLoRA-style: the engine multiplies from the blocks,
// src/engine/ops/quant-linear.ts). A Q4_K_M model then holds ~4.8/32 of its f32 bytes. Vectors (norm
// weights, biases) are read as f32: they are tiny and the ops that use them compute in f32.
import { Tensor, tensorFromStorage, tensorMapped, firstNonFiniteStored, valuesF32, type DType } from '../engine/index.js';
import { readRawInto, storageByteLength, type TensorEntry } from '../io/tensor-entry.js';
import { FormatError } from '../io/errors.js';

/** True when `e` is loaded in its stored form rather than as f32. */
export function keepsStorage(e: TensorEntry, shape: readonly number[]): boolean {
  return e.dtype !== 'F32' && shape.length === 2;
}

/**
 * Reads a 2-D weight in its stored dtype and refuses any value that dequantizes to NaN/±inf (a damaged scale),
 * naming the tensor and the element as the f32 path does.
 */
export function readStoredWeight(file: string, e: TensorEntry, shape: readonly number[], name: string): Tensor {
  const dtype = e.dtype.toLowerCase() as DType;
  const want = storageByteLength(e.dtype, shape.reduce((a, b) => a * b, 1), shape[shape.length - 1]);
  if (want !== e.byteLength) throw new FormatError(e.file, `tensor "${e.name}"`, `${want ?? `whole ${e.dtype} blocks of`} bytes for ${e.dtype} [${shape.join(',')}]`, `got ${e.byteLength}`);
  const t = process.env.LIFT_MMAP === '0' || e.byteLength === 0 ? tensorFromStorage(shape, dtype, (dst) => readRawInto(e, dst), name) : tensorMapped(shape, dtype, e.file, e.byteOffset, e.byteLength, name);
  const bad = firstNonFiniteStored(t);
  if (bad >= 0) {
    const v = valuesF32(t)[bad];
    t.dispose();
    throw new FormatError(file, `tensor "${e.name}"`, 'finite weights', `element ${bad} is ${v}: the checkpoint is damaged`);
  }
  return t;
}
