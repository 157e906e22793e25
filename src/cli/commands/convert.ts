// `lift convert --model M --to hf|gguf --out PATH`: rewrites a checkpoint in another format (see src/model/convert.ts),
// e.g. a llama2.c .bin as a Hugging Face folder, or a HF folder as an F32 GGUF for llama.cpp.
import { Option, type Command } from 'commander';
import { convertModel, type ConvertTarget } from '../../model/convert.js';
import { GGUF_FILE_TYPES, type GGUFFileType } from '../../model/gguf-types.js';
import { log, out } from '../io.js';

export function register(program: Command): void {
  program
    .command('convert')
    .description('Convert a model (HF folder, .gguf, llama2.c .bin) to a Hugging Face folder or an F32 GGUF file')
    .requiredOption('--model <path>', 'source model: a Hugging Face folder, a .gguf file or a llama2.c .bin')
    .addOption(new Option('--to <format>', 'target format').choices(['hf', 'gguf']).makeOptionMandatory())
    .requiredOption('--out <path>', 'output: a new folder for hf, a file for gguf')
    .addOption(new Option('--type <type>', 'GGUF tensor type: f32, 16-bit, or quantized as llama-quantize does').choices([...GGUF_FILE_TYPES]).default('f32'))
    .option('--tokenizer <path>', "llama2.c tokenizer (default: tok{vocab}.bin or tokenizer.bin beside the model), or a tokenizer.json to embed in the GGUF (SentencePiece or byte-level BPE; its tokenizer_config.json is read from beside it)")
    .option('--force', 'replace --out if it is an earlier output of lift convert (anything else is never replaced)')
    .addHelpText('after', `
q_proj/k_proj rows are permuted between GGUF/llama2.c's interleaved RoPE layout and Hugging Face's
rotate-half layout; the vocabulary becomes tokenizer.json (BPE with byte fallback) or GGUF tokenizer metadata.
--out must not exist (an empty folder is fine for hf); an earlier conversion is replaced only with --force, and
never a source file. The result is written beside --out and renamed into place when complete.

Examples:
  lift convert --model stories260K.bin --to hf --out ./stories260K-hf
  lift convert --model stories260K.bin --to gguf --out ./stories260K.gguf
  lift convert --model ./stories260K-hf --to gguf --out ./roundtrip.gguf
  lift convert --model ./model-hf --to gguf --type q4_k_m --out ./model-Q4_K_M.gguf

--type q4_k_m / q5_k_m mix Q4_K / Q5_K with Q6_K (output, and attn_v / ffn_down in some layers) as
llama.cpp's llama-quantize does; a matrix whose rows are not whole 256-value super-blocks falls back to
Q5_0 / Q5_1 / Q8_0, and to F16 when not whole 32-value blocks. q4_0 … q3_k put every matrix but the output
(Q6_K) in that type. lift loads such files and keeps them quantized.`)
    .action((o: { model: string; to: ConvertTarget; out: string; type: GGUFFileType; tokenizer?: string; force?: boolean }) => {
      const t0 = performance.now();
      const json = o.tokenizer?.toLowerCase().endsWith('.json') ? o.tokenizer : undefined;
      const files = convertModel(o.model, o.to, o.out, { tokenizer: json ? undefined : o.tokenizer, vocab: json, force: o.force, type: o.type });
      log(`converted ${o.model} -> ${o.to} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      for (const f of files) out(f + '\n');
    });
}
