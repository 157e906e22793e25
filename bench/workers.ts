// `npm run bench -- workers [--json] [--documents N] [--sentences S]`: absorb throughput of `lift serve --queue`
// with 1 and then 2 `lift worker` processes of one thread each (documents per hour, and the speedup of 2 over
// 1), on stories260K with a fixed recipe, through a real Redis (redis-server started here on a free loopback
// port, in a temporary folder). The same documents and recipe for both; wall clock from the first POST to the
// last document ready. On a shared machine the figure moves with the load: say so when quoting it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Output, log, type BenchArgs } from './util.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const MODEL = join(REPO, '..', 'shared', 'models', 'stories260K', 'stories260K.bin');
const RECIPE = { adapter: 'lora', lora_rank: 2, epochs: [2, 0], qa: 0, batch_size: 4, context_budget: 96, checkpoint_every: 5 };

const port = (): Promise<number> => new Promise((res) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = (s.address() as { port: number }).port;
    s.close(() => res(p));
  });
});

/** Spawns `lift ARGS` (under tsx) and resolves once its stderr shows `ready`. */
function lift(args: string[], ready: RegExp): Promise<{ proc: ChildProcess; match: RegExpExecArray }> {
  return new Promise((res, rej) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'src', 'cli', 'main.ts'), ...args], { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      const m = ready.exec(err);
      if (m) res({ proc, match: m });
    });
    proc.once('exit', (c) => rej(new Error(`lift ${args[0]} exited (${c}):\n${err}`)));
  });
}

const stop = (p: ChildProcess): Promise<void> => new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r() : (p.once('exit', () => r()), p.kill('SIGTERM'))));

function story(sentences: number, seed: number): string {
  const names = ['Lily', 'Tom', 'Sam', 'Anna', 'Ben', 'Mia'], things = ['a red ball', 'a blue kite', 'a little dog', 'a shiny key', 'a big box'];
  let s = seed >>> 0;
  const rnd = (n: number): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % n);
  return Array.from({ length: sentences }, (_, i) => `${names[rnd(6)]} went to the park and found ${things[rnd(5)]} near tree ${i}.`).join(' ') + '\n';
}

async function run(workers: number, texts: string[]): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'lift-bench-workers-'));
  const rport = await port();
  const redis = spawn('redis-server', ['--port', String(rport), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes'], { stdio: 'ignore' });
  const procs: ChildProcess[] = [];
  try {
    await new Promise((r) => setTimeout(r, 500));
    const url = `redis://127.0.0.1:${rport}`, data = join(dir, 'data');
    const server = await lift(['serve', '--model', MODEL, '--data', data, '--port', '0', '--queue', url], / at (http:\/\/[^\s/]+)\/v1/);
    procs.push(server.proc);
    for (let i = 0; i < workers; i++) procs.push((await lift(['worker', '--model', MODEL, '--store', data, '--queue', url, '--threads', '1'], /lift worker: /)).proc);
    const base = server.match[1];
    const t0 = performance.now();
    const ids: string[] = [];
    for (const [i, text] of texts.entries()) {
      const r = await fetch(`${base}/v1/documents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text, title: `doc ${i}`, recipe: RECIPE }) });
      ids.push(((await r.json()) as { id: string }).id);
    }
    for (;;) {
      const docs = await Promise.all(ids.map(async (id) => (await (await fetch(`${base}/v1/documents/${id}`)).json()) as { status: string; error: string | null }));
      const bad = docs.find((d) => d.status === 'failed');
      if (bad) throw new Error(`a document failed: ${bad.error}`);
      if (docs.every((d) => d.status === 'ready')) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    return (performance.now() - t0) / 1000;
  } finally {
    for (const p of procs.reverse()) await stop(p);
    await stop(redis);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchWorkers(a: BenchArgs): Promise<void> {
  const n = Number(a.flags.get('documents') ?? 6), sentences = Number(a.flags.get('sentences') ?? 60);
  const texts = Array.from({ length: n }, (_, i) => story(sentences, 7 + i));
  const out = new Output(a.json);
  let one = 0;
  for (const workers of [1, 2]) {
    log(`workers: ${workers} worker process(es) × 1 thread, ${n} documents …`);
    const seconds = await run(workers, texts);
    const dph = (n / seconds) * 3600;
    if (workers === 1) one = dph;
    out.emit({ bench: 'workers', workers, threads: 1, documents: n, seconds: Math.round(seconds * 10) / 10, documents_per_hour: Math.round(dph), speedup: Math.round((dph / one) * 100) / 100 });
  }
  out.table(['workers', 'documents', 'seconds', 'documents_per_hour', 'speedup']);
}
