// The absorb queue: documents are absorbed in the order they were posted, at most `concurrency` at a time,
// each in its own child process (absorb-child.ts says why not a worker thread). The database is the queue:
// at start every document still "queued" or "running" (the server was stopped or killed mid-absorb) is
// queued again, in order, and a job with a checkpoint resumes from it.
import { fork, type ChildProcess } from 'node:child_process';
import { readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Store, DocumentEvent } from './store.js';
import type { DataPaths } from './paths.js';
import type { ChildMessage, JobSpec } from './absorb-child.js';
import type { Recipe } from './recipe.js';

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

type Listener = (e: DocumentEvent) => void;

// The child's file beside this one: .js when built, .ts under tsx (the fork inherits tsx through execArgv).
const CHILD = fileURLToPath(new URL(`./absorb-child${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

/** The server's Node flags for the job process, with a bare `--import tsx` resolved (the job runs in --data). */
function childExecArgv(): string[] {
  return process.execArgv.map((a, i, all) => {
    if (a === 'tsx' && all[i - 1] === '--import') return import.meta.resolve('tsx');
    if (a === '--import=tsx') return `--import=${import.meta.resolve('tsx')}`;
    return a;
  });
}

export class JobRunner {
  private readonly queue: string[] = [];
  private readonly running = new Map<string, ChildProcess>();
  private readonly listeners = new Map<string, Set<Listener>>();
  /** Jobs killed on purpose (their document is being deleted): their exit is not a failure. */
  private readonly cancelled = new Set<string>();
  private stopped = false;

  constructor(private readonly o: JobRunnerOptions) {}

  /** Queues every unfinished document (in posting order) and starts as many as allowed. */
  start(): void {
    this.sweep();
    for (const d of this.o.store.listDocuments({ status: ['running', 'queued'] })) {
      if (d.status === 'running') {
        this.o.store.update(d.id, { status: 'queued' });
        this.emit(d.id, { type: 'status', status: 'queued', message: 'server restarted: the absorb resumes from its last checkpoint' });
      }
      this.queue.push(d.id);
    }
    this.pump();
  }

  enqueue(id: string): void {
    this.emit(id, { type: 'status', status: 'queued', position: this.queue.length + this.running.size });
    this.queue.push(id);
    this.pump();
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Cancels a queued or running job (the document is being deleted): kills its process and waits for it to exit. */
  async cancel(id: string): Promise<void> {
    const i = this.queue.indexOf(id);
    if (i >= 0) this.queue.splice(i, 1);
    const child = this.running.get(id);
    if (child && child.exitCode === null && child.signalCode === null) {
      this.cancelled.add(id);
      const exited = new Promise<void>((res) => child.once('exit', () => res()));
      child.kill('SIGTERM'); // the child's exit handlers remove its staging folder and lock (io/output.ts)
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
  }

  /** Stops taking jobs and kills the running ones; their documents stay "running" and resume at the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.length = 0;
    await Promise.all([...this.running.keys()].map((id) => this.cancel(id)));
  }

  subscribe(id: string, f: Listener): () => void {
    let s = this.listeners.get(id);
    if (!s) this.listeners.set(id, (s = new Set()));
    s.add(f);
    return () => {
      s.delete(f);
      if (s.size === 0) this.listeners.delete(id);
    };
  }

  /** Records an event (progress ticks are only broadcast, not stored) and tells the subscribers. */
  emit(id: string, e: Record<string, unknown>): void {
    let ev: DocumentEvent;
    if (e.type === 'progress' || e.type === 'phase') ev = { ...e, type: String(e.type), seq: 0, at: Date.now() };
    else {
      try {
        ev = this.o.store.addEvent(id, e);
      } catch {
        return; // the document was deleted meanwhile
      }
    }
    for (const f of this.listeners.get(id) ?? []) f(ev);
  }

  /** Tells the subscribers without recording (the document is gone). */
  broadcast(id: string, e: Record<string, unknown>): void {
    const ev = { ...e, type: String(e.type), seq: 0, at: Date.now() };
    for (const f of this.listeners.get(id) ?? []) f(ev);
  }

  private pump(): void {
    while (!this.stopped && this.running.size < this.o.concurrency && this.queue.length > 0) this.launch(this.queue.shift()!);
  }

  private launch(id: string): void {
    const { store, paths } = this.o;
    const doc = store.getDocument(id), text = store.documentText(id);
    if (!doc || text === null) return this.pump();
    store.update(id, { status: 'running', error: null });
    this.emit(id, { type: 'status', status: 'running' });
    const job: JobSpec = {
      id, model: this.o.model, tokenizer: this.o.tokenizer, title: doc.title, text, sha256: doc.sha256, recipe: doc.recipe as Recipe,
      adapterDir: paths.adapter(id), checkpointDir: paths.checkpoint(id), cacheDir: paths.cache,
    };
    // cwd = --data: nothing the job writes can land elsewhere; LIFT_CACHE_DIR keeps lift's cache inside too.
    const child = fork(CHILD, [], { cwd: paths.root, execArgv: childExecArgv(), env: { ...process.env, ...this.o.env, LIFT_CACHE_DIR: paths.cache }, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    this.running.set(id, child);
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
    let outcome: ChildMessage | null = null;
    child.on('message', (m: ChildMessage) => {
      if (m.type === 'event') {
        const e = m.event;
        if (e.type === 'progress' && typeof e.samples === 'number' && typeof e.total_samples === 'number' && e.total_samples > 0) {
          const progress = e.samples / e.total_samples;
          try { store.update(id, { progress }); } catch { /* deleted */ }
          this.emit(id, { ...e, progress });
        } else {
          // Steps also move the fraction: with small batches the trainer may send no progress ticks between them.
          if (e.type === 'step' && typeof e.step === 'number' && typeof e.total_steps === 'number' && e.total_steps > 0) {
            try { store.update(id, { progress: Math.max(store.getDocument(id)?.progress ?? 0, e.step / e.total_steps) }); } catch { /* deleted */ }
          }
          this.emit(id, e);
        }
      } else outcome = m;
    });
    child.send({ type: 'start', job });
    child.on('exit', (code, signal) => {
      this.running.delete(id);
      const o = outcome as ChildMessage | null;
      const cancelled = this.cancelled.delete(id);
      if (this.stopped || cancelled || !store.getDocument(id)) {
        // Shutting down (the document stays "running" and resumes) or deleted (nothing to record).
      } else if (o?.type === 'done') {
        store.update(id, { status: 'ready', progress: 1, metrics: o.metrics, error: null });
        this.emit(id, { type: 'status', status: 'ready', metrics: o.metrics });
        this.o.log?.(`document ${id}: ready`);
      } else {
        const message = o?.type === 'failed' ? o.message : `the absorb process ended unexpectedly (${signal ?? `exit code ${code}`})${stderr ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`;
        store.update(id, { status: 'failed', error: message });
        this.emit(id, { type: 'status', status: 'failed', error: message });
        this.o.log?.(`document ${id}: failed: ${message}`);
      }
      this.pump();
    });
  }

  /**
   * Removes a document's files (adapter, checkpoint) after its job is cancelled: each folder is first renamed to
   * a `.deleted-` name (atomic), so a crash midway leaves no half-removed adapter under a document's name.
   */
  removeFiles(id: string): void {
    for (const p of [this.o.paths.adapter(id), this.o.paths.checkpoint(id)]) {
      const trash = join(dirname(p), `.deleted-${basename(p)}-${process.pid}-${Date.now()}`);
      try {
        renameSync(p, trash);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw e;
      }
      rmSync(trash, { recursive: true, force: true });
    }
  }

  /**
   * At start: removes what a killed server left of deleted documents — `.deleted-` folders, and folders or
   * lift staging/lock files of ids no longer in the database. A known document's leftovers are swept by
   * its next absorb (io/output.ts claimOutput).
   */
  sweep(): void {
    const known = new Set(this.o.store.listDocuments().map((d) => d.id));
    for (const dir of [dirname(this.o.paths.adapter('doc_' + '0'.repeat(24))), dirname(this.o.paths.checkpoint('doc_' + '0'.repeat(24)))]) {
      for (const name of readdirSync(dir)) {
        const id = /doc_[0-9a-f]{24}/.exec(name)?.[0];
        if (name.startsWith('.deleted-') || (id && !known.has(id))) rmSync(join(dir, name), { recursive: true, force: true });
      }
    }
  }
}
