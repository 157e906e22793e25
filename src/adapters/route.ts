// Several adapters, one model, one adapter per request: an AdapterRouter holds adapters trained separately on the
// same base (several documents, or the parts of one long document: lift/parts.ts) and, for each prompt, applies
// the one under which the prompt's own tokens are most likely — the mean next-token NLL of prompt[from…] given
// what precedes it, one forward pass per adapter over the prompt (≤ the context budget). The choice reads the
// model and the adapters only, not the documents' text: an adapter that absorbed "Lily's dog was called
// Biscuit." predicts "Lily's dog was called" better than one that never saw Lily.
//
// Why not the sum (combine.ts): LoRA deltas add up soundly, but each adapter moves the same continuations toward
// its own document, and their sum toward neither (docs/recall.md, "Several adapters": two adapters recalled
// 3/4 each alone and 1/4 and 0/4 summed). A router keeps each adapter as it was trained, at the price of one
// scoring pass per adapter per request, and it routes Gated Memory adapters too (which never add up).
//
// A router is not applied by forward() itself (it refuses one): generateText and ask resolve it first
// (AdapterHooks.forPrompt), so a whole generation runs through one adapter and its KV cache stays consistent.
import { crossEntropy, tidy } from '../engine/index.js';
import type { AdapterHooks, LlamaModel } from '../model/llama.js';

/** An adapter a router can hold: hooks it applies and its memory to free. */
export type RoutablePart = AdapterHooks & { dispose(): void };

export interface RouteChoice {
  /** Index of the chosen part. */
  index: number;
  /** Mean NLL (nats per token) of the scored tokens under each part; [] when there was nothing to score. */
  nlls: number[];
}

export class AdapterRouter implements AdapterHooks {
  readonly kind = 'router';
  readonly names: readonly string[];

  /**
   * Per part, the text it absorbed, when answering should put the chosen part's own text in context (the parts of
   * one document: each adapter was trained with contexts from its part, lift/parts.ts); undefined: the caller's.
   */
  readonly contexts: readonly string[] | undefined;

  /** `parts` trained on `model`'s base; `names[i]` labels parts[i] in messages (default "part i+1"). */
  constructor(readonly model: LlamaModel, readonly parts: readonly RoutablePart[], names?: readonly string[], contexts?: readonly string[]) {
    if (parts.length === 0) throw new Error('AdapterRouter: no adapters to route between');
    if (parts.some((p) => p instanceof AdapterRouter)) throw new Error('AdapterRouter: a router cannot hold another router');
    if (names && names.length !== parts.length) throw new Error(`AdapterRouter: ${names.length} names for ${parts.length} adapters`);
    if (contexts && contexts.length !== parts.length) throw new Error(`AdapterRouter: ${contexts.length} contexts for ${parts.length} adapters`);
    this.names = names ?? parts.map((_, i) => `part ${i + 1}`);
    this.contexts = contexts;
  }

  /**
   * Which part fits a prompt: the lowest mean NLL of ids[from…] (each token given all before it), the first on
   * ties. `from` defaults to 1 (every token after the first); it is clamped so that ≥ 1 token is scored. A
   * one-token prompt has nothing to score: part 0.
   */
  choose(ids: readonly number[], from = 1): RouteChoice {
    if (ids.length < 2 || this.parts.length === 1) return { index: 0, nlls: [] };
    const start = Math.min(Math.max(1, Math.floor(from)), ids.length - 1);
    const input = Int32Array.from(ids.slice(0, -1));
    // Row t of the logits predicts ids[t + 1]: the scored rows are start − 1 … T − 2 (logits of those rows only).
    const rows = Int32Array.from({ length: ids.length - start }, (_, i) => start - 1 + i);
    const targets = Int32Array.from(rows, (t) => ids[t + 1]);
    const nlls = this.parts.map((part) => tidy(() => crossEntropy(this.model.forward(input, { adapter: part, rows }), targets).loss.item()));
    // A part whose NLL is not finite (an adapter that overflows on this prompt) is never preferred.
    const score = (i: number) => (Number.isFinite(nlls[i]) ? nlls[i] : Infinity);
    let index = 0;
    for (let i = 1; i < nlls.length; i++) if (score(i) < score(index)) index = i;
    return { index, nlls };
  }

  /** AdapterHooks.forPrompt: the chosen part itself. */
  forPrompt(ids: readonly number[], from?: number): AdapterHooks {
    return this.parts[this.choose(ids, from).index];
  }

  dispose(): void {
    for (const p of this.parts) p.dispose();
  }
}
