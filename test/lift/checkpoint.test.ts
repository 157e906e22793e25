// Checkpoints that cannot be resumed are said, never silent: a damaged one (trainer.json not JSON or of the
// wrong shape, state.safetensors truncated or missing) is a typed CheckpointError whose message ends with the
// exact command that discards it; one from other settings is reported with what differs, then replaced.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireShared, sharedPath } from '../helpers/shared.js';
import { loadModelFromPath } from '../../src/model/load.js';
import { LoraAdapter, ALL_LINEAR } from '../../src/adapters/lora.js';
import { train, type TrainEvent, type TrainSample } from '../../src/lift/trainer.js';
import { CheckpointError, checkpointPath, shellQuote } from '../../src/lift/checkpoint.js';
import { FormatError } from '../../src/io/errors.js';

const MODEL = () => sharedPath('models/stories260K/stories260K.bin');

/** A small LoRA run on stories260K with a checkpoint after every step. */
async function run(dir: string, opts: { lr?: number; epochs?: number } = {}): Promise<{ events: TrainEvent[]; resumed: boolean }> {
  const { model, tokenizer } = loadModelFromPath(MODEL());
  const ids = tokenizer.encode('Lily had a dog called Biscuit. Biscuit liked to run in the park and chase red balls.', { bos: true });
  const samples: TrainSample[] = [{ input: ids.slice(0, -1), labels: ids.slice(1) }];
  const lora = new LoraAdapter(model, { r: 2, lora_alpha: 4, target_modules: ALL_LINEAR, seed: 1 });
  const events: TrainEvent[] = [];
  try {
    const r = await train(model, lora, [{ name: 'segments', epochs: opts.epochs ?? 2, samples }], {
      lr: opts.lr ?? 1e-2, batchSize: 'full', checkpointDir: dir, checkpointEvery: 1, onEvent: (e) => events.push(e),
    });
    return { events, resumed: r.resumed };
  } finally {
    lora.dispose();
    model.dispose();
  }
}

/** A checkpoint whose files are then damaged by `damage`; returns the error of the rerun. */
async function rerunAfter(t: { skip(m: string): void }, damage: (ck: string) => void): Promise<unknown> {
  const dir = mkdtempSync(join(tmpdir(), 'lift ck-')); // a space: the command must quote the path
  try {
    await run(dir);
    const ck = checkpointPath(dir);
    assert.ok(existsSync(join(ck, 'trainer.json')));
    damage(ck);
    try {
      await run(dir);
    } catch (e) {
      return e;
    }
    return null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const damages: [string, (ck: string) => void, RegExp][] = [
  ['trainer.json is not JSON', (ck) => writeFileSync(join(ck, 'trainer.json'), '{"fingerprint": "ab'), /trainer\.json: \(file\): not valid JSON/],
  ['trainer.json is null', (ck) => writeFileSync(join(ck, 'trainer.json'), 'null'), /trainer\.json: \(top level\): expected an object, got null/],
  ['trainer.json has a wrong field type', (ck) => {
    const s = JSON.parse(readFileSync(join(ck, 'trainer.json'), 'utf8'));
    writeFileSync(join(ck, 'trainer.json'), JSON.stringify({ ...s, step: 'seven' }));
  }, /trainer\.json: step: expected a non-negative integer, got "seven"/],
  ['state.safetensors is truncated', (ck) => truncateSync(join(ck, 'state.safetensors'), Math.floor(statSync(join(ck, 'state.safetensors')).size / 2)), /state\.safetensors: /],
  ['state.safetensors is missing', (ck) => rmSync(join(ck, 'state.safetensors')), /state\.safetensors: \(file\): missing beside trainer\.json/],
];

for (const [what, damage, detail] of damages) {
  test(`a damaged checkpoint (${what}) is a CheckpointError with the command that discards it`, async (t) => {
    if (!requireShared(t, 'models/stories260K')) return;
    const e = await rerunAfter(t, damage);
    assert.ok(e instanceof CheckpointError, `a CheckpointError, got ${String(e)}`);
    assert.ok(e instanceof FormatError, 'typed like every file error');
    assert.match(e.message, detail);
    const m = /discard it \(training restarts from the beginning\) with: (rm -r .+)$/.exec(e.message);
    assert.ok(m, e.message);
    assert.equal(m[1], `rm -r ${shellQuote(e.checkpoint)}`);
    assert.ok(e.checkpoint.endsWith('checkpoint') && e.checkpoint.includes('lift ck-'));
  });
}

test('the discard command works: the shell removes exactly the damaged checkpoint, and a rerun then trains', async (t) => {
  if (!requireShared(t, 'models/stories260K')) return;
  const dir = mkdtempSync(join(tmpdir(), "lift 'ck-"));
  try {
    await run(dir);
    writeFileSync(join(checkpointPath(dir), 'trainer.json'), '[]');
    const e = await run(dir).then(() => null, (x: unknown) => x);
    assert.ok(e instanceof CheckpointError);
    const cmd = /with: (rm -r .+)$/.exec(e.message)![1];
    const sh = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
    assert.equal(sh.status, 0, sh.stderr);
    assert.ok(!existsSync(checkpointPath(dir)) && existsSync(dir));
    const again = await run(dir);
    assert.equal(again.resumed, false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a checkpoint from other settings is reported with what differs, not resumed, and replaced', async (t) => {
  if (!requireShared(t, 'models/stories260K')) return;
  const dir = mkdtempSync(join(tmpdir(), 'lift-ck-'));
  try {
    await run(dir, { lr: 1e-2 });
    const b = await run(dir, { lr: 2e-2, epochs: 3 });
    const stale = b.events.find((e) => e.type === 'stale-checkpoint');
    assert.ok(stale?.type === 'stale-checkpoint', 'a stale-checkpoint event');
    assert.equal(stale.dir, checkpointPath(dir));
    assert.ok(stale.differs.includes('lr 0.01 → 0.02'), stale.differs.join('; '));
    assert.ok(stale.differs.includes('epochs "segments:2" → "segments:3"'), stale.differs.join('; '));
    assert.equal(stale.differs.length, 2, 'the samples and the adapter are the same');
    assert.equal(b.resumed, false);
    // Replaced: a third run with B's settings resumes B's finished checkpoint silently.
    const c = await run(dir, { lr: 2e-2, epochs: 3 });
    assert.equal(c.resumed, true);
    assert.ok(!c.events.some((e) => e.type === 'stale-checkpoint'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('absorb reports a damaged checkpoint before any preparation', async (t) => {
  if (!requireShared(t, 'models/stories260K')) return;
  const { absorb } = await import('../../src/lift/absorb.js');
  const dir = mkdtempSync(join(tmpdir(), 'lift-ck-'));
  const loaded = loadModelFromPath(MODEL());
  try {
    mkdirSync(checkpointPath(dir), { recursive: true });
    writeFileSync(join(checkpointPath(dir), 'trainer.json'), '{"fingerprint": 1}');
    const events: string[] = [];
    const e = await absorb(loaded, { title: 'T', text: 'Tom had a red ball. He threw it to his dog.' }, { checkpointDir: dir, onEvent: (x) => events.push(x.type) }).then(() => null, (x: unknown) => x);
    assert.ok(e instanceof CheckpointError, String(e));
    assert.match(e.message, /fingerprint: expected a string, got 1/);
    assert.deepEqual(events, [], 'no plan, no tokenizing before the error');
  } finally {
    loaded.model.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
