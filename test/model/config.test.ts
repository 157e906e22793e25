// Configurations we cannot run, and checkpoints whose tensors disagree with their config, are refused with
// the file, the key or tensor, and what was expected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseHFConfig, parameterCount } from '../../src/model/config.js';
import { loadModelFromPath } from '../../src/model/load.js';
import { writeSafetensors } from '../../src/io/safetensors.js';

const base = { architectures: ['LlamaForCausalLM'], hidden_size: 8, intermediate_size: 12, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, vocab_size: 5 };

test('config.json errors name the file and the key', () => {
  assert.throws(() => parseHFConfig({ ...base, architectures: ['GPT2LMHeadModel'] }, 'm/config.json'), /m\/config\.json: "architectures": expected one of LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, got "GPT2LMHeadModel"/);
  assert.throws(() => parseHFConfig({ ...base, num_key_value_heads: 3 }, 'c.json'), /c\.json: "num_key_value_heads": expected a divisor of num_attention_heads \(2\), got 3/);
  assert.throws(() => parseHFConfig({ ...base, hidden_act: 'gelu' }, 'c.json'), /"hidden_act": expected "silu", got "gelu"/);
  assert.throws(() => parseHFConfig({ ...base, rope_scaling: { rope_type: 'yarn', factor: 4 } }, 'c.json'), /"rope_scaling.rope_type": expected "llama3", "linear" or "default"/);
  assert.throws(() => parseHFConfig({ ...base, hidden_size: -1 }, 'c.json'), /"hidden_size": expected a positive integer, got -1/);
  const c = parseHFConfig({ ...base, architectures: ['Qwen2ForCausalLM'] });
  assert.equal(c.attention_bias, true);
  assert.equal(c.head_dim, 4);
  // embed 5·8 + lm_head 5·8 + layer (q 8·8 + k,v 2·8·4 + o 8·8 + biases 8+4+4 + mlp 3·8·12 + norms 16) + norm 8
  assert.equal(parameterCount(c), 40 + 40 + (64 + 64 + 64 + 16 + 288 + 16) + 8);
});

test('a tensor whose shape disagrees with config.json is refused naming the tensor', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lift-cfg-'));
  try {
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...base, tie_word_embeddings: true }));
    const t = (name: string, shape: number[]) => ({ name, dtype: 'F32' as const, shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
    writeSafetensors(join(dir, 'model.safetensors'), [
      t('model.embed_tokens.weight', [5, 8]), t('model.norm.weight', [8]),
      t('model.layers.0.input_layernorm.weight', [8]), t('model.layers.0.post_attention_layernorm.weight', [8]),
      t('model.layers.0.self_attn.q_proj.weight', [8, 8]), t('model.layers.0.self_attn.k_proj.weight', [8, 8]), // k should be [4, 8]
      t('model.layers.0.self_attn.v_proj.weight', [4, 8]), t('model.layers.0.self_attn.o_proj.weight', [8, 8]),
      t('model.layers.0.mlp.gate_proj.weight', [12, 8]), t('model.layers.0.mlp.up_proj.weight', [12, 8]), t('model.layers.0.mlp.down_proj.weight', [8, 12]),
    ]);
    writeFileSync(join(dir, 'tokenizer.json'), '{}');
    assert.throws(() => loadModelFromPath(dir), /model\.safetensors: tensor "model\.layers\.0\.self_attn\.k_proj\.weight": expected shape \[4, 8\] from the config/);
    rmSync(join(dir, 'config.json'));
    assert.throws(() => loadModelFromPath(dir), /a model folder needs config\.json/);
    assert.throws(() => loadModelFromPath(join(dir, 'nothing.bin')), /no such file or folder/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
