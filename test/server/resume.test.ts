// State that survives: `lift serve` killed with SIGKILL in the middle of an absorb, then started again on the
// same --data, resumes the job from its checkpoint and finishes with the same adapter bytes as an absorb that
// was never interrupted; nothing is left half-written.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildOnce, MODEL_BIN, storyDocument, tempDir } from '../cli/helpers.js';
import { http, modelSkip, startServer, until, waitForEvent, type RunningServer } from './helpers.js';

// A checkpoint after every step, so a kill after step 2 has something to resume from.
// Waits are on events with generous deadlines (CI runs this on a loaded 2-core machine); none sleeps.
const DEADLINE = 180_000;
const RECIPE = { adapter: 'lora', lora_rank: 2, epochs: [1, 0], qa: 0, batch_size: 4, context_budget: 96, checkpoint_every: 1 };

describe('lift serve: a killed server resumes its absorb', { skip: modelSkip() }, () => {
  let data: ReturnType<typeof tempDir>, server: RunningServer | null = null;
  before(() => {
    buildOnce();
    data = tempDir();
  });
  after(async () => {
    await server?.kill();
    data.cleanup();
  });

  it('SIGKILL mid-absorb, restart: resumed from the checkpoint, same adapter as an uninterrupted run', async () => {
    const dir = join(data.dir, 'data');
    const text = storyDocument(30, 9);
    server = await startServer(['--model', MODEL_BIN, '--data', dir]);
    const posted = await http(`${server.url}/v1/documents`, 'POST', { text, title: 'kill me', recipe: RECIPE });
    assert.equal(posted.status, 202);
    const id: string = posted.json.id;
    // Kill as soon as the event stream tells of the checkpoint of step 2 (at least two steps before the end).
    let total = Infinity;
    await waitForEvent(`${server.url}/v1/documents/${id}/events`, (e) => {
      if (e.type === 'train_start') total = e.total_steps as number;
      return e.type === 'checkpoint' && (e.step as number) >= 2 && (e.step as number) <= total - 2;
    }, DEADLINE, 'the checkpoint of step 2 (the absorb ended before it: make the document longer)');
    await server.kill();
    assert.ok(existsSync(join(dir, 'checkpoints', id)), 'no checkpoint folder');
    // The job's process notices its parent is gone and exits; no adapter was committed.
    assert.equal(existsSync(join(dir, 'adapters', id)), false);

    // What a server killed in the middle of a DELETE leaves: swept at start (the live document's checkpoint is kept).
    const orphan = 'doc_' + 'ab'.repeat(12);
    for (const p of [join(dir, 'adapters', orphan), join(dir, 'adapters', `.deleted-${orphan}-1-2`), join(dir, 'checkpoints', orphan)]) {
      mkdirSync(p);
      writeFileSync(join(p, 'x'), 'left over');
    }
    server = await startServer(['--model', MODEL_BIN, '--data', dir]);
    const ready = await until(async () => {
      const d = (await http(`${server!.url}/v1/documents/${id}`, 'GET')).json;
      assert.notEqual(d.status, 'failed', d.error);
      return d.status === 'ready' ? d : undefined;
    }, DEADLINE, 'the resumed absorb');
    const events = (await http(`${server.url}/v1/documents`, 'GET')).json;
    assert.equal(events.data.length, 1);
    // The restart is visible in the events: a second train_start that resumed past step 0.
    const sse = await fetch(`${server.url}/v1/documents/${id}/events`).then((r) => r.text());
    const starts = sse.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6))).filter((e) => e.type === 'train_start');
    assert.equal(starts.length, 2, sse.slice(0, 2000));
    assert.ok(starts[1].resumed_at >= 1, `resumed at step ${starts[1].resumed_at}`);
    assert.equal(ready.metrics.steps, starts[0].total_steps);

    // The same text and recipe absorbed without interruption gives the same adapter, byte for byte.
    const again = await http(`${server.url}/v1/documents`, 'POST', { text, title: 'kill me', recipe: RECIPE });
    const id2: string = again.json.id;
    await until(async () => ((await http(`${server!.url}/v1/documents/${id2}`, 'GET')).json.status === 'ready' ? true : undefined), DEADLINE, 'the second absorb');
    const weights = (i: string): Buffer => readFileSync(join(dir, 'adapters', i, 'adapter_model.safetensors'));
    assert.ok(weights(id).equals(weights(id2)), 'resumed and uninterrupted adapters differ');
    // Nothing half-written or left over: only the two adapter folders, no staging names, no checkpoints.
    assert.deepEqual(readdirSync(join(dir, 'adapters')).sort(), [id, id2].sort());
    assert.deepEqual(readdirSync(join(dir, 'checkpoints')), []);
    await server.stop();
    server = null;
  });
});
