// How the CLI ends when something outside the program fails: a closed pipe on stdout ends quietly with status 0
// (as `head` expects of any Unix tool), a full disk or a refused permission is one line naming the path and the
// reason, never a stack trace (LIFT_DEBUG=1 adds the stack for bug reports).

/** Words for the errno codes a user can act on. */
const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on the device', EDQUOT: 'disk quota exceeded', EACCES: 'permission denied', EPERM: 'operation not permitted',
  EROFS: 'read-only file system', ENOENT: 'no such file or folder', ENOTDIR: 'a part of the path is not a folder', EISDIR: 'it is a folder',
  EEXIST: 'it already exists', EMFILE: 'too many open files', ENAMETOOLONG: 'the name is too long', EIO: 'input/output error',
  EFBIG: 'the file is too large', EPIPE: 'the reading end of the pipe was closed',
};

type Errno = NodeJS.ErrnoException & { dest?: string };

export function isErrno(e: unknown): e is Errno {
  return e instanceof Error && typeof (e as Errno).code === 'string' && /^E[A-Z0-9]+$/.test((e as Errno).code!) && typeof (e as Errno).syscall === 'string';
}

/** One line for an error that reached the top level: errno errors as "path: reason (CODE)", others as their message. */
export function describeFailure(e: unknown): string {
  if (!isErrno(e)) return e instanceof Error ? e.message : String(e);
  const code = e.code!;
  const reason = REASONS[code] ?? e.message.replace(/^E[A-Z0-9]+: /, '').replace(/, \w+ .*$/, '');
  const where = e.path ? `${e.path}${e.dest ? ` → ${e.dest}` : ''}` : null;
  const action = /write|open|mkdir|rename|copy|link|close|fsync|ftruncate/.test(e.syscall ?? '') ? 'cannot write' : 'cannot read';
  return where ? `${where}: ${reason} (${code}, ${e.syscall})` : `${action}: ${reason} (${code}, ${e.syscall}; the path was not reported)`;
}

/**
 * Makes writes to a closed or failing stdout/stderr end the process cleanly. Without this an EPIPE surfaces as an
 * unhandled 'error' event: a stack trace and status 1 for `lift generate | head -c 5`.
 */
export function guardStdStreams(): void {
  process.stdout.on('error', (e: Errno) => {
    if (e.code === 'EPIPE') process.exit(0);
    writeStderr(`lift: cannot write to standard output: ${REASONS[e.code ?? ''] ?? e.message} (${e.code ?? 'error'})\n`);
    process.exit(1);
  });
  // With stderr gone there is nowhere to report anything: stop with the status the output deserves.
  process.stderr.on('error', (e: Errno) => process.exit(e.code === 'EPIPE' ? 0 : 1));
}

function writeStderr(s: string): void {
  try {
    process.stderr.write(s);
  } catch {
    // stderr itself is broken: the exit status is all that is left
  }
}
