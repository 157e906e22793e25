// The BullMQ engine end to end, one worker: a document posted to `lift serve --queue` is absorbed by a
// `lift worker` into the shared store, with the same progress events and the same adapter bytes as the
// embedded engine.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildOnce, MODEL_BIN, tempDir } from '../cli/helpers.js';
import { http, modelSkip, sseData, startServer, type RunningServer } from '../server/helpers.js';
import { redisSkip, startRedis, type TestRedis } from './redis.js';
import { allReady, documents, post, startWorker, type RunningWorker } from './helpers.js';


describe('lift serve --queue + lift worker', { skip: redisSkip || modelSkip() }, () => {
  let tmp: ReturnType<typeof tempDir>, redis: TestRedis, server: RunningServer | null = null, worker: RunningWorker | null = null;
  before(async () => {
    buildOnce();
    tmp = tempDir();
    redis = await startRedis();
  });
  after(async () => {
    await worker?.kill();
    await server?.kill();
    await redis?.cleanup();
    tmp.cleanup();
  });

  it('absorbs a document on a worker: same events and adapter as the embedded engine', async () => {
    const data = join(tmp.dir, 'data');
    server = await startServer(['--model', MODEL_BIN, '--data', data, '--queue', redis.url]);
    worker = await startWorker(redis.url, data);
    const [text] = documents(1);
    const id = await post(server.url, text, 'one');
    const docs = await allReady(server.url, [id], 120_000);
    assert.equal(docs[id].progress, 1);
    const events = (await sseData(`${server.url}/v1/documents/${id}/events`)).map((l) => JSON.parse(l));
    const types = events.map((e) => e.type);
    for (const t of ['plan', 'train_start', 'step', 'checkpoint']) assert.ok(types.includes(t), `no ${t} event in ${types.join(',')}`);
    assert.deepEqual(events.at(-1), { ...events.at(-1), type: 'status', status: 'ready' });
    const steps = events.filter((e) => e.type === 'step');
    assert.equal(steps.length, docs[id].metrics.steps);
    assert.deepEqual(steps.map((e) => e.loss), docs[id].metrics.losses);
    await worker.stop();
    worker = null;
    await server.stop();

    // The same document on the embedded engine: the same adapter, byte for byte.
    const data2 = join(tmp.dir, 'embedded');
    // One thread, as the worker's job (--threads 1): the thread count changes the last bits of the sums.
    server = await startServer(['--model', MODEL_BIN, '--data', data2], { LIFT_THREADS: '1' });
    const id2 = await post(server.url, text, 'one');
    await allReady(server.url, [id2], 120_000);
    const w = (d: string, i: string): Buffer => readFileSync(join(d, 'adapters', i, 'adapter_model.safetensors'));
    assert.ok(w(data, id).equals(w(data2, id2)), 'worker and embedded adapters differ');
    assert.deepEqual(readdirSync(join(data, 'staging')), []);
    assert.deepEqual(readdirSync(join(data, 'checkpoints')), []);
    const list = (await http(`${server.url}/v1/documents`, 'GET')).json.data;
    assert.equal(list.length, 1);
    await server.stop();
    server = null;
  });
});
