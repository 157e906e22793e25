// `lift jobs list|retry|cancel --queue redis://…`: the BullMQ absorb queue, straight on Redis (no server needed;
// the server's reconcile pass brings its documents in line within seconds). The same operations are in the
// API: GET /v1/jobs, POST /v1/jobs/{id}/retry, POST /v1/jobs/{id}/cancel.
import { Command } from 'commander';
import { Queue, type Job } from 'bullmq';
import { checkRedis, Connections, QUEUE_NAME } from '../../server/queue/connection.js';
import { cancelJob, LISTED_STATES, retryJob } from '../../server/queue/admin.js';
import type { AbsorbJobData } from '../../server/queue/redis.js';
import { MAX_PRIORITY } from '../../server/queue/types.js';
import { log, out } from '../io.js';

async function withQueue<T>(url: string, f: (q: Queue<AbsorbJobData>, c: Connections) => Promise<T>): Promise<T> {
  await checkRedis(url);
  const conns = new Connections(url);
  const q = new Queue<AbsorbJobData>(QUEUE_NAME, { connection: conns.make() });
  try {
    return await f(q, conns);
  } finally {
    await q.close();
    conns.closeAll();
  }
}

const fraction = (j: Job): number | null => {
  const p = j.progress as { samples?: number; total_samples?: number } | number;
  if (typeof p === 'number') return p;
  return p && typeof p.samples === 'number' && typeof p.total_samples === 'number' && p.total_samples > 0 ? p.samples / p.total_samples : null;
};

export function register(program: Command): void {
  const jobs = program.command('jobs').description('List, retry or cancel absorb jobs on a `lift serve --queue` Redis').addHelpText('after', `
Examples:
  lift jobs list --queue redis://127.0.0.1:6379
  lift jobs list --queue redis://127.0.0.1:6379 --json
  lift jobs retry doc_0123abcd --queue redis://127.0.0.1:6379
  lift jobs cancel doc_0123abcd --queue redis://127.0.0.1:6379`);
  jobs
    .command('list')
    .requiredOption('--queue <url>', 'the Redis of the server (redis://HOST:PORT)')
    .option('--json', 'one JSON object per job')
    .action(async (f: { queue: string; json?: boolean }) => {
      await withQueue(f.queue, async (q) => {
        for (const state of LISTED_STATES) {
          for (const j of await q.getJobs([state])) {
            if (!j?.id) continue;
            const row = { id: j.id, state, title: j.data.title, owner: j.data.owner, priority: (j.opts.priority ?? 0) < MAX_PRIORITY ? (j.opts.priority ?? 0) : 0, attempts: j.attemptsMade, progress: fraction(j), error: j.failedReason || null };
            if (f.json) out(JSON.stringify(row) + '\n');
            else out(`${row.id}  ${state.padEnd(11)} ${row.progress === null ? '   ' : `${Math.round(row.progress * 100)}%`.padStart(4)}  attempts ${row.attempts}  ${JSON.stringify(row.title)}${row.error ? `  error: ${row.error}` : ''}\n`);
          }
        }
      });
    });
  jobs
    .command('retry <id>')
    .description('queue a failed job again (it resumes from its checkpoint)')
    .requiredOption('--queue <url>', 'the Redis of the server (redis://HOST:PORT)')
    .action(async (id: string, f: { queue: string }) => {
      const r = await withQueue(f.queue, (q, c) => retryJob(q, c.make(), id));
      if (r === 'unknown') throw new Error(`no job ${JSON.stringify(id)} on ${f.queue}; lift jobs list shows them`);
      log(r === 'retried' ? `${id}: queued again` : `${id}: not finished; nothing to retry`);
    });
  jobs
    .command('cancel <id>')
    .description('stop a queued or running job (the document stays, failed "cancelled")')
    .requiredOption('--queue <url>', 'the Redis of the server (redis://HOST:PORT)')
    .action(async (id: string, f: { queue: string }) => {
      const found = await withQueue(f.queue, (q, c) => cancelJob(q, c.make(), id));
      if (!found) throw new Error(`no job ${JSON.stringify(id)} on ${f.queue}; lift jobs list shows them`);
      log(`${id}: cancelled`);
    });
}
