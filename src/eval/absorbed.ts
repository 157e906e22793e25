// What an absorb can measure about its own adapter before it is published (`lift absorb --evaluate`, and
// `"evaluate": true` on POST /v1/documents):
//   qa_recall — of the absorb's own QAs (the first MAX_EVAL_QAS), the fraction whose `lift ask` answer (adapter +
//     middle-truncated context, greedy, at most EVAL_ANSWER_TOKENS tokens) contains the expected answer, compared
//     normalised (case, punctuation, spacing; whole words). These are the QAs the adapter was TRAINED on: it is
//     recall of trained questions, an upper bound on what other questions get — not a held-out accuracy.
//   heldout_nll_before / heldout_nll_after / heldout_rise — mean next-token NLL (nats/token) of a text that is not
//     the document, without and with the adapter, and after/before − 1 (the recall bench's "held-out rise": what
//     absorbing cost the model elsewhere). The text is the caller's, else the TinyStories validation stories that
//     ship in the npm package's assets/ (scripts/prepack.mjs); with neither, the held-out figures are omitted and
//     `heldout_source` says why.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadedModel } from '../model/load.js';
import type { AdapterHooks } from '../model/llama.js';
import { meanNll } from '../model/perplexity.js';
import { normalizeAnswer } from './recall.js';
import { readStories } from './datasets/planted.js';
import { packageAssetsDir } from '../io/assets.js';
import { ask } from '../lift/ask.js';
import type { AnswerStop } from '../lift/presets.js';
import type { QAPair } from '../lift/qa/types.js';

/** At most this many of the absorb's QAs are asked (the first ones, in the order document.json keeps them). */
export const MAX_EVAL_QAS = 16;
/** Longest answer generated per QA (answers are short spans; a blank line ends one earlier). */
export const EVAL_ANSWER_TOKENS = 32;
/** Held-out text: sequences of at most this many tokens (and the model's context), this many tokens in all. */
export const HELDOUT_SEQUENCE_TOKENS = 512;
export const HELDOUT_MAX_TOKENS = 4096;
/** The built-in held-out text: the first stories of the shipped TinyStories validation sample (the bench's held-out set). */
export const BUILTIN_HELDOUT = { file: join('data', 'tinystories-valid-sample', 'tinystories_val.txt'), stories: 16 };

export interface EvaluationInput {
  title: string;
  /** The document as absorbed (what `ask` puts in context). */
  document: string;
  contextBudget: number;
  qas: readonly QAPair[];
  answerStop?: AnswerStop;
  bos?: boolean;
  /** The caller's held-out text; null/undefined: the built-in one when it ships, else none. */
  heldoutText?: string | null;
}

export interface Evaluation {
  /** Fraction in [0, 1] of the asked QAs answered; null when the absorb made no QAs. */
  qa_recall: number | null;
  qa_asked: number;
  qa_answered: number;
  qa_recall_note: string;
  heldout_nll_before?: number;
  heldout_nll_after?: number;
  /** heldout_nll_after / heldout_nll_before − 1. */
  heldout_rise?: number;
  heldout_tokens?: number;
  /** "caller", "builtin: …", or why there are no held-out figures. */
  heldout_source: string;
}

/** Whether `prediction` contains `answer` as whole words, both normalised (normalizeAnswer: case, punctuation). */
export function containsAnswer(prediction: string, answer: string): boolean {
  const a = normalizeAnswer(answer);
  return a.length > 0 && ` ${normalizeAnswer(prediction)} `.includes(` ${a} `);
}

export async function evaluateAbsorbed(loaded: LoadedModel, adapter: AdapterHooks, o: EvaluationInput): Promise<Evaluation> {
  const asked = o.qas.slice(0, MAX_EVAL_QAS);
  let answered = 0;
  for (const qa of asked) {
    const prediction = await ask(loaded, adapter, qa.question, {
      title: o.title, document: o.document, contextBudget: o.contextBudget, context: 'truncate', maxTokens: EVAL_ANSWER_TOKENS, answerStop: o.answerStop, bos: o.bos,
    });
    if (containsAnswer(prediction, qa.answer)) answered++;
  }
  const out: Evaluation = {
    qa_recall: asked.length > 0 ? answered / asked.length : null,
    qa_asked: asked.length,
    qa_answered: answered,
    qa_recall_note: `recall of the absorb's own trained QAs (first ${MAX_EVAL_QAS}): ask with the adapter and truncated context, greedy; an answer counts when it contains the expected one (case and punctuation ignored)`,
    heldout_source: '',
  };
  const held = heldoutText(o);
  if (typeof held === 'object') {
    const seqs = heldoutSequences(loaded, held.texts);
    const before = meanNll(loaded.model, seqs), after = meanNll(loaded.model, seqs, { adapter });
    Object.assign(out, { heldout_nll_before: before.nll, heldout_nll_after: after.nll, heldout_rise: after.nll / before.nll - 1, heldout_tokens: before.tokens });
    out.heldout_source = held.source;
  } else out.heldout_source = held;
  return out;
}

/** The held-out texts and where they come from, or (a string) why there are none. */
function heldoutText(o: EvaluationInput): { texts: string[]; source: string } | string {
  if (o.heldoutText != null && o.heldoutText.trim().length > 0) return { texts: [o.heldoutText], source: 'caller' };
  const assets = packageAssetsDir();
  const file = assets === null ? null : join(assets, BUILTIN_HELDOUT.file);
  if (file === null || !existsSync(file)) return 'none: no held-out text was given and none ships with this installation (the npm package has one in assets/; pass heldout_text)';
  // Stories that are part of the document are not held out: leave them out.
  const stories = readStories(file).slice(0, BUILTIN_HELDOUT.stories).filter((s) => !o.document.includes(s.slice(0, 120)));
  if (stories.length === 0) return 'none: the built-in held-out stories are all in the document; pass heldout_text';
  return { texts: stories, source: `builtin: ${stories.length} TinyStories validation stories (assets/${BUILTIN_HELDOUT.file.replace(/\\/g, '/')})` };
}

/** Each text as token sequences of at most HELDOUT_SEQUENCE_TOKENS (and the context), HELDOUT_MAX_TOKENS in all. */
export function heldoutSequences(loaded: LoadedModel, texts: readonly string[]): number[][] {
  const len = Math.min(HELDOUT_SEQUENCE_TOKENS, loaded.model.config.max_position_embeddings);
  const seqs: number[][] = [];
  let total = 0;
  for (const t of texts) {
    const ids = loaded.tokenizer.encode(t, { bos: loaded.addBos });
    for (let i = 0; i < ids.length && total < HELDOUT_MAX_TOKENS; i += len) {
      const s = ids.slice(i, Math.min(i + len, i + HELDOUT_MAX_TOKENS - total));
      if (s.length < 2) break;
      seqs.push(s);
      total += s.length;
    }
  }
  return seqs;
}
