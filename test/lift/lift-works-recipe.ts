// The end-to-end "LIFT works" check's fixture and recipe, shared by test/lift/lift-works.test.ts and the
// measurement behind its thresholds (run this file directly: `node --import tsx test/lift/lift-works-recipe.ts 1,2,3`).
// Document: TinyStories (from story 100 on, disjoint from the held-out stories 0–19) of ≥ 384 tokens (687 with whole stories) with 4
// planted facts between 25 % and 75 % (src/eval/datasets/planted.ts), so a 128-token middle-truncated
// context never holds them. Recipe: LoRA r32, stride 4, 2 + 4 epochs, 6 builtin QAs, KL guard on 16 short
// self-written texts — the demo's recipe on a 5× budget document (136 steps, ~25 s of CPU).
import { readStories, plantedDocument, type PlantedDocument } from '../../src/eval/datasets/planted.js';
import { recall, type RecallResult } from '../../src/eval/recall.js';
import { meanNll } from '../../src/model/perplexity.js';
import { absorb, type AbsorbOptions, type AbsorbResult } from '../../src/lift/absorb.js';
import { BuiltinQAGenerator } from '../../src/lift/qa/builtin.js';
import { loadModelFromPath, type LoadedModel } from '../../src/model/load.js';
import { native } from '../../src/engine/index.js';
import { sharedPath } from '../helpers/shared.js';

export const BUDGET = 128;
export const MODEL = ['models', 'stories260K', 'stories260K.bin'];
export const DATA = ['data', 'tinystories-valid-sample', 'tinystories_val.txt'];

export function recipe(seed: number): AbsorbOptions {
  return {
    adapter: 'lora', lora: { r: 32, lora_alpha: 64 }, lr: 1e-3, contextBudget: BUDGET, lengths: { stride: 4 },
    epochs: [2, 4], batchSize: 8, qa: 6, qaGenerator: new BuiltinQAGenerator(),
    guard: 'kl', guardSamples: 16, guardPerStep: 2, seed,
  };
}

export interface LiftWorks {
  doc: PlantedDocument;
  documentTokens: number;
  before: RecallResult;
  after: RecallResult;
  heldoutBefore: number;
  heldoutAfter: number;
  absorbed: AbsorbResult;
  seconds: number;
}

export function loadStories(): LoadedModel {
  native.setThreads(1); // a 260K-parameter model: one thread is fastest, and the test is deterministic with it
  return loadModelFromPath(sharedPath(...MODEL));
}

/** Absorbs the planted document with recipe(seed); recall before/after and held-out NLL before/after. */
export async function liftWorks(loaded: LoadedModel, seed: number): Promise<LiftWorks> {
  const tok = loaded.tokenizer;
  const stories = readStories(sharedPath(...DATA));
  const doc = plantedDocument(stories, { minTokens: 3 * BUDGET, countTokens: (s) => tok.encode(s, { bos: false }).length, nFacts: 4, skip: 100 });
  // Held-out: 20 stories the document does not contain, each cut at 256 tokens ([BOS] + text).
  const heldout = stories.slice(0, 20).map((s) => tok.encode(s, { bos: true }).slice(0, 256));
  const heldoutBefore = meanNll(loaded.model, heldout).nll;
  const before = await recall(loaded, null, doc.text, doc.facts, BUDGET);
  const t0 = performance.now();
  const absorbed = await absorb(loaded, { title: doc.title, text: doc.text }, recipe(seed));
  const seconds = (performance.now() - t0) / 1000;
  const after = await recall(loaded, absorbed.adapter, doc.text, doc.facts, BUDGET);
  const heldoutAfter = meanNll(loaded.model, heldout, { adapter: absorbed.adapter }).nll;
  return { doc, documentTokens: tok.encode(doc.text, { bos: false }).length, before, after, heldoutBefore, heldoutAfter, absorbed, seconds };
}

// Measurement: one line per seed.
if (process.argv[1]?.endsWith('lift-works-recipe.ts')) {
  const loaded = loadStories();
  for (const seed of (process.argv[2] ?? '1,2,3').split(',').map(Number)) {
    const r = await liftWorks(loaded, seed);
    console.log(JSON.stringify({ seed, tokens: r.documentTokens, steps: r.absorbed.train.steps, recall_before: r.before.accuracy, recall_after: r.after.accuracy, answer_nll: [r.before.answerNll, r.after.answerNll], heldout: [r.heldoutBefore, r.heldoutAfter], rise: r.heldoutAfter / r.heldoutBefore - 1, seconds: r.seconds, preds: r.after.items.map((i) => i.prediction.trim().split(/\s+/)[0]) }));
    r.absorbed.adapter.dispose();
  }
}
