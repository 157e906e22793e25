// `npm run bench -- absorb --prepare [--mb 1,5,20] [--json]`: preparation only (absorb-prep.ts).
// `npm run bench -- absorb [--json] [--sizes 1024,2048,4096,8192,16384] [--adapter gated-memory|lora] [--budget 2048] [--pack N] [--profile]`:
// absorb time against document length on the SmolLM2-135M-shaped model (random weights, SmolLM2 tokenizer),
// one epoch, the paper's lengths scaled to a 2k window (budget 2048: segments 512, stride 192, CT context
// 1024), no QA. The number of segments grows linearly with the length and every sample has the same
// length, so the time per document token should stay flat: `seconds_per_1k_tokens` shows it. --budget sets
// another context budget (512: segments 128, CT context 256, samples ~384 tokens); --pack the tokens per
// packed training pass (0 = one pass per sample, the trainer before batching; default the trainer's).
// `--vs DIR [--reps N] [--together]`: the same configuration on another checkout DIR (e.g. a `git worktree` of
// an older commit, built) and on this tree, alternating, each in its own process; lines carry both times and
// `speedup` (DIR's seconds / ours) — absorb-vs.ts.
import { join } from 'node:path';
import { readdirSync, readFileSync } from 'node:fs';
import { native } from '../src/engine/index.js';
import { parseHFConfig } from '../src/model/config.js';
import { HFTokenizer } from '../src/text/hf-tokenizer.js';
import { absorb } from '../src/lift/absorb.js';
import { DEFAULT_PACK_TOKENS } from '../src/lift/packed.js';
import type { LoadedModel } from '../src/model/load.js';
import { withBf16Weights } from '../src/model/compute.js';
import { randomModel, SMOLLM2_135M } from './engine.js';
import { Output, log, type BenchArgs } from './util.js';
import { threadsFlag } from './threads-flag.js';
import { benchPrepare } from './absorb-prep.js';
import { benchAbsorbVs } from './absorb-vs.js';
import { startProfile, PROFILE_CATEGORIES } from './profile.js';

const SHARED = process.env.LIFT_SHARED ?? join(process.cwd(), '..', 'shared');

export async function benchAbsorb(args: BenchArgs): Promise<void> {
  if (args.flags.has('prepare') || args.flags.has('prepare-one')) return benchPrepare(args);
  if (args.flags.has('vs')) return benchAbsorbVs(args);
  const sizes = (args.flags.get('sizes') ?? '1024,2048,4096,8192,16384').split(',').map(Number);
  const adapter = (args.flags.get('adapter') ?? 'gated-memory') as 'gated-memory' | 'lora';
  const budget = Number(args.flags.get('budget') ?? 2048);
  const packTokens = args.flags.has('pack') ? Number(args.flags.get('pack')) : DEFAULT_PACK_TOKENS;
  native.setThreads(threadsFlag(args.flags.get('threads'), 2));
  const out = new Output(args.json);
  const tokDir = join(SHARED, 'tokenizers', 'smollm2');
  const tokenizer = HFTokenizer.fromFiles(join(tokDir, 'tokenizer.json'), join(tokDir, 'tokenizer_config.json'));
  const config = parseHFConfig(SMOLLM2_135M, 'SmolLM2-135M shape');
  // --compute bf16: the frozen weights in bf16 on the bf16 units (src/model/compute.ts), as `lift absorb --compute bf16`.
  const compute = args.flags.get('compute') === 'bf16' ? 'bf16' : 'fp32';
  const model = compute === 'bf16' ? withBf16Weights(randomModel(config)) : randomModel(config);
  const loaded: LoadedModel = { model, tokenizer, format: 'safetensors', id: 'random-SmolLM2-135M', revision: null, chatTemplate: null, addBos: false, files: [], compute, computeNote: null };
  // Paul Graham essays as text; token counts through the real tokenizer.
  const essays = join(SHARED, 'data', 'niah-paulgraham-essays');
  const corpus = readdirSync(essays).filter((f) => f.endsWith('.txt')).sort().map((f) => readFileSync(join(essays, f), 'utf8')).join('\n\n');
  const ids = tokenizer.encode(corpus.slice(0, 400_000), { bos: false });
  for (const n of sizes) {
    if (ids.length < n) throw new Error(`not enough essay text for ${n} tokens`);
    const text = tokenizer.decode(ids.slice(0, n));
    let segments = 0, sampleTokens = 0, planAt = 0, estimate = 0;
    // --profile: every native kernel call timed (bench/profile.ts), an `absorb.profile` line per size.
    const prof = args.flags.has('profile') ? startProfile(config.vocab_size) : null;
    const t0 = performance.now();
    const r = await absorb(loaded, { title: 'Essays', text }, {
      adapter, contextBudget: budget, epochs: [1, 0], qa: 0, batchSize: 'full', seed: 1, packTokens,
      onEvent: (e) => {
        if (e.type === 'prepare') { segments = e.segments; sampleTokens = e.lengths.ctContext + e.lengths.segmentLength; }
        if (e.type === 'plan') {
          if (planAt === 0) planAt = performance.now();
          estimate = e.seconds; // the exact plan's (the last) estimate of train_s
        }
      },
    });
    const seconds = (performance.now() - t0) / 1000;
    // Where the time went: up to the first plan line (the plan's calibration passes, absorb-plan.ts), training
    // (the trainer's own clock), and the rest (tokenizing, samples, the result).
    const plan_s = (planAt - t0) / 1000, train_s = r.train.seconds;
    out.emit({ bench: 'absorb', model: 'SmolLM2-135M-shape', adapter, compute, budget, pack_tokens: packTokens, doc_tokens: n, segments, sample_tokens_approx: sampleTokens, steps: r.train.steps, seconds, seconds_per_1k_tokens: seconds / (n / 1000), plan_s, train_s, plan_estimate_s: estimate, other_s: seconds - plan_s - train_s, peak_rss_mb: process.resourceUsage().maxRSS / 1024 });
    if (prof) {
      prof.stop();
      const split = Object.fromEntries(PROFILE_CATEGORIES.map((c) => [`${c}_s`, prof.seconds.get(c) ?? 0]));
      const kernels = [...prof.seconds.values()].reduce((a, b) => a + b, 0);
      const top = [...prof.byName].sort((a, b) => b[1] - a[1]).slice(0, 12);
      log(`  kernels: ${top.map(([k, v]) => `${k} ${v.toFixed(2)} s`).join(', ')}`);
      out.emit({ bench: 'absorb.profile', compute, doc_tokens: n, seconds, ...split, overhead_s: seconds - kernels });
    }
    r.adapter.dispose();
    log(`  ${n} tokens: ${seconds.toFixed(1)} s`);
  }
  out.table(['doc_tokens', 'segments', 'steps', 'seconds', 'seconds_per_1k_tokens', 'plan_s', 'train_s', 'plan_estimate_s', 'peak_rss_mb']);
  loaded.model.dispose();
}
