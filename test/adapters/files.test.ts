// Adapter files: save → load gives identical logits for LoRA (PEFT layout) and Gated Memory (docs/method.md §4);
// loading onto another base is refused naming both ids; damaged files fail with a FormatError naming the
// file and tensor; adapter_config.json carries what PEFT's LoraConfig reads; folders are replaced atomically.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tidy, memoryStats } from '../../src/engine/index.js';
import type { LlamaModel } from '../../src/model/llama.js';
import { loadModelFromPath } from '../../src/model/load.js';
import { FormatError } from '../../src/io/errors.js';
import { readSafetensors, writeSafetensors } from '../../src/io/safetensors.js';
import { LoraAdapter, ALL_LINEAR } from '../../src/adapters/lora.js';
import { GatedMemoryAdapter } from '../../src/adapters/gated-memory.js';
import { seededRandom } from '../../src/adapters/init.js';
import {
  saveAdapter, loadAdapter, configHash, contentHash, BaseModelMismatchError, NonFiniteAdapterError, type Adapter,
  MANIFEST_FILE, WEIGHTS_FILE, PEFT_CONFIG_FILE, GATED_MEMORY_CONFIG_FILE,
} from '../../src/adapters/files.js';
import { requireShared, sharedPath } from '../helpers/shared.js';
import { tinyConfig, tinyModel, randomIds } from './tiny.js';

const root = mkdtempSync(join(tmpdir(), 'lift-adapter-files-'));
after(() => rmSync(root, { recursive: true, force: true }));

const logits = (model: LlamaModel, ids: Int32Array, adapter: Adapter | null): Float32Array =>
  tidy(() => model.forward(ids, { adapter }).toArray());

/** Every trainable tensor gets random values, so a round trip that drops or swaps one shows in the logits. */
function scramble(a: Adapter, seed: number): void {
  const rand = seededRandom(seed);
  for (const p of a.parameters()) p.f32().forEach((_, i, d) => (d[i] = (2 * rand() - 1) * 0.3));
}

const base = (model: LlamaModel, id = model.id, revision: string | null = 'abc123') => ({ model, id, revision });

test('LoRA: save → load gives identical logits; PEFT adapter_config.json and tensor names', () => {
  const c = tinyConfig(), model = tinyModel(c), ids = randomIds(10, c.vocab_size);
  const lora = new LoraAdapter(model, { r: 4, lora_alpha: 8, target_modules: [...ALL_LINEAR, 'lm_head'] });
  scramble(lora, 1);
  const dir = join(root, 'lora');
  const written = saveAdapter(dir, lora, { base: base(model), document_sha256: 'ab'.repeat(32), recipe: { stage1: { epochs: 3 } }, metrics: { loss: 1.5 } });
  assert.deepEqual(readdirSync(dir).sort(), [PEFT_CONFIG_FILE, WEIGHTS_FILE, MANIFEST_FILE].sort());

  const cfg = JSON.parse(readFileSync(join(dir, PEFT_CONFIG_FILE), 'utf8'));
  // What PEFT's LoraConfig / PeftConfig.from_pretrained read for a plain LoRA on a causal LM.
  assert.equal(cfg.peft_type, 'LORA');
  assert.equal(cfg.task_type, 'CAUSAL_LM');
  assert.equal(cfg.r, 4);
  assert.equal(cfg.lora_alpha, 8);
  assert.deepEqual([...cfg.target_modules].sort(), [...ALL_LINEAR, 'lm_head'].sort());
  assert.equal(cfg.base_model_name_or_path, 'tiny-random');
  assert.equal(cfg.revision, 'abc123');
  assert.equal(cfg.bias, 'none');
  assert.equal(cfg.fan_in_fan_out, false);
  assert.equal(cfg.lora_dropout, 0);
  assert.equal(cfg.use_rslora, false);
  assert.equal(cfg.use_dora, false);
  assert.equal(cfg.inference_mode, true);
  assert.equal(cfg.modules_to_save, null);
  assert.equal(cfg.layers_to_transform, null);

  const st = readSafetensors(join(dir, WEIGHTS_FILE));
  assert.equal(st.tensors.size, 2 * (7 * c.num_hidden_layers + 1));
  const qa = st.tensors.get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight');
  const db = st.tensors.get('base_model.model.model.layers.1.mlp.down_proj.lora_B.weight');
  const hb = st.tensors.get('base_model.model.lm_head.lora_B.weight');
  assert.deepEqual(qa?.shape, [4, c.hidden_size]);
  assert.deepEqual(db?.shape, [c.hidden_size, 4]);
  assert.deepEqual(hb?.shape, [c.vocab_size, 4]);
  for (const n of st.tensors.keys()) assert.ok(!n.includes('.default.'), `${n}: PEFT saves without the adapter name`);

  const m = JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8'));
  assert.equal(m.format_version, 2);
  assert.equal(m.adapter, 'lora');
  assert.deepEqual(m.base_model, { id: 'tiny-random', revision: 'abc123', config_sha256: configHash(c), content_sha256: contentHash(model) });
  assert.equal(m.document_sha256, 'ab'.repeat(32));
  assert.deepEqual(m.recipe, { stage1: { epochs: 3 } });
  assert.deepEqual(m.metrics, { loss: 1.5 });
  assert.deepEqual(m, written);

  const { adapter, manifest } = loadAdapter(dir, base(model));
  assert.ok(adapter instanceof LoraAdapter);
  assert.deepEqual(manifest, written);
  assert.deepEqual(logits(model, ids, adapter), logits(model, ids, lora));
  assert.ok(Math.max(...Array.from(logits(model, ids, adapter), (v, i) => Math.abs(v - logits(model, ids, null)[i]))) > 1e-3);
  adapter.dispose();
  lora.dispose();
  model.dispose();
});

test('Gated Memory (with biases and head LoRA): save → load gives identical logits', () => {
  const c = tinyConfig({ architectures: ['Qwen2ForCausalLM'] }), model = tinyModel(c), ids = randomIds(10, c.vocab_size);
  const gm = new GatedMemoryAdapter(model, { memoryMultiplier: 3, init: 'zero-output', seed: 5 });
  scramble(gm, 2);
  const dir = join(root, 'gm');
  saveAdapter(dir, gm, { base: base(model) });
  assert.deepEqual(readdirSync(dir).sort(), [GATED_MEMORY_CONFIG_FILE, WEIGHTS_FILE, MANIFEST_FILE].sort());
  const cfg = JSON.parse(readFileSync(join(dir, GATED_MEMORY_CONFIG_FILE), 'utf8'));
  assert.equal(cfg.memory_multiplier, 3);
  assert.equal(cfg.bias, true);
  assert.deepEqual(cfg.head_lora, { r: 2, lora_alpha: 4, target_modules: ['lm_head'] });
  const st = readSafetensors(join(dir, WEIGHTS_FILE));
  assert.deepEqual(st.tensors.get('model.layers.1.self_attn.gated_memory.mem_in.weight')?.shape, [c.num_attention_heads, c.head_dim, 3 * c.head_dim]);
  assert.deepEqual(st.tensors.get('model.layers.0.self_attn.gated_memory.gate_out.bias')?.shape, [c.num_attention_heads, 1]);

  const { adapter } = loadAdapter(dir, base(model));
  assert.ok(adapter instanceof GatedMemoryAdapter);
  assert.equal(adapter.parameterCount(), gm.parameterCount());
  assert.deepEqual(logits(model, ids, adapter), logits(model, ids, gm));
  assert.deepEqual(adapter.lastGates(), gm.lastGates());
  adapter.dispose();
  gm.dispose();
  model.dispose();
});

test("Gated Memory with memory_input 'layer': save → load gives identical logits; a config without the key is the paper's form", () => {
  const c = tinyConfig(), model = tinyModel(c), ids = randomIds(10, c.vocab_size);
  const gm = new GatedMemoryAdapter(model, { memoryInput: 'layer', seed: 6 });
  scramble(gm, 3);
  const dir = join(root, 'gm-layer');
  saveAdapter(dir, gm, { base: base(model) });
  const cfgFile = join(dir, GATED_MEMORY_CONFIG_FILE), cfg = JSON.parse(readFileSync(cfgFile, 'utf8'));
  assert.equal(cfg.memory_input, 'layer');
  const H = c.num_attention_heads, D = c.head_dim;
  const st = readSafetensors(join(dir, WEIGHTS_FILE));
  assert.deepEqual(st.tensors.get('model.layers.0.self_attn.gated_memory.mem_in.weight')?.shape, [H * 2 * D, H * D]);
  assert.deepEqual(st.tensors.get('model.layers.0.self_attn.gated_memory.gate_in.weight')?.shape, [H * gm.gateHidden, H * D]);
  assert.deepEqual(st.tensors.get('model.layers.0.self_attn.gated_memory.mem_out.weight')?.shape, [H, 2 * D, D]);
  const { adapter } = loadAdapter(dir, base(model));
  assert.ok(adapter instanceof GatedMemoryAdapter);
  assert.equal(adapter.options.memoryInput, 'layer');
  assert.deepEqual(logits(model, ids, adapter), logits(model, ids, gm));
  adapter.dispose();
  // Without the key (files from before the variant): the per-head form, whose shapes this file's do not fit.
  delete cfg.memory_input;
  writeFileSync(cfgFile, JSON.stringify(cfg));
  assert.throws(() => loadAdapter(dir, base(model)), /mem_in\.weight.*shape \[\d+, \d+, \d+\]/);
  cfg.memory_input = 'rows';
  writeFileSync(cfgFile, JSON.stringify(cfg));
  assert.throws(() => loadAdapter(dir, base(model)), /"memory_input".*"head" or "layer"/);
  gm.dispose();
  model.dispose();
});

test('loading onto a different base model is refused, naming both ids; the same weights under another id or path load', () => {
  const c = tinyConfig(), model = tinyModel(c, 1, 'org/base-a');
  const gm = new GatedMemoryAdapter(model);
  const dir = join(root, 'mismatch');
  saveAdapter(dir, gm, { base: base(model) });
  const other = tinyModel(tinyConfig({ num_hidden_layers: 3 }), 1, 'org/base-b');
  assert.throws(() => loadAdapter(dir, base(other)), (e: Error) => {
    assert.ok(e instanceof BaseModelMismatchError, String(e));
    assert.match(e.message, /org\/base-a/);
    assert.match(e.message, /org\/base-b/);
    assert.match(e.message, /config sha256 differs/);
    return true;
  });
  // The same weights under another id, path or revision (a moved or copied file): the adapter loads.
  for (const ref of [{ model, id: '/elsewhere/base-a', revision: null }, { model, id: 'org/base-a', revision: 'fff' }]) loadAdapter(dir, ref).adapter.dispose();
  // The same config and id, other weights (another checkpoint of the architecture): refused, naming the weights.
  const retrained = tinyModel(c, 2, 'org/base-a');
  assert.throws(() => loadAdapter(dir, base(retrained)), /the weights differ \(content sha256/);
  assert.throws(() => loadAdapter(dir, base(other), { ignoreId: true }), BaseModelMismatchError, 'the config hash is always checked');
  // A manifest from before content hashes falls back to the id and revision.
  const mf = join(dir, MANIFEST_FILE), old = JSON.parse(readFileSync(mf, 'utf8'));
  delete old.base_model.content_sha256;
  old.format_version = 1;
  writeFileSync(mf, JSON.stringify(old));
  assert.throws(() => loadAdapter(dir, { model, id: 'org/base-c', revision: 'abc123' }), /the ids differ/);
  loadAdapter(dir, { model, id: '/elsewhere/base-a', revision: null }, { ignoreId: true }).adapter.dispose();
  retrained.dispose();
  other.dispose();
  gm.dispose();
  model.dispose();
});

test('damaged adapter files fail with a FormatError naming the file and the tensor', () => {
  const c = tinyConfig(), model = tinyModel(c);
  const lora = new LoraAdapter(model, { r: 2, lora_alpha: 4, target_modules: ['q_proj', 'v_proj'] });
  const fresh = (name: string): string => {
    const d = join(root, name);
    saveAdapter(d, lora, { base: base(model) });
    return d;
  };
  const fails = (dir: string, re: RegExp): void => {
    assert.throws(() => loadAdapter(dir, base(model)), (e: Error) => {
      assert.ok(e instanceof FormatError, `${e.name}: ${e.message}`);
      assert.match(e.message, re);
      return true;
    });
  };
  // Truncated weights.
  let d = fresh('truncated');
  truncateSync(join(d, WEIGHTS_FILE), statSync(join(d, WEIGHTS_FILE)).size - 10);
  fails(d, /adapter_model\.safetensors: .*expected/);
  // Garbage header.
  d = fresh('garbage');
  writeFileSync(join(d, WEIGHTS_FILE), Buffer.from('not a safetensors file at all'));
  fails(d, /adapter_model\.safetensors: header/);
  // A tensor with the wrong shape, one missing, one unexpected.
  const [A, B] = lora.modules.get('model.layers.0.self_attn.q_proj')!;
  const entries = [...lora.modules].flatMap(([p, [a, b]]) => [
    { name: `base_model.model.${p}.lora_A.weight`, dtype: 'F32' as const, shape: [...a.shape], data: a.f32() },
    { name: `base_model.model.${p}.lora_B.weight`, dtype: 'F32' as const, shape: [...b.shape], data: b.f32() },
  ]);
  const qA = 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight';
  d = fresh('wrong-shape');
  writeSafetensors(join(d, WEIGHTS_FILE), entries.map((e) => (e.name === qA ? { ...e, shape: [A.shape[1], A.shape[0]] } : e)));
  fails(d, /adapter_model\.safetensors: tensor "base_model\.model\.model\.layers\.0\.self_attn\.q_proj\.lora_A\.weight": expected shape \[2, 32\], got \[32, 2\]/);
  d = fresh('missing');
  writeSafetensors(join(d, WEIGHTS_FILE), entries.filter((e) => e.name !== qA));
  fails(d, /q_proj\.lora_A\.weight": expected shape \[2, 32\], missing/);
  d = fresh('unexpected');
  writeSafetensors(join(d, WEIGHTS_FILE), [...entries, { name: 'base_model.model.model.layers.0.self_attn.k_proj.lora_B.weight', dtype: 'F32', shape: [...B.shape], data: B.f32() }]);
  fails(d, /k_proj\.lora_B\.weight": expected only this adapter's .* found an unexpected tensor/);
  // Broken or unsupported JSON.
  d = fresh('manifest');
  writeFileSync(join(d, MANIFEST_FILE), '{"format_version": 1, "adapter": "lora"');
  fails(d, /lift_manifest\.json: JSON: expected valid JSON/);
  d = fresh('dora');
  const cfg = JSON.parse(readFileSync(join(d, PEFT_CONFIG_FILE), 'utf8'));
  writeFileSync(join(d, PEFT_CONFIG_FILE), JSON.stringify({ ...cfg, use_dora: true }));
  fails(d, /adapter_config\.json: "use_dora": expected false/);
  d = fresh('no-weights');
  rmSync(join(d, WEIGHTS_FILE));
  fails(d, /adapter_model\.safetensors: file: .*not found/);
  lora.dispose();
  model.dispose();
});

test('saving replaces an adapter only with force, atomically, and leaves no temp folders, also when it fails', () => {
  const c = tinyConfig(), model = tinyModel(c), parent = join(root, 'atomic');
  const dir = join(parent, 'adapter');
  const a = new LoraAdapter(model, { r: 2, lora_alpha: 4, target_modules: ['o_proj'] });
  saveAdapter(dir, a, { base: base(model), metrics: { v: 1 } });
  const b = new GatedMemoryAdapter(model);
  assert.throws(() => saveAdapter(dir, b, { base: base(model), metrics: { v: 2 } }), /already holds a LIFT adapter folder; pass --force/);
  assert.equal(loadAdapterManifest(dir).metrics.v, 1, 'refused: the first adapter is untouched');
  saveAdapter(dir, b, { base: base(model), metrics: { v: 2 } }, { force: true, files: { 'document.txt': 'the text' } });
  assert.deepEqual(readdirSync(parent), ['adapter']);
  assert.ok(!readdirSync(dir).includes(PEFT_CONFIG_FILE), 'the old folder is replaced, not merged');
  assert.equal(readFileSync(join(dir, 'document.txt'), 'utf8'), 'the text', 'extra files land in the same atomic step');
  const broken = new LoraAdapter(model, { r: 2, lora_alpha: 4, target_modules: ['o_proj'] });
  broken.dispose(); // its tensors can no longer be read: writing fails halfway
  assert.throws(() => saveAdapter(dir, broken, { base: base(model) }, { force: true }), /disposed/);
  assert.deepEqual(readdirSync(parent), ['adapter'], 'no temp folder left behind');
  const { adapter, manifest } = loadAdapter(dir, base(model));
  assert.deepEqual(manifest.metrics, { v: 2 }, 'the previous adapter is intact');
  // A file or a folder that is not an adapter is never replaced, force or not.
  writeFileSync(join(parent, 'notes.txt'), 'mine');
  assert.throws(() => saveAdapter(join(parent, 'notes.txt'), a, { base: base(model) }, { force: true }), /never overwrites/);
  assert.equal(readFileSync(join(parent, 'notes.txt'), 'utf8'), 'mine');
  adapter.dispose();
  a.dispose();
  b.dispose();
  model.dispose();
  assert.equal(memoryStats().liveBuffers, 0);
});

test('non-finite adapters are never written nor loaded; lora_alpha that overflows is refused', () => {
  const c = tinyConfig(), model = tinyModel(c);
  const lora = new LoraAdapter(model, { r: 2, lora_alpha: 4, target_modules: ['q_proj', 'o_proj'] });
  const dir = join(root, 'nonfinite');
  const [A] = [...lora.modules].find(([path]) => path.includes('o_proj'))![1];
  A.f32()[3] = NaN;
  assert.throws(() => saveAdapter(dir, lora, { base: base(model) }), (e: Error) => e instanceof NonFiniteAdapterError && /NaN or infinite values in .*o_proj/.test(e.message));
  assert.ok(!existsSync(dir), 'nothing written');
  A.f32()[3] = 0;
  saveAdapter(dir, lora, { base: base(model) });
  // One NaN written into the file by hand: loading names the tensor.
  const st = readSafetensorsEntries(join(dir, WEIGHTS_FILE));
  const name = st.find((n) => n.includes('o_proj.lora_B'))!;
  poke(join(dir, WEIGHTS_FILE), name, Infinity);
  assert.throws(() => loadAdapter(dir, base(model)), (e: Error) => e instanceof NonFiniteAdapterError && e.message.includes('adapter_model.safetensors') && /o_proj/.test(e.message));
  const cfg = JSON.parse(readFileSync(join(dir, PEFT_CONFIG_FILE), 'utf8'));
  writeFileSync(join(dir, PEFT_CONFIG_FILE), JSON.stringify({ ...cfg, lora_alpha: 1e38 }));
  assert.throws(() => loadAdapter(dir, base(model)), /adapter_config\.json: "lora_alpha": expected a finite number with \|lora_alpha \/ r\| ≤ 10000/);
  lora.dispose();
  model.dispose();
});

test('stories260K: Gated Memory and LoRA round trips on a real checkpoint', (t) => {
  if (!requireShared(t, 'models/stories260K')) return;
  const loaded = loadModelFromPath(sharedPath('models/stories260K/stories260K.bin'));
  const ids = Int32Array.from([1, 403, 407, 261, 378, 280, 395, 430, 261]);
  for (const make of [() => new GatedMemoryAdapter(loaded.model, { seed: 3 }), () => new LoraAdapter(loaded.model, { r: 4, lora_alpha: 8, target_modules: ALL_LINEAR })]) {
    const ad = make();
    scramble(ad, 9);
    const dir = join(root, `stories-${ad.kind}`);
    saveAdapter(dir, ad, { base: loaded });
    const back = loadAdapter(dir, loaded);
    assert.equal(back.manifest.base_model.id, loaded.id);
    assert.deepEqual(logits(loaded.model, ids, back.adapter), logits(loaded.model, ids, ad));
    back.adapter.dispose();
    ad.dispose();
  }
  loaded.model.dispose();
});

function loadAdapterManifest(dir: string): { metrics: Record<string, unknown> } {
  return JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8'));
}
function readSafetensorsEntries(file: string): string[] {
  return [...readSafetensors(file).tensors.keys()];
}
/** Overwrites the first float of tensor `name` in a safetensors file with `value`. */
function poke(file: string, name: string, value: number): void {
  const e = readSafetensors(file).tensors.get(name)!;
  const buf = readFileSync(file);
  buf.writeFloatLE(value, e.byteOffset);
  writeFileSync(file, buf);
}
