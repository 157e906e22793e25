// Shared by the readers' tests (io/*, model load checks): a temporary folder removed after the test, and an
// assertion that a call fails with a FormatError whose message matches every pattern (file, field, expectation).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FormatError } from '../../src/io/errors.js';

/** A fresh folder under the OS temp dir, named `prefix…`, removed when test `t` ends. */
export function tmp(t: { after: (fn: () => void) => void }, prefix = 'lift-io-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** `fn` throws a FormatError whose message matches each of `patterns`. */
export function throwsFormat(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FormatError, `expected a FormatError, got ${(e as Error)?.stack ?? String(e)}`);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}
