// Training checkpoints: adapter parameters + AdamW moments (safetensors) and the trainer's position in the
// data order (JSON), written into a temporary folder and renamed into place, so a process killed at any
// moment leaves either the previous checkpoint or the new one, never a half-written one.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Tensor } from '../engine/index.js';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import { readF32 } from '../io/tensor-entry.js';
import { FormatError, shown, shownJson } from '../io/errors.js';
import { faultPoint } from '../io/fault.js';

export interface TrainerState {
  /** Identifies the run (samples, options, adapter shape): a checkpoint of another run is not resumed. */
  fingerprint: string;
  /** What the fingerprint is made of, so a mismatch can name what changed (absent in older checkpoints). */
  parts?: FingerprintParts;
  stage: number;
  epoch: number;
  /** Next batch index within the epoch. */
  batch: number;
  /** Optimizer steps taken. */
  step: number;
  losses: { stage: string; epoch: number; step: number; loss: number; gradNorm: number; skipped: boolean }[];
  nonFiniteSteps: number;
  seconds: number;
}

/** The pieces of a run's fingerprint: a hash of its samples, its options as JSON, a hash of the adapter's shape. */
export interface FingerprintParts {
  samples: string;
  options: Record<string, unknown>;
  params: string;
}

/**
 * A checkpoint that cannot be read (truncated, corrupt, hand-edited): a FormatError (typed, names the file and
 * field) whose message ends with the command that discards it, so a rerun is never blocked without a way out.
 */
export class CheckpointError extends FormatError {
  constructor(readonly checkpoint: string, file: string, field: string, problem: string) {
    super(file, field, '');
    this.name = 'CheckpointError';
    this.message = `damaged training checkpoint ${file}: ${field}: ${shown(problem, 300)}\n  ` +
      `discard it (training restarts from the beginning) with: rm -r ${shellQuote(checkpoint)}`;
  }
}

/** `s` as one shell word (POSIX single quotes). */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

const NAME = 'checkpoint';

export function checkpointPath(dir: string): string {
  return join(dir, NAME);
}

export function saveCheckpoint(dir: string, params: Tensor[], m: Tensor[], v: Tensor[], state: TrainerState): void {
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `${NAME}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  const entry = (name: string, t: Tensor) => ({ name, dtype: 'F32' as const, shape: [...t.shape], data: t.f32() });
  writeSafetensors(join(tmp, 'state.safetensors'), [
    ...params.map((t) => entry(`param.${t.name}`, t)),
    ...params.map((t, i) => entry(`adam_m.${t.name}`, m[i])),
    ...params.map((t, i) => entry(`adam_v.${t.name}`, v[i])),
  ]);
  faultPoint('checkpoint:state-written');
  writeFileSync(join(tmp, 'trainer.json'), JSON.stringify(state));
  const final = checkpointPath(dir), old = join(dir, `${NAME}.old`);
  // Killed between the two renames, only checkpoint.old is complete: currentCheckpoint() falls back to it.
  if (existsSync(final)) {
    rmSync(old, { recursive: true, force: true });
    renameSync(final, old);
  }
  faultPoint('checkpoint:old-moved-aside');
  renameSync(tmp, final);
  faultPoint('checkpoint:renamed');
  rmSync(old, { recursive: true, force: true });
}

/** The newest complete checkpoint folder in `dir`: `checkpoint`, else `checkpoint.old` (see saveCheckpoint). */
function currentCheckpoint(dir: string): string {
  const p = checkpointPath(dir), old = join(dir, `${NAME}.old`);
  return !existsSync(join(p, 'trainer.json')) && existsSync(join(old, 'trainer.json')) ? old : p;
}

/**
 * The trainer state of the checkpoint in `dir`, or null when there is none; CheckpointError when trainer.json
 * is not what saveCheckpoint writes (bad JSON, a field missing or of the wrong type) or state.safetensors is
 * missing.
 */
export function readCheckpointState(dir: string): TrainerState | null {
  const p = currentCheckpoint(dir), file = join(p, 'trainer.json');
  if (!existsSync(file)) return null;
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CheckpointError(p, file, '(file)', `not valid JSON: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new CheckpointError(p, file, '(top level)', `expected an object, got ${shownJson(v)}`);
  const o = v as Record<string, unknown>;
  if (typeof o.fingerprint !== 'string') throw new CheckpointError(p, file, 'fingerprint', `expected a string, got ${shownJson(o.fingerprint)}`);
  for (const k of ['stage', 'epoch', 'batch', 'step', 'nonFiniteSteps'] as const) {
    if (!Number.isSafeInteger(o[k]) || (o[k] as number) < 0) throw new CheckpointError(p, file, k, `expected a non-negative integer, got ${shownJson(o[k])}`);
  }
  if (typeof o.seconds !== 'number' || !Number.isFinite(o.seconds)) throw new CheckpointError(p, file, 'seconds', `expected a number, got ${shownJson(o.seconds)}`);
  if (!Array.isArray(o.losses) || o.losses.some((l) => typeof l !== 'object' || l === null)) throw new CheckpointError(p, file, 'losses', 'expected a list of step records');
  if (o.parts !== undefined && (typeof o.parts !== 'object' || o.parts === null || typeof (o.parts as FingerprintParts).options !== 'object'))
    throw new CheckpointError(p, file, 'parts', `expected an object, got ${shownJson(o.parts)}`);
  if (!existsSync(join(p, 'state.safetensors'))) throw new CheckpointError(p, join(p, 'state.safetensors'), '(file)', 'missing beside trainer.json');
  return o as unknown as TrainerState;
}

/**
 * What differs between a checkpoint's run and this one, in words ("lr 0.001 → 0.002", "the training samples
 * …"); empty when the parts agree (or the checkpoint predates them: then one generic entry).
 */
export function fingerprintDifferences(old: TrainerState, now: FingerprintParts): string[] {
  if (!old.parts) return ['the settings (the checkpoint is from an older version that does not record them)'];
  const out: string[] = [];
  if (old.parts.samples !== now.samples) out.push('the training samples (the document, the lengths, the QAs or the seed)');
  for (const k of new Set([...Object.keys(old.parts.options), ...Object.keys(now.options)])) {
    const a = JSON.stringify(old.parts.options[k]), b = JSON.stringify(now.options[k]);
    if (a !== b) out.push(`${k} ${shown(a ?? 'unset', 80)} → ${shown(b ?? 'unset', 80)}`);
  }
  if (old.parts.params !== now.params) out.push("the adapter's shape (kind, rank, width or layers)");
  return out;
}

/** Loads a checkpoint into the given tensors; returns null when there is none or it belongs to another run. */
export function loadCheckpoint(dir: string, fingerprint: string, params: Tensor[], m: Tensor[], v: Tensor[]): TrainerState | null {
  const p = currentCheckpoint(dir), file = join(p, 'state.safetensors');
  const state = readCheckpointState(dir);
  if (!state || state.fingerprint !== fingerprint) return null;
  let ck: ReturnType<typeof readSafetensors>;
  try {
    ck = readSafetensors(file);
  } catch (e) {
    throw new CheckpointError(p, file, '(file)', (e as Error).message);
  }
  const fill = (name: string, t: Tensor) => {
    const e = ck.tensors.get(name);
    if (!e || e.shape.join() !== t.shape.join()) throw new CheckpointError(p, file, `tensor ${name}`, e ? `shape [${e.shape.join(',')}], expected [${t.shape.join(',')}]` : 'missing');
    let data: Float32Array;
    try {
      data = readF32(e);
    } catch (err) {
      throw new CheckpointError(p, file, `tensor ${name}`, (err as Error).message);
    }
    if (data.length !== t.f32().length) throw new CheckpointError(p, file, `tensor ${name}`, `${data.length} values, expected ${t.f32().length}`);
    t.f32().set(data);
  };
  params.forEach((t, i) => {
    fill(`param.${t.name}`, t);
    fill(`adam_m.${t.name}`, m[i]);
    fill(`adam_v.${t.name}`, v[i]);
  });
  return state;
}
