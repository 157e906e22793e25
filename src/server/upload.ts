// Reading a new document from a request: JSON {"text", "title"?, "recipe"?, "evaluate"?, "heldout_text"?}, or
// multipart/form-data with a `file` field (and optional `title`, `recipe` — JSON text —, `priority`, `evaluate`
// and `heldout_text` fields). Uploads are checked for
// size (the body limit, 413), type (text, Markdown, PDF, HTML, DOCX or EPUB by name or media type, 415 otherwise)
// and content (strict UTF-8, no NUL bytes: a binary file is refused, never absorbed as garbage). PDF, HTML,
// DOCX and EPUB are turned into text here (in a worker thread), before anything is stored (src/docs/, as `lift absorb` does), so a
// file that cannot be read is a 400 naming it and the job, the database and the adapter only ever see text.
import { extname } from 'node:path';
import type { FastifyRequest } from 'fastify';
import { sniff, EXTENSIONS, MEDIA_TYPES } from '../docs/index.js';
import { extractOffThread } from '../docs/off-thread.js';
import { FormatError } from '../io/errors.js';
import { ApiError, badField } from './errors.js';
import type { NewDocument } from './routes-documents.js';

export async function readUpload(req: FastifyRequest): Promise<NewDocument> {
  if (!req.isMultipart()) {
    const b = req.body;
    if (b === null || typeof b !== 'object' || Array.isArray(b)) throw new ApiError(400, 'the request body must be a JSON object {"text", "title"?, "recipe"?} (or multipart/form-data with a "file" field)', 'invalid_request_error', 'invalid_body');
    return b as NewDocument;
  }
  const fields: Record<string, string> = {};
  let file: { name: string; type: string; data: Buffer } | null = null;
  for await (const part of req.parts()) {
    if (part.type === 'file') {
      if (part.fieldname !== 'file') throw badField(part.fieldname, 'unexpected file field; send the document as "file"');
      if (file) throw badField('file', 'send one file per request');
      const data = await part.toBuffer(); // over the size limit: RequestFileTooLargeError → 413
      file = { name: part.filename ?? '', type: part.mimetype ?? '', data };
    } else {
      if (!['title', 'recipe', 'priority', 'evaluate', 'heldout_text'].includes(part.fieldname)) throw badField(part.fieldname, 'unknown form field; expected file, title, recipe, priority, evaluate and heldout_text');
      fields[part.fieldname] = String(part.value);
    }
  }
  if (!file) throw badField('file', 'the form has no "file" field with the document');
  const ext = extname(file.name).toLowerCase();
  const type = file.type.split(';')[0].trim().toLowerCase();
  const format = EXTENSIONS[ext] ?? MEDIA_TYPES[type];
  if (format === undefined)
    throw new ApiError(415, `file: ${JSON.stringify(file.name)} (${type || 'no media type'}) is not a supported document type; upload UTF-8 text (.txt), Markdown (.md), PDF, HTML, DOCX or EPUB`, 'invalid_request_error', 'unsupported_file_type', 'file');
  if (file.data.length === 0) throw badField('file', `${JSON.stringify(file.name)} is empty: there is nothing to absorb`);
  // The title defaults to the file's name without its extension (shown to the model in the answering prompt).
  const stem = file.name.slice(0, file.name.length - ext.length).trim();
  const title = fields.title ?? (stem.length > 0 ? stem.slice(0, 300) : undefined);
  if (format !== 'text' || sniff(file.data, format) !== undefined) {
    // The extension decides when the content has no signature; a name without one gets the media type's.
    const name = EXTENSIONS[ext] !== undefined ? file.name : `${file.name || 'upload'}${Object.keys(EXTENSIONS).find((e) => EXTENSIONS[e] === format)}`;
    try {
      const { text } = await extractOffThread(file.data, name); // a worker thread: a large PDF does not stall other requests
      if (text.trim().length === 0) throw badField('file', `${JSON.stringify(file.name)} has no text: there is nothing to absorb`);
      return { text, title, recipe: fields.recipe, priority: fields.priority, evaluate: fields.evaluate, heldout_text: fields.heldout_text };
    } catch (e) {
      if (e instanceof FormatError) throw badField('file', e.message);
      throw e;
    }
  }
  const nul = file.data.indexOf(0);
  if (nul >= 0) throw badField('file', `${JSON.stringify(file.name)}: byte ${nul} is NUL: this looks like a binary file, not text`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(file.data);
  } catch {
    throw badField('file', `${JSON.stringify(file.name)} is not valid UTF-8 text; convert it first (e.g. iconv -f latin1 -t utf-8)`);
  }
  return { text, title, recipe: fields.recipe, priority: fields.priority, evaluate: fields.evaluate, heldout_text: fields.heldout_text };
}
