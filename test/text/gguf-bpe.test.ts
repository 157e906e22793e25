// Byte-level BPE GGUFs (tokenizer.ggml.model "gpt2"): `lift convert` writes a small random Llama with each real
// tokenizer in ../shared/tokenizers into a GGUF; our tokenizer read back from that GGUF must give the ids that
// llama.cpp (node-llama-cpp's model.tokenize on the same file) and @huggingface/tokenizers (on the tokenizer.json
// the GGUF was written from) give, on 200+ strings of every kind that trips tokenizers up.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireShared, sharedPath } from '../helpers/shared.js';
import { llamaCppTokens, requireLlama } from '../helpers/llamacpp.js';
import { parseHFConfig } from '../../src/model/config.js';
import { randomLlama } from '../../src/model/random.js';
import { writeSafetensors } from '../../src/io/safetensors.js';
import { readGGUF } from '../../src/io/gguf.js';
import { convertModel } from '../../src/model/convert.js';
import { loadModelFromPath } from '../../src/model/load.js';
import { HFTokenizer } from '../../src/text/hf-tokenizer.js';

const root = mkdtempSync(join(tmpdir(), 'lift-gguf-bpe-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** 200+ strings: each base in several surroundings (leading space, newlines, repeated, in code, capitalised). */
function corpus(): string[] {
  const base = [
    'Hello world', 'The quick brown fox jumps over the lazy dog.', "I'm sure they'll say it's fine, we've done it, you'd agree", "DON'T SHOUT, I'LL HEAR",
    'café naïve über façade', 'Ελληνικά και русский язык', '中文字符和日本語のテキスト', '한국어 문장입니다', 'emoji 😀👍🏽🇫🇷 and 👨‍👩‍👧',
    'digits 1 12 123 1234 12345 3.14159 1,000,000', 'phone 555-0199, year 2026', '   leading spaces', 'trailing spaces   ',
    'tabs\tand\ttabs', 'line\nbreaks\n\nand\r\nCRLF', '\n\n\nthree newlines first', 'spaces    in     between',
    'def f(x):\n    return x ** 2  # square', 'const a = [1, 2, 3].map((x) => x * 2);', '<div class="a">text</div>', 'SELECT * FROM t WHERE id = 42;',
    'snake_case and camelCase and kebab-case', 'email me@example.com, url https://example.org/a?b=c&d=e', '$100 €50 £20 ¥1000',
    'punctuation!!! ??? ... --- ;;;', 'quotes “double” ‘single’ «guillemets»', 'math ∑ x² ≤ ∞ ± √2', 'العربية من اليمين', 'עברית',
    'ﬁ ligature and Å', 'mixed123numbers456', 'A', ' ', 'ab', "'s 's 're", 'x'.repeat(40), '1'.repeat(25), '\t\t\t', 'Ümlaut ÄÖÜ ß',
  ];
  const out = new Set<string>();
  for (const b of base) for (const s of [b, ` ${b}`, `${b}\n`, `${b} ${b}`, `(${b})`, b.toUpperCase()]) out.add(s);
  return [...out];
}

/** A small random Llama of the tokenizer's vocabulary size as a Hugging Face folder with that tokenizer. */
function randomModelFolder(name: string, tokenizerDir: string, edit?: (tj: Record<string, unknown>) => void): string {
  const dir = join(root, name);
  mkdirSync(dir);
  const tj = JSON.parse(readFileSync(join(tokenizerDir, 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
  edit?.(tj);
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tj));
  copyFileSync(join(tokenizerDir, 'tokenizer_config.json'), join(dir, 'tokenizer_config.json'));
  const model = tj.model as { vocab: Record<string, number> };
  const ids = [...Object.values(model.vocab), ...(tj.added_tokens as { id: number }[]).map((a) => a.id)];
  const V = ids.reduce((m, x) => Math.max(m, x), 0) + 1, C = 32, I = 64, L = 1, H = 4, KV = 2;
  const config = {
    architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: C, intermediate_size: I, num_hidden_layers: L,
    num_attention_heads: H, num_key_value_heads: KV, vocab_size: V, rms_norm_eps: 1e-5, rope_theta: 10000,
    max_position_embeddings: 256, tie_word_embeddings: true,
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const m = randomLlama(parseHFConfig(config, name), { seed: 3, scale: 0.05 });
  writeSafetensors(join(dir, 'model.safetensors'), [...m.weights].map(([nm, t]) => ({ name: nm, dtype: 'F32' as const, shape: [...t.shape], data: t.f32() })));
  m.dispose();
  return dir;
}

const CASES: [string, string, string, ((tj: Record<string, unknown>) => void)?][] = [
  ['smollm2', 'smollm2', 'smollm'],
  ['llama3', 'llama3', 'llama-bpe'],
  ['qwen3', 'qwen3', 'qwen2'],
  // GPT-2's own pre-tokenizer (ByteLevel with its regex) over SmolLM2's vocabulary: the 'gpt-2' name.
  ['gpt-2', 'smollm2', 'gpt-2', (tj) => { tj.pre_tokenizer = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true }; }],
];

for (const [name, tokDir, pre, edit] of CASES) {
  test(`byte-level BPE GGUF (${name}, tokenizer.ggml.pre "${pre}"): ours = llama.cpp = tokenizers.js on ${corpus().length} strings`, async (t) => {
    if (!requireShared(t, 'tokenizers', tokDir, 'tokenizer.json')) return;
    const llama = await requireLlama(t);
    if (!llama) return;
    const folder = randomModelFolder(name, sharedPath('tokenizers', tokDir), edit);
    const gguf = join(root, `${name}.gguf`);
    // The edited vocabulary is attached as `lift convert --tokenizer FILE.json` does, to the unedited model's folder.
    if (edit) convertModel(join(root, tokDir), 'gguf', gguf, { vocab: join(folder, 'tokenizer.json') });
    else convertModel(folder, 'gguf', gguf);
    const meta = readGGUF(gguf).metadata;
    assert.equal(meta['tokenizer.ggml.model'], 'gpt2');
    assert.equal(meta['tokenizer.ggml.pre'], pre);
    const ours = loadModelFromPath(gguf);
    const hf = HFTokenizer.fromFiles(join(folder, 'tokenizer.json'), join(folder, 'tokenizer_config.json'));
    try {
      const strings = corpus();
      assert.ok(strings.length >= 200);
      const theirs = await llamaCppTokens(llama, gguf, strings);
      strings.forEach((s, i) => {
        const mine = ours.tokenizer.encode(s, { bos: false });
        assert.deepEqual(mine, hf.encode(s, { bos: false }), `tokenizers.js on ${JSON.stringify(s)}`);
        assert.deepEqual(mine, theirs.ids[i], `llama.cpp on ${JSON.stringify(s)}`);
        assert.equal(ours.tokenizer.decode(mine), s, `decode round trip of ${JSON.stringify(s)}`);
      });
      assert.equal(ours.tokenizer.bosId, hf.bosId);
      assert.equal(ours.addBos, hf.addBos);
      if (theirs.bos !== null && hf.bosId !== null) assert.equal(theirs.bos, hf.bosId);
    } finally {
      ours.model.dispose();
    }
  });
}

test('a byte-level BPE GGUF with a merge naming an unknown token, or an unknown pre-tokenizer, is handled before use', (t) => {
  if (!requireShared(t, 'tokenizers', 'smollm2', 'tokenizer.json')) return;
  const gguf = join(root, 'smollm2.gguf');
  const meta = readGGUF(gguf).metadata;
  // Through the metadata reader directly: the same checks loadModelFromPath runs.
  return import('../../src/text/gguf-bpe.js').then(({ bpeVocabFromGGUF }) => {
    const merges = [...(meta['tokenizer.ggml.merges'] as string[])];
    merges[5] = 'nosuchtoken° x';
    assert.throws(() => bpeVocabFromGGUF({ ...meta, 'tokenizer.ggml.merges': merges }, 'x.gguf'), /x\.gguf: metadata "tokenizer\.ggml\.merges"\[5\]: expected two tokens of the vocabulary/);
    const warnings: string[] = [];
    const v = bpeVocabFromGGUF({ ...meta, 'tokenizer.ggml.pre': 'exotic-9' }, 'x.gguf', (m) => warnings.push(m));
    assert.equal(v.pre, 'gpt-2');
    assert.match(warnings.join('\n'), /tokenizer\.ggml\.pre "exotic-9" is not one we know/);
  });
});
