// The on-disk QA cache (qa/cache.ts): hit/miss by document, generator, n and seed; atomic files; a corrupt
// file is ignored with a warning and regenerated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CachedQAGenerator, qaCacheKey, qaCachePath } from '../../src/lift/qa/cache.js';
import { makeQAGenerator } from '../../src/lift/qa/index.js';
import type { QAGenerator, QAPair } from '../../src/lift/qa/types.js';

/** Counts calls; returns a QA naming the call number so hits and misses are visible. */
class CountingGenerator implements QAGenerator {
  readonly id = 'counting-v1';
  calls = 0;
  async generate(passage: string, n: number, opts: { seed?: number } = {}): Promise<QAPair[]> {
    this.calls++;
    return Array.from({ length: n }, (_, i) => ({ question: `q${i} seed ${opts.seed ?? 0}`, answer: `call ${this.calls}`, evidence: [passage.slice(0, 5)] }));
  }
}

test('cache: miss, then hit; the key covers document, generator, n and seed', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lift-qa-cache-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const inner = new CountingGenerator();
  const gen = new CachedQAGenerator(inner, join(dir, 'nested'));
  const a = await gen.generate('Document one.', 2, { seed: 1 });
  assert.equal(inner.calls, 1);
  assert.deepEqual(await gen.generate('Document one.', 2, { seed: 1 }), a);
  assert.equal(inner.calls, 1);
  assert.equal(gen.hits, 1);
  await gen.generate('Document two.', 2, { seed: 1 });
  await gen.generate('Document one.', 3, { seed: 1 });
  await gen.generate('Document one.', 2, { seed: 2 });
  assert.equal(inner.calls, 4);
  // A fresh wrapper (a new process) reads the same files.
  const again = new CachedQAGenerator(new CountingGenerator(), join(dir, 'nested'));
  assert.deepEqual(await again.generate('Document one.', 2, { seed: 1 }), a);
  assert.equal(again.hits, 1);
  const files = await readdir(join(dir, 'nested'));
  assert.equal(files.length, 4);
  assert.ok(files.every((f) => /^qa-[0-9a-f]{64}\.json$/.test(f)), 'no temp files left behind');
  assert.notEqual(qaCacheKey('d', 'g', 1, 0), qaCacheKey('d', 'h', 1, 0));
});

test('cache: a corrupt file warns and is regenerated, not fatal', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lift-qa-cache-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const inner = new CountingGenerator();
  const warnings: string[] = [];
  const gen = new CachedQAGenerator(inner, dir, { warn: (m) => warnings.push(m) });
  const file = qaCachePath(dir, qaCacheKey('Doc.', inner.id, 1, 0));
  await writeFile(file, '{"version": 1, "qas": [tru');
  const qas = await gen.generate('Doc.', 1);
  assert.equal(qas[0].answer, 'call 1');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /QA cache: ignoring corrupt file .*qa-[0-9a-f]{64}\.json/);
  assert.deepEqual(JSON.parse(await readFile(file, 'utf8')).qas, qas, 'rewritten with good content');
  // Valid JSON of the wrong shape is corrupt too.
  await writeFile(file, JSON.stringify({ version: 1, qas: [{ question: 1 }] }));
  await gen.generate('Doc.', 1);
  assert.equal(warnings.length, 2);
  assert.equal(inner.calls, 2);
});

test('makeQAGenerator with cacheDir wraps the generator', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lift-qa-cache-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const gen = makeQAGenerator('builtin', { cacheDir: dir });
  assert.ok(gen instanceof CachedQAGenerator);
  const doc = 'A fox named Rusty lived in the hollow oak tree. He ate 7 berries every single day of the week.';
  const qas = await gen.generate(doc, 2, { seed: 3 });
  assert.deepEqual(await gen.generate(doc, 2, { seed: 3 }), qas);
  assert.equal(gen.hits, 1);
});
