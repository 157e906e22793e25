// Processes for the queue tests: `lift worker` (the BUILT binary, as a user runs it), started as
// test/server/helpers.ts starts `lift serve` (startCli); plus the recipe and documents the multi-process tests absorb.
import { join } from 'node:path';
import { after, before } from 'node:test';
import { buildOnce, MODEL_BIN, storyDocument, tempDir } from '../cli/helpers.js';
import { http, startCli, startServer, until, type RunningCli, type RunningServer } from '../server/helpers.js';
import { startRedis, type TestRedis } from './redis.js';

/** `lift worker` (test/server/helpers.ts startCli): stop() is SIGTERM, graceful (checkpoint, hand back). */
export type RunningWorker = RunningCli;

/** A checkpoint after every step, so a killed job resumes a step or so back; ~10–20 s per document on stories260K. */
export const RECIPE = { adapter: 'lora', lora_rank: 2, epochs: [1, 0], qa: 0, batch_size: 4, context_budget: 96, checkpoint_every: 1 };
export const documents = (n: number): string[] => Array.from({ length: n }, (_, i) => storyDocument(24 + 2 * i, 100 + i));

export function startWorker(url: string, store: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<RunningWorker> {
  return startCli(['worker', '--queue', url, '--model', MODEL_BIN, '--store', store, '--lock-seconds', '3', ...extra], (err) => (err.includes('lift worker: ') ? {} : null), 'lift worker', env);
}

/** What queueFixture starts for a describe block; `workers` are the tests' own, killed after the block. */
export interface QueueFixture {
  tmp: { dir: string; cleanup: () => void };
  redis: TestRedis;
  server: RunningServer;
  /** The server's --data folder (the workers' --store). */
  data: string;
  workers: RunningWorker[];
}

/**
 * A real Redis and `lift serve --queue` on stories260K with a --data folder of its own, for the enclosing
 * describe block: started before its tests (`setup` runs on the data folder first, e.g. to create keys; `args`
 * are further server flags), and the workers, server, Redis and folder killed and removed after them.
 */
export function queueFixture(args: string[] = [], setup?: (data: string) => void): QueueFixture {
  const f = { workers: [] as RunningWorker[] } as QueueFixture;
  before(async () => {
    buildOnce();
    f.tmp = tempDir();
    f.redis = await startRedis();
    f.data = join(f.tmp.dir, 'data');
    setup?.(f.data);
    f.server = await startServer(['--model', MODEL_BIN, '--data', f.data, '--queue', f.redis.url, ...args]);
  });
  after(async () => {
    for (const w of f.workers) await w.kill();
    await f.server?.kill();
    await f.redis?.cleanup();
    f.tmp?.cleanup();
  });
  return f;
}

export async function post(server: string, text: string, title: string, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await http(`${server}/v1/documents`, 'POST', { text, title, recipe: RECIPE, ...extra });
  if (r.status !== 202) throw new Error(`POST /v1/documents: ${r.status} ${r.text}`);
  return r.json.id;
}

/** Waits until every document is ready (fails at the first failed one). */
export async function allReady(server: string, ids: string[], ms: number): Promise<Record<string, any>> {
  return until(async () => {
    const docs: Record<string, any> = {};
    for (const id of ids) {
      const d = (await http(`${server}/v1/documents/${id}`, 'GET').catch(() => null))?.json;
      if (!d) return undefined;
      if (d.status === 'failed') throw new Error(`document ${id} failed: ${d.error}`);
      docs[id] = d;
    }
    return Object.values(docs).every((d) => d.status === 'ready') ? docs : undefined;
  }, ms, `${ids.length} documents ready`);
}
