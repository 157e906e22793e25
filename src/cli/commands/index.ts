// The subcommands, in the order `lift --help` lists them.
import type { Command } from 'commander';
import { register as registerAbsorb } from './absorb.js';
import { register as registerAsk } from './ask.js';
import { register as registerBench } from './bench.js';
import { register as registerChat } from './chat.js';
import { register as registerConvert } from './convert.js';
import { register as registerDemo } from './demo.js';
import { register as registerEval } from './eval.js';
import { register as registerExport } from './export.js';
import { register as registerGenerate } from './generate.js';
import { register as registerInspect } from './inspect.js';
import { register as registerJobs } from './jobs.js';
import { register as registerKeys } from './keys.js';
import { register as registerServe } from './serve.js';
import { register as registerWorker } from './worker.js';

export function registerCommands(program: Command): void {
  registerAbsorb(program);
  registerAsk(program);
  registerChat(program);
  registerBench(program);
  registerConvert(program);
  registerDemo(program);
  registerEval(program);
  registerExport(program);
  registerGenerate(program);
  registerInspect(program);
  registerJobs(program);
  registerKeys(program);
  registerServe(program);
  registerWorker(program);
}
