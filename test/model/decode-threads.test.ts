// The choice of threads a decode token runs on (src/model/decode-threads.ts), fed made-up token times: it keeps
// the faster choice, probes the other less often while the choice holds, and follows a change of conditions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DecodeThreads, type DecodeThreadCap } from '../../src/model/decode-threads.js';

/** Runs `n` tokens whose time depends on the cap (`ms`); returns the caps used in order. */
function drive(d: DecodeThreads, n: number, ms: (cap: DecodeThreadCap) => number, engineThreads = 2): DecodeThreadCap[] {
  const caps: DecodeThreadCap[] = [];
  for (let i = 0; i < n; i++) {
    const cap = d.pick(engineThreads);
    caps.push(cap);
    d.record(cap, ms(cap));
  }
  return caps;
}

function withEnv<T>(value: string | undefined, f: () => T): T {
  const was = process.env.LIFT_DECODE_THREADS;
  if (value === undefined) delete process.env.LIFT_DECODE_THREADS;
  else process.env.LIFT_DECODE_THREADS = value;
  try {
    return f();
  } finally {
    if (was === undefined) delete process.env.LIFT_DECODE_THREADS;
    else process.env.LIFT_DECODE_THREADS = was;
  }
}

test('cores to itself: the team stays, probes of one thread grow rarer', () => withEnv(undefined, () => {
  const d = new DecodeThreads();
  const caps = drive(d, 400, (c) => (c === 0 ? 20 : 30));
  const probes = caps.flatMap((c, i) => (c === 1 ? [i] : []));
  assert.equal(d.current, 0);
  assert.equal(probes[0], 3, 'the first probe comes once the team has a mean');
  const gaps = probes.slice(1).map((p, i) => p - probes[i]);
  assert.ok(gaps.every((g, i) => i === 0 || g >= gaps[i - 1]), `gaps never shrink: ${gaps}`);
  assert.equal(Math.max(...gaps), 65, 'probes every 64 team tokens at most');
  assert.ok(probes.length <= 12, `${probes.length} probes in 400 tokens`);
  assert.deepEqual(d.mean, [20, 30]);
}));

test('beside a busy process: one thread takes over at its first probe, and the team comes back when the cores free up', () => withEnv(undefined, () => {
  const d = new DecodeThreads();
  let busy = true;
  const caps = drive(d, 100, (c) => (c === 0 ? (busy ? 36 : 20) : 32));
  assert.equal(caps[3], 1);
  assert.equal(d.current, 1, 'one thread is 11 % faster: chosen');
  assert.ok(caps.slice(4).filter((c) => c === 1).length > 90);
  busy = false;
  drive(d, 80, (c) => (c === 0 ? (busy ? 36 : 20) : 32));
  assert.equal(d.current, 0, 'within a few probes the team is back');
  // A difference inside the margin does not flip the choice back and forth.
  const e = new DecodeThreads();
  const flat = drive(e, 300, (c) => (c === 0 ? 20 : 19));
  assert.equal(e.current, 0);
  assert.ok(flat.filter((c) => c === 1).length <= 10);
}));

test('pinned, or one engine thread: no probes', () => {
  withEnv('all', () => assert.ok(drive(new DecodeThreads(), 100, (c) => (c === 0 ? 50 : 1)).every((c) => c === 0)));
  withEnv('1', () => assert.ok(drive(new DecodeThreads(), 100, (c) => (c === 0 ? 1 : 50)).every((c) => c === 1)));
  withEnv(undefined, () => assert.ok(drive(new DecodeThreads(), 100, (c) => (c === 0 ? 50 : 1), 1).every((c) => c === 0)));
  // A new engine thread count starts the measurement again (the team's mean was another count's).
  withEnv(undefined, () => {
    const d = new DecodeThreads();
    drive(d, 20, (c) => (c === 0 ? 40 : 20));
    assert.equal(d.current, 1);
    const caps = drive(d, 3, () => 10, 4);
    assert.deepEqual(caps, [0, 0, 0]);
    assert.ok(Number.isNaN(d.mean[1]));
    assert.equal(d.current as number, 0);
  });
  // Times that are not times are ignored, not averaged in.
  withEnv(undefined, () => {
    const d = new DecodeThreads();
    drive(d, 10, (c) => (c === 0 ? NaN : 5));
    assert.ok(Number.isNaN(d.mean[0]));
  });
});
