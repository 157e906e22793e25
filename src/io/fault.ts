// Fault injection for the crash-consistency test (test/cli/crash-consistency.test.ts): with
// LIFT_FAULT="<point>:<n>" the process kills itself with SIGKILL the n-th time it reaches `faultPoint(point)` —
// the same as a power cut or `kill -9` at exactly that line, which a timer cannot aim at. Points sit where a
// write is half done (between a file and its rename, between two renames) and at phase boundaries.
// Unset (always, outside that test) a point costs one comparison. "<point>:<n>:ENOSPC" throws a full-disk error
// there instead (test/queue/failures.test.ts: a store that fills up mid-write).
const spec = ((): { point: string; n: number; enospc: boolean } | null => {
  const v = process.env.LIFT_FAULT;
  const m = v ? /^([\w.:-]+):(\d+)(:ENOSPC)?$/.exec(v) : null;
  return m ? { point: m[1], n: Number(m[2]), enospc: m[3] !== undefined } : null;
})();
let hits = 0;

/** Marks a place a crash could happen; see the header. */
export function faultPoint(point: string): void {
  if (spec === null || spec.point !== point) return;
  if (++hits !== spec.n) return;
  if (!spec.enospc) process.kill(process.pid, 'SIGKILL');
  throw Object.assign(new Error(`ENOSPC: no space left on device, write (LIFT_FAULT ${point})`), { code: 'ENOSPC', errno: -28, syscall: 'write' });
}
