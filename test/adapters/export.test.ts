// Adapters that leave LIFT.ts, checked by readers we did not write: llama.cpp (node-llama-cpp) runs the base GGUF
// with our exported LoRA GGUF, and our merged GGUF, and must give our log-probabilities with the adapter; the
// PEFT files of an adapter trained on an interleaved (llama2.c/GGUF) base must give, under Hugging Face's
// rotate-half arithmetic in PyTorch (scripts/fixtures/peft_reference.py → test/fixtures/), the logits we compute.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireShared, sharedPath } from '../helpers/shared.js';
import { compare, llamaCppLogProbs, ourLogProbs, requireLlama } from '../helpers/llamacpp.js';
import { decode, loadFixture, type Encoded } from '../helpers/fixtures.js';
import { PEFT_CASE, peftCaseAdapter } from '../helpers/peft-case.js';
import { tidy } from '../../src/engine/index.js';
import { loadModelFromPath } from '../../src/model/load.js';
import { convertModel, writeConverted } from '../../src/model/convert.js';
import { exportGgufLora, mergedModel, UnsupportedAdapterError } from '../../src/adapters/export.js';
import { loadAdapter, saveAdapter, WEIGHTS_FILE } from '../../src/adapters/files.js';
import { GatedMemoryAdapter } from '../../src/adapters/gated-memory.js';

const DIR = 'models/stories260K';
const PROMPT = 'Once upon a time, there was a little dog named Max. He liked to run in the park';
/** Largest |Δ log p| of our adapter vs llama.cpp with the exported LoRA GGUF (docs/correctness.md; 3.7e-5 seen). */
const TOL = 1e-4;
const root = mkdtempSync(join(tmpdir(), 'lift-export-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('llama.cpp with our LoRA GGUF gives our log-probabilities, from an interleaved (GGUF) and a rotate-half (HF) base', async (t) => {
  if (!requireShared(t, DIR)) return;
  const llama = await requireLlama(t);
  if (!llama) return;
  const gguf = sharedPath(DIR, 'stories260K.gguf');
  const hf = join(root, 'hf');
  convertModel(gguf, 'hf', hf);
  for (const [name, basePath] of [['gguf', gguf], ['hf', hf]]) {
    const loaded = loadModelFromPath(basePath);
    const ids = loaded.tokenizer.encode(PROMPT);
    const lora = peftCaseAdapter(loaded.model);
    const out = join(root, `lora-${name}.gguf`);
    exportGgufLora(lora, loaded.model, out, { from: name });
    const ours = ourLogProbs(loaded.model, ids, lora);
    const without = ourLogProbs(loaded.model, ids);
    const theirs = (await llamaCppLogProbs(llama, gguf, ids, out)).logp;
    const d = compare(ours, theirs), effect = compare(ours, without);
    t.diagnostic(`${name} base: llama.cpp + LoRA GGUF vs ours + adapter: max |Δ log p| ${d.all.toExponential(2)} (the adapter itself moves log p by ${effect.all.toFixed(2)})`);
    assert.ok(effect.all > 0.5, 'the adapter changes the output (else the comparison proves nothing)');
    assert.ok(d.all <= TOL, `${name}: max |Δ log p| ${d.all}`);
    lora.dispose();
    loaded.model.dispose();
  }
});

test('llama.cpp on the merged GGUF gives our log-probabilities with the adapter; merged HF folder loads back equal', async (t) => {
  if (!requireShared(t, DIR)) return;
  const llama = await requireLlama(t);
  if (!llama) return;
  const loaded = loadModelFromPath(sharedPath(DIR, 'stories260K.bin'));
  const ids = loaded.tokenizer.encode(PROMPT);
  const lora = peftCaseAdapter(loaded.model);
  const ours = ourLogProbs(loaded.model, ids, lora);
  const { merged, dispose } = mergedModel(lora, loaded);
  const g = join(root, 'merged.gguf'), h = join(root, 'merged-hf');
  writeConverted(merged, 'gguf', g, { inputs: [], from: 'test' });
  writeConverted(merged, 'hf', h, { inputs: [], from: 'test' });
  dispose();
  const d = compare(ours, (await llamaCppLogProbs(llama, g, ids)).logp);
  t.diagnostic(`merged GGUF in llama.cpp vs ours + adapter: max |Δ log p| ${d.all.toExponential(2)}`);
  assert.ok(d.all <= TOL, `max |Δ log p| ${d.all}`);
  const back = compare(ours, ourLogProbs(h, ids));
  assert.ok(back.all <= TOL, `merged HF folder: max |Δ log p| ${back.all}`);
  lora.dispose();
  loaded.model.dispose();
});

test('PEFT files of a LoRA trained on an interleaved base match Hugging Face + PEFT arithmetic in PyTorch', (t) => {
  if (!requireShared(t, DIR)) return;
  const fx = loadFixture<{ input_ids: number[]; adapter_sha256: string; logits: Encoded; logits_without_adapter: Encoded }>('peft_lora_stories260k.json');
  const loaded = loadModelFromPath(sharedPath(DIR, PEFT_CASE.model));
  const lora = peftCaseAdapter(loaded.model);
  const dir = join(root, 'peft');
  saveAdapter(dir, lora, { base: loaded });
  // PyTorch computed the fixture's logits from the files saveAdapter wrote then: it must write the same bytes now.
  assert.equal(createHash('sha256').update(readFileSync(join(dir, WEIGHTS_FILE))).digest('hex'), fx.adapter_sha256, 'adapter_model.safetensors as PyTorch read it');
  // Loaded back onto the interleaved base: the rows return to its order (round trip through the rotate-half files).
  const back = loadAdapter(dir, loaded).adapter;
  const logits = tidy(() => loaded.model.forward(Int32Array.from(fx.input_ids), { adapter: back }).toArray());
  const base = tidy(() => loaded.model.forward(Int32Array.from(fx.input_ids)).toArray());
  const want = decode(fx.logits), plain = decode(fx.logits_without_adapter);
  let d = 0, d0 = 0, effect = 0;
  for (let i = 0; i < want.length; i++) {
    d = Math.max(d, Math.abs(logits[i] - want[i]));
    d0 = Math.max(d0, Math.abs(base[i] - plain[i]));
    effect = Math.max(effect, Math.abs(want[i] - plain[i]));
  }
  t.diagnostic(`max |Δ logit| vs PyTorch: ${d.toExponential(2)} with the adapter (its effect ${effect.toFixed(2)}), ${d0.toExponential(2)} without`);
  assert.ok(effect > 0.5, 'the adapter changes the logits');
  assert.ok(d0 <= 5e-5 && d <= 5e-5, `max |Δ logit| ${d} (without adapter ${d0})`); // docs/correctness.md (1.7e-5 seen)
  back.dispose();
  lora.dispose();
  loaded.model.dispose();
});

test('Gated Memory adapters are refused by export and merge, saying why', (t) => {
  if (!requireShared(t, DIR)) return;
  const loaded = loadModelFromPath(sharedPath(DIR, 'stories260K.bin'));
  const gm = new GatedMemoryAdapter(loaded.model);
  assert.throws(() => exportGgufLora(gm, loaded.model, join(root, 'gm.gguf'), { from: 'x' }), (e: Error) => e instanceof UnsupportedAdapterError && /Gated Memory.*absorb again with --adapter lora/s.test(e.message));
  assert.throws(() => mergedModel(gm, loaded), UnsupportedAdapterError);
  gm.dispose();
  loaded.model.dispose();
});
