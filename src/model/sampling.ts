// Token sampling that reproduces upstream llama2.c run.c bit for bit: its xorshift64* RNG, temperature,
// float32 softmax, multinomial and top-p (nucleus) sampling. run.c computes in C `float`, so every float
// operation here is rounded with Math.fround at the same places; the u64 RNG state is a BigInt. With the same
// logits and seed, the same tokens come out (the stories260K reference outputs check this).
//
// Beyond run.c: top-k (applied before top-p, by masking all but the k largest logits before the softmax; with
// topK unset the path is exactly run.c's) and temperature 0 = greedy argmax (as run.c; no RNG draw).

const f = Math.fround;
const U64 = (1n << 64n) - 1n;

export interface SamplerOptions {
  /** 0 = greedy (argmax). Default 1.0, as run.c. */
  temperature?: number;
  /** Nucleus mass; ≤ 0 or ≥ 1 samples from the whole distribution. Default 0.9, as run.c. */
  topP?: number;
  /** Keep only the k most likely tokens (0 or unset: all). Applied before top-p. */
  topK?: number;
  /** RNG seed (non-zero: xorshift from 0 stays 0). Default: the current time in seconds, as run.c. */
  seed?: number | bigint;
}

/** run.c's RNG: xorshift64* on a u64 state. */
export class XorShiftRng {
  #state: bigint;
  constructor(seed: number | bigint) {
    this.#state = BigInt(seed) & U64;
    if (this.#state === 0n) throw new RangeError('seed must be non-zero: xorshift from a zero state only ever returns 0');
  }
  /** random_u32: three xorshifts, then the high 32 bits of state · 0x2545F4914F6CDD1D (mod 2^64). */
  u32(): number {
    let s = this.#state;
    s ^= s >> 12n;
    s ^= (s << 25n) & U64;
    s ^= s >> 27n;
    this.#state = s;
    return Number(((s * 0x2545f4914f6cdd1dn) & U64) >> 32n);
  }
  /** random_f32: 24 random bits / 2^24, a float in [0, 1) (exact in float32). */
  f32(): number {
    return (this.u32() >>> 8) / 16777216;
  }
}

/** run.c sample_argmax: the first index of the largest value. */
export function sampleArgmax(p: ArrayLike<number>): number {
  let best = 0;
  let max = p[0];
  for (let i = 1; i < p.length; i++) if (p[i] > max) { max = p[i]; best = i; }
  return best;
}

/** run.c sample_mult: the first index whose float32 running sum exceeds coin. */
export function sampleMult(p: ArrayLike<number>, coin: number): number {
  let cdf = 0;
  for (let i = 0; i < p.length; i++) {
    cdf = f(cdf + p[i]);
    if (coin < cdf) return i;
  }
  return p.length - 1; // rounding errors
}

/** run.c sample_topp: candidates ≥ (1 - topp)/(n - 1), sorted by probability descending, truncated once
 *  their float32 sum exceeds topp, sampled with r = coin · (that sum). */
export function sampleTopP(p: ArrayLike<number>, topp: number, coin: number): number {
  const n = p.length;
  const tp = f(topp);
  const cutoff = f(f(1 - tp) / (n - 1));
  const cand: { prob: number; index: number }[] = [];
  for (let i = 0; i < n; i++) if (p[i] >= cutoff) cand.push({ prob: p[i], index: i });
  // qsort with compare(a, b) = a.prob > b.prob ? -1 : a.prob < b.prob ? 1 : 0. JS sort is stable, as glibc's
  // merge-sort qsort; ties between exactly equal float probabilities are the only place the two could differ.
  cand.sort((a, b) => (a.prob > b.prob ? -1 : a.prob < b.prob ? 1 : 0));
  let cum = 0;
  let last = cand.length - 1;
  for (let i = 0; i < cand.length; i++) {
    cum = f(cum + cand[i].prob);
    if (cum > tp) { last = i; break; }
  }
  const r = f(coin * cum);
  let cdf = 0;
  for (let i = 0; i <= last; i++) {
    cdf = f(cdf + cand[i].prob);
    if (r < cdf) return cand[i].index;
  }
  return cand[last].index;
}

/** run.c softmax in float32, in place: subtract the max, expf, float sum, divide. */
export function softmaxF32(x: Float32Array): void {
  let max = x[0];
  for (let i = 1; i < x.length; i++) if (x[i] > max) max = x[i];
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    x[i] = Math.exp(f(x[i] - max)); // the Float32Array store rounds, as expf returns float
    sum = f(sum + x[i]);
  }
  for (let i = 0; i < x.length; i++) x[i] = x[i] / sum;
}

/** Sets every logit outside the k largest to -Infinity (ties broken towards lower ids, like argmax). */
function maskTopK(x: Float32Array, k: number): void {
  if (k <= 0 || k >= x.length) return;
  const order = Array.from(x.keys()).sort((a, b) => x[b] - x[a] || a - b);
  for (let i = k; i < order.length; i++) x[order[i]] = -Infinity;
}

function checkNumber(name: string, v: number, ok: boolean, what: string): void {
  if (!Number.isFinite(v) || !ok) throw new RangeError(`${name} must be ${what}, got ${v}`);
}

export class Sampler {
  readonly temperature: number;
  readonly topP: number;
  readonly topK: number;
  readonly seed: bigint;
  readonly #rng: XorShiftRng;

  constructor(opts: SamplerOptions = {}) {
    this.temperature = opts.temperature ?? 1.0;
    this.topP = opts.topP ?? 0.9;
    this.topK = opts.topK ?? 0;
    checkNumber('temperature', this.temperature, this.temperature >= 0, 'a number ≥ 0');
    checkNumber('topP', this.topP, true, 'a number');
    checkNumber('topK', this.topK, Number.isInteger(this.topK) && this.topK >= 0, 'an integer ≥ 0');
    // run.c: `unsigned long long rng_seed = 0; ... if (rng_seed <= 0) rng_seed = (unsigned int)time(NULL);`
    this.seed = BigInt(opts.seed ?? Math.floor(Date.now() / 1000));
    this.#rng = new XorShiftRng(this.seed);
  }

  /** The next token id for one position's logits (the array is not modified). */
  sample(logits: Float32Array): number {
    if (this.temperature === 0) {
      // Greedy; with top-k the k best still start with the argmax, so it does not matter here.
      return sampleArgmax(logits);
    }
    const x = Float32Array.from(logits);
    const t = f(this.temperature);
    for (let q = 0; q < x.length; q++) x[q] = x[q] / t; // logits[q] /= temperature (float store)
    maskTopK(x, this.topK);
    softmaxF32(x);
    const coin = this.#rng.f32();
    return this.topP <= 0 || this.topP >= 1 ? sampleMult(x, coin) : sampleTopP(x, this.topP, coin);
  }
}
