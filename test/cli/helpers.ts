// Shared by the CLI tests: they run `lift` the way a user does, as the BUILT binary (node dist/src/cli/main.js),
// so a broken build, a missing import or a wrong exit code shows up here and not only in library tests.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sharedPath } from '../helpers/shared.js';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const MAIN = join(REPO, 'dist', 'src', 'cli', 'main.js');
export const MODEL_BIN = sharedPath('models', 'stories260K', 'stories260K.bin');
export const MODEL_GGUF = sharedPath('models', 'stories260K', 'stories260K.gguf');

function newestMtime(dir: string): number {
  let t = 0;
  for (const n of readdirSync(dir)) {
    const p = join(dir, n), s = statSync(p);
    t = Math.max(t, s.isDirectory() ? newestMtime(p) : p.endsWith('.ts') ? s.mtimeMs : 0);
  }
  return t;
}

/** Compiles with tsc when dist is missing or older than src/ (tsc emits even with type errors elsewhere). */
export function buildOnce(): void {
  if (existsSync(MAIN) && statSync(MAIN).mtimeMs >= newestMtime(join(REPO, 'src'))) return;
  const r = spawnSync(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(REPO, 'tsconfig.json')], { cwd: REPO, encoding: 'utf8' });
  if (!existsSync(MAIN)) throw new Error(`tsc did not produce ${MAIN}:\n${r.stdout}${r.stderr}`);
}

export interface Result { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** Runs `lift ...args` to completion. */
export function lift(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeout?: number; cwd?: string } = {}): Result {
  const r = spawnSync(process.execPath, [MAIN, ...args], {
    cwd: opts.cwd ?? REPO, encoding: 'utf8', input: opts.input ?? '', env: { ...process.env, ...opts.env }, timeout: opts.timeout ?? 120_000,
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Starts `lift ...args` and calls `onStderr` with the stderr text so far each time more arrives, so a test can
 * act at a given moment (e.g. send SIGINT once training has started). Resolves when the process exits.
 */
export function liftAsync(args: string[], onStderr: (soFar: string, pid: number) => void, env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '', stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      onStderr(stderr, child.pid!);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('error', rej);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      res({ code, signal, stdout, stderr });
    });
  });
}

/** A fresh temp folder; remove it with cleanup(). */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'lift-cli-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A small story-like document: repetitive sentences stories260K can learn from in seconds. */
export function storyDocument(sentences: number, seed = 1): string {
  const names = ['Lily', 'Tom', 'Sam', 'Anna', 'Ben', 'Mia'];
  const things = ['a red ball', 'a blue kite', 'a little dog', 'a shiny key', 'a big box'];
  let s = seed >>> 0;
  const rnd = (n: number): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % n);
  const out: string[] = [];
  for (let i = 0; i < sentences; i++) out.push(`${names[rnd(names.length)]} went to the park and found ${things[rnd(things.length)]} near tree ${i}.`);
  return out.join(' ') + '\n';
}

/** The quick LoRA recipe every CLI test absorbs with (a few seconds on stories260K). */
export const QUICK = ['--adapter', 'lora', '--lora-rank', '2', '--epochs', '1,0', '--qa', '0', '--batch-size', '4'];
