// CPU-bound companion processes for `bench -- engine --contended` and `bench -- generate --contended`: each is a
// Node child spinning in a busy loop, not pinned to any core (the OS places it, as it would a user's other work).
// One companion on a 2-core machine reproduces "one other CPU-bound process shares the cores" (issue 15's
// 1.50 s → 7.40 s case).
//
// Why a launcher: the companions are not forked by the measured process. libuv's spawn forks, and a fork marks
// every page of the parent copy-on-write until the child execs: the parent's next write to each page then faults
// once. With a model of ~1.4 GB loaded that was ~91,000 page faults and ~1.5 s added to the first step after each
// companion started (measured: 1-thread step 1.65 s quiet, 3.0–3.5 s right after a spawn, 1.65–1.9 s every step
// after; docs/speed.md, "Zen 5"), which the bench counted as contention although no other program would cause
// it. So one small launcher process is started before anything large is allocated (startLauncher(), called by
// the bench before it builds models), and it forks the busy loops on request. (The PyTorch peer starts its own
// with Python's subprocess, which uses vfork on Linux: no copy-on-write.)
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface Companions {
  readonly count: number;
  /** Kills them; resolves once the launcher has. */
  stop(): Promise<void>;
}

// The launcher: "start N" forks N busy loops, "alive" reports them (1 running, 0 exited), "stop" kills them.
const LAUNCHER = `
const { spawn } = require('node:child_process');
const BUSY = 'const p = process.ppid; for (let i = 1; ; i++) if ((i & 0xffffff) === 0 && process.ppid !== p) process.exit(0);';
let kids = [];
const alive = () => kids.map((k) => (k.exitCode === null && k.signalCode === null ? 1 : 0)).join('');
require('node:readline').createInterface({ input: process.stdin }).on('line', (l) => {
  const [cmd, n] = l.split(' ');
  // Each busy loop exits by itself once the launcher is gone (reparented: its ppid changes), even if the launcher was SIGKILLed.
  if (cmd === 'start') kids.push(...Array.from({ length: Number(n) }, () => spawn(process.execPath, ['-e', BUSY], { stdio: 'ignore' })));
  if (cmd === 'stop') for (const k of kids.splice(0)) k.kill('SIGKILL');
  process.stdout.write('ok ' + alive() + '\\n');
}).on('close', () => { for (const k of kids) k.kill('SIGKILL'); process.exit(0); });
`;

let launcher: { child: ChildProcess; replies: ((l: string) => void)[] } | null = null;

/** Starts the launcher (idempotent). Call it before allocating the model, so that its own fork is cheap. */
export function startLauncher(): void {
  if (launcher) return;
  const child = spawn(process.execPath, ['-e', LAUNCHER], { stdio: ['pipe', 'pipe', 'inherit'] });
  const replies: ((l: string) => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => replies.shift()?.(l));
  child.unref();
  for (const s of [child.stdin, child.stdout] as unknown as { unref?: () => void }[]) s.unref?.();
  process.once('exit', () => child.kill('SIGKILL')); // its busy loops go with it: it kills them when its stdin closes
  launcher = { child, replies };
}

async function command(line: string): Promise<string> {
  startLauncher();
  // The launcher's pipes are unref'd (it must not keep the bench alive); a pending reply must.
  const out = launcher!.child.stdout as unknown as { ref(): void; unref(): void };
  out.ref();
  const reply = new Promise<string>((r) => launcher!.replies.push(r));
  launcher!.child.stdin!.write(line + '\n');
  try {
    return await reply;
  } finally {
    out.unref();
  }
}

/** Starts `n` busy-loop processes (through the launcher) and waits ~200 ms so they are running before anything is timed. */
export async function startCompanions(n: number): Promise<Companions> {
  await command(`start ${n}`);
  await new Promise((r) => setTimeout(r, 200));
  const alive = await command('alive');
  if (!/^ok 1+$/.test(alive) || alive.length < 3 + n) {
    await command('stop');
    throw new Error(`a companion process exited at start (launcher says ${JSON.stringify(alive)})`);
  }
  return { count: n, stop: async () => void (await command('stop')) };
}
