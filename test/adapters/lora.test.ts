// LoRA as an adapter of the frozen base: step 0 is the base model bit for bit (B = 0), the trainable count
// is r·(in + out) per module, training never touches a base weight, and merge/unmerge are inverses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tape, crossEntropy, AdamW, tidy, memoryStats } from '../../src/engine/index.js';
import type { LlamaConfig } from '../../src/model/config.js';
import { LlamaModel, type ProjName } from '../../src/model/llama.js';
import { loadModelFromPath } from '../../src/model/load.js';
import { LoraAdapter, ALL_LINEAR, modulePath } from '../../src/adapters/lora.js';
import { seededRandom } from '../../src/adapters/init.js';
import { requireShared, sharedPath } from '../helpers/shared.js';
import { tinyConfig, tinyModel, randomIds, maxAbs } from './tiny.js';

const logits = (model: LlamaModel, ids: Int32Array, adapter: LoraAdapter | null): Float32Array =>
  tidy(() => model.forward(ids, { adapter }).toArray());

/** Closed form: Σ over adapted modules of r·(in + out). */
function loraCount(c: LlamaConfig, r: number, targets: ProjName[]): number {
  const C = c.hidden_size, Q = c.num_attention_heads * c.head_dim, KV = c.num_key_value_heads * c.head_dim, I = c.intermediate_size;
  const io: Record<ProjName, number> = { q_proj: C + Q, k_proj: C + KV, v_proj: C + KV, o_proj: Q + C, gate_proj: C + I, up_proj: C + I, down_proj: I + C, lm_head: C + c.vocab_size };
  return targets.reduce((s, t) => s + r * io[t] * (t === 'lm_head' ? 1 : c.num_hidden_layers), 0);
}

test('LoRA step 0 equals the base model exactly; count = r·(in + out) per module', () => {
  for (const over of [{}, { architectures: ['Qwen2ForCausalLM'], tie_word_embeddings: true }]) {
    const c = tinyConfig(over), model = tinyModel(c), ids = randomIds(9, c.vocab_size);
    const targets: ProjName[] = [...ALL_LINEAR, 'lm_head'];
    const lora = new LoraAdapter(model, { r: 4, lora_alpha: 8, target_modules: targets, seed: 3 });
    assert.deepEqual(logits(model, ids, lora), logits(model, ids, null), `${c.model_type}: B = 0 must give the base logits bit for bit`);
    assert.equal(lora.parameterCount(), loraCount(c, 4, targets));
    lora.dispose();
    model.dispose();
  }
  assert.equal(memoryStats().liveBuffers, 0);
});

test('LoRA training (AdamW) leaves every base weight bit-identical and learns', () => {
  const c = tinyConfig(), model = tinyModel(c), ids = randomIds(12, c.vocab_size), targets = randomIds(12, c.vocab_size, 9);
  const before = model.parameters().map((t) => t.f32().slice());
  const lora = new LoraAdapter(model, { r: 2, lora_alpha: 4, target_modules: [...ALL_LINEAR, 'lm_head'], seed: 1 });
  const opt = new AdamW(lora.parameters(), { lr: 1e-2 });
  const losses: number[] = [];
  for (let step = 0; step < 4; step++) {
    opt.zeroGrad();
    const tape = new Tape();
    const { loss } = tape.record(() => crossEntropy(model.forward(ids, { adapter: lora }), targets));
    losses.push(loss.item());
    tape.backward(loss);
    assert.ok(opt.stepWith().applied);
    tape.dispose();
  }
  assert.ok(losses[3] < losses[0], `loss must fall: ${losses.join(' → ')}`);
  model.parameters().forEach((t, i) => {
    assert.equal(t.grad, null, `${t.name} must get no gradient`);
    assert.deepEqual(t.f32(), before[i], `${t.name} changed`);
  });
  opt.dispose();
  lora.dispose();
  model.dispose();
});

test('LoRA merge then unmerge: merged − (α/r)·B·A equals the base weight within 1e-6', () => {
  const c = tinyConfig({ tie_word_embeddings: true }), model = tinyModel(c), ids = randomIds(7, c.vocab_size);
  const lora = new LoraAdapter(model, { r: 3, lora_alpha: 6, target_modules: ['q_proj', 'down_proj', 'lm_head'], seed: 2 });
  const rand = seededRandom(5);
  for (const [, B] of lora.modules.values()) {
    const d = B.f32();
    for (let i = 0; i < d.length; i++) d[i] = (2 * rand() - 1) * 0.3; // a trained-looking, nonzero B
  }
  const merged = lora.merge(model);
  let worst = 0;
  for (const [path, [A, B]] of lora.modules) {
    const key = path === 'lm_head' ? 'lm_head.weight' : `${path}.weight`;
    const baseKey = path === 'lm_head' ? 'model.embed_tokens.weight' : key; // tied head: the embedding
    const W = model.weights.get(baseKey)!.f32(), M = merged.get(key)!.f32();
    const [out, inF] = model.weights.get(baseKey)!.shape, r = lora.config.r, a = A.f32(), b = B.f32();
    let changed = 0;
    for (let o = 0; o < out; o++)
      for (let i = 0; i < inF; i++) {
        let ba = 0;
        for (let k = 0; k < r; k++) ba += b[o * r + k] * a[k * inF + i];
        worst = Math.max(worst, Math.abs(M[o * inF + i] - lora.scaling * ba - W[o * inF + i]));
        changed = Math.max(changed, Math.abs(M[o * inF + i] - W[o * inF + i]));
      }
    assert.ok(changed > 1e-3, `${path}: the merge must change the weight`);
  }
  console.log(`  unmerge max|merged − (α/r)·B·A − W| = ${worst.toExponential(2)}`);
  assert.ok(worst < 1e-6, `unmerge error ${worst}`);
  // The merged weights are a plain model computing the adapted function.
  const plain = new LlamaModel({ ...c, tie_word_embeddings: false }, merged, 'half', 'merged');
  const d = maxAbs(logits(plain, ids, null), logits(model, ids, lora));
  assert.ok(d < 1e-4, `merged model differs from model + adapter by ${d}`);
  for (const path of lora.modules.keys()) merged.get(path === 'lm_head' ? 'lm_head.weight' : `${path}.weight`)!.dispose();
  lora.dispose();
  model.dispose();
  assert.equal(memoryStats().liveBuffers, 0);
});

test('stories260K: LoRA at step 0 reproduces the base logits bit for bit', (t) => {
  if (!requireShared(t, 'models/stories260K')) return;
  const loaded = loadModelFromPath(sharedPath('models/stories260K/stories260K.bin'));
  const ids = Int32Array.from([1, 403, 407, 261, 378, 280, 395, 430, 261, 32, 79]);
  const lora = new LoraAdapter(loaded.model, { r: 8, lora_alpha: 16, target_modules: [...ALL_LINEAR, 'lm_head'] });
  assert.deepEqual(logits(loaded.model, ids, lora), logits(loaded.model, ids, null));
  assert.equal(lora.parameterCount(), loraCount(loaded.model.config, 8, [...ALL_LINEAR, 'lm_head']));
  assert.ok(lora.modules.has(modulePath(0, 'q_proj')));
  lora.dispose();
  loaded.model.dispose();
});
