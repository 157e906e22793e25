// `lift inspect` on the real stories260K files (llama2.c .bin, GGUF, a converted Hugging Face folder), on an
// adapter folder made with `lift absorb`, and on files it cannot read. The parameter count is checked against
// one computed here from the raw llama2.c header, independently of the library.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireShared } from '../helpers/shared.js';
import { buildOnce, lift, MODEL_BIN, MODEL_GGUF, QUICK, storyDocument, tempDir } from './helpers.js';

before(() => buildOnce());

/** stories260K's parameters from its 7-int32 header: embeddings (+ classifier when unshared), layers, final norm. */
function llama2cParams(file: string): { params: number; dim: number; vocab: number; layers: number } {
  const h = new Int32Array(readFileSync(file).buffer.slice(0, 28));
  const [dim, hidden, layers, heads, kvHeads, vocabRaw] = h;
  const kv = (dim / heads) * kvHeads, vocab = Math.abs(vocabRaw);
  const perLayer = 2 * dim * dim + 2 * kv * dim + 3 * hidden * dim + 2 * dim;
  return { params: vocab * dim * (vocabRaw > 0 ? 1 : 2) + layers * perLayer + dim, dim, vocab, layers };
}

describe('lift inspect', () => {
  test('llama2.c .bin: text and JSON with the right parameter count', (t) => {
    if (!requireShared(t, 'models', 'stories260K', 'stories260K.bin')) return;
    const want = llama2cParams(MODEL_BIN);
    assert.ok(want.params > 200_000 && want.params < 300_000, `260K-ish: ${want.params}`);
    const text = lift(['inspect', MODEL_BIN]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /llama2\.c checkpoint/);
    assert.match(text.stdout, new RegExp(`parameters:\\s+${want.params.toLocaleString('en-US')} `));
    assert.match(text.stdout, /rope:.*interleaved/);
    assert.match(text.stdout, /tokenizer:.*tok512\.bin, 512 tokens/);
    assert.match(text.stdout, /chat template:\s+no/);

    const r = lift(['inspect', MODEL_BIN, '--json', '--tensors']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.kind, 'llama2c');
    assert.equal(j.model.parameters, want.params);
    assert.equal(j.model.config.hidden_size, want.dim);
    assert.equal(j.model.config.vocab_size, want.vocab);
    assert.equal(j.model.config.num_hidden_layers, want.layers);
    assert.equal(j.model.architecture, 'LlamaForCausalLM');
    assert.deepEqual(j.model.dtypes, { F32: j.model.tensor_count });
    assert.equal(j.model.chat_template, false);
    assert.equal(j.tensors.length, j.model.tensor_count);
    // The stored tensors hold exactly the parameters (the legacy RoPE tables are not tensors).
    assert.equal(j.tensors.reduce((s: number, x: { shape: number[] }) => s + x.shape.reduce((a, b) => a * b, 1), 0), want.params);
  });

  test('GGUF: metadata with types, tokenizer arrays summarised, tensors with ggml types', (t) => {
    if (!requireShared(t, 'models', 'stories260K', 'stories260K.gguf')) return;
    const want = llama2cParams(MODEL_BIN);
    const r = lift(['inspect', MODEL_GGUF, '--json', '--tensors']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.kind, 'gguf');
    const meta = new Map<string, { type: string; value?: unknown; length?: number; head?: unknown[]; values?: unknown[] }>(j.gguf.metadata.map((e: { key: string }) => [e.key, e]));
    assert.deepEqual(meta.get('general.architecture'), { key: 'general.architecture', type: 'string', value: 'llama' });
    assert.equal(meta.get('llama.embedding_length')?.type, 'uint32');
    const tokens = meta.get('tokenizer.ggml.tokens')!;
    assert.equal(tokens.type, 'array');
    assert.equal(tokens.length, 512);
    assert.ok(tokens.head && tokens.head.length < 20 && !tokens.values, 'the vocabulary is summarised, not dumped');
    // This GGUF stores an untied output.weight: the config's count adds one vocab × dim classifier.
    assert.equal(j.model.parameters, want.params + want.vocab * want.dim);
    const out = j.tensors.find((x: { name: string }) => x.name === 'output.weight');
    assert.deepEqual(out, { name: 'output.weight', dtype: 'F32', shape: [want.vocab, want.dim], bits_per_weight: 32 });

    const text = lift(['inspect', MODEL_GGUF]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /tokenizer\.ggml\.tokens\s+array\[string\] ×512\s+\["<unk>", "<s>", "<\/s>".*more\]/);
    assert.match(text.stdout, /llama\.block_count\s+uint32\s+5/);
    assert.ok(text.stdout.length < 6000, `summary, not a dump (${text.stdout.length} chars)`);
  });

  test('Hugging Face folder (from lift convert) and a .safetensors file', (t) => {
    if (!requireShared(t, 'models', 'stories260K', 'stories260K.bin')) return;
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    const hf = join(dir, 'hf');
    assert.equal(lift(['convert', '--model', MODEL_BIN, '--to', 'hf', '--out', hf]).code, 0);
    const j = JSON.parse(lift(['inspect', hf, '--json']).stdout);
    assert.equal(j.kind, 'huggingface');
    assert.equal(j.model.parameters, llama2cParams(MODEL_BIN).params);
    assert.match(j.model.rope_layout, /half/);
    assert.match(j.model.tokenizer.kind, /huggingface/);
    const st = JSON.parse(lift(['inspect', join(hf, 'model.safetensors'), '--json']).stdout);
    assert.equal(st.kind, 'safetensors');
    assert.equal(st.parameters, j.model.parameters);
    assert.deepEqual(Object.keys(st.dtypes), ['F32']);
  });

  test('adapter folder: manifest, recipe, metrics and the trainable parameter count', (t) => {
    if (!requireShared(t, 'models', 'stories260K', 'stories260K.bin')) return;
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    writeFileSync(join(dir, 'story.txt'), storyDocument(12));
    const out = join(dir, 'story.lift');
    const a = lift(['absorb', join(dir, 'story.txt'), '--model', MODEL_BIN, '--out', out, ...QUICK, '--context-budget', '64', '--no-report']);
    assert.equal(a.code, 0, a.stderr);
    const r = lift(['inspect', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const ad = JSON.parse(r.stdout).adapter;
    assert.equal(ad.kind, 'lora');
    assert.equal(ad.base_model.id, MODEL_BIN);
    assert.match(ad.document_sha256, /^[0-9a-f]{64}$/);
    assert.equal(ad.recipe.lengths.budget, 64);
    assert.deepEqual(ad.recipe.epochs, [1, 0]);
    assert.ok(ad.metrics.steps > 0);
    assert.equal(ad.config.r, 2);
    // LoRA r=2 on q,k,v,o,gate,up,down of 5 layers: r·(in + out) per module.
    const { dim } = llama2cParams(MODEL_BIN), kv = dim / 2, hidden = 172;
    const perLayer = 2 * (dim + dim) * 2 + 2 * (dim + kv) * 2 + 2 * 2 * (dim + hidden) + 2 * (hidden + dim);
    assert.equal(ad.trainable_parameters, 5 * perLayer);
    const text = lift(['inspect', out]);
    assert.match(text.stdout, /kind:\s+lora/);
    assert.match(text.stdout, /trainable parameters:\s+11,560/);
  });

  test('unknown or corrupt input: non-zero exit, the file named, what was expected', (t) => {
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    const cases: [string, Buffer | string | null, RegExp][] = [
      [join(dir, 'notes.txt'), 'just some text, not a model\n', /cannot be read as a llama2\.c checkpoint.*expected a llama2\.c \.bin, a \.gguf file/],
      [join(dir, 'cut.gguf'), Buffer.concat([Buffer.from('GGUF'), Buffer.from([3, 0, 0, 0, 9])]), /cannot be read as GGUF.*truncated/],
      [join(dir, 'bad.safetensors'), Buffer.from([200, 0, 0, 0, 0, 0, 0, 0, 123]), /cannot be read as safetensors.*header length/],
      [join(dir, 'nosuch.bin'), null, /does not exist/],
      [dir, null, /neither config\.json .* nor lift_manifest\.json/],
    ];
    for (const [p, content, want] of cases) {
      if (content !== null) writeFileSync(p, content);
      const r = lift(['inspect', p]);
      assert.equal(r.code, 1, `${p}: ${r.stdout}`);
      assert.equal(r.stdout, '');
      assert.ok(r.stderr.startsWith(`lift: ${p}`), r.stderr);
      assert.match(r.stderr, want);
    }
  });
});
