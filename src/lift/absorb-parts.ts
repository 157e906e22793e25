// `lift absorb DOC --parts N` (and a server document with parts): the document cut at paragraph breaks into parts of ≤ ~N tokens (lift/parts.ts
// splitDocument), each absorbed into an ordinary adapter folder with the recipe it would get at its length, then
// one folder written atomically (lift/parts-folder.ts): the parts, the whole document, lift_parts.json last.
// Resumable part by part: finished parts wait in lift's cache (keyed by --out and the settings) until the
// folder is written, so an interrupted run trains only what is left (a part in training resumes from its
// checkpoint as any absorb does).
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ADAPTER_OUTPUT, checkpointDirFor, claimOutput, jsonHas, type OutputTarget } from '../io/output.js';
import { readJsonObject } from '../io/json-file.js';
import { MANIFEST_FILE } from '../adapters/files.js';
import { splitDocument } from './parts.js';
import { partFolder, PARTS_FILE, PARTS_FORMAT_VERSION } from './parts-folder.js';
import type { LoadedDocument } from './document.js';
import type { Recipe } from './recipe.js';

export type LoadedDoc = Pick<LoadedDocument, 'title' | 'text' | 'path'>;

export interface AbsorbMetrics {
  steps: number;
  first_loss: number | null;
  final_loss: number | null;
  non_finite_steps: number;
  seconds: number;
  qa_generated: number;
  [k: string]: unknown;
}

export interface PartsOptions {
  count(text: string): number;
  /** The recipe of a part of `tokens` tokens (the preset's rules scale QAs and epochs with the length). */
  recipeFor(tokens: number): Recipe;
  /** Absorbs documents with a recipe into an adapter folder (the command's own path: events, checks, files). */
  absorbInto(docs: readonly LoadedDoc[], recipe: Recipe, into: OutputTarget, checkpointDir: string): Promise<AbsorbMetrics>;
  /** What makes a finished part reusable: the model and the recipe flags (with the document and the part size). */
  settings: Record<string, unknown>;
  base: { id: string; revision: string | null };
  log(line: string): void;
  /** Heard before each part starts (0-based index, count, tokens), after log(). */
  onPart?(index: number, count: number, tokens: number): void;
  /**
   * Finished parts wait in `${waitingBase}.parts-KEY` until the folder is written (default: lift's checkpoint
   * folder for the target, checkpointDirFor; the server keeps them beside the document's checkpoint).
   */
  waitingBase?: string;
}

export interface PartWritten {
  folder: string;
  tokens: number;
  /** null when the part was trained by an earlier, interrupted run. */
  metrics: AbsorbMetrics | null;
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/**
 * The parts' metrics as one document's (lift_parts.json "metrics", the server's document metrics): counts and
 * seconds summed, the first part's first loss and the last part's final loss, each part's own (and its tokens) in
 * `part_metrics`.
 */
export function partsMetrics(parts: readonly { tokens: number; metrics: AbsorbMetrics | null }[]): AbsorbMetrics {
  const ms = parts.map((p) => p.metrics);
  const sum = (k: 'steps' | 'seconds' | 'qa_generated' | 'non_finite_steps'): number => ms.reduce((a, m) => a + (typeof m?.[k] === 'number' ? m[k] : 0), 0);
  return {
    steps: sum('steps'), first_loss: ms[0]?.first_loss ?? null, final_loss: ms.at(-1)?.final_loss ?? null, non_finite_steps: sum('non_finite_steps'),
    seconds: sum('seconds'), qa_generated: sum('qa_generated'), parts: parts.length, part_tokens: parts.map((p) => p.tokens),
    part_metrics: parts.map((p) => ({ tokens: p.tokens, ...p.metrics })),
  };
}

export async function absorbParts(target: OutputTarget, doc: LoadedDoc, maxTokens: number, o: PartsOptions): Promise<{ parts: PartWritten[]; metrics: AbsorbMetrics }> {
  const texts = splitDocument(doc.text, (s) => o.count(s), maxTokens);
  const docSha = sha256(doc.text);
  // Finished parts wait here until the folder is written; another document, part size or recipe gets another place.
  const key = sha256(JSON.stringify({ doc: docSha, maxTokens, ...o.settings })).slice(0, 16);
  const base = o.waitingBase ?? checkpointDirFor(target.path), waiting = `${base}.parts-${key}`;
  o.log(`parts: ${texts.length} of ≤ ~${maxTokens} tokens, cut at paragraph breaks; each is absorbed into its own adapter, and questions are routed to one (finished parts wait in ${waiting})`);
  mkdirSync(waiting, { recursive: true });
  const parts: (PartWritten & { kept: AbsorbMetrics | null })[] = [];
  for (const [i, text] of texts.entries()) {
    const folder = partFolder(i, texts.length), dir = join(waiting, folder), tokens = o.count(text);
    // A part an interrupted run finished: its manifest names this very text.
    const manifest = jsonHas(join(dir, MANIFEST_FILE), ['document_sha256']) ? readJsonObject(join(dir, MANIFEST_FILE), 'a part adapter manifest') : null;
    if (manifest?.document_sha256 === sha256(text)) {
      o.log(`part ${i + 1}/${texts.length} (${tokens} tokens): trained by an earlier run, kept`);
      parts.push({ folder, tokens, metrics: null, kept: (manifest.metrics ?? null) as AbsorbMetrics | null });
      continue;
    }
    o.log(`part ${i + 1}/${texts.length}: ${tokens} tokens`);
    o.onPart?.(i, texts.length, tokens);
    const into = claimOutput(dir, { kind: ADAPTER_OUTPUT, force: true, flag: `part ${i + 1}` });
    try {
      const metrics = await o.absorbInto([{ title: doc.title, text, path: `${doc.path} (part ${i + 1}/${texts.length})` }], o.recipeFor(tokens), into, checkpointDirFor(dir));
      parts.push({ folder, tokens, metrics, kept: null });
    } finally {
      into.release();
    }
  }
  // The folder: the parts, the whole document and its settings (part 1's: the same budget and answer format), the
  // list last — a folder with lift_parts.json is complete.
  const stage = target.stage();
  for (const p of parts) cpSync(join(waiting, p.folder), join(stage, p.folder), { recursive: true });
  const first = readJsonObject(join(stage, parts[0].folder, 'document.json'), 'a part\'s absorb settings');
  writeFileSync(join(stage, 'document.txt'), doc.text);
  writeFileSync(join(stage, 'document.json'), JSON.stringify({ title: doc.title, source: doc.path, context_budget: first.context_budget, answer_stop: first.answer_stop, bos: first.bos }, null, 2) + '\n');
  // A kept part's metrics are its manifest's (what the earlier run measured).
  const metrics = partsMetrics(parts.map((p) => ({ tokens: p.tokens, metrics: p.metrics ?? p.kept })));
  writeFileSync(join(stage, PARTS_FILE), JSON.stringify({
    format_version: PARTS_FORMAT_VERSION, base_model: o.base, document_sha256: docSha, part_tokens: maxTokens,
    parts: parts.map((p) => p.folder), tokens: parts.map((p) => p.tokens), created: new Date().toISOString(), metrics,
  }, null, 2) + '\n');
  target.commit(stage);
  // Written: what waited in the cache for this --out (this run's and any other settings') is no longer needed.
  const prefix = `${basename(base)}.parts-`, parent = dirname(waiting);
  if (existsSync(parent)) for (const name of readdirSync(parent)) if (name.startsWith(prefix)) rmSync(join(parent, name), { recursive: true, force: true });
  return { parts: parts.map(({ kept: _, ...p }) => p), metrics };
}
