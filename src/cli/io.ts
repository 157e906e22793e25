// Output conventions shared by the subcommands: results to stdout, everything else to stderr.
export const out = (s: string): void => void process.stdout.write(s);
export const log = (s: string): void => void process.stderr.write(s.endsWith('\n') ? s : s + '\n');

/** Parses a numeric flag, naming the flag in the error. */
export function numberFlag(name: string, min = -Infinity, max = Infinity, integer = false): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n)))
      throw new Error(`--${name}: expected ${integer ? 'an integer' : 'a number'}${range(min, max)}, got "${v}"`);
    return n;
  };
}

function range(min: number, max: number): string {
  if (min > -Infinity && max < Infinity) return ` from ${min} to ${max}`;
  if (min > -Infinity) return ` ≥ ${min}`;
  if (max < Infinity) return ` ≤ ${max}`;
  return '';
}
