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
      writeSafetensors(st, [...ck.tensors.values()].map((e) => ({ name: e.name, dtype, shape: e.shape, data: readF32(e) })), ck.metadata ?? undefined);
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
