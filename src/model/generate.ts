// Autoregressive generation with a KV cache, following llama2.c run.c's loop so llama2.c models print
// exactly what run.c prints: the prompt is prefilled in one forward, then each step feeds the current token,
// samples the next (sampling.ts), stops when the model samples BOS (run.c: "BOS delimits sequences") or an
// end-of-sequence id, and emits the piece of the next token as the tokenizer's streaming decoder prints it
// (which strips the leading space of a piece following BOS, as run.c's decode does).
//
// Differences from run.c, all opt-in or outside its reach: EOS ids also stop (run.c never checks EOS; its
// models do not sample it in the reference outputs), stop strings, a token budget (maxTokens) besides run.c's
// `steps`, and cancellation. The prompt itself is not emitted (run.c prints it; `lift generate` does not).
//
// Cancellation: when `signal` aborts, generation ENDS CLEANLY (no exception): the tokens produced so far stay
// emitted and generateText returns the partial text; check `signal.aborted` to tell the cases apart. The loop
// yields to the event loop (setImmediate) before every forward, so timers and SIGINT handlers can abort it.
import { tidy } from '../engine/index.js';
import type { Tokenizer } from '../text/tokenizer.js';
import type { AdapterHooks, LlamaModel } from './llama.js';
import { KVCache } from './kv-cache.js';
import { Sampler } from './sampling.js';

export interface GenerateOptions {
  /** Most tokens to generate (default 256 when neither this nor `steps` is given). */
  maxTokens?: number;
  /** run.c semantics: total positions including the prompt; clamped to the context length, as run.c does.
   *  A prompt of P tokens then generates at most steps − P + 1 tokens (the last one is sampled, not fed). */
  steps?: number;
  /** 0 = greedy. Default 1.0 (run.c). */
  temperature?: number;
  /** Default 0.9 (run.c); ≤ 0 or ≥ 1 disables top-p. */
  topP?: number;
  /** Default 0 (off). */
  topK?: number;
  /** RNG seed; default the time in seconds (run.c). */
  seed?: number | bigint;
  /** Generation ends before the first occurrence of any of these; the stop string itself is not emitted. */
  stop?: string[];
  /** Ids that end generation (default tokenizer.eosIds). The tokenizer's BOS always ends it, as in run.c. */
  eosIds?: number[];
  /** The adapter; a router (AdapterHooks.forPrompt) picks one for the prompt before the first token. */
  adapter?: AdapterHooks | null;
  /** With a router: the prompt's tokens from this index on are what it routes by (default 1: the whole prompt). */
  routeFrom?: number;
  /** Aborting ends generation cleanly (see the file comment). */
  signal?: AbortSignal;
  /** Called for every emitted chunk, before it is yielded. */
  onToken?: (text: string, id: number) => void;
}

/** One generated token and the text it releases. With stop strings, text that could begin a stop string is
 *  held back and released with a later token; text left at the end comes out as a final chunk with id −1. */
export interface GeneratedToken {
  id: number;
  text: string;
}

/** Tokens and text generated after `promptIds` ([] = just BOS, like run.c's empty prompt). */
export async function* generate(model: LlamaModel, tokenizer: Tokenizer, promptIds: number[], opts: GenerateOptions = {}): AsyncGenerator<GeneratedToken> {
  const prompt = promptIds.length > 0 ? promptIds : tokenizer.bosId !== null ? [tokenizer.bosId] : [];
  if (prompt.length === 0) throw new Error('generate: an empty prompt needs a tokenizer with a BOS token to start from');
  const ctx = model.config.max_position_embeddings;
  if (prompt.length > ctx) throw new Error(`generate: the prompt has ${prompt.length} tokens; the model's context is ${ctx}`);
  const budget = tokenBudget(prompt.length, ctx, opts);
  if (budget <= 0 || opts.signal?.aborted) return;

  const sampler = new Sampler({ temperature: opts.temperature, topP: opts.topP, topK: opts.topK, seed: opts.seed });
  const stopIds = new Set(opts.eosIds ?? tokenizer.eosIds);
  if (tokenizer.bosId !== null) stopIds.add(tokenizer.bosId);
  const stops = (opts.stop ?? []).filter((s) => s.length > 0);
  const decoder = tokenizer.createDecoder();
  for (const id of prompt) decoder.push(id); // primes the after-BOS space rule; the prompt is not emitted
  const adapter = opts.adapter?.forPrompt ? opts.adapter.forPrompt(prompt, opts.routeFrom) : opts.adapter ?? null;

  // The last sampled token is never fed back, so the cache needs prompt + budget − 1 rows.
  const cache = new KVCache(model.config, prompt.length + budget - 1);
  let pending = ''; // decoded text not yet emitted (it might begin a stop string)
  const emit = (id: number, text: string): GeneratedToken => {
    opts.onToken?.(text, id);
    return { id, text };
  };
  try {
    let logits = tidy(() => model.forward(Int32Array.from(prompt), { cache, adapter, lastOnly: true }).toArray());
    for (let n = 0; n < budget; n++) {
      finiteOr(logits, n, adapter !== null);
      const next = sampler.sample(logits);
      if (stopIds.has(next)) break;
      pending += decoder.push(next);
      const last = n === budget - 1;
      if (last) pending += decoder.flush();
      const cut = stops.length > 0 ? findStop(pending, stops) : null;
      if (cut !== null && cut.at >= 0) {
        const text = pending.slice(0, cut.at);
        pending = '';
        if (text.length > 0) yield emit(next, text);
        return;
      }
      const keep = last || cut === null ? 0 : cut.hold;
      const text = pending.slice(0, pending.length - keep);
      pending = pending.slice(pending.length - keep);
      yield emit(next, text);
      if (last) return;
      // Let timers, I/O and signal handlers run: a for-await loop otherwise only drains microtasks.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (opts.signal?.aborted) break;
      logits = tidy(() => model.forward(Int32Array.of(next), { cache, adapter, lastOnly: true }).toArray());
    }
    // Ended by EOS/BOS or abort: release what was held back.
    pending += decoder.flush();
    if (pending.length > 0) yield emit(-1, pending);
  } finally {
    cache.dispose();
  }
}

/** Thrown when the model's output holds NaN or ±Inf: sampling from it would print garbage as if it were text. */
export class NonFiniteOutputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NonFiniteOutputError';
  }
}

function finiteOr(logits: Float32Array, step: number, withAdapter: boolean): void {
  for (let i = 0; i < logits.length; i++)
    if (!Number.isFinite(logits[i]))
      throw new NonFiniteOutputError(`the model's logits at generated token ${step} are not finite (token ${i}: ${logits[i]})` +
        (withAdapter ? '; the adapter or the base weights hold values that overflow — the adapter cannot be used with this model' : '; the base weights hold values that overflow'));
}

/** All the generated text as one string. */
export async function generateText(model: LlamaModel, tokenizer: Tokenizer, promptIds: number[], opts: GenerateOptions = {}): Promise<string> {
  let s = '';
  for await (const t of generate(model, tokenizer, promptIds, opts)) s += t.text;
  return s;
}

/** How many tokens may be generated: maxTokens, run.c's steps and the context length, whichever is least. */
export function tokenBudget(promptLen: number, ctx: number, opts: Pick<GenerateOptions, 'maxTokens' | 'steps'>): number {
  for (const k of ['maxTokens', 'steps'] as const) {
    const v = opts[k];
    if (v !== undefined && (!Number.isInteger(v) || v < 0)) throw new RangeError(`generate: ${k} must be an integer ≥ 0, got ${v}`);
  }
  let budget = ctx - promptLen + 1; // positions 0..ctx−1 can be fed; the token sampled at the last is emitted
  if (opts.steps !== undefined) {
    const steps = opts.steps === 0 || opts.steps > ctx ? ctx : opts.steps; // run.c: 0 or too many = seq_len
    budget = Math.min(budget, steps - promptLen + 1);
  }
  if (opts.maxTokens !== undefined) budget = Math.min(budget, opts.maxTokens);
  else if (opts.steps === undefined) budget = Math.min(budget, 256);
  return Math.max(0, budget);
}

/** The earliest complete stop string in `text` (at ≥ 0), else how many trailing chars could start one
 *  (at = −1, hold = that count). */
function findStop(text: string, stops: string[]): { at: number; hold: number } {
  let at = -1;
  for (const s of stops) {
    const i = text.indexOf(s);
    if (i >= 0 && (at < 0 || i < at)) at = i;
  }
  if (at >= 0) return { at, hold: 0 };
  let hold = 0;
  for (const s of stops)
    for (let k = Math.min(s.length - 1, text.length); k > hold; k--)
      if (text.endsWith(s.slice(0, k))) { hold = k; break; }
  return { at: -1, hold };
}
