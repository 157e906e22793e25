// `lift absorb DOC --parts N` as a user runs it: one folder (lift_parts.json, the whole document, one adapter
// folder per part cut at paragraph breaks); `ask` answers through the part the router picks with that part's own
// text in context (with --context retrieve, the whole document's passages) — the same answer as the library's
// AdapterRouter over the part folders, and that part's own answer; `generate --adapter DIR` continues as one part does; `export`, `inspect --recipe` and `--combine sum`
// refuse the folder, naming why; killed while saving the second part, the same command keeps the first part and
// writes the same bytes as a run that was never interrupted.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireShared } from '../helpers/shared.js';
import { buildOnce, lift, MODEL_BIN, QUICK, storyDocument, tempDir } from './helpers.js';
import { loadModelFromPath } from '../../src/model/load.js';
import { loadAdapter } from '../../src/adapters/files.js';
import { AdapterRouter } from '../../src/adapters/route.js';
import { ask } from '../../src/lift/ask.js';

before(() => buildOnce());

test('absorb --parts: one folder of part adapters, routed by ask and generate, resumable part by part', async (t) => {
  if (!requireShared(t, 'models', 'stories260K', 'stories260K.bin')) return;
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const env = { LIFT_CACHE_DIR: join(dir, 'cache') };
  const place = ['park', 'farm', 'beach', 'zoo'];
  const text = place.map((p, i) => storyDocument(8, i + 1).replace(/park/g, p)).join('\n');
  const doc = join(dir, 'story.txt');
  writeFileSync(doc, text);
  const out = join(dir, 'story.lift');
  const cmd = (o: string) => ['absorb', doc, '--model', MODEL_BIN, '--out', o, ...QUICK, '--lr', '3e-2', '--epochs', '2,0', '--context-budget', '128', '--no-report', '--parts', '200', '--json'];
  const r = lift(cmd(out), { env });
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout) as { parts: { folder: string; tokens: number }[] };
  assert.ok(res.parts.length >= 2, `several parts: ${r.stdout}`);
  assert.match(r.stderr, new RegExp(`parts: ${res.parts.length} of ≤ ~200 tokens`));
  const list = JSON.parse(readFileSync(join(out, 'lift_parts.json'), 'utf8'));
  assert.deepEqual(list.parts, res.parts.map((p) => p.folder));
  assert.equal(readFileSync(join(out, 'document.txt'), 'utf8'), text);
  // The parts hold the document, in order, each sentence once, cut only between sentences (only the whitespace at
  // a cut is dropped; these paragraphs are longer than a part, so they are cut at sentence ends).
  const partTexts: string[] = list.parts.map((p: string) => readFileSync(join(out, p, 'document.txt'), 'utf8'));
  const squash = (x: string) => x.replace(/\s+/g, '');
  assert.equal(squash(partTexts.join('')), squash(text));
  for (const p of partTexts) assert.match(p.trimEnd(), /\.$/);
  for (const p of list.parts) assert.ok(existsSync(join(out, p, 'lift_manifest.json')) && existsSync(join(out, p, 'adapter_model.safetensors')));

  // ask: one part's adapter, chosen by the question — as the library's router over the part folders.
  const question = 'Who went to the zoo?';
  const a = lift(['ask', out, question, '--max-tokens', '16', '--json']);
  assert.equal(a.code, 0, a.stderr);
  assert.match(a.stderr, new RegExp(`${list.parts.length} LIFT adapters routed`));
  const loaded = loadModelFromPath(MODEL_BIN);
  t.after(() => loaded.model.dispose());
  const base = { model: loaded.model, id: loaded.id, revision: loaded.revision };
  const parts = list.parts.map((p: string) => loadAdapter(join(out, p), base).adapter);
  const meta = JSON.parse(readFileSync(join(out, 'document.json'), 'utf8'));
  const opts = { title: meta.title, document: text, contextBudget: meta.context_budget, answerStop: meta.answer_stop, bos: meta.bos, maxTokens: 16 };
  const each = [];
  for (const p of parts) each.push(await ask(loaded, p, question, opts));
  assert.ok(new Set(each).size > 1, `the parts answer differently (else routing is not checked): ${each.join(' | ')}`);
  // The chosen part answers with its own text in context (the context it was trained with): the library's
  // router with the parts' texts as contexts, and one of the parts asked alone over its own text.
  const router = new AdapterRouter(loaded.model, parts, undefined, partTexts);
  assert.equal(JSON.parse(a.stdout).answer, await ask(loaded, router, question, opts));
  const own = [];
  for (const [i, p] of parts.entries()) own.push(await ask(loaded, p, question, { ...opts, document: partTexts[i] }));
  assert.ok(own.includes(JSON.parse(a.stdout).answer), `${JSON.parse(a.stdout).answer} is one part's own answer: ${own.join(' | ')}`);
  // --context retrieve keeps the whole document (retrieval finds the passages wherever they are).
  const rv = lift(['ask', out, question, '--max-tokens', '16', '--json', '--context', 'retrieve']);
  assert.equal(rv.code, 0, rv.stderr);
  assert.equal(JSON.parse(rv.stdout).answer, await ask(loaded, new AdapterRouter(loaded.model, parts), question, { ...opts, context: 'retrieve' }));
  router.dispose();

  // generate --adapter DIR: routed by the prompt, so it continues as one of the parts alone.
  const gen = (adapter: string) => lift(['generate', '--model', MODEL_BIN, '--adapter', adapter, '--prompt', 'Lily went to the zoo and', '--temperature', '0', '--max-tokens', '10']);
  const routed = gen(out);
  assert.equal(routed.code, 0, routed.stderr);
  assert.ok(list.parts.map((p: string) => gen(join(out, p)).stdout).includes(routed.stdout), routed.stdout);

  // One adapter is meant: refused with the reason. Parts are never summed.
  for (const x of [['export', out, '--to', 'gguf-lora', '--out', join(dir, 'x.gguf')], ['inspect', out, '--recipe'], ['ask', out, question, '--combine', 'sum']]) {
    const refused = lift(x);
    assert.notEqual(refused.code, 0, x.join(' '));
    assert.match(refused.stderr, /absorbed in parts/);
  }
  assert.equal(lift(['inspect', out, '--json']).code, 0);
  const two = lift(['absorb', doc, doc, '--model', MODEL_BIN, '--out', join(dir, 'two.lift'), ...QUICK, '--parts', '200']);
  assert.notEqual(two.code, 0);
  assert.match(two.stderr, /--parts cuts one document into parts; 2 documents were given/);

  // Killed while the second part is saved: the same command keeps part 1 and writes the same bytes.
  const again = join(dir, 'again.lift');
  const killed = lift(cmd(again), { env: { ...env, LIFT_FAULT: 'absorb:checkpoint-removed:2' } });
  assert.equal(killed.signal, 'SIGKILL', killed.stderr);
  assert.ok(!existsSync(join(again, 'lift_parts.json')), 'nothing at --out until every part is done');
  const resumed = lift(cmd(again), { env });
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /part 1\/\d+ \(\d+ tokens\): trained by an earlier run, kept/);
  for (const p of list.parts) assert.deepEqual(readFileSync(join(again, p, 'adapter_model.safetensors')), readFileSync(join(out, p, 'adapter_model.safetensors')), `${p}: the same bytes`);
});
