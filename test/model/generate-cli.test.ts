// `lift generate` end to end, spawned as a user runs it: stdout must be byte for byte what upstream llama2.c
// run.c prints for stories260K (stderr may carry logs); bad input must fail with a non-zero exit code and a
// message that says what was wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireShared, sharedPath } from '../helpers/shared.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIR = 'models/stories260K';

function lift(...args: string[]): { code: number | null; stdout: Buffer; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], {
    cwd: ROOT,
    // One OpenMP thread: the model is tiny and spinning workers only slow a shared machine down.
    env: { ...process.env, OMP_NUM_THREADS: '1' },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.toString('utf8') };
}

test('lift generate --steps 256 --temperature 0 prints exactly run.c greedy output (.bin and .gguf)', (t) => {
  if (!requireShared(t, DIR)) return;
  const want = readFileSync(sharedPath(DIR, 'expected_output_greedy_t0.txt'));
  for (const file of ['stories260K.bin', 'stories260K.gguf']) {
    const r = lift('generate', '--model', sharedPath(DIR, file), '--steps', '256', '--temperature', '0');
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.equals(want), `${file} stdout:\n${r.stdout.toString('utf8')}`);
  }
});

test('lift generate --temperature 1 --top-p 0.9 --seed 42 prints exactly run.c -t 1.0 -p 0.9 -s 42', (t) => {
  if (!requireShared(t, DIR)) return;
  const r = lift('generate', '--model', sharedPath(DIR, 'stories260K.bin'), '--steps', '256', '--temperature', '1', '--top-p', '0.9', '--seed', '42');
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.equals(readFileSync(sharedPath(DIR, 'expected_output_seed42_t1_p0.9.txt'))), r.stdout.toString('utf8'));
});

test('lift generate: a missing model fails with exit code 1 and says what to pass', () => {
  const r = lift('generate', '--model', '/nonexistent/dir/model.bin', '--temperature', '0');
  assert.equal(r.code, 1);
  assert.equal(r.stdout.length, 0);
  assert.match(r.stderr, /model not found: .*\/nonexistent\/dir\/model\.bin/);
  assert.match(r.stderr, /\.gguf/);
});

test('lift generate: bad flag values fail, naming the flag', () => {
  const model = sharedPath(DIR, 'stories260K.bin');
  for (const [flag, value] of [['--temperature', 'abc'], ['--top-p', '2'], ['--max-tokens', '1.5'], ['--seed', '0']]) {
    const r = lift('generate', '--model', model, flag, value);
    assert.notEqual(r.code, 0, `${flag} ${value}`);
    assert.ok(r.stderr.includes(flag), `${flag} ${value}: ${r.stderr}`);
    assert.equal(r.stdout.length, 0);
  }
});
