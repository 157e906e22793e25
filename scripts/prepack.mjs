// `npm pack` / `npm publish` run this first (package.json "prepack"). It puts in place what the tarball ships
// but git does not track:
//   1. dist/ — the compiled TypeScript (tsc, when a source is newer than dist/.stamp, the stamp that
//      scripts/setup.mjs also keeps), without compiled files whose source has been deleted;
//   2. assets/ — what `lift demo` needs with no Hub and no ../shared: the stories260K model (llama2.c .bin and
//      its tokenizer, MIT) and the TinyStories validation text (CDLA-Sharing-1.0), each with its licence
//      and provenance. They are copied from the shared folder ($LIFT_SHARED, else ../shared) and checked
//      against the hashes below; they are never committed (assets/ is git-ignored).
// Usage: node scripts/prepack.mjs
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join, relative, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { distStale, distStamp } from './dist-stamp.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const HERE = join(ROOT, 'scripts', 'package-assets');
const log = (m) => process.stderr.write(`[prepack] ${m}\n`);
const fail = (m) => {
  log(m);
  process.exit(1);
};

// ---- 1. dist/
const stamp = distStamp(ROOT);
const main = join(ROOT, 'dist', 'src', 'cli', 'main.js');
if (!existsSync(main) || distStale(ROOT)) {
  log('building TypeScript (tsc)');
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!existsSync(tsc)) fail(`${tsc} is missing: run npm ci first (packing needs the devDependencies)`);
  const r = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.json')], { stdio: 'inherit', cwd: ROOT });
  if (r.status !== 0) fail('tsc failed: the package is not packed with type errors');
  writeFileSync(stamp, '');
} else {
  log('dist/ is up to date');
}
chmodSync(main, 0o755);
// A compiled file whose .ts source is gone would still ship (and could still be imported): remove it.
let orphans = 0;
(function prune(dir) {
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) {
      prune(p);
      continue;
    }
    const base = relative(join(ROOT, 'dist'), p).replace(/(\.d\.ts|\.js)(\.map)?$/, '');
    if (base !== relative(join(ROOT, 'dist'), p) && !existsSync(join(ROOT, `${base}.ts`))) {
      rmSync(p);
      orphans++;
    }
  }
})(join(ROOT, 'dist', 'src'));
if (orphans > 0) log(`removed ${orphans} compiled file(s) of deleted sources from dist/src`);

// ---- 2. assets/
const shared = resolve(process.env.LIFT_SHARED ?? join(ROOT, '..', 'shared'));
const assets = [
  { from: 'models/stories260K/stories260K.bin', to: 'models/stories260K/stories260K.bin', sha256: 'b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696' },
  { from: 'models/stories260K/tok512.bin', to: 'models/stories260K/tok512.bin', sha256: '037cb335abb25d1fa9e8ecae30ed2a3a8ace9302862ebcdc05d51a6bbb10c312' },
  { from: 'data/tinystories-valid-sample/tinystories_val.txt', to: 'data/tinystories-valid-sample/tinystories_val.txt', sha256: '5fc1fb0113df62b567fb271806cd645ce8d75f59c58ca0b764c03d3b6ff34ca6' },
];
const out = join(ROOT, 'assets');
rmSync(out, { recursive: true, force: true });
for (const a of assets) {
  const src = join(shared, a.from);
  if (!existsSync(src)) fail(`${src} is missing: the package ships it for \`lift demo\`; set LIFT_SHARED to the folder that holds models/ and data/`);
  const sum = createHash('sha256').update(readFileSync(src)).digest('hex');
  if (sum !== a.sha256) fail(`${src} has sha256 ${sum}, expected ${a.sha256}: not the file the package is meant to ship`);
  mkdirSync(dirname(join(out, a.to)), { recursive: true });
  copyFileSync(src, join(out, a.to));
}
// Licences and provenance (committed beside this script: texts, not data).
for (const dir of ['models/stories260K', 'data/tinystories-valid-sample']) {
  for (const n of readdirSync(join(HERE, dir))) copyFileSync(join(HERE, dir, n), join(out, dir, n));
}
log(`assets/: ${assets.map((a) => a.to).join(', ')} with their licences`);

