// Starting `lift serve` for the server tests: the BUILT binary (as a user runs it), on a free port, with its
// own --data folder; stop() sends SIGTERM (kill() SIGKILL) and waits for the exit.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { buildOnce, MAIN, MODEL_BIN, REPO, tempDir } from '../cli/helpers.js';

/** A `lift` process started for a test: its stderr so far; stop() sends SIGTERM, kill() SIGKILL, each waits for the exit. */
export interface RunningCli {
  proc: ChildProcess;
  exited: Promise<number | null>;
  stderr(): string;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

export interface RunningServer extends RunningCli {
  url: string;
}

/**
 * Starts the built `lift` with `args` and resolves once `ready` finds what it waits for in the stderr so far
 * (non-null); rejects when the process exits first or after 120 s — generous: loading the model on a loaded
 * 2-core CI machine can take a while, and a fast start does not wait.
 */
export function startCli<T extends object>(args: string[], ready: (stderr: string) => T | null, what: string, env: NodeJS.ProcessEnv = {}): Promise<RunningCli & T> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [MAIN, ...args], { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    let err = '';
    const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${what} did not start in 120 s:\n${err}`));
    }, 120_000);
    const running = (): boolean => proc.exitCode === null && proc.signalCode === null;
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      const found = ready(err);
      if (!found) return;
      clearTimeout(timer);
      resolve({
        ...found, proc, exited, stderr: () => err,
        stop: async () => { if (running()) proc.kill('SIGTERM'); await exited; },
        kill: async () => { if (running()) proc.kill('SIGKILL'); await exited; },
      });
    });
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${signal ?? code}) before it was ready:\n${err}`));
    });
  });
}

/** `lift serve` on a free port: ready when it logs the address it listens at. */
export function startServer(args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunningServer> {
  return startCli(['serve', '--port', '0', ...args], (err) => {
    const m = / at (http:\/\/[^\s/]+)\/v1/.exec(err);
    return m ? { url: m[1] } : null;
  }, 'lift serve', env);
}

/**
 * The server and queue tests need stories260K: a describe block's `skip` (false when it is there; on CI its
 * absence is an error, not a skip).
 */
export function modelSkip(): string | false {
  if (existsSync(MODEL_BIN)) return false;
  if (process.env.CI === 'true') throw new Error(`stories260K not found at ${MODEL_BIN}`);
  return `stories260K not found at ${MODEL_BIN}`;
}

/**
 * A `lift serve` on stories260K for the enclosing describe block, with a --data folder of its own (`dir`):
 * started before the block's tests (further flags in `args`), stopped (SIGTERM) and its folder removed after.
 */
export function servedFixture(args: string[] = []): { readonly url: string; readonly dir: string; readonly server: RunningServer } {
  let tmp: ReturnType<typeof tempDir> | undefined, server: RunningServer | undefined, dir = '';
  before(async () => {
    buildOnce();
    tmp = tempDir();
    dir = join(tmp.dir, 'data');
    server = await startServer(['--model', MODEL_BIN, '--data', dir, ...args]);
  });
  after(async () => {
    await server?.stop();
    tmp?.cleanup();
  });
  return { get url() { return server!.url; }, get dir() { return dir; }, get server() { return server!; } };
}

/** A request to the server; the body is sent as given (a string) or as JSON. */
export async function http(url: string, method: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any; text: string; headers: Headers }> {
  const init: RequestInit = { method, headers: { ...(body !== undefined && typeof body !== 'string' ? { 'content-type': 'application/json' } : {}), ...headers } };
  if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
  const r = await fetch(url, init);
  const text = await r.text();
  let json: unknown = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, json, text, headers: r.headers };
}

/** The `data:` payloads of a Server-Sent Events response, read to its end. */
export async function sseData(url: string, init: RequestInit = {}): Promise<string[]> {
  const r = await fetch(url, init);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status} ${await r.text()}`);
  const text = await r.text();
  return text.split('\n\n').flatMap((block) => block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)));
}

/** Polls `f` until it returns a value other than undefined (or fails after `ms`). */
export async function until<T>(f: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Reads a document's event stream (SSE) as it arrives and resolves with the first event `pred` accepts, as soon
 * as it arrives; fails after `ms`, or when the stream ends first (the document finished or was deleted).
 */
export async function waitForEvent(url: string, pred: (e: Record<string, unknown>) => boolean, ms: number, what: string): Promise<Record<string, unknown>> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), ms);
  try {
    const r = await fetch(url, { signal: abort.signal });
    if (!r.ok || !r.body) throw new Error(`${url}: HTTP ${r.status}`);
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of r.body as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        for (const line of block.split('\n')) {
          if (!line.startsWith('data: ')) continue;
          const e = JSON.parse(line.slice(6)) as Record<string, unknown>;
          if (pred(e)) return e;
        }
      }
    }
    throw new Error(`the event stream ended before ${what}`);
  } catch (e) {
    if (abort.signal.aborted) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    throw e;
  } finally {
    clearTimeout(timer);
    abort.abort(); // closes the stream
  }
}
