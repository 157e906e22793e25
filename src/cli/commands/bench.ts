// `lift bench <name> [--json] [flags]`: runs one of the benchmarks in bench/ (the same as `npm run bench`).
// They are not part of the library's import graph: loaded only when this command runs.
import { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('bench')
    .description('Run a benchmark: engine | generate | recall | absorb (speed and quality figures; --json for one object per line)')
    .argument('<name>', 'engine, generate, recall or absorb')
    .allowUnknownOption(true)
    .argument('[flags...]', 'benchmark flags, e.g. --json --seqs 256,1024')
    .addHelpText('after', `
Examples:
  lift bench engine --json --seqs 256,1024      # ours vs PyTorch, tokens/s and ratio
  lift bench generate                           # ours vs llama.cpp decode speed
  lift bench recall --quick                     # planted facts: truncated context vs LIFT
  lift bench absorb --sizes 1024,2048,4096      # absorb time vs document length`)
    .action(async (name: string, flags: string[]) => {
      // dist/src/cli/commands/bench.js → dist/bench/main.js (and the same layout under tsx).
      const path = new URL('../../../bench/main.js', import.meta.url).href;
      const mod = (await import(path)) as { runBench: (n: string, a: string[]) => Promise<void> };
      await mod.runBench(name, flags);
    });
}
