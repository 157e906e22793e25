// lift inspect on quantized GGUFs: per-tensor types and bits per weight, the file's bits per weight, and the
// memory a load holds — checked against what loading the file actually allocates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectPath } from '../../src/cli/commands/inspect.js';
import { convertModel } from '../../src/model/convert.js';
import { loadModelFromPath } from '../../src/model/load.js';
import { requireShared, sharedPath } from '../helpers/shared.js';

test('inspect reports per-tensor types, bits per weight and the load memory of a quantized GGUF (as loading it allocates)', (t) => {
  if (!requireShared(t, 'models/stories260K/stories260K.bin')) return;
  const dir = mkdtempSync(join(tmpdir(), 'lift-quant-inspect-'));
  try {
    for (const type of ['q8_0', 'q4_k_m', 'bf16'] as const) {
      const path = join(dir, `s-${type}.gguf`);
      convertModel(sharedPath('models/stories260K/stories260K.bin'), 'gguf', path, { type });
      const info = inspectPath(path, true) as { model: { dtypes: Record<string, number>; bits_per_weight: number; load_bytes: number }; tensors: { name: string; dtype: string; bits_per_weight: number; shape: number[] }[] };
      const m = loadModelFromPath(path).model;
      try {
        const held = m.parameters().reduce((s, w) => s + w.bytes().length, 0);
        assert.equal(info.model.load_bytes, held, `${type}: inspect's load memory vs the loaded tensors' bytes`);
      } finally {
        m.dispose();
      }
      const q = info.tensors.find((x) => x.name === 'blk.0.attn_q.weight')!; // [64, 64]: whole 32-value blocks
      const want = { q8_0: ['Q8_0', 8.5], q4_k_m: ['Q5_0', 5.5], bf16: ['BF16', 16] }[type]; // Q4_K falls back to Q5_0 on 64-wide rows
      assert.deepEqual([q.dtype, q.bits_per_weight], want, `${type}: attn_q`);
      let bits = 0, n = 0;
      for (const x of info.tensors) { const e = x.shape.reduce((a, b) => a * b, 1); bits += x.bits_per_weight * e; n += e; }
      assert.ok(Math.abs(info.model.bits_per_weight - bits / n) < 1e-9);
      assert.ok(info.model.bits_per_weight < 17 && info.model.bits_per_weight > 5, `${type}: ${info.model.bits_per_weight} bits per weight`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('content identity of a quantized model samples its dequantized rows (equal to the same values in f32)', async (t) => {
  if (!requireShared(t, 'models/stories260K/stories260K.bin')) return;
  const { modelContentHash } = await import('../../src/model/identity.js');
  const { LlamaModel } = await import('../../src/model/llama.js');
  const { Tensor, valuesF32 } = await import('../../src/engine/index.js');
  const dir = mkdtempSync(join(tmpdir(), 'lift-quant-id-'));
  try {
    const path = join(dir, 's-q8_0.gguf');
    convertModel(sharedPath('models/stories260K/stories260K.bin'), 'gguf', path, { type: 'q8_0' });
    const q = loadModelFromPath(path).model;
    const f = new LlamaModel(q.config, new Map([...q.weights].map(([k, w]) => [k, Tensor.from(valuesF32(w), w.shape, { name: k })])), q.ropeLayout);
    const src = loadModelFromPath(sharedPath('models/stories260K/stories260K.bin')).model;
    try {
      assert.equal(modelContentHash(q, '{}'), modelContentHash(f, '{}'));
      assert.notEqual(modelContentHash(q, '{}'), modelContentHash(src, '{}'), 'the quantized model is not the f32 original');
    } finally {
      q.dispose();
      f.dispose();
      src.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
