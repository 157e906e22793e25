// On-disk cache of synthesized QAs (docs/method.md §3), so re-running LIFT on a document does not pay for QA
// generation again. Key = sha256 of (sha256(document), generator id, n, seed): one JSON file per key under a
// directory the caller gives. Writes are atomic (temp file + rename), so a crash never leaves half a file;
// a corrupt or foreign file is ignored with a warning and regenerated, never fatal.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { QAGenerateOptions, QAGenerator, QAPair } from './types.js';

const VERSION = 1;

/** File content: the key's parts (checked on read) and the QAs. */
interface CacheFile {
  version: number;
  documentSha256: string;
  generator: string;
  n: number;
  seed: number;
  qas: QAPair[];
}

export const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

/** The cache key (hex) of one request. */
export function qaCacheKey(document: string, generatorId: string, n: number, seed: number): string {
  return sha256(JSON.stringify([sha256(document), generatorId, n, seed]));
}

/** Path of the cache file for a key. */
export function qaCachePath(dir: string, key: string): string {
  return join(dir, `qa-${key}.json`);
}

function isQAPair(x: unknown): x is QAPair {
  const q = x as QAPair;
  return typeof q === 'object' && q !== null && typeof q.question === 'string' && typeof q.answer === 'string' &&
    Array.isArray(q.evidence) && q.evidence.every((e) => typeof e === 'string');
}

/** The cached QAs, or null on a miss; a corrupt or mismatching file warns and counts as a miss. */
export async function readQACache(file: string, expect: Omit<CacheFile, 'version' | 'qas'>, warn: (m: string) => void): Promise<QAPair[] | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    warn(`QA cache: cannot read ${file} (${(e as Error).message}); regenerating`);
    return null;
  }
  try {
    const c = JSON.parse(text) as CacheFile;
    if (c.version !== VERSION || c.documentSha256 !== expect.documentSha256 || c.generator !== expect.generator ||
      c.n !== expect.n || c.seed !== expect.seed || !Array.isArray(c.qas) || !c.qas.every(isQAPair)) {
      throw new Error('content does not match its key or the expected shape');
    }
    return c.qas;
  } catch (e) {
    warn(`QA cache: ignoring corrupt file ${file} (${(e as Error).message}); regenerating`);
    return null;
  }
}

/** Writes a cache file atomically (temp file in the same directory, then rename). */
export async function writeQACache(file: string, content: CacheFile): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, JSON.stringify(content, null, 1));
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

export interface QACacheOptions {
  /** Cache problems (corrupt files); default console.warn. */
  warn?: (message: string) => void;
}

/** Wraps a generator: a hit returns the stored QAs, a miss generates and stores them. */
export class CachedQAGenerator implements QAGenerator {
  readonly id: string;
  /** Counters, e.g. for progress output and tests. */
  hits = 0;
  misses = 0;

  constructor(readonly inner: QAGenerator, readonly dir: string, private readonly opts: QACacheOptions = {}) {
    this.id = inner.id;
  }

  async generate(passage: string, n: number, g: QAGenerateOptions = {}): Promise<QAPair[]> {
    const seed = g.seed ?? 0;
    const warn = this.opts.warn ?? g.warn ?? ((m: string) => console.warn(m));
    const expect = { documentSha256: sha256(passage), generator: this.inner.id, n, seed };
    const file = qaCachePath(this.dir, qaCacheKey(passage, this.inner.id, n, seed));
    const cached = await readQACache(file, expect, warn);
    if (cached !== null) { this.hits++; return cached; }
    this.misses++;
    const qas = await this.inner.generate(passage, n, g);
    await mkdir(this.dir, { recursive: true });
    await writeQACache(file, { version: VERSION, ...expect, qas });
    return qas;
  }
}
