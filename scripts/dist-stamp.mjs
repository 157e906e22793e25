// When dist/ (the compiled TypeScript the `lift` binary runs from) is out of date: shared by scripts/setup.mjs
// (before tests, benchmarks and the demo) and scripts/prepack.mjs (before `npm pack`), so both rebuild on the
// same rule. dist/.stamp is written after every successful tsc; a .ts file of src/, test/ or bench/ or
// tsconfig.json newer than it means a rebuild.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Newest modification time (ms) of the files under `dir` whose name ends with one of `exts`; 0 for none. */
export function newest(dir, exts) {
  if (!existsSync(dir)) return 0;
  let t = 0;
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    const s = statSync(p);
    if (s.isDirectory()) t = Math.max(t, newest(p, exts));
    else if (exts.some((e) => n.endsWith(e))) t = Math.max(t, s.mtimeMs);
  }
  return t;
}

/** Modification time (ms) of `p`, 0 when it does not exist. */
export const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : 0);

/** The stamp tsc's success leaves in `root`/dist. */
export const distStamp = (root) => join(root, 'dist', '.stamp');

/** Whether `root`/dist is older than a TypeScript source or tsconfig.json (or was never built). */
export function distStale(root) {
  const sources = ['src', 'test', 'bench'].map((d) => newest(join(root, d), ['.ts']));
  return mtime(distStamp(root)) < Math.max(...sources, mtime(join(root, 'tsconfig.json')));
}
