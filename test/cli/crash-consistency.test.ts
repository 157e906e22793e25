// Crash consistency: `lift absorb` killed with SIGKILL at many moments — named points in every phase
// (tokenizing, QA synthesis, sample building, training steps, checkpoint writing, adapter writing, the rename
// that replaces an old adapter; src/io/fault.ts) and seeded random times — then run again with the same command.
// Every run must end with the same adapter bytes as an uninterrupted run, and after each kill the target must be
// absent, the user's previous adapter, or the finished result: never a folder that loads as a wrong adapter.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireShared } from '../helpers/shared.js';
import { buildOnce, lift, MAIN, MODEL_BIN, REPO, storyDocument, tempDir } from './helpers.js';

before(() => buildOnce());

/** Two stages, builtin QAs, guard texts, a checkpoint every 2 steps: every phase the issue names is reached, in ~12 steps. */
const RECIPE = ['--adapter', 'lora', '--lora-rank', '2', '--epochs', '1,1', '--qa', '3', '--batch-size', '4',
  '--context-budget', '64', '--segment-length', '16', '--stride', '16', '--checkpoint-every', '2',
  '--guard', 'kl', '--guard-samples', '2', '--guard-tokens', '16', '--seed', '5', '--no-report'];

/** What must be identical between runs: the adapter, its configs and document files, and the manifest minus times. */
function fingerprint(dir: string): string {
  const manifest = JSON.parse(readFileSync(join(dir, 'lift_manifest.json'), 'utf8'));
  delete manifest.created;
  delete manifest.metrics.seconds;
  const files = readdirSync(dir).filter((f) => f !== 'lift_manifest.json' && f !== 'report.html').sort();
  return JSON.stringify({ manifest, files: files.map((f) => [f, readFileSync(join(dir, f)).toString('base64')]) });
}

function killedRun(args: string[], env: NodeJS.ProcessEnv, afterMs?: number): Promise<{ signal: string | null; code: number | null; stderr: string }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = afterMs !== undefined ? setTimeout(() => child.kill('SIGKILL'), afterMs) : null;
    child.on('error', rej);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      res({ code, signal, stderr });
    });
  });
}

test('absorb killed at 20+ moments resumes to the same adapter bytes; no kill leaves a wrong adapter', { timeout: 900_000 }, async (t) => {
  if (!requireShared(t, 'models', 'stories260K', 'stories260K.bin')) return;
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const doc = join(dir, 'doc.txt');
  writeFileSync(doc, storyDocument(16, 3));
  const args = (out: string, ...more: string[]) => ['absorb', doc, '--model', MODEL_BIN, '--out', out, ...RECIPE, ...more];

  const ref = join(dir, 'ref.lift');
  const t0 = performance.now();
  const r = lift(args(ref));
  const refMs = performance.now() - t0;
  assert.equal(r.code, 0, r.stderr);
  const want = fingerprint(ref);
  // A previous adapter of the user's, replaced with --force in some cases.
  const older = join(dir, 'older.lift');
  assert.equal(lift(args(older, '--seed', '9')).code, 0);
  const old = fingerprint(older);
  assert.notEqual(old, want);

  // [name, kills (LIFT_FAULT specs or 'time:<ms>' for a timer), replace an existing adapter with --force]
  const rnd = ((s) => () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32))(20261203);
  const cases: [string[], boolean][] = [
    [['drive:tokenizing:1'], false],
    [['absorb:plan:1'], false],
    [['absorb:prepare:1'], false],
    [['drive:building-samples:2'], false],
    [['drive:synthesizing-QAs:1'], false],
    [['absorb:qa:1'], false],
    [['absorb:guard:1'], false],
    [['train:start:1'], false],
    [['train:progress:2'], false],
    [['train:step:1'], false],
    [['train:step:3'], false],
    [['train:checkpoint:1'], false],
    [['checkpoint:state-written:1'], false],
    [['checkpoint:old-moved-aside:2'], false],
    [['checkpoint:renamed:1'], false],
    [['write:chunk:1'], false],
    [['adapter:weights-written:1'], false],
    [['output:commit:1'], false],
    [['absorb:checkpoint-removed:1'], false],
    [['output:commit:1'], true],
    [['output:old-moved-aside:1'], true],
    [['train:step:2', 'train:step:2', 'checkpoint:state-written:2'], false],
    ...Array.from({ length: 6 }, (_, i): [string[], boolean] => [[`time:${Math.round(150 + rnd() * refMs)}`], i % 3 === 2]),
  ];
  let kills = 0;
  for (const [i, [plan, replace]] of cases.entries()) {
    const out = join(dir, `case-${i}.lift`);
    // A cache folder per case (checkpoints, QA cache): each case's first run synthesizes its QAs anew.
    const cache = mkdtempSync(join(tmpdir(), 'lift-crash-cache-'));
    t.after(() => rmSync(cache, { recursive: true, force: true }));
    const env = { LIFT_CACHE_DIR: cache };
    if (replace) cpSync(older, out, { recursive: true });
    const cmd = args(out, ...(replace ? ['--force'] : []));
    for (const spec of plan) {
      const timed = spec.startsWith('time:');
      const k = await killedRun(cmd, timed ? env : { ...env, LIFT_FAULT: spec }, timed ? Number(spec.slice(5)) : undefined);
      const what = `case ${i} (${spec}${replace ? ', replacing' : ''})`;
      if (!timed) assert.equal(k.signal, 'SIGKILL', `${what}: the fault point was not reached: ${k.stderr}`);
      if (k.signal === 'SIGKILL') kills++;
      // Right after the kill: nothing, the user's previous adapter, or the finished result.
      if (existsSync(out)) {
        const now = fingerprint(out);
        assert.ok(now === want || (replace && now === old), `${what}: the target holds an adapter that is neither the old one nor the result`);
      }
    }
    // A timer can miss (the run finished first, e.g. on a faster machine): then there is nothing to resume, and the
    // same command would rightly refuse to replace the finished adapter without --force.
    const finished = existsSync(out) && fingerprint(out) === want && readdirSync(join(cache, 'checkpoints')).length === 0;
    const resumed = finished && !replace ? { code: 0, stderr: '' } : lift(cmd, { env });
    assert.equal(resumed.code, 0, `case ${i} (${plan.join(' → ')}): ${resumed.stderr}`);
    assert.equal(fingerprint(out), want, `case ${i} (${plan.join(' → ')}): the resumed adapter differs from the uninterrupted one`);
    assert.deepEqual(readdirSync(join(cache, 'checkpoints')), [], `case ${i}: checkpoint removed once finished`);
    rmSync(out, { recursive: true });
  }
  assert.ok(kills >= 20, `${kills} kills`);
  t.diagnostic(`${kills} SIGKILLs in ${cases.length} cases (${cases.filter((c) => c[1]).length} replacing an adapter with --force); every resume gave the reference bytes`);
  assert.deepEqual(readdirSync(dir).sort(), ['doc.txt', 'older.lift', 'ref.lift'], 'no staging, lock or old folders left anywhere');
});
