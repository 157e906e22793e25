// `lift export ADAPTER --to gguf-lora --out F.gguf` and `lift merge ADAPTER --out DIR|F.gguf`: a LoRA absorbed
// by lift, for llama.cpp / Ollama / LM Studio (a LoRA GGUF they load beside the base GGUF) or as a merged model
// any tool runs (src/adapters/export.ts). The base model is the one the manifest names unless --model is given.
import { basename, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { exportGgufLora, mergedModel } from '../../adapters/export.js';
import { readAdapterManifest } from '../../adapters/files.js';
import { writeConverted, type ConvertTarget } from '../../model/convert.js';
import { loadAdapterForCli, loadModelForCli, refuseParts } from '../model.js';
import { log, out } from '../io.js';

interface Flags { to?: string; out: string; model?: string; tokenizer?: string; force?: boolean }

const common = (cmd: Command): Command => cmd
  .argument('<adapter>', 'adapter folder written by lift absorb (LoRA)')
  .requiredOption('-o, --out <path>', 'output path (new; an earlier output of the same command is replaced only with --force)')
  .option('-m, --model <model>', 'base model (default: the one recorded in the adapter manifest)')
  .option('--tokenizer <file>', 'llama2.c tokenizer file')
  .option('--force', 'replace --out if it is an earlier output of this command (anything else is never replaced)');

async function withAdapter<T>(dir: string, f: Flags, fn: (loaded: Awaited<ReturnType<typeof loadModelForCli>>, adapter: ReturnType<typeof loadAdapterForCli>['adapter']) => T): Promise<T> {
  refuseParts(dir);
  const loaded = await loadModelForCli(f.model ?? readAdapterManifest(dir).base_model.id, f.tokenizer);
  try {
    const { adapter } = loadAdapterForCli(dir, loaded);
    try {
      return fn(loaded, adapter);
    } finally {
      adapter.dispose();
    }
  } finally {
    loaded.model.dispose();
  }
}

export function register(program: Command): void {
  common(program
    .command('export')
    .description("Write a LoRA adapter as llama.cpp's LoRA GGUF (for llama.cpp, Ollama, LM Studio)")
    .addOption(new Option('--to <format>', 'target format').choices(['gguf-lora']).default('gguf-lora')))
    .addHelpText('after', `
The adapter's q/k rows are written in the order llama.cpp's architecture uses, whatever the base was trained from
(GGUF, llama2.c or a Hugging Face folder). Gated Memory adapters cannot be exported (llama.cpp has no such layer).

Examples:
  lift export story.lift --to gguf-lora --out story-lora.gguf
  llama-cli -m stories260K.gguf --lora story-lora.gguf -p "Lily's dog was called"`)
    .action(async (dir: string, f: Flags) => {
      await withAdapter(dir, f, (loaded, adapter) => {
        exportGgufLora(adapter, loaded.model, f.out, { force: f.force, inputs: [dir, f.model, ...loaded.files], from: basename(resolve(dir)) });
      });
      log(`exported ${dir} as a llama.cpp LoRA GGUF`);
      out(f.out + '\n');
    });

  common(program
    .command('merge')
    .description('Write the base model with a LoRA adapter merged into its weights (Hugging Face folder or GGUF)')
    .addOption(new Option('--to <format>', 'target format (default: gguf when --out ends in .gguf, else hf)').choices(['hf', 'gguf'])))
    .addHelpText('after', `
Every adapted weight becomes W + (lora_alpha / r)·B·A; the rest is copied. Gated Memory adapters cannot be merged.

Examples:
  lift merge story.lift --out story-merged.gguf
  lift merge story.lift --out ./story-merged-hf --to hf`)
    .action(async (dir: string, f: Flags) => {
      const to: ConvertTarget = (f.to as ConvertTarget | undefined) ?? (f.out.toLowerCase().endsWith('.gguf') ? 'gguf' : 'hf');
      const files = await withAdapter(dir, f, (loaded, adapter) => {
        const { merged, dispose } = mergedModel(adapter, loaded);
        try {
          return writeConverted(merged, to, f.out, { force: f.force, inputs: [dir, f.model, ...loaded.files], from: `${basename(loaded.files[0] ?? loaded.id)} + ${basename(resolve(dir))}` });
        } finally {
          dispose();
        }
      });
      log(`merged ${dir} into its base model (${to})`);
      for (const file of files) out(file + '\n');
    });
}
