// The trainer: losses fall while memorising, the frozen base stays bit-identical, a non-finite step is
// skipped, and a real child process killed with SIGKILL mid-training resumes from its checkpoint and ends
// with exactly the adapter of an uninterrupted run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireShared, sharedPath } from '../helpers/shared.js';
import { loadModelFromPath } from '../../src/model/load.js';
import { LoraAdapter, ALL_LINEAR } from '../../src/adapters/lora.js';
import { train, learningRate, type TrainEvent, type TrainSample } from '../../src/lift/trainer.js';
import { anchorRowsOf, knownRows, type AnchorOn } from '../../src/lift/anchor.js';
import { guardSchedule } from '../../src/lift/guard.js';
import { Tensor, tidy } from '../../src/engine/index.js';

const MODEL = () => sharedPath('models/stories260K/stories260K.bin');

test('training memorises a sequence; base weights unchanged; full-batch = one step per epoch', async (t) => {
  if (!requireShared(t, 'models/stories260K')) return;
  const { model, tokenizer } = loadModelFromPath(MODEL());
  const before = model.parameters().map((p) => p.f32().slice());
  const ids = tokenizer.encode('The purple turtle named Zog ate seven lemons on Tuesday.', { bos: true });
  const samples = [{ input: ids.slice(0, -1), labels: ids.slice(1) }];
  const lora = new LoraAdapter(model, { r: 8, lora_alpha: 16, target_modules: ALL_LINEAR });
  const events: TrainEvent[] = [];
  const r = await train(model, lora, [{ name: 's1', epochs: 30, samples }], { lr: 1e-2, batchSize: 'full', onEvent: (e) => events.push(e) });
  assert.equal(r.steps, 30);
  const first = r.losses[0].loss, last = r.losses[r.losses.length - 1].loss;
  console.log(`  loss ${first.toFixed(3)} → ${last.toFixed(3)} in ${r.steps} steps`);
  assert.ok(last < first * 0.3, `loss should fall: ${first} → ${last}`);
  assert.equal(events.filter((e) => e.type === 'step').length, 30);
  model.parameters().forEach((p, i) => assert.deepEqual(p.f32(), before[i], `${p.name} changed`));
  lora.dispose();
  model.dispose();
});

test('a non-finite loss skips the step and is reported', async (t) => {
  if (!requireShared(t, 'models/stories260K')) return;
  const { model, tokenizer } = loadModelFromPath(MODEL());
  const ids = tokenizer.encode('Hello there.', { bos: true });
  const lora = new LoraAdapter(model, { r: 2, lora_alpha: 4, target_modules: ['q_proj'] });
  // Poison one LoRA weight: every forward through it is NaN.
  lora.parameters()[0].f32()[0] = NaN;
  const snapshot = lora.parameters().map((p) => p.f32().slice());
  const events: TrainEvent[] = [];
  const r = await train(model, lora, [{ name: 's', epochs: 2, samples: [{ input: ids.slice(0, -1), labels: ids.slice(1) }] }], { lr: 1e-2, batchSize: 'full', onEvent: (e) => events.push(e) });
  assert.equal(r.nonFiniteSteps, 2);
  assert.ok(events.some((e) => e.type === 'nonfinite'));
  lora.parameters().forEach((p, i) => assert.deepEqual(p.f32(), snapshot[i], 'nothing written into the adapter'));
  lora.dispose();
  model.dispose();
});

test('a training process killed with SIGKILL resumes and ends with the same adapter', async (t) => {
  if (!requireShared(t, 'models/stories260K')) return;
  const dir = mkdtempSync(join(tmpdir(), 'lift-resume-'));
  const child = ['--import', 'tsx', 'test/lift/train-child.ts', MODEL()];
  try {
    const a = spawnSync(process.execPath, [...child, join(dir, 'a'), join(dir, 'a.bin')], { encoding: 'utf8' });
    assert.equal(a.status, 0, a.stderr);
    // Run B slowly, kill it hard once a few steps are checkpointed, then run it again to completion.
    const b = spawn(process.execPath, [...child, join(dir, 'b'), join(dir, 'b.bin'), '150'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stepsSeen = 0;
    await new Promise<void>((resolve, reject) => {
      b.stdout.on('data', (d: Buffer) => {
        stepsSeen += (d.toString().match(/^step /gm) ?? []).length;
        if (stepsSeen >= 4) b.kill('SIGKILL');
      });
      b.on('exit', (code, sig) => (sig === 'SIGKILL' ? resolve() : reject(new Error(`child ended by itself (code ${code}) before being killed`))));
    });
    assert.ok(!existsSync(join(dir, 'b.bin')), 'the killed run did not finish');
    assert.ok(existsSync(join(dir, 'b', 'checkpoint', 'trainer.json')), 'a checkpoint exists');
    const resumedFrom = JSON.parse(readFileSync(join(dir, 'b', 'checkpoint', 'trainer.json'), 'utf8')).step;
    const b2 = spawnSync(process.execPath, [...child, join(dir, 'b'), join(dir, 'b.bin')], { encoding: 'utf8' });
    assert.equal(b2.status, 0, b2.stderr);
    const firstStep = Number(/step (\d+)/.exec(b2.stdout)?.[1]);
    console.log(`  killed after ${stepsSeen} steps; checkpoint at step ${resumedFrom}; resumed run started at step ${firstStep}`);
    assert.equal(firstStep, resumedFrom + 1, 'the second run continues after the checkpoint');
    assert.ok(resumedFrom >= 3);
    const wa = readFileSync(join(dir, 'a.bin')), wb = readFileSync(join(dir, 'b.bin'));
    assert.equal(wa.length, wb.length);
    assert.ok(wa.equals(wb), 'resumed adapter is bit-identical to the uninterrupted one');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the forgetting guard trains with KL and with replay, and KL keeps the model near the base', async (t) => {
  if (!requireShared(t, 'models/stories260K')) return;
  const { model, tokenizer } = loadModelFromPath(MODEL());
  const ids = tokenizer.encode('The purple turtle named Zog ate seven lemons on Tuesday.', { bos: true });
  const general = tokenizer.encode('Once upon a time, there was a little girl named Lily. She liked to play with her ball in the park.', { bos: true });
  const samples = [{ input: ids.slice(0, -1), labels: ids.slice(1) }];
  const guardSamples = [{ input: general.slice(0, -1), labels: general.slice(1) }];
  const gen = Int32Array.from(general.slice(0, -1));
  const drift = (lora: LoraAdapter): number => {
    // Mean |Δ logit| on the general text between the adapted and the base model.
    return tidy(() => {
      const a = model.forward(gen, { adapter: lora }).f32(), b = model.forward(gen).f32();
      let s = 0;
      for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
      return s / a.length;
    });
  };
  const run = async (guard: 'kl' | 'replay' | null) => {
    const lora = new LoraAdapter(model, { r: 8, lora_alpha: 16, target_modules: ALL_LINEAR, seed: 2 });
    const events: TrainEvent[] = [];
    await train(model, lora, [{ name: 's1', epochs: 25, samples }], {
      lr: 1e-2, batchSize: 'full', guard: guard ? guardSchedule({ kind: guard, lambda: 1, samples: guardSamples, perStep: 1 }) : null, onEvent: (e) => events.push(e),
    });
    const steps = events.filter((e) => e.type === 'step') as Extract<TrainEvent, { type: 'step' }>[];
    const d = drift(lora);
    lora.dispose();
    return { d, guardLoss: steps.map((s) => s.guardLoss), last: steps[steps.length - 1].loss };
  };
  const none = await run(null), kl = await run('kl'), replay = await run('replay');
  console.log(`  drift on general text: none ${none.d.toFixed(3)}, kl ${kl.d.toFixed(3)}, replay ${replay.d.toFixed(3)}; task loss none ${none.last.toFixed(3)} kl ${kl.last.toFixed(3)}`);
  assert.ok(kl.guardLoss.every((g) => g !== null && Number.isFinite(g)), 'KL guard loss reported every step');
  assert.ok(replay.guardLoss.every((g) => g !== null && Number.isFinite(g)));
  assert.equal(none.guardLoss[0], null);
  assert.ok(kl.d < none.d, `KL must keep the model closer to the base (${kl.d} vs ${none.d})`);
  assert.ok(kl.last < 1.0, 'and still learn the task');
  model.dispose();
});

test('learning-rate schedules: linear warm-up, then constant (the paper) or cosine decay to 0', () => {
  const lr = 1e-3;
  assert.equal(learningRate({ lr }, 0, 10), lr);
  assert.equal(learningRate({ lr }, 9, 10), lr);
  // warm-up: (step + 1) / w of the peak, then the peak
  assert.equal(learningRate({ lr, warmupSteps: 4 }, 0, 10), lr / 4);
  assert.equal(learningRate({ lr, warmupSteps: 4 }, 3, 10), lr);
  assert.equal(learningRate({ lr, warmupSteps: 4, schedule: 'constant' }, 9, 10), lr);
  // cosine over the 6 steps after warm-up: peak at its first step, half at its middle, 0 after the last
  const c = (s: number) => learningRate({ lr, warmupSteps: 4, schedule: 'cosine' }, s, 10);
  assert.equal(c(4), lr);
  assert.ok(Math.abs(c(7) - lr / 2) < 1e-12, `midpoint ${c(7)}`);
  assert.ok(c(9) > 0 && c(9) < c(8) && c(8) < c(5), 'decreasing and still positive on the last step');
  assert.ok(Math.abs(learningRate({ lr, schedule: 'cosine' }, 10, 10)) < 1e-12);
});

test('the anchor (KL to the base on the training samples) learns the tokens with less certainty and less drift', async (t) => {
  if (!requireShared(t, 'models/stories260K')) return;
  const { model, tokenizer } = loadModelFromPath(MODEL());
  const ids = tokenizer.encode('The purple turtle named Zog ate seven lemons on Tuesday.', { bos: true });
  const general = Int32Array.from(tokenizer.encode('Once upon a time, there was a little girl named Lily. She liked to play with her ball.', { bos: true }));
  const samples = [{ input: ids.slice(0, -1), labels: ids.slice(1) }];
  const input = Int32Array.from(ids.slice(0, -1));
  // Positions whose target the base already ranks first ('known') and the rest ('new': what the text teaches).
  const known = tidy(() => knownRows(model.forward(input), samples[0].labels));
  const run = async (anchor: number, anchorOn: 'all' | 'known' = 'all') => {
    const lora = new LoraAdapter(model, { r: 8, lora_alpha: 16, target_modules: ALL_LINEAR, seed: 2 });
    const losses: number[] = [];
    await train(model, lora, [{ name: 's1', epochs: 40, samples: samples.map((s) => ({ ...s, anchorRows: anchorRowsOf(anchorOn, undefined) })) }], {
      lr: 1e-2, batchSize: 'full', anchor, onEvent: (e) => e.type === 'step' && losses.push(e.loss),
    });
    const r = tidy(() => {
      const logits = model.forward(input, { adapter: lora }).f32(), V = model.config.vocab_size;
      let hits = 0, pTarget = 0, pNew = 0;
      const nNew = known.filter((w) => w === 0).length;
      for (let i = 0; i < input.length; i++) {
        const row = logits.subarray(i * V, (i + 1) * V);
        const mx = Math.max(...row);
        let z = 0;
        for (const v of row) z += Math.exp(v - mx);
        if (row[ids[i + 1]] === mx) hits++;
        const p = Math.exp(row[ids[i + 1]] - mx) / z;
        pTarget += p / input.length;
        if (known[i] === 0) pNew += p / nNew;
      }
      const a = model.forward(general, { adapter: lora }).f32(), b = model.forward(general).f32();
      let d = 0;
      for (let i = 0; i < a.length; i++) d += Math.abs(a[i] - b[i]) / a.length;
      return { acc: hits / input.length, pTarget, pNew, drift: d };
    });
    lora.dispose();
    return { ...r, last: losses[losses.length - 1] };
  };
  const plain = await run(0), anchored = await run(1);
  console.log(`  plain: top-1 ${plain.acc.toFixed(2)} p ${plain.pTarget.toFixed(3)} drift ${plain.drift.toFixed(3)}; anchor 1: top-1 ${anchored.acc.toFixed(2)} p ${anchored.pTarget.toFixed(3)} drift ${anchored.drift.toFixed(3)}`);
  assert.ok(anchored.acc >= 0.9, `the anchored adapter still predicts the sentence (top-1 ${anchored.acc})`);
  assert.ok(anchored.pTarget < plain.pTarget - 0.05, `with less certainty (${anchored.pTarget} vs ${plain.pTarget})`);
  assert.ok(anchored.drift < plain.drift, `and less drift on other text (${anchored.drift} vs ${plain.drift})`);
  assert.ok(Number.isFinite(anchored.last) && anchored.last < 1, `the reported loss is the task's cross-entropy (${anchored.last})`);
  // The selective anchor leaves the tokens the base gets wrong to the cross-entropy alone: they are learned
  // with more certainty than under the anchor on every position, at the same β.
  const nNew = known.filter((w) => w === 0).length;
  assert.ok(nNew >= 3 && nNew < input.length, `the sentence has new and known tokens (${nNew} of ${input.length} new)`);
  const sel = await run(1, 'known');
  console.log(`  anchor 1 on known tokens: top-1 ${sel.acc.toFixed(2)} p(new) ${sel.pNew.toFixed(3)} (anchor on all: ${anchored.pNew.toFixed(3)}) drift ${sel.drift.toFixed(3)}`);
  assert.ok(sel.acc >= 0.9, `top-1 ${sel.acc}`);
  assert.ok(sel.pNew > anchored.pNew + 0.05, `new tokens more certain with the selective anchor (${sel.pNew} vs ${anchored.pNew})`);
  assert.ok(sel.drift < plain.drift, `still less drift than no anchor (${sel.drift} vs ${plain.drift})`);
  model.dispose();
});

test("the anchor's sample modes as rows (anchorRowsOf): 'segments' skips QA samples; 'answers' also lifts it on the rows anchorRows zeroes", async (t) => {
  if (!requireShared(t, 'models/stories260K')) return;
  const { model, tokenizer } = loadModelFromPath(MODEL());
  const ids = tokenizer.encode('The purple turtle named Zog ate seven lemons on Tuesday.', { bos: true });
  const input = ids.slice(0, -1), labels = ids.slice(1);
  const zog = tokenizer.encode(' Zog', { bos: false }).length; // the name's tokens, after "named"
  const at = labels.findIndex((_, i) => tokenizer.decode(ids.slice(1, i + 2)).endsWith('named')) + 1; // first row predicting the name
  assert.ok(at > 0 && zog >= 1);
  const lifted = new Float32Array(input.length).fill(1).fill(0, at, at + zog);
  const run = async (samples: TrainSample[], anchor: number, anchorOn: AnchorOn) => {
    const lora = new LoraAdapter(model, { r: 8, lora_alpha: 16, target_modules: ALL_LINEAR, seed: 2 });
    const rows = samples.map((s) => ({ ...s, anchorRows: anchorRowsOf(anchorOn, s.kind, s.anchorRows instanceof Float32Array ? s.anchorRows : undefined) }));
    await train(model, lora, [{ name: 's1', epochs: 25, samples: rows }], { lr: 1e-2, batchSize: 'full', anchor });
    const weights = lora.parameters().map((p) => p.f32().slice());
    const pName = tidy(() => {
      const logits = model.forward(Int32Array.from(input), { adapter: lora }).f32(), V = model.config.vocab_size;
      let p = 1;
      for (let i = at; i < at + zog; i++) {
        const row = logits.subarray(i * V, (i + 1) * V), mx = Math.max(...row);
        let z = 0;
        for (const v of row) z += Math.exp(v - mx);
        p *= Math.exp(row[labels[i]] - mx) / z;
      }
      return p;
    });
    lora.dispose();
    return { weights, pName };
  };
  const same = (a: Float32Array[], b: Float32Array[]) => a.length === b.length && a.every((x, i) => x.every((v, j) => v === b[i][j]));
  const plain = await run([{ input, labels, kind: 'ct' }], 0, 'all');
  const all = await run([{ input, labels, kind: 'ct' }], 1, 'all');
  assert.ok(!same(plain.weights, all.weights), 'the anchor changes training');
  // 'segments': a QA sample trains as with no anchor; a recitation sample as with the anchor everywhere.
  assert.ok(same((await run([{ input, labels, kind: 'qa' }], 1, 'segments')).weights, plain.weights));
  assert.ok(same((await run([{ input, labels, kind: 'ct' }], 1, 'segments')).weights, all.weights));
  // 'answers': rows weighted 1 everywhere = the anchor everywhere; with the name's rows at 0 the name is learned
  // with more certainty than under the anchor on every row.
  assert.ok(same((await run([{ input, labels, kind: 'ct', anchorRows: new Float32Array(input.length).fill(1) }], 1, 'answers')).weights, all.weights));
  const ans = await run([{ input, labels, kind: 'ct', anchorRows: lifted }], 1, 'answers');
  console.log(`  p(" Zog") after "named": no anchor ${plain.pName.toFixed(3)}, anchor everywhere ${all.pName.toFixed(3)}, lifted on the name ${ans.pName.toFixed(3)}`);
  assert.ok(ans.pName > all.pName + 0.05, `the name more certain where the anchor is lifted (${ans.pName} vs ${all.pName})`);
  model.dispose();
});

test('knownRows: 0 only at labelled positions whose label is not the reference argmax', () => {
  // 4 rows over V = 3: argmax 2, 0, 1, 1; labels 2 (known), 1 (new), IGNORE (context), 0 (new).
  const ref = Tensor.from([0, 1, 5, 3, 2, 1, 0, 4, 1, 2, 9, 0], [4, 3]);
  assert.deepEqual(Array.from(knownRows(ref, [2, 1, -100, 0])), [1, 0, 1, 0]);
  ref.dispose();
});
