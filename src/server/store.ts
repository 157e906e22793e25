// The server's state in one embedded SQLite database (DATA/lift.db, better-sqlite3): documents (with their text,
// so a queued or interrupted absorb can be restarted from the database alone), their progress events, and API
// keys. WAL journal: a killed server loses at most the transaction in flight, never a committed one, and
// readers never block the writer. Adapters and checkpoints are files beside the database (paths.ts).
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';

export type DocumentStatus = 'queued' | 'running' | 'ready' | 'failed';

export interface DocumentRow {
  id: string;
  title: string;
  status: DocumentStatus;
  created_at: number;
  updated_at: number;
  bytes: number;
  sha256: string;
  recipe: Record<string, unknown>;
  progress: number;
  error: string | null;
  metrics: Record<string, unknown> | null;
  owner: string | null;
  /** The absorb job's priority: 1 (first) … 2^21 − 1; null = unset (last, in posting order). Kept here so a restart keeps the order. */
  priority: number | null;
}

export interface DocumentEvent {
  seq: number;
  at: number;
  type: string;
  [k: string]: unknown;
}

export interface KeyRow {
  id: string;
  name: string;
  admin: boolean;
  created_at: number;
  revoked_at: number | null;
}

/** Document ids: random, never derived from a file name or anything a client sent. */
export const newDocumentId = (): string => `doc_${randomBytes(12).toString('hex')}`;
export const DOCUMENT_ID = /^doc_[0-9a-f]{24}$/;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS documents (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  title TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('queued','running','ready','failed')),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  recipe TEXT NOT NULL,
  progress REAL NOT NULL DEFAULT 0,
  error TEXT,
  metrics TEXT,
  owner TEXT,
  priority INTEGER
);
CREATE TABLE IF NOT EXISTS document_texts (
  id TEXT PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
  text TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
  doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  at INTEGER NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (doc_id, seq)
);
CREATE TABLE IF NOT EXISTS api_keys (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  admin INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
`;

/**
 * Columns added after a database could already exist: [table, column, definition]. A database written by an
 * older lift gets them at open (ALTER TABLE ADD COLUMN: existing rows read the default, NULL).
 */
const ADDED_COLUMNS: [string, string, string][] = [['documents', 'priority', 'INTEGER']];

interface RawDocument extends Omit<DocumentRow, 'recipe' | 'metrics'> { recipe: string; metrics: string | null }

export class Store {
  readonly db: Database.Database;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    this.migrate();
  }

  private migrate(): void {
    for (const [table, column, def] of ADDED_COLUMNS) {
      const have = (this.db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).some((c) => c.name === column);
      if (!have) this.db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${def}`);
    }
  }

  close(): void {
    this.db.close();
  }

  insertDocument(d: { id: string; title: string; text: string; bytes: number; sha256: string; recipe: Record<string, unknown>; owner: string | null; priority?: number | null }): DocumentRow {
    const now = Date.now();
    // One transaction: a document row never exists without its text.
    this.db.transaction(() => {
      this.db.prepare('INSERT INTO documents (id, title, status, created_at, updated_at, bytes, sha256, recipe, owner, priority) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(d.id, d.title, 'queued', now, now, d.bytes, d.sha256, JSON.stringify(d.recipe), d.owner, d.priority ?? null);
      this.db.prepare('INSERT INTO document_texts (id, text) VALUES (?, ?)').run(d.id, d.text);
    })();
    return this.getDocument(d.id)!;
  }

  getDocument(id: string): DocumentRow | null {
    const r = this.db.prepare('SELECT * FROM documents WHERE id = ?').get(id) as RawDocument | undefined;
    return r ? parse(r) : null;
  }

  /** Documents in the order they were posted (the absorb queue's order). */
  listDocuments(opts: { owner?: string | null; status?: DocumentStatus[] } = {}): DocumentRow[] {
    const rows = this.db.prepare('SELECT * FROM documents ORDER BY seq').all() as RawDocument[];
    return rows.map(parse).filter((d) => (opts.owner === undefined || d.owner === opts.owner) && (!opts.status || opts.status.includes(d.status)));
  }

  documentText(id: string): string | null {
    const r = this.db.prepare('SELECT text FROM document_texts WHERE id = ?').get(id) as { text: string } | undefined;
    return r?.text ?? null;
  }

  update(id: string, fields: Partial<Pick<DocumentRow, 'status' | 'progress' | 'error' | 'metrics' | 'priority'>>): void {
    const sets: string[] = ['updated_at = ?'];
    const vals: unknown[] = [Date.now()];
    for (const [k, v] of Object.entries(fields)) {
      sets.push(`${k} = ?`);
      vals.push(k === 'metrics' ? (v === null ? null : JSON.stringify(v)) : v);
    }
    this.db.prepare(`UPDATE documents SET ${sets.join(', ')} WHERE id = ?`).run(...vals, id);
  }

  deleteDocument(id: string): boolean {
    return this.db.prepare('DELETE FROM documents WHERE id = ?').run(id).changes > 0;
  }

  addEvent(id: string, e: Record<string, unknown>): DocumentEvent {
    const at = Date.now();
    const seq = ((this.db.prepare('SELECT MAX(seq) AS m FROM events WHERE doc_id = ?').get(id) as { m: number | null }).m ?? 0) + 1;
    this.db.prepare('INSERT INTO events (doc_id, seq, at, data) VALUES (?, ?, ?, ?)').run(id, seq, at, JSON.stringify(e));
    return { ...e, seq, at, type: String(e.type) };
  }

  events(id: string, after = 0): DocumentEvent[] {
    const rows = this.db.prepare('SELECT seq, at, data FROM events WHERE doc_id = ? AND seq > ? ORDER BY seq').all(id, after) as { seq: number; at: number; data: string }[];
    return rows.map((r) => ({ ...(JSON.parse(r.data) as { type: string }), seq: r.seq, at: r.at }));
  }

  // ---- API keys (stored as SHA-256 hashes; the key itself is shown once, when created) ----

  addKey(k: { id: string; name: string; hash: string; admin: boolean }): KeyRow {
    this.db.prepare('INSERT INTO api_keys (id, name, hash, admin, created_at) VALUES (?, ?, ?, ?, ?)').run(k.id, k.name, k.hash, k.admin ? 1 : 0, Date.now());
    return this.listKeys().find((r) => r.id === k.id)!;
  }

  listKeys(): KeyRow[] {
    const rows = this.db.prepare('SELECT id, name, admin, created_at, revoked_at FROM api_keys ORDER BY created_at, id').all() as (Omit<KeyRow, 'admin'> & { admin: number })[];
    return rows.map((r) => ({ ...r, admin: r.admin === 1 }));
  }

  keyByHash(hash: string): KeyRow | null {
    const r = this.db.prepare('SELECT id, name, admin, created_at, revoked_at FROM api_keys WHERE hash = ? AND revoked_at IS NULL').get(hash) as (Omit<KeyRow, 'admin'> & { admin: number }) | undefined;
    return r ? { ...r, admin: r.admin === 1 } : null;
  }

  activeKeys(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM api_keys WHERE revoked_at IS NULL').get() as { n: number }).n;
  }

  revokeKey(idOrName: string): boolean {
    return this.db.prepare('UPDATE api_keys SET revoked_at = ? WHERE (id = ? OR name = ?) AND revoked_at IS NULL').run(Date.now(), idOrName, idOrName).changes > 0;
  }
}

function parse(r: RawDocument): DocumentRow {
  return { ...r, recipe: JSON.parse(r.recipe) as Record<string, unknown>, metrics: r.metrics === null ? null : (JSON.parse(r.metrics) as Record<string, unknown>) };
}
