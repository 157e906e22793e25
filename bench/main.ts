// `npm run bench -- <name> [--json] [flags]` (or `lift bench <name>`): the benchmarks. Each prints a readable
// table, or one JSON object per configuration with --json. Speed lives here, not in timed tests.
import { fileURLToPath } from 'node:url';
import { parseArgs, type BenchArgs } from './util.js';
import { benchEngine } from './engine.js';
import { benchGemm } from './gemm.js';
import { benchRecall } from './recall.js';
import { benchAbsorb } from './absorb.js';
import { benchGenerate } from './generate.js';
import { benchQuant } from './quant.js';
import { benchServe } from './serve.js';
import { benchWorkers } from './workers.js';

export const BENCHES: Record<string, { run: (a: BenchArgs) => Promise<void>; what: string }> = {
  engine: { run: benchEngine, what: 'LoRA training step of a SmolLM2-135M-shaped model vs PyTorch (256–2048 tokens)' },
  gemm: { run: benchGemm, what: "the LoRA step's frozen-weight products: sgemm vs the bf16 kernels (packed once / per call), GFLOP/s" },
  generate: { run: benchGenerate, what: 'prefill and decode speed vs llama.cpp on the same GGUF files' },
  recall: { run: benchRecall, what: 'planted-fact recall suite on stories260K (6 fact families × 2k–16k tokens × 3 probe forms; --grid: the old recipe grid; --multi: interference; --table: the default recipe, family × length × form, from the recorded runs)' },
  absorb: { run: benchAbsorb, what: 'absorb time vs document length (1k–16k tokens) on the 135M-shaped model' },
  serve: { run: benchServe, what: 'lift serve under load (1/8/32 clients, idle and during an absorb): requests/s, p50/p99, RSS' },
  workers: { run: benchWorkers, what: 'lift serve --queue + 1 and 2 lift worker processes (1 thread each): documents per hour, speedup' },
  quant: { run: benchQuant, what: 'quantized bases (f32, bf16, Q8_0, Q4_K_M): load RSS, LoRA step, decode vs llama.cpp' },
};

export async function runBench(name: string | undefined, argv: string[]): Promise<void> {
  const b = name ? BENCHES[name] : undefined;
  if (!b) throw new Error(`unknown benchmark ${JSON.stringify(name ?? '')}: expected one of ${Object.keys(BENCHES).join(', ')}`);
  await b.run(parseArgs(argv));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [name, ...rest] = process.argv.slice(2);
  try {
    await runBench(name, rest);
  } catch (e) {
    console.error(`${(e as Error).message}\nusage: npm run bench -- <${Object.keys(BENCHES).join('|')}> [--json]`);
    process.exit(2);
  }
}
