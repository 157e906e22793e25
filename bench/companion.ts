// CPU-bound companion processes for `bench -- engine --contended`: each is a Node child spinning in a busy loop,
// not pinned to any core (the OS places it, as it would a user's other work). One companion on a 2-core
// machine reproduces "one other CPU-bound process shares the cores" (issue 15's 1.50 s → 7.40 s case).
import { spawn, type ChildProcess } from 'node:child_process';

export interface Companions {
  readonly count: number;
  stop(): void;
}

/** Starts `n` busy-loop processes and waits ~200 ms so they are running before anything is timed. */
export async function startCompanions(n: number): Promise<Companions> {
  const kids: ChildProcess[] = Array.from({ length: n }, () =>
    spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore', detached: false }));
  await new Promise((r) => setTimeout(r, 200));
  for (const k of kids) if (k.exitCode !== null) throw new Error(`a companion process exited at start (code ${k.exitCode})`);
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    for (const k of kids) k.kill('SIGKILL');
    process.off('exit', stop);
  };
  process.on('exit', stop); // never leave a busy loop behind, even when the benchmark throws
  return { count: n, stop };
}
