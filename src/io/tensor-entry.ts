// The format-independent view of a checkpoint: every reader (safetensors, GGUF, llama2.c) returns a
// Checkpoint whose TensorEntry records say where each tensor's bytes lie on disk. Nothing is loaded
// until readF32/readRaw is called for one tensor, and then only that tensor's byte range is read
// (fs.readSync at its offset), so a multi-GB checkpoint never sits in the JS heap as a whole.
// Also home of the exact half-precision conversions the readers and writers share.
import { closeSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { FormatError } from './errors.js';
import { faultPoint } from './fault.js';
import { ggmlByteLength, type GGMLTypeName } from './quant-types.js';

/** ggml's storage types (src/io/quant-types.ts): F32, F16, BF16 and the block-quantized Q4_0 … Q6_K. */
export type StorageDType = GGMLTypeName;

export interface TensorEntry {
  name: string;
  dtype: StorageDType;
  /** Row-major, OUTERMOST first (PyTorch/HF order): a Linear weight is [out, in]. */
  shape: number[];
  file: string;
  /** Absolute offset of the first byte in `file`. */
  byteOffset: number;
  byteLength: number;
}

export interface Checkpoint {
  format: 'safetensors' | 'gguf' | 'llama2c';
  files: string[];
  tensors: Map<string, TensorEntry>;
  metadata: Record<string, unknown>;
}

/** Q8_0 block: f16 scale d (2 bytes) then 32 int8 quants; value = d * q. */
export const Q8_0_BLOCK = 32;
export const Q8_0_BLOCK_BYTES = 34;

/** Product of the dims (1 for a scalar []). May exceed 2^53 for absurd shapes: callers compare against file sizes. */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Bytes needed for `numel` elements of `dtype` whose innermost dimension is `cols` (default: one row), or
 * undefined when impossible (block types need every row in whole blocks: Q8_0 32 values, K-quants 256).
 */
export function storageByteLength(dtype: StorageDType, numel: number, cols = numel): number | undefined {
  return ggmlByteLength(dtype, numel, cols);
}

// ---- exact conversions -------------------------------------------------------------------------------

const scratch = new DataView(new ArrayBuffer(4));

/** IEEE binary16 bits -> number (exact: every f16 value, subnormals, ±inf and NaN are representable in f32). */
export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24; // zero / subnormal
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1024 + mant) * 2 ** (exp - 25);
}

let f16Table: Float32Array | undefined;
/** 64K-entry lookup table, built on first use (256 KiB) because f16 decoding is the hot path of F16/Q8_0 loads. */
function f16Lut(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) f16Table[i] = f16BitsToF32(i);
  }
  return f16Table;
}

/** number -> IEEE binary16 bits, rounding to nearest even (overflow -> inf, NaN stays NaN). */
export function f32ToF16Bits(v: number): number {
  scratch.setFloat32(0, v);
  const x = scratch.getUint32(0);
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15; // rebased exponent
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half: value = m * 2^-24 with m = (1.mant as 24-bit int) >> (14 - e).
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++; // a carry into the exponent correctly yields the next binade / inf
  return sign | h;
}

/** bfloat16 bits -> number (exact: bf16 is the top half of an f32). */
export function bf16BitsToF32(b: number): number {
  scratch.setUint32(0, (b & 0xffff) << 16);
  return scratch.getFloat32(0);
}

/** number -> bfloat16 bits, rounding to nearest even (NaN stays a quiet NaN). */
export function f32ToBf16Bits(v: number): number {
  scratch.setFloat32(0, v);
  const x = scratch.getUint32(0);
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

// ---- reading -----------------------------------------------------------------------------------------

const CHUNK = 1 << 30; // readSync takes at most 2^31-1 bytes per call

/**
 * Reads exactly `length` bytes at `position` into a fresh (4-byte aligned, unshared) Uint8Array.
 * A short read means the file is shorter than its header claims: FormatError naming `field`.
 */
export function readExact(fd: number, file: string, position: number, length: number, field: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, out, done, Math.min(CHUNK, length - done), position + done);
    if (n <= 0) {
      throw new FormatError(file, field, `${length} bytes at offset ${position}`, `file ends after ${position + done} bytes`);
    }
    done += n;
  }
  return out;
}

function checkEntry(entry: TensorEntry): number {
  const numel = elementCount(entry.shape);
  const want = storageByteLength(entry.dtype, numel, entry.shape[entry.shape.length - 1] ?? 1);
  if (want !== entry.byteLength || !Number.isSafeInteger(numel)) {
    throw new FormatError(entry.file, `tensor "${entry.name}"`,
      `${want ?? `whole ${entry.dtype} blocks of`} bytes for ${entry.dtype} [${entry.shape.join(',')}]`, `got ${entry.byteLength}`);
  }
  return numel;
}

/** The tensor's bytes exactly as stored. */
export function readRaw(entry: TensorEntry): Uint8Array {
  const fd = openSync(entry.file, 'r');
  try {
    return readExact(fd, entry.file, entry.byteOffset, entry.byteLength, `tensor "${entry.name}"`);
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads the tensor's stored bytes straight into `dst` (e.g. a native tensor's storage: quantized and 16-bit
 * weights are kept as stored, with no copy in the JS heap). Checks the size first.
 */
export function readRawInto(entry: TensorEntry, dst: Uint8Array): void {
  checkEntry(entry);
  if (dst.length !== entry.byteLength) throw new RangeError(`readRawInto: tensor "${entry.name}" has ${entry.byteLength} bytes, destination ${dst.length}`);
  const fd = openSync(entry.file, 'r');
  try {
    let done = 0;
    while (done < dst.length) {
      const n = readSync(fd, dst, done, Math.min(CHUNK, dst.length - done), entry.byteOffset + done);
      if (n <= 0) throw new FormatError(entry.file, `tensor "${entry.name}"`, `${dst.length} bytes at offset ${entry.byteOffset}`, `file ends after ${entry.byteOffset + done} bytes`);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
}

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The tensor as float32 (row-major, same element order as stored), converting F16/BF16/Q8_0 exactly. */
export function readF32(entry: TensorEntry): Float32Array {
  const numel = checkEntry(entry);
  const raw = readRaw(entry);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  switch (entry.dtype) {
    case 'F32': {
      if (littleEndianHost) return new Float32Array(raw.buffer, raw.byteOffset, numel);
      const out = new Float32Array(numel);
      for (let i = 0; i < numel; i++) out[i] = dv.getFloat32(i * 4, true);
      return out;
    }
    case 'F16': {
      const lut = f16Lut();
      const out = new Float32Array(numel);
      for (let i = 0; i < numel; i++) out[i] = lut[dv.getUint16(i * 2, true)];
      return out;
    }
    case 'BF16': {
      // Widen into the top half of a u32 and reinterpret: exact by construction.
      const bits = new Uint32Array(numel);
      for (let i = 0; i < numel; i++) bits[i] = dv.getUint16(i * 2, true) << 16;
      return littleEndianHost ? new Float32Array(bits.buffer) : Float32Array.from(bits, (b) => bf16BitsToF32(b >>> 16));
    }
    case 'Q8_0': {
      const lut = f16Lut();
      const out = new Float32Array(numel);
      const blocks = numel / Q8_0_BLOCK;
      for (let b = 0; b < blocks; b++) {
        const base = b * Q8_0_BLOCK_BYTES;
        const d = lut[dv.getUint16(base, true)];
        const o = b * Q8_0_BLOCK;
        for (let j = 0; j < Q8_0_BLOCK; j++) out[o + j] = d * dv.getInt8(base + 2 + j);
      }
      return out;
    }
    default:
      // Q4_0 … Q6_K stay in their blocks: the engine reads them (src/engine/quant.ts), readRawInto fills one.
      throw new FormatError(entry.file, `tensor "${entry.name}"`, 'F32, F16, BF16 or Q8_0 for a float32 copy', `${entry.dtype} blocks (load them as quantized weights)`);
  }
}

// ---- writing -----------------------------------------------------------------------------------------

/**
 * Writes `chunks` (produced lazily, so one tensor at a time is in memory) to a temp file beside `path`,
 * then renames it over `path`: a crash or error never leaves a half-written checkpoint under the real name.
 */
export function writeChunksAtomic(path: string, chunks: Iterable<Uint8Array>): void {
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    const fd = openSync(tmp, 'w');
    let ok = false;
    try {
      for (const c of chunks) {
        for (let done = 0; done < c.length;) done += writeSync(fd, c, done, Math.min(CHUNK, c.length - done));
        faultPoint('write:chunk'); // a kill here leaves a half-written temp file, never a half-written `path`
      }
      ok = true;
    } finally {
      closeSync(fd);
      if (!ok) unlinkSync(tmp);
    }
    renameSync(tmp, path);
  } catch (e) {
    // writeSync's ENOSPC/EIO carry no path (they are about an fd): name the file the user asked for.
    const err = e as NodeJS.ErrnoException;
    if (typeof err?.code === 'string' && (err.path === undefined || err.path === tmp)) err.path = path;
    throw e;
  }
}
