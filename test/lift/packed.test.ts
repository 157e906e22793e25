// Batched training (src/lift/packed.ts): a mini-batch packed into one forward/backward — samples of different
// lengths concatenated, attention inside each sample, RoPE restarting per sample — gives the loss and the
// LoRA gradients (A and B of every layer and projection) of the per-sample loop (packTokens 0, the trainer
// before batching), for both loss averages, with and without the anchor (all / known / answers) and the guard
// (KL / replay), on stories260K and on a random GQA model with attention biases. Tolerance: each tensor's
// max |packed − looped| ≤ 1e-4 × its max |looped| (float32 sums in another order: ~1e-6 seen), the loss
// within 1e-5 relative. A short absorb (16 AdamW steps) ends with the looped run's adapter within 2e-3 of its
// largest entry (2.7e-4 seen: AdamW divides by √v, which amplifies rounding). A pack that leaked attention
// across samples or kept RoPE running is off by > 1e-2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requireShared, sharedPath } from '../helpers/shared.js';
import { loadModelFromPath } from '../../src/model/load.js';
import { parseHFConfig } from '../../src/model/config.js';
import type { LlamaModel } from '../../src/model/llama.js';
import { randomLlama } from '../../src/model/random.js';
import { LoraAdapter, ALL_LINEAR } from '../../src/adapters/lora.js';
import { GatedMemoryAdapter } from '../../src/adapters/gated-memory.js';
import { seededRandom } from '../../src/engine/random.js';
import { IGNORE_INDEX as IGN, native } from '../../src/engine/index.js';
import { batchGradients, type GuardSchedule, type TrainerOptions, type TrainSample } from '../../src/lift/trainer.js';
import { guardSchedule } from '../../src/lift/guard.js';
import { packGroups, packPlan, commonPrefix, MIN_SHARED_PREFIX, DEFAULT_PACK_TOKENS } from '../../src/lift/packed.js';
import { absorb, type AnchorOn } from '../../src/lift/absorb.js';
import { anchorRowsOf } from '../../src/lift/anchor.js';
import { BuiltinQAGenerator } from '../../src/lift/qa/builtin.js';

/** A random Llama with grouped-query attention (4 query heads over 2 KV heads) and q/k/v biases. */
function randomGqaModel(): LlamaModel {
  const c = parseHFConfig({
    architectures: ['Qwen2ForCausalLM'], hidden_size: 48, intermediate_size: 96, num_hidden_layers: 2, num_attention_heads: 4,
    num_key_value_heads: 2, vocab_size: 101, rms_norm_eps: 1e-5, rope_theta: 10000, tie_word_embeddings: false, max_position_embeddings: 256,
  }, 'random GQA');
  assert.ok(c.attention_bias, 'q/k/v biases');
  return randomLlama(c, { seed: 11, scale: 0.2, normJitter: 0.2, id: 'random-gqa' });
}

/**
 * Five samples of 3 to 40 tokens: recitations with an unsupervised context prefix, one without any supervised
 * token (it must add nothing), and a QA sample (kind 'qa', which the anchor skips under 'answers'), one with
 * anchorRows.
 */
function samplesFor(vocab: number, seed: number): TrainSample[] {
  const rand = seededRandom(seed), tok = () => 1 + Math.floor(rand() * (vocab - 1));
  const make = (len: number, context: number, kind?: string): TrainSample => {
    const ids = Array.from({ length: len + 1 }, tok);
    return { input: ids.slice(0, -1), labels: ids.slice(1).map((x, i) => (i < context ? IGN : x)), kind };
  };
  const s = [make(23, 8, 'ct'), make(40, 0, 'segment'), make(3, 3, 'segment'), make(17, 11, 'qa'), make(9, 2, 'segment')];
  s[1].anchorRows = Float32Array.from({ length: 40 }, (_, i) => (i % 5 === 2 ? 0 : 1));
  return s;
}

/**
 * Samples of which four begin with the same 70 tokens (their first 30 unsupervised, the rest labelled alike, as a
 * short document's contextualized samples share the document and recite prompt), then differ; one shares
 * nothing. With packing they run behind a shared prefix (packPlan), which must give the loop's gradients.
 */
function sharedSamplesFor(vocab: number, seed: number): TrainSample[] {
  const rand = seededRandom(seed), tok = () => 1 + Math.floor(rand() * (vocab - 1));
  const head = Array.from({ length: 70 }, tok);
  const make = (rest: number, context: number, kind: string, from = head): TrainSample => {
    const ids = [...from, ...Array.from({ length: rest + 1 }, tok)];
    return { input: ids.slice(0, -1), labels: ids.slice(1).map((x, i) => (i < 30 || (i >= from.length && i < from.length + context) ? IGN : x)), kind };
  };
  const s = [make(20, 0, 'ct'), make(35, 5, 'segment'), make(30, 0, 'segment', []), make(8, 0, 'qa'), make(12, 3, 'ct')];
  s[4].anchorRows = Float32Array.from({ length: s[4].input.length }, (_, i) => (i % 7 === 3 ? 0 : 1));
  return s;
}

/** The batch's gradients; `anchorOn` gives each sample its anchor rows as absorb's sample step does (anchorRowsOf). */
async function grads(model: LlamaModel, lora: LoraAdapter, batch: TrainSample[], opts: Pick<TrainerOptions, 'anchor' | 'lossAverage' | 'packTokens' | 'guard'> & { anchorOn?: AnchorOn }) {
  for (const p of lora.parameters()) p.grad?.f32().fill(0);
  const { anchorOn, ...o } = opts;
  const rows = anchorOn ? batch.map((s) => ({ ...s, anchorRows: anchorRowsOf(anchorOn, s.kind, s.anchorRows instanceof Float32Array ? s.anchorRows : undefined) })) : batch;
  const r = await batchGradients(model, lora, rows, o, 1);
  return { ...r, g: lora.parameters().map((p) => ({ name: p.name ?? '?', g: p.grad ? p.grad.f32().slice() : new Float32Array(p.size) })) };
}

/** Compares a packed run with the loop on every case; returns the largest relative gradient error seen. */
async function compareAll(model: LlamaModel, vocab: number, batchOf = samplesFor): Promise<number> {
  native.setThreads(1);
  const lora = new LoraAdapter(model, { r: 4, lora_alpha: 8, target_modules: ALL_LINEAR, seed: 2 });
  // A fresh LoRA has B = 0, which makes every A gradient 0: give both factors values.
  const rand = seededRandom(5);
  for (const p of lora.parameters()) { const d = p.f32(); for (let i = 0; i < d.length; i++) d[i] = (rand() - 0.5) * 0.2; }
  const batch = batchOf(vocab, 7);
  const guardSamples = samplesFor(vocab, 8).map((s) => ({ input: s.input, labels: [...s.input.slice(1), IGN] }));
  const guard = (kind: 'kl' | 'replay'): GuardSchedule => guardSchedule({ kind, lambda: 0.7, samples: guardSamples, perStep: 3 });
  const cases: [string, Pick<TrainerOptions, 'anchor' | 'guard'> & { anchorOn?: AnchorOn }][] = [
    ['plain', {}], ['anchor all', { anchor: 0.5, anchorOn: 'all' }], ['anchor known', { anchor: 0.5, anchorOn: 'known' }],
    ['anchor answers', { anchor: 0.5, anchorOn: 'answers' }], ['guard kl', { guard: guard('kl') }], ['guard replay + anchor segments', { guard: guard('replay'), anchor: 0.3, anchorOn: 'segments' }],
  ];
  let worst = 0;
  for (const lossAverage of ['samples', 'tokens'] as const)
    for (const [name, o] of cases) {
      const looped = await grads(model, lora, batch, { ...o, lossAverage, packTokens: 0 });
      // One pack of everything, and packs of ≤ 45 tokens (three passes: 23 | 40 | 3+17+9, guard likewise).
      for (const packTokens of [4096, 45]) {
        const packed = await grads(model, lora, batch, { ...o, lossAverage, packTokens });
        const what = `${name}, ${lossAverage}, packTokens ${packTokens}`;
        assert.ok(Math.abs(packed.loss - looped.loss) <= 1e-5 * Math.abs(looped.loss), `${what}: loss ${packed.loss} vs looped ${looped.loss}`);
        if (looped.guardLoss !== null) assert.ok(Math.abs(packed.guardLoss! - looped.guardLoss) <= 1e-5 * Math.abs(looped.guardLoss), `${what}: guard loss ${packed.guardLoss} vs ${looped.guardLoss}`);
        else assert.equal(packed.guardLoss, null);
        looped.g.forEach(({ name: pn, g: ref }, i) => {
          const got = packed.g[i].g;
          let scale = 0, err = 0;
          for (let j = 0; j < ref.length; j++) { scale = Math.max(scale, Math.abs(ref[j])); err = Math.max(err, Math.abs(got[j] - ref[j])); }
          assert.ok(scale > 0, `${what}: ${pn} has a zero gradient, the comparison would mean nothing`);
          assert.ok(err <= 1e-4 * scale, `${what}: ${pn} differs by ${err} (max |g| ${scale})`);
          worst = Math.max(worst, err / scale);
        });
      }
    }
  lora.dispose();
  return worst;
}

test('packGroups: consecutive groups within the token budget, a longer sample alone', () => {
  assert.deepEqual(packGroups([23, 40, 3, 17, 9], 45), [[0], [1, 2], [3, 4]]);
  assert.deepEqual(packGroups([50, 10, 10], 45), [[0], [1, 2]]);
  assert.deepEqual(packGroups([], 45), []);
});

test('packed batch = per-sample loop: loss and every LoRA gradient on stories260K', async (t) => {
  if (!requireShared(t, 'models/stories260K')) return;
  const { model } = loadModelFromPath(sharedPath('models/stories260K/stories260K.bin'));
  const worst = await compareAll(model, model.config.vocab_size);
  console.log(`  stories260K: largest relative gradient difference ${worst.toExponential(2)}`);
  model.dispose();
});

test('packed batch = per-sample loop on a random GQA model with attention biases', async () => {
  const model = randomGqaModel();
  const worst = await compareAll(model, model.config.vocab_size);
  console.log(`  random GQA: largest relative gradient difference ${worst.toExponential(2)}`);
  model.dispose();
});

test('packPlan: samples sharing ≥ MIN_SHARED_PREFIX tokens (inputs and labels) share a pack within its row bound; 0 = the loop', () => {
  const batch = sharedSamplesFor(101, 3);
  assert.equal(commonPrefix(batch[0], batch[1]), 69, 'the 70th labels differ (each predicts its own next token)');
  assert.ok(MIN_SHARED_PREFIX <= 69);
  // 69 + (21 + 36) = 126 rows ≤ max(64, 105) + 32; adding the third (shares nothing) ends the run.
  assert.deepEqual(packPlan(batch, 64), [{ members: [0, 1], prefix: 69 }, { members: [2], prefix: 0 }, { members: [3, 4], prefix: 69 }]);
  assert.deepEqual(packPlan(batch, 4096), [{ members: [0, 1], prefix: 69 }, { members: [2], prefix: 0 }, { members: [3, 4], prefix: 69 }]);
  assert.deepEqual(packPlan(batch, 0).map((g) => g.prefix), [0, 0, 0, 0, 0]);
  // Rows bound at 40: 0 and 1 take 69 + 21 + 36 = 126 > max(40, 105) + 20 rows (each alone then); 3 and 4 take
  // 69 + 9 + 13 = 91 ≤ max(40, 82) + 20.
  assert.deepEqual(packPlan(batch, 40), [{ members: [0], prefix: 0 }, { members: [1], prefix: 0 }, { members: [2], prefix: 0 }, { members: [3, 4], prefix: 69 }]);
  const shorter = batch.map((s) => ({ ...s, labels: s.labels.map((x, i) => (i === 40 && s === batch[1] ? IGN : x)) }));
  assert.deepEqual(packPlan(shorter, 4096), [{ members: [0, 1, 2], prefix: 0 }, { members: [3, 4], prefix: 69 }], 'a label that differs at row 40 leaves 40 < MIN_SHARED_PREFIX shared tokens: a plain pack');
});

test('shared-prefix packs = per-sample loop: loss and every LoRA gradient (stories260K and random GQA)', async (t) => {
  const gqa = randomGqaModel();
  const worst = [await compareAll(gqa, gqa.config.vocab_size, sharedSamplesFor)];
  gqa.dispose();
  if (requireShared(t, 'models/stories260K')) {
    const { model } = loadModelFromPath(sharedPath('models/stories260K/stories260K.bin'));
    worst.push(await compareAll(model, model.config.vocab_size, sharedSamplesFor));
    model.dispose();
  }
  console.log(`  shared prefixes: largest relative gradient difference ${worst.map((w) => w.toExponential(2)).join(', ')}`);
});

test('shared-prefix packs with Gated Memory (the default adapter): gradients = the per-sample loop', async () => {
  native.setThreads(1);
  const model = randomGqaModel();
  const gm = new GatedMemoryAdapter(model, { seed: 3 });
  const batch = sharedSamplesFor(model.config.vocab_size, 7);
  assert.ok(packPlan(batch, DEFAULT_PACK_TOKENS).some((g) => g.prefix > 0), 'the batch shares a prefix');
  const run = async (packTokens: number) => {
    for (const p of gm.parameters()) p.grad?.f32().fill(0);
    const r = await batchGradients(model, gm, batch, { packTokens, lossAverage: 'samples' }, 1);
    return { loss: r.loss, g: gm.parameters().map((p) => (p.grad ? p.grad.f32().slice() : new Float32Array(p.size))) };
  };
  const looped = await run(0), shared = await run(DEFAULT_PACK_TOKENS);
  assert.ok(Math.abs(shared.loss - looped.loss) <= 1e-5 * Math.abs(looped.loss), `loss ${shared.loss} vs looped ${looped.loss}`);
  let worst = 0, nonzero = 0;
  looped.g.forEach((ref, i) => {
    let scale = 0, err = 0;
    for (let j = 0; j < ref.length; j++) { scale = Math.max(scale, Math.abs(ref[j])); err = Math.max(err, Math.abs(shared.g[i][j] - ref[j])); }
    if (scale > 0) nonzero++;
    assert.ok(err <= 1e-4 * Math.max(scale, 1e-12), `${gm.parameters()[i].name}: differs by ${err} (max |g| ${scale})`);
    if (scale > 0) worst = Math.max(worst, err / scale);
  });
  assert.ok(nonzero >= gm.parameters().length / 2, `${nonzero} of ${gm.parameters().length} gradients are nonzero`);
  console.log(`  Gated Memory, shared prefixes: largest relative gradient difference ${worst.toExponential(2)}`);
  gm.dispose();
  model.dispose();
});

test('a shared-prefix pack: each sample\'s logits = the sample alone, prefix rows once', () => {
  const model = randomGqaModel();
  const head = [5, 9, 2, 7, 7, 1, 4], a = [...head, 3, 8], b = [...head, 6, 6, 2, 9];
  const packed = model.forward(Int32Array.from([...head, 3, 8, 6, 6, 2, 9]), { offsets: Int32Array.from([0, 7, 9, 13]), prefix: 7 }).f32();
  const V = model.config.vocab_size, la = model.forward(Int32Array.from(a)).f32(), lb = model.forward(Int32Array.from(b)).f32();
  const want = [...la, ...lb.subarray(7 * V)]; // rows: the prefix (= a's first 7 = b's), a's 2, b's 4
  let err = 0;
  want.forEach((x, i) => { err = Math.max(err, Math.abs(x - packed[i])); });
  assert.equal(packed.length, want.length);
  assert.ok(err < 1e-5, `shared-prefix logits differ from separate passes by ${err}`);
  assert.throws(() => model.forward(Int32Array.from(a), { offsets: Int32Array.from([0, 5, 9]), prefix: 7 }), /shared prefix of 7 rows/);
  model.dispose();
});

test('a pack does not see across samples: logits of a packed pair = each sample alone', () => {
  const model = randomGqaModel();
  const a = Int32Array.from([5, 9, 2, 7, 7, 1]), b = Int32Array.from([3, 3, 8, 4]);
  const both = model.forward(Int32Array.from([...a, ...b]), { offsets: Int32Array.from([0, 6, 10]) }).f32();
  const alone = [...model.forward(a).f32(), ...model.forward(b).f32()];
  let err = 0;
  alone.forEach((x, i) => { err = Math.max(err, Math.abs(x - both[i])); });
  assert.ok(err < 1e-5, `packed logits differ from separate passes by ${err}`);
  assert.throws(() => model.forward(a, { offsets: Int32Array.from([0, 4]) }), /offsets \[0, 4\] must rise from 0 to the 6 rows/);
  model.dispose();
});

test('absorb with batching gives the looped run\'s adapter (LoRA, QAs, anchor on answers, KL guard, mini-batches of 4)', async (t) => {
  if (!requireShared(t, 'models/stories260K')) return;
  native.setThreads(1);
  const loaded = loadModelFromPath(sharedPath('models/stories260K/stories260K.bin'));
  const doc = { title: 'Pia', text: 'Once upon a time, there was a girl named Pia. Pia had a red kite called Zippy. Every day Pia and Zippy went to the hill.\nOne day the wind was very strong. Zippy flew up to the clouds. Pia held the string tight and laughed.\nThen Pia met a boy named Olo. Olo had a blue boat called Splash.' };
  const run = async (packTokens?: number) => absorb(loaded, doc, {
    adapter: 'lora', lora: { r: 4, lora_alpha: 8 }, lr: 3e-3, contextBudget: 128, epochs: [2, 2], batchSize: 4, qa: 2, qaGenerator: new BuiltinQAGenerator(),
    anchor: 0.5, guard: 'kl', guardSamples: 2, guardPerStep: 2, seed: 4, ...(packTokens === undefined ? {} : { packTokens }),
  });
  const looped = await run(0), batched = await run();
  assert.equal(looped.recipe.pack_tokens, 0);
  assert.equal(batched.recipe.pack_tokens, DEFAULT_PACK_TOKENS, 'the manifest records the packing');
  assert.ok(looped.train.steps >= 6, `${looped.train.steps} steps`);
  assert.equal(batched.train.steps, looped.train.steps);
  looped.train.losses.forEach((l, i) => assert.ok(Math.abs(batched.train.losses[i].loss - l.loss) <= 1e-4 * Math.abs(l.loss), `step ${i}: loss ${batched.train.losses[i].loss} vs looped ${l.loss}`));
  const lp = looped.adapter.parameters(), bp = batched.adapter.parameters();
  let worst = 0;
  lp.forEach((p, i) => {
    const a = p.f32(), b = bp[i].f32();
    let scale = 0, err = 0;
    for (let j = 0; j < a.length; j++) { scale = Math.max(scale, Math.abs(a[j])); err = Math.max(err, Math.abs(a[j] - b[j])); }
    worst = Math.max(worst, err / scale);
  });
  console.log(`  absorb: ${looped.train.steps} steps, largest relative adapter difference ${worst.toExponential(2)}`);
  assert.ok(worst <= 2e-3, `adapters differ by ${worst} of their largest entry`);
  looped.adapter.dispose();
  batched.adapter.dispose();
  loaded.model.dispose();
});
