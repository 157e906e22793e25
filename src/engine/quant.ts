// Making tensors in 16-bit or ggml block storage: from a file's bytes (load) or by quantizing f32 data
// (convert, tests). The storage layout is ggml's (src/io/quant-types.ts), so bytes go to and from GGUF as-is.
import { native } from './native.js';
import { Tensor, ggmlOf, storageBytes, untracked, type DType } from './tensor.js';

/** A new tensor of `dtype` whose storage bytes are written by `fill` (e.g. read from a file straight into it). */
export function tensorFromStorage(shape: readonly number[], dtype: DType, fill: (dst: Uint8Array) => void, name = ''): Tensor {
  storageBytes(shape, dtype); // throws for a shape that is not whole blocks, before allocating
  const t = Tensor.empty(shape, { dtype, name });
  try {
    fill(t.bytes());
  } catch (e) {
    t.dispose();
    throw e;
  }
  return t;
}

/** A tensor over `length` bytes of `file` at `offset`, memory-mapped (no copy; dispose() unmaps it). */
export function tensorMapped(shape: readonly number[], dtype: DType, file: string, offset: number, length: number, name = ''): Tensor {
  const want = storageBytes(shape, dtype); // throws for a shape that is not whole blocks
  if (want !== length) throw new Error(`tensorMapped: ${length} bytes for ${dtype} [${shape.join(', ')}], expected ${want}`);
  return Tensor.fromBuffer(shape, dtype, native.mapFile(file, offset, length), name);
}

/** data [rows, cols] (row-major, cols = last dim) quantized to `dtype` with ggml's reference formulas. */
export function quantize(data: Float32Array, shape: readonly number[], dtype: DType, name = ''): Tensor {
  const cols = shape[shape.length - 1] ?? 1, n = shape.reduce((a, b) => a * b, 1);
  if (data.length !== n) throw new Error(`quantize: ${data.length} values do not fill shape [${shape.join(', ')}]`);
  if (dtype === 'f32') return Tensor.from(data, shape, { name });
  return tensorFromStorage(shape, dtype, (dst) => {
    if (n) native.qQuantize(data, n / cols, cols, ggmlOf(dtype).id, dst);
  }, name);
}

/** Index of the first NaN/±inf value once dequantized (-1 if none), without materialising the f32 tensor. */
export function firstNonFiniteStored(t: Tensor): number {
  const cols = t.shape[t.shape.length - 1] ?? 1;
  if (t.dtype === 'f32') return native.countNonFinite(t.f32()) ? t.f32().findIndex((v) => !Number.isFinite(v)) : -1;
  return t.size ? native.qFirstNonFinite(t.bytes(), ggmlOf(t.dtype).id, t.size / cols, cols) : -1;
}

/** The f32 values of any tensor as a plain array (dequantizing a copy for 16-bit/quantized storage). */
export function valuesF32(t: Tensor): Float32Array {
  if (t.dtype === 'f32') return t.f32();
  return untracked(() => {
    const f = t.toF32();
    const v = f.f32().slice();
    f.dispose();
    return v;
  });
}

/** Row r of a 2-D tensor in any storage as f32 (one row dequantized: no f32 copy of the whole weight). */
export function rowF32(t: Tensor, r: number): Float32Array {
  const cols = t.shape[t.shape.length - 1] ?? 1, rows = cols ? t.size / cols : 0;
  if (!Number.isInteger(r) || r < 0 || r >= rows) throw new RangeError(`rowF32: row ${r} of ${rows}`);
  if (t.dtype === 'f32') return t.f32().slice(r * cols, (r + 1) * cols);
  const out = new Float32Array(cols);
  native.qDequant(t.bytes(), ggmlOf(t.dtype).id, rows, cols, r, 1, out);
  return out;
}
