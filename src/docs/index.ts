// Reading a document of any supported format into the text LIFT absorbs. The format is decided by the
// content's magic bytes (%PDF-, a zip's PK\3\4 with word/document.xml or an EPUB mimetype, an HTML doctype
// or <html> tag); the extension only decides when the content has no signature. When they disagree the
// content wins, and the result carries a note naming both, so a renamed file still reads right and the user
// learns why. Every refusal is a FormatError naming the file and what was expected.
import { FormatError } from '../io/errors.js';
import { decodeText } from './text.js';
import { entryText, openZip } from './zip.js';

export type DocumentFormat = 'text' | 'pdf' | 'html' | 'docx' | 'epub';

export interface Extracted { text: string; format: DocumentFormat; note?: string }

/** File extensions of each format; anything else (or none) is read as UTF-8 text unless its content says otherwise. */
export const EXTENSIONS: Record<string, DocumentFormat> = {
  '.txt': 'text', '.text': 'text', '.md': 'text', '.markdown': 'text',
  '.pdf': 'pdf', '.html': 'html', '.htm': 'html', '.xhtml': 'html', '.docx': 'docx', '.epub': 'epub',
};

/** Media types uploads may name instead of an extension. */
export const MEDIA_TYPES: Record<string, DocumentFormat> = {
  'text/plain': 'text', 'text/markdown': 'text', 'text/x-markdown': 'text', 'application/pdf': 'pdf', 'text/html': 'html',
  'application/xhtml+xml': 'html', 'application/epub+zip': 'epub',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
};

function formatOfName(name: string): DocumentFormat | undefined {
  const m = /\.[^./\\]+$/.exec(name.toLowerCase());
  return m ? EXTENSIONS[m[0]] : undefined;
}

function startsWith(buf: Uint8Array, sig: string, at = 0): boolean {
  if (buf.length < at + sig.length) return false;
  for (let i = 0; i < sig.length; i++) if (buf[at + i] !== sig.charCodeAt(i)) return false;
  return true;
}

/**
 * What the content says it is; 'zip' until its entries are looked at; undefined when it has no signature.
 * `named` is the format the file name says, if any.
 */
export function sniff(buf: Uint8Array, named?: DocumentFormat): DocumentFormat | 'zip' | undefined {
  const head = new TextDecoder('latin1').decode(buf.subarray(0, 1024));
  // PDF readers accept %PDF- anywhere in the first 1024 bytes (some files carry a prefix); that is trusted only for
  // a file named .pdf, so a text about PDFs that quotes "%PDF-1.7" early stays text.
  if (startsWith(buf, '%PDF-') || (named === 'pdf' && head.includes('%PDF-'))) return 'pdf';
  if (startsWith(buf, 'PK\x03\x04')) return 'zip';
  if (/^(?:\uFEFF|\xEF\xBB\xBF)?\s*(?:<!--[\s\S]*?-->\s*)*(?:<\?xml[^>]*>\s*)?(?:<!doctype\s+html|<html[\s>])/i.test(head)) return 'html';
  return undefined;
}

/**
 * The text of a document held in `buf`; `name` is the file's name or path (used for the extension and in
 * every message). A format's parser may be async (pdf.js), hence the Promise.
 */
export async function extractDocument(buf: Uint8Array, name: string): Promise<Extracted> {
  const byName = formatOfName(name);
  const sniffed = sniff(buf, byName);
  let entries: Record<string, Uint8Array> | undefined;
  let format: DocumentFormat;
  if (sniffed === 'zip') {
    entries = openZip(buf, name, byName === 'epub' ? 'EPUB' : byName === 'docx' ? 'DOCX' : 'DOCX or EPUB');
    const mimetype = entryText(entries, 'mimetype')?.trim();
    if (mimetype === 'application/epub+zip' || entries['META-INF/container.xml']) format = 'epub';
    else if (entries['word/document.xml']) format = 'docx';
    else if (byName === 'docx' || byName === 'epub') format = byName; // its reader says what is missing
    else throw FormatError.withMessage(name, 'document', `${name}: a zip archive that is neither a DOCX (no word/document.xml) nor an EPUB (no META-INF/container.xml): expected a document`);
  } else if (sniffed !== undefined) format = sniffed;
  else if (byName === 'pdf' || byName === 'docx' || byName === 'epub')
    throw FormatError.withMessage(name, 'document', `${name}: the extension says ${label(byName)} but the content has no ${signature(byName)} signature: expected a ${label(byName)} file`);
  else format = byName ?? 'text'; // an HTML fragment (no doctype) named .html is still HTML
  // The content wins over the name (Markdown with inline HTML does not start with a doctype or <html>).
  const note = byName !== undefined && byName !== format
    ? `${name}: the content is ${label(format)} but the extension says ${label(byName)}: reading it as ${label(format)}`
    : undefined;
  const text = await extractAs(format, buf, name, entries);
  return note ? { text, format, note } : { text, format };
}

// The format readers are imported when first needed: pdf.js, linkedom and mammoth take a while to load, and
// every `lift` command (and a plain-text absorb) would otherwise pay for them at start-up.
async function extractAs(format: DocumentFormat, buf: Uint8Array, name: string, entries?: Record<string, Uint8Array>): Promise<string> {
  switch (format) {
    case 'pdf': return (await import('./pdf.js')).pdfText(buf, name);
    case 'html': {
      const { decodeHtml, htmlMainText } = await import('./html.js');
      return htmlMainText(decodeHtml(buf, name), name);
    }
    case 'docx': return (await import('./docx.js')).docxText(buf, name);
    case 'epub': return (await import('./epub.js')).epubText(entries ?? openZip(buf, name, 'EPUB'), name);
    case 'text': return decodeText(buf, name);
  }
}

function label(f: DocumentFormat): string {
  return f === 'text' ? 'plain text' : f.toUpperCase();
}

function signature(f: DocumentFormat): string {
  return f === 'pdf' ? '%PDF-' : f === 'html' ? '<!doctype html> or <html>' : 'zip (PK)';
}
