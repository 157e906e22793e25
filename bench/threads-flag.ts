// --threads for the benchmarks: checked and clamped by the engine's rule (src/engine/threads.ts).
import { resolveThreads } from '../src/engine/threads.js';

/** The --threads flag's value as a thread count (default `fallback`, clamped to the cores with a message). */
export function threadsFlag(value: string | undefined, fallback: number): number {
  return resolveThreads(value, '--threads', fallback);
}
