// Queue operations on a real Redis (`lift serve --queue`): the per-key limit on queued documents (429 in
// OpenAI's shape, another key unaffected), the jobs API with ownership (GET /v1/jobs, POST
// /v1/jobs/{id}/cancel|retry: another key's job is a 404), job priority (a higher-priority job posted later
// runs first), and `lift worker --concurrency 2` (two jobs at once, each published once, the same bytes as one
// at a time). No worker runs until the priority test, so queued documents stay queued while the API is checked.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { lift, storyDocument } from '../cli/helpers.js';
import { http, modelSkip } from '../server/helpers.js';
import { redisSkip } from './redis.js';
import { allReady, post, queueFixture, RECIPE, startWorker, type RunningWorker } from './helpers.js';

/** Short documents: a few steps each on stories260K. */
const texts = [0, 1, 2].map((i) => storyDocument(10, 300 + i));
/** The order the worker started its jobs in (its log). */
const started = (w: RunningWorker): string[] => [...w.stderr().matchAll(/job (doc_\w+): started/g)].map((m) => m[1]);

describe('queue operations', { skip: redisSkip || modelSkip() }, () => {
  let alice = '', bob = '', root = '';
  const q = queueFixture(['--max-queue-per-key', '3'], (data) => {
    const key = (name: string, ...more: string[]): string => {
      const r = lift(['keys', 'create', name, '--data', data, ...more]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trim();
    };
    [alice, bob, root] = [key('alice'), key('bob'), key('root', '--admin')];
  });
  const as = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });
  const postAs = (key: string, text: string, title: string) => http(`${q.server.url}/v1/documents`, 'POST', { text, title, recipe: RECIPE }, as(key));
  const ids: Record<string, string[]> = { alice: [], bob: [] };

  it('--max-queue-per-key 3: the 4th queued upload of a key is 429 in OpenAI\'s shape; another key is unaffected', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await postAs(alice, texts[i], `a${i}`);
      assert.equal(r.status, 202, r.text);
      ids.alice.push(r.json.id);
    }
    const r = await postAs(alice, texts[0], 'a3');
    assert.equal(r.status, 429, r.text);
    assert.deepEqual(Object.keys(r.json), ['error']);
    assert.deepEqual({ ...r.json.error, message: '' }, { message: '', type: 'rate_limit_error', param: null, code: 'owner_queue_full' });
    assert.match(r.json.error.message, /you have 3 documents waiting to be absorbed, the limit per key is 3/);
    // An OpenAI client reads it as its own rate-limit error.
    const client = new OpenAI({ baseURL: `${q.server.url}/v1`, apiKey: alice, maxRetries: 0 });
    const err = await client.post('/documents', { body: { text: texts[0], title: 'a3', recipe: RECIPE } }).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof OpenAI.RateLimitError, String(err));
    assert.equal((err as InstanceType<typeof OpenAI.RateLimitError>).code, 'owner_queue_full');
    const b = await postAs(bob, texts[0], 'b0');
    assert.equal(b.status, 202, b.text);
    ids.bob.push(b.json.id);
    assert.equal((await http(`${q.server.url}/v1/documents`, 'GET', undefined, as(alice))).json.data.length, 3, 'the refused uploads were not stored');
  });

  it('jobs API: a key lists and manages only its own jobs (another key\'s is a 404); cancel, then retry', async () => {
    const list = async (key: string): Promise<any[]> => {
      const r = await http(`${q.server.url}/v1/jobs`, 'GET', undefined, as(key));
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.engine, 'redis');
      return r.json.data;
    };
    const mine = await list(alice);
    assert.deepEqual(mine.map((j) => j.id).sort(), [...ids.alice].sort());
    for (const j of mine) assert.deepEqual([j.object, j.status, j.state, j.owner], ['job', 'queued', 'prioritized', undefined]);
    assert.deepEqual((await list(bob)).map((j) => j.id), ids.bob);
    assert.equal((await list(root)).length, 4, 'an admin key sees every job');

    const [a0] = ids.alice;
    for (const op of ['cancel', 'retry']) {
      const r = await http(`${q.server.url}/v1/jobs/${a0}/${op}`, 'POST', {}, as(bob));
      assert.equal(r.status, 404, `${op}: ${r.text}`);
      assert.equal(r.json.error.code, 'job_not_found');
    }
    const doc = async (id: string): Promise<any> => (await http(`${q.server.url}/v1/documents/${id}`, 'GET', undefined, as(alice))).json;
    assert.equal((await doc(a0)).status, 'queued', 'bob\'s cancel changed nothing');

    let r = await http(`${q.server.url}/v1/jobs/${a0}/cancel`, 'POST', {}, as(alice));
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { id: a0, object: 'job', status: 'failed' });
    assert.deepEqual([(await doc(a0)).status, (await doc(a0)).error], ['failed', 'cancelled']);
    assert.equal((await list(alice)).find((j) => j.id === a0).state, 'none', 'the BullMQ job is removed');
    r = await http(`${q.server.url}/v1/jobs/${a0}/cancel`, 'POST', {}, as(alice));
    assert.equal(r.status, 409, r.text);

    r = await http(`${q.server.url}/v1/jobs/${a0}/retry`, 'POST', { priority: 2 }, as(alice));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'queued');
    const again = (await list(alice)).find((j) => j.id === a0);
    assert.deepEqual([again.state, again.priority], ['prioritized', 2]);
    r = await http(`${q.server.url}/v1/jobs/${a0}/retry`, 'POST', {}, as(alice));
    assert.equal(r.status, 409, 'a queued job cannot be retried');
    assert.equal(r.json.error.code, 'job_not_failed');
    r = await http(`${q.server.url}/v1/documents`, 'POST', { text: texts[0], priority: 2 ** 21 }, as(bob));
    assert.equal(r.status, 400, 'BullMQ refuses priorities above 2^21 - 1');
    assert.equal(r.json.error.param, 'priority');
  });

  it('priority: a higher-priority job posted later runs first', async () => {
    // A fresh queue: the documents above are deleted (their jobs removed), and without keys the helpers need none.
    for (const id of [...ids.alice, ...ids.bob]) assert.equal((await http(`${q.server.url}/v1/documents/${id}`, 'DELETE', undefined, as(root))).status, 200);
    for (const name of ['alice', 'bob', 'root']) assert.equal(lift(['keys', 'revoke', name, '--data', q.data]).code, 0);
    const a = await post(q.server.url, texts[0], 'A');
    const b = await post(q.server.url, texts[1], 'B', { priority: 5 });
    const c = await post(q.server.url, texts[2], 'C', { priority: 1 });
    const w = await startWorker(q.redis.url, q.data);
    q.workers.push(w);
    await allReady(q.server.url, [a, b, c], 600_000);
    assert.deepEqual(started(w), [c, b, a]);
    await w.stop();
  });

  it('lift worker --concurrency 2: two jobs run at once, each published once, the same bytes as one at a time', async () => {
    // The texts and titles of A and B again: their adapters must equal those absorbed one at a time. Both are
    // queued before the worker starts, so it takes both at once whatever the speed of the machine (posted to a
    // running worker, the second job would have to arrive before the first one's absorb ends).
    const d = await post(q.server.url, texts[0], 'A');
    const e = await post(q.server.url, texts[1], 'B');
    const w = await startWorker(q.redis.url, q.data, ['--concurrency', '2']);
    q.workers.push(w);
    await allReady(q.server.url, [d, e], 600_000);
    const log = w.stderr();
    const firstDone = log.indexOf(': done (');
    for (const id of [d, e]) {
      const at = log.indexOf(`job ${id}: started`);
      assert.ok(at >= 0 && at < firstDone, `job ${id} started after the first job finished:\n${log}`);
      assert.equal(log.split(`job ${id}: done (published)`).length - 1, 1, `job ${id} was not published exactly once:\n${log}`);
      assert.equal(log.split(`job ${id}: started`).length - 1, 1);
    }
    const weights = (id: string): Buffer => readFileSync(join(q.data, 'adapters', id, 'adapter_model.safetensors'));
    const listed = (await http(`${q.server.url}/v1/documents`, 'GET')).json.data as { id: string; title: string }[];
    const byTitle = (t: string): string => listed.find((x) => x.title === t && x.id !== d && x.id !== e)!.id;
    assert.ok(weights(d).equals(weights(byTitle('A'))), 'A at concurrency 2 differs from A alone');
    assert.ok(weights(e).equals(weights(byTitle('B'))), 'B at concurrency 2 differs from B alone');
    await w.stop();
  });
});
