// Training checkpoints: adapter parameters + AdamW moments (safetensors) and the trainer's position in the
// data order (JSON), written into a temporary folder and renamed into place, so a process killed at any
// moment leaves either the previous checkpoint or the new one, never a half-written one.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Tensor } from '../engine/index.js';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import { readF32 } from '../io/tensor-entry.js';

export interface TrainerState {
  /** Identifies the run (samples, options, adapter shape): a checkpoint of another run is not resumed. */
  fingerprint: string;
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
  writeFileSync(join(tmp, 'trainer.json'), JSON.stringify(state));
  const final = checkpointPath(dir), old = join(dir, `${NAME}.old`);
  rmSync(old, { recursive: true, force: true });
  if (existsSync(final)) renameSync(final, old);
  renameSync(tmp, final);
  rmSync(old, { recursive: true, force: true });
}

/** Loads a checkpoint into the given tensors; returns null when there is none or it belongs to another run. */
export function loadCheckpoint(dir: string, fingerprint: string, params: Tensor[], m: Tensor[], v: Tensor[]): TrainerState | null {
  const p = checkpointPath(dir);
  if (!existsSync(join(p, 'trainer.json'))) return null;
  const state = JSON.parse(readFileSync(join(p, 'trainer.json'), 'utf8')) as TrainerState;
  if (state.fingerprint !== fingerprint) return null;
  const ck = readSafetensors(join(p, 'state.safetensors'));
  const fill = (name: string, t: Tensor) => {
    const e = ck.tensors.get(name);
    if (!e || e.shape.join() !== t.shape.join()) throw new Error(`${p}: checkpoint tensor ${name} is missing or has the wrong shape`);
    t.f32().set(readF32(e));
  };
  params.forEach((t, i) => {
    fill(`param.${t.name}`, t);
    fill(`adam_m.${t.name}`, m[i]);
    fill(`adam_v.${t.name}`, v[i]);
  });
  return state;
}
