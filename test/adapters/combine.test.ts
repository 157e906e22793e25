// Combining adapters trained separately on one base (src/adapters/combine.ts): LoRA adapters applied together
// equal the base with both merged in, W + ΔW_a + ΔW_b (checked against LoraAdapter.merge, not against the
// hook arithmetic itself), in either order; Gated Memory is refused with the reason; a single adapter passes through.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tidy } from '../../src/engine/index.js';
import { LlamaModel } from '../../src/model/llama.js';
import { LoraAdapter, ALL_LINEAR } from '../../src/adapters/lora.js';
import { GatedMemoryAdapter } from '../../src/adapters/gated-memory.js';
import { adapterList, combineAdapters, CombinedLora } from '../../src/adapters/combine.js';
import { maxAbs, randomIds, tinyConfig, tinyModel } from './tiny.js';

/** A LoRA with random (non-zero) B, so its delta is not zero. */
function trainedLora(model: LlamaModel, seed: number, r: number): LoraAdapter {
  const lora = new LoraAdapter(model, { r, lora_alpha: 2 * r, target_modules: ALL_LINEAR, seed });
  let s = seed;
  for (const [, B] of lora.modules.values()) {
    const d = B.f32();
    for (let i = 0; i < d.length; i++) d[i] = (((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) - 0.5) * 0.2;
  }
  return lora;
}

test('two LoRA adapters together equal the base with both merged in, in either order', () => {
  const c = tinyConfig();
  const model = tinyModel(c);
  const a = trainedLora(model, 3, 4), b = trainedLora(model, 11, 2); // different ranks: only the deltas add
  // W + ΔW_a, then + ΔW_b: merge a into a new model, merge b into that.
  const withA = new LlamaModel(c, a.merge(model), model.ropeLayout, 'a');
  const bOnA = new LoraAdapter(withA, b.config);
  for (const [p, [A, B]] of b.modules) { bOnA.modules.get(p)![0].f32().set(A.f32()); bOnA.modules.get(p)![1].f32().set(B.f32()); }
  const both = new LlamaModel(c, bOnA.merge(withA), model.ropeLayout, 'ab');
  const ids = randomIds(12, c.vocab_size);
  const want = tidy(() => both.forward(ids).f32().slice());
  const alone = tidy(() => model.forward(ids, { adapter: a }).f32().slice());
  for (const combined of [combineAdapters([a, b], ['a', 'b']), new CombinedLora([b, a])]) {
    const got = tidy(() => model.forward(ids, { adapter: combined }).f32().slice());
    assert.ok(maxAbs(got, want) < 1e-4, `combined vs merged: max |Δ| ${maxAbs(got, want)}`);
    assert.ok(maxAbs(got, alone) > 1e-2, 'the second adapter changes the output');
  }
});

test('Gated Memory adapters are refused with the reason; one adapter passes through; lists are parsed strictly', () => {
  const c = tinyConfig();
  const model = tinyModel(c);
  const lora = trainedLora(model, 3, 4), gm = new GatedMemoryAdapter(model, { seed: 2 });
  assert.throws(() => combineAdapters([lora, gm], ['a.lift', 'm.lift']), /cannot combine m\.lift: Gated Memory adapters do not add up — each memory replaces a gated share/);
  assert.equal(combineAdapters([gm], ['m.lift']), gm);
  assert.deepEqual(adapterList('a.lift, b.lift'), ['a.lift', 'b.lift']);
  assert.throws(() => adapterList('a.lift,'), /expected adapter folders separated by commas/);
});
