// Test documents of every supported format, generated here so nothing binary is committed: PDFs by pdfkit
// (text, scanned-like without text, encrypted), DOCX and EPUB as the zip packages Word and e-book tools write
// (the minimal required parts, zipped with fflate), HTML with boilerplate around an article.
import PDFDocument from 'pdfkit';
import { strToU8, zipSync } from 'fflate';

export function makePdf(pages: string[], opts: { userPassword?: string; noText?: boolean } = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const d = new PDFDocument({ compress: false, ...(opts.userPassword ? { userPassword: opts.userPassword, pdfVersion: '1.7' as const } : {}) });
    const bufs: Buffer[] = [];
    d.on('data', (b: Buffer) => bufs.push(b));
    d.on('end', () => resolve(Buffer.concat(bufs)));
    d.on('error', reject);
    pages.forEach((text, i) => {
      if (i > 0) d.addPage();
      if (opts.noText) d.rect(50, 50, 200, 100).fill('#333'); // a "scan": marks on the page, no text layer
      else d.text(text);
    });
    d.end();
  });
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A Word document whose body is these paragraphs. */
export function makeDocx(paragraphs: string[]): Buffer {
  const W = 'http://schemas.openxmlformats.org/wordprocessingml/2006/main';
  const body = paragraphs.map((p) => `<w:p><w:r><w:t xml:space="preserve">${esc(p)}</w:t></w:r></w:p>`).join('');
  return Buffer.from(zipSync({
    '[Content_Types].xml': strToU8('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'),
    '_rels/.rels': strToU8('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>'),
    'word/document.xml': strToU8(`<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="${W}"><w:body>${body}</w:body></w:document>`),
  }));
}

/** An EPUB 3 whose chapters (in spine order) each hold a heading and paragraphs. */
export function makeEpub(chapters: { title: string; paragraphs: string[] }[]): Buffer {
  const files: Record<string, Uint8Array | [Uint8Array, { level: 0 }]> = {
    mimetype: [strToU8("application/epub+zip"), { level: 0 }],
    'META-INF/container.xml': strToU8('<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>'),
  };
  const items: string[] = [], refs: string[] = [];
  // The manifest lists chapters in reverse so the test shows the spine, not the manifest, orders them.
  chapters.forEach((c, i) => {
    files[`OEBPS/text/ch${i + 1}.xhtml`] = strToU8(`<?xml version="1.0" encoding="UTF-8"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>${esc(c.title)}</title><style>p{margin:0}</style></head><body><h1>${esc(c.title)}</h1>${c.paragraphs.map((p) => `<p>${esc(p)}</p>`).join('')}</body></html>`);
    items.unshift(`<item id="ch${i + 1}" href="text/ch${i + 1}.xhtml" media-type="application/xhtml+xml"/>`);
    refs.push(`<itemref idref="ch${i + 1}"/>`);
  });
  files['OEBPS/content.opf'] = strToU8(`<?xml version="1.0" encoding="UTF-8"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="id">test</dc:identifier><dc:title>Test book</dc:title><dc:language>en</dc:language></metadata><manifest>${items.join('')}</manifest><spine>${refs.join('')}</spine></package>`);
  // mimetype must be the first entry, stored uncompressed (EPUB OCF); fflate keeps insertion order.
  return Buffer.from(zipSync(files, { level: 6 }));
}

/** A web page: an article among navigation, a sidebar, a cookie banner, a footer and a script. */
export function makeHtml(title: string, paragraphs: string[]): string {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${esc(title)}</title><script>var tracking = "SCRIPT-TEXT";</script></head><body>
<header><nav><a href="/">Home</a> | <a href="/about">About us</a> | <a href="/shop">Shop</a></nav></header>
<div class="cookie-banner">We use cookies. Accept all cookies?</div>
<main><article><h1>${esc(title)}</h1>${paragraphs.map((p) => `<p>${esc(p)}</p>`).join('\n')}</article></main>
<aside class="sidebar"><h3>Related</h3><ul><li><a href="/x">Ten tricks</a></li><li><a href="/y">More news</a></li></ul></aside>
<footer>Copyright 2026 Example Corp. All rights reserved. Privacy policy.</footer>
</body></html>`;
}
