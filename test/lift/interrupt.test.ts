// Long work that can be stopped and foreseen (issue 11 item 3): the plan event comes before any heavy
// preparation with its counts and estimates; the AbortSignal ends absorb in each preparation phase
// (tokenizing, building samples, synthesizing QAs) and the trainer between two samples of a full batch — the
// way the CLI's SIGINT handler does, from a macrotask — and a run resumed from that checkpoint ends with
// exactly the adapter of an uninterrupted run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireShared, sharedPath } from '../helpers/shared.js';
import { native } from '../../src/engine/index.js';
import { loadModelFromPath } from '../../src/model/load.js';
import { LoraAdapter, ALL_LINEAR } from '../../src/adapters/lora.js';
import { absorb, type AbsorbEvent } from '../../src/lift/absorb.js';
import { BuiltinQAGenerator } from '../../src/lift/qa/builtin.js';
import { documentTokens } from '../../src/lift/segments.js';
import { AbortedError, train, type TrainEvent, type TrainSample } from '../../src/lift/trainer.js';

const MODEL = () => sharedPath('models/stories260K/stories260K.bin');
/** ~600 kB of TinyStories: long enough that every preparation phase runs for several 50 ms slices. */
const longText = (): string => readFileSync(sharedPath('data/tinystories-valid-sample/tinystories_val.txt'), 'utf8').slice(0, 600_000);

/** absorb() on `text`, aborting from a macrotask (as SIGINT does) once `when` sees an event; returns the events and the error. */
async function absorbUntil(text: string, when: (e: AbsorbEvent) => boolean): Promise<{ events: AbsorbEvent[]; error: unknown }> {
  const loaded = loadModelFromPath(MODEL());
  const ac = new AbortController();
  const events: AbsorbEvent[] = [];
  let error: unknown = null;
  try {
    const r = await absorb(loaded, { title: 'Stories', text }, {
      adapter: 'lora', lora: { r: 2, lora_alpha: 4 }, contextBudget: 64, epochs: [1, 0], qa: 10, qaGenerator: new BuiltinQAGenerator(), signal: ac.signal,
      onEvent: (e) => {
        events.push(e);
        if (!ac.signal.aborted && when(e)) setImmediate(() => ac.abort());
      },
    });
    r.adapter.dispose();
  } catch (e) {
    error = e;
  } finally {
    loaded.model.dispose();
  }
  return { events, error };
}

// In the order absorb runs them; the events that mark each phase.
const PHASES = ['tokenizing', 'synthesizing QAs', 'building samples'] as const;
const inPhase = (phase: (typeof PHASES)[number], e: AbsorbEvent): boolean =>
  phase === 'synthesizing QAs' ? e.type === 'qa-progress' || e.type === 'qa' : e.type === 'progress' && e.phase === phase;

for (const phase of PHASES) {
  test(`Ctrl-C while ${phase}: absorb ends at once with an AbortedError naming the phase`, async (t) => {
    if (!requireShared(t, 'models/stories260K') || !requireShared(t, 'data/tinystories-valid-sample')) return;
    native.setThreads(1);
    const { events, error } = await absorbUntil(longText(), (e) => e.type !== 'qa' && inPhase(phase, e));
    assert.ok(events.some((e) => inPhase(phase, e)), `progress events while ${phase}`);
    assert.ok(error instanceof AbortedError, `an AbortedError, got ${String(error)}`);
    assert.equal(error.phase, phase);
    assert.match(error.message, new RegExp(`interrupted while ${phase}`));
    // Nothing of a later phase ran: no QAs reported, no samples built, no training started.
    const later = PHASES.slice(PHASES.indexOf(phase) + 1);
    assert.ok(!events.some((e) => e.type === 'train' || (phase === 'synthesizing QAs' && e.type === 'qa') || later.some((p) => inPhase(p, e))), events.map((e) => e.type).join(','));
  });
}

test('the plan comes first: a long document gets an estimated plan before tokenizing, then the exact one', async (t) => {
  if (!requireShared(t, 'models/stories260K') || !requireShared(t, 'data/tinystories-valid-sample')) return;
  native.setThreads(1);
  const text = longText();
  const { events, error } = await absorbUntil(text, (e) => e.type === 'progress' && e.phase === 'building samples');
  assert.ok(error instanceof AbortedError);
  const kinds = events.map((e) => (e.type === 'progress' ? `progress:${e.phase}` : e.type));
  assert.equal(kinds[0], 'plan', `first event: ${kinds.slice(0, 3).join(',')}`);
  const plans = events.filter((e): e is Extract<AbsorbEvent, { type: 'plan' }> => e.type === 'plan');
  assert.equal(plans.length, 2);
  const [est, exact] = plans;
  assert.equal(est.estimated, true);
  assert.equal(exact.estimated, false);
  assert.ok(kinds.indexOf('progress:tokenizing') > 0 && kinds.indexOf('progress:tokenizing') < kinds.lastIndexOf('plan'), 'exact plan after tokenizing');
  const loaded = loadModelFromPath(MODEL());
  const T = documentTokens(loaded.tokenizer, 'Stories', text).length;
  loaded.model.dispose();
  assert.equal(exact.documentTokens, T);
  assert.ok(Math.abs(est.documentTokens - T) / T < 0.1, `estimate ${est.documentTokens} vs ${T} tokens`);
  const { stride } = exact.lengths;
  assert.equal(exact.segments, Math.ceil(T / stride));
  assert.equal(exact.samples, exact.segments); // 10 QAs and recitations only train in stage 2, which has 0 epochs
  assert.equal(exact.steps, 1); // one full-batch epoch
  assert.ok(exact.calibration.tokens > exact.lengths.segmentLength && exact.calibration.seconds > 0);
  assert.ok(exact.seconds > 0 && exact.memoryBytes > process.memoryUsage().rss / 4);
  // The estimate's time scales with its segments.
  assert.ok(Math.abs(est.seconds / exact.seconds - est.segments / exact.segments) < 0.05);
});

test('a short document gets one exact plan, before "prepare", matching what is trained', async (t) => {
  if (!requireShared(t, 'models/stories260K')) return;
  native.setThreads(1);
  const loaded = loadModelFromPath(MODEL());
  const events: AbsorbEvent[] = [];
  const text = 'Tom had a red ball. He threw it to his dog Rex. Rex ran fast and brought it back. They played until the sun went down.';
  const r = await absorb(loaded, { title: 'Tom', text }, {
    adapter: 'lora', lora: { r: 2, lora_alpha: 4 }, contextBudget: 128, epochs: [2, 3], batchSize: 2, qa: 2, qaGenerator: new BuiltinQAGenerator(), onEvent: (e) => events.push(e),
  });
  const plans = events.filter((e): e is Extract<AbsorbEvent, { type: 'plan' }> => e.type === 'plan');
  assert.equal(plans.length, 1);
  const p = plans[0], prep = events.find((e) => e.type === 'prepare');
  assert.ok(events.indexOf(p) < events.indexOf(prep!));
  assert.equal(p.estimated, false);
  assert.equal(p.documentTokens, prep?.type === 'prepare' ? prep.documentTokens : -1);
  assert.equal(p.segments, prep?.type === 'prepare' ? prep.segments : -1);
  assert.equal(p.samples, p.segments + 2);
  assert.equal(p.passes, 2 * p.segments + 3 * (p.segments + 2));
  assert.equal(r.qas.length, 2, 'both QAs fit the budget (else the plan, made before them, counts one too many)');
  assert.equal(p.steps, r.train.steps);
  r.adapter.dispose();
  loaded.model.dispose();
});

test('Ctrl-C inside a full-batch step: aborted between samples, checkpoint at that step, resume ends identical', async (t) => {
  if (!requireShared(t, 'models/stories260K')) return;
  native.setThreads(1);
  const { model, tokenizer } = loadModelFromPath(MODEL());
  const ids = tokenizer.encode(longText().slice(0, 60_000), { bos: true });
  // Enough samples that one full-batch step lasts several 50 ms slices.
  const samples: TrainSample[] = [];
  for (let o = 0; o + 65 <= ids.length && samples.length < 400; o += 32) samples.push({ input: ids.slice(o, o + 64), labels: ids.slice(o + 1, o + 65) });
  const stages = [{ name: 'segments', epochs: 2, samples }];
  const run = async (dir: string | undefined, abortAt: ((e: TrainEvent) => boolean) | null) => {
    const lora = new LoraAdapter(model, { r: 2, lora_alpha: 4, target_modules: ALL_LINEAR, seed: 5 });
    const ac = new AbortController();
    const events: TrainEvent[] = [];
    let error: unknown = null;
    try {
      await train(model, lora, stages, {
        lr: 1e-2, batchSize: 'full', seed: 2, checkpointDir: dir, checkpointEvery: 1, signal: ac.signal,
        onEvent: (e) => { events.push(e); if (abortAt?.(e) && !ac.signal.aborted) setImmediate(() => ac.abort()); },
      });
    } catch (e) {
      error = e;
    }
    const params = lora.parameters().map((p) => p.f32().slice());
    lora.dispose();
    return { events, error, params };
  };
  const dir = mkdtempSync(join(tmpdir(), 'lift-abort-batch-'));
  try {
    const whole = await run(undefined, null);
    // Abort from inside the second full-batch step (its first progress event past the first step's samples; the
    // event at the step boundary is not inside it): before, the signal was only read between steps, so a
    // full-batch step ran to its end whatever the user pressed.
    const cut = await run(dir, (e) => e.type === 'progress' && e.step === 1 && e.samples > samples.length);
    assert.ok(cut.error instanceof AbortedError, String(cut.error));
    assert.equal(cut.error.checkpointDir, dir);
    assert.equal(cut.events.filter((e) => e.type === 'step').length, 1, 'the second step did not complete');
    const last = cut.events.filter((e) => e.type === 'progress').at(-1);
    assert.ok(last?.type === 'progress' && last.samples > samples.length && last.samples < 2 * samples.length, 'stopped inside the batch');
    const state = JSON.parse(readFileSync(join(dir, 'checkpoint', 'trainer.json'), 'utf8'));
    assert.deepEqual([state.step, state.stage, state.epoch, state.batch], [1, 0, 1, 0]);
    const resumed = await run(dir, null);
    assert.equal(resumed.error, null);
    const start = resumed.events.find((e) => e.type === 'start');
    assert.ok(start?.type === 'start' && start.resumedAt === 1 && start.resumedAtSample === samples.length);
    resumed.params.forEach((p, i) => assert.deepEqual(p, whole.params[i], `parameter ${i} differs from the uninterrupted run`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
    model.dispose();
  }
});
