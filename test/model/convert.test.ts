// `lift convert` and cross-format equality on the real stories260K: the llama2.c .bin, the upstream .gguf, the
// .bin converted to a Hugging Face folder (rotate-half q/k) and to GGUF, and that folder converted back to GGUF,
// must all give the same logits; the generated tokenizer.json must encode exactly like run.c's tokenizer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireShared, sharedPath } from '../helpers/shared.js';
import { loadModelFromPath } from '../../src/model/load.js';
import { convertModel } from '../../src/model/convert.js';
import { readGGUF } from '../../src/io/gguf.js';
import { SentencePieceTokenizer } from '../../src/text/sentencepiece.js';
import { HFTokenizer } from '../../src/text/hf-tokenizer.js';
import { seededRandom } from '../../src/adapters/init.js';

const DIR = 'models/stories260K';
const BIN = () => sharedPath(DIR, 'stories260K.bin');
const PROMPT = 'Once upon a time, there was a little girl named Lily. She loved to play outside';

function withTmp(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'lift-convert-'));
  try { fn(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
}

/** Logits [T, V] of the prompt (tokenized by run.c's tokenizer, so every model sees the same ids). */
function logitsOf(path: string, ids: Int32Array): Float32Array {
  const m = loadModelFromPath(path);
  try {
    const y = m.model.forward(ids);
    const out = y.f32().slice();
    y.dispose();
    return out;
  } finally {
    m.model.dispose();
  }
}

const maxAbsDiff = (a: Float32Array, b: Float32Array): number => {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
};

test('stories260K: .bin, .gguf, .bin→HF, .bin→GGUF and HF→GGUF give the same logits (2e-5)', (t) => {
  if (!requireShared(t, DIR)) return;
  withTmp((dir) => {
    const hf = join(dir, 'hf'), g1 = join(dir, 'from-bin.gguf'), g2 = join(dir, 'from-hf.gguf'), hf2 = join(dir, 'hf-from-gguf');
    convertModel(BIN(), 'hf', hf);
    convertModel(BIN(), 'gguf', g1);
    convertModel(hf, 'gguf', g2);
    convertModel(sharedPath(DIR, 'stories260K.gguf'), 'hf', hf2);
    assert.deepEqual(readdirSync(hf).sort(), ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp')), [], 'no temp files left behind');
    const ids = Int32Array.from(SentencePieceTokenizer.fromLlama2cFile(sharedPath(DIR, 'tok512.bin'), 512).encode(PROMPT));
    const ref = logitsOf(BIN(), ids);
    assert.equal(ref.length, ids.length * 512);
    const diffs: Record<string, number> = {};
    for (const [name, p] of [['gguf', sharedPath(DIR, 'stories260K.gguf')], ['hf', hf], ['bin→gguf', g1], ['hf→gguf', g2], ['gguf→hf', hf2]]) {
      diffs[name] = maxAbsDiff(ref, logitsOf(p, ids));
      // 2e-5: the HF layout permutes q/k rows (rotate-half RoPE), so attention sums in another order; f32 rounding
      // through 5 layers gave 9.5e-6, and 1.1e-5 since the vectorised exp (2 ulp) in softmax/SwiGLU (8e7cab3).
      assert.ok(diffs[name] <= 2e-5, `${name}: max |Δlogit| ${diffs[name]}`);
    }
    t.diagnostic(`max |Δlogit| vs .bin: ${JSON.stringify(diffs)}`);
  });
});

test('the converted GGUF carries llama metadata and the embedded vocabulary', (t) => {
  if (!requireShared(t, DIR)) return;
  withTmp((dir) => {
    const out = join(dir, 'm.gguf');
    convertModel(BIN(), 'gguf', out);
    const ck = readGGUF(out), m = ck.metadata, src = readGGUF(sharedPath(DIR, 'stories260K.gguf')).metadata;
    assert.equal(ck.version, 3);
    assert.equal(m['general.architecture'], 'llama');
    for (const k of ['embedding_length', 'feed_forward_length', 'block_count', 'attention.head_count', 'attention.head_count_kv', 'rope.dimension_count'])
      assert.equal(m[`llama.${k}`], src[`llama.${k}`], k);
    assert.equal(m['llama.rope.freq_base'], 10000);
    assert.equal(m['tokenizer.ggml.model'], 'llama');
    assert.deepEqual(m['tokenizer.ggml.tokens'], src['tokenizer.ggml.tokens']);
    assert.deepEqual(m['tokenizer.ggml.scores'], src['tokenizer.ggml.scores']);
    assert.deepEqual(m['tokenizer.ggml.token_type'], src['tokenizer.ggml.token_type']);
    assert.equal(m['tokenizer.ggml.bos_token_id'], 1);
    assert.equal(m['tokenizer.ggml.eos_token_id'], 2);
    assert.ok([...ck.tensors.values()].every((e) => e.dtype === 'F32'));
    assert.ok(ck.tensors.has('blk.4.attn_k.weight') && !ck.tensors.has('output.weight'), 'tied classifier: no output.weight');
  });
});

/** ≥ 100 strings: fixed hard cases plus seeded random mixes of words, digits, whitespace runs, non-ASCII and emoji. */
function testStrings(): string[] {
  const fixed = [
    'Once upon a time', ' leading space', 'trailing space ', '  two leading', 'a  b   c    d', '\t\ttabs\tand\nnewlines\n\n',
    '12345 67890 3.14159 1,000,000', 'Tom’s “quoted” — dash… ok', 'café naïve jalapeño über', 'Ελληνικά русский 中文 日本語 한국어',
    '😀 👍🏽 👨‍👩‍👧 🇫🇷', 'e\u0301 combining', '\u00a0non-breaking\u00a0space', 'x', ' ', '   ', '\n', 'I', 'Lily and Ben went to the park.',
    'THE END!!! ???', 'a-b_c/d\\e|f', '$100 & 50% (approx.) [sic] {x}', 'https://example.com/a?b=c#d', 'mixed123abc456', '¿Qué? ¡Sí!',
  ];
  const words = ['the', 'little', 'girl', 'dog', 'happy', 'Tim', 'saw', 'a', 'big', 'tree', 'ran', 'said', 'Mom', 'sun', 'friends'];
  const odd = ['é', 'ß', 'ж', '中', '🙂', '🚀', '1', '42', '2024', '!', '?', '"', '“', '…', '—', '\u00a0', '™', '€'];
  const spaces = [' ', '  ', '   ', '\t', '\n', ' \n ', '\n\n'];
  const rand = seededRandom(7);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
  const out = [...fixed];
  while (out.length < 130) {
    let s = rand() < 0.3 ? pick(spaces) : '';
    const n = 1 + Math.floor(rand() * 12);
    for (let i = 0; i < n; i++) {
      const r = rand();
      s += r < 0.6 ? pick(words) : r < 0.85 ? pick(odd) : String(Math.floor(rand() * 1e6));
      s += rand() < 0.7 ? ' ' : rand() < 0.5 ? pick(spaces) : '';
    }
    out.push(s);
  }
  return out;
}

test('the converted tokenizer.json encodes exactly like tok512.bin on 130 varied strings', (t) => {
  if (!requireShared(t, DIR)) return;
  withTmp((dir) => {
    const hf = join(dir, 'hf');
    convertModel(BIN(), 'hf', hf);
    const ref = SentencePieceTokenizer.fromLlama2cFile(sharedPath(DIR, 'tok512.bin'), 512);
    const tok = HFTokenizer.fromFiles(join(hf, 'tokenizer.json'), join(hf, 'tokenizer_config.json'));
    assert.equal(tok.vocabSize, 512);
    assert.equal(tok.bosId, 1);
    assert.equal(tok.eosId, 2);
    assert.equal(tok.addBos, true);
    const strings = testStrings();
    assert.ok(strings.length >= 100);
    for (const s of strings) {
      const want = ref.encode(s);
      assert.deepEqual(tok.encode(s), want, `encode(${JSON.stringify(s)})`);
      // Decoding the ids gives the text back (byte fallback covers everything outside the 512 pieces).
      assert.equal(tok.decode(want), s, `decode(encode(${JSON.stringify(s)}))`);
    }
  });
});

// ---- the CLI -------------------------------------------------------------------------------------------------

function lift(args: string[]): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'convert', ...args], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

test('lift convert: writes the folder and prints its files; bad arguments exit ≠ 0 with a clear message', (t) => {
  if (!requireShared(t, DIR)) return;
  withTmp((dir) => {
    const ok = lift(['--model', BIN(), '--to', 'hf', '--out', join(dir, 'hf')]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /tokenizer\.json/);
    const cases: [string[], RegExp][] = [
      [['--model', BIN(), '--out', join(dir, 'x')], /--to/],
      [['--model', BIN(), '--to', 'onnx', '--out', join(dir, 'x')], /onnx.*(hf|choices)/s],
      [['--model', join(dir, 'missing.bin'), '--to', 'gguf', '--out', join(dir, 'x.gguf')], /no such file/],
      [['--model', BIN(), '--to', 'hf', '--out', join(dir, 'hf')], /already holds a model folder written by lift convert; pass --force/],
      [['--to', 'gguf', '--out', join(dir, 'y.gguf')], /--model/],
    ];
    for (const [args, msg] of cases) {
      const r = lift(args);
      assert.notEqual(r.status, 0, `lift convert ${args.join(' ')} should fail`);
      assert.match(r.stderr, msg, `lift convert ${args.join(' ')}: ${r.stderr}`);
    }
    assert.ok(!existsSync(join(dir, 'x')) && !existsSync(join(dir, 'x.gguf')));
    mkdirSync(join(dir, 'empty'));
    assert.equal(lift(['--model', BIN(), '--to', 'hf', '--out', join(dir, 'empty')]).status, 0, 'an empty folder is fine');
  });
});
