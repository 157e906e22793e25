// The BullMQ engine (`lift serve --queue redis://…`): the server adds one BullMQ job per document (job id =
// document id, so adding twice is a no-op) and `lift worker` processes anywhere run them (src/worker/). The
// database stays the server's: workers report through BullMQ — job.updateProgress() carries each absorb event,
// the job's return value carries the metrics, its failedReason the error — and the server's QueueEvents turns
// those into the same document updates and SSE events as the embedded engine. Events can be missed (the server
// was down, Redis restarted): a reconcile pass (at start and every few seconds) reads each unfinished
// document's job state and catches up.
import { Queue, QueueEvents, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Store } from '../store.js';
import type { DataPaths } from '../paths.js';
import type { Recipe } from '../recipe.js';
import { DocumentEvents } from './events.js';
import { removeDocumentFiles, sweepDocumentFiles } from './files.js';
import { checkRedis, Connections, QUEUE_NAME } from './connection.js';
import { cancelJob, isCancelled, LISTED_STATES, retryJob } from './admin.js';
import { effectivePriority, type AbsorbQueue, type EnqueueOptions, type JobInfo, type Listener } from './types.js';

/** What a worker needs to absorb a document: everything but the model weights, which it has itself. */
export interface AbsorbJobData {
  doc: string;
  title: string;
  text: string;
  sha256: string;
  recipe: Recipe;
  owner: string | null;
  /** The base model's content identity (model/identity.ts) and its name, for a worker with another model. */
  model: { hash: string; name: string };
}

export interface RedisQueueOptions {
  url: string;
  store: Store;
  paths: DataPaths;
  model: { hash: string; name: string };
  /** Attempts per job for failures that are not the document's (a killed process, a full disk); default 3. */
  attempts?: number;
  /** Seconds between reconcile passes (default 5). */
  reconcileSeconds?: number;
  log?: (line: string) => void;
}

export class RedisQueue implements AbsorbQueue {
  readonly engine = 'redis';
  readonly events: DocumentEvents;
  private readonly conns: Connections;
  private readonly conn: Redis;
  private readonly queue: Queue<AbsorbJobData>;
  private readonly qe: QueueEvents;
  private timer: NodeJS.Timeout | null = null;
  private reconciling: Promise<void> | null = null;

  /** Checks that Redis answers first (a clear error naming the URL otherwise). */
  static async open(o: RedisQueueOptions): Promise<RedisQueue> {
    await checkRedis(o.url);
    return new RedisQueue(o);
  }

  private constructor(private readonly o: RedisQueueOptions) {
    this.events = new DocumentEvents(o.store, o.log);
    const warn = (e: Error): void => o.log?.(`redis: ${e.message}`);
    this.conns = new Connections(o.url);
    this.conn = this.conns.make();
    this.queue = new Queue<AbsorbJobData>(QUEUE_NAME, { connection: this.conns.make() });
    this.queue.on('error', warn);
    this.qe = new QueueEvents(QUEUE_NAME, { connection: this.conns.make() });
    this.qe.on('error', warn);
  }

  async start(): Promise<void> {
    sweepDocumentFiles(this.o.store, this.o.paths);
    const ev = this.events, known = (id: string): boolean => this.o.store.getDocument(id) !== null;
    this.qe.on('active', ({ jobId }) => known(jobId) && ev.running(jobId));
    this.qe.on('progress', ({ jobId, data }) => {
      if (known(jobId) && data && typeof data === 'object' && typeof (data as { type?: unknown }).type === 'string') ev.jobEvent(jobId, data as Record<string, unknown>);
    });
    this.qe.on('completed', ({ jobId, returnvalue }) => known(jobId) && ev.ready(jobId, asMetrics(returnvalue)));
    this.qe.on('failed', ({ jobId, failedReason }) => known(jobId) && ev.failed(jobId, failedReason));
    this.qe.on('stalled', ({ jobId }) => known(jobId) && ev.queued(jobId, { message: 'its worker stopped answering: the job goes back to the queue and resumes from its last checkpoint' }));
    this.qe.on('waiting', ({ jobId, prev }) => {
      if (!known(jobId)) return;
      if (prev === 'active') ev.queued(jobId, { message: 'handed back by its worker: resumes from its last checkpoint' });
      else if (prev === 'failed' || prev === 'completed') ev.queued(jobId, { message: 'retried' });
    });
    this.qe.on('delayed', ({ jobId }) => {
      const d = this.o.store.getDocument(jobId);
      if (d && d.status === 'running') ev.queued(jobId, { message: 'the attempt failed; retried after a pause from its last checkpoint' });
    });
    await Promise.all([this.qe.waitUntilReady(), this.queue.waitUntilReady()]);
    await this.reconcile();
    this.timer = setInterval(() => void this.reconcile(), (this.o.reconcileSeconds ?? 5) * 1000);
    this.timer.unref();
  }

  /** Brings every unfinished document in line with its job (adds the jobs that are missing). */
  reconcile(): Promise<void> {
    this.reconciling ??= (async () => {
      try {
        for (const d of this.o.store.listDocuments({ status: ['queued', 'running'] })) {
          if (await isCancelled(this.conn, d.id)) {
            this.events.failed(d.id, 'cancelled'); // by `lift jobs cancel`, straight on Redis
            continue;
          }
          const job = await this.queue.getJob(d.id);
          if (!job) {
            await this.add(d.id);
            continue;
          }
          const state = await job.getState();
          if (state === 'completed') this.events.ready(d.id, asMetrics(job.returnvalue));
          else if (state === 'failed') this.events.failed(d.id, job.failedReason);
          else if (state === 'active' && d.status === 'queued') this.events.running(d.id);
        }
      } catch (e) {
        this.o.log?.(`reconcile: ${(e as Error).message}`); // Redis away: the next pass catches up
      } finally {
        this.reconciling = null;
      }
    })();
    return this.reconciling;
  }

  /** Adds the document's job with its stored priority (a given one is stored first); adding twice is a no-op. */
  private async add(id: string, given?: number): Promise<Job<AbsorbJobData> | null> {
    if (given !== undefined) this.o.store.update(id, { priority: given });
    const d = this.o.store.getDocument(id), text = this.o.store.documentText(id);
    if (!d || text === null) return null;
    // Always a priority: BullMQ runs jobs without one before every prioritized job (types.ts, MAX_PRIORITY).
    const priority = effectivePriority(undefined, d.priority);
    const data: AbsorbJobData = { doc: id, title: d.title, text, sha256: d.sha256, recipe: d.recipe as Recipe, owner: d.owner, model: this.o.model };
    return this.queue.add('absorb', data, {
      jobId: id, priority, attempts: this.o.attempts ?? 3, backoff: { type: 'exponential', delay: 2000 },
      removeOnComplete: { age: 7 * 86400 }, removeOnFail: { age: 7 * 86400 },
    });
  }

  async enqueue(id: string, o: EnqueueOptions = {}): Promise<void> {
    this.events.emit(id, { type: 'status', status: 'queued' });
    await this.add(id, o.priority);
  }

  async retry(id: string, o: EnqueueOptions = {}): Promise<void> {
    const r = await retryJob(this.queue, this.conn, id);
    if (r === 'unfinished') return;
    this.events.queued(id, { message: 'retried' });
    if (r === 'unknown') await this.add(id, o.priority);
    else if (o.priority !== undefined) {
      this.o.store.update(id, { priority: o.priority });
      await (await this.queue.getJob(id))?.changePriority({ priority: o.priority }).catch((e: Error) => this.o.log?.(`priority of ${id}: ${e.message}`));
    }
  }

  async cancel(id: string, o: { reason?: string } = {}): Promise<void> {
    await cancelJob(this.queue, this.conn, id);
    if (o.reason) this.events.failed(id, o.reason);
  }

  async list(): Promise<JobInfo[]> {
    const jobs = new Map<string, { state: string; job: Job<AbsorbJobData> }>();
    for (const state of LISTED_STATES) {
      for (const job of await this.queue.getJobs([state])) if (job?.id) jobs.set(job.id, { state, job });
    }
    return this.o.store.listDocuments().map((d) => {
      const j = jobs.get(d.id);
      return {
        id: d.id, title: d.title, owner: d.owner, status: d.status, state: j?.state ?? 'none', priority: d.priority ?? 0,
        progress: d.progress, attempts: j?.job.attemptsMade ?? 0, error: d.error,
      };
    });
  }

  subscribe(id: string, f: Listener): () => void {
    return this.events.subscribe(id, f);
  }

  broadcast(id: string, e: Record<string, unknown>): void {
    this.events.broadcast(id, e);
  }

  removeFiles(id: string): void {
    removeDocumentFiles(this.o.paths, id);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.reconciling;
    await Promise.allSettled([this.qe.close(), this.queue.close()]);
    this.conns.closeAll();
  }
}

function asMetrics(v: unknown): Record<string, unknown> {
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch { /* not JSON */ }
  }
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}
