// The subcommands, in the order `lift --help` lists them.
import type { Command } from 'commander';
import { register as registerConvert } from './convert.js';
import { register as registerGenerate } from './generate.js';

export function registerCommands(program: Command): void {
  registerConvert(program);
  registerGenerate(program);
}
