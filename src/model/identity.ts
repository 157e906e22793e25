// Which model is this, by content rather than by path? An adapter records its base's identity; a copy of the same
// file elsewhere (another folder, another machine, the Hub cache) must load it, another model must not.
// Hashing every weight costs a full pass over gigabytes; instead the hash covers the canonical config and, per
// tensor (sorted by name), its name, shape and a fixed sample of its values: ≤ 64 rows × ≤ 64 columns, evenly
// spaced — 4,096 floats a tensor, microseconds, on any model size. Rows of q_proj/k_proj are sampled in Hugging
// Face's rotate-half order whatever order the file keeps them in, so a GGUF and its Hugging Face conversion
// (same numbers, rows permuted) are the same model. Two different trained models differ in essentially every
// value, so a sample of thousands tells them apart; a file that differs from another in a few weights only
// (a hand-edited copy) may share the hash — the config hash and the manifest's other fields are not a defence
// against that either.
import { createHash } from 'node:crypto';
import type { LlamaModel } from './llama.js';
import { rowF32 } from '../engine/index.js';

const SAMPLE = 64;
const QK = /^model\.layers\.\d+\.self_attn\.(q|k)_proj\.(weight|bias)$/;
const cache = new WeakMap<LlamaModel, string>();

/** Evenly spaced indices 0 … n−1, at most k of them. */
function spaced(n: number, k: number): number[] {
  if (n <= k) return Array.from({ length: n }, (_, i) => i);
  return Array.from({ length: k }, (_, i) => Math.floor((i * (n - 1)) / (k - 1)));
}

/** The stored row of rotate-half row `r` in a q/k weight of `heads` heads kept in `layout`. */
function storedRow(r: number, rows: number, heads: number, layout: string): number {
  if (layout !== 'interleaved') return r;
  const hd = rows / heads, half = hd / 2, h = Math.floor(r / hd), within = r % hd;
  const s = within < half ? 0 : 1, i = within % half;
  return h * hd + 2 * i + s; // names.ts permuteQK: interleaved row h·hd + 2i + s ← rotate-half row h·hd + s·hd/2 + i
}

/** sha256 (hex) of the model's config and a layout-independent sample of every weight. */
export function modelContentHash(model: LlamaModel, canonicalConfig: string): string {
  const hit = cache.get(model);
  if (hit) return hit;
  const h = createHash('sha256').update(canonicalConfig);
  const c = model.config;
  for (const name of [...model.weights.keys()].sort()) {
    const t = model.weights.get(name)!;
    const rows = t.shape.length > 1 ? t.shape[0] : 1, cols = t.size / rows;
    const rowOf = (r: number): Float32Array => (t.dtype === 'f32' ? t.f32().subarray(r * cols, (r + 1) * cols) : rowF32(t, r)); // 16-bit/quantized: one row dequantized
    const d = rows === 1 ? rowOf(0) : null;
    const qk = QK.exec(name);
    const heads = qk ? (qk[1] === 'q' ? c.num_attention_heads : c.num_key_value_heads) : 1;
    const sample: number[] = [];
    if (d) for (const j of spaced(cols, SAMPLE * SAMPLE)) sample.push(qk ? d[storedRow(j, cols, heads, model.ropeLayout)] : d[j]);
    else
      for (const r of spaced(rows, SAMPLE)) {
        const row = rowOf(qk ? storedRow(r, rows, heads, model.ropeLayout) : r);
        for (const j of spaced(cols, SAMPLE)) sample.push(row[j]);
      }
    h.update(`${name}[${t.shape.join(',')}]`).update(new Uint8Array(Float32Array.from(sample).buffer));
  }
  const hex = h.digest('hex');
  cache.set(model, hex);
  return hex;
}
