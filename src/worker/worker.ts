// `lift worker`: takes absorb jobs from BullMQ (queued by `lift serve --queue`) and runs each in its own
// process exactly as the embedded engine does (server/queue/child.ts → server/absorb-child.ts), with the
// checkpoints and the finished adapter in the shared store (artifacts.ts). Events go back to the server as
// job progress; the metrics are the job's return value.
//
// Nothing lost: the job's lock is renewed by this process while the child trains; a worker that dies (SIGKILL,
// power cut) stops renewing, BullMQ's stalled check hands the job to another worker, which resumes from the
// last checkpoint in the store. A worker whose lock renewal fails (it was stalled, the job moved on) stops its
// child. A failure caused by the document or recipe fails once (UnrecoverableError); one of the machine (a
// full disk, a killed process) is retried with backoff. SIGTERM: each child checkpoints the step it is at and
// the job goes back to the queue.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { DelayedError, UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { loadModelSpec } from '../model/spec.js';
import { contentHash } from '../adapters/files.js';
import { isCancelled } from '../server/queue/admin.js';
import { CANCEL_CHANNEL, checkRedis, Connections, QUEUE_NAME, shownUrl } from '../server/queue/connection.js';
import { failureMessage, startAbsorbChild, type ChildRun } from '../server/queue/child.js';
import type { AbsorbJobData } from '../server/queue/redis.js';
import type { JobSpec } from '../server/absorb-child.js';
import { parseRecipe } from '../server/recipe.js';
import { SharedDirStore, type ArtifactStore } from './artifacts.js';

export interface WorkerOptions {
  url: string;
  model: string;
  tokenizer?: string;
  store: string;
  concurrency: number;
  /** Threads per job (OMP_NUM_THREADS of the job process). */
  threads: number;
  /** A job for another model: leave it for a worker that has it ('wait', retried every few seconds) or fail it. */
  otherModels: 'wait' | 'fail';
  /** BullMQ lock duration; a dead worker's job is taken over after about this long (stalled check at the same interval). */
  lockMs: number;
  log: (line: string) => void;
}

export interface RunningWorker {
  /** Graceful: every running job checkpoints its current step and goes back to the queue. */
  close(): Promise<void>;
}

type Reason = 'cancelled' | 'lost' | 'shutdown';

export async function startWorker(o: WorkerOptions): Promise<RunningWorker> {
  await checkRedis(o.url);
  const store: ArtifactStore = new SharedDirStore(o.store);
  store.sweep();
  // The model's content identity decides which jobs this worker can run (a copy of the same file anywhere matches).
  const loaded = await loadModelSpec(o.model, {
    tokenizer: o.tokenizer,
    onDownload: ({ file, loaded: got, total }) => void (got === total && o.log(`downloaded ${file} (${(total / 1e6).toFixed(1)} MB)`)),
  });
  const mine = { hash: contentHash(loaded.model), name: loaded.id };
  loaded.model.dispose();
  const abs = (p: string | undefined): string | undefined => (p !== undefined && existsSync(p) ? resolve(p) : p);
  const model = abs(o.model)!, tokenizer = abs(o.tokenizer);

  const runs = new Map<string, { child: ChildRun; reason: Reason | null }>();
  const stopRun = (id: string, reason: Reason): void => {
    const r = runs.get(id);
    if (!r || r.reason) return;
    r.reason = reason;
    o.log(`job ${id}: ${reason === 'lost' ? 'lost its lock (another worker has it now): stopping' : reason === 'cancelled' ? 'cancelled: stopping' : 'shutting down: checkpointing and handing it back'}`);
    void (reason === 'shutdown' ? r.child.checkpointAndStop() : r.child.stop());
  };

  const conns = new Connections(o.url);
  const conn: Redis = conns.make();
  const sub: Redis = conns.make();
  sub.on('message', (_channel: string, id: string) => stopRun(id, 'cancelled'));
  await sub.subscribe(CANCEL_CHANNEL);
  const cancelled = (id: string): Promise<boolean> => isCancelled(conn, id);

  async function processJob(job: Job<AbsorbJobData>, token?: string): Promise<Record<string, unknown>> {
    const d = checkJob(job.data);
    if (d.model.hash !== mine.hash) {
      const why = `the document was posted to a server with the model ${d.model.name} (content ${d.model.hash.slice(0, 12)}); this worker has ${mine.name} (content ${mine.hash.slice(0, 12)})`;
      if (o.otherModels === 'fail') throw new UnrecoverableError(`no worker for this model: ${why}`);
      await job.moveToDelayed(Date.now() + 5000, token);
      throw new DelayedError(why);
    }
    if (await cancelled(d.doc)) throw new UnrecoverableError('cancelled');
    const staged = store.stagingDir(d.doc);
    const spec: JobSpec = {
      id: d.doc, model, tokenizer, title: d.title, text: d.text, sha256: d.sha256, recipe: d.recipe,
      adapterDir: staged, publishedDir: store.adapterDir(d.doc), checkpointDir: store.checkpointDir(d.doc), cacheDir: store.cacheDir,
    };
    o.log(`job ${d.doc}: started (attempt ${job.attemptsMade + 1})`);
    // LIFT_THREADS too: the addon reads it before OMP_NUM_THREADS, so a LIFT_THREADS of the worker's own
    // environment would otherwise override --threads. The thread count changes the adapter's last bits (the
    // order of float sums): workers that share jobs need the same --threads for resumed jobs to be bit-identical.
    const env = { ...process.env, OMP_NUM_THREADS: String(o.threads), OPENBLAS_NUM_THREADS: String(o.threads), LIFT_THREADS: String(o.threads), LIFT_CACHE_DIR: store.cacheDir };
    // Progress is sent without waiting: while Redis is away, ioredis queues it and sends it on reconnect.
    const child = startAbsorbChild(spec, { cwd: store.root, env, onEvent: (e) => void job.updateProgress(e).catch(() => {}) });
    const run = { child, reason: null as Reason | null };
    runs.set(d.doc, run);
    let r;
    try {
      r = await child.outcome;
    } finally {
      runs.delete(d.doc);
    }
    const reason = run.reason ?? (r.message?.type === 'done' && (await cancelled(d.doc)) ? 'cancelled' : null);
    if (reason) {
      if (existsSync(staged)) store.discard(staged);
      if (reason === 'cancelled') throw new UnrecoverableError('cancelled');
      if (reason === 'lost') throw new Error('the job moved to another worker');
      await job.moveToWait(token);
      throw new WaitingError();
    }
    if (r.message?.type === 'done') {
      const published = existsSync(staged) ? store.publish(d.doc, staged) : 'already-published';
      o.log(`job ${d.doc}: done (${published})`);
      return r.message.metrics;
    }
    const message = failureMessage(r);
    o.log(`job ${d.doc}: failed: ${message}`);
    if (r.message?.type === 'failed' && !r.message.retryable) throw new UnrecoverableError(message);
    throw new Error(message);
  }

  const worker = new Worker<AbsorbJobData>(QUEUE_NAME, processJob, {
    connection: conns.make(), concurrency: o.concurrency, lockDuration: o.lockMs, stalledInterval: o.lockMs, maxStalledCount: 10,
  });
  worker.on('lockRenewalFailed', (ids) => ids.forEach((id) => stopRun(id, 'lost')));
  let lastError = '';
  worker.on('error', (e) => {
    if (e.message !== lastError) o.log(`worker: ${e.message}`); // a Redis restart logs once, not once per retry
    lastError = e.message;
  });
  worker.on('ready', () => (lastError = ''));
  await worker.waitUntilReady();
  o.log(`lift worker: ${mine.name} (content ${mine.hash.slice(0, 12)}) on ${shownUrl(o.url)}, store ${store.root}, ${o.concurrency} job(s) × ${o.threads} thread(s)`);

  return {
    async close() {
      const closing = worker.close(); // takes no new job; resolves when the running ones have returned
      for (const id of runs.keys()) stopRun(id, 'shutdown');
      await closing;
      conns.closeAll();
    },
  };
}

/** The job's data as the server writes it (queue/redis.ts); anything else is a job this worker cannot run. */
function checkJob(v: unknown): AbsorbJobData {
  const d = v as Partial<AbsorbJobData> | null;
  const bad = (what: string): never => {
    throw new UnrecoverableError(`the job's data is not an absorb job of this lift version: ${what}`);
  };
  if (!d || typeof d !== 'object') return bad('not an object');
  for (const k of ['doc', 'title', 'text', 'sha256'] as const) if (typeof d[k] !== 'string') bad(`${k}: expected a string`);
  if (!d.model || typeof d.model.hash !== 'string' || typeof d.model.name !== 'string') bad('model: expected {hash, name}');
  try {
    parseRecipe(d.recipe);
  } catch (e) {
    bad((e as Error).message);
  }
  return d as AbsorbJobData;
}
