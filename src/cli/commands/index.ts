// The subcommands, in the order `lift --help` lists them.
import type { Command } from 'commander';

export function registerCommands(program: Command): void {
  void program;
}
