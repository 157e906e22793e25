// The one error type the checkpoint readers (src/io/*) throw for a malformed or unsupported file.
// Callers can tell "this file is bad" (FormatError) from "the program is broken" (anything else):
// every reader validates before it allocates or indexes, so a corrupt, truncated or hostile file
// ends in a FormatError that names the file, the field (tensor or header entry) and what was expected.
import { basename } from 'node:path';

export class FormatError extends Error {
  /**
   * @param file     path of the offending file (the message shows its base name)
   * @param field    what was being read, e.g. `tensor "blk.0.attn_q.weight"` or `header length`
   * @param expected what a valid file has there, e.g. `shape [64,64]`
   * @param detail   what was found instead, e.g. `got [64,32]`
   */
  constructor(
    readonly file: string,
    readonly field: string,
    readonly expected: string,
    detail?: string,
  ) {
    super(`${basename(file)}: ${field}: expected ${expected}${detail ? `, ${detail}` : ''}`);
    this.name = 'FormatError';
  }
}
