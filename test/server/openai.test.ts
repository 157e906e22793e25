// `lift serve` against a client nobody here wrote: the official `openai` package, plus raw HTTP for what a
// client library hides (status codes, error shapes, SSE framing, limits). One server on stories260K; a document
// absorbed through the API with the quick recipe is then answered through /v1/chat/completions with model = its
// id, and that answer must equal what `lift ask` prints from the same adapter folder.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import OpenAI from 'openai';
import { buildOnce, lift, MODEL_BIN, storyDocument, tempDir } from '../cli/helpers.js';
import { SHARED_DIR } from '../helpers/shared.js';
import { http, sseData, startServer, until, type RunningServer } from './helpers.js';

const haveModel = existsSync(MODEL_BIN);
if (!haveModel && process.env.CI === 'true') throw new Error(`stories260K not found at ${MODEL_BIN} (shared data in ${SHARED_DIR}; set LIFT_SHARED)`);
const BASE = 'stories260K';
/** The quick LoRA recipe of the CLI tests (test/cli/helpers.ts QUICK), as a document recipe. */
const RECIPE = { adapter: 'lora', lora_rank: 2, epochs: [1, 0], qa: 0, batch_size: 4, context_budget: 96 };

describe('lift serve: OpenAI API', { skip: haveModel ? false : `stories260K not found at ${MODEL_BIN}` }, () => {
  let server: RunningServer, client: OpenAI, data: ReturnType<typeof tempDir>;
  before(async () => {
    buildOnce();
    data = tempDir();
    server = await startServer(['--model', MODEL_BIN, '--data', join(data.dir, 'data'), '--max-body-mb', '2']);
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 60_000 });
  });
  after(async () => {
    await server?.stop();
    data?.cleanup();
  });

  it('lists the base model', async () => {
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    assert.deepEqual(ids, [BASE]);
  });

  it('chat completion (greedy) is what `lift generate` prints for the same prompt, with usage and finish_reason', async () => {
    const r = await client.chat.completions.create({ model: BASE, messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 12, temperature: 0 });
    const cli = lift(['generate', '--model', MODEL_BIN, '--prompt', 'Once upon a time', '--max-tokens', '12', '--temperature', '0']);
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.choices[0].message.role, 'assistant');
    assert.equal(r.choices[0].message.content, cli.stdout.replace(/\n$/, ''));
    assert.equal(r.choices[0].finish_reason, 'length');
    assert.equal(r.usage?.completion_tokens, 12);
    assert.ok(r.usage!.prompt_tokens > 0 && r.usage!.total_tokens === r.usage!.prompt_tokens + 12);
  });

  it('streamed chat gives the same text in deltas, a role first, a finish_reason, [DONE] and usage when asked', async () => {
    const whole = await client.chat.completions.create({ model: BASE, messages: [{ role: 'user', content: 'Tom had a dog' }], max_tokens: 20, temperature: 0 });
    const stream = await client.chat.completions.create({ model: BASE, messages: [{ role: 'user', content: 'Tom had a dog' }], max_tokens: 20, temperature: 0, stream: true, stream_options: { include_usage: true } });
    let text = '', role = '', finish: string | null = null, chunks = 0;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const c of stream) {
      chunks++;
      assert.equal(c.object, 'chat.completion.chunk');
      if (c.usage) usage = c.usage;
      if (c.choices.length === 0) continue;
      role ||= c.choices[0].delta.role ?? '';
      text += c.choices[0].delta.content ?? '';
      finish = c.choices[0].finish_reason ?? finish;
    }
    assert.equal(role, 'assistant');
    assert.equal(text, whole.choices[0].message.content);
    assert.equal(finish, whole.choices[0].finish_reason);
    assert.ok(chunks > 5, `only ${chunks} chunks: not streamed token by token`);
    assert.deepEqual(usage, whole.usage);
  });

  it('text completions, streamed and not, honour stop, and a seed makes sampling repeatable', async () => {
    const full = await client.completions.create({ model: BASE, prompt: 'Lily went to the park', max_tokens: 30, temperature: 0 });
    const text = full.choices[0].text;
    assert.equal(full.object, 'text_completion');
    assert.equal(full.usage?.completion_tokens, 30);
    // Stop at a word from the middle of the greedy text: the answer is the text before it, finish_reason "stop".
    const word = text.split(/\s+/).filter((w) => w.length > 2)[3];
    assert.ok(word, `no stop word in ${JSON.stringify(text)}`);
    const cut = await client.completions.create({ model: BASE, prompt: 'Lily went to the park', max_tokens: 30, temperature: 0, stop: [word] });
    assert.equal(cut.choices[0].text, text.slice(0, text.indexOf(word)));
    assert.equal(cut.choices[0].finish_reason, 'stop');
    let streamed = '';
    for await (const c of await client.completions.create({ model: BASE, prompt: 'Lily went to the park', max_tokens: 30, temperature: 0, stop: [word], stream: true })) streamed += c.choices[0]?.text ?? '';
    assert.equal(streamed, cut.choices[0].text);
    const a = await client.completions.create({ model: BASE, prompt: 'One day', max_tokens: 25, temperature: 1, top_p: 0.95, seed: 7 });
    const b = await client.completions.create({ model: BASE, prompt: 'One day', max_tokens: 25, temperature: 1, top_p: 0.95, seed: 7 });
    assert.equal(a.choices[0].text, b.choices[0].text);
  });

  it('an unknown model is a NotFoundError (404, OpenAI error shape)', async () => {
    await assert.rejects(client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] }), (e: unknown) => {
      assert.ok(e instanceof OpenAI.NotFoundError, String(e));
      assert.equal(e.status, 404);
      assert.equal(e.code, 'model_not_found');
      assert.equal(e.param, 'model');
      return true;
    });
  });

  it('a client that disconnects mid-stream stops its generation', async () => {
    const before = (await http(`${server.url}/health`, 'GET')).json;
    const ac = new AbortController();
    const r = await fetch(`${server.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, signal: ac.signal,
      body: JSON.stringify({ model: BASE, prompt: 'Once upon a time', max_tokens: 100000, temperature: 1, seed: 3, stream: true }) });
    const reader = r.body!.getReader();
    await reader.read(); // the first chunk: generation has started
    ac.abort();
    const h = await until(async () => { const j = (await http(`${server.url}/health`, 'GET')).json; return j.generations === 0 ? j : undefined; }, 10_000, 'the generation to end');
    assert.equal(h.aborted, before.aborted + 1, `expected the generation to be counted as aborted: ${JSON.stringify(h)}`);
    assert.equal(h.completed, before.completed);
  });

  it('generations interleave: a short request is answered while a long one is still streaming', async () => {
    const long = { model: BASE, prompt: 'Once upon a time', max_tokens: 200, temperature: 1, seed: 5 };
    const n = (await client.completions.create(long)).usage!.completion_tokens;
    assert.ok(n >= 150, `seed 5 gives ${n} tokens: too short for this test`);
    const r = await fetch(`${server.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...long, stream: true }) });
    const reader = r.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = (await reader.read()).value ?? ''; // generating now
    const short = await client.chat.completions.create({ model: BASE, messages: [{ role: 'user', content: 'Tom' }], max_tokens: 4, temperature: 0 });
    assert.equal(short.usage?.completion_tokens, 4);
    // The server's own count: the long generation is still running after the short one was answered.
    assert.equal((await http(`${server.url}/health`, 'GET')).json.generations, 1, 'the long generation ended before the short request was answered');
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    assert.ok(text.trimEnd().endsWith('data: [DONE]'), 'the long stream then ran to its end');
  });

  it('bad input gets an OpenAI-shaped error naming the field, with the right status', async () => {
    const u = `${server.url}/v1/chat/completions`;
    const shape = (r: { json: any }, status: number, r2: { status: number }, code?: string, param?: string): void => {
      assert.equal(r2.status, status, JSON.stringify(r.json));
      assert.equal(typeof r.json?.error?.message, 'string');
      assert.equal(typeof r.json.error.type, 'string');
      assert.ok('code' in r.json.error);
      if (code) assert.equal(r.json.error.code, code);
      if (param) assert.equal(r.json.error.param, param);
    };
    let r = await http(u, 'POST', '{"model": "x", "messages": [', { 'content-type': 'application/json' });
    shape(r, 400, r, 'invalid_json');
    r = await http(u, 'POST', { model: 'nope', messages: [{ role: 'user', content: 'hi' }] });
    shape(r, 404, r, 'model_not_found', 'model');
    r = await http(u, 'POST', { model: BASE, messages: [{ role: 'user', content: 'hi' }], max_tokens: 'ten' });
    shape(r, 400, r, 'invalid_value', 'max_tokens');
    r = await http(u, 'POST', { model: BASE, messages: [{ role: 'user', content: 'hi' }], temperature: 5 });
    shape(r, 400, r, 'invalid_value', 'temperature');
    r = await http(u, 'POST', { model: BASE });
    shape(r, 400, r, 'invalid_value', 'messages');
    r = await http(u, 'POST', { model: BASE, messages: [{ role: 'robot', content: 'hi' }] });
    shape(r, 400, r, 'invalid_value', 'messages[0].role');
    r = await http(u, 'POST', { model: 42, messages: [{ role: 'user', content: 'hi' }] });
    shape(r, 400, r, 'invalid_value', 'model');
    r = await http(u, 'POST', { model: BASE, messages: [{ role: 'user', content: 'hi' }], stop: [1, 2] });
    shape(r, 400, r, 'invalid_value', 'stop');
    r = await http(u, 'POST', { model: BASE, messages: [{ role: 'user', content: 'hi' }], n: 2 });
    shape(r, 400, r, 'invalid_value', 'n');
    r = await http(`${server.url}/v1/completions`, 'POST', { model: BASE, prompt: 7 });
    shape(r, 400, r, 'invalid_value', 'prompt');
    r = await http(u, 'POST', { model: BASE, messages: [{ role: 'user', content: 'x'.repeat(1_500_000) }] });
    shape(r, 413, r, 'body_too_large');
    r = await http(u, 'POST', 'hello', { 'content-type': 'text/plain' });
    shape(r, 415, r, 'unsupported_media_type');
    r = await http(`${server.url}/v1/nothing`, 'GET');
    shape(r, 404, r, 'unknown_url');
    r = await http(`${server.url}/v1/completions`, 'POST', { model: BASE, prompt: 'a '.repeat(2000) });
    shape(r, 400, r, 'context_length_exceeded');
    r = await http(`${server.url}/v1/documents`, 'POST', { title: 'no text' });
    shape(r, 400, r, 'invalid_value', 'text');
    r = await http(`${server.url}/v1/documents`, 'POST', { text: '   \n ' });
    shape(r, 400, r, 'invalid_value', 'text');
    r = await http(`${server.url}/v1/documents`, 'POST', { text: 'a story', recipe: { epoch: [1, 0] } });
    shape(r, 400, r, 'invalid_value', 'recipe.epoch');
    r = await http(`${server.url}/v1/documents`, 'POST', { text: 'a story', recipe: { epochs: [0, 0] } });
    shape(r, 400, r, 'invalid_value', 'recipe.epochs');
    r = await http(`${server.url}/v1/documents`, 'POST', { text: 'a story', recipe: { context_budget: 100000 } });
    shape(r, 400, r, 'invalid_value', 'recipe.context_budget');
    r = await http(`${server.url}/v1/documents/doc_000000000000000000000000`, 'GET');
    shape(r, 404, r, 'document_not_found');
    r = await http(`${server.url}/v1/documents/..%2F..%2Fetc`, 'DELETE');
    shape(r, 404, r, 'document_not_found');
    // The server is still serving after all of that.
    assert.equal((await http(`${server.url}/v1/models`, 'GET')).status, 200);
    assert.deepEqual((await http(`${server.url}/v1/documents`, 'GET')).json, { object: 'list', data: [] });
  });

  it('documents as multipart uploads: text and Markdown accepted; other types, binary, empty and oversized files refused', async () => {
    const form = (name: string, content: string | Uint8Array, type: string, fields: Record<string, string> = {}): FormData => {
      const f = new FormData();
      for (const [k, v] of Object.entries(fields)) f.append(k, v);
      f.append('file', new Blob([content as unknown as BlobPart], { type }), name); // (a Uint8Array is a BlobPart; TS's lib types disagree)
      return f;
    };
    const post = async (body: FormData): Promise<{ status: number; json: any }> => {
      const r = await fetch(`${server.url}/v1/documents`, { method: 'POST', body });
      return { status: r.status, json: await r.json() };
    };
    let r = await post(form('notes.md', '# Notes\n\nLily found a key.\n', 'text/markdown', { recipe: JSON.stringify({ epochs: [1, 0], qa: 0 }) }));
    assert.equal(r.status, 202, JSON.stringify(r.json));
    assert.equal(r.json.title, 'notes', 'the title defaults to the file name');
    assert.deepEqual(r.json.recipe, { epochs: [1, 0], qa: 0 });
    assert.equal((await http(`${server.url}/v1/documents/${r.json.id}`, 'DELETE')).status, 200);
    r = await post(form('sheet.xlsx', 'PK\x03\x04...', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')); // PDF, HTML, DOCX, EPUB: test/server/formats-upload.test.ts
    assert.equal(r.status, 415);
    assert.equal(r.json.error.code, 'unsupported_file_type');
    r = await post(form('blob.txt', new Uint8Array([104, 105, 0, 1, 2]), 'text/plain'));
    assert.equal(r.status, 400);
    assert.match(r.json.error.message, /NUL/);
    r = await post(form('latin1.txt', new Uint8Array([0x63, 0x61, 0x66, 0xe9]), 'text/plain'));
    assert.equal(r.status, 400);
    assert.match(r.json.error.message, /UTF-8/);
    r = await post(form('empty.txt', '', 'text/plain'));
    assert.equal(r.status, 400);
    assert.equal(r.json.error.param, 'file');
    r = await post(form('story.txt', 'a story', 'text/plain', { recipe: '{"lr": "fast"}' }));
    assert.equal(r.status, 400);
    assert.equal(r.json.error.param, 'recipe.lr');
    r = await post(form('big.txt', 'word '.repeat(500_000), 'text/plain')); // 2.5 MB > --max-body-mb 2
    assert.equal(r.status, 413, JSON.stringify(r.json));
    const big = await http(`${server.url}/v1/documents`, 'POST', { text: 'word '.repeat(500_000) });
    assert.equal(big.status, 413, big.text);
    assert.equal(big.json.error.code, 'body_too_large');
    assert.deepEqual((await http(`${server.url}/v1/documents`, 'GET')).json.data, [], 'nothing refused was stored');
  });

  it('a document absorbed through the API is a model: answered like `lift ask`, listed, then deleted', async () => {
    const text = storyDocument(24, 5);
    const posted = await http(`${server.url}/v1/documents`, 'POST', { text, title: 'park story', recipe: RECIPE });
    assert.equal(posted.status, 202, posted.text);
    const id: string = posted.json.id;
    assert.match(id, /^doc_[0-9a-f]{24}$/);
    assert.ok(['queued', 'running'].includes(posted.json.status), posted.json.status);
    assert.equal(posted.json.title, 'park story');
    assert.deepEqual(posted.json.recipe, RECIPE);
    // Progress events until "ready": statuses in order, losses per step.
    const events = (await sseData(`${server.url}/v1/documents/${id}/events`)).map((d) => JSON.parse(d));
    const statuses = events.filter((e) => e.type === 'status').map((e) => e.status);
    assert.deepEqual(statuses.filter((s, i) => s !== statuses[i - 1]), ['queued', 'running', 'ready'], JSON.stringify(statuses));
    const steps = events.filter((e) => e.type === 'step');
    assert.ok(steps.length > 0 && steps.every((e) => Number.isFinite(e.loss)), 'a loss per training step');
    const doc = (await http(`${server.url}/v1/documents/${id}`, 'GET')).json;
    assert.equal(doc.status, 'ready');
    assert.equal(doc.progress, 1);
    assert.equal(doc.metrics.steps, steps.at(-1).total_steps);
    assert.ok(!JSON.stringify(doc).includes(data.dir), 'no file path in the document object');
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    assert.deepEqual(ids, [BASE, id]);

    const question = 'Where did Lily find the ball?';
    const r = await client.chat.completions.create({ model: id, messages: [{ role: 'user', content: question }], max_tokens: 24 });
    // The same adapter and question through the CLI (its own loading, prompt and greedy decoding).
    const adapterDir = join(data.dir, 'data', 'adapters', id);
    const cli = lift(['ask', adapterDir, question, '--max-tokens', '24']);
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal(r.choices[0].message.content, cli.stdout.trim());
    assert.ok(r.usage!.prompt_tokens <= RECIPE.context_budget, `the prompt (${r.usage!.prompt_tokens} tokens) fits the document's context budget`);
    // The base model with the same question answers differently from nothing but the question: the model field matters.
    const viaStream = [];
    for await (const c of await client.chat.completions.create({ model: id, messages: [{ role: 'user', content: question }], max_tokens: 24, stream: true })) viaStream.push(c.choices[0]?.delta?.content ?? '');
    assert.equal(viaStream.join(''), r.choices[0].message.content);

    // The adapter folder as a tar archive that tar itself unpacks to the same bytes.
    const tarRes = await fetch(`${server.url}/v1/documents/${id}/adapter`);
    assert.equal(tarRes.status, 200);
    assert.equal(tarRes.headers.get('content-type'), 'application/x-tar');
    const tarFile = join(data.dir, 'adapter.tar');
    writeFileSync(tarFile, Buffer.from(await tarRes.arrayBuffer()));
    const out = join(data.dir, 'unpacked');
    mkdirSync(out);
    const untar = spawnSync('tar', ['-xf', tarFile, '-C', out], { encoding: 'utf8' });
    assert.equal(untar.status, 0, untar.stderr);
    const files = readdirSync(adapterDir).sort();
    assert.deepEqual(readdirSync(join(out, `${id}.lift`)).sort(), files);
    assert.ok(files.includes('adapter_model.safetensors') && files.includes('lift_manifest.json'));
    for (const f of files) assert.ok(readFileSync(join(out, `${id}.lift`, f)).equals(readFileSync(join(adapterDir, f))), f);

    // Deleted while answering: the stream ends with an OpenAI error (the client raises it), not a silent [DONE].
    const long = { model: id, messages: [{ role: 'user' as const, content: question }], max_tokens: 300, temperature: 1, seed: 11, stop: [] };
    const uninterrupted = await client.chat.completions.create(long);
    assert.ok(uninterrupted.usage!.completion_tokens >= 60, `this seed's answer has ${uninterrupted.usage!.completion_tokens} tokens: too short to delete during it`);
    const stream = await client.chat.completions.create({ ...long, stream: true });
    const deleted: { r?: Awaited<ReturnType<typeof http>> } = {}; // set inside the loop below
    let got = '';
    await assert.rejects((async () => {
      for await (const c of stream) {
        got += c.choices[0]?.delta?.content ?? '';
        if (!deleted.r && got.length > 0) deleted.r = await http(`${server.url}/v1/documents/${id}`, 'DELETE');
      }
    })(), (e: unknown) => {
      assert.ok(e instanceof OpenAI.APIError, String(e));
      assert.equal((e as InstanceType<typeof OpenAI.APIError>).code, 'model_deleted');
      return true;
    });
    assert.ok(got.length < uninterrupted.choices[0].message.content!.length, 'the answer stopped early');
    assert.equal(deleted.r?.status, 200);
    assert.deepEqual(deleted.r?.json, { id, object: 'document.deleted', deleted: true });
    assert.equal((await http(`${server.url}/v1/documents/${id}`, 'GET')).status, 404);
    await assert.rejects(client.chat.completions.create({ model: id, messages: [{ role: 'user', content: question }] }), OpenAI.NotFoundError);
    assert.equal(existsSync(adapterDir), false, 'the adapter folder is removed');
    assert.deepEqual(readdirSync(join(data.dir, 'data', 'adapters')), []);
  });
});
