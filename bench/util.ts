// Shared benchmark plumbing: flag parsing, output (a table, or one JSON object per line with --json),
// timing, and running the Python peer.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface BenchArgs {
  json: boolean;
  flags: Map<string, string>;
}

export function parseArgs(argv: string[]): BenchArgs {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) continue;
    const [k, v] = a.slice(2).split('=', 2);
    if (v !== undefined) flags.set(k, v);
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) flags.set(k, argv[++i]);
    else flags.set(k, 'true');
  }
  return { json: flags.has('json'), flags };
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Prints rows as JSON lines (--json) or collects them for a table printed by `table()`. */
export class Output {
  readonly rows: Record<string, unknown>[] = [];
  constructor(readonly json: boolean) {}
  emit(row: Record<string, unknown>): void {
    this.rows.push(row);
    if (this.json) process.stdout.write(JSON.stringify(row) + '\n');
    else process.stderr.write(`  ${Object.entries(row).map(([k, v]) => `${k}=${fmt(v)}`).join(' ')}\n`);
  }
  table(columns: string[]): void {
    if (this.json || this.rows.length === 0) return;
    const cells = this.rows.map((r) => columns.map((c) => fmt(r[c])));
    const w = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i].length)));
    const line = (xs: string[]) => xs.map((x, i) => x.padStart(w[i])).join('  ');
    console.log(line(columns));
    console.log(w.map((n) => '-'.repeat(n)).join('  '));
    for (const r of cells) console.log(line(r));
  }
}

function fmt(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(3);
  return v === undefined || v === null ? '–' : String(v);
}

export const log = (m: string): void => void process.stderr.write(m + '\n');

/** Debian's python3 that can import torch, or null (the peer columns are then left empty, and we say why). */
export function torchPython(): string | null {
  for (const py of ['/usr/bin/python3', 'python3']) {
    if (py.startsWith('/') && !existsSync(py)) continue;
    const r = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' });
    if (r.status === 0) return py;
  }
  return null;
}
