// Where the server keeps things under --data. Every path is built from a generated document id (store.ts
// DOCUMENT_ID), never from anything a client sent, so no request can name or reach a file outside --data.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DOCUMENT_ID } from './store.js';

export interface DataPaths {
  root: string;
  db: string;
  /** lift's cache folder for absorb jobs (LIFT_CACHE_DIR): QA cache, never the user's ~/.cache. */
  cache: string;
  adapter(id: string): string;
  checkpoint(id: string): string;
}

export function dataPaths(dir: string): DataPaths {
  const root = resolve(dir);
  for (const d of ['', 'adapters', 'checkpoints', 'cache']) mkdirSync(join(root, d), { recursive: true });
  const checked = (id: string): string => {
    if (!DOCUMENT_ID.test(id)) throw new Error(`not a document id: ${JSON.stringify(id)}`);
    return id;
  };
  return {
    root,
    db: join(root, 'lift.db'),
    cache: join(root, 'cache'),
    adapter: (id) => join(root, 'adapters', checked(id)),
    checkpoint: (id) => join(root, 'checkpoints', checked(id)),
  };
}
