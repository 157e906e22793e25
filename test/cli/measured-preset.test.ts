// Measured presets (src/lift/measured.ts, src/cli/measured-preset.ts): `lift absorb DOC --model M` with no recipe
// flag trains the preset measured best for M's head width and says so, with the plan's time and memory, before
// training; `--preset tiny` fills every flag not typed; any recipe flag without --preset keeps our defaults.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireShared } from '../helpers/shared.js';
import { buildOnce, lift, liftAsync, MODEL_BIN, storyDocument, tempDir } from './helpers.js';
import { loadModelFromPath } from '../../src/model/load.js';
import { hasRecipeFlags } from '../../src/cli/measured-preset.js';
import { epochsForLength, measuredPresetFor, TINY_PRESET } from '../../src/lift/measured.js';

before(() => buildOnce());

test('measuredPresetFor: heads ≤ 16 wide get the tiny preset, wider ones none; seed/out/json are no recipe flags', () => {
  assert.equal(measuredPresetFor({ head_dim: 8 }), TINY_PRESET);
  assert.equal(measuredPresetFor({ head_dim: 64 }), null);
  assert.equal(hasRecipeFlags(new Set(['model', 'out', 'seed', 'json', 'force', 'report', 'title'])), false);
  for (const k of ['epochs', 'adapter', 'qa', 'contextBudget', 'guard', 'ct']) assert.equal(hasRecipeFlags(new Set(['model', k])), true, k);
  const o = TINY_PRESET.recipe(2400, 128);
  assert.deepEqual([o.adapter, o.lora_rank, o.stride, o.epochs, o.qa, o.guard, o.guard_tokens, o.anchor, o.answer_recitations], ['lora', 32, 4, [4, 8], 60, 'kl', 512, 0.75, 1]);
  assert.equal(TINY_PRESET.recipe(2400, 512).stride, 16, 'the stride scales with the budget: ℓ/8');
  // Epochs against length (docs/recall.md): 4 + 8 up to 4096 tokens, then scaled by 2048 / tokens, ≥ 1 each.
  assert.deepEqual([4096, 4926, 9176, 17353, 100_000].map((n) => TINY_PRESET.recipe(n, 128).epochs), [[4, 8], [2, 3], [1, 2], [1, 1], [1, 1]]);
  assert.deepEqual(epochsForLength([4, 8], 2048), [4, 8]);
  assert.deepEqual(epochsForLength([4, 8], 2742), [3, 6]);
  assert.equal(hasRecipeFlags(new Set(['model', 'compute'])), false, '--compute changes the arithmetic, not the recipe');
  assert.equal(hasRecipeFlags(new Set(['model', 'recipe'])), true, 'a --recipe file is the recipe');
  // Parts beyond 4096 tokens (docs/recall.md, "Parts and routing"); --parts is no recipe flag.
  assert.deepEqual([2400, 4096, 4097, 17353].map((n) => TINY_PRESET.parts?.(n) ?? null), [null, null, 3072, 3072]);
  assert.equal(hasRecipeFlags(new Set(['model', 'parts'])), false);
});

test('absorb with no recipe flag on a long document: the preset\'s parts, each with its recipe, before training; --parts 0 keeps one', async (t) => {
  if (!requireShared(t, 'models', 'stories260K', 'stories260K.bin')) return;
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const doc = join(dir, 'long.txt');
  writeFileSync(doc, Array.from({ length: 6 }, (_, i) => storyDocument(30, i + 1)).join('\n'));
  const tokens = loadModelFromPath(MODEL_BIN).tokenizer.encode(readFileSync(doc, 'utf8'), { bos: false }).length;
  assert.ok(tokens > 4096 && tokens <= 6144, `a document of ${tokens} tokens`);
  const run = async (...extra: string[]) => {
    let killed = false;
    const r = await liftAsync(['absorb', doc, '--model', MODEL_BIN, '--out', join(dir, `${extra.length}.lift`), ...extra], (err, pid) => {
      if (!killed && /plan: .*training ≈ .*peak memory ≈/.test(err)) { killed = true; process.kill(pid, 'SIGKILL'); }
    }, { LIFT_CACHE_DIR: join(dir, 'cache') });
    assert.ok(killed, r.stderr);
    return r.stderr;
  };
  const parted = await run();
  assert.match(parted, new RegExp(`parts: the tiny preset absorbs a document of ${tokens} tokens as parts of ≤ ~3072 \\(.*\\); --parts 0 keeps one adapter`));
  assert.match(parted, /parts: 2 of ≤ ~3072 tokens[^]*part 1\/2: \d+ tokens\nrecipe: LoRA r32 α64, lr 0\.001, stride 16, 4 \+ 8 epochs/);
  const one = await run('--parts', '0');
  assert.doesNotMatch(one, /parts:/);
  assert.match(one, /recipe: LoRA r32 α64, lr 0\.001, stride 16, [12] \+ [1-3] epochs/, 'one adapter: the epochs for the whole length');
});

test('absorb with no recipe flag: the measured preset, printed with the plan before training', async (t) => {
  if (!requireShared(t, 'models', 'stories260K', 'stories260K.bin')) return;
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const doc = join(dir, 'story.txt');
  writeFileSync(doc, storyDocument(40));
  const tokens = loadModelFromPath(MODEL_BIN).tokenizer.encode(readFileSync(doc, 'utf8'), { bos: false }).length;
  let killed = false;
  const r = await liftAsync(['absorb', doc, '--model', MODEL_BIN, '--out', join(dir, 'a.lift'), '--seed', '3'], (err, pid) => {
    // The exact plan (calibrated) is printed before any training step; that is all this test needs.
    if (!killed && /plan: .*training ≈ .*peak memory ≈/.test(err)) { killed = true; process.kill(pid, 'SIGKILL'); }
  });
  assert.ok(killed, r.stderr);
  const qa = Math.ceil(tokens / 40);
  assert.match(r.stderr, new RegExp(`recipe: LoRA r32 α64, lr 0\\.001, stride 16, 4 \\+ 8 epochs in batches of 8, ${qa} QAs, KL guard \\(128 self-written texts ≤ 512 tokens, 4 per step\\), anchor 0\\.75 off the QAs' answers, 1 answer recitation \\(preset tiny: .*\\); the default on this model with no recipe flags`));
  assert.ok(r.stderr.indexOf('recipe: ') < r.stderr.indexOf('plan'), 'the recipe comes first');
});

test('absorb --preset tiny fills what is not typed (manifest); a recipe flag without --preset keeps our defaults', (t) => {
  if (!requireShared(t, 'models', 'stories260K', 'stories260K.bin')) return;
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const doc = join(dir, 'story.txt');
  writeFileSync(doc, storyDocument(8));
  const fast = ['--epochs', '1,1', '--guard-samples', '2', '--guard-tokens', '16', '--qa', '2', '--context-budget', '128', '--no-report'];
  const a = lift(['absorb', doc, '--model', MODEL_BIN, '--out', join(dir, 'tiny.lift'), '--preset', 'tiny', ...fast]);
  assert.equal(a.code, 0, a.stderr);
  const m = JSON.parse(readFileSync(join(dir, 'tiny.lift', 'lift_manifest.json'), 'utf8')).recipe;
  assert.deepEqual([m.adapter, m.adapter_options.r, m.lengths.stride, m.batch_size, m.anchor, m.anchor_on, m.guard.kind, m.preset], ['lora', 32, 4, 8, 0.75, 'answers', 'kl', { name: 'tiny', measured: true }]);
  assert.deepEqual([m.epochs, m.qa.requested, m.guard.samples], [[1, 1], 2, 2], 'explicit flags win');
  const b = lift(['absorb', doc, '--model', MODEL_BIN, '--out', join(dir, 'ours.lift'), ...fast]);
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stderr, /recipe: our defaults with the flags given \(the measured preset tiny is the default here only with no recipe flag/);
  const o = JSON.parse(readFileSync(join(dir, 'ours.lift', 'lift_manifest.json'), 'utf8')).recipe;
  assert.deepEqual([o.adapter, o.preset], ['gated-memory', undefined]);
});
