// Processes for the queue tests: `lift worker` (the BUILT binary, as a user runs it), started like
// test/server/helpers.ts starts `lift serve`; plus the recipe and documents the multi-process tests absorb.
import { spawn, type ChildProcess } from 'node:child_process';
import { MAIN, MODEL_BIN, REPO, storyDocument } from '../cli/helpers.js';
import { http, until } from '../server/helpers.js';

export interface RunningWorker {
  proc: ChildProcess;
  stderr(): string;
  /** SIGTERM (graceful: checkpoint, hand back) and wait. */
  stop(): Promise<void>;
  kill(): Promise<void>;
  exited: Promise<number | null>;
}

/** A checkpoint after every step, so a killed job resumes a step or so back; ~10–20 s per document on stories260K. */
export const RECIPE = { adapter: 'lora', lora_rank: 2, epochs: [1, 0], qa: 0, batch_size: 4, context_budget: 96, checkpoint_every: 1 };
export const documents = (n: number): string[] => Array.from({ length: n }, (_, i) => storyDocument(24 + 2 * i, 100 + i));

export function startWorker(url: string, store: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<RunningWorker> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [MAIN, 'worker', '--queue', url, '--model', MODEL_BIN, '--store', store, '--lock-seconds', '3', ...extra], { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    let err = '';
    const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`lift worker did not start in 120 s:\n${err}`));
    }, 120_000);
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      if (err.includes('lift worker: ')) {
        clearTimeout(timer);
        resolve({
          proc, exited, stderr: () => err,
          stop: async () => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM'); await exited; },
          kill: async () => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); await exited; },
        });
      }
    });
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`lift worker exited (${signal ?? code}) before it was ready:\n${err}`));
    });
  });
}

export async function post(server: string, text: string, title: string, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await http(`${server}/v1/documents`, 'POST', { text, title, recipe: RECIPE, ...extra });
  if (r.status !== 202) throw new Error(`POST /v1/documents: ${r.status} ${r.text}`);
  return r.json.id;
}

/** Waits until every document is ready (fails at the first failed one). */
export async function allReady(server: string, ids: string[], ms: number): Promise<Record<string, any>> {
  return until(async () => {
    const docs: Record<string, any> = {};
    for (const id of ids) {
      const d = (await http(`${server}/v1/documents/${id}`, 'GET').catch(() => null))?.json;
      if (!d) return undefined;
      if (d.status === 'failed') throw new Error(`document ${id} failed: ${d.error}`);
      docs[id] = d;
    }
    return Object.values(docs).every((d) => d.status === 'ready') ? docs : undefined;
  }, ms, `${ids.length} documents ready`);
}
