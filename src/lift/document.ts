// Reading a document to absorb. readDocument: UTF-8 text only, synchronous (guard text, library callers).
// loadDocument: any supported format (text, Markdown, PDF, HTML, DOCX, EPUB; src/docs/), decided by the content's
// magic bytes, the extension when it has none. Text is strict UTF-8 (a non-UTF-8 or binary file is an error
// naming the file and the byte offset, never silently garbled), a BOM stripped, CRLF normalised to LF; empty
// documents are refused. Every refusal is a FormatError (the typed "this file is bad" error), so callers and the
// fuzzer can tell it from a bug.
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { FormatError } from '../io/errors.js';
import { extractDocument, type DocumentFormat } from '../docs/index.js';
import { decodeText } from '../docs/text.js';

export interface LoadedDocument {
  title: string;
  text: string;
  path: string;
  bytes: number;
  /** The format the text was extracted from (loadDocument); readDocument reads text only. */
  format?: DocumentFormat;
  /** Set when the content and the extension disagree (the content wins): worth telling the user. */
  note?: string;
}

function readBytes(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const hint = code === 'ENOENT' ? ': no such file; check the path' : code === 'EISDIR' ? ': it is a folder; pass a document file' : '';
    throw FormatError.withMessage(path, 'document', `${path}: cannot read the document (${code ?? (e as Error).message})${hint}`);
  }
}

function refuseEmpty(path: string, text: string): void {
  if (text.trim().length === 0) throw FormatError.withMessage(path, 'document', `${path}: the document is empty (or only whitespace): there is nothing to absorb`);
}

export function readDocument(path: string, title?: string): LoadedDocument {
  const buf = readBytes(path);
  const text = decodeText(buf, path);
  refuseEmpty(path, text);
  return { title: title ?? basename(path, extname(path)), text, path, bytes: buf.length };
}

/** A document of any supported format, as the text to absorb (what is stored as the adapter's document.txt). */
export async function loadDocument(path: string, title?: string): Promise<LoadedDocument> {
  const buf = readBytes(path);
  if (buf.length === 0) refuseEmpty(path, '');
  const { text, format, note } = await extractDocument(buf, path);
  refuseEmpty(path, text);
  return { title: title ?? basename(path, extname(path)), text, path, bytes: buf.length, format, ...(note ? { note } : {}) };
}

/** The forgetting guard's general text from a UTF-8 file: its blank-line separated passages (AbsorbOptions.guardText). */
export function readGuardText(path: string): string[] {
  return readDocument(path).text.split(/\n\s*\n/).filter((p) => p.trim());
}
