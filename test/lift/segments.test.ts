// docs/method.md §1 segments and the budget-derived lengths (§1, §2, §6).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { liftLengths } from '../../src/lift/budget.js';
import { documentTokens, makeSegments, segmentStarts } from '../../src/lift/segments.js';
import { SentencePieceTokenizer } from '../../src/text/sentencepiece.js';
import { requireShared, sharedPath } from '../helpers/shared.js';
import { CharTokenizer } from './fake-tokenizer.js';

test('liftLengths reproduces the paper for an 8k window and scales with the budget', () => {
  assert.deepEqual(liftLengths(8192), { budget: 8192, segmentLength: 2048, stride: 768, ctContext: 4096, truncation: 7800 });
  const small = liftLengths(512);
  assert.deepEqual(small, { budget: 512, segmentLength: 128, stride: 48, ctContext: 256, truncation: 487 });
  assert.equal(liftLengths(512, { stride: 64, truncation: 400 }).stride, 64);
  assert.equal(liftLengths(512, { answerReserve: 100 }).truncation, 412);
  assert.throws(() => liftLengths(512, { stride: 200 }), /stride 200 exceeds segmentLength 128/);
  assert.throws(() => liftLengths(512, { ctContext: 400 }), /leaves no room/);
  assert.throws(() => liftLengths(0), RangeError);
});

test('segment starts are 0, s, 2s, … < L: ceil(L/s) of them', () => {
  for (const [L, s] of [[100, 30], [90, 30], [1, 30], [29, 30], [31, 30], [1000, 7]]) {
    const starts = segmentStarts(L, s);
    assert.equal(starts.length, Math.ceil(L / s), `L=${L} s=${s}`);
    starts.forEach((x, i) => assert.equal(x, i * s));
    assert.ok(starts[starts.length - 1] < L);
  }
  assert.deepEqual(segmentStarts(0, 5), []);
});

test('segments overlap by ℓ − s, cover every token, and end in shorter tails', () => {
  const ids = Array.from({ length: 100 }, (_, i) => 1000 + i);
  const segs = makeSegments(ids, 32, 12);
  assert.equal(segs.length, Math.ceil(100 / 12)); // 9
  for (const [i, s] of segs.entries()) {
    assert.equal(s.start, 12 * i);
    assert.deepEqual(s.ids, ids.slice(s.start, s.start + 32));
    if (i > 0) { // consecutive segments share ℓ − s = 20 tokens (fewer for tails)
      const n = Math.min(20, s.ids.length);
      assert.deepEqual(s.ids.slice(0, n), segs[i - 1].ids.slice(12, 12 + n));
    }
  }
  assert.deepEqual(segs.map((s) => s.ids.length), [32, 32, 32, 32, 32, 32, 28, 16, 4]);
  const covered = new Set(segs.flatMap((s) => s.ids));
  assert.equal(covered.size, 100);
});

test('a document shorter than one segment gives one segment holding all of it', () => {
  const tok = new CharTokenizer();
  const ids = documentTokens(tok, 'T', 'tiny');
  assert.equal(tok.decode(ids), 'T\ntiny');
  const segs = makeSegments(ids, 32, 12);
  assert.equal(segs.length, 1);
  assert.deepEqual(segs[0].ids, ids);
});

test('documentTokens uses title + "\\n" + document without special tokens (stories260K tokenizer)', (t) => {
  if (!requireShared(t, 'models/stories260K')) return;
  const tok = SentencePieceTokenizer.fromLlama2cFile(sharedPath('models/stories260K/tok512.bin'));
  const ids = documentTokens(tok, 'Lily', 'Lily went to the park. She saw a dog.');
  assert.ok(!ids.includes(tok.bosId ?? -1) && !ids.includes(tok.eosId ?? -1));
  assert.equal(tok.decode(ids).trimStart(), 'Lily\nLily went to the park. She saw a dog.');
  const lengths = liftLengths(64);
  const segs = makeSegments(ids, lengths.segmentLength, lengths.stride);
  assert.equal(segs.length, Math.ceil(ids.length / lengths.stride));
});

test('a long document is tokenized in pieces with the ids of one encode call; the body index is exact', async (t) => {
  const { requireShared, sharedPath } = await import('../helpers/shared.js');
  if (!requireShared(t, 'models/stories260K') || !requireShared(t, 'tokenizers/smollm2')) return;
  const { readFileSync } = await import('node:fs');
  const { loadModelFromPath } = await import('../../src/model/load.js');
  const { HFTokenizer } = await import('../../src/text/hf-tokenizer.js');
  const { documentTokenSteps, encodeAfter, encodeStart } = await import('../../src/lift/tokens.js');
  const { drainSync } = await import('../../src/lift/pace.js');
  const llama2c = loadModelFromPath(sharedPath('models/stories260K/stories260K.bin'));
  const smol = HFTokenizer.fromFiles(sharedPath('tokenizers/smollm2/tokenizer.json'), sharedPath('tokenizers/smollm2/tokenizer_config.json'));
  // 150 kB: several 16k-character pieces; the middle has a 40 kB line without newlines (cuts fall back to spaces).
  const stories = readFileSync(sharedPath('data/tinystories-valid-sample/tinystories_val.txt'), 'utf8');
  const body = stories.slice(0, 60_000) + stories.slice(60_000, 100_000).replace(/\n/g, ' ') + stories.slice(100_000, 150_000);
  for (const tok of [llama2c.tokenizer, smol]) {
    const r = drainSync(documentTokenSteps(tok, 'Stories\n', body));
    let steps = 0;
    for (const _ of documentTokenSteps(tok, 'Stories\n', body)) steps++; // one progress point per piece
    assert.ok(steps >= 5, `pieces: ${steps}`);
    assert.deepEqual(r.ids, encodeStart(tok, `Stories\n${body}`));
    assert.ok(r.body !== null);
    assert.deepEqual(r.ids.slice(r.body), encodeAfter(tok, body));
  }
  llama2c.model.dispose();
});
