// Operations on the BullMQ queue shared by the server's engine (redis.ts) and `lift jobs --queue` (which needs
// no server: it works on Redis directly, and the server's reconcile pass brings the documents in line).
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { CANCEL_CHANNEL, CANCELLED_KEY } from './connection.js';

const UNFINISHED = ['waiting', 'delayed', 'prioritized', 'active', 'waiting-children'];
export const LISTED_STATES = ['active', 'waiting', 'prioritized', 'delayed', 'failed', 'completed'] as const;

/**
 * Marks the job cancelled (workers check before they publish; the server's reconcile marks the document
 * failed), tells the workers to stop it, and removes it from the queue once no worker holds it (a worker's job
 * fails with "cancelled" within seconds). Returns false when there is no such job.
 */
export async function cancelJob(queue: Queue, conn: Redis, id: string, waitMs = 15_000): Promise<boolean> {
  await conn.set(`${CANCELLED_KEY}:${id}`, '1', 'EX', 7 * 86400);
  await conn.publish(CANCEL_CHANNEL, id);
  const end = Date.now() + waitMs;
  for (let seen = false; ; seen = true) {
    const job = await queue.getJob(id);
    if (!job) return seen;
    if ((await job.getState()) !== 'active') {
      await job.remove().catch(() => {}); // taken meanwhile: the worker sees the cancel marker
      return true;
    }
    if (Date.now() > end) return true; // the worker will see the marker; its result is discarded
    await new Promise((r) => setTimeout(r, 200));
  }
}

export const isCancelled = async (conn: Redis, id: string): Promise<boolean> => (await conn.exists(`${CANCELLED_KEY}:${id}`)) === 1;

/** Queues a failed job again; false when it is unfinished already (nothing to do) or unknown. */
export async function retryJob(queue: Queue, conn: Redis, id: string): Promise<'retried' | 'unfinished' | 'unknown'> {
  await conn.del(`${CANCELLED_KEY}:${id}`);
  const job = await queue.getJob(id);
  if (!job) return 'unknown';
  const state = await job.getState();
  if (UNFINISHED.includes(state)) return 'unfinished';
  await job.retry(state === 'completed' ? 'completed' : 'failed');
  return 'retried';
}
