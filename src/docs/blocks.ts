// DOM → plain text that keeps the document's shape: block elements (paragraphs, headings, list items, table
// rows) end in a line break, paragraphs are separated by a blank line, inline whitespace collapsed as a
// browser shows it. Shared by the HTML and EPUB readers; scripts, styles and templates are never text.

/** The part of a DOM node this walker needs (linkedom's nodes, and any DOM's, have these). */
export interface DomNode {
  nodeType: number;
  nodeName: string;
  textContent: string | null;
  childNodes: ArrayLike<DomNode>;
}

const SKIP = new Set(['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE', 'SVG', 'HEAD', 'IFRAME', 'OBJECT']);
const PARAGRAPH = new Set(['P', 'H1', 'H2', 'H3', 'H4', 'H5', 'H6', 'BLOCKQUOTE', 'PRE', 'UL', 'OL', 'DL', 'TABLE', 'FIGURE', 'HR', 'SECTION', 'ARTICLE', 'ASIDE', 'HEADER', 'FOOTER', 'MAIN', 'NAV']);
const LINE = new Set(['LI', 'TR', 'DT', 'DD', 'DIV', 'BR', 'FIGCAPTION', 'CAPTION', 'ADDRESS']);

export function domToText(root: DomNode): string {
  const out: string[] = [];
  walk(root, out, false);
  return out.join('')
    .replace(/[ \t]+\n/g, '\n').replace(/\n[ \t]+/g, '\n') // no spaces at the ends of lines
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

function walk(node: DomNode, out: string[], pre: boolean): void {
  if (node.nodeType === 3) {
    const t = node.textContent ?? '';
    out.push(pre ? t : t.replace(/\s+/g, ' '));
    return;
  }
  if (node.nodeType !== 1 && node.nodeType !== 9 && node.nodeType !== 11) return;
  const tag = node.nodeName.toUpperCase().replace(/^.*:/, ''); // XHTML in EPUB may carry a prefix
  if (SKIP.has(tag)) return;
  if (tag === 'BR') return void out.push('\n');
  const para = PARAGRAPH.has(tag), line = LINE.has(tag);
  if (para) out.push('\n\n');
  else if (line) out.push('\n');
  if (tag === 'TD' || tag === 'TH') out.push(' ');
  for (let i = 0; i < node.childNodes.length; i++) walk(node.childNodes[i], out, pre || tag === 'PRE');
  if (para) out.push('\n\n');
  else if (line) out.push('\n');
}
