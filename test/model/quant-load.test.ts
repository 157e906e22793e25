// 16-bit Hugging Face checkpoints stay 16-bit: a BF16 (or F16) model.safetensors loads its matrices as bf16
// tensors (half the f32 bytes) and computes the same logits as the same values held in f32.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tensor, tidy, valuesF32 } from '../../src/engine/index.js';
import { convertModel } from '../../src/model/convert.js';
import { loadModelFromPath } from '../../src/model/load.js';
import { LlamaModel } from '../../src/model/llama.js';
import { readSafetensors, writeSafetensors } from '../../src/io/safetensors.js';
import { readF32 } from '../../src/io/tensor-entry.js';
import { requireShared, sharedPath } from '../helpers/shared.js';

for (const dtype of ['BF16', 'F16'] as const) {
  test(`a ${dtype} safetensors model keeps its matrices ${dtype} and computes like the same values in f32`, (t) => {
    if (!requireShared(t, 'models/stories260K/stories260K.bin')) return;
    const dir = mkdtempSync(join(tmpdir(), 'lift-16bit-'));
    try {
      const hf = join(dir, 'hf');
      convertModel(sharedPath('models/stories260K/stories260K.bin'), 'hf', hf);
      const st = join(hf, 'model.safetensors');
      const ck = readSafetensors(st);
      writeSafetensors(st, [...ck.tensors.values()].map((e) => ({ name: e.name, dtype, shape: e.shape, data: readF32(e) })), (ck.metadata ?? undefined) as Record<string, string> | undefined);
      const m = loadModelFromPath(hf).model;
      const f = new LlamaModel(m.config, new Map([...m.weights].map(([k, w]) => [k, Tensor.from(valuesF32(w), w.shape, { name: k })])), m.ropeLayout);
      try {
        for (const [name, w] of m.weights) assert.equal(w.dtype, w.shape.length === 2 ? dtype.toLowerCase() : 'f32', name);
        const bytes = (x: LlamaModel) => x.parameters().reduce((s, w) => s + w.bytes().length, 0);
        assert.ok(Math.abs(bytes(m) / bytes(f) - 0.5) < 0.01, `${dtype} load holds ${bytes(m)} bytes vs ${bytes(f)} in f32`);
        const ids = Int32Array.from([1, 403, 20, 331, 90, 211, 7, 45]);
        const a = tidy(() => m.forward(ids).toArray()), b = tidy(() => f.forward(ids).toArray());
        let d = 0;
        for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
        assert.ok(d < 1e-4, `${dtype}: max |Δ logit| ${d}`);
      } finally {
        m.dispose();
        f.dispose();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('quantized GGUF weights are memory-mapped (unmapped on dispose), compute as when read, and a non-finite block scale is refused', async (t) => {
  if (!requireShared(t, 'models/stories260K/stories260K.bin')) return;
  const { memoryStats } = await import('../../src/engine/index.js');
  const { readGGUF } = await import('../../src/io/gguf.js');
  const { copyFileSync, openSync, writeSync, closeSync } = await import('node:fs');
  const dir = mkdtempSync(join(tmpdir(), 'lift-mmap-'));
  try {
    const path = join(dir, 's-q8_0.gguf');
    convertModel(sharedPath('models/stories260K/stories260K.bin'), 'gguf', path, { type: 'q8_0' });
    const stored = [...readGGUF(path).tensors.values()].filter((e) => e.shape.length === 2 && e.dtype !== 'F32');
    const before = memoryStats().mappedBytes;
    const ids = Int32Array.from([1, 403, 20, 331, 90]);
    const m = loadModelFromPath(path).model;
    const mapped = memoryStats().mappedBytes - before;
    const want = stored.reduce((s, e) => s + e.byteLength, 0);
    assert.ok(mapped >= want && mapped < want + stored.length * 4096, `mapped ${mapped} bytes for ${want} bytes of stored matrices`);
    const a = tidy(() => m.forward(ids).toArray());
    m.dispose();
    assert.equal(memoryStats().mappedBytes, before, 'dispose unmaps');
    process.env.LIFT_MMAP = '0';
    try {
      const r = loadModelFromPath(path).model;
      assert.equal(memoryStats().mappedBytes, before, 'LIFT_MMAP=0 reads instead');
      assert.deepEqual(tidy(() => r.forward(ids).toArray()), a, 'read and mapped weights compute the same');
      r.dispose();
    } finally {
      delete process.env.LIFT_MMAP;
    }
    // A Q8_0 block's f16 scale set to +inf: every value of that block is non-finite.
    const bad = join(dir, 'bad.gguf');
    copyFileSync(path, bad);
    const e = readGGUF(bad).tensors.get('blk.2.attn_k.weight')!;
    const fd = openSync(bad, 'r+');
    writeSync(fd, Buffer.from([0x00, 0x7c]), 0, 2, e.byteOffset + 34 * 3); // block 3 of the tensor: elements 96…127
    closeSync(fd);
    assert.throws(() => loadModelFromPath(bad), /bad\.gguf: tensor "blk\.2\.attn_k\.weight": expected finite weights.*element 96 is (-?Infinity|NaN)/);
    assert.equal(memoryStats().mappedBytes, before, 'a refused load leaves nothing mapped');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
