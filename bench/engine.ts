// `npm run bench -- engine [--json] [--seqs 256,512,1024,2048] [--batches 8x128] [--reps 3] [--threads 2] [--no-peer] [--peer-wait passive|default] [--contended [N]]`
// One LoRA training step (forward + backward + AdamW, LoRA r = 8 on q,k,v,o,gate,up,down) of a frozen
// SmolLM2-135M-shaped model with random weights, against PyTorch doing the same step in the same run with the
// same threads (case by case, the peer's process right before ours): batch 1 at each of --seqs, and B sequences of T tokens for each BxT of --batches (ours packed
// into one pass, src/lift/packed.ts, and looped one sequence at a time — `packed` says which; PyTorch's one
// [B, T] batch). Also measures plain sgemm throughput to put the step's matmul rate in context.
// --contended [N]: every case (default 256 tokens only) is timed quiet and then again while N CPU-bound
// companion processes (default 1, bench/companion.ts) share the cores, alternating step by step, ours and PyTorch's; lines
// carry contended: true, contended_seconds, slowdown (contended / quiet) and the peer's peer_slowdown.
// --profile: after each case's timed steps, --reps more steps with every native kernel timed (bench/profile.ts):
// an `engine.profile` line with seconds per step in gemm / lm_head / lora / attention / loss / norm_rope /
// elementwise / optimizer / alloc / other, and overhead (what no kernel accounts for: tape, JS, the loop).
// With --contended, a second profile line (contended: true) times the same steps with the companions running.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tape, crossEntropy, AdamW, native, memoryStats, cpuFeatures, type Compute } from '../src/engine/index.js';
import { withBf16Weights } from '../src/model/compute.js';
import { parseHFConfig, type LlamaConfig } from '../src/model/config.js';
import type { LlamaModel } from '../src/model/llama.js';
import { randomLlama } from '../src/model/random.js';
import { LoraAdapter, ALL_LINEAR } from '../src/adapters/lora.js';
import { seededRandom } from '../src/adapters/init.js';
import { Output, log, median, torchPython, type BenchArgs } from './util.js';
import { startCompanions, startLauncher } from './companion.js';
import { threadsFlag } from './threads-flag.js';
import { startProfile, profileSplit } from './profile.js';

/** The PyTorch peer's environment: passive OpenMP waits (as ours), or libgomp's default policy. */
function peerEnv(defaultWait: boolean, threads: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: String(threads) };
  if (defaultWait) delete env.OMP_WAIT_POLICY;
  else env.OMP_WAIT_POLICY = 'passive';
  return env;
}

export const SMOLLM2_135M = {
  architectures: ['LlamaForCausalLM'],
  hidden_size: 576,
  intermediate_size: 1536,
  num_hidden_layers: 30,
  num_attention_heads: 9,
  num_key_value_heads: 3,
  vocab_size: 49152,
  rms_norm_eps: 1e-5,
  rope_theta: 100000,
  tie_word_embeddings: true,
  max_position_embeddings: 8192,
};

/** A frozen model of the given shape with N(0, 0.02²)-ish uniform random weights, U(±0.035) (norms at 1). */
export function randomModel(config: LlamaConfig, seed = 0): LlamaModel {
  return randomLlama(config, { seed, scale: 0.035 });
}

/** Matmul FLOPs of one LoRA step: forward + input-gradient backward through every frozen linear, LoRA, attention. */
export function stepFlops(c: LlamaConfig, T: number, r: number): number {
  const C = c.hidden_size, QD = c.num_attention_heads * c.head_dim, KD = c.num_key_value_heads * c.head_dim, I = c.intermediate_size;
  const lin = c.num_hidden_layers * (C * QD * 2 + C * KD * 2 + 3 * C * I) + c.vocab_size * C;
  const loraIO = c.num_hidden_layers * ((C + QD) * 2 + (C + KD) * 2 + 3 * (C + I));
  const attn = c.num_hidden_layers * c.num_attention_heads * c.head_dim * T * T; // causal half of T², ×2 flops
  return 2 * T * lin * 2 + 3 * 2 * T * r * loraIO + attn * 2 * (2 + 5);
}

function gemmGflops(M: number, N: number, K: number): number {
  const a = new Float32Array(M * K).fill(0.5), b = new Float32Array(N * K).fill(0.25), c = new Float32Array(M * N);
  native.gemm(false, true, M, N, K, 1, a, 0, K, b, 0, K, 0, c, 0, N);
  const reps = Math.max(3, Math.ceil(2e10 / (2 * M * N * K)));
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) native.gemm(false, true, M, N, K, 1, a, 0, K, b, 0, K, 0, c, 0, N);
  return (2 * M * N * K * reps) / ((performance.now() - t0) / 1000) / 1e9;
}

export async function benchEngine(args: BenchArgs): Promise<void> {
  const contended = args.flags.has('contended') ? Number(args.flags.get('contended') === 'true' ? 1 : args.flags.get('contended')) : 0;
  if (args.flags.has('contended') && !(Number.isInteger(contended) && contended >= 1)) throw new Error(`--contended: expected a number of companion processes ≥ 1, got ${JSON.stringify(args.flags.get('contended'))}`);
  const seqs = (args.flags.get('seqs') ?? (contended ? '256' : '256,512,1024,2048')).split(',').map(Number);
  const batches = (args.flags.get('batches') ?? (contended ? '' : '8x128')).split(',').filter(Boolean).map((c) => c.split('x').map(Number) as [number, number]);
  const reps = Number(args.flags.get('reps') ?? 3);
  const threads = threadsFlag(args.flags.get('threads'), 2);
  // --compute fp32,bf16: each case once per compute (bf16: frozen weights in bf16 on the bf16 units, src/model/compute.ts).
  const computes = (args.flags.get('compute') ?? (cpuFeatures().bf16 && !contended ? 'fp32,bf16' : 'fp32')).split(',') as Compute[];
  const r = 8;
  native.setThreads(threads);
  const out = new Output(args.json), profOut = new Output(args.json);
  const config = parseHFConfig(SMOLLM2_135M, 'SmolLM2-135M shape');

  const sq = gemmGflops(1024, 1024, 1024), lin = gemmGflops(512, 1536, 576);
  log(`sgemm: 1024³ ${sq.toFixed(1)} GFLOP/s; 512×1536×576 (an MLP projection) ${lin.toFixed(1)} GFLOP/s on ${threads} threads (OpenBLAS ${native.blasCore()} kernels)`);

  // The PyTorch peer runs case by case, each in a process of its own right before ours runs the same case: the two
  // never share the cores, a VM whose speed drifts over minutes slows both sides of a ratio alike, and the peer's
  // peak RSS is that case's own. (It used to run all cases first; its ratios then mixed different minutes.)
  type PeerLine = { seq: number; batch: number; seconds: number; contended_seconds?: number; peak_rss_mb: number };
  const peer = new Map<string, PeerLine>(); // by `${batch}x${seq}`
  const py = args.flags.has('no-peer') ? null : torchPython();
  if (!py && !args.flags.has('no-peer')) log('PyTorch not importable (apt-get install python3-torch): peer columns left empty');
  const runPeer = (B: number, T: number): PeerLine | undefined => {
    const key = `${B}x${T}`;
    if (!py || peer.has(key)) return peer.get(key);
    const c = B === 1 ? String(T) : key;
    log(`running the PyTorch peer (${c} tokens, ${reps} reps)…`);
    const script = join(dirname(fileURLToPath(import.meta.url)), 'peers', 'torch_lora_step.py');
    const companion = contended ? [String(contended), JSON.stringify([process.execPath, '-e', 'for (;;) {}'])] : [];
    const res = spawnSync(py, [script, JSON.stringify(SMOLLM2_135M), c, String(reps), String(threads), String(r), ...companion], {
      encoding: 'utf8',
      // --peer-wait default: PyTorch's own OpenMP wait policy (libgomp spins, then sleeps) instead of passive, the
      // policy our addon now uses too: the peer as users run it, to check the ratio does not rest on the policy.
      // (src/engine/native.ts sets OMP_WAIT_POLICY=passive in this process's env, hence the delete.)
      env: peerEnv(args.flags.get('peer-wait') === 'default', threads),
      maxBuffer: 1 << 20,
    });
    if (res.status !== 0) log(`PyTorch peer failed: ${res.stderr.slice(-2000)}`);
    for (const line of res.stdout.split('\n').filter(Boolean)) {
      const j = JSON.parse(line) as PeerLine;
      peer.set(`${j.batch}x${j.seq}`, j);
    }
    return peer.get(key);
  };

  if (contended) startLauncher(); // before the model: companions are then never forked by this large process
  const model = randomModel(config);
  const models = new Map(computes.map((c) => [c, c === 'bf16' ? withBf16Weights(randomModel(config)) : model] as const));
  let active = model;
  const lora = new LoraAdapter(model, { r, lora_alpha: 2 * r, target_modules: ALL_LINEAR, seed: 1 });
  const opt = new AdamW(lora.parameters(), { lr: 1e-3 });
  const rand = seededRandom(5);
  // B sequences of T tokens: packed — one forward/backward over B·T rows with offsets (attention within each
  // sequence) — or looped, one pass per sequence with its loss scaled by 1/B (the trainer with packTokens 0).
  const step = (T: number, B = 1, packed = true): void => {
    const seqsIds = Array.from({ length: B }, () => Int32Array.from({ length: T + 1 }, () => Math.floor(rand() * config.vocab_size)));
    opt.zeroGrad();
    const passes = packed ? [seqsIds] : seqsIds.map((x) => [x]);
    for (const group of passes) {
      const ids = new Int32Array(group.length * T), labels = new Int32Array(group.length * T);
      group.forEach((x, i) => { ids.set(x.subarray(0, T), i * T); labels.set(x.subarray(1), i * T); });
      const offsets = group.length > 1 ? Int32Array.from({ length: group.length + 1 }, (_, i) => i * T) : undefined;
      const tape = new Tape();
      const { loss } = tape.record(() => crossEntropy(active.forward(ids, { adapter: lora, offsets }), labels, { inPlace: true }));
      tape.backward(loss, group.length / B);
      tape.dispose();
    }
    opt.stepWith();
  };
  const cases: [number, number, boolean][] = [...seqs.map((T) => [T, 1, true] as [number, number, boolean]), ...batches.flatMap(([B, T]) => [[T, B, true], [T, B, false]] as [number, number, boolean][])];
  for (const [compute, [T, B, packed]] of computes.flatMap((c) => cases.map((k) => [c, k] as const))) {
    const p = runPeer(B, T);
    active = models.get(compute)!;
    native.trimPool();
    step(T, B, packed);
    const times: number[] = [], ct: number[] = [];
    const timed = (): number => {
      const t0 = performance.now();
      step(T, B, packed);
      return (performance.now() - t0) / 1000;
    };
    for (let i = 0; i < reps; i++) {
      times.push(timed());
      if (!contended) continue;
      // The contended step right after each quiet one (alternating), so drifting background load hits both alike.
      const comp = await startCompanions(contended);
      try {
        ct.push(timed());
      } finally {
        await comp.stop();
      }
    }
    const s = median(times);
    if (args.flags.has('profile')) {
      // The split quiet, then (--contended) with the companions running: which kernels lose time when a core is shared.
      for (const busy of contended ? [false, true] : [false]) {
        const comp = busy ? await startCompanions(contended) : null;
        const prof = startProfile(config.vocab_size);
        let total = 0;
        try {
          for (let i = 0; i < reps; i++) total += timed();
        } finally {
          prof.stop();
          await comp?.stop();
        }
        profOut.emit({ bench: 'engine.profile', compute, seq: T, batch: B, packed, contended: busy, seconds: total / reps, ...profileSplit(prof, total, reps) });
      }
    }
    const sc = contended ? median(ct) : null;
    const pc = p?.contended_seconds ?? null;
    out.emit({
      bench: 'engine.lora_step',
      compute,
      seq: T,
      batch: B,
      packed,
      seconds: s,
      tokens_per_s: (B * T) / s,
      gflops: (B * stepFlops(config, T, r)) / s / 1e9,
      gemm_peak_gflops: sq,
      // OpenBLAS's kernel set (both peers load the same libopenblas, and the peer inherits OPENBLAS_CORETYPE).
      blas_core: native.blasCore(),
      peak_rss_mb: process.resourceUsage().maxRSS / 1024,
      peak_native_mb: memoryStats().peakBytes / 2 ** 20,
      threads,
      peer: 'pytorch',
      peer_seconds: p?.seconds ?? null,
      peer_tokens_per_s: p ? (B * T) / p.seconds : null,
      peer_peak_rss_mb: p?.peak_rss_mb ?? null,
      ratio: p ? p.seconds / s : null,
      contended: contended > 0,
      ...(contended ? {
        companions: contended, contended_seconds: sc, slowdown: sc! / s,
        peer_contended_seconds: pc, peer_slowdown: p && pc ? pc / p.seconds : null, contended_ratio: pc ? pc / sc! : null,
      } : {}),
    });
  }
  if (contended) out.table(['compute', 'seq', 'batch', 'seconds', 'contended_seconds', 'slowdown', 'peer_seconds', 'peer_contended_seconds', 'peer_slowdown']);
  else out.table(['compute', 'seq', 'batch', 'packed', 'seconds', 'tokens_per_s', 'gflops', 'peak_native_mb', 'peer_tokens_per_s', 'peer_peak_rss_mb', 'ratio']);
  profOut.table(['compute', 'seq', 'batch', 'seconds', 'gemm_s', 'lm_head_s', 'lora_s', 'attention_s', 'loss_s', 'norm_rope_s', 'elementwise_s', 'optimizer_s', 'alloc_s', 'other_s', 'overhead_s']);
  opt.dispose();
  lora.dispose();
  model.dispose();
  models.get('bf16')?.dispose();
}
