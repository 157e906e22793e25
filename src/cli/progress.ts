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
  // Plain lines: the first update prints at once, then at most one line every 5 s (and the last).
  // The ETA is the rate since the first update (a resumed run starts part-way) over at least a second.
  let last = -Infinity;
  let first: { done: number; t: number } | null = null;
  return {
    update: (done, info = '') => {
      const now = performance.now();
      first ??= { done, t: now };
      if (now - last < 5000 && done !== total) return;
      last = now;
      const el = (now - first.t) / 1000, eta = done > first.done && el >= 1 ? (el / (done - first.done)) * (total - done) : NaN;
      log(`${label}: ${done}/${total}${Number.isFinite(eta) ? `, ETA ${eta.toFixed(0)} s` : ''}${info ? ` | ${info}` : ''}`);
    },
    stop: (final) => final && log(final),
  };
}
