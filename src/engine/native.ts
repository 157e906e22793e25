// Loads the C++ addon (build/Release/lift_native.node) and types its functions. Every kernel validates
// its buffers and throws a JavaScript Error on a bad call; see native/*.cc for the arithmetic.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

type F = Float32Array;
type Opt = Float32Array | null;

export interface NativeEngine {
  setThreads(n: number): void;
  getThreads(): number;
  /** The kernel set OpenBLAS chose when it loaded ("Haswell", "SkylakeX", …). */
  blasCore(): string;
  /** uncounted: V8 is not told about the bytes (a buffer certain to be freed by free(); memory.cc). */
  alloc(bytes: number, zero: boolean, uncounted?: boolean): ArrayBuffer;
  /** Counts an uncounted buffer in V8's external memory from now on (no-op otherwise). */
  countExternal(buf: ArrayBuffer): void;
  /** Counts every still-uncounted buffer again (on exit, before Node detaches them). */
  recountAll(): void;
  /** V8's external-memory count (the one that triggers GCs under external memory pressure); for tests. */
  v8ExternalMemory(): number;
  free(buf: ArrayBuffer): void;
  memoryStats(): { liveBytes: number; peakBytes: number; poolBytes: number; liveBuffers: number; mappedBytes: number };
  /** An ArrayBuffer over bytes offset…offset+length of a file (mmap, copy-on-write); free() unmaps it (native/mapped.cc). */
  mapFile(path: string, offset: number, length: number): ArrayBuffer;
  trimPool(): void;
  /** The peak of live native bytes starts again from what is live now (the pool is kept). */
  resetPeak(): void;
  toF32(src: Uint16Array, dst: F, kind: 'f16' | 'bf16'): void;
  fromF32(src: F, dst: Uint16Array, kind: 'f16' | 'bf16'): void;
  gemm(ta: boolean, tb: boolean, M: number, N: number, K: number, alpha: number, A: F, aOff: number, lda: number, B: F, bOff: number, ldb: number, beta: number, C: F, cOff: number, ldc: number): void;
  /** y[M,O] = x[M,I] · W[O,I]ᵀ for M ≤ 4 (decode), W f32 (type 0) or f16/bf16 bytes (1/30); portable: skip AVX-512 (native/matvec.cc). */
  matvec(x: F, M: number, I: number, w: F | Uint8Array, type: number, O: number, y: F, portable?: boolean): void;
  /** Whether matvec has its AVX-512 kernel on this CPU. */
  matvecSimd(): boolean;
  gemmBatched(ta: boolean, tb: boolean, M: number, N: number, K: number, alpha: number, A: F, aOff: number, lda: number, strideA: number, B: F, bOff: number, ldb: number, strideB: number, beta: number, C: F, cOff: number, ldc: number, strideC: number, batch: number): void;
  embeddingForward(table: F, ids: Int32Array, out: F, V: number, C: number): void;
  embeddingBackward(dOut: F, ids: Int32Array, dTable: F, V: number, C: number): void;
  rmsnormForward(x: F, w: F, out: F, rstd: F, T: number, C: number, eps: number): void;
  rmsnormBackward(dOut: F, x: F, w: F, rstd: F, dx: Opt, dw: Opt, T: number, C: number, accumulateDx?: boolean): void;
  rope(src: F, dst: F, T: number, H: number, D: number, start: number, invFreq: F, interleaved: boolean, sign: number, accumulate: boolean): void;
  attentionForward(q: F, k: F, v: F, out: F, lse: F, T: number, Tk: number, NH: number, KVH: number, D: number, start: number, scale: number, bf16?: boolean): void;
  attentionBackward(dOut: F, q: F, k: F, v: F, out: F, lse: F, dq: Opt, dk: Opt, dv: Opt, T: number, Tk: number, NH: number, KVH: number, D: number, start: number, scale: number, bf16?: boolean): void;
  /** Packed samples: rows offsets[s] … offsets[s+1]−1 attend causally within sample s only (attention.cc). */
  attentionPackedForward(q: F, k: F, v: F, out: F, lse: F, offsets: Int32Array, NH: number, KVH: number, D: number, scale: number, bf16?: boolean): void;
  attentionPackedBackward(dOut: F, q: F, k: F, v: F, out: F, lse: F, dq: Opt, dk: Opt, dv: Opt, offsets: Int32Array, NH: number, KVH: number, D: number, scale: number, bf16?: boolean): void;
  swigluForward(gate: F, up: F, out: F): void;
  swigluBackward(dOut: F, gate: F, up: F, dGate: Opt, dUp: Opt, accumulate?: boolean): void;
  siluForward(x: F, out: F): void;
  siluBackward(dOut: F, x: F, dx: F): void;
  sigmoidAffineForward(x: F, out: F, a: number, b: number): void;
  sigmoidAffineBackward(dOut: F, out: F, dx: F, a: number): void;
  gateMixForward(attn: F, mem: F, gate: F, out: F, R: number, D: number): void;
  gateMixBackward(dOut: F, attn: F, mem: F, gate: F, dAttn: Opt, dMem: Opt, dGate: Opt, R: number, D: number): void;
  addBias(x: F, bias: F, R: number, N: number): void;
  biasBackward(dOut: F, dBias: F, R: number, N: number): void;
  add(a: F, b: F, out: F): void;
  addScaled(a: F, b: F, s: number, out: F): void;
  axpy(alpha: number, x: F, y: F): void;
  scale(x: F, s: number): void;
  xentForward(logits: F, targets: Int32Array, lse: F, nll: Opt, T: number, V: number): { loss: number; count: number };
  xentBackward(logits: F, targets: Int32Array, lse: F, dLogits: F, T: number, V: number, scale: number, weights?: F | null): void;
  klForward(logits: F, refLogits: F, lse: F, T: number, V: number, weights?: F): { loss: number };
  klBackward(logits: F, refLogits: F, lse: F, dLogits: F, T: number, V: number, scale: number, weights?: F): void;
  adamw(p: F, g: F, m: F, v: F, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number): void;
  /** y[T,O] = x[T,I] · W[O,I]ᵀ for W in ggml blocks of type id `type` (native/quant.cc). */
  qMatmul(x: F, T: number, I: number, w: Uint8Array, type: number, O: number, y: F): void;
  /** dx[T,I] (+)= dy[T,O] · W[O,I]. */
  qMatmulBackward(dy: F, T: number, O: number, w: Uint8Array, type: number, I: number, dx: F, accumulate: boolean): void;
  /** Decode (M ≤ 4 rows of x) on Q4_K/Q5_K/Q6_K (x rounded to Q8_K) and Q8_0/Q5_0/Q4_0 blocks (x to Q8_0), as llama.cpp:, integer dot products (native/quant-dot.cc). */
  qDot(x: F, M: number, I: number, w: Uint8Array, type: number, O: number, y: F): void;
  /** Whether qDot runs here for ggml type `type` (AVX-512 VNNI present and not hidden by LIFT_CPU_FEATURES=-avx512vnni). */
  qDotSupported(type: number): boolean;
  qEmbedding(w: Uint8Array, type: number, V: number, C: number, ids: Int32Array, out: F): void;
  qDequant(w: Uint8Array, type: number, rows: number, cols: number, r0: number, n: number, out: F): void;
  /** qDequant of the whole tensor through the scalar reference loops (tests compare the AVX-512 paths with it). */
  qDequantRef(w: Uint8Array, type: number, rows: number, cols: number, out: F): void;
  qFirstNonFinite(w: Uint8Array, type: number, rows: number, cols: number): number;
  qQuantize(src: F, rows: number, cols: number, type: number, dst: Uint8Array): void;
  /** y[T,O] = x[T,I] · W[O,I]ᵀ for W in bf16 (raw bytes), on the AVX-512 BF16 units (native/gemm-bf16.cc). */
  bf16Matmul(x: F, T: number, I: number, w: Uint8Array, O: number, y: F): void;
  /** dx[T,I] (+)= dy[T,O] · W[O,I] for W in bf16. */
  bf16MatmulBackward(dy: F, T: number, O: number, w: Uint8Array, I: number, dx: F, accumulate: boolean): void;
  /** Bytes bf16Pack needs for B[K,N] (native/gemm-bf16.cc: 64-column strips of k-pairs, plus 64 for alignment). */
  bf16PackedBytes(K: number, N: number): number;
  /** Packs bf16 W[rows, cols] once for the bf16 kernels: B = Wᵀ (transpose: the forward's) or B = W (the input gradient's). */
  bf16Pack(w: Uint8Array, rows: number, cols: number, transpose: boolean, out: Uint8Array): void;
  /** c[M,N] (+)= bf16(a)[M,K] · B for B packed by bf16Pack. */
  bf16MatmulPacked(a: F, M: number, K: number, packed: Uint8Array, N: number, c: F, accumulate: boolean): void;
  /**
   * One decode token through the whole decoder (native/decode.cc: the layout of weights, types and dims is there);
   * `threads` caps its threads (0 or absent: the engine's). Returns how many threads ran it as a team (1: none).
   */
  decodeStep(weights: (F | Uint8Array | null)[], types: Int32Array, dims: Float64Array, invFreq: F, keys: F[], values: F[], token: number, pos: number, logits: F,
    loraTensors?: F[] | null, loraMeta?: Float64Array | null, memory?: (F | null)[] | null, memoryDims?: Float64Array | null, gates?: F | null, threads?: number): number;
  /** out[T,r] = scale·X[T,K]·M[r,K]ᵀ (LoRA's rank-r side, native/lora.cc). */
  loraRowsDot(X: F, T: number, K: number, M: F, r: number, out: F, scale: number): void;
  /** Z[T,N] = (Y or 0) + scale·U[T,r]·M[r,N]; Z may be Y. */
  loraAddLowRank(Y: Opt, U: F, T: number, r: number, M: F, N: number, Z: F, scale: number): void;
  /** G[r,N] += scale·U[T,r]ᵀ·Y[T,N]. */
  loraLowRankGrad(U: F, T: number, r: number, Y: F, N: number, G: F, scale: number): void;
  /** Scalar reference: c[M,N] = bf16(a)·Wᵀ (W[N,K], wRowsN) or bf16(a)·W (W[K,N]), summed in double (tests). */
  bf16MatmulRef(a: F, M: number, K: number, w: Uint8Array, N: number, wRowsN: boolean, c: F): void;
  cpuFeatures(): { avx512f: boolean; avx512bw: boolean; avx512vl: boolean; avx512bf16: boolean; avx512vnni: boolean; bf16: boolean; build: 'avx512' | 'avx2' | 'portable' };
  sumSquares(x: F): number;
  countNonFinite(x: F): number;
}

function findAddon(): string {
  // LIFT_NATIVE_ADDON: another build of the addon (test/package/native-targets.test.ts runs the engine tests on
  // builds for lower CPU levels than this machine's, so an AVX-512 machine also runs the AVX2 and portable kernels).
  const override = process.env.LIFT_NATIVE_ADDON;
  if (override) {
    if (!existsSync(override)) throw new Error(`LIFT_NATIVE_ADDON=${override}: no such file (expected a built lift_native.node)`);
    return resolve(override);
  }
  // src/engine/native.ts and dist/src/engine/native.js both sit 2–3 levels under the package root.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, 'build', 'Release', 'lift_native.node');
    if (existsSync(p)) return p;
    dir = resolve(dir, '..');
  }
  throw new Error(
    'the native engine (build/Release/lift_native.node) is not built: run `npm run build:native` ' +
      '(it needs the Debian package libopenblas-openmp-dev; `npm test` installs it when run as root)',
  );
}

// libgomp's idle threads spin ~300k iterations before sleeping. That makes small parallel regions cheap on
// an idle machine, but when the cores are shared (the normal case on a user's machine) every spin is taken
// from another thread, often our own other thread that the spinner is waiting for. Measured on 2 shared cores
// (docs/speed.md, "Shared cores"): a stories260K-sized step 114–163 ms with 10k spins, 12–34 ms passive (one
// thread: 22–40 ms); the 10-layer 135M-shaped step 3.8–4.8 s vs 2.2–3.5 s, with 1.5× the CPU time. So threads
// sleep as soon as they wait (OMP_WAIT_POLICY=passive, as PyTorch's peer runs in bench engine). It must be
// set before libgomp loads; the user's own OMP_WAIT_POLICY or GOMP_SPINCOUNT wins.
if (process.env.GOMP_SPINCOUNT === undefined && process.env.OMP_WAIT_POLICY === undefined) process.env.OMP_WAIT_POLICY = 'passive';

export const native: NativeEngine = createRequire(import.meta.url)(findAddon()) as NativeEngine;
// At exit Node detaches every external buffer, each detach taking its bytes out of V8's count; buffers still
// uncounted then (a tape or scope never disposed) would take it below zero, a fatal error since Node 24.
process.once('exit', () => native.recountAll());
