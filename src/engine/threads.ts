// Thread counts, checked in one place: the native engine's threads (OpenMP and OpenBLAS share one pool,
// native/addon.cc) must be a whole number ≥ 1. More threads than the cores this process may run on only makes
// threads wait for each other (each barrier waits for a descheduled thread), so such a count is clamped to the
// cores with a one-line message; zero, negative or non-integer counts are refused naming where they came from.
import { availableParallelism } from 'node:os';
import { native } from './native.js';

/** Cores this process may run on (its CPU affinity, not the machine's total). */
export function coreCount(): number {
  return availableParallelism();
}

/**
 * The thread count `value` (a flag's text or a number) as it will be used: an integer in 1…cores.
 * `source` names the flag or variable for messages, e.g. '--threads'. Above the cores: clamped, and `warn`
 * says so; missing (undefined/empty): `fallback`.
 */
export function resolveThreads(value: string | number | undefined, source: string, fallback = coreCount(), warn: (m: string) => void = (m) => process.stderr.write(m + '\n')): number {
  if (value === undefined || value === '') return Math.min(fallback, coreCount());
  const n = typeof value === 'number' ? value : /^[+-]?\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isInteger(n)) throw new Error(`${source}: expected a whole number of threads ≥ 1, got ${JSON.stringify(value)}`);
  if (n < 1) throw new Error(`${source}: expected a number of threads ≥ 1, got ${n}`);
  const cores = coreCount();
  if (n > cores) {
    warn(`${source}: ${n} threads on ${cores} core${cores === 1 ? '' : 's'}: using ${cores} (more threads than cores only wait for each other)`);
    return cores;
  }
  return n;
}

/** resolveThreads, then sets the engine's threads; returns the count used. */
export function setEngineThreads(value: string | number | undefined, source: string, fallback?: number): number {
  const n = resolveThreads(value, source, fallback);
  native.setThreads(n);
  return n;
}
