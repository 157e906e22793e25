// HTML: the page's main content, as Firefox's Reader View finds it (@mozilla/readability), on a DOM built by
// linkedom (jsdom 31 needs Node ≥ 22; linkedom is small and runs on 20). Navigation, headers, footers,
// sidebars and scripts are dropped; a page where Readability finds no article is an error, not its menus.
import { Readability } from '@mozilla/readability';
import { parseHTML } from 'linkedom';
import { FormatError } from '../io/errors.js';
import { domToText, type DomNode } from './blocks.js';
import { normaliseNewlines } from './text.js';

/** Decodes the page: UTF-8 unless a BOM or <meta charset> says otherwise (old pages are often windows-1252). */
export function decodeHtml(buf: Uint8Array, name: string): string {
  const head = new TextDecoder('latin1').decode(buf.subarray(0, 2048));
  const declared = /<meta[^>]+charset\s*=\s*["']?\s*([\w-]+)/i.exec(head)?.[1];
  let label = 'utf-8';
  if (declared && buf[0] !== 0xef) {
    try {
      new TextDecoder(declared);
      label = declared;
    } catch {
      throw FormatError.withMessage(name, 'charset', `${name}: the page declares charset "${declared.slice(0, 40)}", which this reader does not know (expected e.g. utf-8 or windows-1252)`);
    }
  }
  try {
    return normaliseNewlines(new TextDecoder(label, { fatal: true }).decode(buf));
  } catch {
    throw FormatError.withMessage(name, 'charset', `${name}: not valid ${label} text (the page's declared or default encoding): convert it to UTF-8 first`);
  }
}

/** The main content of an HTML page as text, headed by the article's title (Readability takes a heading that repeats the title out of the content). */
export function htmlMainText(html: string, name: string): string {
  const { document } = parseHTML(html);
  // Readability treats an empty or missing <body> (and documents with no elements) by throwing or returning null.
  let article: ReturnType<Readability<string>['parse']> = null;
  try {
    article = new Readability(document as unknown as Document, { charThreshold: 100 }).parse();
  } catch {
    article = null;
  }
  const body = article?.content ? parseHTML(`<!doctype html><html><body>${article.content}</body></html>`).document.body : null;
  let text = body ? domToText(body as unknown as DomNode) : '';
  // On a page with no article Readability falls back to whatever is left, often the menus: content that is
  // mostly link text is navigation, not something to absorb.
  const linkText = body ? Array.from(body.querySelectorAll('a'), (a) => (a.textContent ?? '').replace(/\s+/g, '')).join('').length : 0;
  if (linkText > 0 && linkText >= 0.5 * text.replace(/\s+/g, '').length) text = '';
  const title = article?.title?.replace(/\s+/g, ' ').trim();
  if (text.length > 0 && title && !text.startsWith(title)) text = `${title}\n\n${text}`;
  if (text.length === 0) throw FormatError.withMessage(name, 'html', `${name}: no main content found in the page (expected an article or body text, not only navigation, menus or scripts)`);
  return text;
}
