// Redis connections for the BullMQ engine. `--queue redis://[user:pass@]HOST:PORT[/DB]` (or rediss:// for TLS).
// At start the URL is checked once with a connection that does not retry, so an unreachable Redis is a clear
// error naming it (exit non-zero), not a process that waits forever. After that, connections retry for ever
// (ioredis's reconnect with backoff): a Redis restarted mid-run is reconnected to and the jobs go on.
import { Redis, type RedisOptions } from 'ioredis';

export const QUEUE_NAME = 'lift-absorb';
/** Redis channel on which the server tells workers to stop a job (cancel, delete). */
export const CANCEL_CHANNEL = 'lift-absorb:cancel';
/** A cancelled job's marker key (`${CANCELLED_KEY}:${id}`), checked by the worker before it publishes. */
export const CANCELLED_KEY = 'lift-absorb:cancelled';

export class QueueUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueueUrlError';
  }
}

/** Checks the URL's shape (the error names the flag and what was expected). */
export function parseQueueUrl(url: string, flag = '--queue'): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new QueueUrlError(`${flag} ${JSON.stringify(url)}: expected a Redis URL like redis://127.0.0.1:6379`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new QueueUrlError(`${flag} ${url}: expected a redis:// or rediss:// URL, got ${u.protocol}//`);
  if (!u.hostname) throw new QueueUrlError(`${flag} ${url}: the URL names no host`);
  return u;
}

/** The URL without its password, for messages and logs. */
export const shownUrl = (url: string): string => url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');

/**
 * The connections of one server or worker: commands wait through a reconnect instead of failing (BullMQ requires
 * this for workers). BullMQ does not close connections it was given, so closeAll() does, or the process would
 * never exit.
 */
export class Connections {
  private readonly all: Redis[] = [];
  constructor(private readonly url: string) {}

  make(extra: RedisOptions = {}): Redis {
    const r = new Redis(this.url, { maxRetriesPerRequest: null, enableReadyCheck: true, retryStrategy: (n) => Math.min(200 * n, 2000), ...extra });
    r.on('error', () => {}); // it reconnects by itself; BullMQ's classes report what matters through their own 'error' events
    this.all.push(r);
    return r;
  }

  closeAll(): void {
    for (const r of this.all.splice(0)) r.disconnect();
  }
}

/** Connects once without retrying and pings; throws naming the URL when Redis cannot be reached in `ms`. */
export async function checkRedis(url: string, ms = 5000): Promise<void> {
  parseQueueUrl(url);
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: ms, enableOfflineQueue: false });
  r.on('error', () => {}); // reported below
  try {
    await r.connect();
    await r.ping();
  } catch (e) {
    throw new QueueUrlError(`cannot reach Redis at ${shownUrl(url)} (${(e as Error).message || String(e)}); start redis-server there or fix --queue`);
  } finally {
    r.disconnect();
  }
}
