// End to end against PyTorch: a tiny Llama (GQA 2:1, tied embeddings) with LoRA r = 4 on all seven
// projections; the loss, every adapter gradient, and the losses of 5 AdamW steps with grad clipping must
// match test/fixtures/engine_lora_step.json, written by scripts/fixtures/torch_reference.py.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tape, crossEntropy, AdamW, memoryStats } from '../../src/engine/index.js';
import { parseHFConfig } from '../../src/model/config.js';
import { LlamaModel } from '../../src/model/llama.js';
import { LoraAdapter, ALL_LINEAR } from '../../src/adapters/lora.js';
import { loadFixture, toWeights, decode, maxAbsDiff, type Encoded } from '../helpers/fixtures.js';

interface Fx {
  config: Record<string, unknown>;
  weights: Record<string, Encoded>;
  lora: { r: number; alpha: number; init: Record<string, Encoded> };
  input_ids: number[];
  targets: number[];
  loss: number;
  grads: Record<string, Encoded>;
  adamw: { lr: number; betas: [number, number]; eps: number; weight_decay: number; clip: number };
  losses: number[];
  logits: Encoded;
}

test('tiny Llama + LoRA: loss, adapter gradients and 5 AdamW steps match PyTorch', () => {
  const fx = loadFixture<Fx>('engine_lora_step.json');
  const config = parseHFConfig(fx.config, 'engine_lora_step.json');
  const model = new LlamaModel(config, toWeights(fx.weights), 'half');
  const lora = new LoraAdapter(model, { r: fx.lora.r, lora_alpha: fx.lora.alpha, target_modules: ALL_LINEAR });
  for (const p of lora.parameters()) p.f32().set(decode(fx.lora.init[p.name]));
  const ids = Int32Array.from(fx.input_ids), targets = Int32Array.from(fx.targets);
  const before = model.parameters().map((t) => t.f32().slice());

  const tape = new Tape();
  const logits = tape.record(() => model.forward(ids, { adapter: lora }));
  const logitDiff = maxAbsDiff(logits.f32(), decode(fx.logits));
  const { loss } = tape.record(() => crossEntropy(logits, targets));
  tape.backward(loss);
  const lossDiff = Math.abs(loss.item() - fx.loss);
  console.log(`  logits max|Δ| ${logitDiff.toExponential(2)}; loss ours ${loss.item()} torch ${fx.loss} |Δ| ${lossDiff.toExponential(2)}`);
  // docs/correctness.md: logits 3e-6, loss 1e-6, gradients 1e-6, AdamW losses 2e-6 (seen 1.0e-6, 0, 2.8e-7, 7.2e-7).
  assert.ok(logitDiff <= 3e-6, `logits differ by ${logitDiff}`);
  assert.ok(lossDiff <= 1e-6, `loss differs by ${lossDiff}`);
  let worst = 0;
  for (const p of lora.parameters()) {
    const want = decode(fx.grads[p.name]);
    const d = maxAbsDiff(p.grad!.f32(), want);
    const scale = Math.max(...Array.from(want, Math.abs));
    worst = Math.max(worst, d);
    console.log(`  ${p.name}: max|Δ| ${d.toExponential(2)} (max |g| ${scale.toExponential(2)})`);
    assert.ok(d <= 1e-6, `${p.name}: gradient differs by ${d} (max |g| ${scale})`);
  }
  assert.equal(lora.parameters().length, 2 * 7 * config.num_hidden_layers);
  // Frozen base: no gradient buffers.
  for (const t of model.parameters()) assert.equal(t.grad, null, `${t.name} must not get a gradient`);
  tape.dispose();

  const { lr, betas, eps, weight_decay, clip } = fx.adamw;
  const opt = new AdamW(lora.parameters(), { lr, beta1: betas[0], beta2: betas[1], eps, weightDecay: weight_decay, clip });
  const losses: number[] = [];
  for (let step = 0; step <= 5; step++) {
    opt.zeroGrad();
    const t = new Tape();
    const { loss: l } = t.record(() => crossEntropy(model.forward(ids, { adapter: lora }), targets, { inPlace: true }));
    losses.push(l.item());
    if (step < 5) {
      t.backward(l);
      const r = opt.stepWith();
      assert.ok(r.applied);
    }
    t.dispose();
  }
  const ld = maxAbsDiff(losses, fx.losses);
  console.log(`  AdamW losses ours ${losses.map((x) => x.toFixed(6)).join(' ')}\n  torch            ${fx.losses.map((x) => x.toFixed(6)).join(' ')}  max|Δ| ${ld.toExponential(2)}`);
  assert.ok(ld <= 2e-6, `AdamW trajectory differs by ${ld}`);
  assert.ok(losses[5] < losses[0] - 0.1, 'the adapter must learn');
  // Base weights bit-identical after training.
  model.parameters().forEach((t, i) => assert.deepEqual(t.f32(), before[i], `${t.name} changed`));
  opt.dispose();
  lora.dispose();
  model.dispose();
  assert.equal(memoryStats().liveBuffers, 0, 'every native buffer is freed');
});
