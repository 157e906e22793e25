// Mean next-token negative log-likelihood of a model over token sequences (perplexity = exp(nll)): each
// sequence gets one full forward, every position predicts the next id, and the per-token NLLs of all
// sequences are averaged together (a token-weighted mean, not a mean of per-sequence means).
import { crossEntropy, tidy } from '../engine/index.js';
import type { AdapterHooks, LlamaModel } from './llama.js';

export interface NllResult {
  /** Mean NLL in nats per predicted token. */
  nll: number;
  /** Predicted tokens (Σ (length − 1) over the sequences). */
  tokens: number;
}

/** With a router (AdapterHooks.forPrompt) each sequence runs through the adapter it chooses for the whole sequence. */
export function meanNll(model: LlamaModel, sequences: number[][], opts: { adapter?: AdapterHooks | null } = {}): NllResult {
  const ctx = model.config.max_position_embeddings;
  let sum = 0; // summed in double: tens of thousands of float32 terms
  let tokens = 0;
  for (const seq of sequences) {
    if (seq.length < 2) continue; // nothing to predict
    if (seq.length > ctx) throw new Error(`meanNll: a sequence of ${seq.length} tokens exceeds the model's context of ${ctx}; cut it first`);
    const adapter = opts.adapter?.forPrompt ? opts.adapter.forPrompt(seq) : opts.adapter ?? null;
    const nll = tidy(() => {
      const logits = model.forward(Int32Array.from(seq.slice(0, -1)), { adapter });
      return crossEntropy(logits, Int32Array.from(seq.slice(1)), { perToken: true }).nll!;
    });
    for (const v of nll) sum += v;
    tokens += nll.length;
  }
  return { nll: tokens > 0 ? sum / tokens : NaN, tokens };
}
