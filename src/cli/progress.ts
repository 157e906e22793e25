// Progress on stderr: a bar with ETA (cli-progress) when stderr is a terminal, plain periodic lines otherwise
// (logs, CI), so piped output stays readable.
import cliProgress from 'cli-progress';
import { log } from './io.js';

export interface Progress {
  update(done: number, info?: string): void;
  stop(final?: string): void;
}

export function progress(label: string, total: number): Progress {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {value}/{total} | ETA {eta_formatted} | {info}`, stream: process.stderr, hideCursor: true, clearOnComplete: false, etaBuffer: 20 },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { info: '' });
    return {
      update: (done, info = '') => bar.update(done, { info }),
      stop: (final) => {
        bar.stop();
        if (final) log(final);
      },
    };
  }
  // Plain lines: the first update prints at once, then at most one line every 5 s (and the last);
  // LIFT_PROGRESS_SECONDS sets another interval (0: every update, for logs that want each step).
  // The ETA is the rate since the first update (a resumed run starts part-way) over at least a second.
  const interval = progressInterval();
  let last = -Infinity;
  let first: { done: number; t: number } | null = null;
  return {
    update: (done, info = '') => {
      const now = performance.now();
      first ??= { done, t: now };
      if (now - last < interval && done !== total) return;
      last = now;
      const el = (now - first.t) / 1000, eta = done > first.done && el >= 1 ? (el / (done - first.done)) * (total - done) : NaN;
      log(`${label}: ${done}/${total}${Number.isFinite(eta) ? `, ETA ${eta.toFixed(0)} s` : ''}${info ? ` | ${info}` : ''}`);
    },
    stop: (final) => final && log(final),
  };
}

/** The plain lines' interval in ms: LIFT_PROGRESS_SECONDS (a number ≥ 0), else 5 s; a bad value says so once. */
function progressInterval(): number {
  const v = process.env.LIFT_PROGRESS_SECONDS;
  if (v === undefined || v === '') return 5000;
  const s = Number(v);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  log(`LIFT_PROGRESS_SECONDS=${JSON.stringify(v)} is not a number of seconds ≥ 0: progress lines every 5 s`);
  return 5000;
}
