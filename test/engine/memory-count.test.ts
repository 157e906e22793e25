// Which tensor buffers V8 counts as external memory (native/memory.cc alloc): a tensor created inside a scope
// (tidy, a tape) or a backward pass is freed explicitly, so V8 is not told about it (its count set off ~30
// garbage collections per training step); a tensor with no scope is counted (if it leaks, the GC must feel
// it), and a scoped tensor that leaves every scope (keep()) is counted from then on. Freeing gives the count
// back either way. Read through native.v8ExternalMemory() (V8's count that triggers GCs; process.memoryUsage()
// .external reports backing-store bytes, which include every buffer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, tidy, keep, native } from '../../src/engine/index.js';

const MB = 2 ** 20, SIZE = 64 * MB; // a 64 MiB tensor: far above the noise in `external`
const ext = (): number => native.v8ExternalMemory();
const near = (got: number, want: number, what: string) => assert.ok(Math.abs(got - want) < 8 * MB, `${what}: external changed by ${(got / MB).toFixed(1)} MiB, expected ~${(want / MB).toFixed(0)}`);

test('external memory: scoped tensors uncounted, unscoped and kept ones counted, freeing restores the count', () => {
  const base = ext();
  const loose = Tensor.empty([SIZE / 4]);
  near(ext() - base, SIZE, 'a tensor outside any scope');
  loose.dispose();
  near(ext() - base, 0, 'after disposing it');

  let inside = 0;
  const kept = tidy(() => {
    const t = Tensor.empty([SIZE / 4]);
    inside = ext() - base;
    return keep(t);
  });
  near(inside, 0, 'a tensor inside tidy');
  near(ext() - base, SIZE, 'the same tensor kept (no scope any more)');
  kept.dispose();
  near(ext() - base, 0, 'after disposing the kept tensor');

  tidy(() => {
    Tensor.empty([SIZE / 4]);
    near(ext() - base, 0, 'a scoped tensor');
  });
  near(ext() - base, 0, 'after its scope ended');
});
