// llama2.c legacy checkpoints and tokenizer files built in a temp dir: layout (including an untied classifier
// after the RoPE tables), exact size validation, and FormatErrors for truncated or malformed files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FormatError } from '../../src/io/errors.js';
import { readLlama2c, readLlama2cTokenizerFile } from '../../src/io/llama2c.js';
import { readF32 } from '../../src/io/tensor-entry.js';
import { requireShared, sharedPath } from '../helpers/shared.js';
import { tmp, throwsFormat } from '../helpers/format-errors.js';

/** dim 8, hidden 12, 2 layers, 2 heads, 1 kv head, vocab 10 (negative = untied), seq 4; float k holds value k. */
function tiny(vocab: number): { header: Int32Array; floats: Float32Array; bytes: Buffer } {
  const [C, H, L, KV, V, S, hd] = [8, 12, 2, 4, Math.abs(vocab), 4, 4];
  const n = V * C + L * C + L * C * C * 2 + L * KV * C * 2 + L * C + L * H * C * 3 + C + S * hd + (vocab < 0 ? V * C : 0);
  const header = Int32Array.from([C, H, L, 2, 1, vocab, S]);
  const floats = Float32Array.from({ length: n }, (_, k) => k);
  return { header, floats, bytes: Buffer.concat([Buffer.from(header.buffer), Buffer.from(floats.buffer)]) };
}

test('tiny llama2.c checkpoint: HF names, per-layer slices, untied classifier at the end', (t) => {
  const dir = tmp(t, 'lift-io-l2c-');
  const p = join(dir, 'tiny.bin');
  const { floats, bytes } = tiny(-10);
  writeFileSync(p, bytes);
  const ck = readLlama2c(p);
  assert.equal(ck.metadata.shared_classifier, false);
  assert.equal(ck.metadata.vocab_size, 10);
  assert.equal(ck.metadata.rope_layout, 'interleaved');
  assert.equal(ck.tensors.size, 1 + 2 * 9 + 1 + 1);
  const get = (name: string): Float32Array => readF32(ck.tensors.get(name)!);
  assert.deepEqual(get('model.embed_tokens.weight')[0], 0);
  // rms_att for layer 1 starts after tok_emb (80) and layer 0's rms_att (8).
  assert.equal(get('model.layers.1.input_layernorm.weight')[0], 88);
  assert.deepEqual(ck.tensors.get('model.layers.1.self_attn.k_proj.weight')!.shape, [4, 8]);
  assert.deepEqual(ck.tensors.get('model.layers.0.mlp.down_proj.weight')!.shape, [8, 12]);
  const lm = get('lm_head.weight');
  assert.deepEqual(lm, floats.subarray(floats.length - 80)); // after the two skipped RoPE tables
  assert.equal(get('model.norm.weight')[7], floats.length - 80 - 16 - 1);
});

test('llama2.c checkpoint errors: truncated, trailing data, bad header fields, v1 magic', (t) => {
  const dir = tmp(t, 'lift-io-l2c-');
  const p = join(dir, 'bad.bin');
  const { bytes } = tiny(10);
  writeFileSync(p, bytes.subarray(0, bytes.length - 4));
  throwsFormat(() => readLlama2c(p), new RegExp(`^bad\\.bin: file size: expected ${bytes.length} bytes for the header's shapes .*found ${bytes.length - 4} bytes \\(truncated\\)`));
  writeFileSync(p, Buffer.concat([bytes, Buffer.alloc(4)]));
  throwsFormat(() => readLlama2c(p), /found \d+ bytes \(trailing data\)/);
  writeFileSync(p, bytes.subarray(0, 20));
  throwsFormat(() => readLlama2c(p), /bad\.bin: header: expected 28 bytes \(7 x int32\), file is 20 bytes/);
  const mutate = (i: number, v: number): Buffer => { const b = Buffer.from(bytes); b.writeInt32LE(v, i * 4); return b; };
  writeFileSync(p, mutate(3, 3));
  throwsFormat(() => readLlama2c(p), /bad\.bin: header n_heads: expected a divisor of dim 8 giving an even head size, got 3/);
  writeFileSync(p, mutate(4, 3));
  throwsFormat(() => readLlama2c(p), /header n_kv_heads: expected a divisor of n_heads 2, got 3/);
  writeFileSync(p, mutate(2, 0));
  throwsFormat(() => readLlama2c(p), /header n_layers: expected 1\.\.\d+, got 0/);
  writeFileSync(p, mutate(2, 2 ** 24)); // must not build 16M layers before checking the size
  throwsFormat(() => readLlama2c(p), /file size: expected \d+ bytes/);
  writeFileSync(p, mutate(5, -(2 ** 31)));
  throwsFormat(() => readLlama2c(p), /header vocab_size/);
  writeFileSync(p, mutate(0, 0x616b3432));
  throwsFormat(() => readLlama2c(p), /"ak42" v1\/v2 export format/);
});

test('llama2.c tokenizer: synthetic file and errors', (t) => {
  const dir = tmp(t, 'lift-io-l2c-');
  const p = join(dir, 'tok.bin');
  const entry = (score: number, piece: Buffer): Buffer => {
    const b = Buffer.alloc(8);
    b.writeFloatLE(score, 0);
    b.writeInt32LE(piece.length, 4);
    return Buffer.concat([b, piece]);
  };
  const max = Buffer.alloc(4);
  max.writeInt32LE(3);
  const good = Buffer.concat([max, entry(0, Buffer.from('<u>')), entry(-1.5, Buffer.from([0xe2, 0x96])), entry(2, Buffer.from(' a'))]);
  writeFileSync(p, good);
  const tok = readLlama2cTokenizerFile(p);
  assert.equal(tok.maxTokenLength, 3);
  assert.deepEqual(tok.vocab, ['<u>', '\ufffd', ' a']); // an incomplete UTF-8 piece decodes to U+FFFD ...
  assert.deepEqual([...tok.bytes[1]], [0xe2, 0x96]); // ... but its bytes are kept exactly
  assert.deepEqual([...tok.scores], [0, -1.5, 2]);
  throwsFormat(() => readLlama2cTokenizerFile(p, 4), /tok\.bin: token 3: expected 8 bytes \(score, length\) at offset \d+, file is \d+ bytes \(truncated\)/);
  throwsFormat(() => readLlama2cTokenizerFile(p, 2), /tok\.bin: file size: expected \d+ bytes for 2 tokens, found \d+ \(trailing data\)/);
  writeFileSync(p, good.subarray(0, good.length - 1));
  throwsFormat(() => readLlama2cTokenizerFile(p), /tok\.bin: token 2 length: expected 0\.\.1 \(bytes left in the file\), got 2/);
  const nan = Buffer.from(good);
  nan.writeFloatLE(NaN, 4);
  writeFileSync(p, nan);
  throwsFormat(() => readLlama2cTokenizerFile(p), /token 0 score: expected a finite float32, got NaN/);
  writeFileSync(p, Buffer.from([0, 0]));
  throwsFormat(() => readLlama2cTokenizerFile(p), /tok\.bin: max_token_length: expected an int32/);
});

test('stories260K.bin truncated at assorted lengths is a FormatError', (t) => {
  if (!requireShared(t, 'models/stories260K')) return;
  const dir = tmp(t, 'lift-io-l2c-');
  const full = readFileSync(sharedPath('models/stories260K/stories260K.bin'));
  const p = join(dir, 'stories260K.bin');
  for (const n of [0, 27, 28, 1000, full.length - 1]) {
    writeFileSync(p, full.subarray(0, n));
    throwsFormat(() => readLlama2c(p), /^stories260K\.bin: (header|file size)/);
  }
});
