// Our dequantization checked by an independent reader: for every ggml type we load, llama.cpp (node-llama-cpp)
// reads the same quantized GGUF — written by our `convert --type` from a small random Llama whose rows are
// whole 256-value K-quant super-blocks (hidden 256, intermediate 512, 2 layers, 4 heads / 2 KV heads, the
// 512-token stories260K vocabulary) — and its log-probabilities must agree with ours within a per-type
// tolerance (README, "Quantized weights"). llama.cpp also rounds the *activations* (to Q8_0/Q8_K blocks for
// quantized weights, to f16/bf16 for 16-bit ones) before its dot products, our batched forward does not: that is
// what the tolerance covers. Our decode (one token at a time) does round them like llama.cpp on the types with an
// integer kernel (native/quant-dot.cc), and then agrees with it to float rounding at most positions. To show it is not loose, for types of ≤ 6 bits our difference from llama.cpp must also be
// well under the quantization's own effect (llama.cpp on the quantized file vs llama.cpp on the f32 file).
// Also: the quantized load holds about bits/32 of the f32 load's bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertModel } from '../../src/model/convert.js';
import { loadModelFromPath } from '../../src/model/load.js';
import { readGGUF } from '../../src/io/gguf.js';
import { bitsPerWeight } from '../../src/io/quant-types.js';
import type { GGUFFileType } from '../../src/model/gguf-types.js';
import { requireShared, sharedPath } from '../helpers/shared.js';
import { compare, llamaCppLogProbs, ourLogProbs, requireLlama } from '../helpers/llamacpp.js';
import { placeholderVocab, writeRandomModel } from '../helpers/random-gguf.js';
import { KVCache } from '../../src/model/kv-cache.js';
import { native, tidy } from '../../src/engine/index.js';

/** Our log-probs one token at a time through the KV cache, per sequence: decode, where Q4_K/Q5_K/Q6_K/Q8_0/Q5_0/Q4_0
 *  products round the activation to 8 bits as llama.cpp does (native/quant-dot.cc); the batched forward keeps f32. */
function ourDecodeLogProbs(path: string, seqs: number[][]): Float64Array[][] {
  const m = loadModelFromPath(path).model;
  try {
    return seqs.map((ids) => {
      const cache = new KVCache(m.config, ids.length);
      try {
        return ids.map((id) => tidy(() => {
          const r = Float64Array.from(m.forward(Int32Array.of(id), { cache, lastOnly: true }).f32());
          const mx = Math.max(...r), lse = mx + Math.log(r.reduce((s, x) => s + Math.exp(x - mx), 0));
          return r.map((x) => x - lse);
        }));
      } finally {
        cache.dispose();
      }
    });
  } finally {
    m.dispose();
  }
}
// File types whose every matrix has an integer decode kernel. Their decode rounds activations as llama.cpp does, so
// a position agrees with llama.cpp to float rounding (~2e-6) unless an activation lies within the two
// implementations' last-bit differences (norms, softmax, summation order) of a rounding boundary: then that value
// rounds apart by one step, ~1e-4–1e-3 in log p (more often the wider the model; once 4e-2: q6_k, 62.5 exactly at
// layer 0's o_proj input), and through the KV cache the rest of the sequence keeps the difference. So decode runs
// short sequences (BOS + 3 tokens), each from an empty cache, and the median position's difference must be under
// 1/20 of the batched forward's median (measured: ~1e-6 vs 4e-2 here; the SmolLM2 shape below: docs/quantization.md),
// every position within the type's tolerance.
const DECODE: GGUFFileType[] = ['q8_0', 'q6_k', 'q5_k_m', 'q4_k_m', 'q5_0', 'q4_0'];
const DECODE_RATIO = 1 / 20;
const perPosition = (ours: Float64Array[], theirs: Float64Array[]): number[] => ours.map((row, i) => compare([row], [theirs[i]]).all);
const median = (v: number[]): number => v.slice().sort((x, y) => x - y)[v.length >> 1];
/** BOS + 3 tokens at a time from ids (ids[0] is BOS). */
const shortSequences = (ids: number[]): number[][] =>
  Array.from({ length: Math.floor((ids.length - 1) / 3) }, (_, k) => [ids[0], ...ids.slice(1 + 3 * k, 4 + 3 * k)]);
/** Per-position |Δ log p| of our decode against llama.cpp over the short sequences of ids. */
async function decodeDiffs(llama: Parameters<typeof llamaCppLogProbs>[0], path: string, ids: number[]): Promise<number[]> {
  const seqs = shortSequences(ids), ours = ourDecodeLogProbs(path, seqs), out: number[] = [];
  for (let k = 0; k < seqs.length; k++) out.push(...perPosition(ours[k], (await llamaCppLogProbs(llama, path, seqs[k])).logp));
  return out;
}

// Per file type: the max |Δ log p| allowed against llama.cpp (measured here ×~2.5: README), and for types of
// ≤ 6 bits the largest allowed ratio of that difference to the quantization's own effect. The difference is
// llama.cpp's activation rounding (8-bit for every quantized type, so ~5e-2 on this model whatever the weight
// type); a wrong scale, offset or bit position in a block would be as large as the effect itself or larger.
const TOL: [GGUFFileType, number, number | null][] = [
  ['f16', 0.005, null], ['bf16', 0.03, null], ['q8_0', 0.1, null], ['q6_k', 0.15, 0.6], ['q5_k_m', 0.15, 0.5], ['q5_0', 0.15, 0.5],
  ['q5_1', 0.15, 0.5], ['q4_k_m', 0.15, 0.3], ['q4_0', 0.15, 0.3], ['q4_1', 0.15, 0.3], ['q3_k', 0.15, 0.15], ['q2_k', 0.15, 0.1],
];


const bytesOf = (path: string): number => {
  const m = loadModelFromPath(path).model;
  try {
    return m.parameters().reduce((s, t) => s + t.bytes().length, 0);
  } finally {
    m.dispose();
  }
};

test('llama.cpp reads our quantized GGUFs like we do, for every type (per-type tolerance), and the quantized load is bits/32 of f32', async (t) => {
  if (!requireShared(t, 'models/stories260K/stories260K.gguf')) return;
  const llama = await requireLlama(t);
  if (!llama) return;
  const dir = mkdtempSync(join(tmpdir(), 'lift-quant-'));
  try {
    const f32 = join(dir, 'random-f32.gguf');
    writeRandomModel(f32);
    const ids = [1, ...Array.from({ length: 23 }, (_, i) => (i * 97 + 13) % 512)];
    const ref = (await llamaCppLogProbs(llama, f32, ids)).logp;
    const f32d = compare(ourLogProbs(f32, ids), ref);
    t.diagnostic(`f32: max |Δ log p| ours vs llama.cpp ${f32d.all.toExponential(2)}`);
    assert.ok(f32d.all <= 1e-5, `f32 ${f32d.all}`); // docs/quantization.md (3.4e-6 seen)
    const f32Bytes = bytesOf(f32);
    const failures: string[] = [];
    const decodeDiffsAll: number[] = [], batchedDiffs: number[] = [];
    for (const [type, tol, maxRatio] of TOL) {
      const q = join(dir, `random-${type}.gguf`);
      convertModel(f32, 'gguf', q, { type });
      const stored = [...readGGUF(q).tensors.values()];
      const kinds = [...new Set(stored.map((e) => e.dtype))].sort().join(',');
      const theirs = (await llamaCppLogProbs(llama, q, ids)).logp;
      const d = compare(ourLogProbs(q, ids), theirs);
      const effect = compare(theirs, ref); // what the quantization itself changes, in llama.cpp's own arithmetic
      // Bits per weight of the file's matrices against the f32 load's bytes.
      let bits = 0, n = 0;
      for (const e of stored) if (e.shape.length === 2) (bits += bitsPerWeight(e.dtype) * e.shape[0] * e.shape[1]), (n += e.shape[0] * e.shape[1]);
      const ratio = bytesOf(q) / f32Bytes;
      // Decode rounds the activations like llama.cpp: closer to it than the exact batched forward.
      if (DECODE.includes(type) && native.qDotSupported(8)) {
        const per = await decodeDiffs(llama, q, ids), batched = perPosition(ourLogProbs(q, ids), theirs);
        decodeDiffsAll.push(...per), batchedDiffs.push(...batched);
        t.diagnostic(`${type}: decode (8-bit activations) vs llama.cpp: median position ${median(per).toExponential(2)}, max ${Math.max(...per).toExponential(2)}; `
          + `batched forward (f32 activations): median ${median(batched).toExponential(2)}`);
        if (Math.max(...per) > tol) failures.push(`${type}: decode max |Δ log p| ${Math.max(...per)} > ${tol}`);
      }
      t.diagnostic(`${type} (${kinds}): max |Δ log p| ours vs llama.cpp ${d.all.toExponential(2)} (tolerance ${tol}); quantization effect ${effect.all.toExponential(2)}; `
        + `memory ${(ratio * 100).toFixed(1)} % of f32 (${(bits / n).toFixed(2)} bits per weight)`);
      failures.push(...[
        d.all <= tol ? '' : `${type}: max |Δ log p| ${d.all} > ${tol}`,
        maxRatio === null || d.all <= maxRatio * effect.all ? '' : `${type}: our difference from llama.cpp (${d.all}) is not under ${maxRatio} × the quantization's effect (${effect.all})`,
        effect.all > 1e-3 ? '' : `${type}: the quantization's effect ${effect.all} is too small for the comparison to mean anything`,
        // Matrices dominate the bytes: the load holds their bits/32, plus f32 norm vectors (< 0.3 % here).
        Math.abs(ratio - bits / n / 32) < 0.005 ? '' : `${type}: quantized load holds ${ratio} of f32's bytes, expected ≈ ${bits / n / 32}`,
      ].filter(Boolean));
    }
    if (decodeDiffsAll.length) {
      const [dm, bm] = [median(decodeDiffsAll), median(batchedDiffs)];
      t.diagnostic(`decode, ${decodeDiffsAll.length} positions of ${DECODE.length} types: median |Δ log p| ${dm.toExponential(2)}, batched ${bm.toExponential(2)}`);
      if (dm > DECODE_RATIO * bm) failures.push(`decode's median difference from llama.cpp ${dm} is not under ${DECODE_RATIO} × the batched forward's ${bm}`);
    }
    assert.deepEqual(failures, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a SmolLM2-shaped Q4_K_M GGUF with the SmolLM2 byte-level BPE vocabulary: llama-quantize\'s fallbacks for 576-wide rows, and llama.cpp agrees', async (t) => {
  if (!requireShared(t, 'tokenizers/smollm2/tokenizer.json') || !requireShared(t, 'models/stories260K/stories260K.gguf')) return;
  const llama = await requireLlama(t);
  if (!llama) return;
  const dir = mkdtempSync(join(tmpdir(), 'lift-quant-smol-'));
  try {
    // SmolLM2-135M's widths (hidden 576 = 2.25 super-blocks, intermediate 1536 = 6), 2 layers, tied embeddings.
    // The f32 file's own vocabulary is a placeholder (llama.cpp needs its byte tokens to load it); the Q4_K_M file gets SmolLM2's.
    const V = 49152, placeholder = placeholderVocab(V);
    const f32 = join(dir, 'smol-f32.gguf'), q = join(dir, 'smol-q4_k_m.gguf');
    writeRandomModel(f32, { C: 576, I: 1536, L: 2, NH: 9, KVH: 3, V, tied: true }, placeholder);
    convertModel(f32, 'gguf', q, { type: 'q4_k_m', vocab: sharedPath('tokenizers/smollm2/tokenizer.json') } as Parameters<typeof convertModel>[3]);
    const ck = readGGUF(q);
    assert.equal(ck.metadata['tokenizer.ggml.model'], 'gpt2');
    const type = (n: string) => ck.tensors.get(n)!.dtype;
    // 576-wide rows cannot hold Q4_K/Q6_K super-blocks: Q5_0, and Q8_0 where Q6_K was due; ffn_down's 1536-wide rows can.
    assert.deepEqual([type('blk.0.attn_q.weight'), type('blk.1.attn_v.weight'), type('token_embd.weight'), type('blk.0.ffn_down.weight'), type('blk.1.ffn_down.weight')],
      ['Q5_0', 'Q8_0', 'Q8_0', 'Q4_K', 'Q6_K']);
    const loaded = loadModelFromPath(q);
    const ids = loaded.tokenizer.encode('Once upon a time, a quantized model met a byte-level tokenizer: 42 émojis 🙂!');
    loaded.model.dispose();
    const theirs = (await llamaCppLogProbs(llama, q, ids)).logp;
    const d = compare(ourLogProbs(q, ids), theirs), effect = compare(theirs, (await llamaCppLogProbs(llama, f32, ids)).logp);
    t.diagnostic(`${ids.length} positions: max |Δ log p| ours vs llama.cpp ${d.all.toExponential(2)}; quantization effect ${effect.all.toExponential(2)}`);
    assert.ok(effect.all > 1e-2, `the quantization must visibly change the distributions (effect ${effect.all}): otherwise this test proves nothing`);
    assert.ok(d.all <= 0.15 && d.all <= 0.3 * effect.all, `max |Δ log p| ${d.all} (effect ${effect.all})`);
    if (native.qDotSupported(8)) { // every matrix here (Q5_0, Q8_0, Q4_K, Q6_K) has an integer decode kernel
      const per = await decodeDiffs(llama, q, ids), batched = perPosition(ourLogProbs(q, ids), theirs);
      t.diagnostic(`decode vs llama.cpp: median position ${median(per).toExponential(2)}, max ${Math.max(...per).toExponential(2)}; batched forward median ${median(batched).toExponential(2)}`);
      assert.ok(median(per) <= DECODE_RATIO * median(batched) && Math.max(...per) <= 0.15, `decode median |Δ log p| ${median(per)}, max ${Math.max(...per)} (batched median ${median(batched)})`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
