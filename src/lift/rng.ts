// Seeded randomness for the LIFT data pipeline (docs/method.md §2 "built once (seeded)", §3 random sentence windows).
// Every random choice is drawn from a stream named by (seed, ...indices), e.g. rngFor(seed, segmentIndex), so a
// sample does not depend on the order samples are built in, on concurrency, or on how many were built before it.

import { seededRandom, shuffled, type Rng } from '../engine/random.js';

export { shuffled, type Rng };

/** Mixes 32-bit integers into one seed (splitmix32-style avalanche, so nearby indices give unrelated streams). */
function mix(h: number, v: number): number {
  h = Math.imul(h ^ (v | 0), 0x9e3779b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The stream named by (seed, ...stream): mulberry32 started from the mixed name. */
export function rngFor(seed: number, ...stream: number[]): Rng {
  let s = mix(0x2545f491, Math.floor(seed));
  for (const v of stream) s = mix(s, Math.floor(v));
  return seededRandom(s);
}

/** Uniform integer in [lo, hi] (inclusive both ends); lo when hi < lo. */
export function randInt(rng: Rng, lo: number, hi: number): number {
  if (hi <= lo) return lo;
  return lo + Math.floor(rng() * (hi - lo + 1));
}

