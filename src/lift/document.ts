// Reading a document to absorb: strict UTF-8 (a non-UTF-8 or binary file is an error naming the file and the
// byte offset, never silently garbled), a BOM stripped, CRLF normalised to LF, empty documents refused.
// Every refusal is a FormatError (the typed "this file is bad" error), so callers and the fuzzer can tell it from a bug.
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { FormatError } from '../io/errors.js';

export interface LoadedDocument {
  title: string;
  text: string;
  path: string;
  bytes: number;
}

export function readDocument(path: string, title?: string): LoadedDocument {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const hint = code === 'ENOENT' ? ': no such file; check the path' : code === 'EISDIR' ? ': it is a folder; pass a text file' : '';
    throw FormatError.withMessage(path, 'document', `${path}: cannot read the document (${code ?? (e as Error).message})${hint}`);
  }
  const nul = buf.indexOf(0);
  if (nul >= 0) throw FormatError.withMessage(path, 'document', `${path}: byte ${nul} is NUL: this looks like a binary file, not text (expected a UTF-8 text document)`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    throw FormatError.withMessage(path, 'document', `${path}: not valid UTF-8 at byte ${firstBadUtf8(buf)}: convert it first (e.g. iconv -f latin1 -t utf-8)`);
  }
  text = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  if (text.trim().length === 0) throw FormatError.withMessage(path, 'document', `${path}: the document is empty (or only whitespace): there is nothing to absorb`);
  return { title: title ?? basename(path, extname(path)), text, path, bytes: buf.length };
}

/** Offset of the first byte that breaks UTF-8. */
function firstBadUtf8(b: Buffer): number {
  for (let i = 0; i < b.length; ) {
    const c = b[i];
    const n = c < 0x80 ? 1 : c >> 5 === 6 ? 2 : c >> 4 === 14 ? 3 : c >> 3 === 30 ? 4 : 0;
    if (n === 0 || i + n > b.length) return i;
    for (let k = 1; k < n; k++) if (b[i + k] >> 6 !== 2) return i;
    i += n;
  }
  return b.length;
}
