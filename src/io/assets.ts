// The npm package's assets/ folder: what `npm pack` ships beside dist/ but git does not track (scripts/prepack.mjs:
// the stories260K model and the TinyStories validation text, each with its licence). A git clone has none until
// prepack runs, so every user of it must work — or say what is missing — without it.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** assets/ beside the nearest package.json above this module, or null when there is none. */
export function packageAssetsDir(): string | null {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    if (!existsSync(join(dir, 'package.json'))) continue;
    const assets = join(dir, 'assets');
    return existsSync(assets) ? assets : null;
  }
  return null;
}
