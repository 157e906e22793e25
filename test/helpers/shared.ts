// The one way tests find ../shared (test data, tokenizers, stories260K).
// LIFT_SHARED overrides the default (../shared beside the repository). Where the folder is missing a
// test calls `requireShared(t)`: under CI=true that fails with a clear message, elsewhere it skips with it,
// so a user's clone still runs everything else.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Absolute path of the shared folder (may not exist). */
export const SHARED_DIR = resolve(process.env.LIFT_SHARED ?? join(repoRoot, '..', 'shared'));

/** Path of a file inside ../shared, e.g. sharedPath('models/stories260K/stories260K.bin'). */
export function sharedPath(...parts: string[]): string {
  return join(SHARED_DIR, ...parts);
}

/**
 * Returns true when the shared files are present. Otherwise fails the test under CI=true and skips it
 * elsewhere, with a message naming the folder and the variable to set.
 */
export function requireShared(t: TestContext, ...parts: string[]): boolean {
  const p = sharedPath(...parts);
  if (existsSync(p)) return true;
  const msg = `shared test data not found at ${p}: set LIFT_SHARED to the folder that holds LIFT.ts's shared data (models/, tokenizers/, data/)`;
  if (process.env.CI === 'true') throw new Error(msg);
  t.skip(msg);
  return false;
}
