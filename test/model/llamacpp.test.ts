// llama.cpp (through node-llama-cpp's prebuilt CPU binaries) as an independent reference: it must agree with our
// forward pass on stories260K.gguf at every position, with our GGUF writer's output, and with our tokenizer.
// node-llama-cpp exposes next-token probabilities (softmax of the logits), not raw logits, so we compare
// log-probabilities: log p = logit - logsumexp(logits), i.e. the logits up to a per-position shift.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireShared, sharedPath } from '../helpers/shared.js';
import { loadModelFromPath } from '../../src/model/load.js';
import { convertModel } from '../../src/model/convert.js';

const DIR = 'models/stories260K';
const PROMPT = 'Once upon a time, there was a little dog named Max. He liked to run in the park with his friend';
/** Largest |Δ log p| vs llama.cpp (docs/correctness.md; 1.4e-5 seen). */
const TOL = 3e-5;

import { compare, llamaCppLogProbs, llamaCppTokens, ourLogProbs, ourTokens, requireLlama } from '../helpers/llamacpp.js';

test('llama.cpp and LIFT.ts agree on stories260K.gguf log-probabilities at every position (3e-5)', async (t) => {
  if (!requireShared(t, DIR)) return;
  const llama = await requireLlama(t);
  if (!llama) return;
  const path = sharedPath(DIR, 'stories260K.gguf');
  const ids = ourTokens(path, PROMPT);
  const theirs = await llamaCppLogProbs(llama, path, ids);
  assert.equal(theirs.vocab, 512);
  const d = compare(ourLogProbs(path, ids), theirs.logp);
  t.diagnostic(`${ids.length} positions: max |Δ log p| all positions ${d.all.toExponential(2)}, last position ${d.last.toExponential(2)}`);
  assert.ok(d.all <= TOL, `max |Δ log p| ${d.all}`);
});

test('llama.cpp loads our GGUF writer output (the .bin converted) and agrees with the .bin', async (t) => {
  if (!requireShared(t, DIR)) return;
  const llama = await requireLlama(t);
  if (!llama) return;
  const dir = mkdtempSync(join(tmpdir(), 'lift-llamacpp-'));
  try {
    const g = join(dir, 'stories260K-lift.gguf');
    convertModel(sharedPath(DIR, 'stories260K.bin'), 'gguf', g);
    const ids = ourTokens(sharedPath(DIR, 'stories260K.bin'), PROMPT);
    const d = compare(ourLogProbs(sharedPath(DIR, 'stories260K.bin'), ids), (await llamaCppLogProbs(llama, g, ids)).logp);
    t.diagnostic(`converted GGUF in llama.cpp vs our .bin: max |Δ log p| ${d.all.toExponential(2)}`);
    assert.ok(d.all <= TOL, `max |Δ log p| ${d.all}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('llama.cpp tokenizes like our GGUF tokenizer', async (t) => {
  if (!requireShared(t, DIR)) return;
  const llama = await requireLlama(t);
  if (!llama) return;
  const path = sharedPath(DIR, 'stories260K.gguf');
  const ours = loadModelFromPath(path);
  ours.model.dispose();
  const strings = [
    'Once upon a time', 'Hello world', ' leading and  double  spaces ', 'digits 12345 and 3.14', 'tabs\tand\nnew\n\nlines',
    'café naïve über', 'Ελληνικά 中文 русский', 'emoji 😀👍🏽🇫🇷', 'Tom’s “quote” — dash…', 'THE END!!!',
  ];
  const theirs = await llamaCppTokens(llama, path, strings);
  strings.forEach((s, i) => assert.deepEqual(ours.tokenizer.encode(s, { bos: false }), theirs.ids[i], JSON.stringify(s)));
  assert.equal(theirs.bos, ours.tokenizer.bosId);
  assert.equal(theirs.eos, ours.tokenizer.eosId);
});
