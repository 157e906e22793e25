// scripts/install-native.mjs, the package's install script: with a build tool missing it stops before node-gyp
// and names the Debian package to install (not a page of compiler errors). Run in an empty temporary folder,
// so even a script that went on to node-gyp could build nothing here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts', 'install-native.mjs');

test('install-native: without a C++ compiler it exits 1 and names the package (g++) and the apt-get line', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'lift-install-native-'));
  try {
    const r = spawnSync(process.execPath, [SCRIPT], { cwd, encoding: 'utf8', env: { ...process.env, CXX: join(cwd, 'no-such-compiler') }, timeout: 60_000 });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /cannot build the native engine/);
    assert.match(r.stderr, /C\+\+17 compiler .*package g\+\+/);
    assert.match(r.stderr, /sudo apt-get install -y ([\w.+-]+ )*g\+\+\n/);
    assert.doesNotMatch(r.stderr + r.stdout, /gyp/, 'node-gyp ran although the compiler is missing');
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});
