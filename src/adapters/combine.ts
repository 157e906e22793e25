// Several adapters, one model: `--adapter a.lift,b.lift` applies adapters trained separately on the same base.
// LoRA composes soundly: each adapter adds its delta (α/r)·B·A·x to a linear layer's output, so applying them
// in turn gives y + Σ_i ΔW_i·x — the sum of the deltas, the same as merging each into W (order does not matter,
// up to float rounding). Gated Memory has no such meaning: each memory is a gated MLP that *replaces* part of
// every head's attention output (o = (1 − g)·attn + g·mem, docs/method.md §4), trained against the base attention it
// mixes with. Two memories would each take their share of an output that the other has already replaced, so
// neither sees what it was trained on and the result depends on the order; combining is refused, with that
// reason, instead of returning an adapter that silently means something else.
import type { AdapterHooks, LowRankTerm, ProjName } from '../model/llama.js';
import type { Tensor } from '../engine/index.js';
import type { Adapter } from './files.js';
import type { LoraAdapter } from './lora.js';

/** Why adapters cannot be combined (null when they can): every one must be LoRA. `names[i]` labels adapters[i]. */
export function combineRefusal(adapters: readonly Adapter[], names: readonly string[]): string | null {
  const gm = adapters.map((a, i) => (a.kind === 'lora' ? null : names[i])).filter((n): n is string => n !== null);
  if (gm.length === 0) return null;
  return `cannot combine ${gm.join(', ')}: Gated Memory adapters do not add up — each memory replaces a gated share of every head's attention output, trained against the base attention alone, so two memories would each overwrite what the other learned (and the result would depend on their order). Combine LoRA adapters, or absorb the documents into one adapter: lift absorb a.txt b.txt --out corpus.lift`;
}

/** LoRA adapters applied together: every linear layer's output gets the sum of their deltas. */
export class CombinedLora implements AdapterHooks {
  readonly kind = 'lora-sum';
  constructor(readonly parts: readonly LoraAdapter[]) {
    if (parts.length === 0) throw new Error('CombinedLora: no adapters to combine');
  }

  project(layer: number, name: ProjName, x: Tensor, y: Tensor): Tensor {
    // Each part returns y + its delta (or y where it does not adapt this layer): the deltas accumulate.
    let out = y;
    for (const p of this.parts) out = p.project(layer, name, x, out);
    return out;
  }

  /** The parts' terms in part order (per module, the order project adds them). */
  lowRank(): LowRankTerm[] {
    return this.parts.flatMap((p) => p.lowRank());
  }

  dispose(): void {
    for (const p of this.parts) p.dispose();
  }
}

/**
 * One adapter from several (loaded onto the same base): the adapter itself when there is one, their LoRA sum
 * when all are LoRA; otherwise an Error naming the Gated Memory ones and why (combineRefusal).
 */
export function combineAdapters(adapters: readonly Adapter[], names: readonly string[]): AdapterHooks & { dispose(): void } {
  if (adapters.length === 1) return adapters[0];
  const why = combineRefusal(adapters, names);
  if (why) throw new Error(why);
  return new CombinedLora(adapters as LoraAdapter[]);
}

/** `a.lift,b.lift` → ['a.lift', 'b.lift'] (empty entries refused: `a.lift,` is a typo, not a second adapter). */
export function adapterList(spec: string): string[] {
  const dirs = spec.split(',').map((s) => s.trim());
  if (dirs.some((d) => d.length === 0)) throw new Error(`--adapter: expected adapter folders separated by commas, got ${JSON.stringify(spec)}`);
  return dirs;
}
