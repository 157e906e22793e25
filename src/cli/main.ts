#!/usr/bin/env node
// `lift`: the command-line tool. One short dispatcher; each subcommand lives in commands/<name>.ts and
// registers itself on the commander program. stdout carries results only; logs and progress go to stderr.
import { Command, CommanderError } from 'commander';
import { registerCommands } from './commands/index.js';
import { describeFailure, guardStdStreams } from './failure.js';

guardStdStreams();
const program = new Command();
program
  .name('lift')
  .description('Long Input Fine-Tuning: absorb a long document into adapter weights, then answer from it.')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();
registerCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode);
  process.stderr.write(`lift: ${describeFailure(e)}\n`);
  if (process.env.LIFT_DEBUG) process.stderr.write(`${(e as Error)?.stack}\n`);
  process.exit(1);
}
