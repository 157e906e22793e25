// The server database across lift versions: a database written before job priorities were stored (no
// `priority` column) opens, keeps its documents (priority null = unset), and stores priorities from then on.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { tempDir } from '../cli/helpers.js';
import { Store } from '../../src/server/store.js';

// The documents table as the first server release wrote it (commit 2d5c37d and before).
const OLD_SCHEMA = `
CREATE TABLE documents (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, title TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('queued','running','ready','failed')),
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, bytes INTEGER NOT NULL, sha256 TEXT NOT NULL,
  recipe TEXT NOT NULL, progress REAL NOT NULL DEFAULT 0, error TEXT, metrics TEXT, owner TEXT
);
CREATE TABLE document_texts (id TEXT PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE, text TEXT NOT NULL);
INSERT INTO documents (id, title, status, created_at, updated_at, bytes, sha256, recipe, owner)
  VALUES ('doc_${'0'.repeat(24)}', 'old', 'queued', 1, 1, 5, 'x', '{}', NULL);
INSERT INTO document_texts (id, text) VALUES ('doc_${'0'.repeat(24)}', 'hello');
`;

describe('server store migration', () => {
  let tmp: ReturnType<typeof tempDir>;
  before(() => (tmp = tempDir()));
  after(() => tmp.cleanup());

  it('an old database gets the priority column; its documents read priority null; new ones keep theirs', () => {
    const file = join(tmp.dir, 'lift.db');
    const old = new Database(file);
    old.exec(OLD_SCHEMA);
    old.close();

    let store = new Store(file);
    const [d] = store.listDocuments();
    assert.equal(d.title, 'old');
    assert.equal(d.priority, null);
    assert.equal(store.documentText(d.id), 'hello');
    store.insertDocument({ id: `doc_${'1'.repeat(24)}`, title: 'new', text: 't', bytes: 1, sha256: 'y', recipe: {}, owner: null, priority: 7 });
    store.update(d.id, { priority: 3 });
    store.close();

    // Opened again (the column exists now: no second ALTER), the priorities are there.
    store = new Store(file);
    assert.deepEqual(store.listDocuments().map((x) => [x.title, x.priority]), [['old', 3], ['new', 7]]);
    store.close();
  });
});
