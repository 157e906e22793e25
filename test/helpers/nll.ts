// Mean next-token NLL (nats/token) of one token sequence straight from the model's logits, with this file's own
// log-softmax in double precision: an independent check of src/model/perplexity.ts (meanNll, crossEntropy).
import type { LoadedModel } from '../../src/model/load.js';
import type { AdapterHooks } from '../../src/model/llama.js';
import { tidy } from '../../src/engine/index.js';

export function rawMeanNll(loaded: LoadedModel, ids: readonly number[], adapter: AdapterHooks | null): number {
  const V = loaded.model.config.vocab_size;
  const logits = tidy(() => Float32Array.from(loaded.model.forward(Int32Array.from(ids.slice(0, -1)), { adapter }).f32()));
  let sum = 0;
  for (let i = 0; i + 1 < ids.length; i++) {
    const row = logits.subarray(i * V, (i + 1) * V);
    let max = -Infinity;
    for (const v of row) max = Math.max(max, v);
    let z = 0;
    for (const v of row) z += Math.exp(v - max);
    sum += max + Math.log(z) - row[ids[i + 1]];
  }
  return sum / (ids.length - 1);
}
