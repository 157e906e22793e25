// --compute on the commands that run a model: `absorb --compute bf16` trains on the bf16 path and records it in
// the manifest's recipe, `ask --compute bf16` answers from it; without the units (LIFT_CPU_FEATURES=-avx512bf16)
// --compute bf16 is a clear error with a non-zero exit and auto runs fp32 (with one line saying why for a model
// wide enough for bf16; a narrow one is fp32 by auto's rule on every CPU, silently).
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireShared } from '../helpers/shared.js';
import { cpuFeatures } from '../../src/engine/index.js';
import { buildOnce, lift, MODEL_BIN, QUICK, storyDocument, tempDir } from './helpers.js';

before(() => buildOnce());

test('absorb --compute bf16 records compute in the recipe; ask --compute bf16 answers', { skip: !cpuFeatures().bf16 && 'no AVX-512 BF16 units' }, (t) => {
  if (!requireShared(t, 'models', 'stories260K', 'stories260K.bin')) return;
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const doc = join(dir, 'park.txt'), out = join(dir, 'park.lift');
  writeFileSync(doc, storyDocument(30));
  const a = lift(['absorb', doc, '--model', MODEL_BIN, '--out', out, ...QUICK, '--context-budget', '128', '--no-report', '--compute', 'bf16']);
  assert.equal(a.code, 0, a.stderr);
  const manifest = JSON.parse(readFileSync(join(out, 'lift_manifest.json'), 'utf8'));
  assert.equal(manifest.recipe.compute, 'bf16');
  const q = lift(['ask', out, 'Where did they go?', '--compute', 'bf16', '--max-tokens', '8']);
  assert.equal(q.code, 0, q.stderr);
  assert.ok(q.stdout.trim().length > 0, 'an answer');
});

test('without bf16 units: --compute bf16 is refused, auto runs fp32', (t) => {
  if (!requireShared(t, 'models', 'stories260K', 'stories260K.bin')) return;
  const env = { LIFT_CPU_FEATURES: '-avx512bf16' };
  const args = ['generate', '--model', MODEL_BIN, '--prompt', 'Once upon a time', '--temperature', '0', '--max-tokens', '5'];
  const bad = lift([...args, '--compute', 'bf16'], { env });
  assert.equal(bad.code, 1, bad.stderr);
  assert.match(bad.stderr, /--compute bf16: this CPU has no AVX-512 BF16 units/);
  assert.equal(bad.stdout, '');
  // stories260K is 64 wide: auto picks fp32 for it on every CPU, so no fallback note (the note for a wide model
  // without the units: test/engine/gemm-bf16.test.ts, chooseCompute).
  const auto = lift([...args, '--compute', 'auto'], { env });
  assert.equal(auto.code, 0, auto.stderr);
  assert.doesNotMatch(auto.stderr, /^compute:/m, auto.stderr);
  const fp32 = lift([...args, '--compute', 'fp32']);
  assert.equal(auto.stdout, fp32.stdout, 'auto without the units is the fp32 path');
  const typo = lift([...args, '--compute', 'fast']);
  assert.notEqual(typo.code, 0);
  assert.match(typo.stderr, /Allowed choices are fp32, bf16, auto/);
});

test('the default is auto: a narrow model (stories260K, 64 wide) runs fp32 silently, as --compute fp32 does', (t) => {
  if (!requireShared(t, 'models', 'stories260K', 'stories260K.bin')) return;
  const help = lift(['generate', '--help']);
  assert.match(help.stdout.replace(/\s+/g, ' '), /--compute <mode>.*\(choices: "fp32", "bf16", "auto", default: "auto"\)/);
  const args = ['generate', '--model', MODEL_BIN, '--prompt', 'Once upon a time', '--temperature', '0', '--max-tokens', '12'];
  const dflt = lift(args), fp32 = lift([...args, '--compute', 'fp32']);
  assert.equal(dflt.code, 0, dflt.stderr);
  assert.doesNotMatch(dflt.stderr, /^compute:/m, 'no note: fp32 is auto\'s choice here, not a fallback');
  assert.equal(dflt.stdout, fp32.stdout);
});
