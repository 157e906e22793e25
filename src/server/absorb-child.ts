// The absorb job's own process (forked by jobs.ts): LIFT one document into DATA/adapters/ID exactly as
// `lift absorb` does (same absorb(), same usability check, same atomic adapter write with a claimed target,
// same checkpoints; a long document in parts, as a parts folder), reporting progress to the server over the
// IPC channel.
//
// Why a child process and not a worker thread: training holds the CPU in long synchronous native calls and
// allocates native memory outside V8's heap; in its own process a crash, an out-of-memory kill or a runaway
// job cannot take the server down, the OS reclaims every byte when it ends, and cancelling is a signal. The
// cost — loading the model once more — is milliseconds for small models and is paid once per job.
//
// When the server dies (even by SIGKILL) the IPC channel closes and this process exits at once: the last
// checkpoint stays, and the restarted server resumes the job from it.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { absorb, type AbsorbEvent } from '../lift/absorb.js';
import { assertUsable } from '../lift/usable.js';
import { makeQAGenerator } from '../lift/qa/index.js';
import { saveAdapter, MANIFEST_FILE } from '../adapters/files.js';
import { ADAPTER_OUTPUT, claimOutput, OutputError, type OutputTarget } from '../io/output.js';
import { faultPoint } from '../io/fault.js';
import { renderReport } from '../report/html.js';
import { absorbReport } from '../report/absorb.js';
import { loadModelSpec } from '../model/spec.js';
import { absorbOptions, jobRecipe, type Recipe } from './recipe.js';
import type { Recipe as LiftRecipe } from '../lift/recipe.js';
import { absorbParts, type AbsorbMetrics } from '../lift/absorb-parts.js';
import { isPartsFolder, PARTS_FILE } from '../lift/parts-folder.js';
import { evaluateAbsorbed } from '../eval/absorbed.js';

export interface JobSpec {
  id: string;
  model: string;
  tokenizer?: string;
  title: string;
  text: string;
  sha256: string;
  recipe: Recipe;
  adapterDir: string;
  /** Where the finished adapter is published when that is not adapterDir (`lift worker` trains into a staging folder). */
  publishedDir?: string;
  checkpointDir: string;
  cacheDir: string;
}

/** Messages to the server. */
export type ChildMessage =
  | { type: 'event'; event: Record<string, unknown> }
  | { type: 'done'; metrics: Record<string, unknown> }
  /** retryable: a failure of the machine (a full disk, an I/O error, a lock), not of the document or recipe. */
  | { type: 'failed'; message: string; retryable: boolean };

const send = (m: ChildMessage): Promise<void> => new Promise((res) => (process.send ? process.send(m, undefined, {}, () => res()) : res()));

// {type: 'stop'} (a worker's graceful shutdown): the trainer checkpoints the step it is at and stops, so the job
// handed back resumes exactly there (trainer.ts: an abort between samples redoes that batch whole, bit-identical).
const stopping = new AbortController();
process.on('disconnect', () => process.exit(1));
process.on('message', (m: { type: string }) => {
  if (m.type === 'stop') stopping.abort();
});
process.once('message', (m: { type: 'start'; job: JobSpec }) => {
  if (m.type !== 'start') return;
  run(m.job).then(
    async (metrics) => {
      await send({ type: 'done', metrics });
      process.exit(0);
    },
    async (e: unknown) => {
      await send({ type: 'failed', message: (e as Error).message ?? String(e), retryable: retryable(e) });
      process.exit(1);
    },
  );
});

async function run(job: JobSpec): Promise<Record<string, unknown>> {
  // Killed between the adapter's rename and the server recording "ready": the adapter is complete; keep it.
  const finished = finishedManifest(job);
  if (finished) return { ...finished, resumed_finished: true };
  // The server's own model spec: a Hub id is in the Hugging Face cache already (the server loaded it first).
  const loaded = await loadModelSpec(job.model, { tokenizer: job.tokenizer });
  let target: OutputTarget | null = null;
  try {
    target = await claim(job.adapterDir);
    let lastProgress = 0, part: { part: number; parts: number } | null = null;
    const onEvent = (e: AbsorbEvent): void => {
      faultPoint(e.type === 'train' ? `train:${e.event.type}` : `absorb:${e.type}`);
      const ev = event(e);
      if (!ev) return;
      // Progress ticks come every ~50 ms; the server needs a few per second at most.
      if (ev.type === 'progress') {
        const now = Date.now();
        if (now - lastProgress < 250) return;
        lastProgress = now;
      }
      void send({ type: 'event', event: part ? { ...ev, ...part } : ev });
    };
    const count = (s: string): number => loaded.tokenizer.encode(s, { bos: false }).length;
    // No recipe field: the measured preset that fits the model, as `lift absorb` with no recipe flag (recipe.ts).
    const chosen = jobRecipe(job.recipe, loaded.model.config, count(job.text));
    if (chosen.measured)
      void send({ type: 'event', event: { type: 'recipe', preset: chosen.measured.name, message: `no recipe fields: the measured preset ${chosen.measured.name} (${chosen.measured.fitsWhat})` } });
    const qaGenerator = makeQAGenerator('builtin', { cacheDir: join(job.cacheDir, 'qa') });

    /** Absorbs `text` with `recipe` into the adapter folder `into` (the whole document, or one part); its metrics. */
    const absorbInto = async (text: string, recipe: LiftRecipe, into: OutputTarget, checkpointDir: string): Promise<AbsorbMetrics> => {
      const r = await absorb(loaded, { title: job.title, text }, { ...absorbOptions(recipe, job.recipe.checkpoint_every), qaGenerator: (recipe.qa ?? 10) > 0 ? qaGenerator : null, checkpointDir, onEvent, signal: stopping.signal });
      const losses = r.train.losses;
      const metrics: AbsorbMetrics = { steps: r.train.steps, first_loss: losses[0]?.loss ?? null, final_loss: losses.at(-1)?.loss ?? null, non_finite_steps: r.train.nonFiniteSteps, seconds: r.seconds, qa_generated: r.qas.length };
      assertUsable(loaded.model, r, Int32Array.from(loaded.tokenizer.encode(text.slice(0, 400), { bos: loaded.addBos }).slice(0, 64)));
      if (job.recipe.evaluate) {
        // Measured before publishing, so the figures are in the manifest and the document's metrics from the start.
        void send({ type: 'event', event: { type: 'phase', phase: 'evaluating', done: 0, total: 1, ...part } });
        Object.assign(metrics, await evaluateAbsorbed(loaded, r.adapter, { title: job.title, document: text, contextBudget: r.lengths.budget, qas: r.qas, heldoutText: job.recipe.heldout_text }));
      }
      saveAdapter(into, r.adapter, { base: { model: loaded.model, id: loaded.id, revision: loaded.revision }, document_sha256: r.documentSha256, recipe: r.recipe, metrics }, {
        files: {
          'document.txt': text,
          'document.json': JSON.stringify({ title: job.title, source: `lift serve document ${job.id}`, context_budget: r.lengths.budget, qas: r.qas }, null, 2) + '\n',
          'report.html': renderReport(absorbReport(job.title, r, loaded.id)),
        },
        // As `lift absorb`: the checkpoint goes just before the rename, so a kill in between retrains to the same bytes.
        beforeCommit: () => rmSync(checkpointDir, { recursive: true, force: true }),
      });
      r.adapter.dispose();
      return { ...metrics, context_budget: r.lengths.budget, losses: losses.map((l) => l.loss) };
    };

    if (chosen.parts === null) return await absorbInto(job.text, chosen.recipe, target, job.checkpointDir);
    // In parts, as `lift absorb --parts N`: one adapter per part, a parts folder at the document's place; each
    // part's events carry `part`/`parts` (the document's progress is the parts done plus this one's share).
    const r = await absorbParts(target, { title: job.title, text: job.text, path: `lift serve document ${job.id}` }, chosen.parts, {
      count,
      recipeFor: chosen.recipeFor,
      absorbInto: (docs, recipe, into, checkpointDir) => absorbInto(docs[0].text, recipe, into, checkpointDir),
      settings: { model: loaded.id, recipe: job.recipe, compute: loaded.compute },
      base: { id: loaded.id, revision: loaded.revision },
      log: () => {},
      onPart: (index, n, tokens) => {
        part = { part: index, parts: n };
        void send({ type: 'event', event: { type: 'part', part: index, parts: n, tokens, message: `part ${index + 1}/${n}: ${tokens} tokens (parts of ≤ ~${chosen.parts} tokens, each its own adapter; questions are routed to one)` } });
      },
      waitingBase: job.checkpointDir,
    });
    return r.metrics;
  } finally {
    target?.release();
    loaded.model.dispose();
  }
}

/** System errors (ENOSPC, EIO, EDQUOT, …) and a contended output lock may pass on another attempt; the rest would not. */
function retryable(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException)?.code;
  return e instanceof OutputError || (typeof code === 'string' && /^E[A-Z]+$/.test(code));
}

/** The manifest's metrics when a complete adapter (or parts folder) of this very text is already in place. */
function finishedManifest(job: JobSpec): Record<string, unknown> | null {
  const dir = job.publishedDir ?? job.adapterDir, f = join(dir, isPartsFolder(dir) ? PARTS_FILE : MANIFEST_FILE);
  if (!existsSync(f)) return null;
  try {
    const m = JSON.parse(readFileSync(f, 'utf8')) as { document_sha256?: string; metrics?: Record<string, unknown> };
    return m.document_sha256 === job.sha256 ? (m.metrics ?? {}) : null;
  } catch {
    return null;
  }
}

/**
 * Claims the adapter folder, waiting for the lock of a job process that is still exiting: the job of a killed
 * server exits when its event loop next turns, which on a large model can be seconds into a training sample.
 */
async function claim(dir: string): Promise<OutputTarget> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      return claimOutput(dir, { kind: ADAPTER_OUTPUT, force: true, flag: 'adapter folder' });
    } catch (e) {
      if (!(e instanceof OutputError) || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** absorb's events as the document's progress events (plain JSON; phases and steps only). */
function event(e: AbsorbEvent): Record<string, unknown> | null {
  switch (e.type) {
    case 'plan': return { type: 'plan', estimated: e.estimated, document_tokens: e.documentTokens, steps: e.steps, estimated_seconds: e.seconds };
    case 'progress': return { type: 'phase', phase: e.phase, done: e.done, total: e.total };
    case 'qa-progress': return { type: 'phase', phase: 'synthesizing QAs', done: e.done, total: e.total };
    case 'qa': return { type: 'qa', generated: e.generated, requested: e.requested };
    case 'warning': return { type: 'warning', message: e.message };
    case 'prepare': return { type: 'prepare', document_tokens: e.documentTokens, segments: e.segments };
    case 'guard': return null;
    case 'train': {
      const t = e.event;
      if (t.type === 'start') return { type: 'train_start', total_steps: t.totalSteps, resumed_at: t.resumedAt, total_samples: t.totalSamples };
      if (t.type === 'progress') return { type: 'progress', samples: t.samples, total_samples: t.totalSamples, step: t.step };
      if (t.type === 'step') return { type: 'step', stage: t.stage, step: t.step, total_steps: t.totalSteps, loss: t.loss, skipped: t.skipped };
      if (t.type === 'checkpoint') return { type: 'checkpoint', step: t.step };
      if (t.type === 'nonfinite') return { type: 'warning', message: `step ${t.step}: non-finite ${t.names.join(', ')}; step skipped` };
      return null;
    }
  }
}
