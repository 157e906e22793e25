// Tiny random models against PyTorch (scripts/fixtures/torch_reference.py, which follows transformers'
// modeling_llama.py / modeling_qwen2.py): a Llama with GQA 3:1, an untied head and rope_scaling "llama3"
// (head_dim 8, theta 1e4: its four wavelengths fall in the kept, smoothed and divided bands), and a Qwen2 with
// q/k/v biases and tied embeddings. Logits of 17 tokens must agree within 1e-5, and the RoPE inverse
// frequencies with the fixture's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tidy } from '../../src/engine/index.js';
import { parseHFConfig } from '../../src/model/config.js';
import { LlamaModel } from '../../src/model/llama.js';
import { ropeInvFreq } from '../../src/model/rope.js';
import { loadFixture, toWeights, decode, maxAbsDiff, type Encoded } from '../helpers/fixtures.js';

interface Fx {
  config: Record<string, unknown>;
  weights: Record<string, Encoded>;
  input_ids: number[];
  logits: Encoded;
  inv_freq: Encoded;
}

for (const [file, what] of [['llama_gqa_llama3.json', 'Llama GQA 3:1 + llama3 rope scaling'], ['qwen2_bias.json', 'Qwen2 with q/k/v biases']] as const) {
  test(`${what}: logits match PyTorch`, () => {
    const fx = loadFixture<Fx>(file);
    const config = parseHFConfig(fx.config, file);
    const invDiff = maxAbsDiff(ropeInvFreq(config), decode(fx.inv_freq));
    const model = new LlamaModel(config, toWeights(fx.weights), 'half', file);
    const d = tidy(() => maxAbsDiff(model.forward(Int32Array.from(fx.input_ids)).f32(), decode(fx.logits)));
    console.log(`  ${file}: inv_freq max|Δ| ${invDiff.toExponential(2)}, logits max|Δ| ${d.toExponential(2)}`);
    assert.ok(invDiff < 1e-7, `inv_freq differs by ${invDiff}`);
    assert.ok(d < 1e-5, `logits differ by ${d}`);
    if (config.model_type === 'qwen2') assert.ok(model.weights.has('model.layers.0.self_attn.q_proj.bias'), 'biases loaded');
    model.dispose();
  });
}
