// The paper preset against the authors' code, point by point (docs/fidelity.md): lengths derived from an
// 8192-token budget, no BOS in training samples or answer prompts (they tokenize with add_special_tokens=False),
// raw answers to EOS, and absorb() recording each choice in its recipe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requireShared, sharedPath } from '../helpers/shared.js';
import { loadModelFromPath } from '../../src/model/load.js';
import { generateText } from '../../src/model/generate.js';
import { liftLengths } from '../../src/lift/budget.js';
import { buildQASamples, buildSegmentSamples } from '../../src/lift/samples.js';
import { buildAnswerPrompt } from '../../src/lift/truncate.js';
import { ask } from '../../src/lift/ask.js';
import { absorb } from '../../src/lift/absorb.js';
import { OURS_DEFAULTS, PAPER_DEFAULTS, presetAbsorbOptions, presetAskOptions, presetBudget, presetByName, presetRecord } from '../../src/lift/presets.js';
import { CharTokenizer } from './fake-tokenizer.js';
import { tinyConfig, tinyModel } from '../adapters/tiny.js';
import type { LoadedModel } from '../../src/model/load.js';

test('paper preset at the budget 8192: ℓ 2048, s 768, CT context 4096, answer truncation 7800', () => {
  for (const window of [8192, 131072]) {
    const { contextBudget } = presetAbsorbOptions(PAPER_DEFAULTS, { window, addBos: true });
    assert.deepEqual(liftLengths(contextBudget!), { budget: 8192, segmentLength: 2048, stride: 768, ctContext: 4096, truncation: 7800 });
  }
  // A smaller window caps the budget (and says so); ours is min(window, 2048) as absorb's default.
  assert.deepEqual(presetBudget(PAPER_DEFAULTS, 4096), { budget: 4096, capped: true });
  assert.deepEqual(presetBudget(OURS_DEFAULTS, 8192), { budget: 2048, capped: false });
  assert.equal(presetByName('paper'), PAPER_DEFAULTS);
  assert.throws(() => presetByName('papr'), /unknown preset 'papr': expected one of paper, ours/);
});

test('paper preset: no BOS in segment, contextualized or QA samples, nor in the answer prompt, on a model that adds BOS', () => {
  const tok = new CharTokenizer(); // BOS = 1
  const doc = { title: 'T', document: 'abcdefghij '.repeat(30) };
  const lengths = liftLengths(256);
  const qa = [{ question: 'What?', answer: 'abc' }];
  const input = { title: doc.title, document: doc.document, question: 'What?' };
  for (const [r, wantBos] of [[PAPER_DEFAULTS, false], [OURS_DEFAULTS, true]] as const) {
    const { bos } = presetAbsorbOptions(r, { window: 256, addBos: true });
    const samples = [
      ...buildSegmentSamples(tok, doc, lengths, { bos, contextualized: true }),
      ...buildSegmentSamples(tok, doc, lengths, { bos, contextualized: false }),
      ...buildQASamples(tok, doc, qa, lengths, { bos }),
    ];
    for (const s of samples) assert.equal(s.input[0] === tok.bosId, wantBos, `${r.name} ${s.kind} sample`);
    if (!wantBos) for (const s of samples) assert.ok(!s.input.includes(tok.bosId), `${r.name}: no BOS anywhere`);
    const prompt = buildAnswerPrompt(tok, input, lengths.truncation, 'truncate', { bos: presetAskOptions(r, true).bos });
    assert.equal(prompt[0] === tok.bosId, wantBos, `${r.name} answer prompt`);
  }
});

test("answerStop 'eos' returns the raw greedy output; 'blank-line' (ours) cuts it at the first blank line and trims", async () => {
  // A tiny random model over ASCII whose output head favours '\n' (10) and ' ' (32) writes both often; the first
  // seed whose raw answer has a blank line or surrounding spaces is used, so the two modes must differ.
  const tok = new CharTokenizer(), c = tinyConfig({ vocab_size: 128, max_position_embeddings: 512 });
  const doc = { title: 'T', document: 'some words here and there, again and again. '.repeat(4) };
  const q = 'What?';
  for (let seed = 1; seed <= 40; seed++) {
    const model = tinyModel(c, seed);
    const head = model.parameters().find((p) => p.name === 'lm_head.weight')!.f32(), C = c.hidden_size;
    for (const id of [10, 32]) for (let j = 0; j < C; j++) head[id * C + j] *= 2.5;
    const loaded = { model, tokenizer: tok, addBos: true } as unknown as LoadedModel;
    try {
      const o = { title: doc.title, document: doc.document, contextBudget: 512, maxTokens: 200 };
      const prompt = buildAnswerPrompt(tok, { ...doc, question: q }, liftLengths(512).truncation, 'truncate', { bos: false });
      const raw = await generateText(model, tok, prompt, { temperature: 0, maxTokens: 200 });
      const cut = raw.split('\n\n')[0].trim();
      if (raw === cut) continue;
      console.log(`  seed ${seed}: raw ${JSON.stringify(raw.slice(0, 40))}… → ${JSON.stringify(cut.slice(0, 40))}`);
      assert.equal(await ask(loaded, null, q, { ...o, ...presetAskOptions(PAPER_DEFAULTS, true) }), raw, `seed ${seed}: paper`);
      assert.equal(await ask(loaded, null, q, { ...o, bos: false }), cut, `seed ${seed}: ours`);
      return;
    } finally {
      model.dispose();
    }
  }
  assert.fail('no seed gave an answer with a blank line or surrounding spaces');
});

test('absorb() under the paper preset records each choice in its recipe', async (t) => {
  if (!requireShared(t, 'models/stories260K')) return;
  const loaded = loadModelFromPath(sharedPath('models/stories260K/stories260K.bin'));
  const window = loaded.model.config.max_position_embeddings;
  const opts = presetAbsorbOptions(PAPER_DEFAULTS, { window, addBos: loaded.addBos });
  assert.equal(loaded.addBos, true, 'a model that adds BOS by its own convention');
  const r = await absorb(loaded, { title: 'Lily', text: 'Lily had a red ball. She played with it in the park every day. '.repeat(6) }, { ...opts, epochs: [1, 0], qa: 0 });
  assert.equal(r.recipe.bos, false);
  assert.equal(r.recipe.loss_average, 'tokens');
  assert.equal(r.recipe.warmup_scope, 'stage');
  assert.equal((r.recipe.adapter_options as { gateOutBias: boolean }).gateOutBias, false);
  assert.equal(r.lengths.budget, Math.min(8192, window));
  assert.equal(presetRecord(PAPER_DEFAULTS).answer_stop, 'eos');
  r.adapter.dispose();
  loaded.model.dispose();
});
