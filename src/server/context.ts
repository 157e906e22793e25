// What every route needs: the base model, the state, the absorb queue, the adapter cache and the limits.
import { basename, extname } from 'node:path';
import type { LoadedModel } from '../model/load.js';
import type { Store, DocumentRow } from './store.js';
import type { AbsorbQueue } from './queue/types.js';
import type { AdapterCache } from './adapters.js';
import type { DataPaths } from './paths.js';

export interface Limits {
  /** Largest request body in bytes (documents); completion requests get at most 1 MiB (app.ts). */
  bodyBytes: number;
  /** Generations in flight at once; more get 429. */
  generations: number;
  /** Documents waiting to be absorbed; more get 429. */
  queue: number;
  /** Documents one key (owner) may have waiting; more get 429. Unset: only `queue` applies. */
  queuePerOwner?: number;
}

/** Who is calling: null when the server has no API keys (everyone sees everything). */
export interface Caller { keyId: string; admin: boolean }

export interface ServerContext {
  loaded: LoadedModel;
  /** The base model's id in /v1/models, and the other names a request may use for it. */
  baseId: string;
  baseAliases: Set<string>;
  store: Store;
  jobs: AbsorbQueue;
  adapters: AdapterCache;
  paths: DataPaths;
  limits: Limits;
  inflight: { n: number };
  /** Generations that ran to their end, and those stopped because the client went away. */
  stats: { completed: number; aborted: number };
  startedAt: number;
}

/** A short, stable id for the base model: a Hub repo id as is, a local file or folder by its name. */
export function baseModelId(spec: string): string {
  if (/^[\w.-]+\/[\w.-]+$/.test(spec) && !spec.startsWith('.')) return spec;
  const b = basename(spec.replace(/[\\/]+$/, ''));
  return b.slice(0, b.length - extname(b).length) || b;
}

/** The document as the API shows it (never a file path). */
export function documentObject(d: DocumentRow): Record<string, unknown> {
  // The evaluation request travels in the stored recipe (recipe.ts withEvaluation) but is shown beside it, so the
  // recipe shown is one a client can post back; the held-out text itself is not echoed, only its length.
  const { evaluate, heldout_text: heldout, ...recipe } = d.recipe;
  return {
    id: d.id,
    object: 'document',
    title: d.title,
    status: d.status,
    created_at: Math.floor(d.created_at / 1000),
    updated_at: Math.floor(d.updated_at / 1000),
    bytes: d.bytes,
    sha256: d.sha256,
    progress: Math.round(d.progress * 1000) / 1000,
    recipe,
    evaluate: evaluate === true,
    ...(typeof heldout === 'string' ? { heldout_text_chars: heldout.length } : {}),
    metrics: d.metrics,
    error: d.error,
  };
}

/** Whether `caller` may see document `d` (no keys: everyone; an admin key: all; else only its own). */
export const visible = (d: DocumentRow, caller: Caller | null): boolean => caller === null || caller.admin || d.owner === caller.keyId;
