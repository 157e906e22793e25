// The gate's output map V under the paper preset: the authors' GroupedLinear(H, ⌊√D⌋, 1, bias=False)
// (GraphPKU/LIFT lift/gated_memory/model.py) has no bias even where the model's attention has biases (Qwen2),
// while every other map follows attention_bias. Ours by default keeps a bias on V too. Both survive save → load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatedMemoryAdapter } from '../../src/adapters/gated-memory.js';
import { saveAdapter, loadAdapter, GATED_MEMORY_CONFIG_FILE } from '../../src/adapters/files.js';
import { PAPER_DEFAULTS, presetAbsorbOptions } from '../../src/lift/presets.js';
import { tinyConfig, tinyModel } from './tiny.js';

const biasNames = (gm: GatedMemoryAdapter): string[] => gm.parameters().map((t) => t.name).filter((n) => n.startsWith('model.layers.0.') && n.endsWith('.bias')).map((n) => n.split('.').at(-2)!);

test('paper preset on a Qwen2-like model (attention_bias): gate_out has no bias, the other maps keep theirs', () => {
  const c = tinyConfig({ architectures: ['Qwen2ForCausalLM'] }), model = tinyModel(c);
  assert.equal(c.attention_bias, true);
  const opts = presetAbsorbOptions(PAPER_DEFAULTS, { window: c.max_position_embeddings, addBos: true }).gatedMemory;
  const paper = new GatedMemoryAdapter(model, opts), ours = new GatedMemoryAdapter(model);
  assert.deepEqual(biasNames(paper), ['mem_in', 'mem_out', 'gate_in']);
  assert.deepEqual(biasNames(ours), ['mem_in', 'mem_out', 'gate_in', 'gate_out']);
  // One bias of one number per head and layer fewer, and countFor agrees.
  assert.equal(ours.parameterCount() - paper.parameterCount(), c.num_hidden_layers * c.num_attention_heads);
  assert.equal(GatedMemoryAdapter.countFor(c, opts), paper.parameterCount());

  const dir = mkdtempSync(join(tmpdir(), 'lift-gate-bias-'));
  try {
    saveAdapter(join(dir, 'a'), paper, { base: { model, id: model.id, revision: null } });
    assert.equal(JSON.parse(readFileSync(join(dir, 'a', GATED_MEMORY_CONFIG_FILE), 'utf8')).gate_out_bias, false);
    const { adapter } = loadAdapter(join(dir, 'a'), { model, id: model.id, revision: null });
    assert.ok(adapter instanceof GatedMemoryAdapter);
    assert.deepEqual(biasNames(adapter), ['mem_in', 'mem_out', 'gate_in'], 'loaded without the bias it was saved without');
    adapter.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
    paper.dispose();
    ours.dispose();
    model.dispose();
  }
});

test('without attention biases no map has one, whatever gateOutBias says', () => {
  const c = tinyConfig(), model = tinyModel(c);
  const gm = new GatedMemoryAdapter(model, { gateOutBias: true });
  assert.deepEqual(biasNames(gm), []);
  gm.dispose();
  model.dispose();
});
