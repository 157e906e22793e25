// EPUB: a zip (fflate) whose META-INF/container.xml names the package document (OPF); the OPF's spine lists
// the chapters, XHTML files, in reading order. Each chapter's body goes through the same block-aware text
// walk as HTML (blocks.ts), without Readability: in a book every chapter is content, there is no boilerplate
// to drop. Chapters are separated by a blank line.
import { DOMParser, parseHTML } from 'linkedom';
import { posix } from 'node:path';
import { FormatError } from '../io/errors.js';
import { domToText, type DomNode } from './blocks.js';
import { entryText } from './zip.js';

type El = { getAttribute(n: string): string | null; localName: string };

/** Elements by local name, whatever namespace prefix the file uses (opf:item, item). */
function byLocalName(root: { querySelectorAll(s: string): ArrayLike<unknown> }, name: string): El[] {
  return Array.from(root.querySelectorAll('*') as ArrayLike<El>).filter((e) => e.localName.replace(/^.*:/, '').toLowerCase() === name);
}

function xml(text: string): { querySelectorAll(s: string): ArrayLike<unknown> } {
  return new DOMParser().parseFromString(text, 'text/xml') as unknown as { querySelectorAll(s: string): ArrayLike<unknown> };
}

export function epubText(entries: Record<string, Uint8Array>, name: string): string {
  const bad = (what: string): FormatError => FormatError.withMessage(name, 'epub', `${name}: not a readable EPUB: ${what}`);
  const container = entryText(entries, 'META-INF/container.xml');
  if (container === undefined) throw bad('META-INF/container.xml is missing (expected the EPUB container that names the book\'s package file)');
  const opfPath = byLocalName(xml(container), 'rootfile')[0]?.getAttribute('full-path');
  if (!opfPath) throw bad('META-INF/container.xml names no rootfile (expected <rootfile full-path="…opf">)');
  const opfText = entryText(entries, opfPath);
  if (opfText === undefined) throw bad(`the package file ${JSON.stringify(opfPath.slice(0, 100))} named by container.xml is missing`);
  const opf = xml(opfText);
  const manifest = new Map<string, string>();
  for (const item of byLocalName(opf, 'item')) {
    const id = item.getAttribute('id'), href = item.getAttribute('href');
    if (id && href) manifest.set(id, href);
  }
  const base = posix.dirname(opfPath);
  const chapters: string[] = [];
  const spine = byLocalName(opf, 'itemref');
  if (spine.length === 0) throw bad('its package file has an empty spine (expected <itemref> entries listing the chapters)');
  for (const ref of spine) {
    const href = manifest.get(ref.getAttribute('idref') ?? '');
    if (href === undefined) continue; // a spine entry without a manifest item: nothing to read, as readers do
    const path = posix.normalize(posix.join(base === '.' ? '' : base, decodeURIComponent(href.split('#')[0])));
    const html = entryText(entries, path);
    if (html === undefined) throw bad(`chapter ${JSON.stringify(path.slice(0, 100))} listed in the spine is missing from the archive`);
    const { document } = parseHTML(html);
    // linkedom's document.body throws (a TypeError) when the chapter parsed to no root element at all.
    if (!document.documentElement) throw bad(`chapter ${JSON.stringify(path.slice(0, 100))} is not XHTML (no root element)`);
    const text = domToText((document.body ?? document) as unknown as DomNode);
    if (text.length > 0) chapters.push(text);
  }
  if (chapters.length === 0) throw bad('its chapters have no text (expected XHTML chapters with text; an EPUB of images needs OCR first)');
  return chapters.join('\n\n');
}
