// One `bench absorb` configuration run on the sources of any checkout of this project (`bench absorb --vs DIR`
// runs it on DIR and on this tree, alternating, in child processes): the same random SmolLM2-135M-shaped
// model, tokenizer, essay text and absorb() options as bench/absorb.ts, through the checkout's own modules and
// native addon (DIR must have `node_modules` and a built `build/Release`). Only options absorb() has taken since
// the first commit this is compared with (36dd210) are passed, plus packTokens where set (older trees ignore it).
// Prints one JSON line: seconds, seconds to the first plan line (calibration), training seconds.
// env: LIFT_TREE (default this tree), TOKENS, BUDGET, ADAPTER, THREADS, PACK, COMPUTE (fp32|bf16), LIFT_SHARED.
import { join, resolve } from 'node:path';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';

const tree = resolve(process.env.LIFT_TREE ?? process.cwd());
const shared = process.env.LIFT_SHARED ?? join(process.cwd(), '..', 'shared');
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const load = async (p: string): Promise<any> => import(pathToFileURL(join(tree, p)).href);
const { native } = await load('src/engine/index.ts');
const { parseHFConfig } = await load('src/model/config.ts');
const { HFTokenizer } = await load('src/text/hf-tokenizer.ts');
const { absorb } = await load('src/lift/absorb.ts');
const { randomModel, SMOLLM2_135M } = await load('bench/engine.ts');

const n = Number(process.env.TOKENS ?? 1024), budget = Number(process.env.BUDGET ?? 2048);
const compute = process.env.COMPUTE === 'bf16' ? 'bf16' : 'fp32';
native.setThreads(Number(process.env.THREADS ?? 2));
const tokDir = join(shared, 'tokenizers', 'smollm2');
const tokenizer = HFTokenizer.fromFiles(join(tokDir, 'tokenizer.json'), join(tokDir, 'tokenizer_config.json'));
const config = parseHFConfig(SMOLLM2_135M, 'SmolLM2-135M shape');
let model = randomModel(config);
if (compute === 'bf16') model = (await load('src/model/compute.ts')).withBf16Weights(model);
const loaded = { model, tokenizer, format: 'safetensors', id: 'random-SmolLM2-135M', revision: null, chatTemplate: null, addBos: false, files: [], compute, computeNote: null };
const essays = join(shared, 'data', 'niah-paulgraham-essays');
const corpus = readdirSync(essays).filter((f) => f.endsWith('.txt')).sort().map((f) => readFileSync(join(essays, f), 'utf8')).join('\n\n');
const ids = tokenizer.encode(corpus.slice(0, 400_000), { bos: false });
if (ids.length < n) throw new Error(`not enough essay text for ${n} tokens`);
const text = tokenizer.decode(ids.slice(0, n));
let planAt = 0;
const t0 = performance.now();
const r = await absorb(loaded, { title: 'Essays', text }, {
  adapter: process.env.ADAPTER ?? 'gated-memory', contextBudget: budget, epochs: [1, 0], qa: 0, batchSize: 'full', seed: 1,
  ...(process.env.PACK ? { packTokens: Number(process.env.PACK) } : {}),
  onEvent: (e: { type: string }) => void (e.type === 'plan' && planAt === 0 && (planAt = performance.now())),
});
const seconds = (performance.now() - t0) / 1000;
process.stdout.write(JSON.stringify({ tree, compute, doc_tokens: n, budget, seconds, plan_s: (planAt - t0) / 1000, train_s: r.train.seconds, steps: r.train.steps, load: loadavg()[0] }) + '\n');
r.adapter.dispose();
model.dispose();
