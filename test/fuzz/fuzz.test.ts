// The short, deterministic fuzz pass of `npm test` (issue 11, item 5): every parser target gets a few hundred
// seeded fast-check inputs in child processes; none may crash, hang (> 1 s) or throw an untyped error.
// `npm run fuzz -- --runs 100000` is the long pass (figures in the README). The canary target checks that the
// harness really counts what it claims to (a test that cannot fail proves nothing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fuzzTarget } from './runner.js';
import { PARSER_TARGETS } from './targets.js';
import { requireShared } from '../helpers/shared.js';

const RUNS = 300;
const SEED = 20261203;

test('the fuzz harness counts crashes, hangs and untyped errors (canary target)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lift-fuzz-canary-'));
  process.env.LIFT_FUZZ_CANARY = dir;
  try {
    const r = await fuzzTarget('_canary', 200, SEED);
    assert.equal(r.runs, 200);
    assert.equal(r.crashes, 1, JSON.stringify(r));
    assert.equal(r.hangs, 1, JSON.stringify(r));
    assert.ok(r.untyped_errors > 5 && r.typed_errors > 5 && r.ok > 100, JSON.stringify(r));
    assert.equal(r.first_failure?.kind, 'crash');
  } finally {
    delete process.env.LIFT_FUZZ_CANARY;
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const target of PARSER_TARGETS) {
  test(`fuzz ${target}: ${RUNS} seeded inputs, no crash, hang or untyped error`, async (t) => {
    if (!requireShared(t, 'models/stories260K/tok512.bin')) return; // the fixtures derive from its vocabulary
    const r = await fuzzTarget(target, RUNS, SEED);
    assert.deepEqual({ runs: r.runs, crashes: r.crashes, hangs: r.hangs, untyped_errors: r.untyped_errors }, { runs: RUNS, crashes: 0, hangs: 0, untyped_errors: 0 },
      `${JSON.stringify(r.first_failure)}`);
    assert.ok(r.ok + r.typed_errors === RUNS);
  });
}
