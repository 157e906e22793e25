// A document's files under --data (the shared store's root in the Redis engine): removal after a delete, and
// the sweep at start of what a killed server left of deleted documents. Used by both engines.
import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Store } from '../store.js';
import type { DataPaths } from '../paths.js';

/**
 * Removes a document's files (adapter, checkpoint, waiting parts) after its job is cancelled: each folder is first renamed to
 * a `.deleted-` name (atomic), so a crash midway leaves no half-removed adapter under a document's name.
 */
export function removeDocumentFiles(paths: DataPaths, id: string): void {
  // A document in parts keeps its finished parts beside its checkpoint (CHECKPOINT.parts-KEY) until it is written.
  const ck = paths.checkpoint(id), waiting = existsSync(dirname(ck)) ? readdirSync(dirname(ck)).filter((n) => n.startsWith(`${basename(ck)}.parts-`)).map((n) => join(dirname(ck), n)) : [];
  for (const p of [paths.adapter(id), ck, ...waiting]) {
    const trash = join(dirname(p), `.deleted-${basename(p)}-${process.pid}-${Date.now()}`);
    try {
      renameSync(p, trash);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    rmSync(trash, { recursive: true, force: true });
  }
}

/**
 * At start: removes what a killed server left of deleted documents — `.deleted-` folders, and folders or
 * lift staging/lock files of ids no longer in the database. A known document's leftovers are swept by
 * its next absorb (io/output.ts claimOutput).
 */
export function sweepDocumentFiles(store: Store, paths: DataPaths): void {
  const known = new Set(store.listDocuments().map((d) => d.id));
  const any = 'doc_' + '0'.repeat(24);
  for (const dir of [dirname(paths.adapter(any)), dirname(paths.checkpoint(any))]) {
    for (const name of readdirSync(dir)) {
      const id = /doc_[0-9a-f]{24}/.exec(name)?.[0];
      if (name.startsWith('.deleted-') || (id && !known.has(id))) rmSync(join(dir, name), { recursive: true, force: true });
    }
  }
}
