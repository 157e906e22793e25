// The tensor handle: a shape, a dtype, a device and native storage that is freed deterministically.
// Compute is float32. Frozen weights may be stored as f16/bf16 or in ggml's quantized blocks (q4_k, q8_0, …:
// a [rows, cols] weight is rows × cols/block blocks, as in its GGUF file); the matrix ops read those
// directly (ops/quant-linear.ts) and toF32() dequantizes. Ids travel as Int32Array, not tensors. Only the CPU storage exists today, but nothing outside this file and the op
// files touches memory directly (they go through `f32()`), so a CUDA storage can slot in beside it.
//
// Lifetime: every tensor created inside `tidy()` (or a Tape) is disposed when it ends unless returned or
// kept; parameters are created outside any scope (or `keep()`-ed) and live until disposed.
import { native } from './native.js';
import { GGML_TYPES, type QuantName } from '../io/quant-types.js';

/** Block-quantized storage (frozen weights only), named as ggml's types in lower case. */
export type QDType = Lowercase<QuantName>;
export type DType = 'f32' | 'f16' | 'bf16' | QDType;
export type Device = 'cpu';

/** ggml's type (layout and id) for a storage dtype. */
export function ggmlOf(dtype: DType): (typeof GGML_TYPES)[keyof typeof GGML_TYPES] {
  return GGML_TYPES[dtype.toUpperCase() as keyof typeof GGML_TYPES];
}
/** Bytes of storage for `shape` in `dtype` (block types need the innermost dimension in whole blocks). */
export function storageBytes(shape: readonly number[], dtype: DType): number {
  const n = shape.reduce((a, b) => a * b, 1), { block, bytes } = ggmlOf(dtype);
  const cols = shape.length ? shape[shape.length - 1] : 1;
  if (block > 1 && n > 0 && cols % block !== 0)
    throw new Error(`Tensor: a ${dtype} tensor needs its last dimension in whole ${block}-value blocks, got [${shape.join(', ')}]`);
  return (n / block) * bytes;
}

const scopes: Set<Tensor>[] = [];
// > 0 while a Tape runs backward: its gradients and temporaries are freed explicitly (consumed gradients at
// once, the rest with their tensors), so their buffers, like a scope's, are kept out of V8's count (alloc).
let explicitFree = 0;

/** @internal Runs fn with buffers allocated uncounted (Tape.backward). */
export function freedExplicitly<T>(fn: () => T): T {
  explicitFree++;
  try {
    return fn();
  } finally {
    explicitFree--;
  }
}

function adopt(scope: Set<Tensor> | null, t: Tensor): void {
  const had = t.scope;
  had?.delete(t);
  t.scope = scope;
  scope?.add(t);
  if (had && !scope) t.countMemory(); // it left every scope: V8 must see its bytes again (native.alloc)
}

/** Opens a scope: tensors created until closeScope() belong to it (the tape uses this directly). */
export function openScope(): Set<Tensor> {
  const s = new Set<Tensor>();
  scopes.push(s);
  return s;
}
export function closeScope(s: Set<Tensor>): void {
  const i = scopes.lastIndexOf(s);
  if (i >= 0) scopes.splice(i, 1);
}
/** Frees every tensor still owned by a scope. */
export function disposeScope(s: Set<Tensor>): void {
  for (const t of [...s]) t.dispose();
  s.clear();
}

export class Tensor {
  readonly shape: readonly number[];
  readonly size: number;
  readonly device: Device = 'cpu';
  /** Gradient buffer; allocated only for tensors that require grad, on first use. */
  grad: Tensor | null = null;
  requiresGrad: boolean;
  name: string;
  #buf: ArrayBuffer | null;
  #owner: boolean;
  /** The scope that will free this tensor, if any. */
  scope: Set<Tensor> | null = null;

  private constructor(shape: readonly number[], readonly dtype: DType, buf: ArrayBuffer, owner: boolean, requiresGrad: boolean, name: string) {
    this.shape = Object.freeze([...shape]);
    this.size = shape.reduce((a, b) => a * b, 1);
    this.#buf = buf;
    this.#owner = owner;
    this.requiresGrad = requiresGrad;
    this.name = name;
    if (owner) adopt(scopes[scopes.length - 1] ?? null, this);
  }

  /** New tensor, uninitialised unless `zero`. */
  static empty(shape: readonly number[], opts: { dtype?: DType; zero?: boolean; requiresGrad?: boolean; name?: string } = {}): Tensor {
    for (const d of shape)
      if (!Number.isInteger(d) || d < 0) throw new Error(`Tensor.empty: bad shape [${shape.join(', ')}]: dimensions must be integers ≥ 0`);
    const dtype = opts.dtype ?? 'f32';
    const n = shape.reduce((a, b) => a * b, 1);
    // Inside a scope (a tape, tidy) or a backward pass the buffer is certain to be freed explicitly, so V8 is not
    // told about its bytes (memory.cc: its external-memory count set off ~30 garbage collections per step).
    const buf = native.alloc(dtype === 'f32' ? n * 4 : storageBytes(shape, dtype), opts.zero ?? false, scopes.length > 0 || explicitFree > 0);
    return new Tensor(shape, dtype, buf, true, opts.requiresGrad ?? false, opts.name ?? '');
  }
  static zeros(shape: readonly number[], opts: { requiresGrad?: boolean; name?: string } = {}): Tensor {
    return Tensor.empty(shape, { ...opts, zero: true });
  }
  /** Copies float data into a new f32 tensor. */
  static from(data: ArrayLike<number>, shape: readonly number[], opts: { requiresGrad?: boolean; name?: string } = {}): Tensor {
    const t = Tensor.empty(shape, opts);
    if (data.length !== t.size) throw new Error(`Tensor.from: ${data.length} values do not fill shape [${shape.join(', ')}] (${t.size})`);
    t.f32().set(data);
    return t;
  }
  /** Takes ownership of native storage (e.g. a memory-mapped weight from native.mapFile): dispose() frees it. */
  static fromBuffer(shape: readonly number[], dtype: DType, buf: ArrayBuffer, name = ''): Tensor {
    const want = dtype === 'f32' ? shape.reduce((a, b) => a * b, 1) * 4 : storageBytes(shape, dtype);
    if (buf.byteLength !== want) throw new Error(`Tensor.fromBuffer: ${buf.byteLength} bytes for ${dtype} [${shape.join(', ')}], expected ${want}`);
    return new Tensor(shape, dtype, buf, true, false, name);
  }
  /** Wraps 16-bit storage (raw f16 or bf16 bits) in a new tensor of that dtype. */
  static from16(bits: Uint16Array, shape: readonly number[], dtype: 'f16' | 'bf16', name = ''): Tensor {
    const t = Tensor.empty(shape, { dtype, name });
    if (bits.length !== t.size) throw new Error(`Tensor.from16: ${bits.length} values do not fill shape [${shape.join(', ')}]`);
    new Uint16Array(t.buffer()).set(bits);
    return t;
  }

  /** @internal Counts a scope-allocated buffer in V8's external memory again (it now outlives its scope). */
  countMemory(): void {
    if (this.#buf !== null && this.#owner) native.countExternal(this.#buf);
  }

  get disposed(): boolean {
    return this.#buf === null || this.#buf.byteLength === 0 && this.size > 0;
  }
  /** The underlying CPU buffer; throws for a disposed tensor. */
  buffer(): ArrayBuffer {
    if (this.#buf === null || (this.#buf.byteLength === 0 && this.size > 0))
      throw new Error(`tensor ${this.name || '[' + this.shape.join(', ') + ']'} was used after it was disposed`);
    return this.#buf;
  }
  /** Float32 view of the data (CPU, f32 only). */
  f32(): Float32Array {
    if (this.dtype !== 'f32') throw new Error(`tensor ${this.name} is ${this.dtype}; convert it with toF32() before computing with it`);
    return new Float32Array(this.buffer(), 0, this.size);
  }
  /** A copy of the data as a plain Float32Array in the JS heap. */
  toArray(): Float32Array {
    return this.dtype === 'f32' ? this.f32().slice() : this.toF32Keep().f32();
  }
  private toF32Keep(): Tensor {
    const t = this.toF32();
    keep(t);
    return t;
  }
  /** Scalar value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new Error(`item(): tensor has ${this.size} elements, expected 1`);
    return this.f32()[0];
  }
  /** Converts f16/bf16/quantized storage to a new f32 tensor (f32 returns a copy). */
  toF32(): Tensor {
    const out = Tensor.empty(this.shape, { name: this.name });
    if (this.dtype === 'f32') out.f32().set(this.f32());
    else if (this.dtype === 'f16' || this.dtype === 'bf16') native.toF32(new Uint16Array(this.buffer(), 0, this.size), out.f32(), this.dtype);
    else {
      const cols = this.shape[this.shape.length - 1] ?? 1, rows = cols ? this.size / cols : 0;
      if (rows) native.qDequant(this.bytes(), ggmlOf(this.dtype).id, rows, cols, 0, rows, out.f32());
    }
    return out;
  }
  /** The raw storage bytes (16-bit or quantized weights: what the native quantized kernels read). */
  bytes(): Uint8Array {
    return new Uint8Array(this.buffer(), 0, this.dtype === 'f32' ? this.size * 4 : storageBytes(this.shape, this.dtype));
  }
  /** Converts to 16-bit storage (round to nearest even). */
  to16(dtype: 'f16' | 'bf16'): Tensor {
    const out = Tensor.empty(this.shape, { dtype, name: this.name });
    native.fromF32(this.f32(), new Uint16Array(out.buffer(), 0, this.size), dtype);
    return out;
  }
  /** Same storage, another shape (no copy). The view never frees the storage. */
  view(shape: readonly number[]): Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    if (n !== this.size) throw new Error(`view: cannot view [${this.shape.join(', ')}] as [${shape.join(', ')}]`);
    return new Tensor(shape, this.dtype, this.buffer(), false, false, this.name);
  }
  /** A view of the leading elements (e.g. the first rows of a cache) with a smaller shape; no copy. */
  prefix(shape: readonly number[]): Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    if (n > this.size) throw new Error(`prefix: [${shape.join(', ')}] is larger than [${this.shape.join(', ')}]`);
    return new Tensor(shape, this.dtype, this.buffer(), false, false, this.name);
  }
  /**
   * Moves this tensor's storage into a new tensor (same shape and dtype, no copy) and leaves this one a view of
   * it: for an op that overwrites an input no one reads again, so that the result owns the memory and this
   * tensor's dispose no longer frees it. Null when this tensor does not own its storage (a view, or disposed).
   */
  takeStorage(name = this.name): Tensor | null {
    if (!this.#owner || this.#buf === null) return null;
    this.#owner = false;
    return new Tensor(this.shape, this.dtype, this.#buf, true, false, name);
  }
  /** Frees the storage now (and the gradient's). Safe to call twice. Views of a freed tensor become unusable. */
  dispose(): void {
    if (this.#buf === null) return;
    if (this.#owner) native.free(this.#buf);
    this.#buf = null;
    this.grad?.dispose();
    this.grad = null;
    this.scope?.delete(this);
    this.scope = null;
  }
  /** The gradient buffer, allocated zeroed on first use, owned by this tensor (freed with it). */
  gradBuffer(): Tensor {
    if (this.grad === null) this.grad = newGrad(this, true);
    return this.grad;
  }
  toString(): string {
    return `Tensor(${this.name ? this.name + ' ' : ''}[${this.shape.join(', ')}] ${this.dtype})`;
  }
}

/** Float32 data of `t` for a CPU kernel, with the op name in the error when it is not usable. */
export function f32(t: Tensor): Float32Array {
  return t.f32();
}

function collect(v: unknown, out: Set<Tensor>, seen = new Set<unknown>()): void {
  if (v instanceof Tensor) out.add(v);
  else if (v && typeof v === 'object' && !seen.has(v)) {
    seen.add(v);
    for (const x of Array.isArray(v) ? v : v instanceof Map ? v.values() : Object.values(v)) collect(x, out, seen);
  }
}

/** Runs fn; disposes every tensor it created except those reachable from its result (arrays, objects, maps). */
export function tidy<T>(fn: () => T): T {
  const scope = openScope();
  let result: T;
  try {
    result = fn();
  } catch (e) {
    closeScope(scope);
    disposeScope(scope);
    throw e;
  }
  closeScope(scope);
  const kept = new Set<Tensor>();
  collect(result, kept);
  // Returned tensors belong to the enclosing scope now; the rest are freed.
  for (const t of kept) if (scope.has(t)) adopt(scopes[scopes.length - 1] ?? null, t);
  disposeScope(scope);
  return result;
}

/**
 * @internal A gradient buffer for `of` (zeroed, or uninitialised for an overwriting kernel). A tensor no scope
 * frees (a trained parameter) keeps its gradient across steps, so V8 counts those bytes even during backward.
 */
export function newGrad(of: Tensor, zero: boolean): Tensor {
  const g = untracked(() => Tensor.empty(of.shape, { zero, name: of.name + '.grad' }));
  if (of.scope === null) g.countMemory();
  return g;
}

/** Takes a tensor out of its scope so it outlives it (the caller disposes it). */
export function keep<T extends Tensor>(t: T): T {
  adopt(null, t);
  return t;
}

/** Runs fn with no open scope: tensors it creates are owned by the caller (parameters, caches). */
export function untracked<T>(fn: () => T): T {
  const saved = scopes.splice(0, scopes.length);
  try {
    return fn();
  } finally {
    scopes.push(...saved);
  }
}

/** Bytes of native memory held by live tensors, the peak since the last reset, and the reuse pool. */
export function memoryStats() {
  return native.memoryStats();
}
