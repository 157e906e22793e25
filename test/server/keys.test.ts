// API keys and ownership: `lift keys` against a running server's --data; without a key every route answers
// 401, a document is invisible (404) to other keys and visible to an admin key, a revoked key stops working,
// and deleting a document whose absorb is running cancels it and removes its files.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { lift, storyDocument } from '../cli/helpers.js';
import { http, modelSkip, servedFixture, until } from './helpers.js';


describe('lift serve: keys and ownership', { skip: modelSkip() }, () => {
  const served = servedFixture(['--max-queue', '1', '--max-generations', '1']);

  it('keys gate every route; documents are per key; admin sees all; revoke; delete cancels a running absorb', async () => {
    // No keys yet: open.
    assert.equal((await http(`${served.url}/v1/models`, 'GET')).status, 200);
    const create = (name: string, ...more: string[]): string => {
      const r = lift(['keys', 'create', name, '--data', served.dir, ...more]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trim();
    };
    const alice = create('alice'), bob = create('bob'), admin = create('root', '--admin');
    assert.match(alice, /^lift-[\w-]{20,}$/);
    assert.notEqual(alice, bob);
    const list = lift(['keys', 'list', '--data', served.dir, '--json']);
    assert.equal(list.code, 0, list.stderr);
    const rows = JSON.parse(list.stdout);
    assert.deepEqual(rows.map((k: { name: string; admin: boolean }) => [k.name, k.admin]).sort(), [['alice', false], ['bob', false], ['root', true]]);
    for (const k of [alice, bob, admin]) assert.ok(!list.stdout.includes(k), 'keys are never listed');
    assert.equal(lift(['keys', 'create', 'alice', '--data', served.dir]).code, 1, 'a second active key with the same name is refused');

    const as = (key: string) => ({ authorization: `Bearer ${key}` });
    let r = await http(`${served.url}/v1/models`, 'GET');
    assert.equal(r.status, 401);
    assert.equal(r.json.error.code, 'missing_api_key');
    r = await http(`${served.url}/v1/documents`, 'GET', undefined, as('lift-wrong'));
    assert.equal(r.status, 401);
    assert.equal(r.json.error.code, 'invalid_api_key');
    await assert.rejects(new OpenAI({ baseURL: `${served.url}/v1`, apiKey: 'lift-wrong', maxRetries: 0 }).models.list(), OpenAI.AuthenticationError);
    const models = await new OpenAI({ baseURL: `${served.url}/v1`, apiKey: alice, maxRetries: 0 }).models.list();
    assert.deepEqual(models.data.map((m) => m.id), ['stories260K']);

    // Long enough to be still absorbing when deleted.
    const recipe = { adapter: 'lora', lora_rank: 2, epochs: [3, 0], qa: 0, batch_size: 2, context_budget: 96, checkpoint_every: 1 };
    const posted = await http(`${served.url}/v1/documents`, 'POST', { text: storyDocument(60, 3), recipe }, as(alice));
    assert.equal(posted.status, 202, posted.text);
    const id: string = posted.json.id;
    for (const [key, status] of [[alice, 200], [admin, 200], [bob, 404]] as const) {
      assert.equal((await http(`${served.url}/v1/documents/${id}`, 'GET', undefined, as(key))).status, status);
      assert.equal((await http(`${served.url}/v1/documents`, 'GET', undefined, as(key))).json.data.length, status === 200 ? 1 : 0);
    }
    r = await http(`${served.url}/v1/chat/completions`, 'POST', { model: id, messages: [{ role: 'user', content: 'hi' }] }, as(bob));
    assert.equal(r.status, 404, 'another key cannot use the document as a model');
    assert.equal(r.json.error.code, 'model_not_found');
    assert.equal((await http(`${served.url}/v1/documents/${id}`, 'DELETE', undefined, as(bob))).status, 404);
    r = await http(`${served.url}/v1/chat/completions`, 'POST', { model: id, messages: [{ role: 'user', content: 'hi' }] }, as(alice));
    assert.equal(r.status, 409, 'still absorbing');
    assert.equal(r.json.error.code, 'model_not_ready');

    // Limits: one document may wait while one absorbs (--max-queue 1); one generation at a time (--max-generations 1).
    const waiting = await http(`${served.url}/v1/documents`, 'POST', { text: storyDocument(5, 1), recipe }, as(alice));
    assert.equal(waiting.status, 202, waiting.text);
    const over = await http(`${served.url}/v1/documents`, 'POST', { text: storyDocument(5, 2), recipe }, as(alice));
    assert.equal(over.status, 429, over.text);
    assert.equal(over.json.error.code, 'queue_full');
    assert.equal((await http(`${served.url}/v1/documents/${waiting.json.id}`, 'DELETE', undefined, as(alice))).status, 200);
    const long = { model: 'stories260K', prompt: 'Once upon a time', max_tokens: 400, temperature: 1, seed: 5 };
    const n = (await http(`${served.url}/v1/completions`, 'POST', long, as(bob))).json.usage.completion_tokens;
    assert.ok(n >= 100, `seed 5 gives ${n} tokens: too short to overlap another request`);
    const first = await fetch(`${served.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...as(bob) }, body: JSON.stringify({ ...long, stream: true }) });
    const reader = first.body!.getReader();
    await reader.read(); // generating now
    r = await http(`${served.url}/v1/chat/completions`, 'POST', { model: 'stories260K', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }, as(bob));
    assert.equal(r.status, 429, r.text);
    assert.equal(r.json.error.type, 'rate_limit_error');
    await reader.cancel();
    await until(async () => ((await http(`${served.url}/health`, 'GET', undefined, as(admin))).json.generations === 0 ? true : undefined), 10_000, 'the cancelled generation to end');
    assert.equal((await http(`${served.url}/v1/chat/completions`, 'POST', { model: 'stories260K', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }, as(bob))).status, 200);

    // Delete while the absorb runs: the job is cancelled and every file of the document goes.
    await until(async () => ((await http(`${served.url}/v1/documents/${id}`, 'GET', undefined, as(alice))).json.status === 'running' ? true : undefined), 20_000, 'the absorb to start');
    await until(async () => (existsSync(join(served.dir, 'checkpoints', id)) ? true : undefined), 20_000, 'a checkpoint');
    const events = fetch(`${served.url}/v1/documents/${id}/events`, { headers: as(alice) }).then((x) => x.text());
    r = await http(`${served.url}/v1/documents/${id}`, 'DELETE', undefined, as(alice));
    assert.equal(r.status, 200, r.text);
    // A watcher of the document's events sees it deleted (the stream ends), never a "failed" from the killed job.
    const statuses = (await events).split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6))).filter((e) => e.type === 'status').map((e) => e.status);
    assert.equal(statuses.at(-1), 'deleted', statuses.join(' '));
    assert.ok(!statuses.includes('failed'), statuses.join(' '));
    assert.equal((await http(`${served.url}/v1/documents/${id}`, 'GET', undefined, as(admin))).status, 404);
    assert.deepEqual(readdirSync(join(served.dir, 'adapters')), []);
    assert.deepEqual(readdirSync(join(served.dir, 'checkpoints')), []);
    assert.equal((await http(`${served.url}/health`, 'GET', undefined, as(admin))).json.queued, 0);

    const revoke = lift(['keys', 'revoke', 'alice', '--data', served.dir]);
    assert.equal(revoke.code, 0, revoke.stderr);
    assert.equal((await http(`${served.url}/v1/models`, 'GET', undefined, as(alice))).status, 401);
    assert.equal((await http(`${served.url}/v1/models`, 'GET', undefined, as(bob))).status, 200);
    assert.equal(lift(['keys', 'revoke', 'alice', '--data', served.dir]).code, 1, 'revoking twice names the problem');
  });
});
