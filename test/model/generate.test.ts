// Generation: stories260K must print exactly what upstream llama2.c run.c prints (greedy and seeded top-p,
// from the .bin and the .gguf); the KV-cache path must agree with full recomputation; stop ids, stop strings,
// budgets and AbortSignal are checked on a scripted fake model where exact control matters.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { requireShared, sharedPath } from '../helpers/shared.js';
import { Tensor, native, tidy } from '../../src/engine/index.js';
import { loadModelFromPath, type LoadedModel } from '../../src/model/load.js';
import { generate, generateText, tokenBudget, type GeneratedToken } from '../../src/model/generate.js';
import type { KVCache } from '../../src/model/kv-cache.js';
import type { LlamaModel } from '../../src/model/llama.js';
import type { StreamDecoder, Tokenizer } from '../../src/text/tokenizer.js';

// A model this small runs fastest on one thread; on a busy machine OpenMP workers only spin.
native.setThreads(1);

const DIR = 'models/stories260K';
const expected = (name: string): string => readFileSync(sharedPath(DIR, name), 'utf8');

let cached: LoadedModel | null = null;
const stories = (): LoadedModel => (cached ??= loadModelFromPath(sharedPath(DIR, 'stories260K.bin')));
after(() => cached?.model.dispose());

async function collect(it: AsyncGenerator<GeneratedToken>): Promise<GeneratedToken[]> {
  const out: GeneratedToken[] = [];
  for await (const t of it) out.push(t);
  return out;
}

test('stories260K.bin greedy, 256 steps from BOS: exactly run.c -t 0 (plus its final newline)', async (t) => {
  if (!requireShared(t, DIR)) return;
  const { model, tokenizer } = stories();
  const text = await generateText(model, tokenizer, tokenizer.encode('', { bos: true }), { steps: 256, temperature: 0 });
  assert.equal(text + '\n', expected('expected_output_greedy_t0.txt'));
});

test('stories260K.bin -t 1.0 -p 0.9 -s 42: exactly run.c (its xorshift RNG and top-p)', async (t) => {
  if (!requireShared(t, DIR)) return;
  const { model, tokenizer } = stories();
  const text = await generateText(model, tokenizer, [], { steps: 256, temperature: 1, topP: 0.9, seed: 42 });
  assert.equal(text + '\n', expected('expected_output_seed42_t1_p0.9.txt'));
});

test('stories260K.gguf greedy gives the same text', async (t) => {
  if (!requireShared(t, DIR)) return;
  const g = loadModelFromPath(sharedPath(DIR, 'stories260K.gguf'));
  try {
    const text = await generateText(g.model, g.tokenizer, g.tokenizer.encode('', { bos: true }), { steps: 256, temperature: 0 });
    assert.equal(text + '\n', expected('expected_output_greedy_t0.txt'));
  } finally {
    g.model.dispose();
  }
});

test('KV-cache generation equals full-recompute argmax for 30 steps', async (t) => {
  if (!requireShared(t, DIR)) return;
  const { model, tokenizer } = stories();
  const prompt = tokenizer.encode('Once upon a time', { bos: true });
  const got = (await collect(generate(model, tokenizer, prompt, { maxTokens: 30, temperature: 0 }))).map((x) => x.id);
  const ids = [...prompt];
  const V = model.config.vocab_size;
  for (let s = 0; s < 30; s++) {
    const row = tidy(() => model.forward(Int32Array.from(ids)).toArray()).subarray((ids.length - 1) * V);
    let best = 0;
    for (let i = 1; i < V; i++) if (row[i] > row[best]) best = i;
    ids.push(best);
  }
  assert.deepEqual(got, ids.slice(prompt.length));
});

test('top-k = 1 with temperature 1 equals greedy; a prompt continues where run.c would', async (t) => {
  if (!requireShared(t, DIR)) return;
  const { model, tokenizer } = stories();
  const greedy = expected('expected_output_greedy_t0.txt');
  const k1 = await generateText(model, tokenizer, [], { maxTokens: 80, temperature: 1, topP: 0.9, topK: 1, seed: 5 });
  assert.ok(k1.length > 100 && greedy.startsWith(k1), k1);
  const cont = await generateText(model, tokenizer, tokenizer.encode('Once upon a time', { bos: true }), { maxTokens: 10, temperature: 0 });
  assert.ok(greedy.startsWith('Once upon a time' + cont), cont);
});

test('stop strings end generation before the stop text, also across token boundaries', async (t) => {
  if (!requireShared(t, DIR)) return;
  const { model, tokenizer } = stories();
  const greedy = expected('expected_output_greedy_t0.txt');
  for (const stop of ['Lily', 'girl named', 'park."', 'never appears']) {
    const chunks = await collect(generate(model, tokenizer, [], { steps: 256, temperature: 0, stop: [stop] }));
    const text = chunks.map((c) => c.text).join('');
    const at = greedy.indexOf(stop);
    assert.equal(text, at >= 0 ? greedy.slice(0, at) : greedy.slice(0, -1), stop);
  }
  // The earliest of several stop strings wins.
  const text = await generateText(model, tokenizer, [], { steps: 256, temperature: 0, stop: ['ball', 'park'] });
  assert.equal(text, greedy.slice(0, greedy.indexOf('park')));
});

test('AbortSignal ends generation cleanly: aborted before, during (onToken) and from a timer', async (t) => {
  if (!requireShared(t, DIR)) return;
  const { model, tokenizer } = stories();
  const pre = new AbortController();
  pre.abort();
  assert.deepEqual(await collect(generate(model, tokenizer, [], { temperature: 0, signal: pre.signal })), []);

  const ac = new AbortController();
  let seen = 0;
  const got = await collect(generate(model, tokenizer, [], {
    temperature: 0, maxTokens: 200, signal: ac.signal,
    onToken: () => { if (++seen === 5) ac.abort(); },
  }));
  assert.equal(got.length, 5);
  assert.ok(expected('expected_output_greedy_t0.txt').startsWith(got.map((x) => x.text).join('')));

  // A timer can only fire if the loop yields to the event loop between tokens.
  const timed = new AbortController();
  setTimeout(() => timed.abort(), 5);
  const n = (await collect(generate(model, tokenizer, [], { temperature: 0, steps: 512, signal: timed.signal }))).length;
  assert.ok(timed.signal.aborted && n < 512, `${n} tokens`);
});

// --- a scripted fake model: exact control over which ids come out -----------------------------------------

const PIECES = ['<unk>', '<s>', '</s>', 'Hel', 'lo', ' wor', 'ld', '!'];

const fakeTokenizer: Tokenizer = {
  vocabSize: PIECES.length, bosId: 1, eosId: 2, eosIds: [2],
  encode: () => [1],
  decode: (ids) => ids.map((i) => (i > 2 ? PIECES[i] : '')).join(''),
  createDecoder: (): StreamDecoder => ({ push: (i) => (i > 2 ? PIECES[i] : ''), flush: () => '' }),
  idToPiece: (i) => PIECES[i],
};

/** A "model" whose greedy output is `script` (position p after the prompt predicts script[p]). */
function scripted(script: number[]): LlamaModel {
  const config = { max_position_embeddings: 64, num_hidden_layers: 1, num_key_value_heads: 1, head_dim: 1, vocab_size: PIECES.length };
  let step = 0;
  const forward = (ids: Int32Array, o: { cache?: KVCache } = {}): Tensor => {
    if (!o.cache) throw new Error('generate must use the KV cache');
    o.cache.advance(ids.length);
    const logits = new Float32Array(PIECES.length);
    logits[script[step++] ?? 7] = 10;
    return Tensor.from(logits, [1, PIECES.length]);
  };
  return { config, forward } as unknown as LlamaModel;
}

test('fake model: stops at EOS and at BOS (run.c), eosIds override, budgets', async () => {
  assert.equal(await generateText(scripted([3, 4, 5, 6, 7, 2, 3]), fakeTokenizer, [], { temperature: 0 }), 'Hello world!');
  assert.equal(await generateText(scripted([3, 4, 1, 5]), fakeTokenizer, [], { temperature: 0 }), 'Hello');
  assert.equal(await generateText(scripted([3, 4, 2, 5, 1]), fakeTokenizer, [], { temperature: 0, eosIds: [] }), 'Hello wor');
  assert.equal(await generateText(scripted([3, 4, 5, 6, 7]), fakeTokenizer, [], { temperature: 0, eosIds: [6] }), 'Hello wor');
  assert.equal(await generateText(scripted([3, 4, 5, 6]), fakeTokenizer, [], { temperature: 0, maxTokens: 2 }), 'Hello');
  assert.equal(await generateText(scripted([3, 4, 5, 6]), fakeTokenizer, [1, 3], { temperature: 0, steps: 3 }), 'Hello');
});

test('fake model: held-back text is released on the next token or as a final id −1 chunk', async () => {
  const chunks = await collect(generate(scripted([3, 4, 5, 6, 2]), fakeTokenizer, [], { temperature: 0, stop: ['lo w'] }));
  assert.deepEqual(chunks, [{ id: 3, text: 'He' }, { id: 4, text: 'l' }]);
  const tail = await collect(generate(scripted([3, 4, 7, 2]), fakeTokenizer, [], { temperature: 0, stop: ['!!'] }));
  assert.deepEqual(tail, [{ id: 3, text: 'Hel' }, { id: 4, text: 'lo' }, { id: 7, text: '' }, { id: -1, text: '!' }]);
  const budget = await collect(generate(scripted([3, 4, 7]), fakeTokenizer, [], { temperature: 0, stop: ['!!'], maxTokens: 3 }));
  assert.equal(budget.map((c) => c.text).join(''), 'Hello!');
  assert.equal(budget.at(-1)!.id, 7);
});

test('tokenBudget: run.c steps, maxTokens, context length, default 256', () => {
  assert.equal(tokenBudget(1, 512, { steps: 256 }), 256);
  assert.equal(tokenBudget(5, 512, { steps: 256 }), 252);
  assert.equal(tokenBudget(1, 512, { steps: 0 }), 512);
  assert.equal(tokenBudget(1, 512, { steps: 9999 }), 512);
  assert.equal(tokenBudget(10, 512, { steps: 5 }), 0);
  assert.equal(tokenBudget(1, 512, {}), 256);
  assert.equal(tokenBudget(500, 512, {}), 13);
  assert.equal(tokenBudget(1, 512, { steps: 100, maxTokens: 10 }), 10);
  assert.throws(() => tokenBudget(1, 512, { maxTokens: -1 }), /maxTokens/);
});
