// `lift generate`: sample text from a model. stdout gets only the generated text, streamed as it is produced,
// plus one final newline (as llama2.c run.c prints), so `lift generate --model stories260K.bin --steps 256
// --temperature 0` prints the same bytes as `./run stories260K.bin -n 256 -t 0`. Loading and speed go to stderr.
import { Command, Option } from 'commander';
import { generate } from '../../model/generate.js';
import { computeOption, loadModelForCli, type ComputeMode } from '../model.js';
import { adapterList } from '../../adapters/combine.js';
import { combineOption, loadAdaptersForCli, type CombineMode } from './ask.js';
import { log, numberFlag, out } from '../io.js';

interface GenerateFlags {
  model: string;
  prompt: string;
  maxTokens?: number;
  steps?: number;
  temperature: number;
  topP: number;
  topK: number;
  seed?: number;
  tokenizer?: string;
  /** --compute: fp32, bf16 or auto (src/model/compute.ts). */
  compute?: ComputeMode;
  adapter?: string;
  combine: CombineMode;
  stop?: string[];
}

const EXAMPLES = `
Defaults follow llama2.c run.c: temperature 1.0, top-p 0.9, seed = the time in seconds, and 256 new tokens
(from an empty prompt that is run.c's -n 256). stdout carries only the generated text and a final newline.

Examples:
  lift generate --model stories260K.bin --steps 256 --temperature 0
  lift generate --model stories260K.bin --temperature 1 --top-p 0.9 --seed 42
  lift generate --model stories260K.gguf --prompt "Once upon a time" --max-tokens 100 --top-k 40
  lift generate --model ./SmolLM2-135M --prompt "The capital of France is" --max-tokens 20 --temperature 0
`;

export function register(program: Command): void {
  program
    .command('generate')
    .description('Generate text from a model (a llama2.c .bin, a .gguf, a Hugging Face folder or a Hub repo id)')
    .requiredOption('-m, --model <path>', 'model: llama2.c .bin, .gguf file, Hugging Face model folder, or org/name on the Hub')
    .option('--prompt <text>', 'text to continue (the prompt is not echoed)', '')
    .addOption(new Option('--max-tokens <n>', 'most tokens to generate (default 256)').argParser(numberFlag('max-tokens', 0, Infinity, true)))
    .addOption(new Option('--steps <n>', 'run.c -n: total positions including the prompt (0 = the context length)').argParser(numberFlag('steps', 0, Infinity, true)))
    .addOption(new Option('--temperature <t>', '0 = greedy').default(1.0).argParser(numberFlag('temperature', 0)))
    .addOption(new Option('--top-p <p>', 'nucleus sampling mass; 0 or 1 = off').default(0.9).argParser(numberFlag('top-p', 0, 1)))
    .addOption(new Option('--top-k <k>', 'keep the k most likely tokens (0 = off), applied before top-p').default(0).argParser(numberFlag('top-k', 0, Infinity, true)))
    .addOption(new Option('--seed <s>', 'RNG seed, a positive integer (default: the time in seconds)').argParser(numberFlag('seed', 1, Number.MAX_SAFE_INTEGER, true)))
    .option('--tokenizer <file>', 'llama2.c tokenizer file (default: tok<vocab>.bin or tokenizer.bin beside the model)')
    .addOption(computeOption())
    .option('--adapter <dirs>', 'adapter folder to apply on top of the model; several folders a,b,c: routed (the prompt goes through the one under which it is likeliest) or summed (--combine)')
    .addOption(combineOption())
    .option('--stop <text...>', 'stop before any of these strings (not printed)')
    .addHelpText('after', EXAMPLES)
    .action(async (flags: GenerateFlags) => {
      await runGenerate(flags);
    });
}

async function runGenerate(flags: GenerateFlags): Promise<void> {
  let t0 = performance.now();
  const loaded = await loadModelForCli(flags.model, flags.tokenizer, flags.compute);
  const { model, tokenizer } = loaded;
  try {
    const adapter = flags.adapter ? loadAdaptersForCli(adapterList(flags.adapter), loaded, flags.combine) : null;
    const c = model.config;
    log(`loaded ${loaded.id} (${loaded.format}: ${c.num_hidden_layers} layers, dim ${c.hidden_size}, vocab ${c.vocab_size}) in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    const promptIds = tokenizer.encode(flags.prompt, { bos: loaded.addBos });
    // Ctrl-C stops generation cleanly: what was printed stays, and the newline and timing still follow.
    const ac = new AbortController();
    const onSigint = (): void => ac.abort();
    process.once('SIGINT', onSigint);
    let n = 0;
    t0 = performance.now();
    try {
      for await (const t of generate(model, tokenizer, promptIds, {
        maxTokens: flags.maxTokens, steps: flags.steps, temperature: flags.temperature, topP: flags.topP,
        topK: flags.topK, seed: flags.seed, stop: flags.stop, adapter, signal: ac.signal,
      })) {
        out(t.text);
        if (t.id >= 0) n++;
      }
    } finally {
      process.off('SIGINT', onSigint);
    }
    out('\n');
    const s = (performance.now() - t0) / 1000;
    log(`${n} tokens in ${s.toFixed(2)} s (${(n / Math.max(s, 1e-9)).toFixed(1)} tok/s)${ac.signal.aborted ? ', interrupted' : ''}`);
  } finally {
    model.dispose();
  }
}
