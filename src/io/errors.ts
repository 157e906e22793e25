// The one error type the checkpoint readers (src/io/*) throw for a malformed or unsupported file.
// Callers can tell "this file is bad" (FormatError) from "the program is broken" (anything else):
// every reader validates before it allocates or indexes, so a corrupt, truncated or hostile file
// ends in a FormatError that names the file, the field (tensor or header entry) and what was expected.
import { basename } from 'node:path';

/** Longest run of file-supplied text one message quotes: a crafted 2 MB key must not become a 2 MB message. */
export const MAX_SHOWN = 80;
/** Bound on each part of a FormatError's message (the parts quote file contents through `shown` or JSON). */
const MAX_PART = 400;

/**
 * Text that came from a file, made safe to print: control characters, lone surrogates and other invisible
 * code points escaped (\n, \u0000, …) so a message stays one readable line, and cut at `max` characters + "…".
 */
export function shown(s: string, max = MAX_SHOWN): string {
  // Cut before escaping so the work stays proportional to `max`, not to the (possibly huge) input.
  const cut = s.length > max;
  const head = escapeInvisible(cut ? s.slice(0, max) : s);
  return cut ? `${head}…` : head;
}

function escapeInvisible(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, (c) => {
    const esc: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    return esc[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/** JSON of a value read from a file, for "got …" details: bounded like `shown` (JSON.stringify of undefined is undefined). */
export function shownJson(v: unknown): string {
  let s: string | undefined;
  try {
    s = typeof v === 'bigint' ? `${v}` : JSON.stringify(v);
  } catch {
    s = String(v);
  }
  return shown(s ?? String(v));
}

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
    super(`${basename(file)}: ${shown(field, MAX_PART)}: expected ${shown(expected, MAX_PART)}${detail ? `, ${shown(detail, MAX_PART)}` : ''}`);
    this.name = 'FormatError';
  }

  /**
   * A FormatError whose message is written whole, for readers whose wording predates the
   * "file: field: expected …" template; the message must still name the file and the field.
   */
  static withMessage(file: string, field: string, message: string): FormatError {
    const e = new FormatError(file, field, '');
    e.message = shown(message, 2 * MAX_PART);
    return e;
  }
}
