// Recipe presets: one object per recipe naming every choice where our defaults and the authors' released code
// (GraphPKU/LIFT, transformers 4.47.1) differ, so a run can reproduce either and its manifest says which.
//   'paper'  the authors' code, difference by difference (docs/fidelity.md has the table and the sources)
//   'ours'   this project's defaults (what absorb/ask/eval do with no preset); where they differ from the paper
//            docs/fidelity.md says why
// A preset only fills what the caller did not set: explicit options and CLI flags always win (the CLI asks
// commander which flags came from the command line). presetAbsorbOptions / presetAskOptions turn a preset into
// the options of absorb() and ask(); presetRecord is what the manifest records.
import type { LossAverage } from './trainer.js';

/** How an answer ends: at the first blank line, trimmed (ours), or the raw greedy output up to EOS (the paper). */
export type AnswerStop = 'blank-line' | 'eos';

/** How a generated QA is accepted (src/lift/qa/prompt.ts). */
export type QAAcceptance =
  /** Ours: every evidence line (list markers and quotes stripped) is in the window after whitespace
   *  normalisation; a failed attempt draws a new window. */
  | 'lenient'
  /** The authors': the whole evidence text, as generated, is an exact substring of the window; a retry asks
   *  again about the same window. */
  | 'exact';

export interface Recipe {
  name: string;
  /** Tokens seen at answer time B, every length derived from it (budget.ts); 'model' = min(window, 2048). */
  contextBudget: number | 'model';
  /** Per-token losses averaged over samples or over the batch's tokens (trainer.ts). */
  lossAverage: LossAverage;
  /** Auxiliary QAs per document and who writes them ('builtin' cloze, 'self' = the base model). */
  qa: number;
  qaGenerator: 'builtin' | 'self';
  /** Longest QA-synthesis reply in tokens ('self'). */
  qaMaxTokens: number;
  qaAcceptance: QAAcceptance;
  /** BOS before training samples and answer prompts: the model's convention, or never. */
  bos: 'model' | 'never';
  /** Gated Memory's gate output map V gets a bias on models with attention biases (gated-memory.ts). */
  gateOutBias: boolean;
  answerStop: AnswerStop;
  /** Longest answer in tokens. */
  answerMaxTokens: number;
  epochs: [number, number];
  lr: number;
  batchSize: number | 'full';
  warmupSteps: number;
  /** One warm-up per run (ours) or transformers' warm-up restarted per stage, from lr 0 (trainer.ts). */
  warmupScope: 'run' | 'stage';
}

/** The authors' code (GraphPKU/LIFT): shells/LooGLE_main/Llama-LIFT-*.sh, lift/*.py, scripts/test_loogle_*.py. */
export const PAPER_DEFAULTS = {
  name: 'paper',
  contextBudget: 8192,
  lossAverage: 'tokens',
  qa: 10,
  qaGenerator: 'self',
  qaMaxTokens: 1024,
  qaAcceptance: 'exact',
  bos: 'never',
  gateOutBias: false,
  answerStop: 'eos',
  answerMaxTokens: 200,
  epochs: [3, 5] as [number, number],
  lr: 1e-3,
  batchSize: 'full' as const,
  warmupSteps: 0,
  warmupScope: 'stage',
} satisfies Recipe;

/** This project's defaults, the same values absorb(), ask() and the CLI use when no preset is named. */
export const OURS_DEFAULTS: Recipe = {
  name: 'ours',
  contextBudget: 'model',
  lossAverage: 'samples',
  qa: 10,
  qaGenerator: 'builtin',
  qaMaxTokens: 200,
  qaAcceptance: 'lenient',
  bos: 'model',
  gateOutBias: true,
  answerStop: 'blank-line',
  answerMaxTokens: 200,
  epochs: [3, 5],
  lr: 1e-3,
  batchSize: 'full',
  warmupSteps: 0,
  warmupScope: 'run',
};

export const PRESETS: Readonly<Record<string, Recipe>> = { paper: PAPER_DEFAULTS, ours: OURS_DEFAULTS };
export const PRESET_NAMES = Object.keys(PRESETS);

export function presetByName(name: string): Recipe {
  const p = PRESETS[name];
  if (!p) throw new Error(`unknown preset '${name}': expected one of ${PRESET_NAMES.join(', ')}`);
  return p;
}

/**
 * The context budget a preset gives on a model whose window is `window` tokens: the preset's own, capped to
 * the window (an answer prompt beyond it could not be read), with `capped` saying whether it was.
 */
export function presetBudget(r: Recipe, window: number): { budget: number; capped: boolean } {
  if (r.contextBudget === 'model') return { budget: Math.min(window, 2048), capped: false };
  return { budget: Math.min(r.contextBudget, window), capped: r.contextBudget > window };
}

/** BOS on or off for a model whose convention is `modelAddsBos`. */
export const presetBos = (r: Recipe, modelAddsBos: boolean): boolean => (r.bos === 'never' ? false : modelAddsBos);

/**
 * The absorb() options a preset sets (the QA generator is built by the caller from qaGenerator / qaMaxTokens /
 * qaAcceptance, since it needs the loaded model).
 */
export function presetAbsorbOptions(r: Recipe, model: { window: number; addBos: boolean }) {
  return {
    contextBudget: presetBudget(r, model.window).budget,
    lossAverage: r.lossAverage,
    qa: r.qa,
    bos: presetBos(r, model.addBos),
    gatedMemory: { gateOutBias: r.gateOutBias },
    epochs: [...r.epochs] as [number, number],
    lr: r.lr,
    batchSize: r.batchSize,
    warmupSteps: r.warmupSteps,
    warmupScope: r.warmupScope,
  };
}

/** The ask() options a preset sets: answer length, where it stops, BOS. */
export function presetAskOptions(r: Recipe, modelAddsBos: boolean): { maxTokens: number; answerStop: AnswerStop; bos: boolean } {
  return { maxTokens: r.answerMaxTokens, answerStop: r.answerStop, bos: presetBos(r, modelAddsBos) };
}

/** The preset's named choices as the manifest records them (snake_case, as the rest of the recipe). */
export function presetRecord(r: Recipe): Record<string, unknown> {
  return {
    name: r.name, context_budget: r.contextBudget, loss_average: r.lossAverage, qa: r.qa, qa_generator: r.qaGenerator,
    qa_max_tokens: r.qaMaxTokens, qa_acceptance: r.qaAcceptance, bos: r.bos, gate_out_bias: r.gateOutBias,
    answer_stop: r.answerStop, answer_max_tokens: r.answerMaxTokens, epochs: r.epochs, lr: r.lr, batch_size: r.batchSize,
    warmup_steps: r.warmupSteps, warmup_scope: r.warmupScope,
  };
}
