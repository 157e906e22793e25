// `npm run bench -- absorb --vs DIR [--sizes 1024] [--budget 2048] [--reps 2] [--threads 2] [--compute bf16]
// [--adapter lora] [--pack N] [--together] [--json]`: bench absorb's configuration on another checkout DIR and on
// this tree, each run in a fresh child process (absorb-tree.ts, through each tree's own modules and addon), so
// both see the same machine in the same minutes. Runs alternate (DIR first on odd reps, ours first on even ones)
// to cancel drift; `--together` starts both at once instead (each with its --threads), which on a machine
// shared with other work compares them under the same load. Lines: both trees' seconds, seconds to the first
// plan line and training seconds, per rep, and `speedup` = DIR's median seconds / ours. `--compute bf16` applies
// to this tree only (DIR runs fp32, its default then).
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { loadavg } from 'node:os';
import { Output, log, type BenchArgs } from './util.js';
import { threadsFlag } from './threads-flag.js';

interface TreeRun { seconds: number; plan_s: number; train_s: number; load: number }

function runTree(tree: string, env: Record<string, string>): Promise<TreeRun> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', resolve('bench/absorb-tree.ts')], { env: { ...process.env, ...env, LIFT_TREE: tree }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => (code === 0 ? done(JSON.parse(out.trim().split('\n').at(-1)!) as TreeRun) : fail(new Error(`absorb on ${tree} failed (exit ${code}):\n${err.slice(-2000)}`))));
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export async function benchAbsorbVs(args: BenchArgs): Promise<void> {
  const base = resolve(args.flags.get('vs')!);
  const ours = resolve('.');
  const sizes = (args.flags.get('sizes') ?? '1024').split(',').map(Number);
  const reps = Number(args.flags.get('reps') ?? 2);
  if (!(Number.isInteger(reps) && reps >= 1)) throw new Error(`--reps: expected an integer ≥ 1, got ${args.flags.get('reps')}`);
  const together = args.flags.has('together');
  const threads = threadsFlag(args.flags.get('threads'), 2);
  const out = new Output(args.json);
  for (const n of sizes) {
    const env: Record<string, string> = { TOKENS: String(n), BUDGET: args.flags.get('budget') ?? '2048', THREADS: String(threads), ADAPTER: args.flags.get('adapter') ?? 'gated-memory', COMPUTE: args.flags.get('compute') ?? 'fp32', ...(args.flags.has('pack') ? { PACK: args.flags.get('pack')! } : {}) };
    const runs: { base: TreeRun; ours: TreeRun }[] = [];
    for (let k = 0; k < reps; k++) {
      let b: TreeRun, o: TreeRun;
      // --compute is ours only: the base runs its default (fp32), as a user of that commit got it.
      const baseEnv = { ...env, COMPUTE: 'fp32' };
      if (together) [b, o] = await Promise.all([runTree(base, baseEnv), runTree(ours, env)]);
      else if (k % 2 === 0) { b = await runTree(base, baseEnv); o = await runTree(ours, env); }
      else { o = await runTree(ours, env); b = await runTree(base, baseEnv); }
      runs.push({ base: b, ours: o });
      log(`  ${n} tokens, rep ${k + 1}: base ${b.seconds.toFixed(1)} s, ours ${o.seconds.toFixed(1)} s (load ${loadavg()[0].toFixed(1)})`);
    }
    const bs = median(runs.map((r) => r.base.seconds)), os = median(runs.map((r) => r.ours.seconds));
    out.emit({
      bench: 'absorb-vs', base, base_compute: 'fp32', model: 'SmolLM2-135M-shape', adapter: env.ADAPTER, compute: env.COMPUTE, budget: Number(env.BUDGET), threads, together, doc_tokens: n, reps,
      base_seconds_per_1k_tokens: bs / (n / 1000), seconds_per_1k_tokens: os / (n / 1000), speedup: bs / os,
      base_seconds: runs.map((r) => r.base.seconds), seconds: runs.map((r) => r.ours.seconds),
      base_plan_s: runs.map((r) => r.base.plan_s), plan_s: runs.map((r) => r.ours.plan_s),
      base_train_s: runs.map((r) => r.base.train_s), train_s: runs.map((r) => r.ours.train_s),
      load: runs.flatMap((r) => [r.base.load, r.ours.load]),
    });
  }
  out.table(['doc_tokens', 'base_seconds_per_1k_tokens', 'seconds_per_1k_tokens', 'speedup']);
}
