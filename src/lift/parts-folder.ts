// A document absorbed in parts (`lift absorb DOC --parts N`, lift/parts.ts) is one folder:
//   lift_parts.json   { format_version, base_model: { id, revision }, document_sha256, part_tokens, parts: ["part-01", …],
//                       tokens: [per part], created, metrics: the parts' summed (absorb-parts.ts partsMetrics) }
//   document.txt      the whole document (ask/chat put it in context; its sha256 is document_sha256)
//   document.json     { title, source, context_budget, answer_stop, bos } as an adapter folder's
//   part-01/ …        one ordinary adapter folder per part (its own manifest, weights, document.txt = the part)
// Readers: readAbsorbed (folder.ts) takes lift_parts.json where an adapter folder has its manifest; the CLI's
// adapter loading expands the folder into its parts behind a router (src/adapters/route.ts).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FormatError } from '../io/errors.js';
import { readJsonObject } from '../io/json-file.js';

export const PARTS_FILE = 'lift_parts.json';
export const PARTS_FORMAT_VERSION = 1;

/** Folder name of part i (0-based) of n: part-01, … (wider when n > 99). */
export function partFolder(i: number, n: number): string {
  return `part-${String(i + 1).padStart(Math.max(2, String(n).length), '0')}`;
}

/** True when `dir` is a folder of parts (it holds lift_parts.json). */
export function isPartsFolder(dir: string): boolean {
  return existsSync(join(dir, PARTS_FILE));
}

/** The part folders of a parts folder, in document order, each checked to exist; FormatError for a bad list. */
export function partDirs(dir: string): string[] {
  const file = join(dir, PARTS_FILE);
  const meta = readJsonObject(file, 'the list of a document\'s part adapters');
  const parts = meta.parts;
  if (!Array.isArray(parts) || parts.length === 0) throw new FormatError(file, '"parts"', 'a non-empty list of part folder names', `got ${JSON.stringify(parts)?.slice(0, 80)}`);
  return parts.map((p: unknown, i: number) => {
    // Only part-NN: a listed name must not lead out of the folder.
    if (typeof p !== 'string' || !/^part-\d+$/.test(p)) throw new FormatError(file, `"parts"[${i}]`, 'a folder name part-NN', `got ${JSON.stringify(p)}`);
    const sub = join(dir, p);
    if (!existsSync(sub)) throw new FormatError(file, `"parts"[${i}]`, 'a part folder beside it', `${p} is missing: the folder is incomplete — absorb the document again`);
    return sub;
  });
}

/** Adapter folders as given, each parts folder replaced by its parts (what a router routes between). */
export function expandParts(dirs: readonly string[]): string[] {
  return dirs.flatMap((d) => (isPartsFolder(d) ? partDirs(d) : [d]));
}
