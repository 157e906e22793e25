// Page markers in extracted text. A PDF's pages become "[page N]" lines, each alone on its line before that
// page's text, so `ask`'s retrieved or truncated context shows which page a passage came from and an answer
// can cite it. The QA generator skips these lines (a marker is never a cloze answer).

/** The marker line for page `n` (1-based). */
export function pageMarker(n: number): string {
  return `[page ${n}]`;
}

/** A whole marker line, anywhere in a text (multiline). */
export const PAGE_MARKER_LINE = /^\[page \d+\][ \t]*$/gm;

/** The text with its marker lines blanked (a blank line keeps the paragraph break the marker made). */
export function withoutPageMarkers(text: string): string {
  return text.replace(PAGE_MARKER_LINE, '');
}
