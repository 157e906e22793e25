// A real Redis for the queue tests: each test starts its own redis-server on a free loopback port, with its
// data in a temporary folder (append-only file, so a restart keeps the jobs), and stops it. Without
// redis-server the tests are skipped on a developer's machine and fail in CI (CI=true): .ci/run installs it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REDIS_SERVER = process.env.REDIS_SERVER ?? 'redis-server';
export const haveRedis = spawnSync(REDIS_SERVER, ['--version'], { stdio: 'ignore' }).status === 0;
if (!haveRedis && process.env.CI === 'true') throw new Error(`${REDIS_SERVER} not found: the queue tests need a real Redis (apt-get install redis-server)`);
export const redisSkip = haveRedis ? false : `${REDIS_SERVER} not found (apt-get install redis-server)`;

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

export interface TestRedis {
  url: string;
  port: number;
  dir: string;
  /** Stops (SIGTERM: Redis flushes its append-only file) and starts it again on the same port and data. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
  /** Stops it and removes its folder. */
  cleanup(): Promise<void>;
}

export async function startRedis(): Promise<TestRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'lift-redis-'));
  const port = await freePort();
  let proc: ChildProcess | null = null;
  const up = (): Promise<void> => new Promise((res, rej) => {
    const p = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--protected-mode', 'yes'], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc = p;
    let out = '';
    const t = setTimeout(() => rej(new Error(`redis-server did not start in 10 s:\n${out}`)), 10_000);
    p.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('Ready to accept connections')) {
        clearTimeout(t);
        res();
      }
    });
    p.once('exit', (code) => {
      clearTimeout(t);
      rej(new Error(`redis-server exited (${code}):\n${out}`));
    });
  });
  const stop = async (): Promise<void> => {
    const p = proc as ChildProcess | null;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await exited;
  };
  await up();
  return {
    url: `redis://127.0.0.1:${port}`, port, dir,
    async restart(downMs = 1000) {
      await stop();
      await new Promise((r) => setTimeout(r, downMs));
      await up();
    },
    stop,
    async cleanup() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
