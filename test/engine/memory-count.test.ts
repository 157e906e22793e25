// Which tensor buffers V8 counts as external memory (native/memory.cc alloc): a tensor created inside a scope
// (tidy, a tape) or a backward pass is freed explicitly, so V8 is not told about it (its count set off ~30
// garbage collections per training step); a tensor with no scope is counted (if it leaks, the GC must feel
// it), and a scoped tensor that leaves every scope (keep()) is counted from then on. Freeing gives the count
// back either way. Read through native.v8ExternalMemory() (V8's count that triggers GCs; process.memoryUsage()
// .external reports backing-store bytes, which include every buffer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Tensor, Tape, tidy, keep, native, scale } from '../../src/engine/index.js';

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

test('a parameter\'s gradient made during backward is counted (it outlives the pass); activations are not', () => {
  const seed = new Float32Array(SIZE / 4).fill(1); // y's gradient (V8 counts a JS buffer too: made before base)
  const base = ext();
  const w = Tensor.zeros([SIZE / 4], { requiresGrad: true, name: 'w' });
  const tape = new Tape();
  let during = 0;
  const y = tape.record(() => {
    const y = scale(w, 2); // an activation of the same size, uncounted
    during = ext() - base;
    return y;
  });
  tape.backward(y, seed); // y's gradient buffer: uncounted, freed once consumed
  near(during, SIZE, 'the parameter alone while recording');
  assert.ok(w.grad !== null);
  near(ext() - base, 2 * SIZE, 'the parameter and its gradient after backward');
  tape.dispose();
  near(ext() - base, 2 * SIZE, 'after the tape is disposed');
  w.dispose();
  near(ext() - base, 0, 'after disposing the parameter (and with it its gradient)');
});

// V8 subtracts a buffer's bytes when it lets it go; for an uncounted one that would take its count below
// zero, a fatal error since V8 13 (Node 24: "Check failed: amount_before >= -delta" at exit). A child process
// leaves uncounted buffers behind in both ways they can be: a scope that is never disposed, then dropped and
// garbage-collected, and one still open at exit.
test('uncounted buffers left behind: the GC does not take them (the count never drops below its start), and the process exits cleanly', () => {
  const child = `
    import { Tensor, native } from './src/engine/index.js';
    import { openScope } from './src/engine/tensor.js';
    const start = native.v8ExternalMemory();
    (() => { openScope(); for (let i = 0; i < 4; i++) Tensor.empty([${SIZE / 4}]); })(); // leaked, unreachable
    for (let i = 0; i < 3; i++) globalThis.gc();
    await new Promise((r) => setTimeout(r, 50));
    globalThis.gc();
    const after = native.v8ExternalMemory();
    console.log(JSON.stringify({ drop: start - after, live: native.memoryStats().liveBuffers }));
  `;
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', child], { encoding: 'utf8' });
  assert.equal(r.status, 0, `the child exits cleanly, got status ${r.status} signal ${r.signal}: ${r.stderr.slice(-2000)}`);
  const { drop, live } = JSON.parse(r.stdout.trim().split('\n').pop()!) as { drop: number; live: number };
  assert.ok(drop < 8 * MB, `V8's count fell by ${(drop / MB).toFixed(1)} MiB: a collected uncounted buffer was subtracted twice`);
  assert.ok(live >= 4, `the 4 leaked buffers are still alive (${live})`);
});
