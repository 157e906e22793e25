// The adapter router (src/adapters/route.ts): for a prompt it applies the adapter under which the prompt's scored
// tokens are most likely. Checked against independent paths — each part's NLL from meanNll (full logits, per
// token) or from full-logit cross-entropy with the unscored targets ignored; two adapters each trained on its
// own sequence are told apart by those sequences; generateText through a router is generateText through its
// choice; forward() refuses a router; meanNll routes each sequence.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdamW, IGNORE_INDEX, Tape, crossEntropy, tidy } from '../../src/engine/index.js';
import { LoraAdapter, ALL_LINEAR } from '../../src/adapters/lora.js';
import { AdapterRouter } from '../../src/adapters/route.js';
import { meanNll } from '../../src/model/perplexity.js';
import { generate } from '../../src/model/generate.js';
import type { LlamaModel } from '../../src/model/llama.js';
import { randomIds, tinyConfig, tinyModel } from './tiny.js';

/** A LoRA trained for a few AdamW steps to continue `seq` (so it finds seq likelier than the base does). */
function loraOn(model: LlamaModel, seq: Int32Array, seed: number): LoraAdapter {
  const lora = new LoraAdapter(model, { r: 4, lora_alpha: 8, target_modules: [...ALL_LINEAR], seed });
  const B = lora.modules; // B starts at zero: nudge it so that the first step moves A too
  for (const [, b] of B.values()) b.f32().fill(0.01);
  const opt = new AdamW(lora.parameters(), { lr: 3e-2 });
  for (let step = 0; step < 30; step++) {
    opt.zeroGrad();
    const tape = new Tape();
    const { loss } = tape.record(() => crossEntropy(model.forward(seq.subarray(0, -1), { adapter: lora }), seq.subarray(1)));
    tape.backward(loss);
    opt.stepWith();
    tape.dispose();
  }
  opt.dispose();
  return lora;
}

test('a router picks the adapter trained on the prompt, and scores as meanNll does', () => {
  const c = tinyConfig(), model = tinyModel(c);
  const x = randomIds(16, c.vocab_size, 3), y = randomIds(16, c.vocab_size, 5);
  const a = loraOn(model, x, 1), b = loraOn(model, y, 2);
  const router = new AdapterRouter(model, [a, b], ['a', 'b']);
  for (const [seq, want] of [[x, 0], [y, 1]] as const) {
    const ids = [...seq];
    const { index, nlls } = router.choose(ids);
    // Independent: meanNll over the whole sequence with each part (full logits, per-token NLLs averaged).
    const ref = [a, b].map((p) => meanNll(model, [ids], { adapter: p }).nll);
    nlls.forEach((v, i) => assert.ok(Math.abs(v - ref[i]) < 1e-5, `part ${i}: router ${v} vs meanNll ${ref[i]}`));
    assert.equal(index, want, `sequence ${want} should route to the adapter trained on it (NLLs ${nlls.join(', ')})`);
    assert.ok(nlls[want] < nlls[1 - want] - 0.5, `the trained adapter is clearly likelier: ${nlls.join(' vs ')}`);
    assert.equal(router.forPrompt(ids), [a, b][want]);
    // meanNll through the router routes the sequence: its NLL is that of the chosen part.
    assert.ok(Math.abs(meanNll(model, [ids], { adapter: router }).nll - ref[want]) < 1e-6);
  }
  // Scoring from an index: only the tail's tokens count. x's head followed by y's tail routes to b.
  const mixed = [...x.subarray(0, 8), ...y.subarray(8)];
  const from = 9; // tokens 9… are predicted from contexts that reach into y's half
  const { nlls } = router.choose(mixed, from);
  for (const [i, p] of [a, b].entries()) {
    const targets = Int32Array.from(mixed.slice(1), (t, j) => (j + 1 >= from ? t : IGNORE_INDEX));
    const ref = tidy(() => crossEntropy(model.forward(Int32Array.from(mixed.slice(0, -1)), { adapter: p }), targets).loss.item());
    assert.ok(Math.abs(nlls[i] - ref) < 1e-5, `part ${i} from ${from}: ${nlls[i]} vs ${ref}`);
  }
  router.dispose();
  model.dispose();
});

test('generation through a router is generation through its choice; forward refuses a router', async () => {
  const c = tinyConfig(), model = tinyModel(c);
  const x = randomIds(16, c.vocab_size, 3), y = randomIds(16, c.vocab_size, 5);
  const a = loraOn(model, x, 1), b = loraOn(model, y, 2);
  const router = new AdapterRouter(model, [a, b]);
  const tok = { bosId: null, eosIds: [], createDecoder: () => ({ push: () => '', flush: () => '' }) } as never;
  const run = async (adapter: unknown) => {
    const out: number[] = [];
    for await (const t of generate(model, tok, [...y.subarray(0, 10)], { temperature: 0, maxTokens: 6, adapter: adapter as LoraAdapter })) out.push(t.id);
    return out;
  };
  const viaRouter = await run(router), viaB = await run(b), viaA = await run(a);
  assert.deepEqual(viaRouter, viaB);
  assert.notDeepEqual(viaA, viaB, 'the two adapters continue differently (else the check above says nothing)');
  assert.throws(() => model.forward(x, { adapter: router }), /router/);
  assert.throws(() => new AdapterRouter(model, []), /no adapters/);
  assert.throws(() => new AdapterRouter(model, [router as never]), /another router/);
  router.dispose();
  model.dispose();
});
