// The npm package as a user gets it: `npm pack` of this repository, `npm install -g` of the tarball into an
// empty temporary prefix (the install builds the native engine from the shipped sources), then the installed
// `lift` runs --version, generate (on the stories260K model the package ships, byte for byte what upstream
// llama2.c prints) and inspect. Everything is written under one temporary folder, npm's cache and logs too.
// Reuse: better-sqlite3 (a dependency of the server) would download its prebuilt binary from GitHub, or compile
// SQLite for minutes where GitHub is unreachable; it is handed the one this repository's node_modules already
// built for the running Node (prebuild-install's documented local-prebuilds folder), when there is one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { requireShared, sharedPath } from '../helpers/shared.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { name: string; version: string };

interface Run { code: number | null; stdout: string; stderr: string; seconds: number }

function run(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutS: number }): Run {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd: opts.cwd, env: opts.env, encoding: 'utf8', timeout: opts.timeoutS * 1000, maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, seconds: (performance.now() - t0) / 1000 };
}

/** A tarball laid out like better-sqlite3's GitHub release asset for this Node, from the repo's own build. */
function localSqlitePrebuild(dir: string): string | null {
  const bs = join(REPO, 'node_modules', 'better-sqlite3');
  const node = join(bs, 'build', 'Release', 'better_sqlite3.node');
  if (!existsSync(node)) return null;
  const { version } = JSON.parse(readFileSync(join(bs, 'package.json'), 'utf8')) as { version: string };
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`);
  const r = spawnSync('tar', ['czf', file, '-C', bs, 'build/Release/better_sqlite3.node']);
  return r.status === 0 ? dir : null;
}

test('npm pack → npm install -g into an empty prefix → the installed lift runs --version, generate and inspect', { timeout: 30 * 60_000 }, (t) => {
  if (!requireShared(t, 'models', 'stories260K', 'expected_output_greedy_t0.txt')) return;
  const tmp = mkdtempSync(join(tmpdir(), 'lift-package-test-'));
  try {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      // npm (a `#!/usr/bin/env node` script) and the install scripts run on the Node that runs this test.
      PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
      npm_config_cache: join(tmp, 'npm-cache'),
      npm_config_devdir: join(tmp, 'node-gyp'),
      npm_config_audit: 'false',
      npm_config_fund: 'false',
      npm_config_update_notifier: 'false',
    };

    // 1. pack (prepack: dist/ when stale, assets/)
    const packed = run('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: REPO, env, timeoutS: 600 });
    assert.equal(packed.code, 0, `npm pack failed:\n${packed.stderr}`);
    const info = (JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>)[0];
    const files = new Set(info.files.map((f) => f.path));
    for (const f of [
      'package.json', 'binding.gyp', 'native/addon.cc', 'native/common.h', 'scripts/install-native.mjs',
      'dist/src/cli/main.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'src/server/page.html',
      'assets/models/stories260K/stories260K.bin', 'assets/models/stories260K/tok512.bin', 'assets/models/stories260K/LICENSE',
      'assets/data/tinystories-valid-sample/tinystories_val.txt', 'assets/data/tinystories-valid-sample/LICENSE',
    ]) assert.ok(files.has(f), `the tarball lacks ${f}`);
    const stray = [...files].filter((f) => /^(test|bench|dist\/test|dist\/bench)\/|\.ts$(?<!\.d\.ts)|\.map$|^build\/|^node_modules\//.test(f));
    assert.deepEqual(stray, [], 'the tarball ships tests, benchmarks, TypeScript sources, source maps or build outputs');
    const tarball = join(tmp, info.filename);
    t.diagnostic(`npm pack: ${packed.seconds.toFixed(0)} s, ${(statSync(tarball).size / 1e6).toFixed(1)} MB, ${files.size} files`);

    // 2. install into an empty prefix
    const prefix = join(tmp, 'prefix');
    const prebuilds = localSqlitePrebuild(join(tmp, 'prebuilds'));
    const installEnv = prebuilds === null ? env : { ...env, npm_config_better_sqlite3_local_prebuilds: prebuilds };
    const inst = run('npm', ['install', '-g', '--prefix', prefix, tarball], { cwd: tmp, env: installEnv, timeoutS: 1500 });
    assert.equal(inst.code, 0, `npm install -g failed:\n${inst.stdout}\n${inst.stderr}`);
    assert.doesNotMatch(inst.stderr, /EBADENGINE/, 'a dependency installed from the tarball does not support this Node');
    const root = join(prefix, 'lib', 'node_modules', pkg.name);
    assert.ok(existsSync(join(root, 'build', 'Release', 'lift_native.node')), 'the install did not build the native engine');
    t.diagnostic(`npm install -g: ${inst.seconds.toFixed(0)} s (${prebuilds === null ? 'better-sqlite3 built from source' : 'better-sqlite3 from the local prebuild'})`);

    // 3. the installed bin, run from a folder with no ../shared beside it and no LIFT_SHARED
    const bin = join(prefix, 'bin', 'lift');
    const cwd = mkdtempSync(join(tmp, 'cwd-'));
    const userEnv = { ...env, LIFT_SHARED: undefined, LIFT_CACHE_DIR: join(tmp, 'lift-cache'), OMP_NUM_THREADS: '1' };
    const version = run(bin, ['--version'], { cwd, env: userEnv, timeoutS: 60 });
    assert.equal(version.code, 0, version.stderr);
    assert.equal(version.stdout.trim(), pkg.version);

    const model = join(root, 'assets', 'models', 'stories260K', 'stories260K.bin');
    const gen = run(bin, ['generate', '--model', model, '--steps', '256', '--temperature', '0'], { cwd, env: userEnv, timeoutS: 120 });
    assert.equal(gen.code, 0, gen.stderr);
    assert.equal(gen.stdout, readFileSync(sharedPath('models', 'stories260K', 'expected_output_greedy_t0.txt'), 'utf8'), 'greedy output of the shipped model differs from upstream run.c');

    const insp = run(bin, ['inspect', '--json', model], { cwd, env: userEnv, timeoutS: 60 });
    assert.equal(insp.code, 0, insp.stderr);
    const j = JSON.parse(insp.stdout) as { kind: string; model: { parameters: number; config: { hidden_size: number; vocab_size: number } } };
    assert.deepEqual([j.kind, j.model.parameters, j.model.config.hidden_size, j.model.config.vocab_size], ['llama2c', 260032, 64, 512]);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
