// DOCX: the document's text through mammoth (maintained, pure JS, reads Word's paragraphs, tables, lists and
// text boxes). Its raw-text mode ends each paragraph with a blank line, which is how the rest of LIFT sees
// paragraphs. A zip without word/document.xml is not a Word document and says so.
import mammoth from 'mammoth';
import { FormatError } from '../io/errors.js';

export async function docxText(buf: Uint8Array, name: string): Promise<string> {
  let value: string;
  try {
    ({ value } = await mammoth.extractRawText({ buffer: Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength) }));
  } catch (e) {
    throw FormatError.withMessage(name, 'docx', `${name}: not a readable DOCX (expected a Word .docx: a zip with word/document.xml): ${(e as Error).message}`);
  }
  const text = value.replace(/\r\n?/g, '\n').replace(/[ \t]+\n/g, '\n').replace(/\n{3,}/g, '\n\n').trim();
  if (text.length === 0) throw FormatError.withMessage(name, 'docx', `${name}: the Word document has no text: there is nothing to absorb`);
  return text;
}
