// How many threads a decode token runs on, chosen by measured token time. With the cores to itself a token is
// fastest as a team of all the engine's threads (native/team.h: 1.46× one thread for SmolLM2-135M on two Zen 3
// cores); beside another busy process one thread is faster (1.13× the team): a team's step waits for whichever
// thread the OS has descheduled, while one thread keeps a core of its own. Which case holds changes while a
// model runs (a user's other work starts and stops), so each plan keeps a running mean of the token time of both
// choices: it decodes with the faster and every `probeEvery` tokens runs one token with the other. A probe that
// confirms the choice doubles the interval (up to `maxProbeEvery`); one that overturns it starts again from 8.
// LIFT_DECODE_THREADS=all (or =1) pins the choice: the engine's threads, or one thread (benchmarks, tests).

/** The native call's thread cap: 0 = the engine's threads, 1 = one thread. */
export type DecodeThreadCap = 0 | 1;

const MIN_PROBE_EVERY = 8;
const MAX_PROBE_EVERY = 64;
/** The other choice must be this much faster (fraction of the current mean) before it replaces the current one. */
const MARGIN = 0.08;

export class DecodeThreads {
  /** Running mean token time in ms of [all threads, one thread]; NaN until measured. */
  readonly mean: [number, number] = [NaN, NaN];
  #current: DecodeThreadCap = 0;
  #probeEvery = MIN_PROBE_EVERY;
  #since = 0;
  #tokens = 0;
  #engineThreads = 0;

  /** The cap the next token runs with (`engineThreads` = the engine's thread count now). */
  pick(engineThreads: number): DecodeThreadCap {
    if (engineThreads !== this.#engineThreads) this.#reset(engineThreads); // "all" means another count now
    const pinned = process.env.LIFT_DECODE_THREADS;
    if (pinned === '1') return 1;
    if (engineThreads <= 1 || pinned === 'all') return 0;
    // The first token of a plan pages weights in (not timed); then one token of the other choice once the current
    // has a mean, then every probeEvery tokens.
    const other: DecodeThreadCap = this.#current === 0 ? 1 : 0;
    if (this.#tokens >= 3 && (Number.isNaN(this.mean[other]) || this.#since >= this.#probeEvery)) return other;
    return this.#current;
  }

  /** Records a token's time (ms) run with `cap`; a probe's result may change the choice. */
  record(cap: DecodeThreadCap, ms: number): void {
    if (this.#tokens++ === 0) return; // cold: page faults, pools growing
    if (!Number.isFinite(ms) || ms < 0) return;
    const m = this.mean;
    if (cap === this.#current) {
      m[cap] = Number.isNaN(m[cap]) ? ms : m[cap] + 0.25 * (ms - m[cap]);
      this.#since++;
      return;
    }
    m[cap] = Number.isNaN(m[cap]) ? ms : m[cap] + 0.5 * (ms - m[cap]);
    this.#since = 0;
    if (m[cap] < (1 - MARGIN) * m[this.#current]) {
      this.#current = cap;
      this.#probeEvery = MIN_PROBE_EVERY;
    } else {
      this.#probeEvery = Math.min(MAX_PROBE_EVERY, 2 * this.#probeEvery);
    }
  }

  #reset(engineThreads: number): void {
    this.mean[0] = this.mean[1] = NaN;
    this.#current = 0;
    this.#probeEvery = MIN_PROBE_EVERY;
    this.#since = this.#tokens = 0;
    this.#engineThreads = engineThreads;
  }

  /** The choice tokens run with between probes. */
  get current(): DecodeThreadCap {
    return this.#current;
  }
}
