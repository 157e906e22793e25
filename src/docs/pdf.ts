// PDF: the text layer, read with Mozilla's pdf.js (pdfjs-dist 5.4, the last line whose engines allow Node 20;
// its legacy build carries the polyfills older runtimes need). Each page's text follows a "[page N]" marker
// line (pages.ts) so answers can cite pages. A PDF with no text on any page is a scan: an error telling the
// user to OCR it, not an empty adapter. An encrypted PDF is refused with what to do.
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';
import type { TextItem } from 'pdfjs-dist/types/src/display/api.js';
import { FormatError } from '../io/errors.js';
import { pageMarker } from './pages.js';

/**
 * pdf.js leaves a promise of its in-process ("fake") worker rejected after a damaged document is destroyed; nobody
 * can await it, so Node would end the process for an unhandled rejection long after pdfText returned its error
 * (fuzzing: 13 such crashes in 2·10^4 mutated PDFs). Those — and only those — are dropped; any other unhandled
 * rejection is thrown as Node's default would.
 */
let guarded = false;
function guardPdfjsRejections(): void {
  if (guarded) return;
  guarded = true;
  process.on('unhandledRejection', (reason) => {
    const stack = reason instanceof Error ? reason.stack ?? '' : '';
    if (stack.includes('pdfjs-dist')) return;
    throw reason;
  });
}

export async function pdfText(buf: Uint8Array, name: string): Promise<string> {
  guardPdfjsRejections();
  // pdf.js takes ownership of (detaches) the array it is given: pass a copy so the caller's buffer stays usable.
  const task = getDocument({ data: new Uint8Array(buf), isEvalSupported: false, useSystemFonts: false, disableFontFace: true, verbosity: 0, stopAtErrors: false });
  let doc;
  try {
    doc = await task.promise;
  } catch (e) {
    await task.destroy().catch(() => undefined);
    const err = e as Error;
    if (err.name === 'PasswordException')
      throw FormatError.withMessage(name, 'pdf', `${name}: the PDF is encrypted (password-protected): expected an unencrypted PDF; decrypt it first (e.g. qpdf --decrypt --password=… in.pdf out.pdf)`);
    throw FormatError.withMessage(name, 'pdf', `${name}: not a readable PDF (expected a PDF with a text layer): ${err.message}`);
  }
  try {
    const pages: string[] = [];
    let withText = 0;
    for (let p = 1; p <= doc.numPages; p++) {
      const page = await doc.getPage(p);
      const content = await page.getTextContent();
      const text = itemsToText(content.items.filter((i): i is TextItem => 'str' in i));
      page.cleanup();
      if (text.length > 0) withText++;
      pages.push(`${pageMarker(p)}\n${text}`);
    }
    if (withText === 0)
      throw FormatError.withMessage(name, 'pdf', `${name}: none of its ${doc.numPages} page(s) has a text layer (a scanned PDF?): expected selectable text; run OCR first (e.g. ocrmypdf in.pdf out.pdf) and absorb the result`);
    return pages.join('\n\n');
  } catch (e) {
    if (e instanceof FormatError) throw e;
    throw FormatError.withMessage(name, 'pdf', `${name}: a page of the PDF cannot be read (expected a PDF with a text layer): ${(e as Error).message}`);
  } finally {
    await doc.destroy().catch(() => undefined);
  }
}

/**
 * pdf.js gives positioned runs of text; lines are where a run ends a line (hasEOL) or the baseline moves.
 * Blank lines inside a page are kept as one (a paragraph gap); pdf.js itself emits the spaces between words.
 */
function itemsToText(items: TextItem[]): string {
  let out = '', lastY: number | null = null;
  for (const it of items) {
    const y = it.transform[5];
    if (lastY !== null && Math.abs(y - lastY) > Math.max(2, it.height * 0.5) && !out.endsWith('\n')) out += '\n';
    out += it.str;
    if (it.hasEOL) out += '\n';
    if (it.str.length > 0) lastY = y;
  }
  return out.split('\n').map((l) => l.replace(/\s+/g, ' ').trim()).join('\n').replace(/\n{3,}/g, '\n\n').trim();
}
