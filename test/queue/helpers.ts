// Processes for the queue tests: `lift worker` (the BUILT binary, as a user runs it), started as
// test/server/helpers.ts starts `lift serve` (startCli); plus the recipe and documents the multi-process tests absorb.
import { join } from 'node:path';
import { after, afterEach, before } from 'node:test';
import { buildOnce, MODEL_BIN, storyDocument, tempDir } from '../cli/helpers.js';
import { http, startCli, startServer, until, type RunningCli, type RunningServer } from '../server/helpers.js';
import { startRedis, type TestRedis } from './redis.js';

/** `lift worker` (test/server/helpers.ts startCli): stop() is SIGTERM, graceful (checkpoint, hand back). */
export type RunningWorker = RunningCli;

/** A checkpoint after every step, so a killed job resumes a step or so back; ~10–20 s per document on stories260K. */
export const RECIPE = { adapter: 'lora', lora_rank: 2, epochs: [1, 0], qa: 0, batch_size: 4, context_budget: 96, checkpoint_every: 1 };
export const documents = (n: number): string[] => Array.from({ length: n }, (_, i) => storyDocument(24 + 2 * i, 100 + i));

/**
 * The job lock of a test whose worker is killed on purpose (multi.test.ts): another worker takes the job over
 * about this long after the kill. Any test may lose such a lock without a kill: the worker renews it every 1.5 s,
 * and a worker (or Redis) that a loaded machine stalls longer than that loses its job to the stalled check,
 * which runs it again ("started" twice; an operations run failed its priority and concurrency tests this way).
 * Only a test whose assertions hold when a job moves to another worker or restarts may pass it.
 */
export const TAKEOVER_LOCK = ['--lock-seconds', '3'];

/**
 * `lift worker` on `store`. Without --lock-seconds in `extra` its lock is the longest the flag takes (3600 s,
 * renewed every 30 min): no slowness of the machine hands a job to the stalled check, so a test that counts a
 * job's starts, or their order, does not depend on how fast the machine is.
 */
export function startWorker(url: string, store: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<RunningWorker> {
  const lock = extra.includes('--lock-seconds') ? [] : ['--lock-seconds', '3600'];
  return startCli(['worker', '--queue', url, '--model', MODEL_BIN, '--store', store, ...lock, ...extra], (err) => (err.includes('lift worker: ') ? {} : null), 'lift worker', env);
}

/** What queueFixture starts for a describe block; `workers` are the tests' own, killed (SIGKILL) after each test. */
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
 * are further server flags), and the server, Redis and folder killed and removed after them. The workers a
 * test pushed to `workers` are killed after that test, passed or failed: a failed test's worker must not take
 * the next test's jobs (SIGKILL, not a graceful stop, which would hand its job back to the queue; with the
 * long lock, a job it held stays active and no later worker runs it).
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
  afterEach(async () => {
    for (const w of f.workers.splice(0)) await w.kill();
  });
  after(async () => {
    for (const w of f.workers.splice(0)) await w.kill();
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
