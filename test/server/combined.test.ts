// `lift serve` with several documents in one `model`: "doc_a+doc_b" answers with both documents in context
// through the one adapter under which the question is likeliest (routed), exactly as `lift ask A Q --adapter A,B`
// prints from the same adapter folders (the official `openai` client, streamed and not), and so as one of the
// documents' adapters alone; the adapter cache holds the two parts and no third entry for the pair; /v1/models
// lists single documents only; a Gated Memory part routes as well. Raw HTTP for the errors: another key's
// document in the list reads exactly like a missing one (404, the same message), a repeated part a 400, an
// unknown part a 404.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import OpenAI from 'openai';
import { lift, storyDocument } from '../cli/helpers.js';
import { http, modelSkip, servedFixture, until } from './helpers.js';

// A high learning rate so each adapter moves the greedy answer (the CLI chat test uses the same).
const LORA = { adapter: 'lora', lora_rank: 2, epochs: [2, 0], qa: 0, batch_size: 4, context_budget: 128, lr: 3e-2 };
const GATED = { adapter: 'gated-memory', epochs: [1, 0], qa: 0, batch_size: 4, context_budget: 128 };

describe('lift serve: documents combined in one model ("a+b")', { skip: modelSkip() }, () => {
  const served = servedFixture();

  it('answers through the routed adapters as `lift ask --adapter a,b`; parts cached, not the pair; errors as OpenAI\'s', async () => {
    const key = (name: string): string => {
      const r = lift(['keys', 'create', name, '--data', served.dir]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trim();
    };
    const alice = key('alice'), bob = key('bob');
    const as = (k: string) => ({ authorization: `Bearer ${k}` });
    const post = async (k: string, text: string, title: string, recipe: object): Promise<string> => {
      const r = await http(`${served.url}/v1/documents`, 'POST', { text, title, recipe }, as(k));
      assert.equal(r.status, 202, r.text);
      return r.json.id as string;
    };
    const park = await post(alice, storyDocument(8, 1), 'park', LORA);
    const farm = await post(alice, storyDocument(8, 2).replace(/park/g, 'farm'), 'farm', LORA);
    const gated = await post(alice, storyDocument(8, 3), 'gated', GATED);
    const bobs = await post(bob, storyDocument(8, 4), 'bob', LORA);
    for (const [id, k] of [[park, alice], [farm, alice], [gated, alice], [bobs, bob]])
      await until(async () => {
        const d = (await http(`${served.url}/v1/documents/${id}`, 'GET', undefined, as(k))).json;
        assert.notEqual(d.status, 'failed', JSON.stringify(d));
        return d.status === 'ready' ? d : undefined;
      }, 120_000, `${id} to be absorbed`);

    const client = new OpenAI({ baseURL: `${served.url}/v1`, apiKey: alice, maxRetries: 0, timeout: 60_000 });
    const question = 'Who went to the farm?';
    const pair = `${park}+${farm}`;
    const r = await client.chat.completions.create({ model: pair, messages: [{ role: 'user', content: question }], max_tokens: 16 });
    assert.equal(r.model, pair);
    // The CLI on the very adapter folders the server published: its own loading, summing, context and decoding.
    const dirOf = (id: string): string => join(served.dir, 'adapters', id);
    const cli = lift(['ask', dirOf(park), question, '--adapter', `${dirOf(park)},${dirOf(farm)}`, '--max-tokens', '16']);
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal(r.choices[0].message.content, cli.stdout.trim());
    const alone = await client.chat.completions.create({ model: park, messages: [{ role: 'user', content: question }], max_tokens: 16 });
    const aloneCli = lift(['ask', dirOf(park), question, '--max-tokens', '16']);
    assert.equal(alone.choices[0].message.content, aloneCli.stdout.trim());
    // Routed: the answer is one document's adapter's own, with both documents in context (CLI: that adapter alone).
    const byAdapter = (dir: string) => lift(['ask', dirOf(park), question, '--adapter', dir, '--max-tokens', '16']).stdout.trim();
    const [viaPark, viaFarm] = [byAdapter(dirOf(park)), byAdapter(dirOf(farm))];
    assert.notEqual(viaPark, viaFarm, 'the two adapters answer differently (else the next check says nothing)');
    assert.ok([viaPark, viaFarm].includes(r.choices[0].message.content ?? ''), `routed: ${r.choices[0].message.content}`);
    let streamed = '';
    for await (const c of await client.chat.completions.create({ model: pair, messages: [{ role: 'user', content: question }], max_tokens: 16, stream: true })) streamed += c.choices[0]?.delta?.content ?? '';
    assert.equal(streamed, r.choices[0].message.content);
    const text = await client.completions.create({ model: `${farm}+${park}`, prompt: question, max_tokens: 16 });
    const cliText = lift(['ask', dirOf(farm), question, '--adapter', `${dirOf(farm)},${dirOf(park)}`, '--max-tokens', '16']);
    assert.equal(text.choices[0].text, cliText.stdout.trim());

    // The cache holds each part once (the pair, the reversed pair and the single park document share them).
    const health = (await http(`${served.url}/health`, 'GET', undefined, as(alice))).json;
    assert.equal(health.adapters.entries, 2, JSON.stringify(health));
    // A combination can be looked up (as a completion would check it), and is not listed: the list keeps single documents.
    assert.equal((await client.models.retrieve(pair)).id, pair);
    assert.equal((await client.models.retrieve(`${park}+${gated}`)).id, `${park}+${gated}`, 'any adapter kinds route together');
    assert.deepEqual((await client.models.list()).data.map((m) => m.id).sort(), ['stories260K', park, farm, gated].sort());

    const u = `${served.url}/v1/chat/completions`;
    const ask = (model: string, k = alice) => http(u, 'POST', { model, messages: [{ role: 'user', content: question }], max_tokens: 4 }, as(k));
    // Another key's document reads exactly like one that does not exist.
    const missing = 'doc_000000000000000000000000';
    const foreign = await ask(`${park}+${bobs}`), absent = await ask(`${park}+${missing}`);
    assert.equal(foreign.status, 404, foreign.text);
    assert.equal(foreign.json.error.code, 'model_not_found');
    assert.equal(foreign.json.error.type, 'not_found_error');
    assert.equal(foreign.json.error.param, 'model');
    assert.equal(foreign.json.error.message.replace(bobs, missing), absent.json.error.message);
    assert.equal(absent.status, 404);
    assert.equal((await ask(`${park}+${bobs}`, bob)).status, 404, 'bob does not own park');
    const unknown = await ask(`${park}+nope`);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.error.code, 'model_not_found');
    const gm = await ask(`${park}+${gated}`);
    assert.equal(gm.status, 200, gm.text);
    const twice = await ask(`${park}+${park}`);
    assert.equal(twice.status, 400);
    assert.deepEqual(Object.keys(twice.json.error).sort(), ['code', 'message', 'param', 'type']);
    assert.equal(twice.json.error.type, 'invalid_request_error');
    assert.equal(twice.json.error.code, 'invalid_value');
    // A single Gated Memory document still answers alone.
    assert.equal((await ask(gated)).status, 200);
  });
});
