// QLoRA-style training: LoRA on a base whose weights stay quantized (q4_k, q8_0, q6_k, bf16). The gradient of
// every LoRA parameter through the quantized base equals the gradient through the same base dequantized to
// f32 (the quantized kernels' input gradients are right inside a whole model: attention, MLP, lm_head and the
// embedding lookup), training lowers the loss, and the base bytes stay bit-identical.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tape, Tensor, crossEntropy, AdamW, quantize, untracked, valuesF32, type DType } from '../../src/engine/index.js';
import { LlamaModel } from '../../src/model/llama.js';
import { ALL_LINEAR, LoraAdapter } from '../../src/adapters/lora.js';
import { seededRandom } from '../../src/adapters/init.js';
import { tinyConfig, tinyModel, randomIds } from '../adapters/tiny.js';

/** The model with every matrix stored as `dtype` (vectors stay f32), and the same model dequantized to f32. */
function quantizedPair(base: LlamaModel, dtype: DType): [LlamaModel, LlamaModel] {
  const q = new Map<string, Tensor>(), d = new Map<string, Tensor>();
  untracked(() => {
    for (const [name, t] of base.weights) {
      const qt = t.shape.length === 2 ? quantize(t.f32(), t.shape, dtype, name) : Tensor.from(t.f32(), t.shape, { name });
      q.set(name, qt);
      d.set(name, Tensor.from(valuesF32(qt), t.shape, { name }));
    }
  });
  return [new LlamaModel(base.config, q, base.ropeLayout, 'quantized'), new LlamaModel(base.config, d, base.ropeLayout, 'dequantized')];
}

function loraWithNonzeroB(model: LlamaModel): LoraAdapter {
  const lora = new LoraAdapter(model, { r: 4, lora_alpha: 8, target_modules: [...ALL_LINEAR, 'lm_head'], seed: 3 });
  const rand = seededRandom(11);
  for (const [, B] of lora.modules.values()) for (let i = 0, b = B.f32(); i < b.length; i++) b[i] = (2 * rand() - 1) * 0.05; // A's gradient needs B ≠ 0
  return lora;
}

for (const dtype of ['q4_k', 'q6_k', 'q8_0', 'bf16'] as DType[]) {
  test(`LoRA on a ${dtype} base: gradients equal the dequantized f32 base's, training learns, the base is untouched`, () => {
    // 256-wide rows: whole K-quant super-blocks. One layer keeps it quick.
    const c = tinyConfig({ hidden_size: 256, intermediate_size: 512, num_hidden_layers: 1, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 64 });
    const f32 = tinyModel(c, 5);
    const [mq, md] = quantizedPair(f32, dtype);
    f32.dispose();
    const ids = randomIds(19, c.vocab_size, 2), targets = randomIds(19, c.vocab_size, 4);
    const grads = (m: LlamaModel): Float32Array[] => {
      const lora = loraWithNonzeroB(m), tape = new Tape();
      try {
        const { loss } = tape.record(() => crossEntropy(m.forward(ids, { adapter: lora }), targets));
        tape.backward(loss);
        return lora.parameters().map((p) => p.grad!.f32().slice());
      } finally {
        tape.dispose();
        lora.dispose();
      }
    };
    const gq = grads(mq), gd = grads(md);
    gq.forEach((g, k) => {
      const scale = Math.max(1e-3, ...Array.from(gd[k], Math.abs));
      g.forEach((v, i) => assert.ok(Math.abs(v - gd[k][i]) <= 1e-3 * scale, `${dtype}: LoRA parameter ${k} gradient[${i}] ${v} vs ${gd[k][i]} (f32 base)`));
    });

    const before = mq.parameters().map((t) => t.bytes().slice());
    const lora = loraWithNonzeroB(mq), opt = new AdamW(lora.parameters(), { lr: 1e-2 });
    const losses: number[] = [];
    for (let step = 0; step < 6; step++) {
      opt.zeroGrad();
      const tape = new Tape();
      const { loss } = tape.record(() => crossEntropy(mq.forward(ids, { adapter: lora }), targets));
      losses.push(loss.item());
      tape.backward(loss);
      opt.stepWith();
      tape.dispose();
    }
    assert.ok(losses[5] < losses[0] - 0.05, `${dtype}: loss must fall: ${losses.map((l) => l.toFixed(3)).join(' → ')}`);
    mq.parameters().forEach((t, i) => {
      assert.equal(t.grad, null, `${t.name} must get no gradient`);
      assert.deepEqual(t.bytes(), before[i], `${t.name} changed`);
    });
    opt.dispose();
    lora.dispose();
    mq.dispose();
    md.dispose();
  });
}
