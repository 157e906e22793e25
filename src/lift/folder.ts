// The documents an absorbed folder keeps beside its adapter, so `ask`/`chat` can put them in context.
// One document (the layout since the start, still written for one): document.txt + document.json
//   { title, source, context_budget, answer_stop, bos, qas }; the manifest's document_sha256 is document.txt's.
// Several: documents/01.txt … NN.txt + document.json with the same keys and
//   documents: [{ file: "documents/01.txt", title, source, sha256 }, …] (title: the titles joined by "; ");
//   the manifest's document_sha256 is documentsSha256 of the listed sha256s (absorb.ts), so the manifest
//   covers the list and the list covers each file.
// Readers accept both; every file is checked against its recorded sha256 before it is used. readAbsorbed is
// what `ask`, `chat` and the server answer from.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FormatError } from '../io/errors.js';
import { readJsonObject } from '../io/json-file.js';
import { MANIFEST_FILE } from '../adapters/files.js';
import { documentsSha256 } from './absorb.js';
import { isPartsFolder, PARTS_FILE } from './parts-folder.js';

export interface FolderDocument {
  title: string;
  text: string;
  /** Where it was read from when absorbed (absent in folders written before it was recorded). */
  source?: string;
}

const sha256 = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** File name of document i (0-based) of n: documents/01.txt, … (wider when n > 99). */
export function documentFile(i: number, n: number): string {
  return `documents/${String(i + 1).padStart(Math.max(2, String(n).length), '0')}.txt`;
}

/**
 * The files that keep `docs` in an adapter folder (saved in the same atomic step as the adapter) and the
 * sha256 the manifest records. `meta` holds document.json's other keys (context_budget, answer_stop, …).
 */
export function documentFolderFiles(docs: readonly FolderDocument[], meta: Record<string, unknown>): { files: Record<string, string>; sha256: string } {
  if (docs.length === 0) throw new Error('documentFolderFiles: no documents');
  if (docs.length === 1) {
    const [d] = docs;
    return { files: { 'document.txt': d.text, 'document.json': JSON.stringify({ title: d.title, source: d.source, ...meta }, null, 2) + '\n' }, sha256: sha256(d.text) };
  }
  const files: Record<string, string> = {};
  const list = docs.map((d, i) => {
    const file = documentFile(i, docs.length);
    files[file] = d.text;
    return { file, title: d.title, source: d.source, sha256: sha256(d.text) };
  });
  files['document.json'] = JSON.stringify({ title: docs.map((d) => d.title).join('; '), documents: list, ...meta }, null, 2) + '\n';
  return { files, sha256: documentsSha256(list.map((d) => d.sha256)) };
}

/**
 * The documents of an absorbed folder, each checked against the sha256 recorded at absorb time (`recorded`:
 * the manifest's document_sha256; null for folders that predate it). `meta` is document.json, parsed.
 */
export function readFolderDocuments(dir: string, meta: Record<string, unknown>, recorded: string | null, manifestFile: string): FolderDocument[] {
  const metaFile = join(dir, 'document.json');
  const changed = (file: string, want: string, got: string, where: string) => new FormatError(file, 'sha256', `${want} (recorded in ${where} when the document was absorbed)`,
    `got ${got}: the document was changed after absorbing; restore it, or absorb the new text into a new folder`);
  if (meta.documents === undefined) {
    const file = join(dir, 'document.txt');
    if (!existsSync(file)) throw new Error(`${dir}: not an absorbed document folder (document.txt is missing); create one with lift absorb DOC --model M --out ${dir}`);
    const bytes = readFileSync(file);
    // The adapter learned these exact bytes; answering with an edited document mixes two texts without saying so.
    if (recorded !== null && sha256(bytes) !== recorded) throw changed(file, recorded, sha256(bytes), manifestFile);
    return [{ title: meta.title as string, text: bytes.toString('utf8') }];
  }
  const list = meta.documents;
  if (!Array.isArray(list) || list.length === 0) throw new FormatError(metaFile, '"documents"', 'a non-empty list of {file, title, sha256}', `got ${JSON.stringify(list)?.slice(0, 80)}`);
  const docs = list.map((e: unknown, i: number): FolderDocument & { sha256: string } => {
    const entry = e as Record<string, unknown> | null;
    const ok = entry && typeof entry === 'object' && typeof entry.file === 'string' && typeof entry.title === 'string' && typeof entry.sha256 === 'string';
    if (!ok) throw new FormatError(metaFile, `"documents"[${i}]`, 'an object with "file", "title" and "sha256" (strings)', `got ${JSON.stringify(e)?.slice(0, 80)}`);
    const name = entry.file as string;
    // Only documents/NN.txt: a listed path must not lead out of the folder.
    if (!/^documents\/\d+\.txt$/.test(name)) throw new FormatError(metaFile, `"documents"[${i}].file`, 'documents/NN.txt', `got ${JSON.stringify(name)}`);
    const file = join(dir, name);
    if (!existsSync(file)) throw new Error(`${dir}: ${name} is missing (listed in document.json); the folder is incomplete — absorb the documents again`);
    const bytes = readFileSync(file);
    if (sha256(bytes) !== entry.sha256) throw changed(file, entry.sha256 as string, sha256(bytes), metaFile);
    return { title: entry.title as string, text: bytes.toString('utf8'), sha256: entry.sha256 as string, ...(typeof entry.source === 'string' ? { source: entry.source } : {}) };
  });
  const all = documentsSha256(docs.map((d) => d.sha256));
  if (recorded !== null && all !== recorded)
    throw new FormatError(metaFile, '"documents" sha256s', `a list whose hash is ${recorded} (recorded in ${manifestFile})`, `got ${all}: document.json's list was changed after absorbing`);
  return docs.map(({ sha256: _, ...d }) => d);
}

/** Several documents as one context for the answer prompt: each under its title, in absorb order. */
export function joinDocuments(docs: readonly FolderDocument[]): string {
  return docs.length === 1 ? docs[0].text : docs.map((d) => `${d.title}\n${d.text.trim()}`).join('\n\n');
}

export interface AbsorbedDocument {
  title: string;
  /** The document, or several joined under their titles (joinDocuments). */
  text: string;
  documents: FolderDocument[];
  contextBudget: number;
  baseModel: string;
  /** How the adapter was meant to answer (document.json; absent in folders written before presets). */
  answerStop?: 'blank-line' | 'eos';
  bos?: boolean;
}

/**
 * The document(s) and settings `lift absorb` stored beside the adapter (src/lift/folder.ts: document.txt, or
 * documents/NN.txt listed in document.json); each must still be the one absorbed. Several documents come
 * back joined under their titles (`text`) and one by one (`documents`).
 */
export function readAbsorbed(dir: string): AbsorbedDocument {
  // A document absorbed in parts (parts-folder.ts) records its base and document hash in lift_parts.json.
  const manifestName = isPartsFolder(dir) ? PARTS_FILE : MANIFEST_FILE;
  for (const f of [manifestName, 'document.json']) if (!existsSync(join(dir, f))) throw new Error(`${dir}: not an absorbed document folder (${f} is missing); create one with lift absorb DOC --model M --out ${dir}`);
  const metaFile = join(dir, 'document.json'), manifestFile = join(dir, manifestName);
  const meta = readJsonObject(metaFile, 'the absorb settings {title, context_budget}'), manifest = readJsonObject(manifestFile, 'the adapter manifest');
  const title = meta.title, budget = meta.context_budget, base = manifest.base_model as Record<string, unknown> | null | undefined;
  if (typeof title !== 'string') throw new FormatError(metaFile, '"title"', 'a string', `got ${JSON.stringify(title)}`);
  if (!Number.isInteger(budget) || (budget as number) < 1) throw new FormatError(metaFile, '"context_budget"', 'a positive integer', `got ${JSON.stringify(budget)}`);
  if (!base || typeof base !== 'object' || typeof base.id !== 'string') throw new FormatError(manifestFile, '"base_model"', 'an object with the base model "id" (a string)', `got ${JSON.stringify(base)}`);
  const documents = readFolderDocuments(dir, meta, typeof manifest.document_sha256 === 'string' ? manifest.document_sha256 : null, manifestName);
  const stop = meta.answer_stop, bos = meta.bos;
  if (stop !== undefined && stop !== 'blank-line' && stop !== 'eos') throw new FormatError(metaFile, '"answer_stop"', '"blank-line" or "eos"', `got ${JSON.stringify(stop)}`);
  if (bos !== undefined && typeof bos !== 'boolean') throw new FormatError(metaFile, '"bos"', 'true or false', `got ${JSON.stringify(bos)}`);
  return { title, text: joinDocuments(documents), documents, contextBudget: budget as number, baseModel: base.id, answerStop: stop, bos };
}

/**
 * DIR's documents and those of the other absorbed folders in `dirs` (--adapter a,b): one context, in that
 * order, each folder once. Folders without document.json (an adapter alone) add no document.
 */
export function readAbsorbedAll(dir: string, dirs: readonly string[]): AbsorbedDocument {
  const seen = new Set([resolve(dir)]);
  const more = dirs.filter((d) => !seen.has(resolve(d)) && (seen.add(resolve(d)), existsSync(join(d, 'document.json')))).map(readAbsorbed);
  return joinAbsorbed([readAbsorbed(dir), ...more]);
}

/**
 * Several absorbed documents as one context (what `--adapter a,b` and the server's `model: "a+b"` answer from):
 * their documents joined under their titles, the titles joined by "; ", the first one's budget and answer settings.
 */
export function joinAbsorbed(all: readonly AbsorbedDocument[]): AbsorbedDocument {
  if (all.length === 1) return all[0];
  const documents = all.flatMap((d) => d.documents);
  return { ...all[0], title: documents.map((d) => d.title).join('; '), text: joinDocuments(documents), documents };
}

