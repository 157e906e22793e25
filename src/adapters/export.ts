// Adapters that leave LIFT.ts.
//   exportGgufLora  llama.cpp's LoRA adapter GGUF, as convert_lora_to_gguf.py writes it: general.type "adapter",
//                   adapter.type "lora", adapter.lora.alpha, tensors blk.N.<name>.weight.lora_a [r, in] and
//                   .lora_b [out, r] (outermost first), q/k rows in the order llama.cpp's architecture uses.
//                   llama.cpp scales by alpha / r (r read from lora_b), as PEFT and we do.
//   mergedModel     the base with W + (α/r)·B·A in place of every adapted weight: a plain model that any writer
//                   (Hugging Face folder, GGUF) takes.
// Gated Memory has no counterpart in llama.cpp or transformers (it adds a gated MLP beside attention, not a
// weight delta): both refuse it, saying so.
import { writeGGUF, type GGUFMetadataEntry, type GGUFTensorInput } from '../io/gguf.js';
import { hfToGgufName } from '../io/names.js';
import { claimOutput, type OutputKind } from '../io/output.js';
import { readGGUF } from '../io/gguf.js';
import { LlamaModel } from '../model/llama.js';
import type { LoadedModel } from '../model/load.js';
import { LoraAdapter } from './lora.js';
import { ggufRopeLayout, loraBRows } from './layout.js';
import type { Adapter } from './files.js';

/** Thrown for an adapter kind that cannot be exported or merged. */
export class UnsupportedAdapterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedAdapterError';
  }
}

function asLora(adapter: Adapter, what: string): LoraAdapter {
  if (adapter instanceof LoraAdapter) return adapter;
  throw new UnsupportedAdapterError(`${what} takes a LoRA adapter; this one is Gated Memory, which adds a gated memory MLP beside ` +
    'attention rather than a change of existing weights, so llama.cpp, PEFT and a merged model cannot express it. ' +
    'Use it with lift (ask, chat, generate --adapter, serve), or absorb again with --adapter lora to export.');
}

/** A LoRA GGUF of ours, recognised by general.type "adapter" and our provenance key. */
export const GGUF_LORA_OUTPUT: OutputKind = {
  what: 'a LoRA GGUF written by lift export',
  folder: false,
  isOurs: (p) => {
    try {
      const keys = new Map(readGGUF(p).entries.map((e) => [e.key, e.value]));
      return keys.get('general.type') === 'adapter' && keys.has('lift.exported_from');
    } catch {
      return false;
    }
  },
};

/** The metadata and tensors of a llama.cpp LoRA GGUF for `adapter` on `model`. */
export function ggufLoraContents(adapter: Adapter, model: LlamaModel, from: string): { metadata: GGUFMetadataEntry[]; tensors: GGUFTensorInput[] } {
  const lora = asLora(adapter, 'export --to gguf-lora');
  const c = model.config, layout = ggufRopeLayout(c);
  if (lora.modules.has('lm_head') && c.tie_word_embeddings)
    throw new UnsupportedAdapterError('this LoRA adapts lm_head of a model with tied embeddings; llama.cpp has no separate output weight to apply it to');
  const metadata: GGUFMetadataEntry[] = [
    { key: 'general.architecture', type: 'string', value: c.model_type === 'qwen2' ? 'qwen2' : 'llama' },
    { key: 'general.type', type: 'string', value: 'adapter' },
    { key: 'adapter.type', type: 'string', value: 'lora' },
    { key: 'adapter.lora.alpha', type: 'float32', value: lora.config.lora_alpha },
    { key: 'lift.exported_from', type: 'string', value: from },
  ];
  const tensors: GGUFTensorInput[] = [];
  for (const [path, [A, B]] of lora.modules) {
    const g = hfToGgufName(`${path}.weight`);
    if (!g) throw new UnsupportedAdapterError(`module ${path} has no llama.cpp tensor name`);
    tensors.push({ name: `${g}.lora_a`, dtype: 'F32', shape: [...A.shape], data: A.f32() });
    tensors.push({ name: `${g}.lora_b`, dtype: 'F32', shape: [...B.shape], data: loraBRows(path, B.f32(), B.shape, c, model.ropeLayout, layout) });
  }
  return { metadata, tensors };
}

/** Writes the llama.cpp LoRA GGUF to `out` (claimed: never replaces what is not an earlier export of ours). */
export function exportGgufLora(adapter: Adapter, model: LlamaModel, out: string, o: { force?: boolean; inputs?: (string | undefined)[]; from: string }): void {
  const { metadata, tensors } = ggufLoraContents(adapter, model, o.from);
  const target = claimOutput(out, { kind: GGUF_LORA_OUTPUT, force: o.force, inputs: o.inputs });
  try {
    const staged = target.stage();
    writeGGUF(staged, metadata, tensors);
    target.commit(staged);
  } finally {
    target.release();
  }
}

/**
 * The base with every adapted weight merged, as a LoadedModel the model writers take. Its new tensors are
 * released by the returned dispose(); the shared, unmerged ones stay the base's.
 */
export function mergedModel(adapter: Adapter, loaded: LoadedModel): { merged: LoadedModel; dispose: () => void } {
  const lora = asLora(adapter, 'merge');
  const base = loaded.model;
  const weights = lora.merge(base);
  // An adapted lm_head of a tied model is a weight of its own from now on.
  const config = lora.modules.has('lm_head') && base.config.tie_word_embeddings ? { ...base.config, tie_word_embeddings: false } : base.config;
  const fresh = [...weights].filter(([k, t]) => base.weights.get(k) !== t).map(([, t]) => t);
  return {
    merged: { ...loaded, model: new LlamaModel(config, weights, base.ropeLayout, base.id) },
    dispose: () => fresh.forEach((t) => t.dispose()),
  };
}
