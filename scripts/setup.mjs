// One-time set-up that `npm test` and `npm run bench` run first, so a fresh clone needs nothing else:
//   1. system packages (Debian): OpenBLAS (OpenMP build) for the native engine; for benchmarks also
//      python3-torch (the PyTorch peer); for the browser tests chromium. Installed with apt-get when we
//      are root, otherwise we stop and name the exact package to install.
//   2. npm dependencies (`npm ci`, which also builds the native addon through node-gyp);
//   3. the native addon (rebuilt when a native/ source is newer than the .node file);
//   4. the TypeScript build in dist/ (rebuilt when a source is newer), which the CLI binary runs from.
// Usage: node scripts/setup.mjs [--bench]
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { distStale, mtime, newest } from './dist-stamp.mjs';

const bench = process.argv.includes('--bench') || process.env.npm_lifecycle_event === 'prebench';
const log = (m) => process.stderr.write(`[setup] ${m}\n`);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.status !== 0) {
    log(`failed: ${cmd} ${args.join(' ')}`);
    process.exit(r.status ?? 1);
  }
}

/** Debian packages we need, each with a file whose presence proves it is installed. */
const needs = [
  { pkg: 'libopenblas-openmp-dev', file: '/usr/include/x86_64-linux-gnu/openblas-openmp/cblas.h', why: 'BLAS for the native engine' },
  { pkg: 'chromium', file: '/usr/bin/chromium', why: 'headless browser for the report tests' },
];
if (bench) needs.push({ pkg: 'python3-torch', file: '/usr/lib/python3/dist-packages/torch/__init__.py', why: 'PyTorch, the benchmark peer' });

const missing = needs.filter((n) => !existsSync(n.file));
if (missing.length > 0) {
  const names = missing.map((n) => n.pkg);
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || !existsSync('/usr/bin/apt-get')) {
    for (const n of missing) log(`missing system package ${n.pkg} (${n.why})`);
    log(`install it and run again: sudo apt-get install -y ${names.join(' ')}`);
    process.exit(1);
  }
  log(`installing ${names.join(' ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update', '-q'], { env });
  run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...names], { env });
}

const npmEnv = { ...process.env, npm_config_nodedir: process.env.npm_config_nodedir || '/usr' };

if (!existsSync('node_modules/.package-lock.json')) {
  log('installing npm dependencies (npm ci)');
  run('npm', ['ci'], { env: npmEnv });
}
const addon = 'build/Release/lift_native.node';
if (mtime(addon) < Math.max(newest('native', ['.cc', '.h']), mtime('binding.gyp'))) {
  log('building the native addon');
  run('npm', ['run', 'build:native'], { env: npmEnv });
}
if (distStale('.')) {
  log('building TypeScript (tsc)');
  run('npm', ['run', 'build:ts']);
  run(process.execPath, ['-e', "require('fs').writeFileSync('dist/.stamp', '')"]);
}
