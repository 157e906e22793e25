// `lift export` and `lift merge` as a user runs them, and adapters that follow their model's content, not its path.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireShared, sharedPath } from '../helpers/shared.js';
import { readGGUF } from '../../src/io/gguf.js';
import { buildOnce, lift, QUICK, storyDocument, tempDir } from './helpers.js';

before(() => buildOnce());

test('export --to gguf-lora and merge: files llama.cpp reads; refused over a user file; Gated Memory refused', (t) => {
  if (!requireShared(t, 'models', 'stories260K', 'stories260K.gguf')) return;
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const model = sharedPath('models', 'stories260K', 'stories260K.gguf');
  const doc = join(dir, 'doc.txt'), out = join(dir, 'doc.lift');
  writeFileSync(doc, storyDocument(12));
  assert.equal(lift(['absorb', doc, '--model', model, '--out', out, ...QUICK, '--context-budget', '64', '--no-report']).code, 0);

  const g = join(dir, 'doc-lora.gguf');
  const e = lift(['export', out, '--to', 'gguf-lora', '--out', g]);
  assert.equal(e.code, 0, e.stderr);
  assert.equal(e.stdout.trim(), g);
  const meta = new Map(readGGUF(g).entries.map((x) => [x.key, x.value]));
  assert.equal(meta.get('general.type'), 'adapter');
  assert.equal(meta.get('adapter.type'), 'lora');
  assert.equal(meta.get('adapter.lora.alpha'), 4); // QUICK: rank 2, alpha 2·rank
  assert.ok([...readGGUF(g).tensors.keys()].includes('blk.0.attn_q.weight.lora_b'));
  const again = lift(['export', out, '--out', g]);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /pass --force/);
  assert.equal(lift(['export', out, '--out', g, '--force']).code, 0);
  writeFileSync(join(dir, 'mine.gguf'), 'mine');
  const mine = lift(['export', out, '--out', join(dir, 'mine.gguf'), '--force']);
  assert.notEqual(mine.code, 0);
  assert.equal(readFileSync(join(dir, 'mine.gguf'), 'utf8'), 'mine');

  const m = lift(['merge', out, '--out', join(dir, 'merged.gguf')]);
  assert.equal(m.code, 0, m.stderr);
  assert.equal(readGGUF(join(dir, 'merged.gguf')).entries.find((x) => x.key === 'general.architecture')?.value, 'llama');
  const gen = lift(['generate', '--model', join(dir, 'merged.gguf'), '--prompt', 'Lily went to the park', '--max-tokens', '8', '--temperature', '0']);
  const viaAdapter = lift(['generate', '--model', model, '--adapter', out, '--prompt', 'Lily went to the park', '--max-tokens', '8', '--temperature', '0']);
  assert.equal(gen.code, 0, gen.stderr);
  assert.equal(gen.stdout, viaAdapter.stdout, 'the merged model writes what the base with the adapter writes');

  const gm = join(dir, 'gm.lift');
  assert.equal(lift(['absorb', doc, '--model', model, '--out', gm, ...QUICK, '--adapter', 'gated-memory', '--context-budget', '64', '--no-report']).code, 0);
  const r = lift(['export', gm, '--out', join(dir, 'gm.gguf')]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Gated Memory.*cannot express it/s);
  assert.ok(!existsSync(join(dir, 'gm.gguf')));
});

test('an adapter follows its model: the same file copied elsewhere loads it, a different model is refused', (t) => {
  if (!requireShared(t, 'models', 'stories260K', 'stories260K.bin')) return;
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const a = join(dir, 'a'), b = join(dir, 'machine-b');
  mkdirSync(a);
  mkdirSync(b);
  for (const f of ['stories260K.bin', 'tok512.bin']) {
    copyFileSync(sharedPath('models', 'stories260K', f), join(a, f));
    copyFileSync(sharedPath('models', 'stories260K', f), join(b, f));
  }
  const doc = join(dir, 'doc.txt'), out = join(dir, 'doc.lift');
  writeFileSync(doc, storyDocument(12));
  assert.equal(lift(['absorb', doc, '--model', join(a, 'stories260K.bin'), '--out', out, ...QUICK, '--context-budget', '128', '--no-report']).code, 0);
  const q = lift(['ask', out, 'Who went to the park?', '--model', join(b, 'stories260K.bin')]);
  assert.equal(q.code, 0, q.stderr);
  // Its Hugging Face conversion holds the same weights: loads too. A different model: refused, naming both.
  const other = join(dir, 'other-hf');
  assert.equal(lift(['convert', '--model', join(a, 'stories260K.bin'), '--to', 'hf', '--out', other]).code, 0);
  const same = lift(['ask', out, 'Who went to the park?', '--model', other]);
  assert.equal(same.code, 0, `the Hugging Face conversion (rows in rotate-half order) is the same model: ${same.stderr}`);
  const w = join(other, 'model.safetensors');
  const bytes = readFileSync(w);
  bytes.writeFloatLE(bytes.readFloatLE(bytes.length - 4) + 1, bytes.length - 4); // one weight changed: another model
  for (let i = 0; i < 4096; i += 4) bytes.writeFloatLE(0.5, bytes.length - 8 - i);
  writeFileSync(w, bytes);
  const r = lift(['ask', out, 'Who went to the park?', '--model', other]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /made for base model .*stories260K\.bin.*the weights differ/s);
});
