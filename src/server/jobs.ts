// The embedded absorb queue (the default engine of queue/types.ts): documents are absorbed in the order they
// were posted (or by priority), at most `concurrency` at a time, each in its own child process
// (queue/child.ts). The database is the queue: at start every document still "queued" or "running" (the
// server was stopped or killed mid-absorb) is queued again, in order, and a job with a checkpoint resumes from
// it. Priorities are stored with the documents (store.ts), so after a restart the queue has the same order.
import type { Store } from './store.js';
import type { DataPaths } from './paths.js';
import type { JobSpec } from './absorb-child.js';
import type { Recipe } from './recipe.js';
import { DocumentEvents } from './queue/events.js';
import { failureMessage, startAbsorbChild, type ChildRun } from './queue/child.js';
import { removeDocumentFiles, sweepDocumentFiles } from './queue/files.js';
import { effectivePriority, type AbsorbQueue, type EnqueueOptions, type JobInfo, type Listener } from './queue/types.js';

export interface JobRunnerOptions {
  store: Store;
  paths: DataPaths;
  model: string;
  tokenizer?: string;
  concurrency: number;
  /** Environment for the job processes (e.g. OMP_NUM_THREADS). */
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

export class JobRunner implements AbsorbQueue {
  readonly engine = 'embedded';
  /** Waiting jobs, first to run first: by priority (unset = MAX_PRIORITY, after all prioritized), then in order of arrival. */
  private readonly queue: { id: string; priority: number }[] = [];
  private readonly running = new Map<string, ChildRun>();
  /** Jobs stopped on purpose (cancelled, or the document deleted): their exit is not a failure. */
  private readonly cancelled = new Set<string>();
  private stopped = false;
  readonly events: DocumentEvents;

  constructor(private readonly o: JobRunnerOptions) {
    this.events = new DocumentEvents(o.store, o.log);
  }

  async start(): Promise<void> {
    this.sweep();
    for (const d of this.o.store.listDocuments({ status: ['running', 'queued'] })) {
      if (d.status === 'running') this.events.queued(d.id, { message: 'server restarted: the absorb resumes from its last checkpoint' });
      this.push(d.id, effectivePriority(undefined, d.priority));
    }
    this.pump();
  }

  async enqueue(id: string, o: EnqueueOptions = {}): Promise<void> {
    this.events.emit(id, { type: 'status', status: 'queued', position: this.queue.length + this.running.size });
    this.push(id, this.priority(id, o.priority));
    this.pump();
  }

  async retry(id: string, o: EnqueueOptions = {}): Promise<void> {
    if (this.running.has(id) || this.queue.some((q) => q.id === id)) return;
    this.events.queued(id, { message: 'retried' });
    this.push(id, this.priority(id, o.priority));
    this.pump();
  }

  /** The job's priority: a given one is stored first (a restart keeps it), else the stored one. */
  private priority(id: string, given: number | undefined): number {
    if (given !== undefined) this.o.store.update(id, { priority: given });
    return effectivePriority(given, this.o.store.getDocument(id)?.priority);
  }

  /** Behind every waiting job of the same or a higher priority (lower number). */
  private push(id: string, priority: number): void {
    const at = this.queue.findIndex((q) => q.priority > priority);
    this.queue.splice(at < 0 ? this.queue.length : at, 0, { id, priority });
  }

  async list(): Promise<JobInfo[]> {
    const waiting = new Set(this.queue.map((q) => q.id));
    return this.o.store.listDocuments().map((d) => ({
      id: d.id, title: d.title, owner: d.owner, status: d.status, progress: d.progress, error: d.error, attempts: 0,
      state: this.running.has(d.id) ? 'active' : waiting.has(d.id) ? 'waiting' : d.status === 'ready' ? 'completed' : d.status,
      priority: d.priority ?? 0,
    }));
  }

  subscribe(id: string, f: Listener): () => void {
    return this.events.subscribe(id, f);
  }

  broadcast(id: string, e: Record<string, unknown>): void {
    this.events.broadcast(id, e);
  }

  /** Cancels a queued or running job: kills its process and waits for it to exit. */
  async cancel(id: string, o: { reason?: string } = {}): Promise<void> {
    const i = this.queue.findIndex((q) => q.id === id);
    if (i >= 0) this.queue.splice(i, 1);
    const child = this.running.get(id);
    if (child) {
      this.cancelled.add(id);
      await child.stop(); // SIGTERM: the child's exit handlers remove its staging folder and lock (io/output.ts)
    }
    if (o.reason) this.events.failed(id, o.reason);
  }

  /** Stops taking jobs and kills the running ones; their documents stay "running" and resume at the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.length = 0;
    await Promise.all([...this.running.keys()].map((id) => this.cancel(id)));
  }

  private pump(): void {
    while (!this.stopped && this.running.size < this.o.concurrency && this.queue.length > 0) this.launch(this.queue.shift()!.id);
  }

  private launch(id: string): void {
    const { store, paths } = this.o;
    const doc = store.getDocument(id), text = store.documentText(id);
    if (!doc || text === null) return this.pump();
    this.events.running(id);
    const job: JobSpec = {
      id, model: this.o.model, tokenizer: this.o.tokenizer, title: doc.title, text, sha256: doc.sha256, recipe: doc.recipe as Recipe,
      adapterDir: paths.adapter(id), checkpointDir: paths.checkpoint(id), cacheDir: paths.cache,
    };
    // cwd = --data: nothing the job writes can land elsewhere; LIFT_CACHE_DIR keeps lift's cache inside too.
    const child = startAbsorbChild(job, { cwd: paths.root, env: { ...process.env, ...this.o.env, LIFT_CACHE_DIR: paths.cache }, onEvent: (e) => this.events.jobEvent(id, e) });
    this.running.set(id, child);
    void child.outcome.then((r) => {
      this.running.delete(id);
      const cancelled = this.cancelled.delete(id);
      if (this.stopped || cancelled || !store.getDocument(id)) {
        // Shutting down (the document stays "running" and resumes), cancelled or deleted: nothing to record here.
      } else if (r.message?.type === 'done') this.events.ready(id, r.message.metrics);
      else this.events.failed(id, failureMessage(r));
      this.pump();
    });
  }

  removeFiles(id: string): void {
    removeDocumentFiles(this.o.paths, id);
  }

  sweep(): void {
    sweepDocumentFiles(this.o.store, this.o.paths);
  }
}
