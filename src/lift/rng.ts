// Seeded randomness for the LIFT data pipeline (LIFT.md §2 "built once (seeded)", §3 random sentence windows).
// Every random choice is drawn from a stream named by (seed, ...indices), e.g. rngFor(seed, segmentIndex), so a
// sample does not depend on the order samples are built in, on concurrency, or on how many were built before it.

/** A function returning uniform floats in [0, 1). */
export type Rng = () => number;

/** Mixes 32-bit integers into one seed (splitmix32-style avalanche, so nearby indices give unrelated streams). */
function mix(h: number, v: number): number {
  h = Math.imul(h ^ (v | 0), 0x9e3779b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** mulberry32: small, fast, good enough for picking offsets; never for anything security-related. */
export function rngFor(seed: number, ...stream: number[]): Rng {
  let s = mix(0x2545f491, Math.floor(seed));
  for (const v of stream) s = mix(s, Math.floor(v));
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform integer in [lo, hi] (inclusive both ends); lo when hi < lo. */
export function randInt(rng: Rng, lo: number, hi: number): number {
  if (hi <= lo) return lo;
  return lo + Math.floor(rng() * (hi - lo + 1));
}

/** Fisher–Yates shuffle of a copy. */
export function shuffled<T>(rng: Rng, xs: readonly T[]): T[] {
  const a = xs.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}
