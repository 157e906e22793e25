// Plain text and Markdown: strict UTF-8 (a non-UTF-8 or binary file is an error naming the file and the byte
// offset, never silently garbled), a BOM stripped, CRLF normalised to LF.
import { FormatError } from '../io/errors.js';

export function decodeText(buf: Uint8Array, name: string): string {
  const nul = buf.indexOf(0);
  if (nul >= 0) throw FormatError.withMessage(name, 'document', `${name}: byte ${nul} is NUL: this looks like a binary file, not text (expected a UTF-8 text document, or PDF, HTML, DOCX or EPUB)`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    throw FormatError.withMessage(name, 'document', `${name}: not valid UTF-8 at byte ${firstBadUtf8(buf)}: convert it first (e.g. iconv -f latin1 -t utf-8)`);
  }
  return normaliseNewlines(text);
}

export function normaliseNewlines(text: string): string {
  return text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
}

/** Offset of the first byte that breaks UTF-8. */
export function firstBadUtf8(b: Uint8Array): number {
  for (let i = 0; i < b.length; ) {
    const c = b[i];
    const n = c < 0x80 ? 1 : c >> 5 === 6 ? 2 : c >> 4 === 14 ? 3 : c >> 3 === 30 ? 4 : 0;
    if (n === 0 || i + n > b.length) return i;
    for (let k = 1; k < n; k++) if (b[i + k] >> 6 !== 2) return i;
    i += n;
  }
  return b.length;
}
