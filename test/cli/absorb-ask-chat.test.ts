// The main workflow end to end on stories260K, as a user runs it: `lift absorb` a document, `lift ask` about
// it, `lift chat` with questions piped on stdin; and an `absorb` interrupted with SIGINT during training,
// which must leave a checkpoint, say how to resume, and finish when the same command runs again.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { checkpointDirFor } from '../../src/io/output.js';
import { join } from 'node:path';
import { requireShared } from '../helpers/shared.js';
import { loadModelFromPath } from '../../src/model/load.js';
import { loadAdapter } from '../../src/adapters/files.js';
import { readAbsorbed } from '../../src/lift/folder.js';
import { ask } from '../../src/lift/ask.js';
import { tidy } from '../../src/engine/index.js';
import { maxAbs } from '../adapters/tiny.js';
import { buildOnce, lift, liftAsync, MODEL_BIN, QUICK, storyDocument, tempDir } from './helpers.js';

before(() => buildOnce());

describe('absorb → ask → chat', () => {
  test('on stories260K', async (t) => {
    if (!requireShared(t, 'models', 'stories260K', 'stories260K.bin')) return;
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    const doc = join(dir, 'park.txt'), out = join(dir, 'park.lift');
    writeFileSync(doc, storyDocument(40));
    // A budget of 128 leaves room for the answer prompt plus some document (64 does not: see ask's check).
    const a = lift(['absorb', doc, '--model', MODEL_BIN, '--out', out, ...QUICK, '--context-budget', '128', '--json']);
    assert.equal(a.code, 0, a.stderr);
    const res = JSON.parse(a.stdout);
    assert.equal(res.out, out);
    assert.ok(res.steps > 0 && Number.isFinite(res.final_loss), a.stdout);
    assert.match(a.stderr, /absorbed in [\d.]+ s/);
    for (const f of ['lift_manifest.json', 'adapter_config.json', 'adapter_model.safetensors', 'document.txt', 'document.json', 'report.html'])
      assert.ok(existsSync(join(out, f)), `${f} written`);
    assert.equal(readFileSync(join(out, 'document.txt'), 'utf8'), readFileSync(doc, 'utf8'));
    assert.ok(!existsSync(checkpointDirFor(out)), 'no checkpoint left after a finished run');

    const q = lift(['ask', out, 'Who went to the park?']);
    assert.equal(q.code, 0, q.stderr);
    // The answer is the library's: ask() with the folder's adapter, document and budget (so the CLI loaded the
    // adapter, not the base alone, and used the recorded budget); and the adapter changed something.
    const loaded = loadModelFromPath(MODEL_BIN);
    t.after(() => loaded.model.dispose());
    const kept = readAbsorbed(out), { adapter } = loadAdapter(out, { model: loaded.model, id: loaded.id, revision: loaded.revision });
    const opts = { title: kept.title, document: kept.text, contextBudget: kept.contextBudget, answerStop: kept.answerStop, bos: kept.bos };
    assert.equal(q.stdout, (await ask(loaded, adapter, 'Who went to the park?', opts)) + '\n');
    const bare = lift(['ask', out, 'Who went to the park?', '--no-adapter']);
    assert.equal(bare.stdout, (await ask(loaded, null, 'Who went to the park?', opts)) + '\n');
    assert.notEqual(q.stdout, bare.stdout, 'with its adapter ask answers otherwise than the base model');
    const ids = Int32Array.from(loaded.tokenizer.encode(kept.text.slice(0, 200), { bos: true }));
    assert.ok(tidy(() => maxAbs(loaded.model.forward(ids, { adapter }).f32(), loaded.model.forward(ids).f32())) > 1e-3, 'the adapter moves the logits');
    adapter.dispose();
    assert.doesNotMatch(q.stdout, /answered in/, 'timing goes to stderr');
    assert.match(q.stderr, /answered in .*LIFT adapter, context truncate/);
    const qj = lift(['ask', out, 'Who went to the park?', '--json', '--context', 'retrieve']);
    assert.equal(qj.code, 0, qj.stderr);
    assert.equal(JSON.parse(qj.stdout).question, 'Who went to the park?');

    // Greedy decoding: chat answers the same question exactly as ask does, one output line per input line.
    const c = lift(['chat', out], { input: 'Who went to the park?\n\nWhat did Tom find?\n' });
    assert.equal(c.code, 0, c.stderr);
    const lines = c.stdout.split('\n');
    assert.equal(lines.length, 4, JSON.stringify(c.stdout));
    assert.equal(lines[3], '');
    assert.equal(lines[0], q.stdout.trim().replace(/\s*\n\s*/g, ' '));
    assert.equal(lines[1], '', 'a blank input line gets a blank output line');
    assert.ok(lines[2].length > 0);
    assert.match(c.stderr, /2 questions answered/);

    // /quit ends the session before the rest of the input.
    const quit = lift(['chat', out], { input: 'Who went to the park?\n/quit\nWhat did Tom find?\n' });
    assert.equal(quit.code, 0, quit.stderr);
    assert.equal(quit.stdout.split('\n').length, 2);
    assert.match(quit.stderr, /1 question answered/);
  });
});

describe('absorb interrupted with SIGINT', () => {
  test('leaves a checkpoint, says how to resume, and the same command resumes', async (t) => {
    if (!requireShared(t, 'models', 'stories260K', 'stories260K.bin')) return;
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    const doc = join(dir, 'long.txt'), out = join(dir, 'long.lift');
    // ~3000 tokens at budget 64: ~130 steps (a few seconds), interrupted after the first progress line past step 0
    // (LIFT_PROGRESS_SECONDS=0: a plain line at every update, not every 5 s, so the test does not race the clock).
    writeFileSync(doc, storyDocument(110, 2));
    const args = ['absorb', doc, '--model', MODEL_BIN, '--out', out, ...QUICK, '--context-budget', '64', '--checkpoint-every', '1', '--no-report'];
    let sent = false;
    const first = await liftAsync(args, (err, pid) => {
      // After the first optimizer step (the bar shows "step N/M"), so the checkpoint has something to resume.
      if (!sent && /^training: \d+\/\d+.*step [1-9]\d*\//m.test(err)) {
        sent = true;
        process.kill(pid, 'SIGINT');
      }
    }, { LIFT_PROGRESS_SECONDS: '0' });
    assert.ok(sent, `no training progress line appeared: ${first.stderr}`);
    assert.notEqual(first.code, 0, first.stderr);
    assert.match(first.stderr, /interrupted: stopping/);
    assert.match(first.stderr, /resume with the same command: lift absorb /);
    assert.ok(existsSync(checkpointDirFor(out)), 'a checkpoint left behind in the cache folder');
    assert.deepEqual(readdirSync(dir), ['long.txt'], 'nothing written beside --out: no adapter, no temp folder, no lock');
    assert.ok(!existsSync(join(out, 'lift_manifest.json')), 'no adapter written for an interrupted run');

    const second = lift(args);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /resuming from the checkpoint at step [1-9]\d*/);
    assert.match(second.stderr, /absorbed in/);
    assert.ok(existsSync(join(out, 'lift_manifest.json')));
    assert.ok(!existsSync(checkpointDirFor(out)), 'the checkpoint is removed once finished');
    const manifest = JSON.parse(readFileSync(join(out, 'lift_manifest.json'), 'utf8'));
    assert.equal(manifest.adapter, 'lora');
  });
});

describe('absorb training knobs beyond the paper', () => {
  test('--stride, --segment-length, --anchor, --anchor-on, --answer-recitations, --lr-schedule, --warmup and the guard sizes reach the recipe', (t) => {
    if (!requireShared(t, 'models', 'stories260K', 'stories260K.bin')) return;
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    const doc = join(dir, 'knobs.txt'), out = join(dir, 'knobs.lift');
    writeFileSync(doc, storyDocument(12));
    const a = lift(['absorb', doc, '--model', MODEL_BIN, '--out', out, ...QUICK, '--context-budget', '128', '--no-report', '--json',
      '--segment-length', '24', '--stride', '6', '--anchor', '0.5', '--lr-schedule', 'cosine', '--warmup', '2',
      '--guard', 'kl', '--guard-samples', '2', '--guard-per-step', '2', '--guard-tokens', '200', '--anchor-on', 'answers', '--qa', '3', '--answer-recitations', '2']);
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stderr, /segments of 24 \(stride 6\)/);
    assert.match(a.stderr, /forgetting guard: 2 general-text samples/);
    const recipe = JSON.parse(readFileSync(join(out, 'lift_manifest.json'), 'utf8')).recipe;
    assert.equal(recipe.lengths.segmentLength, 24);
    assert.equal(recipe.lengths.stride, 6);
    assert.equal(recipe.anchor, 0.5);
    assert.equal(recipe.schedule, 'cosine');
    assert.equal(recipe.warmup_steps, 2);
    assert.deepEqual({ kind: recipe.guard.kind, samples: recipe.guard.samples, per_step: recipe.guard.per_step }, { kind: 'kl', samples: 2, per_step: 2 });
    assert.equal(recipe.anchor_on, 'answers');
    assert.equal(recipe.qa.generated, 3);
    assert.ok(recipe.anchor_lifted_tokens > 0, `the QAs' answers lift the anchor somewhere (${recipe.anchor_lifted_tokens} tokens)`);
    assert.ok(recipe.answer_recitations >= 2 && recipe.answer_recitations % 2 === 0, `two recitations per answer span (${recipe.answer_recitations})`);
    assert.ok(recipe.guard.longest >= 2 && recipe.guard.longest <= 200, `guard texts cut at --guard-tokens 200: longest ${recipe.guard.longest}`);
    const gm = join(dir, 'gm.lift');
    const g = lift(['absorb', doc, '--model', MODEL_BIN, '--out', gm, ...QUICK, '--context-budget', '128', '--no-report', '--adapter', 'gated-memory', '--gm-input', 'layer']);
    assert.equal(g.code, 0, g.stderr);
    assert.equal(JSON.parse(readFileSync(join(gm, 'gated_memory_config.json'), 'utf8')).memory_input, 'layer');
    const badInput = lift(['absorb', doc, '--model', MODEL_BIN, '--out', gm, '--gm-input', 'rows']);
    assert.notEqual(badInput.code, 0);
    assert.match(badInput.stderr, /--gm-input.*rows.*head, layer/s);
    const bad = lift(['absorb', doc, '--model', MODEL_BIN, '--out', join(dir, 'bad.lift'), '--stride', '40', '--segment-length', '24', '--context-budget', '128']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /stride 40 exceeds segmentLength 24/);
  });
});
