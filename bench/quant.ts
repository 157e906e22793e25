// `npm run bench -- quant [--json] [--shape small|1b] [--types f32,bf16,q8_0,q4_k_m] [--tokens 512] [--decode 32] [--reps 2] [--threads 2] [--rounds 1]`
// Quantized bases (issue 12 item 6): one random Llama written by our writer as an F32 GGUF, then `convert --type`
// to each type; per type, in a fresh child process (so RSS is that load's): the load's peak RSS, a LoRA r=8
// training step (all linear layers, forward + backward + AdamW) at --tokens tokens, and greedy decode with the
// KV cache; then llama.cpp (node-llama-cpp, same file, same threads, F32 KV cache, no flash attention) decoding
// the same way. --rounds N alternates ours and llama.cpp N times per type (decode only after the first round) and
// reports the medians and the median of the per-round ratios: on a shared machine a load change then hits both
// sides of a ratio alike. load_rss_mb is the child's RSS after loading (node + tsx + addon included: model_rss_mb
// subtracts what the child held before the load; weights_mb is the bytes of the loaded tensors). Shapes: `small` (hidden 1024, 4 layers, 16 heads / 4 KV heads, intermediate 2816, 512-token
// vocabulary) runs in minutes; `1b` is the issue's Llama-3.2-1B shape (hidden 2048, 16 layers, 32/8 heads,
// intermediate 8192) with Llama 3's vocabulary from ../shared/tokenizers/llama3 (writes ~5 GB, needs ~1 h).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AdamW, Tape, crossEntropy, native, tidy } from '../src/engine/index.js';
import { parseHFConfig } from '../src/model/config.js';
import { convertModel, writeModelGGUF, type SpmVocab } from '../src/model/convert.js';
import { loadModelFromPath } from '../src/model/load.js';
import { KVCache } from '../src/model/kv-cache.js';
import { ALL_LINEAR, LoraAdapter } from '../src/adapters/lora.js';
import { seededRandom } from '../src/adapters/init.js';
import { TokenType } from '../src/text/gguf-vocab-tokenizer.js';
import { GGUF_FILE_TYPES, type GGUFFileType } from '../src/model/gguf-types.js';
import { randomModel } from './engine.js';
import { Output, log, median, type BenchArgs } from './util.js';
import { threadsFlag } from './threads-flag.js';

const SHAPES: Record<string, Record<string, unknown>> = {
  small: { hidden_size: 1024, num_hidden_layers: 4, num_attention_heads: 16, num_key_value_heads: 4, intermediate_size: 2816, vocab_size: 512 },
  '1b': { hidden_size: 2048, num_hidden_layers: 16, num_attention_heads: 32, num_key_value_heads: 8, intermediate_size: 8192, vocab_size: 128256 },
};

/** A throwaway SentencePiece vocabulary: <unk>, <s>, </s>, 256 byte tokens, then t259 … */
function syntheticVocab(n: number): SpmVocab {
  const tokens = ['<unk>', '<s>', '</s>', ...Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)];
  const types: number[] = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL, ...new Array<number>(256).fill(TokenType.BYTE)];
  for (let i = tokens.length; i < n; i++) [tokens[i], types[i]] = [`t${i}`, TokenType.NORMAL];
  return { tokens, types, scores: tokens.map((_, i) => (i < 259 ? 0 : -i)), bosId: 1, eosId: 2, unkId: 0, addBos: true, addSpacePrefix: true, chatTemplate: null };
}

interface ChildResult { load_rss_mb: number; base_rss_mb: number; weights_mb: number; step_s: number; decode_tok_s: number }

/** Runs in the child: load, time LoRA steps and greedy decode. */
function measure(path: string, T: number, decode: number, reps: number, withStep = true): ChildResult {
  const base_rss_mb = process.memoryUsage().rss / 2 ** 20; // node + tsx + the addon, before the model
  const { model } = loadModelFromPath(path);
  const load_rss_mb = process.memoryUsage().rss / 2 ** 20; // mapped weight pages count once touched (the load's finiteness check touches all)
  const weights_mb = model.parameters().reduce((s, t) => s + t.bytes().length, 0) / 2 ** 20;
  const V = model.config.vocab_size, rand = seededRandom(5);
  const ids = Int32Array.from({ length: T }, () => 3 + Math.floor(rand() * (V - 3)));
  const targets = Int32Array.from({ length: T }, () => 3 + Math.floor(rand() * (V - 3)));
  let step_s = NaN;
  if (withStep) {
    const lora = new LoraAdapter(model, { r: 8, lora_alpha: 16, target_modules: ALL_LINEAR, seed: 1 });
    const opt = new AdamW(lora.parameters(), { lr: 1e-4 });
    const step = (): number => {
      const t0 = performance.now();
      opt.zeroGrad();
      const tape = new Tape();
      const { loss } = tape.record(() => crossEntropy(model.forward(ids, { adapter: lora }), targets));
      tape.backward(loss);
      opt.stepWith();
      tape.dispose();
      return (performance.now() - t0) / 1000;
    };
    step(); // warm-up: page in, grow the buffer pool
    step_s = median(Array.from({ length: reps }, step));
    opt.dispose();
    lora.dispose();
  }
  const prompt = Int32Array.from(ids.subarray(0, 16));
  const argmax = (x: Float32Array) => x.reduce((b, v, i) => (v > x[b] ? i : b), 0);
  const gen = (n: number): number => {
    const cache = new KVCache(model.config, prompt.length + n + 1);
    try {
      let tok = tidy(() => argmax(model.forward(prompt, { cache, lastOnly: true }).f32()));
      const t0 = performance.now();
      for (let i = 0; i < n; i++) tok = tidy(() => argmax(model.forward(Int32Array.of(tok), { cache, lastOnly: true }).f32()));
      return n / ((performance.now() - t0) / 1000);
    } finally {
      cache.dispose();
    }
  };
  gen(4);
  const decode_tok_s = median(Array.from({ length: reps }, () => gen(decode)));
  model.dispose();
  return { load_rss_mb, base_rss_mb, weights_mb, step_s, decode_tok_s };
}

type NLC = typeof import('node-llama-cpp');
/** llama.cpp's greedy decode speed on the same file (tokens per second after a 16-token prompt). */
async function llamaCppDecode(nlc: NLC, llama: Awaited<ReturnType<NLC['getLlama']>>, path: string, n: number, threads: number): Promise<number> {
  const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
  try {
    const ctx = await model.createContext({ contextSize: 256, batchSize: 64, threads, flashAttention: false, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32' });
    try {
      const seq = ctx.getSequence();
      const bias = new nlc.TokenBias(model.tokenizer);
      if (model.tokens.eos !== null) bias.set(model.tokens.eos, 'never');
      const prompt = Array.from({ length: 16 }, (_, i) => 3 + i * 7) as import('node-llama-cpp').Token[];
      const once = async (k: number): Promise<number> => {
        await seq.clearHistory();
        let t1 = 0, got = 0;
        for await (const _ of seq.evaluate(prompt, { temperature: 0, tokenBias: bias })) {
          if (got === 0) t1 = performance.now();
          if (got++ === k) break;
        }
        return k / ((performance.now() - t1) / 1000);
      };
      await once(4);
      return await once(n);
    } finally {
      await ctx.dispose();
    }
  } finally {
    await model.dispose();
  }
}

export async function benchQuant(args: BenchArgs): Promise<void> {
  const shapeName = args.flags.get('shape') ?? 'small';
  const shape = SHAPES[shapeName];
  if (!shape) throw new Error(`--shape ${shapeName}: expected one of ${Object.keys(SHAPES).join(', ')}`);
  const types = (args.flags.get('types') ?? 'f32,bf16,q8_0,q4_k_m').split(',') as GGUFFileType[];
  for (const t of types) if (!GGUF_FILE_TYPES.includes(t)) throw new Error(`--types: ${t} is not one of ${GGUF_FILE_TYPES.join(', ')}`);
  const T = Number(args.flags.get('tokens') ?? 512), decode = Number(args.flags.get('decode') ?? 32);
  const reps = Number(args.flags.get('reps') ?? 2), threads = threadsFlag(args.flags.get('threads'), 2);
  const rounds = Number(args.flags.get('rounds') ?? 1);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds ${args.flags.get('rounds')}: expected a whole number >= 1`);
  const out = new Output(args.json);
  const dir = mkdtempSync(join(tmpdir(), 'lift-bench-quant-'));
  try {
    const config = parseHFConfig({ architectures: ['LlamaForCausalLM'], rms_norm_eps: 1e-5, rope_theta: 500000, tie_word_embeddings: true, max_position_embeddings: 2048, ...shape }, `${shapeName} shape`);
    const f32 = join(dir, 'random-f32.gguf');
    log(`writing the random ${shapeName}-shaped model…`);
    const rnd = randomModel(config);
    const tmp = shapeName === '1b' ? join(dir, 'random-synthetic-vocab.gguf') : f32;
    try { writeModelGGUF(tmp, config, rnd.weights, rnd.ropeLayout, syntheticVocab(config.vocab_size), `${shapeName}-random`); } finally { rnd.dispose(); }
    if (shapeName === '1b') {
      const tok = join(process.env.LIFT_SHARED ?? join(process.cwd(), '..', 'shared'), 'tokenizers/llama3/tokenizer.json');
      if (!existsSync(tok)) throw new Error(`--shape 1b needs Llama 3's tokenizer at ${tok}`);
      convertModel(tmp, 'gguf', f32, { vocab: tok } as Parameters<typeof convertModel>[3]);
      rmSync(tmp);
    }
    let nlc: NLC | null = null, llama: Awaited<ReturnType<NLC['getLlama']>> | null = null;
    try {
      nlc = await import('node-llama-cpp');
      llama = await nlc.getLlama({ gpu: false, build: 'never', progressLogs: false, logLevel: nlc.LlamaLogLevel.error });
    } catch (e) {
      log(`node-llama-cpp unavailable (${(e as Error).message}): llama.cpp columns left empty`);
    }
    let f32Step: number | null = null;
    for (const type of types) {
      const path = type === 'f32' ? f32 : join(dir, `random-${type}.gguf`);
      if (type !== 'f32') convertModel(f32, 'gguf', path, { type });
      const ours: ChildResult[] = [], peers: number[] = [], ratios: number[] = [];
      for (let round = 0; round < rounds; round++) {
        log(`${type}: ours (child process)${rounds > 1 ? `, round ${round + 1}/${rounds}` : ''}…`);
        const child = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', path, String(T), String(decode), String(reps), round === 0 ? 'step' : 'decode'],
          { encoding: 'utf8', env: { ...process.env, LIFT_THREADS: String(threads) }, maxBuffer: 1 << 20 });
        if (child.status !== 0) throw new Error(`child for ${type} failed: ${child.stderr}`);
        const r = JSON.parse(child.stdout.trim().split('\n').pop()!) as ChildResult;
        ours.push(r);
        if (nlc && llama) {
          log(`${type}: llama.cpp…`);
          const p = await llamaCppDecode(nlc, llama, path, decode, threads);
          peers.push(p);
          ratios.push(r.decode_tok_s / p);
        }
      }
      const r = { ...ours[0], decode_tok_s: median(ours.map((o) => o.decode_tok_s)) };
      if (type === 'f32') f32Step = r.step_s;
      const peer = peers.length ? median(peers) : null;
      out.emit({
        bench: 'quant', shape: shapeName, type, load_rss_mb: Math.round(r.load_rss_mb), model_rss_mb: Math.round(r.load_rss_mb - r.base_rss_mb),
        weights_mb: Math.round(r.weights_mb), step_s: r.step_s,
        step_ratio_vs_f32: f32Step ? r.step_s / f32Step : null, decode_tok_s: r.decode_tok_s,
        llamacpp_decode_tok_s: peer, decode_ratio: ratios.length ? median(ratios) : null, tokens: T, threads, rounds,
      });
    }
    out.table(['shape', 'type', 'load_rss_mb', 'model_rss_mb', 'weights_mb', 'step_s', 'step_ratio_vs_f32', 'decode_tok_s', 'llamacpp_decode_tok_s', 'decode_ratio']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') {
  const [path, T, decode, reps, what] = process.argv.slice(3);
  process.stdout.write(JSON.stringify(measure(path, Number(T), Number(decode), Number(reps), what !== 'decode')) + '\n');
}
