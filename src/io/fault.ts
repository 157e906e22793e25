// Fault injection for the crash-consistency test (test/cli/crash-consistency.test.ts): with
// LIFT_FAULT="<point>:<n>" the process kills itself with SIGKILL the n-th time it reaches `faultPoint(point)` —
// the same as a power cut or `kill -9` at exactly that line, which a timer cannot aim at. Points sit where a
// write is half done (between a file and its rename, between two renames) and at phase boundaries.
// Unset (always, outside that test) a point costs one comparison.
const spec = ((): { point: string; n: number } | null => {
  const v = process.env.LIFT_FAULT;
  const m = v ? /^([\w.:-]+):(\d+)$/.exec(v) : null;
  return m ? { point: m[1], n: Number(m[2]) } : null;
})();
let hits = 0;

/** Marks a place a crash could happen; see the header. */
export function faultPoint(point: string): void {
  if (spec === null || spec.point !== point) return;
  if (++hits === spec.n) process.kill(process.pid, 'SIGKILL');
}
