// Writes that cannot destroy. Every command that writes a file or folder claims its target here first:
//   - a path that exists is refused, unless it is an output LIFT.ts itself made (an adapter folder, an eval
//     folder, a converted model) AND the caller passes force — or an empty folder, which holds nothing to lose;
//   - a target that equals or contains an input (the model, the document, an adapter being read) or the
//     current directory is refused;
//   - a lock file beside the target (`.NAME.lift-lock`, O_EXCL) makes a second writer fail at start, not
//     after hours of training;
//   - the result is built in a staging path beside the target (`.NAME.lift-tmp-PID-RAND`, same filesystem, so
//     the final rename is atomic) and renamed into place only when complete. A replaced output is moved to
//     `.NAME.lift-old-PID` first and deleted only after the new one is in place.
// Temporary paths and the lock are removed on every exit path this process sees (return, throw, exit,
// SIGTERM); after a SIGKILL the next claim of the same target sweeps what the dead process left, and puts
// back an old output that a killed replacement had moved aside.
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, writeSync } from 'node:fs';
import { hostname, homedir } from 'node:os';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { createHash } from 'node:crypto';
import { faultPoint } from './fault.js';

/** Thrown when an output path cannot be written without destroying something, or is locked. */
export class OutputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutputError';
  }
}

/** What a command writes; `isOurs` recognises an existing output of the same kind (replaceable with force). */
export interface OutputKind {
  /** e.g. 'a LIFT adapter folder'. */
  what: string;
  /** A folder (adapter, eval results, HF model) or a single file (GGUF). */
  folder: boolean;
  /** True when `path` (which exists) is an output LIFT.ts made of this kind. */
  isOurs(path: string): boolean;
}

export interface ClaimOptions {
  kind: OutputKind;
  /** Replace an existing output of the same kind (never anything else). */
  force?: boolean;
  /** Paths this command reads (model files and folders, documents, adapters): the target may not be or hold one. */
  inputs?: (string | undefined | null)[];
  /** How the user named the target, for messages (default '--out'). */
  flag?: string;
}

/** A claimed target: stage the result, then commit it; release() in every case (idempotent). */
export interface OutputTarget {
  readonly path: string;
  readonly kind: OutputKind;
  /** A fresh staging path beside the target (a folder is created for folder kinds); removed on release. */
  stage(): string;
  /** Renames the staged result into place atomically (replacing an existing output only when force was given). */
  commit(staged: string): void;
  release(): void;
}

const live = new Set<() => void>();
let hooked = false;
function onExit(fn: () => void): () => void {
  live.add(fn);
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const f of [...live]) try { f(); } catch { /* best effort at exit */ }
    });
    // Without a handler SIGTERM kills the process with no 'exit' event: clean up, then exit as it would have.
    process.once('SIGTERM', () => process.exit(143));
  }
  return () => live.delete(fn);
}

/** Whether process `pid` of this host is alive (EPERM: alive, another user's). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** `a` is `b` or a folder above it. */
const covers = (a: string, b: string): boolean => a === b || b.startsWith(a.endsWith(sep) ? a : a + sep);
const real = (p: string): string => {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
};
const exists = (p: string): boolean => {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
};

/** The target's canonical absolute path: its parent resolved through symlinks, its own name kept. */
function canonical(path: string, flag: string): string {
  if (path.trim() === '') throw new OutputError(`${flag}: expected a path, got an empty string`);
  const abs = resolve(path);
  return join(real(dirname(abs)), basename(abs));
}

/** Where lift keeps what is not an output: checkpoints of interrupted runs, the QA cache. */
export function liftCacheDir(): string {
  if (process.env.LIFT_CACHE_DIR) return resolve(process.env.LIFT_CACHE_DIR);
  return join(process.env.XDG_CACHE_HOME ? resolve(process.env.XDG_CACHE_HOME) : join(homedir(), '.cache'), 'lift-ts');
}

/** The checkpoint folder of a run writing `target` (in the cache, keyed by the target's absolute path). */
export function checkpointDirFor(target: string): string {
  const abs = canonical(target, 'checkpoint');
  return join(liftCacheDir(), 'checkpoints', `${basename(abs)}-${createHash('sha256').update(abs).digest('hex').slice(0, 16)}`);
}

const LOCK = '.lift-lock', TMP = '.lift-tmp-', OLD = '.lift-old-';

/**
 * Claims `path` as this process's output: checks it against the rules at the top of this file, takes the
 * lock and sweeps what a killed earlier run left. Throws OutputError, having changed nothing, when refused.
 */
export function claimOutput(path: string, o: ClaimOptions): OutputTarget {
  const flag = o.flag ?? '--out', kind = o.kind;
  const target = canonical(path, flag);
  const parent = dirname(target), name = basename(target);
  if (covers(target, real(process.cwd()))) throw new OutputError(`${flag} ${path}: is the current directory or holds it; choose a new path for ${kind.what}`);
  for (const input of o.inputs ?? []) {
    if (!input) continue;
    const inp = real(input);
    if (covers(target, inp)) throw new OutputError(`${flag} ${path}: ${target === inp ? 'is' : 'holds'} an input of this command (${input}); choose a new path for ${kind.what}`);
  }
  if (exists(parent) && !lstatSync(parent).isDirectory()) throw new OutputError(`${flag} ${path}: ${parent} is not a folder`);

  const lock = join(parent, `.${name}${LOCK}`);
  acquireLock(lock, target, flag, path);
  const release = (): void => {
    for (const s of staged) rmSync(s, { recursive: true, force: true });
    staged.clear();
    rmSync(lock, { force: true });
    unhook();
  };
  const staged = new Set<string>();
  const unhook = onExit(release);
  try {
    sweep(parent, name, target);
    checkReplaceable(target, kind, !!o.force, flag, path);
  } catch (e) {
    release();
    throw e;
  }
  return {
    path: target,
    kind,
    stage(): string {
      const s = join(parent, `.${name}${TMP}${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
      staged.add(s);
      if (kind.folder) openFolder(s);
      return s;
    },
    commit(s: string): void {
      // Checked again: something may have appeared at the target while we worked.
      const replacing = checkReplaceable(target, kind, !!o.force, flag, path);
      faultPoint('output:commit');
      if (replacing) {
        const old = join(parent, `.${name}${OLD}${process.pid}`);
        renameSync(target, old);
        faultPoint('output:old-moved-aside');
        try {
          renameSync(s, target);
        } catch (e) {
          renameSync(old, target);
          throw e;
        }
        rmSync(old, { recursive: true, force: true });
      } else renameSync(s, target); // an empty folder or nothing: rename() replaces an empty folder atomically
      staged.delete(s);
    },
    release,
  };
}

function openFolder(p: string): void {
  mkdirSync(dirname(p), { recursive: true });
  mkdirSync(p);
}

/** True when an existing output will be replaced; throws when the target may not be written. */
function checkReplaceable(target: string, kind: OutputKind, force: boolean, flag: string, shown: string): boolean {
  if (!exists(target)) return false;
  const st = lstatSync(target);
  if (st.isDirectory() && !st.isSymbolicLink() && readdirSync(target).length === 0) return false;
  const ours = !st.isSymbolicLink() && (kind.folder ? st.isDirectory() : st.isFile()) && kind.isOurs(target);
  if (ours && force) return true;
  if (ours) throw new OutputError(`${flag} ${shown}: already holds ${kind.what}; pass --force to replace it (the old one is kept until the new one is complete), or choose a new path`);
  const what = st.isSymbolicLink() ? 'a symbolic link' : st.isDirectory() ? 'a folder that is not ' + kind.what : st.isFile() ? 'a file that is not ' + kind.what : 'something that is not ' + kind.what;
  throw new OutputError(`${flag} ${shown}: already exists and is ${what}; lift never overwrites it (not even with --force): choose a new path`);
}

function acquireLock(lock: string, target: string, flag: string, shown: string): void {
  const body = JSON.stringify({ pid: process.pid, host: hostname(), started: new Date().toISOString(), target, argv: process.argv.slice(2) });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      mkdirSync(dirname(lock), { recursive: true });
      const fd = openSync(lock, 'wx');
      try {
        writeSync(fd, body);
      } finally {
        closeSync(fd);
      }
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = readLock(lock);
    if (holder && holder.host === hostname() && !pidAlive(holder.pid)) {
      rmSync(lock, { force: true }); // left by a process that no longer exists on this machine
      continue;
    }
    const who = holder ? `process ${holder.pid} on ${holder.host}, started ${holder.started}` : 'another process';
    throw new OutputError(`${flag} ${shown}: another lift command is writing it (${who}); wait for it to finish or choose another path. ` +
      `If no such process runs, remove the lock: rm ${JSON.stringify(lock)}`);
  }
  throw new OutputError(`${flag} ${shown}: cannot take the lock ${lock}`);
}

function readLock(lock: string): { pid: number; host: string; started: string } | null {
  try {
    const v = JSON.parse(readFileSync(lock, 'utf8')) as Record<string, unknown>;
    if (v && typeof v.pid === 'number' && typeof v.host === 'string') return { pid: v.pid, host: v.host, started: String(v.started) };
  } catch { /* unreadable: treated as held by someone else */ }
  return null;
}

/** Removes staging paths of dead processes for this target; restores an old output a killed replacement moved aside. */
function sweep(parent: string, name: string, target: string): void {
  if (!existsSync(parent)) return;
  for (const n of readdirSync(parent)) {
    if (!n.startsWith(`.${name}.lift-`)) continue;
    const rest = n.slice(name.length + 1);
    const m = /^\.lift-(tmp|old)-(\d+)/.exec(rest);
    if (!m || pidAlive(Number(m[2]))) continue;
    const p = join(parent, n);
    if (m[1] === 'old' && !exists(target)) renameSync(p, target); // the replacement never arrived: put it back
    else rmSync(p, { recursive: true, force: true });
  }
}

/** Kinds of output, each recognised by the file only LIFT.ts writes there. */
export const ADAPTER_OUTPUT: OutputKind = {
  what: 'a LIFT adapter folder',
  folder: true,
  // An adapter, or a document absorbed in parts (src/lift/parts-folder.ts): `lift absorb` writes either.
  isOurs: (p) => jsonHas(join(p, 'lift_manifest.json'), ['format_version', 'adapter', 'base_model']) || jsonHas(join(p, 'lift_parts.json'), ['format_version', 'parts', 'base_model']),
};
export const EVAL_OUTPUT: OutputKind = {
  what: 'a lift eval results folder',
  folder: true,
  isOurs: (p) => jsonHas(join(p, 'summary.json'), ['settings', 'summary']) || jsonHas(join(p, 'lift_eval.json'), ['task']),
};

/** True when `file` is a JSON object holding every key in `keys`. */
export function jsonHas(file: string, keys: string[]): boolean {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return !!v && typeof v === 'object' && !Array.isArray(v) && keys.every((k) => k in (v as object));
  } catch {
    return false;
  }
}
