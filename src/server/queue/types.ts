// One interface for the absorb queue, two engines: the embedded runner (jobs.ts: child processes of the
// server, the database is the queue) and BullMQ over Redis (redis.ts: `lift worker` processes on any
// machine). The document API, SSE progress and `lift jobs` only see this interface.
import type { DocumentEvent, DocumentStatus } from '../store.js';

export type Listener = (e: DocumentEvent) => void;

/** A job as `lift jobs list` and GET /v1/jobs show it. */
export interface JobInfo {
  id: string;
  title: string;
  owner: string | null;
  /** The document's status (the contract), and the engine's own state when it has one (BullMQ: waiting, active, delayed, …). */
  status: DocumentStatus;
  state: string;
  priority: number;
  progress: number;
  attempts: number;
  error: string | null;
}

export interface EnqueueOptions {
  /**
   * 1 (first) … MAX_PRIORITY; lower runs sooner (BullMQ's convention); jobs of one priority run in posting order.
   * Unset: the document's stored priority (store.ts), or none = MAX_PRIORITY (after every prioritized job). A
   * priority given here is stored with the document, so a restart keeps the order.
   */
  priority?: number;
}

export interface AbsorbQueue {
  readonly engine: 'embedded' | 'redis';
  /** Picks up every unfinished document of the database (after a restart) and starts taking jobs. */
  start(): Promise<void>;
  enqueue(id: string, o?: EnqueueOptions): Promise<void>;
  /**
   * Stops a queued or running job (its document is being deleted or cancelled); resolves when it no longer runs
   * here. With a reason the document is marked failed with it.
   */
  cancel(id: string, o?: { reason?: string }): Promise<void>;
  /** Queues a failed document again (its checkpoint, if any, is resumed). */
  retry(id: string, o?: EnqueueOptions): Promise<void>;
  list(): Promise<JobInfo[]>;
  subscribe(id: string, f: Listener): () => void;
  /** Tells the subscribers without recording (the document is gone). */
  broadcast(id: string, e: Record<string, unknown>): void;
  /** Removes a document's adapter and checkpoint (after cancel). */
  removeFiles(id: string): void;
  /** Stops taking jobs; unfinished documents stay queued/running and resume at the next start. */
  stop(): Promise<void>;
}

/**
 * BullMQ's largest priority (2^21 − 1; it refuses more). An unset priority is this one on both engines: BullMQ
 * itself would run jobs without a priority BEFORE every prioritized job (its wait list is read first).
 */
export const MAX_PRIORITY = 2 ** 21 - 1;

/** The priority a job runs with: the one given, else the document's stored one, else the last. */
export const effectivePriority = (given: number | undefined, stored: number | null | undefined): number => given ?? stored ?? MAX_PRIORITY;
