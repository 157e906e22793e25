// One fuzz target in a process of its own (started by runner.ts), so a crash of the native addon or an endless
// loop costs this process, not the run: the parent counts it and starts another. Reports over IPC: 'ready'
// after setup, cumulative counts at least every 250 ms, and the totals at the end.
// argv: target runs seed
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeFixtures } from './fixtures.js';
import { isTypedError, targetNamed } from './targets.js';
import { summary } from './mutate.js';
import { CURRENT_INPUT, HANG_MS, type ChildMessage, type Counts, type Finding } from './protocol.js';

const send = (m: ChildMessage): void => void process.send!(m);

async function main(): Promise<void> {
  const [name, runsArg, seedArg] = process.argv.slice(2);
  const runs = Number(runsArg), seed = Number(seedArg);
  const work = mkdtempSync(join(tmpdir(), `lift-fuzz-${name}-`));
  try {
    const fx = makeFixtures(join(work, 'fixtures'));
    const target = targetNamed(name);
    const runOne = await target.setup({ fx, work }); // an async setup (loading a parser library) is not charged to the first input
    const arb = target.input(fx);
    send({ kind: 'ready', work });
    const c: Counts = { done: 0, ok: 0, typed: 0, untyped: 0, hangs: 0, slowestMs: 0, slowestWallMs: 0 };
    const findings: Finding[] = [];
    let lastSent = performance.now();
    // Findings travel with every report: if the child is killed later (a stall), they are not lost with it.
    const heartbeat = (): void => {
      if (performance.now() - lastSent < 250) return;
      send({ kind: 'progress', counts: { ...c }, findings });
      lastSent = performance.now();
    };
    const classify = async (input: unknown): Promise<'ok' | 'typed' | Finding> => {
      try {
        await runOne(input);
        return 'ok';
      } catch (e) {
        if (isTypedError(e)) return 'typed';
        return { kind: 'untyped', message: `${(e as Error)?.name}: ${String((e as Error)?.message ?? e).slice(0, 300)} ${String((e as Error)?.stack ?? '').split('\n').slice(1, 4).join(' ').replace(/\s+/g, ' ')}`, input: summary(input) };
      }
    };
    const current = join(work, CURRENT_INPUT);
    await fc.assert(fc.asyncProperty(arb, async (input) => {
      // Written before each run: if this input crashes the process or never returns, the parent reads it here.
      writeFileSync(current, summary(input, 4000));
      const t0 = performance.now(), cpu0 = process.cpuUsage();
      const r = await classify(input);
      // CPU time, not wall time, decides a hang: on a shared 2-core machine (load 12 while others train) wall
      // time counts other processes' work; an endless loop still shows, through its CPU time or the stall watchdog.
      const cpu = process.cpuUsage(cpu0), ms = (cpu.user + cpu.system) / 1000;
      c.slowestWallMs = Math.max(c.slowestWallMs, performance.now() - t0);
      c.done++;
      c.slowestMs = Math.max(c.slowestMs, ms);
      if (r === 'ok') c.ok++;
      else if (r === 'typed') c.typed++;
      else {
        c.untyped++;
        if (findings.length < 5) findings.push(r);
      }
      if (ms > HANG_MS) {
        c.hangs++;
        if (findings.length < 10) findings.push({ kind: 'hang', message: `took ${ms.toFixed(0)} ms of CPU time`, input: summary(input) });
      }
      heartbeat();
      return true;
    }), { seed, numRuns: runs });
    // With untyped errors, run the same sequence again as a failing property so fast-check shrinks the first one.
    let shrunk: Finding | undefined;
    if (c.untyped > 0) {
      // Replays from the first input (heartbeats keep the watchdog from taking this for a stall), then shrinks.
      const r = await fc.check(fc.asyncProperty(arb, async (input) => {
        heartbeat();
        return typeof (await classify(input)) === 'string';
      }), { seed, numRuns: runs, interruptAfterTimeLimit: 60_000 });
      if (r.failed && r.counterexample) {
        const again = await classify(r.counterexample[0]);
        if (typeof again !== 'string') shrunk = { ...again, input: `${again.input} (shrunk; replay: seed ${seed}, path "${r.counterexamplePath}")` };
      }
    }
    send({ kind: 'done', counts: c, findings, shrunk });
    rmSync(work, { recursive: true, force: true }); // kept after a crash or a stall: the parent reports it
  } catch (e) {
    rmSync(work, { recursive: true, force: true });
    throw e;
  }
}

await main();
process.disconnect?.();
