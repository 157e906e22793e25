// What goes wrong, with a real Redis: an unreachable Redis at start, a document whose absorb fails for its own
// reason (fails once, the message on the document), a store that fills up mid-write (the job fails cleanly
// after its attempts, the previous checkpoint stays valid and `lift jobs retry` resumes from it), a worker
// with another model (waits, or fails the job with a message), and a graceful SIGTERM (the job is checkpointed,
// handed back, and finishes on another worker with the bytes of an uninterrupted run).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lift, MODEL_BIN } from '../cli/helpers.js';
import { http, modelSkip, until } from '../server/helpers.js';
import { readCheckpointState } from '../../src/lift/checkpoint.js';
import { freePort, redisSkip } from './redis.js';
import { allReady, documents, post, queueFixture, startWorker, type RunningWorker } from './helpers.js';

const doc = async (url: string, id: string): Promise<any> => (await http(`${url}/v1/documents/${id}`, 'GET')).json;
const finished = (url: string, id: string, ms = 120_000): Promise<any> =>
  until(async () => { const d = await doc(url, id); return d.status === 'ready' || d.status === 'failed' ? d : undefined; }, ms, `document ${id} to finish`);

describe('queue failures', { skip: redisSkip || modelSkip() }, () => {
  const q = queueFixture(); // each test's workers are killed after it
  const worker = async (extra: string[] = [], env: NodeJS.ProcessEnv = {}, model?: string): Promise<RunningWorker> => {
    const w = await startWorker(q.redis.url, q.data, [...extra, ...(model ? ['--model', model] : [])], env);
    q.workers.push(w);
    return w;
  };

  it('an unreachable Redis at start: a clear error naming the URL, exit non-zero', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    for (const args of [['serve', '--model', MODEL_BIN, '--data', join(q.tmp.dir, 'x'), '--port', '0', '--queue', url], ['worker', '--model', MODEL_BIN, '--store', join(q.tmp.dir, 'y'), '--queue', url], ['jobs', 'list', '--queue', url]]) {
      const r = lift(args, { timeout: 60_000 });
      assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`cannot reach Redis at ${url.replace(/[.]/g, '\\.')}`), r.stderr);
    }
    assert.match(lift(['worker', '--model', MODEL_BIN, '--store', q.tmp.dir, '--queue', 'http://x']).stderr, /expected a redis:\/\/ or rediss:\/\/ URL/);
  });

  it('a document-caused failure fails once, with its message on the document', async () => {
    const w = await worker();
    const id = await post(q.server.url, documents(1)[0], 'bad', { recipe: { adapter: 'lora', epochs: [1, 0], qa: 0, segment_length: 8, stride: 16 } });
    const d = await finished(q.server.url, id);
    assert.equal(d.status, 'failed');
    assert.match(d.error, /stride 16 exceeds segmentLength 8/);
    const jobs = (await http(`${q.server.url}/v1/jobs`, 'GET')).json.data;
    const j = jobs.find((x: any) => x.id === id);
    assert.equal(j.state, 'failed');
    assert.equal(j.attempts, 1, 'retried a failure of the document');
    assert.equal(w.stderr().split('\n').filter((l) => l.includes(`job ${id}: started`)).length, 1);
    await w.stop();
  });

  it('a store that fills up mid-write: fails after its attempts, the checkpoint stays valid, retry resumes', async () => {
    const w = await worker([], { LIFT_FAULT: 'checkpoint:state-written:2:ENOSPC' }); // every attempt: the 2nd checkpoint write fails
    const [text] = documents(1);
    const id = await post(q.server.url, text, 'full disk');
    const d = await finished(q.server.url, id);
    assert.equal(d.status, 'failed');
    assert.match(d.error, /ENOSPC/);
    const state = readCheckpointState(join(q.data, 'checkpoints', id));
    assert.ok(state && state.step >= 3, `checkpoint after 3 attempts of one step each: ${JSON.stringify(state?.step)}`);
    assert.equal(existsSync(join(q.data, 'adapters', id)), false);
    await w.stop();
    await worker();
    const r = lift(['jobs', 'retry', id, '--queue', q.redis.url]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await finished(q.server.url, id)).status, 'ready');
  });

  it('a worker with another model: the job waits for one that has it, or fails with a message', async () => {
    const other = join(q.tmp.dir, 'other');
    mkdirSync(other);
    const bin = readFileSync(MODEL_BIN);
    const w = new Float32Array(bin.buffer.slice(bin.byteOffset + 28, bin.byteOffset + bin.length - ((bin.length - 28) % 4)));
    for (let i = 0; i < w.length; i++) w[i] *= 1.5;
    writeFileSync(join(other, 'stories260K.bin'), Buffer.concat([bin.subarray(0, 28), Buffer.from(w.buffer), bin.subarray(28 + w.byteLength)]));
    copyFileSync(join(MODEL_BIN, '..', 'tok512.bin'), join(other, 'tok512.bin'));
    const waiting = await worker([], {}, join(other, 'stories260K.bin'));
    const id = await post(q.server.url, documents(2)[1], 'other model');
    await new Promise((r) => setTimeout(r, 6000));
    assert.equal((await doc(q.server.url, id)).status, 'queued');
    assert.ok(!waiting.stderr().includes(`job ${id}: started`));
    await waiting.stop();
    const failing = await worker(['--other-models', 'fail'], {}, join(other, 'stories260K.bin'));
    const d = await finished(q.server.url, id);
    assert.equal(d.status, 'failed');
    assert.match(d.error, /no worker for this model: .*this worker has .*content [0-9a-f]{12}/);
    await failing.stop();
  });

  it('SIGTERM: the job is checkpointed and handed back; another worker finishes it with the uninterrupted bytes', async () => {
    const [text] = documents(1);
    const first = await worker();
    const id = await post(q.server.url, text, 'handed back');
    await until(async () => ((await doc(q.server.url, id)).progress > 0.3 ? true : undefined), 120_000, 'progress');
    await first.stop();
    assert.equal(await first.exited, 0);
    assert.match(first.stderr(), /shutting down: checkpointing and handing it back/);
    assert.equal((await doc(q.server.url, id)).status, 'queued');
    await worker();
    await allReady(q.server.url, [id], 120_000);
    const again = await post(q.server.url, text, 'handed back'); // the same title: it is part of the training samples
    await allReady(q.server.url, [again], 120_000);
    const weights = (i: string): Buffer => readFileSync(join(q.data, 'adapters', i, 'adapter_model.safetensors'));
    assert.ok(weights(id).equals(weights(again)), 'handed-back and uninterrupted adapters differ');
  });
});
