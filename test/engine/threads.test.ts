// Thread counts (src/engine/threads.ts, native/addon.cc): zero, negative and non-integer counts are refused
// naming their source; counts above the cores are clamped with a message; LIFT_THREADS (then OMP_NUM_THREADS)
// gets the same rules at load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { coreCount, resolveThreads } from '../../src/engine/threads.js';

test('resolveThreads refuses zero, negative and non-integer counts, naming the flag', () => {
  for (const bad of ['0', '-2', 0, -1]) assert.throws(() => resolveThreads(bad, '--threads'), /--threads: expected a number of threads ≥ 1, got -?\d/);
  for (const bad of ['1.5', 'abc', 'true', '2x', 1.5]) assert.throws(() => resolveThreads(bad, '--threads'), /--threads: expected a whole number of threads ≥ 1, got/);
});

test('resolveThreads clamps counts above the cores with a message, keeps counts within, and defaults', () => {
  const cores = coreCount();
  const said: string[] = [];
  assert.equal(resolveThreads(String(cores + 3), '--threads', 2, (m) => said.push(m)), cores);
  assert.equal(said.length, 1);
  assert.match(said[0], new RegExp(`--threads: ${cores + 3} threads on ${cores} cores?: using ${cores}`));
  assert.equal(resolveThreads('1', '--threads', 2, (m) => said.push(m)), 1);
  assert.equal(resolveThreads(undefined, '--threads', 1, (m) => said.push(m)), 1);
  assert.equal(resolveThreads(undefined, '--threads', cores + 5, (m) => said.push(m)), cores); // a default is never above the cores either
  assert.equal(said.length, 1);
});

test('LIFT_THREADS at load: garbage and zero are ignored with a message, too many are clamped with one', () => {
  const native = fileURLToPath(new URL('../../src/engine/native.ts', import.meta.url));
  const run = (v: string, name = 'LIFT_THREADS') => spawnSync(process.execPath, ['--import', 'tsx', '-e', `import(${JSON.stringify(native)}).then((m) => console.log(m.native.getThreads()))`],
    { encoding: 'utf8', env: { ...process.env, LIFT_THREADS: undefined, OMP_NUM_THREADS: undefined, [name]: v } });
  const cores = coreCount();
  for (const [v, msg] of [['abc', /LIFT_THREADS=abc: expected a whole number of threads >= 1; using \d+/], ['0', /LIFT_THREADS=0: expected a whole number/], [String(cores + 7), new RegExp(`LIFT_THREADS=${cores + 7}: more threads than the ${cores} cores; using ${cores}`)]] as const) {
    const r = run(v);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, msg);
    assert.equal(Number(r.stdout.trim()), cores);
  }
  const one = run('1');
  assert.equal(one.stderr, '');
  assert.equal(Number(one.stdout.trim()), 1);
});

test('OMP_NUM_THREADS counts when LIFT_THREADS is not set (job processes set it), clamped to the cores', () => {
  const native = fileURLToPath(new URL('../../src/engine/native.ts', import.meta.url));
  const run = (env: Record<string, string | undefined>) => spawnSync(process.execPath, ['--import', 'tsx', '-e', `import(${JSON.stringify(native)}).then((m) => console.log(m.native.getThreads()))`],
    { encoding: 'utf8', env: { ...process.env, LIFT_THREADS: undefined, OMP_NUM_THREADS: undefined, ...env } });
  const cores = coreCount();
  assert.equal(Number(run({ OMP_NUM_THREADS: '1' }).stdout.trim()), 1);
  const many = run({ OMP_NUM_THREADS: String(cores + 5) });
  assert.match(many.stderr, new RegExp(`OMP_NUM_THREADS=${cores + 5}: more threads than the ${cores} cores; using ${cores}`));
  assert.equal(Number(many.stdout.trim()), cores);
  assert.equal(Number(run({ OMP_NUM_THREADS: '1', LIFT_THREADS: String(cores) }).stdout.trim()), cores); // LIFT_THREADS wins
});
