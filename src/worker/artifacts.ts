// Where `lift worker` keeps checkpoints and finished adapters: a store every worker and the server reach. Here a
// shared directory (NFS or similar: the server's --data folder, named with `lift worker --store DIR`), behind an
// interface an S3-compatible object store can implement (docs/scale-out.md: keys, atomic publish, local cache).
//
// Layout (the server's, src/server/paths.ts): adapters/ID (published adapters, what the server serves),
// checkpoints/ID (the job's latest checkpoint, resumed by whichever worker takes the job next), cache/ (QA
// cache), staging/ID~HOST~PID~RAND (one attempt's finished adapter before it is published).
//
// Publishing exactly once: the staged folder is renamed onto adapters/ID, and rename(2) of a folder onto a
// non-empty folder fails (ENOTEMPTY/EEXIST) — atomically, also on NFS, where the server does the rename. The
// first attempt to finish publishes; any other (a stalled job's first worker coming back) finds the adapter
// there, discards its own, and reports the published one. Training is deterministic, so both are the same bytes.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { dataPaths, type DataPaths } from '../server/paths.js';
import { MANIFEST_FILE } from '../adapters/files.js';
import { isPartsFolder, PARTS_FILE } from '../lift/parts-folder.js';
import { pidAlive } from '../io/output.js';

export type PublishResult = 'published' | 'already-published';

export interface ArtifactStore {
  /** A local folder the job process may work in (its cwd). */
  readonly root: string;
  /** lift's cache for the job (QA cache). */
  readonly cacheDir: string;
  /** The job's checkpoint folder; with a remote store, a local copy synced after each checkpoint. */
  checkpointDir(id: string): string;
  /** Where the published adapter is (the server reads it there). */
  adapterDir(id: string): string;
  /** A new, not yet existing path for this attempt's finished adapter. */
  stagingDir(id: string): string;
  /** The published adapter's manifest document hash, or null when none is published. */
  publishedSha256(id: string): string | null;
  /** Publishes the staged adapter as the document's adapter, at most once; the staged folder is gone afterwards. */
  publish(id: string, staged: string): PublishResult;
  /** Removes an attempt's staged adapter (cancelled, lost the job, or already published). */
  discard(staged: string): void;
  /** Removes what killed attempts of this host left in staging. */
  sweep(): void;
}

const HOST = hostname().replace(/[^\w.-]/g, '_');

export class SharedDirStore implements ArtifactStore {
  readonly root: string;
  readonly cacheDir: string;
  private readonly paths: DataPaths;
  private readonly staging: string;

  constructor(dir: string) {
    this.paths = dataPaths(dir);
    this.root = this.paths.root;
    this.cacheDir = this.paths.cache;
    this.staging = join(this.root, 'staging');
    mkdirSync(this.staging, { recursive: true });
  }

  checkpointDir(id: string): string {
    return this.paths.checkpoint(id);
  }

  adapterDir(id: string): string {
    return this.paths.adapter(id);
  }

  stagingDir(id: string): string {
    this.paths.adapter(id); // checks the id
    return join(this.staging, `${id}~${HOST}~${process.pid}~${randomBytes(4).toString('hex')}`);
  }

  publishedSha256(id: string): string | null {
    try {
      const dir = this.adapterDir(id);
      const m = JSON.parse(readFileSync(join(dir, isPartsFolder(dir) ? PARTS_FILE : MANIFEST_FILE), 'utf8')) as { document_sha256?: unknown };
      return typeof m.document_sha256 === 'string' ? m.document_sha256 : null;
    } catch {
      return null;
    }
  }

  publish(id: string, staged: string): PublishResult {
    try {
      renameSync(staged, this.adapterDir(id));
      return 'published';
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
      this.discard(staged);
      return 'already-published';
    }
  }

  discard(staged: string): void {
    if (!staged.startsWith(this.staging)) throw new Error(`not a staging folder: ${staged}`);
    rmSync(staged, { recursive: true, force: true });
  }

  sweep(): void {
    for (const name of existsSync(this.staging) ? readdirSync(this.staging) : []) {
      const m = /doc_[0-9a-f]{24}~([^~]+)~(\d+)~/.exec(name);
      if (m && m[1] === HOST && !pidAlive(Number(m[2]))) rmSync(join(this.staging, name), { recursive: true, force: true });
    }
  }
}
