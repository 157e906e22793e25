// GGUF <-> HF tensor names and the q/k RoPE-layout row permutation of convert_hf_to_gguf.py.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ggufToHfName, hfToGgufName, permuteQK } from '../../src/io/names.js';

test('GGUF <-> HF names for llama and Qwen2 tensors', () => {
  const pairs: [string, string][] = [
    ['token_embd.weight', 'model.embed_tokens.weight'],
    ['output_norm.weight', 'model.norm.weight'],
    ['output.weight', 'lm_head.weight'],
    ['blk.0.attn_norm.weight', 'model.layers.0.input_layernorm.weight'],
    ['blk.3.attn_q.weight', 'model.layers.3.self_attn.q_proj.weight'],
    ['blk.3.attn_k.weight', 'model.layers.3.self_attn.k_proj.weight'],
    ['blk.3.attn_v.weight', 'model.layers.3.self_attn.v_proj.weight'],
    ['blk.12.attn_output.weight', 'model.layers.12.self_attn.o_proj.weight'],
    ['blk.1.attn_q.bias', 'model.layers.1.self_attn.q_proj.bias'],
    ['blk.1.attn_k.bias', 'model.layers.1.self_attn.k_proj.bias'],
    ['blk.1.attn_v.bias', 'model.layers.1.self_attn.v_proj.bias'],
    ['blk.2.ffn_norm.weight', 'model.layers.2.post_attention_layernorm.weight'],
    ['blk.2.ffn_gate.weight', 'model.layers.2.mlp.gate_proj.weight'],
    ['blk.2.ffn_down.weight', 'model.layers.2.mlp.down_proj.weight'],
    ['blk.2.ffn_up.weight', 'model.layers.2.mlp.up_proj.weight'],
    ['blk.0.attn_q_norm.weight', 'model.layers.0.self_attn.q_norm.weight'],
  ];
  for (const [g, h] of pairs) {
    assert.equal(ggufToHfName(g), h, g);
    assert.equal(hfToGgufName(h), g, h);
  }
  assert.equal(ggufToHfName('rope_freqs.weight'), undefined);
  assert.equal(ggufToHfName('blk.0.attn_qkv.weight'), undefined);
  assert.equal(hfToGgufName('model.layers.0.self_attn.rotary_emb.inv_freq'), undefined);
});

test('permuteQK on a hand-worked example', () => {
  // One head of size 4, one column: HF rows [a b | c d] pair (a,c), (b,d); interleaved pairs adjacent rows.
  assert.deepEqual([...permuteQK(Float32Array.from([10, 11, 12, 13]), 4, 1, 1, true)], [10, 12, 11, 13]);
  // Two heads of size 4, two columns: each head permuted on its own, columns move with their row.
  const w = Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]); // rows r = [2r, 2r+1]
  assert.deepEqual([...permuteQK(w, 8, 2, 2, true)], [0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15]);
  // Head size 6: HF rows 0..5 -> interleaved order 0,3,1,4,2,5 (i.e. out[2i+s] = in[s*3+i]).
  assert.deepEqual([...permuteQK(Float32Array.from([0, 1, 2, 3, 4, 5]), 6, 1, 1, true)], [0, 3, 1, 4, 2, 5]);
  assert.deepEqual([...permuteQK(Float32Array.from([0, 3, 1, 4, 2, 5]), 6, 1, 1, false)], [0, 1, 2, 3, 4, 5]);
});

test('permuteQK: inverse after forward is the identity (and forward after inverse)', () => {
  for (const [rows, cols, heads] of [[64, 64, 8], [32, 64, 4], [12, 5, 3], [2, 1, 1], [128, 3, 1]]) {
    const w = Float32Array.from({ length: rows * cols }, (_, i) => i * 0.5 - 7);
    const fwd = permuteQK(w, rows, cols, heads, true);
    if (rows > 2) assert.notDeepEqual(fwd, w, 'forward moves rows');
    assert.deepEqual(permuteQK(fwd, rows, cols, heads, false), w);
    assert.deepEqual(permuteQK(permuteQK(w, rows, cols, heads, false), rows, cols, heads, true), w);
  }
  assert.throws(() => permuteQK(new Float32Array(6), 6, 1, 2, true), RangeError); // head size 3 is odd
  assert.throws(() => permuteQK(new Float32Array(5), 6, 1, 1, true), RangeError);
});
