// Fuzz test for the safetensors and GGUF readers: a seeded PRNG mutates valid small files (byte flips,
// interesting-value overwrites, truncations, splices) thousands of times; every outcome must be a clean parse
// (then every tensor must read) or a FormatError. The loop runs in a worker thread so that a hang is caught by a
// watchdog (sync code cannot be interrupted from its own thread) and reported with the iteration that caused it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FormatError } from '../../src/io/errors.js';
import { readSafetensors, writeSafetensors } from '../../src/io/safetensors.js';
import { readGGUF, writeGGUF } from '../../src/io/gguf.js';
import { readF32, type Checkpoint } from '../../src/io/tensor-entry.js';
import { seededRandom } from '../../src/engine/random.js';

const ITERATIONS = 5000; // per format
const SEED = 0x5eed1234;
const WATCHDOG_MS = 5000;

interface Progress { kind: 'progress'; format: string; i: number }
interface Done { kind: 'done'; stats: Record<string, { ok: number; formatError: number; maxMs: number }>; failures: string[] }

const prng = seededRandom;

function makeSamples(dir: string): { safetensors: Uint8Array; gguf: Uint8Array } {
  const st = join(dir, 'base.safetensors');
  writeSafetensors(st, [
    { name: 'a.weight', dtype: 'F32', shape: [3, 4], data: Float32Array.from({ length: 12 }, (_, i) => i / 3) },
    { name: 'b.weight', dtype: 'F16', shape: [5], data: Float32Array.from([1, -2, 0.5, 65504, 1e-6]) },
    { name: 'c.bias', dtype: 'BF16', shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) },
  ], { format: 'pt', note: 'fuzz' });
  const gg = join(dir, 'base.gguf');
  writeGGUF(gg, [
    { key: 'general.architecture', type: 'string', value: 'llama' },
    { key: 'u8', type: 'uint8', value: 7 },
    { key: 'i16', type: 'int16', value: -300 },
    { key: 'u64', type: 'uint64', value: 1n << 40n },
    { key: 'f64', type: 'float64', value: Math.PI },
    { key: 'flag', type: 'bool', value: true },
    { key: 'tokens', type: 'array', value: { elementType: 'string', values: ['<unk>', 'a', 'bc'] } },
    { key: 'nested', type: 'array', value: { elementType: 'array', values: [{ elementType: 'int32', values: [1, -2] }] } },
  ], [
    { name: 'token_embd.weight', dtype: 'F32', shape: [4, 3], data: Float32Array.from({ length: 12 }, (_, i) => i) },
    { name: 'blk.0.attn_q.weight', dtype: 'F16', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
    { name: 'output_norm.weight', dtype: 'F32', shape: [3], data: Float32Array.from([1, 1, 1]) },
  ]);
  return { safetensors: readFileSync(st), gguf: readFileSync(gg) };
}

function mutate(base: Uint8Array, rnd: () => number): Uint8Array {
  const int = (n: number): number => Math.floor(rnd() * n);
  // Bias positions towards the header, where the parser's decisions are made.
  const pos = (len: number): number => (rnd() < 0.75 ? int(Math.min(len, 400)) : int(len));
  let b = Uint8Array.from(base);
  const rounds = 1 + int(3);
  for (let r = 0; r < rounds && b.length > 0; r++) {
    const op = int(6);
    if (op === 0) { // flip random bits
      for (let k = 1 + int(4); k > 0; k--) b[pos(b.length)] ^= 1 << int(8);
    } else if (op === 1) { // overwrite with an interesting little-endian value
      const vals = [0, 1, 0xff, 0x7f, 0x80, 0xffffffff, 0x7fffffff, 0x80000000, 31, 32, 33, 1 << 20];
      const v = vals[int(vals.length)];
      const at = pos(b.length);
      const width = [1, 2, 4, 8][int(4)];
      for (let j = 0; j < width && at + j < b.length; j++) b[at + j] = j < 4 ? (v >>> (8 * j)) & 0xff : (rnd() < 0.5 ? 0 : 0xff);
    } else if (op === 2) { // truncate
      b = b.slice(0, int(b.length));
    } else if (op === 3) { // splice: copy a chunk of the file over another place
      const from = int(b.length), to = pos(b.length), n = 1 + int(32);
      const chunk = b.slice(from, from + n);
      b.set(chunk.subarray(0, Math.max(0, b.length - to)), to);
    } else if (op === 4) { // insert random bytes
      const at = pos(b.length), n = 1 + int(16);
      const ins = Uint8Array.from({ length: n }, () => int(256));
      b = Uint8Array.from([...b.subarray(0, at), ...ins, ...b.subarray(at)]);
    } else { // delete a range
      const at = pos(b.length), n = 1 + int(16);
      b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + n)]);
    }
  }
  return b;
}

function runWorker(): void {
  const { dir } = workerData as { dir: string };
  const samples = makeSamples(dir);
  const rnd = prng(SEED);
  const stats: Done['stats'] = {};
  const failures: string[] = [];
  for (const [format, base, read] of [
    ['safetensors', samples.safetensors, readSafetensors],
    ['gguf', samples.gguf, readGGUF],
  ] as [string, Uint8Array, (p: string) => Checkpoint][]) {
    const s = (stats[format] = { ok: 0, formatError: 0, maxMs: 0 });
    const file = join(dir, `mutant.${format}`);
    for (let i = 0; i < ITERATIONS; i++) {
      parentPort!.postMessage({ kind: 'progress', format, i } satisfies Progress); // names the iteration if it hangs
      const bytes = i === 0 ? base : mutate(base, rnd); // iteration 0 checks the unmutated file parses
      writeFileSync(file, bytes);
      const t0 = performance.now();
      try {
        const ck = read(file);
        for (const e of ck.tensors.values()) readF32(e);
        s.ok++;
      } catch (e) {
        if (e instanceof FormatError) s.formatError++;
        else if (failures.length < 10) failures.push(`${format} iteration ${i}: ${(e as Error)?.stack ?? String(e)}`);
      }
      s.maxMs = Math.max(s.maxMs, performance.now() - t0);
    }
  }
  parentPort!.postMessage({ kind: 'done', stats, failures } satisfies Done);
}

if (!isMainThread) {
  runWorker();
} else {
  test(`fuzzed safetensors and GGUF files parse or throw FormatError (${ITERATIONS} mutants each, seed ${SEED})`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lift-io-fuzz-'));
    try {
      const t0 = Date.now();
      const done = await new Promise<Done>((resolve, reject) => {
        // A worker does not inherit the tsx loader of `node --import tsx --test` (and Node 20 loads a worker's
        // entry before its --import hooks), so the worker is a tiny eval'd script that loads this file through tsx.
        const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => m.tsImport(${JSON.stringify(import.meta.url)}, ${JSON.stringify(import.meta.url)}))`;
        const w = new Worker(boot, { eval: true, workerData: { dir } });
        let last: Progress | undefined;
        let timer: NodeJS.Timeout;
        const arm = (): void => {
          clearTimeout(timer);
          timer = setTimeout(() => {
            void w.terminate();
            reject(new Error(`fuzz worker made no progress for ${WATCHDOG_MS} ms (hang?) in ${last ? `${last.format} iteration ${last.i}` : 'setup'}`));
          }, WATCHDOG_MS);
        };
        arm();
        w.on('message', (m: Progress | Done) => {
          if (m.kind === 'progress') { last = m; arm(); return; }
          clearTimeout(timer);
          resolve(m);
          void w.terminate();
        });
        w.on('error', (e) => { clearTimeout(timer); reject(e); });
      });
      const elapsed = Date.now() - t0;
      assert.deepEqual(done.failures, [], 'only FormatError may escape a reader');
      for (const [format, s] of Object.entries(done.stats)) {
        assert.equal(s.ok + s.formatError, ITERATIONS, format);
        assert.ok(s.ok >= 1 && s.formatError >= ITERATIONS / 4, `${format}: ${JSON.stringify(s)}`);
        assert.ok(s.maxMs < 1000, `${format}: slowest parse took ${s.maxMs} ms`);
      }
      assert.ok(elapsed < 20_000, `fuzzing took ${elapsed} ms`);
      console.log(`fuzz: ${JSON.stringify(done.stats)} in ${elapsed} ms`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
