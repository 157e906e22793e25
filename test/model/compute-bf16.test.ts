// compute: 'bf16' against the fp32 path on whole models: stories260K (a real checkpoint) and a random model of
// SmolLM2's shape (head dim 64, GQA 3:1, hidden 576, intermediate 1536, tied embeddings; 2 layers).
//
// Tolerances, from bf16's 8-bit significand: rounding to nearest gives a relative error ≤ u = 2⁻⁸ per value,
// about u/√3 ≈ 2.3·10⁻³ rms. A bf16 product rounds both the weight and the activation, so each matrix product
// carries ≈ √2 · 2.3·10⁻³ ≈ 3.3·10⁻³ relative rms error; a layer chains ~4 products (q/k/v → o, gate/up → down)
// whose errors add independently, and the residual stream carries them on. We allow, relative in L2 norm,
//   logits:               8·u ≈ 0.031 (stories260K: 5 layers; SmolLM2-shape: 2)
//   LoRA gradients:       16·u ≈ 0.063 (forward and backward both round: about twice the logits' error)
// Measured (2026-12-03): logits 3.6·10⁻³ (stories260K) and 8.1·10⁻³ (SmolLM2-shape); gradients 2.3·10⁻² and 1.4·10⁻²;
// with attention's products in bf16 too (≥ 16 query rows, attention-bf16.cc): logits 5.4·10⁻³ and 8.4·10⁻³, gradients
// 4.7·10⁻² (stories260K's head dim 8: each score is a sum of only 8 rounded products) and 1.7·10⁻². The bf16 path must also agree on
// the greedy next token where the fp32 path's top two logits are apart by more than the allowed error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tape, Tensor, crossEntropy, cpuFeatures, type Compute } from '../../src/engine/index.js';
import { loadModelFromPath } from '../../src/model/load.js';
import { withBf16Weights } from '../../src/model/compute.js';
import { LlamaModel } from '../../src/model/llama.js';
import { ALL_LINEAR, LoraAdapter } from '../../src/adapters/lora.js';
import { seededRandom } from '../../src/adapters/init.js';
import { tinyConfig, tinyModel, randomIds } from '../adapters/tiny.js';
import { requireShared, sharedPath } from '../helpers/shared.js';

const U = 2 ** -8;
const LOGITS_TOL = 8 * U, GRAD_TOL = 16 * U;

function relL2(a: Float32Array, ref: Float32Array): number {
  let d = 0, n = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i] - ref[i]) ** 2;
    n += ref[i] ** 2;
  }
  return Math.sqrt(d / Math.max(n, 1e-30));
}

function lora(model: LlamaModel): LoraAdapter {
  const l = new LoraAdapter(model, { r: 4, lora_alpha: 8, target_modules: [...ALL_LINEAR, 'lm_head'], seed: 3 });
  const rand = seededRandom(11);
  for (const [, B] of l.modules.values()) for (let i = 0, b = B.f32(); i < b.length; i++) b[i] = (2 * rand() - 1) * 0.05; // A's gradient needs B ≠ 0
  return l;
}

interface Run {
  logits: Float32Array;
  grads: Float32Array[];
}
function run(model: LlamaModel, ids: Int32Array, targets: Int32Array): Run {
  const ad = lora(model), tape = new Tape();
  try {
    let logits = new Float32Array();
    const { loss } = tape.record(() => {
      const y = model.forward(ids, { adapter: ad });
      logits = y.f32().slice();
      return crossEntropy(y, targets);
    });
    tape.backward(loss);
    return { logits, grads: ad.parameters().map((p) => p.grad!.f32().slice()) };
  } finally {
    tape.dispose();
    ad.dispose();
  }
}

function compare(what: string, fp32: Run, bf16: Run, V: number): void {
  const e = relL2(bf16.logits, fp32.logits);
  assert.ok(e <= LOGITS_TOL, `${what}: logits differ by ${e.toExponential(2)} relative (L2), allowed ${LOGITS_TOL.toExponential(2)}`);
  assert.ok(e > 0, `${what}: bf16 logits equal fp32's exactly: the bf16 path did not run`);
  // Greedy agreement where fp32's margin exceeds the error allowed at that row's scale.
  const T = fp32.logits.length / V;
  for (let t = 0; t < T; t++) {
    const row = fp32.logits.subarray(t * V, (t + 1) * V), rowB = bf16.logits.subarray(t * V, (t + 1) * V);
    const sorted = [...row].sort((a, b) => b - a), norm = Math.sqrt(row.reduce((s, v) => s + v * v, 0) / V);
    if (sorted[0] - sorted[1] <= 2 * LOGITS_TOL * norm) continue;
    const arg = (r: Float32Array) => r.indexOf(Math.max(...r));
    assert.equal(arg(rowB), arg(row), `${what}: greedy token at position ${t}`);
  }
  const worst = Math.max(...bf16.grads.map((g, k) => relL2(g, fp32.grads[k])));
  assert.ok(worst <= GRAD_TOL, `${what}: LoRA gradients differ by up to ${worst.toExponential(2)} relative (L2), allowed ${GRAD_TOL.toExponential(2)}`);
}

test('bf16 compute: stories260K logits and LoRA gradients match the fp32 path', { skip: !cpuFeatures().bf16 && 'no AVX-512 BF16 units' }, (t) => {
  if (!requireShared(t, 'models', 'stories260K', 'stories260K.bin')) return;
  const path = sharedPath('models', 'stories260K', 'stories260K.bin');
  const runs = new Map<Compute, Run>();
  let V = 0;
  for (const compute of ['fp32', 'bf16'] as const) {
    const loaded = loadModelFromPath(path, { compute });
    assert.equal(loaded.compute, compute);
    V = loaded.model.config.vocab_size;
    const ids = Int32Array.from(loaded.tokenizer.encode('Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her dog.', { bos: true }));
    if (compute === 'bf16') for (const w of loaded.model.parameters()) if (w.shape.length === 2) assert.equal(w.dtype, 'bf16', `${w.name} held in bf16`);
    runs.set(compute, run(loaded.model, ids.subarray(0, -1), ids.subarray(1)));
    loaded.model.dispose();
  }
  compare('stories260K', runs.get('fp32')!, runs.get('bf16')!, V);
});

test('bf16 compute: a random SmolLM2-shaped model (45 tokens; and 1 token) matches the fp32 path', { skip: !cpuFeatures().bf16 && 'no AVX-512 BF16 units' }, () => {
  const c = tinyConfig({ hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 2, num_attention_heads: 9, num_key_value_heads: 3, vocab_size: 1000, tie_word_embeddings: true });
  const ids = randomIds(45, c.vocab_size, 2), targets = randomIds(45, c.vocab_size, 4);
  // ±0.05 weights: activations of order one through 576-wide rows, like a trained model's.
  const make = () => scaled(tinyModel(c, 5), 0.25);
  const fp32 = make(), bf16 = withBf16Weights(make());
  compare('SmolLM2-shape', run(fp32, ids, targets), run(bf16, ids, targets), c.vocab_size);
  // M = 1 (decode: the matrix-vector kernel) against the fp32 path on the same single token.
  const one = ids.subarray(7, 8);
  const e = relL2(bf16.forward(one).f32(), fp32.forward(one).f32());
  assert.ok(e > 0 && e <= LOGITS_TOL, `one token: logits differ by ${e.toExponential(2)}, allowed ${LOGITS_TOL.toExponential(2)}`);
  fp32.dispose();
  bf16.dispose();
});

function scaled(m: LlamaModel, s: number): LlamaModel {
  for (const [name, t] of m.weights) if (!name.endsWith('norm.weight')) for (let i = 0, d = t.f32(); i < d.length; i++) d[i] *= s;
  return m;
}

test('bf16 compute: the frozen weights are held in bf16 (half the bytes) and get no gradient', { skip: !cpuFeatures().bf16 && 'no AVX-512 BF16 units' }, () => {
  const c = tinyConfig({ hidden_size: 64, intermediate_size: 96, num_attention_heads: 4, num_key_value_heads: 2 });
  const m = tinyModel(c, 1);
  const f32Bytes = m.parameters().filter((t) => t.shape.length === 2).reduce((s, t) => s + t.bytes().length, 0);
  const b = withBf16Weights(m);
  const mats = b.parameters().filter((t) => t.shape.length === 2);
  assert.equal(mats.reduce((s, t) => s + t.bytes().length, 0) * 2, f32Bytes);
  const r = run(b, randomIds(9, c.vocab_size, 1), randomIds(9, c.vocab_size, 2));
  assert.ok(r.grads.every((g) => g.some((v) => v !== 0)));
  for (const t of b.parameters()) assert.equal(t.grad, null, `${t.name} must get no gradient`);
  assert.ok(b.parameters().every((t: Tensor) => t.shape.length !== 2 || t.dtype === 'bf16'));
  b.dispose();
});
