// Runs every test/**/*.test.ts with Node's built-in test runner (TypeScript through tsx).
// Usage: npm test [-- substring ...]   (only files whose path contains one of the substrings)
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.test.ts') ? [p] : [];
  });
}
const filters = process.argv.slice(2);
const files = walk('test').filter((f) => filters.length === 0 || filters.some((s) => f.includes(s))).sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}
// lift's cache (checkpoints, QA cache) goes to a folder of this run, not the user's ~/.cache/lift-ts.
const cache = mkdtempSync(join(tmpdir(), 'lift-test-cache-'));
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], { stdio: 'inherit', env: { ...process.env, LIFT_CACHE_DIR: cache } });
rmSync(cache, { recursive: true, force: true });
process.exit(r.status ?? 1);
