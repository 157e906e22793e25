// absorb() and ask() on the real stories260K model with small settings: the adapter learns the document
// (its loss falls and document NLL drops), files round-trip, a document shorter than one segment still works,
// bad documents are refused with the reason, and both context modes answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireShared, sharedPath } from '../helpers/shared.js';
import { native, tidy } from '../../src/engine/index.js';
import { loadModelFromPath } from '../../src/model/load.js';
import { meanNll } from '../../src/model/perplexity.js';
import { absorb, checkDocument, type AbsorbOptions } from '../../src/lift/absorb.js';
import { ask } from '../../src/lift/ask.js';
import { buildAnswerPrompt } from '../../src/lift/truncate.js';
import { liftLengths } from '../../src/lift/budget.js';
import { encodeAfter } from '../../src/lift/tokens.js';
import { generateText } from '../../src/model/generate.js';
import { answerNll } from '../../src/eval/recall.js';
import { readDocument } from '../../src/lift/document.js';
import { BuiltinQAGenerator } from '../../src/lift/qa/builtin.js';
import { saveAdapter, loadAdapter } from '../../src/adapters/files.js';

const MODEL = () => sharedPath('models/stories260K/stories260K.bin');
const DOC = `Once upon a time, there was a girl named Pia. Pia had a red kite called Zippy. Every day Pia and Zippy went to the hill.
One day the wind was very strong. Zippy flew up to the clouds. Pia held the string tight and laughed.
Then Pia met a boy named Olo. Olo had a blue boat called Splash. They played by the pond all afternoon.
At night Pia told her mom about Zippy and Splash. Her mom smiled and said it was a happy day.`;

test('absorb trains an adapter that lowers the document NLL; files round-trip; ask answers', async (t) => {
  if (!requireShared(t, 'models/stories260K')) return;
  native.setThreads(1);
  const loaded = loadModelFromPath(MODEL());
  const events: string[] = [];
  // The builtin generator asks about rare names (Olo, Splash), not the kite's (Zippy, said 4 times); one QA a model
  // might write about the kite, in other words than the question below, stands in for `--qa-generator self`.
  const builtin = new BuiltinQAGenerator();
  const qaGenerator = {
    id: 'builtin+kite',
    generate: async (passage: string, n: number, o?: { seed?: number }) => [
      { question: "What was the name of Pia's red kite?", answer: 'Zippy', evidence: ['Pia had a red kite called Zippy.'] },
      ...(await builtin.generate(passage, n - 1, o)),
    ],
  };
  const r = await absorb(loaded, { title: 'Pia', text: DOC }, {
    adapter: 'lora', lora: { r: 8, lora_alpha: 16 }, lr: 3e-3, contextBudget: 128, epochs: [4, 4], batchSize: 4, qa: 3,
    qaGenerator, seed: 3, onEvent: (e) => events.push(e.type),
  });
  assert.ok(events.includes('prepare') && events.includes('qa') && events.includes('train'));
  assert.equal(r.qas.length, 3);
  assert.equal(r.recipe.adapter, 'lora');
  assert.deepEqual(r.lengths, { budget: 128, segmentLength: 32, stride: 12, ctContext: 64, truncation: 122 });
  const losses = r.train.losses.map((l) => l.loss);
  assert.ok(losses.at(-1)! < losses[0] * 0.7, `loss falls: ${losses[0]} → ${losses.at(-1)}`);
  const seq = [loaded.tokenizer.encode(DOC, { bos: true })];
  const before = meanNll(loaded.model, seq).nll, after = meanNll(loaded.model, seq, { adapter: r.adapter }).nll;
  console.log(`  document NLL ${before.toFixed(3)} → ${after.toFixed(3)} after ${r.train.steps} steps (${r.seconds.toFixed(1)} s)`);
  assert.ok(after < before - 0.2);

  const dir = mkdtempSync(join(tmpdir(), 'lift-absorb-'));
  try {
    saveAdapter(join(dir, 'a'), r.adapter, { base: { model: loaded.model, id: loaded.id, revision: null }, document_sha256: r.documentSha256, recipe: r.recipe });
    const { adapter, manifest } = loadAdapter(join(dir, 'a'), { model: loaded.model, id: loaded.id, revision: null });
    assert.equal(manifest.document_sha256, r.documentSha256);
    const ids = Int32Array.from(seq[0]);
    tidy(() => assert.deepEqual(loaded.model.forward(ids, { adapter }).f32(), loaded.model.forward(ids, { adapter: r.adapter }).f32()));
    // ask() is the greedy continuation of LIFT's answer prompt (§6) through the adapter, cut at the first blank
    // line; and the adapter makes the document's answer more likely after that prompt than the base does.
    for (const context of ['truncate', 'retrieve'] as const) {
      const q = 'What was the kite called?';
      const a = await ask(loaded, adapter, q, { title: 'Pia', document: DOC, contextBudget: 128, context, maxTokens: 12 });
      const prompt = buildAnswerPrompt(loaded.tokenizer, { title: 'Pia', document: DOC, question: q }, liftLengths(128).truncation, context, { bos: loaded.addBos });
      const greedy = await generateText(loaded.model, loaded.tokenizer, prompt, { temperature: 0, maxTokens: 12, stop: ['\n\n'], adapter });
      assert.equal(a, greedy.trim(), `${context}: ask() answers the answer prompt's greedy continuation`);
      const zippy = encodeAfter(loaded.tokenizer, ' Zippy');
      const [base, lifted] = [null, adapter].map((h) => answerNll(loaded, h, prompt, zippy));
      console.log(`  ${context}: NLL of " Zippy" after the answer prompt ${base.toFixed(2)} → ${lifted.toFixed(2)}; answer ${JSON.stringify(a)}`);
      assert.match(a, /Zippy/, `${context}: the adapter answers with the kite's name from the document`);
      assert.ok(lifted < base - 0.5, `${context}: NLL of " Zippy" after the answer prompt ${base.toFixed(2)} → ${lifted.toFixed(2)} with the adapter`);
    }
    adapter.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  r.adapter.dispose();
  loaded.model.dispose();
});

test('a document shorter than one segment still absorbs (Gated Memory, KL guard from self-generated text)', async (t) => {
  if (!requireShared(t, 'models/stories260K')) return;
  native.setThreads(1);
  const loaded = loadModelFromPath(MODEL());
  const events: { type: string; samples?: number; source?: string; segments?: number }[] = [];
  const r = await absorb(loaded, { title: 'Tiny', text: 'Bo the cat sat.' }, {
    adapter: 'gated-memory', contextBudget: 128, epochs: [2, 1], qa: 0, guard: 'kl', guardSamples: 2, seed: 1, onEvent: (e) => events.push(e as never),
  });
  assert.equal(events.find((e) => e.type === 'prepare')?.segments, 1);
  const g = events.find((e) => e.type === 'guard');
  assert.equal(g?.samples, 2);
  assert.equal(g?.source, 'self');
  assert.equal(r.train.steps, 3);
  assert.ok(r.train.losses.every((l) => Number.isFinite(l.loss)));
  r.adapter.dispose();
  loaded.model.dispose();
});

test('guard texts are cut at guardTokens (default: the budget), which may exceed the budget but not the window', async (t) => {
  if (!requireShared(t, 'models/stories260K')) return;
  native.setThreads(1);
  const loaded = loadModelFromPath(MODEL());
  const long = Array.from({ length: 40 }, (_, i) => `Tom and Sue went to the park on day ${i} and played with a red ball.`).join(' ');
  const doc = { title: 'Tiny', text: 'Bo the cat sat on the mat. Bo was happy.' };
  const base: AbsorbOptions = { adapter: 'lora', contextBudget: 64, epochs: [1, 1], qa: 0, guard: 'kl', guardText: [long, long.slice(0, 120)], seed: 1 };
  const longest = async (guardTokens?: number): Promise<number> => {
    const r = await absorb(loaded, doc, { ...base, guardTokens });
    r.adapter.dispose();
    return (r.recipe.guard as { longest: number }).longest;
  };
  assert.equal(await longest(), 64, 'default: the context budget');
  assert.equal(await longest(200), 200, 'beyond the budget, to cover the positions held-out text reaches');
  const window = loaded.model.config.max_position_embeddings;
  await assert.rejects(absorb(loaded, doc, { ...base, guardTokens: window + 1 }), new RegExp(`guardTokens must be an integer from 2 to the model's ${window}-token window, got ${window + 1}`));
  loaded.model.dispose();
});

test('bad documents are refused with the file and the reason', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lift-doc-'));
  try {
    assert.throws(() => checkDocument('  \n\t '), /empty \(or only whitespace\)/);
    writeFileSync(join(dir, 'empty.txt'), '   \n');
    assert.throws(() => readDocument(join(dir, 'empty.txt')), /empty\.txt: the document is empty/);
    writeFileSync(join(dir, 'latin1.txt'), Buffer.from([0x48, 0x69, 0x20, 0xe9, 0x74, 0xe9]));
    assert.throws(() => readDocument(join(dir, 'latin1.txt')), /latin1\.txt: not valid UTF-8 at byte 3/);
    writeFileSync(join(dir, 'bin.dat'), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1]));
    assert.throws(() => readDocument(join(dir, 'bin.dat')), /bin\.dat: byte 4 is NUL: this looks like a binary file/);
    assert.throws(() => readDocument(join(dir, 'missing.txt')), /missing\.txt: cannot read the document \(ENOENT\)/);
    writeFileSync(join(dir, 'crlf.txt'), '\uFEFFline one\r\nline two\r\n');
    const d = readDocument(join(dir, 'crlf.txt'));
    assert.equal(d.text, 'line one\nline two\n');
    assert.equal(d.title, 'crlf');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
