// The GGUF issue's "done when", as a user runs it: a Q4_K_M SmolLM2-shaped GGUF with SmolLM2's byte-level BPE
// vocabulary (written by `lift convert --type q4_k_m --tokenizer tokenizer.json` from a random f32 model) loads,
// absorbs a document and answers through `lift`; `lift export --to gguf-lora` turns the adapter into a file that
// llama.cpp (node-llama-cpp) runs on the same quantized base with our log-probabilities.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireShared, sharedPath } from '../helpers/shared.js';
import { compare, llamaCppLogProbs, ourLogProbs, requireLlama } from '../helpers/llamacpp.js';
import { placeholderVocab, writeRandomModel } from '../helpers/random-gguf.js';
import { readGGUF } from '../../src/io/gguf.js';
import { loadModelFromPath } from '../../src/model/load.js';
import { loadAdapter } from '../../src/adapters/files.js';
import { buildOnce, lift, tempDir } from './helpers.js';

before(() => buildOnce());

const DOC = [
  'The lighthouse keeper of Varnholm kept a logbook in green ink. Every evening at 19:40 she climbed 212 steps.',
  'Her cat, a grey tom named Pepperkorn, slept on the lamp room\'s warm brass rail. 🐈 The ships answered with three horns.',
  'In winter the fjord froze 40 cm thick, and the keeper walked to the village of Østby to buy coffee, flour and lamp oil.',
].join(' ');

test('a Q4_K_M SmolLM2-shaped byte-level BPE GGUF absorbs and answers through lift, and its exported LoRA runs in llama.cpp with our log-probabilities', async (t) => {
  if (!requireShared(t, 'tokenizers/smollm2/tokenizer.json')) return;
  const llama = await requireLlama(t);
  if (!llama) return;
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  // SmolLM2-135M's widths and vocabulary, 2 layers: the f32 file carries a placeholder vocabulary, the
  // conversion attaches the real one and quantizes as llama-quantize's Q4_K_M mix does.
  const f32 = join(dir, 'smol-f32.gguf'), q = join(dir, 'smol-q4_k_m.gguf');
  writeRandomModel(f32, { C: 576, I: 1536, L: 2, NH: 9, KVH: 3, V: 49152, tied: true }, placeholderVocab(49152));
  const c = lift(['convert', '--model', f32, '--to', 'gguf', '--type', 'q4_k_m', '--tokenizer', sharedPath('tokenizers/smollm2/tokenizer.json'), '--out', q]);
  assert.equal(c.code, 0, c.stderr);
  const meta = readGGUF(q);
  assert.equal(meta.metadata['tokenizer.ggml.model'], 'gpt2');
  assert.equal(meta.metadata['tokenizer.ggml.pre'], 'smollm');
  assert.ok([...meta.tensors.values()].some((x) => x.dtype === 'Q4_K'), 'the file holds Q4_K blocks');

  const doc = join(dir, 'varnholm.txt'), out = join(dir, 'varnholm.lift');
  writeFileSync(doc, DOC);
  const a = lift(['absorb', doc, '--model', q, '--out', out, '--adapter', 'lora', '--lora-rank', '16', '--epochs', '3,16', '--qa', '6',
    '--batch-size', '4', '--lr', '3e-3', '--context-budget', '96', '--no-report'], { timeout: 600_000 });
  assert.equal(a.code, 0, a.stderr);
  const manifest = JSON.parse(readFileSync(join(out, 'lift_manifest.json'), 'utf8')) as { base_model: { content_sha256?: string } };
  assert.match(manifest.base_model.content_sha256 ?? '', /^[0-9a-f]{64}$/, 'the adapter names its quantized base by content');

  // The random base answers nothing (its first token is a run of spaces); after absorbing the document and the
  // builtin generator's QAs it answers a question of the document.json with the document's own words.
  const qa = (JSON.parse(readFileSync(join(out, 'document.json'), 'utf8')) as { qas: { question: string }[] }).qas[0];
  assert.ok(qa, 'the builtin generator wrote QAs');
  const before = lift(['ask', out, qa.question, '--model', q, '--max-tokens', '12', '--no-adapter']);
  assert.notEqual(before.code, 0, `the random base gives no answer: ${before.stdout}`);
  assert.match(before.stderr, /no answer/);
  const ask = lift(['ask', out, qa.question, '--model', q, '--max-tokens', '12', '--json']);
  assert.equal(ask.code, 0, ask.stderr);
  const { answer } = JSON.parse(ask.stdout) as { answer: string };
  t.diagnostic(`ask ${JSON.stringify(qa.question)} → ${JSON.stringify(answer)}`);
  const words = answer.split(/[\s,.]+/).filter(Boolean);
  assert.ok(words.length > 0 && words.every((w) => DOC.includes(w)), `the answer is made of the document's words: ${JSON.stringify(answer)}`);

  // Absorbing made the document more likely under the quantized base: the adapter learned it.
  const loaded = loadModelFromPath(q);
  const ids = loaded.tokenizer.encode(DOC);
  assert.ok(ids.length > 60 && ids.length < 256, `${ids.length} tokens`);
  const { adapter } = loadAdapter(out, { model: loaded.model, id: loaded.id, revision: loaded.revision });
  const withA = ourLogProbs(loaded.model, ids, adapter), without = ourLogProbs(loaded.model, ids);
  const nll = (lp: Float64Array[]) => -lp.slice(0, -1).reduce((s, row, i) => s + row[ids[i + 1]], 0) / (ids.length - 1);
  t.diagnostic(`document NLL under the Q4_K_M base: ${nll(without).toFixed(3)} → ${nll(withA).toFixed(3)} with the adapter`);
  assert.ok(nll(withA) < nll(without) - 0.5, `absorbing lowers the document's NLL: ${nll(without)} → ${nll(withA)}`);

  const g = join(dir, 'varnholm-lora.gguf');
  const e = lift(['export', out, '--to', 'gguf-lora', '--out', g]);
  assert.equal(e.code, 0, e.stderr);
  const theirs = (await llamaCppLogProbs(llama, q, ids, g)).logp;
  const theirsBase = (await llamaCppLogProbs(llama, q, ids)).logp;
  const d = compare(withA, theirs), effect = compare(withA, without), base = compare(without, theirsBase);
  t.diagnostic(`llama.cpp + exported LoRA vs ours + adapter on the Q4_K_M base: max |Δ log p| ${d.all.toExponential(2)}; ` +
    `base alone ${base.all.toExponential(2)}; the adapter moves log p by ${effect.all.toFixed(2)}`);
  // llama.cpp rounds activations to 8-bit blocks before quantized dot products (the base alone differs by about
  // as much): the same bound as the quantized-base test, and far under what the adapter itself changes.
  assert.ok(effect.all > 1, 'the adapter visibly changes the distributions (else the comparison proves nothing)');
  assert.ok(d.all <= 0.15 && d.all <= 0.1 * effect.all, `max |Δ log p| ${d.all} (adapter effect ${effect.all})`);
  adapter.dispose();
  loaded.model.dispose();
});
