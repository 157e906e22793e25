// Nothing lost, nothing twice: a server and three `lift worker` processes absorb 6 documents through a real
// Redis; one worker is killed with SIGKILL in the middle of a job and Redis is restarted once mid-run. Every
// document ends ready exactly once (one "ready" event, one publish across all workers' logs), the killed job
// resumes from its checkpoint on another worker, and every adapter is byte-identical to the same document
// absorbed by the embedded engine in one process.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildOnce, MODEL_BIN, tempDir } from '../cli/helpers.js';
import { http, modelSkip, sseData, startServer, until, type RunningServer } from '../server/helpers.js';
import { redisSkip, startRedis, type TestRedis } from './redis.js';
import { allReady, documents, post, startWorker, TAKEOVER_LOCK, type RunningWorker } from './helpers.js';

const N = 6;

describe('3 workers, one killed, Redis restarted: 6 documents absorbed exactly once', { skip: redisSkip || modelSkip() }, () => {
  let tmp: ReturnType<typeof tempDir>, redis: TestRedis, server: RunningServer | null = null;
  let workers: RunningWorker[] = [];
  before(async () => {
    buildOnce();
    tmp = tempDir();
    redis = await startRedis();
  });
  after(async () => {
    for (const w of workers) await w.kill();
    await server?.kill();
    await redis?.cleanup();
    tmp.cleanup();
  });

  it('all finish once, with the adapters of a single-process run', async () => {
    const data = join(tmp.dir, 'data');
    const texts = documents(N);
    server = await startServer(['--model', MODEL_BIN, '--data', data, '--queue', redis.url]);
    // A short lock: the killed worker's job is taken over within seconds (a lost lock without a kill is
    // tolerated here: the job resumes elsewhere, and it is still published once).
    for (let i = 0; i < 3; i++) workers.push(await startWorker(redis.url, data, TAKEOVER_LOCK));
    const ids: string[] = [];
    for (let i = 0; i < N; i++) ids.push(await post(server.url, texts[i], `doc ${i}`));

    // Kill the worker of a job that has checkpointed at least one step (and is not finished).
    const victim = await until(async () => {
      for (const id of ids) {
        const d = (await http(`${server!.url}/v1/documents/${id}`, 'GET')).json;
        if (d.status !== 'running' || d.progress < 0.2 || d.progress > 0.7 || !existsSync(join(data, 'checkpoints', id))) continue;
        const w = workers.find((x) => x.stderr().includes(`job ${id}: started`) && !x.stderr().includes(`job ${id}: done`));
        if (w) return { id, w };
      }
      return undefined;
    }, 120_000, 'a job with a checkpoint, mid-way');
    await victim.w.kill();
    const killedLog = victim.w.stderr();

    // Redis goes away for a second and comes back with its append-only file; workers and server reconnect.
    await new Promise((r) => setTimeout(r, 1500));
    await redis.restart(1000);

    const docs = await allReady(server.url, ids, 300_000);
    const logs = workers.map((w) => (w === victim.w ? killedLog : w.stderr())).join('\n');
    for (const id of ids) {
      const published = logs.split('\n').filter((l) => l.includes(`job ${id}: done (published)`));
      assert.equal(published.length, 1, `document ${id} published ${published.length} times:\n${logs}`);
      const events: any[] = (await sseData(`${server.url}/v1/documents/${id}/events`)).map((l) => JSON.parse(l));
      assert.equal(events.filter((e) => e.type === 'status' && e.status === 'ready').length, 1, `${id}: ready events`);
      assert.equal(docs[id].metrics.steps, events.find((e) => e.type === 'train_start').total_steps);
    }
    // The killed worker's job resumed from its checkpoint elsewhere (a second train_start past step 0).
    const vEvents: any[] = (await sseData(`${server.url}/v1/documents/${victim.id}/events`)).map((l) => JSON.parse(l));
    const starts = vEvents.filter((e) => e.type === 'train_start');
    assert.ok(starts.length >= 2 && starts.at(-1).resumed_at >= 1, `the killed job did not resume from a checkpoint: ${JSON.stringify(starts)}`);
    assert.ok(!killedLog.includes(`job ${victim.id}: done`));
    assert.deepEqual(readdirSync(join(data, 'adapters')).sort(), [...ids].sort());
    assert.deepEqual(readdirSync(join(data, 'checkpoints')), []);
    for (const w of workers) await w.stop();
    workers = [];
    await server.stop();

    // The single-process reference: the same documents on the embedded engine.
    const ref = join(tmp.dir, 'embedded');
    // One thread, as the workers' jobs (--threads 1): the thread count changes the last bits of the sums.
    server = await startServer(['--model', MODEL_BIN, '--data', ref], { LIFT_THREADS: '1' });
    const refIds: string[] = [];
    for (let i = 0; i < N; i++) refIds.push(await post(server.url, texts[i], `doc ${i}`));
    await allReady(server.url, refIds, 300_000);
    const weights = (d: string, id: string): Buffer => readFileSync(join(d, 'adapters', id, 'adapter_model.safetensors'));
    for (let i = 0; i < N; i++) assert.ok(weights(data, ids[i]).equals(weights(ref, refIds[i])), `document ${i}: worker and single-process adapters differ`);
    await server.stop();
    server = null;
  });
});
