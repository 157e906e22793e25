// Runs one absorb job in its own process (../absorb-child.ts, which says why a process): used by the embedded
// engine (jobs.ts) and by `lift worker` (../../worker/worker.ts) alike, so both absorb exactly the same way.
import { fork, type ChildProcess } from 'node:child_process';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildMessage, JobSpec } from '../absorb-child.js';

// The child's file: .js when built, .ts under tsx (the fork inherits tsx through execArgv).
const CHILD = fileURLToPath(new URL(`../absorb-child${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

/** This process's Node flags for the job process, with a bare `--import tsx` resolved (the job runs in another folder). */
function childExecArgv(): string[] {
  return process.execArgv.map((a, i, all) => {
    if (a === 'tsx' && all[i - 1] === '--import') return import.meta.resolve('tsx');
    if (a === '--import=tsx') return `--import=${import.meta.resolve('tsx')}`;
    return a;
  });
}

/** How a job process ended: its last message ('done' | 'failed'), or null when it died without one. */
export interface ChildOutcome {
  message: Exclude<ChildMessage, { type: 'event' }> | null;
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

export interface ChildRun {
  proc: ChildProcess;
  outcome: Promise<ChildOutcome>;
  /** Signals the process (SIGTERM: its exit handlers remove its staging folder and lock) and waits for its exit; SIGKILL after 5 s. */
  stop(): Promise<void>;
  /** Asks the job to checkpoint the step it is at and end (graceful shutdown); SIGTERM after `ms`. */
  checkpointAndStop(ms?: number): Promise<void>;
}

export function startAbsorbChild(job: JobSpec, o: { cwd: string; env: NodeJS.ProcessEnv; onEvent: (e: Record<string, unknown>) => void }): ChildRun {
  const proc = fork(CHILD, [], { cwd: o.cwd, execArgv: childExecArgv(), env: o.env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  let message: ChildOutcome['message'] = null;
  proc.on('message', (m: ChildMessage) => {
    if (m.type === 'event') o.onEvent(m.event);
    else message = m;
  });
  const outcome = new Promise<ChildOutcome>((res) => proc.once('exit', (code, signal) => res({ message, code, signal, stderr })));
  proc.send({ type: 'start', job });
  return {
    proc,
    outcome,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await outcome;
      clearTimeout(t);
    },
    async checkpointAndStop(ms = 60_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.send({ type: 'stop' });
      const t = setTimeout(() => void this.stop(), ms);
      await outcome;
      clearTimeout(t);
    },
  };
}

/** The failure message of an outcome that is not 'done'. */
export function failureMessage(r: ChildOutcome): string {
  if (r.message?.type === 'failed') return r.message.message;
  const tail = r.stderr.trim().split('\n').slice(-3).join(' | ');
  return `the absorb process ended unexpectedly (${r.signal ?? `exit code ${r.code}`})${tail ? `: ${tail}` : ''}`;
}
