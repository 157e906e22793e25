// Every JSON file the tool reads, fed the values broken tools and hand edits produce — null, [], {}, numbers,
// strings, wrong-typed fields (issue 11, item 4): each is refused with a FormatError that names the file (and the
// field where there is one), or, for the QA cache, ignored with a warning. Never an untyped "Cannot read
// properties of null", never silently accepted when the value changes what runs (tie_word_embeddings: "false").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { FormatError } from '../../src/io/errors.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { loadModelFromPath, type LoadedModel } from '../../src/model/load.js';
import { loadAdapter, MANIFEST_FILE } from '../../src/adapters/files.js';
import { readAbsorbed } from '../../src/lift/folder.js';
import { loadCheckpoint, checkpointPath } from '../../src/lift/checkpoint.js';
import { readQACache, sha256 } from '../../src/lift/qa/cache.js';
import { Tensor } from '../../src/engine/index.js';
import { HFTokenizer } from '../../src/text/hf-tokenizer.js';
import { requireShared } from '../helpers/shared.js';
import { makeFixtures, type Fixtures } from '../fuzz/fixtures.js';

/** Top-level values that are not the object any of these files holds. */
const NOT_OBJECTS: unknown[] = [null, [], 0, 42, -1.5, 'config', true, [{}]];

let shared: { dir: string; fx: Fixtures; base?: LoadedModel } | undefined;
function setup(): { dir: string; fx: Fixtures } {
  if (!shared) {
    const dir = mkdtempSync(join(tmpdir(), 'lift-bad-json-'));
    shared = { dir, fx: makeFixtures(join(dir, 'fx')) };
  }
  return shared;
}
test.after(() => {
  shared?.base?.model.dispose();
  if (shared) rmSync(shared.dir, { recursive: true, force: true });
});

/** A copy of a fixture folder with `name` replaced by `content` (an object is written as JSON). */
function folderWith(files: Record<string, Uint8Array>, name: string, content: unknown, tag: string): string {
  const dir = join(setup().dir, `${tag}-${Math.random().toString(36).slice(2)}`);
  mkdirSync(dir, { recursive: true });
  for (const [n, b] of Object.entries(files)) writeFileSync(join(dir, n), b);
  writeFileSync(join(dir, name), JSON.stringify(content) ?? 'null');
  return dir;
}
const json = (b: Uint8Array): Record<string, unknown> => JSON.parse(Buffer.from(b).toString('utf8')) as Record<string, unknown>;

/** `fn` must throw a FormatError whose message names `file` and each of `names`. */
function refused(fn: () => unknown, file: string, names: string[], what: string): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err !== undefined, `${what}: accepted`);
  assert.ok(err instanceof FormatError, `${what}: expected a FormatError, got ${(err as Error)?.stack ?? String(err)}`);
  assert.ok(err.message.includes(file), `${what}: "${err.message}" does not name ${file}`);
  for (const n of names) assert.ok(err.message.includes(n), `${what}: "${err.message}" does not name ${n}`);
}

/** `fn` may succeed or throw a FormatError naming `file`; nothing else. */
function okOrRefused(fn: () => unknown, file: string, what: string): void {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof FormatError, `${what}: expected success or a FormatError, got ${(e as Error)?.stack ?? String(e)}`);
    assert.ok(e.message.includes(file), `${what}: "${e.message}" does not name ${file}`);
  }
}

const load = (dir: string): void => loadModelFromPath(dir).model.dispose();

test('config.json: non-objects and wrong-typed fields are refused naming config.json and the key', (t) => {
  if (!requireShared(t, 'models/stories260K/tok512.bin')) return;
  const { fx } = setup();
  for (const v of NOT_OBJECTS) refused(() => load(folderWith(fx.hf.files, 'config.json', v, 'cfg')), 'config.json', [], `config.json = ${JSON.stringify(v)}`);
  refused(() => load(folderWith(fx.hf.files, 'config.json', {}, 'cfg')), 'config.json', ['architectures'], 'config.json = {}');
  const cfg = json(fx.hf.files['config.json']);
  const sizes = [[], {}, '8', -1, 1.5, true, 1e300];
  const wrong: Record<string, unknown[]> = {
    architectures: [null, [], {}, 'LlamaForCausalLM', [5]],
    hidden_size: sizes, intermediate_size: sizes, num_hidden_layers: sizes, num_attention_heads: sizes, vocab_size: sizes, max_position_embeddings: sizes,
    num_key_value_heads: [[], {}, '2', 1.5, 3], head_dim: [[], {}, '4', 1.5],
    rms_norm_eps: [[], {}, '1e-5', -1, 0], rope_theta: [[], {}, '10000', -1, 0],
    tie_word_embeddings: ['false', 0, 1, [], {}], attention_bias: ['true', 1, [], {}],
    bos_token_id: ['1', -1, 1.5, {}, [1]], eos_token_id: ['2', -1, 1.5, {}, [2, 'x']],
    rope_scaling: ['x', 5, [], { rope_type: 'yarn', factor: 2 }, { rope_type: 'linear' }, { rope_type: 'linear', factor: '2' }],
    hidden_act: ['gelu', 5, []],
  };
  for (const [key, values] of Object.entries(wrong)) {
    for (const v of values) {
      refused(() => load(folderWith(fx.hf.files, 'config.json', { ...cfg, [key]: v }, 'cfg')), 'config.json', [key], `${key} = ${JSON.stringify(v)}`);
    }
  }
  load(folderWith(fx.hf.files, 'config.json', { ...cfg, rope_scaling: null, bos_token_id: null, eos_token_id: [2], head_dim: null }, 'cfg')); // valid spellings
});

test('tokenizer.json and tokenizer_config.json: non-objects and broken parts are refused naming the file', (t) => {
  if (!requireShared(t, 'models/stories260K/tok512.bin')) return;
  const { fx } = setup();
  for (const v of [...NOT_OBJECTS, {}]) {
    refused(() => load(folderWith(fx.hf.files, 'tokenizer.json', v, 'tok')), 'tokenizer.json', [], `tokenizer.json = ${JSON.stringify(v)}`);
  }
  const tok = json(fx.hf.files['tokenizer.json']);
  const model = tok.model as Record<string, unknown>;
  const broken: [string, Record<string, unknown>][] = [
    ['model', { ...tok, model: null }], ['model', { ...tok, model: [] }], ['model', { ...tok, model: 5 }], ['model', { ...tok, model: 'BPE' }],
    ['model.vocab', { ...tok, model: { ...model, vocab: 5 } }], ['model.vocab', { ...tok, model: { ...model, vocab: 'x' } }],
    ['model.vocab[0]', { ...tok, model: { ...model, vocab: [1, 2] } }],
    ['model.vocab "a"', { ...tok, model: { ...model, vocab: { ...(model.vocab as object), a: 877221571 } } }], // once a minutes-long hang
    ['model.vocab "a"', { ...tok, model: { ...model, vocab: { ...(model.vocab as object), a: 'x' } } }],
    ['model.merges', { ...tok, model: { ...model, merges: 5 } }], ['model.merges', { ...tok, model: { ...model, merges: [5] } }],
    ['added_tokens[0].id', { ...tok, added_tokens: [{ id: 'x', content: '<z>' }] }],
    ['model.unk_token', { ...tok, model: { ...model, unk_token: '<nope>' } }], // unknown characters became `undefined` ids
  ];
  for (const [field, v] of broken) refused(() => load(folderWith(fx.hf.files, 'tokenizer.json', v, 'tok')), 'tokenizer.json', [field], `tokenizer.json with ${field} broken`);
  // Built directly (no file checks), the same vocabulary must not hand `undefined` ids to the model either.
  const direct = new HFTokenizer({ ...tok, model: { ...model, unk_token: '<nope>', byte_fallback: false } });
  assert.throws(() => direct.encode('a🦙b'), (e: unknown) => e instanceof FormatError && /every piece of the text to map to a token id/.test(e.message));
  for (const k of ['decoder', 'normalizer', 'pre_tokenizer', 'post_processor', 'added_tokens']) {
    for (const v of [5, 'x', [], {}, [null]]) okOrRefused(() => load(folderWith(fx.hf.files, 'tokenizer.json', { ...tok, [k]: v }, 'tok')), 'tokenizer.json', `${k} = ${JSON.stringify(v)}`);
  }

  for (const v of NOT_OBJECTS) {
    refused(() => load(folderWith(fx.hf.files, 'tokenizer_config.json', v, 'tc')), 'tokenizer_config.json', [], `tokenizer_config.json = ${JSON.stringify(v)}`);
  }
  const tc = json(fx.hf.files['tokenizer_config.json']);
  for (const [k, values] of Object.entries({ bos_token: [5, [], {}, null], eos_token: [5, [], {}], add_bos_token: ['yes', 5], chat_template: [5, [], {}] })) {
    for (const v of values) okOrRefused(() => load(folderWith(fx.hf.files, 'tokenizer_config.json', { ...tc, [k]: v }, 'tc')), 'tokenizer_config.json', `${k} = ${JSON.stringify(v)}`);
  }
});

test('adapter folders: lift_manifest.json, adapter_config.json, gated_memory_config.json and document.json', (t) => {
  if (!requireShared(t, 'models/stories260K/tok512.bin')) return;
  const s = setup();
  const base = (shared!.base ??= loadModelFromPath(s.fx.hf.dir));
  const ref = { model: base.model, id: 'tiny', revision: null };
  const loadIt = (dir: string): void => loadAdapter(dir, ref).adapter.dispose();
  for (const kind of ['lora', 'gm'] as const) {
    const files = s.fx.adapters.files[kind];
    const configFile = kind === 'lora' ? 'adapter_config.json' : 'gated_memory_config.json';
    for (const f of [MANIFEST_FILE, configFile]) {
      for (const v of [...NOT_OBJECTS, {}]) refused(() => loadIt(folderWith(files, f, v, kind)), f, [], `${kind} ${f} = ${JSON.stringify(v)}`);
    }
    const manifest = json(files[MANIFEST_FILE]);
    const bm = manifest.base_model as Record<string, unknown>;
    for (const [key, v] of [['format_version', 'x'], ['adapter', 5], ['base_model', null], ['base_model', []], ['base_model', 'tiny'], ['id', { ...bm, id: 5 }]] as const) {
      const content = key === 'id' ? { ...manifest, base_model: v } : { ...manifest, [key]: v };
      refused(() => loadIt(folderWith(files, MANIFEST_FILE, content, kind)), MANIFEST_FILE, [key], `${kind} manifest ${key} = ${JSON.stringify(v)}`);
    }
    const cfg = json(files[configFile]);
    const wrong: [string, unknown][] = kind === 'lora'
      ? [['r', '2'], ['r', 0], ['r', 1484438224], ['lora_alpha', 'x'], ['target_modules', 'q_proj'], ['target_modules', [5]], ['peft_type', 'X']]
      : [['memory_multiplier', '1'], ['memory_multiplier', 1e9], ['init', 5], ['head_lora', 'x'], ['head_lora', { r: '2', lora_alpha: 4 }], ['head_lora', { r: 1e9, lora_alpha: 4 }]];
    for (const [key, v] of wrong) {
      // r 1484438224 once reached the native allocator: an untyped "out of memory in a native kernel".
      refused(() => loadIt(folderWith(files, configFile, { ...cfg, [key]: v }, kind)), configFile, [key === 'head_lora' && typeof v === 'object' ? 'r' : key], `${kind} ${key} = ${JSON.stringify(v)}`);
    }
    for (const v of [...NOT_OBJECTS, {}]) refused(() => readAbsorbed(folderWith(files, 'document.json', v, kind)), 'document.json', [], `document.json = ${JSON.stringify(v)}`);
    const doc = json(files['document.json']);
    for (const [key, v] of [['title', 5], ['title', null], ['context_budget', '64'], ['context_budget', -1]] as const) {
      refused(() => readAbsorbed(folderWith(files, 'document.json', { ...doc, [key]: v }, kind)), 'document.json', [key], `document.json ${key} = ${JSON.stringify(v)}`);
    }
    refused(() => readAbsorbed(folderWith(files, MANIFEST_FILE, { ...manifest, base_model: { ...bm, id: 5 } }, kind)), MANIFEST_FILE, ['base_model'], 'manifest base_model.id = 5 (ask)');
  }
});

test('checkpoint trainer.json: non-objects and wrong-typed fields are a FormatError naming trainer.json', (t) => {
  if (!requireShared(t, 'models/stories260K/tok512.bin')) return;
  const { fx, dir } = setup();
  const tensors = () => fx.checkpoint.shapes.map((s) => Tensor.zeros(s.shape, { name: s.name }));
  const [p, m, v] = [tensors(), tensors(), tensors()];
  try {
    const state = json(fx.checkpoint.files['trainer.json']);
    const run = join(dir, 'run');
    const write = (content: unknown): void => {
      mkdirSync(checkpointPath(run), { recursive: true });
      writeFileSync(join(checkpointPath(run), 'state.safetensors'), fx.checkpoint.files['state.safetensors']);
      writeFileSync(join(checkpointPath(run), 'trainer.json'), JSON.stringify(content) ?? 'null');
    };
    for (const c of [...NOT_OBJECTS, {}, { ...state, step: 'x' }, { ...state, losses: 5 }, { ...state, fingerprint: 5 }]) {
      write(c);
      refused(() => loadCheckpoint(run, fx.checkpoint.fingerprint, p, m, v), 'trainer.json', [], `trainer.json = ${JSON.stringify(c).slice(0, 60)}`);
    }
  } finally {
    for (const x of [...p, ...m, ...v]) x.dispose();
  }
});

test('QA cache files: anything but a matching cache is a warning and a miss, never an error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lift-bad-json-qa-'));
  try {
    const expect = { documentSha256: sha256('doc'), generator: 'builtin', n: 1, seed: 0 };
    const good = { version: 1, ...expect, qas: [{ question: 'Q?', answer: 'A', evidence: [] }] };
    const file = join(dir, 'qa.json');
    for (const c of [...NOT_OBJECTS, {}, { ...good, qas: null }, { ...good, qas: [null] }, { ...good, qas: [{ question: 5 }] }, { ...good, version: '1' }]) {
      writeFileSync(file, JSON.stringify(c));
      const warnings: string[] = [];
      assert.equal(await readQACache(file, expect, (w) => warnings.push(w)), null, JSON.stringify(c));
      assert.equal(warnings.length, 1, JSON.stringify(c));
      assert.match(warnings[0], new RegExp(basename(file)));
    }
    writeFileSync(file, JSON.stringify(good));
    assert.deepEqual(await readQACache(file, expect, () => assert.fail('warned on a good file')), good.qas);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('safetensors header and model.safetensors.index.json: non-objects are a FormatError naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lift-bad-json-st-'));
  try {
    for (const v of NOT_OBJECTS) {
      const text = Buffer.from(JSON.stringify(v));
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(text.length));
      const file = join(dir, 'x.safetensors');
      writeFileSync(file, Buffer.concat([len, text]));
      refused(() => readSafetensors(file), 'x.safetensors', ['header'], `header = ${JSON.stringify(v)}`);
      const index = join(dir, 'model.safetensors.index.json');
      writeFileSync(index, JSON.stringify(v));
      refused(() => readSafetensors(index), 'model.safetensors.index.json', ['weight_map'], `index = ${JSON.stringify(v)}`);
      writeFileSync(index, JSON.stringify({ weight_map: { a: v } }));
      if (typeof v !== 'string') refused(() => readSafetensors(index), 'model.safetensors.index.json', ['weight_map "a"'], `weight_map entry = ${JSON.stringify(v)}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
