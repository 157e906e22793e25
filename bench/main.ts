// `npm run bench -- <name> [--json] [flags]`: the benchmarks. Each prints a readable table, or one JSON
// object per configuration with --json. Speed lives here, not in timed tests.
import { parseArgs } from './util.js';
import { benchEngine } from './engine.js';
import { benchRecall } from './recall.js';
import { benchAbsorb } from './absorb.js';
import { benchGenerate } from './generate.js';

const benches: Record<string, (a: ReturnType<typeof parseArgs>) => Promise<void>> = {
  engine: benchEngine,
  recall: benchRecall,
  absorb: benchAbsorb,
  generate: benchGenerate,
};

const [name, ...rest] = process.argv.slice(2);
const run = name ? benches[name] : undefined;
if (!run) {
  console.error(`usage: npm run bench -- <${Object.keys(benches).join('|')}> [--json]`);
  process.exit(2);
}
await run(parseArgs(rest));
