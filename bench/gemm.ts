// `npm run bench -- gemm [--json] [--rows 256,512,1024,2048] [--threads 2] [--reps 5]`
// The frozen-weight products of a SmolLM2-135M-shaped LoRA step, one line per (rows, product): GFLOP/s of
// OpenBLAS sgemm (f32 weight), of the bf16 kernel on a weight packed once (the path linear() takes,
// native/gemm-bf16.cc bf16MatmulPacked) and of the bf16 kernel packing per call (bf16Matmul/bf16MatmulBackward,
// the path before). The three are called in turn, --reps rounds, best of each, so background load hits all alike.
import { native } from '../src/engine/index.js';
import { Output, log, type BenchArgs } from './util.js';
import { threadsFlag } from './threads-flag.js';

interface Product {
  name: string;
  /** Forward y[M,O] = x[M,I]·W[O,I]ᵀ, or input gradient dx[M,I] = dy[M,O]·W[O,I]. */
  dir: 'forward' | 'backward';
  O: number;
  I: number;
}

const C = 576, KV = 192, FF = 1536, V = 49152;
export const STEP_PRODUCTS: Product[] = [
  { name: 'q/o', dir: 'forward', O: C, I: C },
  { name: 'k/v', dir: 'forward', O: KV, I: C },
  { name: 'gate/up', dir: 'forward', O: FF, I: C },
  { name: 'down', dir: 'forward', O: C, I: FF },
  { name: 'lm_head', dir: 'forward', O: V, I: C },
  { name: 'q/o dx', dir: 'backward', O: C, I: C },
  { name: 'k/v dx', dir: 'backward', O: KV, I: C },
  { name: 'gate/up dx', dir: 'backward', O: FF, I: C },
  { name: 'down dx', dir: 'backward', O: C, I: FF },
  { name: 'lm_head dx', dir: 'backward', O: V, I: C },
];

function fill(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    a[i] = (s / 2 ** 32 - 0.5) * 0.1;
  }
  return a;
}

export async function benchGemm(args: BenchArgs): Promise<void> {
  const rows = (args.flags.get('rows') ?? '256,512,1024,2048').split(',').map(Number);
  const reps = Number(args.flags.get('reps') ?? 5);
  const threads = threadsFlag(args.flags.get('threads'), 2);
  native.setThreads(threads);
  if (!native.cpuFeatures().bf16) log('no AVX-512 BF16 units: only sgemm is measured');
  const bf16 = native.cpuFeatures().bf16;
  const out = new Output(args.json);
  for (const p of STEP_PRODUCTS) {
    const w = fill(p.O * p.I, 1), wb = new Uint16Array(p.O * p.I);
    native.fromF32(w, wb, 'bf16');
    const wBytes = new Uint8Array(wb.buffer);
    const fwd = p.dir === 'forward', K = fwd ? p.I : p.O, N = fwd ? p.O : p.I;
    const packed = bf16 ? new Uint8Array(native.bf16PackedBytes(K, N)) : null;
    if (packed) native.bf16Pack(wBytes, p.O, p.I, fwd, packed);
    for (const M of rows) {
      const a = fill(M * K, 2), c = new Float32Array(M * N);
      const runs: Record<string, () => void> = {
        sgemm: () => fwd ? native.gemm(false, true, M, N, K, 1, a, 0, K, w, 0, K, 0, c, 0, N) : native.gemm(false, false, M, N, K, 1, a, 0, K, w, 0, N, 0, c, 0, N),
        ...(packed ? {
          bf16_packed: () => native.bf16MatmulPacked(a, M, K, packed, N, c, false),
          bf16_per_call: () => fwd ? native.bf16Matmul(a, M, K, wBytes, N, c) : native.bf16MatmulBackward(a, M, K, wBytes, N, c, false),
        } : {}),
      };
      const best: Record<string, number> = {};
      for (const f of Object.values(runs)) f(); // warm-up
      for (let r = 0; r < reps; r++)
        for (const [k, f] of Object.entries(runs)) {
          const t0 = performance.now();
          f();
          const s = (performance.now() - t0) / 1000;
          best[k] = Math.min(best[k] ?? Infinity, s);
        }
      const gf = (s: number | undefined): number | null => (s ? (2 * M * N * K) / s / 1e9 : null);
      out.emit({
        bench: 'engine.gemm', product: p.name, dir: p.dir, M, K, N, threads,
        sgemm_gflops: gf(best.sgemm), bf16_packed_gflops: gf(best.bf16_packed), bf16_per_call_gflops: gf(best.bf16_per_call),
        packed_vs_sgemm: best.bf16_packed ? best.sgemm / best.bf16_packed : null,
      });
    }
  }
  out.table(['product', 'M', 'K', 'N', 'sgemm_gflops', 'bf16_packed_gflops', 'bf16_per_call_gflops', 'packed_vs_sgemm']);
}
