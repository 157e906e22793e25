// Recall of planted facts (the recall benchmark and the demo): each probe is the document middle-truncated to
// the context budget — which cuts the planted facts away — followed by the fact's prompt ("Lily's dog was
// called"); a probe is answered when the greedy continuation starts with the answer (startsWithAnswer). Run with and
// without the adapter on the same prompts. Recall is all-or-nothing per fact; the answer's NLL under the probe
// (nats per answer token) is the graded measure, so adapters that move toward a fact without reaching the
// argmax can still be told apart.
import type { LoadedModel } from '../model/load.js';
import type { AdapterHooks } from '../model/llama.js';
import { generateText } from '../model/generate.js';
import { crossEntropy, tidy, IGNORE_INDEX } from '../engine/index.js';
import { middleTruncate } from '../lift/truncate.js';
import { encodeAfter } from '../lift/tokens.js';
import type { PlantedFact } from './datasets/planted.js';

export interface RecallItem {
  prompt: string;
  answer: string;
  prediction: string;
  correct: boolean;
  /** Mean NLL (nats) of the answer's tokens (" Biscuit") after the probe. */
  answerNll: number;
}

/** Token ids of one probe: [BOS] + middle-truncated document + "\n\n" + fact prompt, within `budget` tokens. */
export function recallPrompt(loaded: LoadedModel, document: string, fact: PlantedFact, budget: number): number[] {
  const tok = loaded.tokenizer;
  const bos = loaded.addBos && tok.bosId !== null ? [tok.bosId] : [];
  const tail = encodeAfter(tok, `\n\n${fact.prompt}`); // probeTailLength tokens
  const doc = encodeAfter(tok, document);
  const room = budget - bos.length - tail.length - 8; // 8 tokens left for the answer
  return [...bos, ...middleTruncate(doc, room, encodeAfter(tok, '...')), ...tail];
}

/** Tokens at the end of a probe that are the fact's prompt ("\n\nLily's dog was called"): what a router scores. */
export function probeTailLength(loaded: LoadedModel, fact: PlantedFact): number {
  return encodeAfter(loaded.tokenizer, `\n\n${fact.prompt}`).length;
}

/**
 * The in-context probe: [BOS] + the document up to and including the fact's sentence (cut from the left to fit
 * `budget`) + "\n\n" + the fact prompt. What the base model does here is the ceiling of reading the fact
 * with attention — what Gated Memory's memory learns to stand in for (LIFT.md §4).
 */
export function inContextPrompt(loaded: LoadedModel, document: string, fact: PlantedFact, budget: number): number[] {
  const tok = loaded.tokenizer;
  const bos = loaded.addBos && tok.bosId !== null ? [tok.bosId] : [];
  const at = document.indexOf(fact.sentence);
  if (at < 0) throw new Error(`inContextPrompt: the fact sentence ${JSON.stringify(fact.sentence)} is not in the document`);
  const tail = encodeAfter(tok, `\n\n${fact.prompt}`);
  const before = encodeAfter(tok, document.slice(0, at + fact.sentence.length));
  const room = Math.max(0, budget - bos.length - tail.length - 8);
  return [...bos, ...before.slice(Math.max(0, before.length - room)), ...tail];
}

/** Tokens of " answer" as they follow the probe: the probe's tail re-tokenized with the answer, when the probe's
 *  tokens stay a prefix (they do for SentencePiece and byte-level BPE at a space); else the answer alone. */
export function answerTokens(loaded: LoadedModel, fact: PlantedFact): number[] {
  const tok = loaded.tokenizer;
  const cont = continuationOf(fact);
  const tail = encodeAfter(tok, `\n\n${fact.prompt}`);
  const both = encodeAfter(tok, `\n\n${fact.prompt}${cont}`);
  const prefix = both.length > tail.length && tail.every((id, i) => both[i] === id);
  return prefix ? both.slice(tail.length) : encodeAfter(tok, cont);
}

/** What follows a fact's prompt up to the answer's end: " Biscuit", or the fact's own (' "Hop to the moon'). */
export const continuationOf = (f: PlantedFact): string => f.continuation ?? ` ${f.answer}`;

/** Lower case, letters/digits/spaces only, spaces collapsed: how answers and predictions are compared. */
export function normalizeAnswer(s: string): string {
  return s.toLowerCase().replace(/[^\p{L}\p{N}\s]/gu, ' ').replace(/\s+/g, ' ').trim();
}

/** A continuation recalls the answer when it starts with it, ignoring case, punctuation and quotes. */
export function startsWithAnswer(prediction: string, answer: string): boolean {
  const p = normalizeAnswer(prediction), a = normalizeAnswer(answer);
  return a.length > 0 && (p === a || p.startsWith(`${a} `) || (p.startsWith(a) && !/[\p{L}\p{N}]/u.test(a.at(-1)!)));
}

/** Mean NLL (nats per token) of the answer's tokens after `prompt`: one forward pass, teacher-forced. */
export function answerNll(loaded: LoadedModel, adapter: AdapterHooks | null, prompt: number[], answer: number[]): number {
  const ids = [...prompt, ...answer];
  // targets[t] = ids[t + 1] on the answer's positions, ignored elsewhere.
  const targets = Int32Array.from(ids.slice(0, -1).map((_, t) => (t + 1 >= prompt.length ? ids[t + 1] : IGNORE_INDEX)));
  return tidy(() => {
    const r = crossEntropy(loaded.model.forward(Int32Array.from(ids.slice(0, -1)), { adapter }), targets);
    return r.loss.item();
  });
}

export interface RecallResult {
  accuracy: number;
  /** Mean over facts of RecallItem.answerNll. */
  answerNll: number;
  items: RecallItem[];
}

/**
 * Greedy recall of each fact. `probe: 'truncated'` (default) is the benchmark's probe (the fact cut away);
 * 'in-context' puts the fact's sentence right before the prompt (inContextPrompt).
 */
export async function recall(loaded: LoadedModel, adapter: AdapterHooks | null, document: string, facts: PlantedFact[], budget: number, probe: 'truncated' | 'in-context' = 'truncated'): Promise<RecallResult> {
  const items: RecallItem[] = [];
  for (const f of facts) {
    const prompt = (probe === 'truncated' ? recallPrompt : inContextPrompt)(loaded, document, f, budget);
    const ans = answerTokens(loaded, f);
    // A router (several adapters) chooses by the fact's prompt, not the document context; the NLL uses its choice.
    const chosen = adapter?.forPrompt ? adapter.forPrompt(prompt, prompt.length - probeTailLength(loaded, f)) : adapter;
    // Room for the whole answer (a quote is several words) and one token after it, at least 6 as before.
    const prediction = await generateText(loaded.model, loaded.tokenizer, prompt, { temperature: 0, maxTokens: Math.max(6, ans.length + 1), adapter: chosen });
    const nll = answerNll(loaded, chosen, prompt, ans);
    items.push({ prompt: f.prompt, answer: f.answer, prediction, correct: startsWithAnswer(prediction, f.answer), answerNll: nll });
  }
  const n = Math.max(1, items.length);
  return { accuracy: items.filter((i) => i.correct).length / n, answerNll: items.reduce((a, i) => a + i.answerNll, 0) / n, items };
}
