// `npm run fuzz -- [--runs N] [--seed S] [--target a,b] [--json]`: the parser fuzzers (test/fuzz/runner.ts).
import { main } from '../test/fuzz/runner.js';

process.exitCode = await main(process.argv.slice(2));
