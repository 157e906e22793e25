// The real stories260K checkpoint in both formats: the llama2.c .bin and the GGUF must parse, agree tensor for
// tensor after the GGUF -> HF name mapping, and the two tokenizers must agree on scores.
import { test } from 'node:test';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { requireShared, sharedPath } from '../helpers/shared.js';
import { readLlama2c, readLlama2cTokenizerFile } from '../../src/io/llama2c.js';
import { readGGUF, writeGGUF } from '../../src/io/gguf.js';
import { readSafetensors, writeSafetensors } from '../../src/io/safetensors.js';
import { ggufToHfName, hfToGgufName, tensorsByHfName } from '../../src/io/names.js';
import { readF32 } from '../../src/io/tensor-entry.js';

const DIR = 'models/stories260K';

test('stories260K.bin parses with the README header and HF names', (t) => {
  if (!requireShared(t, DIR)) return;
  const ck = readLlama2c(sharedPath(DIR, 'stories260K.bin'));
  assert.equal(ck.format, 'llama2c');
  assert.deepEqual(ck.metadata, {
    dim: 64, hidden_dim: 172, n_layers: 5, n_heads: 8, n_kv_heads: 4, vocab_size: 512, seq_len: 512,
    shared_classifier: true, rope_layout: 'interleaved',
  });
  assert.equal(ck.tensors.size, 47); // tied classifier: no lm_head.weight
  assert.equal(ck.tensors.has('lm_head.weight'), false);
  assert.deepEqual(ck.tensors.get('model.embed_tokens.weight')!.shape, [512, 64]);
  assert.deepEqual(ck.tensors.get('model.layers.4.self_attn.k_proj.weight')!.shape, [32, 64]);
  assert.deepEqual(ck.tensors.get('model.layers.0.mlp.down_proj.weight')!.shape, [64, 172]);
  assert.deepEqual(ck.tensors.get('model.layers.2.mlp.gate_proj.weight')!.shape, [172, 64]);
  assert.equal(ck.tensors.get('model.embed_tokens.weight')!.byteOffset, 28);
  const norm = readF32(ck.tensors.get('model.norm.weight')!);
  assert.equal(norm.length, 64);
  assert.ok(norm.every(Number.isFinite));
});

test('stories260K.gguf parses: v3, metadata, 48 tensors with outermost-first shapes', (t) => {
  if (!requireShared(t, DIR)) return;
  const ck = readGGUF(sharedPath(DIR, 'stories260K.gguf'));
  assert.equal(ck.version, 3);
  assert.equal(ck.alignment, 32);
  assert.equal(ck.dataOffset % 32, 0);
  assert.equal(ck.tensors.size, 48);
  const m = ck.metadata;
  assert.equal(m['general.architecture'], 'llama');
  assert.equal(m['llama.embedding_length'], 64);
  assert.equal(m['llama.feed_forward_length'], 172);
  assert.equal(m['llama.block_count'], 5);
  assert.equal(m['llama.attention.head_count'], 8);
  assert.equal(m['llama.attention.head_count_kv'], 4);
  assert.equal(m['llama.rope.dimension_count'], 8);
  assert.equal(m['llama.context_length'], 2048);
  assert.equal(m['llama.attention.layer_norm_rms_epsilon'], Math.fround(1e-5));
  assert.equal(m['tokenizer.ggml.model'], 'llama');
  const tokens = m['tokenizer.ggml.tokens'] as string[];
  assert.equal(tokens.length, 512);
  assert.deepEqual(tokens.slice(0, 4), ['<unk>', '<s>', '</s>', '<0x00>']);
  assert.equal((m['tokenizer.ggml.scores'] as number[]).length, 512);
  assert.deepEqual((m['tokenizer.ggml.token_type'] as number[]).slice(0, 4), [2, 3, 3, 6]);
  assert.equal(m['tokenizer.ggml.bos_token_id'], 1);
  const entry = ck.entries.find((e) => e.key === 'tokenizer.ggml.scores')!;
  assert.equal(entry.type, 'array');
  assert.deepEqual(ck.tensors.get('blk.0.attn_k.weight')!.shape, [32, 64]);
  assert.deepEqual(ck.tensors.get('blk.0.ffn_down.weight')!.shape, [64, 172]);
  assert.deepEqual(ck.tensors.get('token_embd.weight')!.shape, [512, 64]);
  for (const name of ck.tensors.keys()) {
    const hf = ggufToHfName(name);
    assert.ok(hf, `${name} maps to an HF name`);
    assert.equal(hfToGgufName(hf), name);
  }
});

test('all 48 tensors are equal between stories260K.bin and stories260K.gguf', (t) => {
  if (!requireShared(t, DIR)) return;
  const bin = readLlama2c(sharedPath(DIR, 'stories260K.bin'));
  const gguf = tensorsByHfName(readGGUF(sharedPath(DIR, 'stories260K.gguf')));
  assert.equal(gguf.size, 48);
  let compared = 0;
  for (const [hf, g] of gguf) {
    // The .bin ties the classifier to the embedding; the GGUF stores a separate copy as output.weight.
    const b = bin.tensors.get(hf) ?? (hf === 'lm_head.weight' ? bin.tensors.get('model.embed_tokens.weight') : undefined);
    assert.ok(b, `${hf} present in the .bin`);
    assert.deepEqual(g.shape, b.shape, hf);
    assert.deepEqual(readF32(g), readF32(b), hf);
    compared++;
  }
  assert.equal(compared, 48);
});

test('tok512.bin parses and its scores equal the GGUF vocabulary scores', (t) => {
  if (!requireShared(t, DIR)) return;
  const tok = readLlama2cTokenizerFile(sharedPath(DIR, 'tok512.bin'), 512);
  assert.equal(tok.maxTokenLength, 7);
  assert.equal(tok.vocab.length, 512);
  assert.equal(tok.vocab[0], '<unk>');
  assert.equal(tok.vocab[1], '\n<s>\n');
  assert.equal(tok.vocab[3], '<0x00>');
  assert.deepEqual([...tok.bytes[2]], [...Buffer.from('\n</s>\n')]);
  const gguf = readGGUF(sharedPath(DIR, 'stories260K.gguf'));
  assert.deepEqual([...tok.scores], gguf.metadata['tokenizer.ggml.scores']);
  // Same pieces up to spelling: GGUF writes the SentencePiece space marker U+2581 where llama2.c has ' '.
  const ggTokens = gguf.metadata['tokenizer.ggml.tokens'] as string[];
  for (let i = 3; i < 512; i++) assert.equal(ggTokens[i].replaceAll('\u2581', ' '), tok.vocab[i], `token ${i}`);
  // Without vocabSize the reader takes every entry up to the end of the file.
  assert.equal(readLlama2cTokenizerFile(sharedPath(DIR, 'tok512.bin')).vocab.length, 512);
});

test('writeGGUF reproduces stories260K.gguf byte for byte from its own entries and tensors', (t) => {
  if (!requireShared(t, DIR)) return;
  const dir = mkdtempSync(join(tmpdir(), 'lift-io-s260-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const src = sharedPath(DIR, 'stories260K.gguf');
  const ck = readGGUF(src);
  const out = join(dir, 'copy.gguf');
  // The original came from llama.cpp's tooling: identical bytes mean our layout, padding and encodings match it.
  writeGGUF(out, ck.entries, [...ck.tensors.values()].map((e) => ({ name: e.name, dtype: 'F32' as const, shape: e.shape, data: readF32(e) })));
  assert.ok(readFileSync(out).equals(readFileSync(src)));
});

test('stories260K.bin -> safetensors (HF names) -> read back: identical tensors', (t) => {
  if (!requireShared(t, DIR)) return;
  const dir = mkdtempSync(join(tmpdir(), 'lift-io-s260-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bin = readLlama2c(sharedPath(DIR, 'stories260K.bin'));
  const out = join(dir, 'model.safetensors');
  writeSafetensors(out, [...bin.tensors.values()].map((e) => ({ name: e.name, dtype: 'F32' as const, shape: e.shape, data: readF32(e) })), { format: 'pt' });
  const st = readSafetensors(dir);
  assert.equal(st.tensors.size, 47);
  for (const [name, e] of bin.tensors) assert.deepEqual(readF32(st.tensors.get(name)!), readF32(e), name);
});
