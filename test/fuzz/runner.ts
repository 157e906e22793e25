// Runs fuzz targets, each in child processes (child.ts), and reports per target: runs, crashes (the child died:
// a native crash, an abort, running out of memory), hangs (one input took > 1 s of CPU time, or the child stopped making
// progress and was killed) and untyped errors (anything thrown that is not a typed error; see targets.ts).
// After a crash or a stall the target continues in a fresh child with the next seed, so one bad input does not
// end the run, and the count stays honest: the input that was running counts as run.
//   npm run fuzz -- [--runs N] [--seed S] [--target a,b] [--json]
import { fork } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { CURRENT_INPUT, type ChildMessage, type Counts, type Finding } from './protocol.js';
import { PARSER_TARGETS, TARGETS } from './targets.js';

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));
/** No progress for this long after setup: the child is stuck in one input (sync code cannot time itself out). */
const STALL_MS = 10_000;
const SETUP_MS = 120_000;
const MAX_RESTARTS = 20;

export interface TargetReport {
  fuzz: true;
  target: string;
  runs: number;
  crashes: number;
  hangs: number;
  untyped_errors: number;
  ok: number;
  typed_errors: number;
  seconds: number;
  seed: number;
  /** CPU time of the slowest input (a hang is > 1 s of it), and its wall time on this (shared) machine. */
  slowest_ms: number;
  slowest_wall_ms: number;
  first_failure?: Finding & { where?: string };
  /** Up to 5 untyped errors and hangs, each with its input. */
  findings: Finding[];
}

interface Attempt { counts: Counts; findings: Finding[]; shrunk?: Finding; ended: 'done' | 'crash' | 'stall'; detail: string; work?: string }

function attempt(target: string, runs: number, seed: number): Promise<Attempt> {
  return new Promise((resolve) => {
    const child = fork(CHILD, [target, String(runs), String(seed)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let findings: Finding[] = [];
    let counts: Counts = { done: 0, ok: 0, typed: 0, untyped: 0, hangs: 0, slowestMs: 0, slowestWallMs: 0 };
    let result: Attempt | undefined;
    let stderr = '';
    let work: string | undefined;
    let timer: NodeJS.Timeout | undefined;
    const arm = (ms: number): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        result = { counts, findings, ended: 'stall', detail: `no progress for ${ms / 1000} s after ${counts.done} runs`, work };
        child.kill('SIGKILL');
      }, ms);
    };
    arm(SETUP_MS);
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr = (stderr + d).slice(-2000); });
    child.on('message', (m: ChildMessage) => {
      if (m.kind === 'ready') { work = m.work; arm(STALL_MS); return; }
      counts = m.counts;
      findings = m.findings;
      if (m.kind === 'progress') { arm(STALL_MS); return; }
      result = { counts, findings: m.findings, shrunk: m.shrunk, ended: 'done', detail: '' };
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (result && (result.ended !== 'done' || code === 0)) return resolve(result);
      resolve({ counts, findings, ended: 'crash', detail: `child exited with ${signal ?? `status ${code}`} after ${counts.done} runs: ${stderr.trim().split('\n').slice(-3).join(' | ')}`, work });
    });
  });
}

/** What a dead or stuck child was running (child.ts writes it before each input); its folder is then removed. */
function lastInput(work: string | undefined): string {
  if (!work) return '(the child died during setup)';
  try {
    return readFileSync(join(work, CURRENT_INPUT), 'utf8');
  } catch {
    return `(no record in ${work})`;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export async function fuzzTarget(target: string, runs: number, seed: number, onProgress?: (s: string) => void): Promise<TargetReport> {
  const t0 = performance.now();
  const r: TargetReport = { fuzz: true, target, runs: 0, crashes: 0, hangs: 0, untyped_errors: 0, ok: 0, typed_errors: 0, seconds: 0, seed, slowest_ms: 0, slowest_wall_ms: 0, findings: [] };
  let s = seed;
  let setupFailures = 0;
  for (let restarts = 0; r.runs < runs; restarts++) {
    if (restarts > MAX_RESTARTS) throw new Error(`fuzz ${target}: more than ${MAX_RESTARTS} crashes or stalls; stopping (last seed ${s})`);
    const a = await attempt(target, runs - r.runs, s);
    if (a.ended === 'crash' && a.work === undefined) {
      // Died before its first input (building the fixtures): not a parser crash. In a tree other people edit
      // while a long run goes on, a half-saved source file does this; wait and try again, a few times.
      if (++setupFailures > 5) throw new Error(`fuzz ${target}: the child failed to start ${setupFailures} times: ${a.detail}`);
      onProgress?.(`${target}: setup failed (${a.detail}); retrying in 15 s`);
      restarts--;
      await new Promise((res) => setTimeout(res, 15_000));
      continue;
    }
    const c = a.counts;
    // A crashed or stalled child was inside an input after its last report: that input counts as run.
    r.runs += c.done + (a.ended === 'done' ? 0 : 1);
    r.ok += c.ok;
    r.typed_errors += c.typed;
    r.untyped_errors += c.untyped;
    r.hangs += c.hangs + (a.ended === 'stall' ? 1 : 0);
    r.crashes += a.ended === 'crash' ? 1 : 0;
    r.slowest_ms = Math.max(r.slowest_ms, Math.round(c.slowestMs));
    r.slowest_wall_ms = Math.max(r.slowest_wall_ms, Math.round(c.slowestWallMs ?? 0));
    const died = a.ended !== 'done' ? { kind: a.ended === 'crash' ? 'crash' as const : 'hang' as const, message: a.detail, input: lastInput(a.work) } : undefined;
    const failure = a.shrunk ?? died ?? a.findings[0];
    if (a.findings.length > 0) r.findings.push(...a.findings.slice(0, 5 - r.findings.length));
    if (!r.first_failure && failure) r.first_failure = { ...failure, where: `seed ${s}` };
    if (a.ended !== 'done') onProgress?.(`${target}: ${a.ended} (${a.detail}); continuing with seed ${s + 1}`);
    s++;
  }
  r.seconds = Math.round((performance.now() - t0) / 100) / 10;
  return r;
}

export const machine = (): string => `${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores), node ${process.version}, ${process.platform}`;

function parseArgs(argv: string[]): { runs: number; seed: number; targets: string[]; json: boolean } {
  const o = { runs: 1000, seed: 0x5eed, targets: PARSER_TARGETS, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i], v = argv[i + 1];
    const num = (): number => {
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${a}: expected a positive integer, got ${JSON.stringify(v)}`);
      i++;
      return n;
    };
    if (a === '--runs') o.runs = num();
    else if (a === '--seed') o.seed = num();
    else if (a === '--target') { o.targets = String(v).split(','); i++; }
    else if (a === '--json') o.json = true;
    else throw new Error(`unknown option ${a} (options: --runs N, --seed S, --target a,b, --json); targets: ${TARGETS.map((t) => t.name).join(', ')}`);
  }
  for (const t of o.targets) if (!TARGETS.some((x) => x.name === t)) throw new Error(`no fuzz target "${t}" (targets: ${TARGETS.map((x) => x.name).join(', ')})`);
  return o;
}

/** The CLI: targets run one after another (each is CPU-bound); exit status 1 if any target found anything. */
export async function main(argv: string[]): Promise<number> {
  const o = parseArgs(argv);
  if (!o.json) console.log(`fuzzing ${o.targets.length} targets, ${o.runs} runs each, seed ${o.seed}; ${machine()}`);
  let bad = 0;
  for (const t of o.targets) {
    const r = await fuzzTarget(t, o.runs, o.seed, (s) => process.stderr.write(`${s}\n`));
    bad += r.crashes + r.hangs + r.untyped_errors;
    if (o.json) console.log(JSON.stringify(r));
    else {
      console.log(`${t.padEnd(18)} runs ${r.runs}  crashes ${r.crashes}  hangs ${r.hangs}  untyped ${r.untyped_errors}  (ok ${r.ok}, typed ${r.typed_errors}; ${r.seconds} s, slowest ${r.slowest_ms} ms CPU, ${r.slowest_wall_ms} ms wall)`);
      if (r.first_failure) console.log(`  first: ${r.first_failure.kind}: ${r.first_failure.message}\n  input: ${r.first_failure.input}`);
    }
  }
  return bad > 0 ? 1 : 0;
}
