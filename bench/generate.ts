// `npm run bench -- generate [--json] [--threads 2] [--prompt 128] [--tokens 128] [--reps 1] [--models stories,smollm2] [--no-matvec] [--lora R | --gated-memory] [--contended [N]]`
// Greedy generation speed against llama.cpp (node-llama-cpp's prebuilt CPU build) on the same GGUF file with the
// same threads: prefill a prompt, then decode token by token with the KV cache. Models: stories260K.gguf and a
// SmolLM2-135M-shaped random model written as an F32 GGUF into the temp folder (deleted afterwards).
// llama.cpp runs twice: with the arithmetic we do (F32 KV cache, no flash attention; the `peer` columns), and with
// its defaults (F16 KV cache, flash attention auto), which a llama.cpp user would get. The three take turns rep by
// rep; `ratio` is ours over llama.cpp's median decode rate, `ratio_paired` the median of the per-rep ratios.
// A fourth side in the same turns is ours op by op (useNativeDecode(false): every decode token through
// LlamaModel.forward's ops, as before native/decode.cc): `ops_decode_tokens_per_s`, `native_decode_speedup`. With
// --threads above 1, a fifth is the native token without its thread team (LIFT_DECODE_TEAM=0: each product opens
// its own parallel region, as before native/team.h): `solo_decode_tokens_per_s`, and a sixth the team pinned
// (LIFT_DECODE_THREADS=all: never one thread, as before src/model/decode-threads.ts): `team_decode_tokens_per_s`,
// `team_speedup` (+ `_paired`: the pinned team over the team-less token), `adaptive_speedup` (+ `_paired`: ours,
// which picks all threads or one by measured token time, over the pinned team) and `one_thread_share` (the share
// of our decode tokens that ran on one thread).
// `--lora R`: both of our sides decode with a LoRA adapter of rank R on every linear layer (as `lift ask` with an
// absorbed adapter); `--gated-memory`: with LIFT's Gated Memory at the paper's settings (+ its head LoRA r2), the
// default adapter on models with heads wider than 16. llama.cpp is not run then (its columns are null); the line
// carries `lora_rank` and `gated_memory`.
// `--contended [N]`: N CPU-bound companion processes (default 1) run through all the reps, every side alike
// (bench/companion.ts, as `bench engine --contended`); the line carries `contended: true` and `companions`.
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { native, tidy } from '../src/engine/index.js';
import { useMatvec } from '../src/engine/ops/linear.js';
import { parseHFConfig } from '../src/model/config.js';
import { loadModelFromPath } from '../src/model/load.js';
import { KVCache } from '../src/model/kv-cache.js';
import { useNativeDecode } from '../src/model/native-decode.js';
import { ALL_LINEAR, LoraAdapter } from '../src/adapters/lora.js';
import { GatedMemoryAdapter } from '../src/adapters/gated-memory.js';
import { writeModelGGUF, type SpmVocab } from '../src/model/convert.js';
import { TokenType } from '../src/text/gguf-vocab-tokenizer.js';
import { seededRandom } from '../src/adapters/init.js';
import { SMOLLM2_135M, randomModel } from './engine.js';
import { Output, log, median, type BenchArgs } from './util.js';
import { threadsFlag } from './threads-flag.js';
import { startCompanions, startLauncher, type Companions } from './companion.js';

interface Timing { prefill_s: number; decode_s: number; weight_bytes?: number; one_thread_share?: number }

// Counts our native decode tokens and those capped at one thread (decodeStep's last argument), for one_thread_share.
const capCount = { tokens: 0, one: 0 };
const realDecodeStep = native.decodeStep.bind(native);
native.decodeStep = (...a) => {
  capCount.tokens++;
  if (a[14] === 1) capCount.one++;
  return realDecodeStep(...a);
};

/** A throwaway SentencePiece vocabulary of `n` tokens (<unk>, <s>, </s>, 256 bytes, then t259…) for a random model. */
function syntheticVocab(n: number): SpmVocab {
  const tokens = ['<unk>', '<s>', '</s>', ...Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)];
  const types: number[] = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL, ...new Array<number>(256).fill(TokenType.BYTE)];
  for (let i = tokens.length; i < n; i++) [tokens[i], types[i]] = [`t${i}`, TokenType.NORMAL];
  return { tokens, types, scores: tokens.map((_, i) => (i < 259 ? 0 : -i)), bosId: 1, eosId: 2, unkId: 0, addBos: true, addSpacePrefix: true, chatTemplate: null };
}

const argmax = (x: Float32Array): number => {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
};

/** A side of the comparison: `once(n)` prefills the prompt into a fresh cache and decodes n tokens, greedy. */
interface Runner { once(n: number): Promise<Timing>; dispose(): Promise<void>; weight_bytes?: number }

/**
 * Ours: one forward over the prompt into a fresh KV cache, then single-token steps; `nativeDecode` false: op by op;
 * `team` false: the native token without its thread team (LIFT_DECODE_TEAM=0, native/team.h); `pinned`: the
 * engine's threads on every token (LIFT_DECODE_THREADS=all), else all or one as decode-threads.ts measures.
 */
function openOurs(path: string, prompt: number[], o: { nativeDecode: boolean; team: boolean; pinned: boolean; loraRank: number; gatedMemory: boolean }): Runner {
  const { nativeDecode, team, pinned, loraRank, gatedMemory } = o;
  const { model } = loadModelFromPath(path);
  const lora = loraRank > 0 ? new LoraAdapter(model, { r: loraRank, lora_alpha: 2 * loraRank, target_modules: ALL_LINEAR, seed: 1 }) : null;
  // B drawn too (PEFT starts it at 0), so the adapter's products are real work on real values.
  for (const [, B] of lora?.modules.values() ?? []) B.f32().forEach((_, i, d) => (d[i] = ((i % 13) - 6) * 1e-3));
  const adapter = lora ?? (gatedMemory ? new GatedMemoryAdapter(model, { seed: 1 }) : null);
  // Bytes of weights one decode step must read: every matrix, except an untied embedding table (one row per token).
  const untiedEmbed = model.config.tie_word_embeddings ? null : 'model.embed_tokens.weight';
  const weight_bytes = [...model.weights].filter(([n, t]) => t.shape.length === 2 && n !== untiedEmbed).reduce((a, [, t]) => a + t.bytes().byteLength, 0);
  return {
    weight_bytes,
    async once(n: number): Promise<Timing> {
      const cache = new KVCache(model.config, prompt.length + n + 1);
      const was = useNativeDecode(nativeDecode), teamWas = process.env.LIFT_DECODE_TEAM, threadsWas = process.env.LIFT_DECODE_THREADS;
      if (!team) process.env.LIFT_DECODE_TEAM = '0';
      if (pinned) process.env.LIFT_DECODE_THREADS = 'all';
      try {
        const t0 = performance.now();
        let tok = tidy(() => argmax(model.forward(Int32Array.from(prompt), { cache, lastOnly: true, adapter }).f32()));
        const t1 = performance.now();
        const counted = { ...capCount };
        for (let i = 0; i < n; i++) tok = tidy(() => argmax(model.forward(Int32Array.of(tok), { cache, lastOnly: true, adapter }).f32()));
        const tokens = capCount.tokens - counted.tokens;
        return { prefill_s: (t1 - t0) / 1000, decode_s: (performance.now() - t1) / 1000, one_thread_share: tokens ? (capCount.one - counted.one) / tokens : 0 };
      } finally {
        useNativeDecode(was);
        if (teamWas === undefined) delete process.env.LIFT_DECODE_TEAM;
        else process.env.LIFT_DECODE_TEAM = teamWas;
        if (threadsWas === undefined) delete process.env.LIFT_DECODE_THREADS;
        else process.env.LIFT_DECODE_THREADS = threadsWas;
        cache.dispose();
      }
    },
    async dispose() {
      adapter?.dispose();
      model.dispose();
    },
  };
}

import type { Token } from 'node-llama-cpp';

type NLC = typeof import('node-llama-cpp');

/** llama.cpp: evaluate() yields the greedy token after the prompt, then one per decode step (EOS banned so it never stops early). */
async function openPeer(nlc: NLC, llama: Awaited<ReturnType<NLC['getLlama']>>, path: string, prompt: number[], tokens: number, threads: number, sameArithmetic: boolean): Promise<Runner> {
  const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
  const ctx = await model.createContext({
    contextSize: Math.max(256, prompt.length + tokens + 8), batchSize: prompt.length, threads, sequences: 1,
    ...(sameArithmetic ? { flashAttention: false, experimentalKvCacheKeyType: 'F32' as const, experimentalKvCacheValueType: 'F32' as const } : {}),
  });
  const seq = ctx.getSequence();
  const bias = new nlc.TokenBias(model.tokenizer);
  if (model.tokens.eos !== null) bias.set(model.tokens.eos, 'never');
  return {
    async once(n: number): Promise<Timing> {
      await seq.clearHistory();
      const t0 = performance.now();
      let t1 = t0, got = 0;
      for await (const tok of seq.evaluate(prompt as Token[], { temperature: 0, tokenBias: bias })) {
        void tok;
        if (got === 0) t1 = performance.now();
        if (got++ === n) break;
      }
      if (got <= n) throw new Error(`llama.cpp stopped after ${got - 1} of ${n} decode steps`);
      return { prefill_s: (t1 - t0) / 1000, decode_s: (performance.now() - t1) / 1000 };
    },
    async dispose() {
      await ctx.dispose();
      await model.dispose();
    },
  };
}

const summarize = (runs: Timing[]): Timing => ({ prefill_s: median(runs.map((r) => r.prefill_s)), decode_s: median(runs.map((r) => r.decode_s)) });

export async function benchGenerate(args: BenchArgs): Promise<void> {
  const threads = threadsFlag(args.flags.get('threads'), 2);
  const P = Number(args.flags.get('prompt') ?? 128), N = Number(args.flags.get('tokens') ?? 128), reps = Number(args.flags.get('reps') ?? 1);
  const which = (args.flags.get('models') ?? 'stories,smollm2').split(',');
  const loraRank = Number(args.flags.get('lora') ?? 0);
  if (!Number.isInteger(loraRank) || loraRank < 0) throw new Error(`--lora: expected a whole rank ≥ 0, got ${args.flags.get('lora')}`);
  const gatedMemory = args.flags.has('gated-memory');
  if (gatedMemory && loraRank > 0) throw new Error('--lora and --gated-memory: choose one adapter');
  const withAdapter = loraRank > 0 || gatedMemory;
  const contended = args.flags.has('contended') ? Number(args.flags.get('contended') === 'true' ? 1 : args.flags.get('contended')) : 0;
  if (args.flags.has('contended') && !(Number.isInteger(contended) && contended >= 1)) throw new Error(`--contended: expected a number of companion processes ≥ 1, got ${JSON.stringify(args.flags.get('contended'))}`);
  if (contended) startLauncher(); // before any model: companions are then never forked by this large process (companion.ts)
  native.setThreads(threads);
  if (args.flags.has('no-matvec')) useMatvec(false); // decode through sgemm, as before native/matvec.cc (for before/after figures)
  const out = new Output(args.json);

  let nlc: NLC | null = null, llama: Awaited<ReturnType<NLC['getLlama']>> | null = null;
  try {
    nlc = await import('node-llama-cpp');
    // gpu: false -> the CPU build; build: 'never' -> never download or compile, only the prebuilt binaries.
    llama = await nlc.getLlama({ gpu: false, build: 'never', progressLogs: false, logLevel: nlc.LlamaLogLevel.error });
  } catch (e) {
    log(`node-llama-cpp unavailable (${(e as Error).message}): peer columns left empty`);
  }

  const models: { name: string; path: string; cleanup?: () => void }[] = [];
  if (which.includes('stories')) models.push({ name: 'stories260K', path: join(process.env.LIFT_SHARED ?? join(process.cwd(), '..', 'shared'), 'models/stories260K/stories260K.gguf') });
  if (which.includes('smollm2')) {
    const path = join(tmpdir(), `lift-bench-smollm2-135m-random-${process.pid}.gguf`);
    models.push({ name: 'smollm2-135m-random', path, cleanup: () => rmSync(path, { force: true }) });
  }
  try {
    for (const m of models) {
      if (m.cleanup) {
        log(`writing the random SmolLM2-135M-shaped model to ${m.path}…`);
        const config = parseHFConfig(SMOLLM2_135M, 'SmolLM2-135M shape');
        const rnd = randomModel(config);
        try { writeModelGGUF(m.path, config, rnd.weights, rnd.ropeLayout, syntheticVocab(config.vocab_size), 'smollm2-135m-random'); } finally { rnd.dispose(); }
      }
      const rand = seededRandom(11);
      const { model: probe } = loadModelFromPath(m.path);
      const V = probe.config.vocab_size;
      probe.dispose();
      const prompt = [1, ...Array.from({ length: P - 1 }, () => 259 + Math.floor(rand() * (V - 259)))];
      // The sides take turns, one rep each (ours, llama.cpp as we compute, llama.cpp's defaults): a machine whose
      // speed drifts over minutes (a shared VM) then slows every side alike, instead of whichever ran last.
      const sides: Runner[] = [], names: string[] = [];
      let runs: Timing[][];
      const side = (name: string, r: Runner) => (sides.push(r), names.push(name));
      const adapterOpts = { loraRank, gatedMemory };
      try {
        log(`${m.name}: loading ours${nlc && llama ? ', llama.cpp (F32 KV, no flash attention) and llama.cpp (defaults: F16 KV, flash attention auto)' : ''}…`);
        side('ours', openOurs(m.path, prompt, { nativeDecode: true, team: true, pinned: false, ...adapterOpts }));
        if (nlc && llama && !withAdapter) for (const same of [true, false]) side(same ? 'peer' : 'peerDefault', await openPeer(nlc, llama, m.path, prompt, N, threads, same));
        // With threads, ours again without the token's thread team (each product splitting its own rows, as before
        // it), and with the team on every token (never one thread).
        if (threads > 1) side('solo', openOurs(m.path, prompt, { nativeDecode: true, team: false, pinned: true, ...adapterOpts }));
        if (threads > 1) side('team', openOurs(m.path, prompt, { nativeDecode: true, team: true, pinned: true, ...adapterOpts }));
        side('ops', openOurs(m.path, prompt, { nativeDecode: false, team: true, pinned: true, ...adapterOpts }));
        for (const side of sides) await side.once(4); // warm-up: page in the weights, grow the buffer pools
        runs = sides.map(() => []);
        let comp: Companions | null = contended ? await startCompanions(contended) : null;
        try {
          for (let r = 0; r < reps; r++) {
            log(`${m.name}: rep ${r + 1} of ${reps}${comp ? ` with ${contended} busy companion process(es)` : ''}…`);
            for (let i = 0; i < sides.length; i++) runs[i].push(await sides[i].once(N));
          }
        } finally {
          await comp?.stop();
          comp = null;
        }
      } finally {
        for (const side of sides) await side.dispose();
      }
      const ours: Timing & { weight_bytes?: number } = { ...summarize(runs[0]), weight_bytes: sides[0].weight_bytes };
      const runsOf = (name: string): Timing[] | null => (names.includes(name) ? runs[names.indexOf(name)] : null);
      const peerRuns = runsOf('peer'), soloRuns = runsOf('solo'), teamRuns = runsOf('team');
      const peer = peerRuns ? summarize(peerRuns) : null, peerDefault = runsOf('peerDefault') ? summarize(runsOf('peerDefault')!) : null;
      const ops = summarize(runsOf('ops')!), solo = soloRuns ? summarize(soloRuns) : null, team = teamRuns ? summarize(teamRuns) : null;
      // Median over reps of ours / llama.cpp within a rep (the two ran back to back).
      const pairedRatio = peerRuns ? median(runs[0].map((o, r) => peerRuns[r].decode_s / o.decode_s)) : null;
      const decode = N / ours.decode_s, peerDecode = peer ? N / peer.decode_s : null;
      out.emit({
        bench: 'generate', model: m.name, threads, prompt_tokens: P, decode_tokens: N,
        prefill_tokens_per_s: P / ours.prefill_s, decode_tokens_per_s: decode,
        // The memory-bandwidth view of decode: weight bytes read per token × tokens per second.
        weight_mb: ours.weight_bytes! / 1e6, decode_weight_gb_s: (ours.weight_bytes! * decode) / 1e9, matvec: !args.flags.has('no-matvec'),
        peer: 'llama.cpp', peer_prefill_tokens_per_s: peer ? P / peer.prefill_s : null, peer_decode_tokens_per_s: peerDecode,
        ratio: peerDecode ? decode / peerDecode : null, ratio_paired: pairedRatio, interleaved: true, reps,
        peer_default_prefill_tokens_per_s: peerDefault ? P / peerDefault.prefill_s : null,
        peer_default_decode_tokens_per_s: peerDefault ? N / peerDefault.decode_s : null,
        native_decode: true, lora_rank: loraRank, gated_memory: gatedMemory, ops_decode_tokens_per_s: N / ops.decode_s, native_decode_speedup: ops.decode_s / ours.decode_s,
        contended: contended > 0, companions: contended,
        team_decode: true, solo_decode_tokens_per_s: solo ? N / solo.decode_s : null, team_decode_tokens_per_s: team ? N / team.decode_s : null,
        team_speedup: solo && team ? solo.decode_s / team.decode_s : null,
        team_speedup_paired: soloRuns && teamRuns ? median(teamRuns.map((o, r) => soloRuns[r].decode_s / o.decode_s)) : null,
        adaptive_threads: true, adaptive_speedup: team ? team.decode_s / ours.decode_s : null,
        adaptive_speedup_paired: teamRuns ? median(runs[0].map((o, r) => teamRuns[r].decode_s / o.decode_s)) : null,
        one_thread_share: median(runs[0].map((o) => o.one_thread_share ?? 0)),
      });
      m.cleanup?.();
    }
  } finally {
    for (const m of models) m.cleanup?.();
    await llama?.dispose();
  }
  out.table(['model', 'prefill_tokens_per_s', 'decode_tokens_per_s', 'decode_weight_gb_s', 'peer_prefill_tokens_per_s', 'peer_decode_tokens_per_s', 'ratio', 'peer_default_decode_tokens_per_s']);
}
