// docs/method.md §3 QA synthesis through an OpenAI-compatible endpoint (qa/openai.ts), against a LOCAL node:http
// server on 127.0.0.1 (port 0): good replies, retries on 500/429, timeouts, malformed bodies, rejected
// evidence, API key header, concurrency limit. Nothing here touches the network.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OpenAIQAGenerator, QAEndpointError } from '../../src/lift/qa/openai.js';

const SENTENCES = Array.from({ length: 30 }, (_, i) => `Sentence number ${i} tells that the ${i % 2 ? 'cat' : 'dog'} slept ${i} hours.`);
const PASSAGE = SENTENCES.join(' ');
const MARK = 'The following is the piece of text: ';

type Handler = (req: IncomingMessage, res: ServerResponse, body: any) => void;

/** Starts a chat-completions stand-in; `handler` sees the parsed request body. */
async function serve(t: TestContext, handler: Handler): Promise<string> {
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => { raw += c; });
    req.on('end', () => handler(req, res, JSON.parse(raw)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => { server.closeAllConnections(); server.close(); });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
}

const reply = (res: ServerResponse, content: string, status = 200): void => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ choices: [{ message: { role: 'assistant', content } }] }));
};

/** A well-behaved model: asks about the first sentence of the passage it was given. */
function goodAnswer(body: any): string {
  const passage: string = body.messages.at(-1).content.split(MARK)[1];
  const first = passage.slice(0, passage.indexOf('.') + 1);
  return `Question: How long did it sleep? \nAnswer: ${first.match(/slept (\d+)/)![1]} hours \nEvidence: ${first}`;
}

const fast = { model: 'test-model', backoffMs: 5, maxBackoffMs: 20, timeoutMs: 2000 };

test('a good endpoint: paper prompt, 16-sentence windows, verbatim evidence, API key from the named variable', async (t) => {
  const seen: any[] = [];
  let auth: string | undefined;
  const url = await serve(t, (req, res, body) => { seen.push(body); auth = req.headers.authorization; reply(res, goodAnswer(body)); });
  process.env.LIFT_TEST_QA_KEY = 'sekrit';
  t.after(() => { delete process.env.LIFT_TEST_QA_KEY; });
  const gen = new OpenAIQAGenerator({ ...fast, baseUrl: url, apiKeyEnv: 'LIFT_TEST_QA_KEY' });
  const qas = await gen.generate(PASSAGE, 3, { seed: 4 });
  assert.equal(qas.length, 3);
  assert.equal(auth, 'Bearer sekrit');
  for (const qa of qas) {
    assert.equal(qa.question, 'How long did it sleep?');
    assert.ok(PASSAGE.includes(qa.evidence[0]));
  }
  assert.equal(seen[0].model, 'test-model');
  assert.deepEqual(seen[0].messages[0], { role: 'system', content: 'You are a helpful assistant.' });
  const passage = seen[0].messages[1].content.split(MARK)[1];
  assert.ok(seen[0].messages[1].content.startsWith('You are given a piece of text as the context. You should generate ONLY one question'));
  assert.ok(PASSAGE.includes(passage));
  assert.equal(passage.split(/(?<=\.) /).length, 16);
  const again = await gen.generate(PASSAGE, 3, { seed: 4 });
  assert.deepEqual(again, qas, 'same seed, same windows');
});

test('a 500 then success is retried; a 429 honours Retry-After', async (t) => {
  let calls = 0;
  const url = await serve(t, (_req, res, body) => {
    calls++;
    if (calls === 1) { res.writeHead(500); res.end('overloaded'); return; }
    if (calls === 2) { res.writeHead(429, { 'retry-after': '0' }); res.end('slow down'); return; }
    reply(res, goodAnswer(body));
  });
  const qas = await new OpenAIQAGenerator({ ...fast, baseUrl: url, concurrency: 1 }).generate(PASSAGE, 1);
  assert.equal(qas.length, 1);
  assert.equal(calls, 3);
});

test('a server that never answers gives a clear timeout error, not a hang', async (t) => {
  let calls = 0;
  const url = await serve(t, () => { calls++; /* never respond */ });
  const t0 = Date.now();
  const gen = new OpenAIQAGenerator({ ...fast, baseUrl: url, timeoutMs: 150, maxRetries: 1 });
  await assert.rejects(gen.generate(PASSAGE, 1), (e: Error) => {
    assert.ok(e instanceof QAEndpointError);
    assert.match(e.message, new RegExp(`endpoint ${url}/chat/completions: no complete response within the 150 ms timeout \\(after 2 attempts\\)`));
    return true;
  });
  assert.equal(calls, 2);
  assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
});

test('malformed bodies are retried, then reported with the endpoint and the problem', async (t) => {
  let calls = 0;
  const url = await serve(t, (_req, res) => { calls++; res.writeHead(200); res.end('{"choices": [oops'); });
  await assert.rejects(new OpenAIQAGenerator({ ...fast, baseUrl: url, maxRetries: 2 }).generate(PASSAGE, 1),
    /OpenAI-compatible endpoint http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions: response body is not JSON: .*\(after 3 attempts\)/);
  assert.equal(calls, 3);
  const url2 = await serve(t, (_req, res) => { res.writeHead(200); res.end('{"choices": []}'); });
  await assert.rejects(new OpenAIQAGenerator({ ...fast, baseUrl: url2, maxRetries: 0 }).generate(PASSAGE, 1), /lacks choices\[0\]\.message\.content/);
  const url3 = await serve(t, (_req, res) => { res.writeHead(401); res.end('bad key'); });
  await assert.rejects(new OpenAIQAGenerator({ ...fast, baseUrl: url3 }).generate(PASSAGE, 1), /HTTP 401: bad key \(after 1 attempt\)/);
});

test('evidence that is not verbatim is rejected (new windows tried, then the QA skipped with a warning)', async (t) => {
  let calls = 0;
  const url = await serve(t, (_req, res) => { calls++; reply(res, 'Question: Why? \nAnswer: Because. \nEvidence: The moon is made of cheese.'); });
  const warnings: string[] = [];
  const qas = await new OpenAIQAGenerator({ ...fast, baseUrl: url, attemptsPerQA: 3 }).generate(PASSAGE, 2, { warn: (m) => warnings.push(m) });
  assert.deepEqual(qas, []);
  assert.equal(calls, 6);
  assert.equal(warnings.length, 2);
  assert.match(warnings.sort()[0], /QA 1\/2 skipped after 3 attempts \(evidence is not a verbatim part of the passage\)/);
});

test('no more than `concurrency` requests in flight', async (t) => {
  let inFlight = 0;
  let peak = 0;
  const url = await serve(t, (_req, res, body) => {
    inFlight++; peak = Math.max(peak, inFlight);
    setTimeout(() => { inFlight--; reply(res, goodAnswer(body)); }, 20);
  });
  const qas = await new OpenAIQAGenerator({ ...fast, baseUrl: url, concurrency: 2 }).generate(PASSAGE, 6);
  assert.equal(qas.length, 6);
  assert.equal(peak, 2);
});
