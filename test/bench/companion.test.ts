// The contended benchmarks' busy companions (bench/companion.ts): forked by a small launcher, never by the measured
// process (a fork from a process holding a model made its next step page-fault on every page: docs/speed.md, "Zen 5"),
// and never left behind — stopped on request, and exiting by themselves when the launcher dies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { startCompanions } from '../../bench/companion.js';

/** [pid, ppid] of every process whose command line is a companion's busy loop. */
function busyLoops(): [number, number][] {
  const out = execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes('process.ppid !== p') && !l.includes('readline')) /* the launcher's own script quotes the loop */.map((l) => l.trim().split(/\s+/).slice(0, 2).map(Number) as [number, number]);
}

const until = async (ok: () => boolean, ms = 5000): Promise<boolean> => {
  for (const t0 = Date.now(); Date.now() - t0 < ms; await new Promise((r) => setTimeout(r, 50))) if (ok()) return true;
  return ok();
};

test('companions: busy loops forked by the launcher, not by this process, and stopped', async () => {
  const before = busyLoops().length;
  const c = await startCompanions(2);
  const loops = busyLoops();
  assert.equal(loops.length, before + 2);
  const launcher = loops.at(-1)![1];
  assert.notEqual(launcher, process.pid, 'the measured process must not fork the companions');
  // They spin: user CPU time (clock ticks, /proc/PID/stat field 14) grows while we wait.
  const ticks = (pid: number): number => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[11]);
  const t0 = ticks(loops.at(-1)![0]);
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(ticks(loops.at(-1)![0]) - t0 >= 10, 'a companion uses at least 0.1 s of CPU in 0.3 s');
  await c.stop();
  assert.ok(await until(() => busyLoops().length === before), 'stop() leaves no busy loop');
});

test('companions: a busy loop exits by itself when its launcher is killed', async () => {
  const before = busyLoops().length;
  await startCompanions(1);
  const [, launcher] = busyLoops().at(-1)!;
  process.kill(launcher, 'SIGKILL');
  assert.ok(await until(() => busyLoops().length === before), 'the orphaned busy loop exits once its parent is gone');
});
