// Rotary embeddings and causal grouped-query attention.
// Legend: T queries, Tk keys (= start + T with a KV cache), NH query heads, KVH key/value heads, D head dim.
import { native } from '../native.js';
import { Tensor, tidy } from '../tensor.js';
import { gradFor, gradIf, needsGrad, record } from '../tape.js';
import { expectF32, expectRank, fmt } from './shapes.js';

export type RopeLayout = 'interleaved' | 'half';

/**
 * RoPE on x[T, H·D] at positions start … start+T−1. `invFreq` holds R/2 inverse frequencies (R ≤ D rotated
 * dims). Layout 'interleaved' rotates (x[2j], x[2j+1]) as llama2.c and GGUF do; 'half' rotates
 * (x[j], x[j+R/2]) as Hugging Face does.
 */
export function rope(x: Tensor, heads: number, start: number, invFreq: Float32Array, layout: RopeLayout, offsets?: Int32Array, prefix = 0): Tensor {
  expectRank('rope', 'x', x, 2);
  expectF32('rope', x);
  const [T, HD] = x.shape;
  if (HD % heads !== 0) throw new Error(`rope: x ${fmt(x)} is not divisible into ${heads} heads`);
  if (offsets) checkOffsets('rope', offsets, T);
  const D = HD / heads;
  const out = Tensor.empty([T, HD]);
  const il = layout === 'interleaved';
  // Packed samples (offsets [S+1]): positions start … per sample, each rows offsets[s] … offsets[s+1]−1; with a
  // shared prefix (AttentionOptions.prefix) every sample after the first continues it: positions prefix … .
  if (prefix && (!offsets || offsets[1] !== prefix)) throw new Error(`rope: a shared prefix of ${prefix} rows must be the first of the offsets`);
  const spans = offsets ? Array.from({ length: offsets.length - 1 }, (_, s) => [offsets[s], offsets[s + 1], s > 0 ? start + prefix : start] as const) : [[0, T, start] as const];
  const rows = (a: Float32Array, i: number, j: number) => a.subarray(i * HD, j * HD);
  for (const [i, j, p] of spans) native.rope(rows(x.f32(), i, j), rows(out.f32(), i, j), j - i, heads, D, p, invFreq, il, 1, false);
  if (!needsGrad(x)) return out;
  // The inverse rotation is the transpose: dx += R(−θ)·dy.
  return record('rope', out, () => {
    const dx = gradFor(x)!;
    for (const [i, j, p] of spans) native.rope(rows(out.grad!.f32(), i, j), rows(dx.g, i, j), j - i, heads, D, p, invFreq, il, -1, !dx.fresh);
  });
}

/** Packed samples' row offsets [S+1]: 0 = offsets[0] ≤ offsets[1] ≤ … ≤ offsets[S] = T. */
function checkOffsets(op: string, offsets: Int32Array, T: number): void {
  const ok = offsets.length >= 1 && offsets[0] === 0 && offsets[offsets.length - 1] === T && offsets.every((o, i) => i === 0 || o >= offsets[i - 1]);
  if (!ok) throw new Error(`${op}: offsets [${offsets.slice(0, 8).join(', ')}${offsets.length > 8 ? ', …' : ''}] must rise from 0 to the ${T} rows`);
}

/** Fewest query rows for which a bf16 model runs attention's products in bf16 (below, packing K/V costs more). */
export const BF16_ATTENTION_ROWS = 16;

export interface AttentionOptions {
  heads: number;
  kvHeads: number;
  /** Absolute position of the first query (tokens already in the KV cache). */
  start?: number;
  /** Score scale, default 1/√D. */
  scale?: number;
  /**
   * Packed samples (batched training): row offsets [S+1]; sample s is rows offsets[s] … offsets[s+1]−1 of q,
   * k and v, and each row sees the keys of its own sample up to itself. Needs start 0 and Tk = T (no cache).
   */
  offsets?: Int32Array;
  /**
   * The products (QKᵀ, PV and backward's four) on the bf16 units, operands rounded to bf16 with fp32 sums
   * (native/attention-bf16.cc); softmax, lse and every output stay fp32. Models loaded with compute bf16 set it
   * for blocks of at least BF16_ATTENTION_ROWS queries (a single decode row would only pay for the packing).
   */
  bf16?: boolean;
  /**
   * With offsets: the first sample (rows 0 … prefix−1, offsets[1] = prefix) is a prefix shared by every later
   * sample, whose rows see all its keys and then their own causally (their positions continue after it, see
   * rope): S samples that begin with the same `prefix` tokens computed once instead of S times.
   */
  prefix?: number;
}

/** Causal GQA: out[T, NH·D] from q[T, NH·D], k/v[Tk, KVH·D]; query i sees keys 0 … start+i. */
export function attention(q: Tensor, k: Tensor, v: Tensor, o: AttentionOptions): Tensor {
  for (const [n, t] of [['q', q], ['k', k], ['v', v]] as const) expectRank('attention', n, t, 2);
  expectF32('attention', q, k, v);
  const { heads: NH, kvHeads: KVH } = o;
  const [T, QD] = q.shape, [Tk, KD] = k.shape;
  const D = QD / NH;
  if (!Number.isInteger(D) || KD !== KVH * D)
    throw new Error(`attention: q ${fmt(q)} and k ${fmt(k)} do not split into ${NH} query and ${KVH} KV heads of one size`);
  if (v.shape[0] !== Tk || v.shape[1] !== KD) throw new Error(`attention: v ${fmt(v)} must match k ${fmt(k)}`);
  if (NH % KVH !== 0) throw new Error(`attention: ${NH} query heads are not a multiple of ${KVH} KV heads`);
  const start = o.start ?? 0, scale = o.scale ?? 1 / Math.sqrt(D);
  if (start + T > Tk) throw new Error(`attention: start ${start} + ${T} queries exceed the ${Tk} keys`);
  const off = o.offsets, bf16 = o.bf16 === true;
  if (off) {
    if (start !== 0 || Tk !== T) throw new Error(`attention: packed samples (offsets) need start 0 and as many keys as queries, got start ${start}, ${Tk} keys for ${T} queries`);
    checkOffsets('attention', off, T);
  }
  if (o.prefix) {
    if (!off || off[1] !== o.prefix) throw new Error(`attention: a shared prefix of ${o.prefix} rows needs offsets whose first sample it is`);
    return sharedPrefixAttention(q, k, v, off, NH, KVH, D, scale, bf16);
  }
  const out = Tensor.empty([T, QD]);
  const lse = Tensor.empty([NH, T]);
  if (off) native.attentionPackedForward(q.f32(), k.f32(), v.f32(), out.f32(), lse.f32(), off, NH, KVH, D, scale, bf16);
  else native.attentionForward(q.f32(), k.f32(), v.f32(), out.f32(), lse.f32(), T, Tk, NH, KVH, D, start, scale, bf16);
  if (!needsGrad(q, k, v)) {
    lse.dispose();
    return out;
  }
  // Saved: q, k, v, out, lse (per-row log-sum-exp); probabilities are recomputed blockwise.
  return record('attention', out, () =>
    off
      ? native.attentionPackedBackward(out.grad!.f32(), q.f32(), k.f32(), v.f32(), out.f32(), lse.f32(), gradIf(q), gradIf(k), gradIf(v), off, NH, KVH, D, scale, bf16)
      : native.attentionBackward(out.grad!.f32(), q.f32(), k.f32(), v.f32(), out.f32(), lse.f32(), gradIf(q), gradIf(k), gradIf(v), T, Tk, NH, KVH, D, start, scale, bf16),
  );
}

/**
 * Packed samples behind a shared prefix (AttentionOptions.prefix): the prefix (sample 0) attends causally to
 * itself; sample s ≥ 1 is a continuation of it, its queries at positions P … seeing the prefix's keys then its
 * own — the KV-cache form of the single-sequence kernel (start = P) over the keys [K_prefix; K_s] gathered into
 * one buffer. Backward scatters that buffer's dK/dV back: the prefix's rows collect every sample's share.
 * Memory: the gathered keys/values of one sample at a time ((P + Tₛ)·KVH·D floats each).
 */
function sharedPrefixAttention(q: Tensor, k: Tensor, v: Tensor, off: Int32Array, NH: number, KVH: number, D: number, scale: number, bf16: boolean): Tensor {
  const T = q.shape[0], QD = NH * D, KD = KVH * D, P = off[1], S = off.length - 1;
  const out = Tensor.empty([T, QD]);
  const lse = Tensor.empty([NH, T]); // per sample s: [NH, Tₛ] at NH·offsets[s] (the kernel's layout for a sequence)
  const qr = (a: Float32Array, s: number) => a.subarray(off[s] * QD, off[s + 1] * QD);
  const kr = (a: Float32Array, i: number, j: number) => a.subarray(i * KD, j * KD);
  const lr = (s: number) => lse.f32().subarray(NH * off[s], NH * off[s + 1]);
  // [K_prefix; K_s] in native memory freed by the enclosing tidy (a JS buffer per call set off garbage collections).
  const gather = (a: Float32Array, s: number): Float32Array => {
    const g = Tensor.empty([P + off[s + 1] - off[s], KD]).f32();
    g.set(kr(a, 0, P));
    g.set(kr(a, off[s], off[s + 1]), P * KD);
    return g;
  };
  native.attentionForward(qr(q.f32(), 0), kr(k.f32(), 0, P), kr(v.f32(), 0, P), qr(out.f32(), 0), lr(0), P, P, NH, KVH, D, 0, scale, bf16);
  for (let s = 1; s < S; s++) {
    const Ts = off[s + 1] - off[s];
    tidy(() => native.attentionForward(qr(q.f32(), s), gather(k.f32(), s), gather(v.f32(), s), qr(out.f32(), s), lr(s), Ts, P + Ts, NH, KVH, D, P, scale, bf16));
  }
  if (!needsGrad(q, k, v)) {
    lse.dispose();
    return out;
  }
  return record('attention', out, () => {
    const dO = out.grad!.f32(), dq = gradIf(q), dk = gradIf(k), dv = gradIf(v);
    const sub = (a: Float32Array | null, i: number, j: number) => (a ? a.subarray(i, j) : null);
    native.attentionBackward(qr(dO, 0), qr(q.f32(), 0), kr(k.f32(), 0, P), kr(v.f32(), 0, P), qr(out.f32(), 0), lr(0),
      sub(dq, 0, P * QD), sub(dk, 0, P * KD), sub(dv, 0, P * KD), P, P, NH, KVH, D, 0, scale, bf16);
    for (let s = 1; s < S; s++) tidy(() => {
      const Ts = off[s + 1] - off[s];
      const zeros = () => Tensor.zeros([P + Ts, KD]).f32();
      const gk = dk ? zeros() : null, gv = dv ? zeros() : null;
      native.attentionBackward(qr(dO, s), qr(q.f32(), s), gather(k.f32(), s), gather(v.f32(), s), qr(out.f32(), s), lr(s),
        sub(dq, off[s] * QD, off[s + 1] * QD), gk, gv, Ts, P + Ts, NH, KVH, D, P, scale, bf16);
      for (const [g, d] of [[gk, dk], [gv, dv]] as const) {
        if (!g || !d) continue;
        addInto(d.subarray(0, P * KD), g.subarray(0, P * KD));
        addInto(d.subarray(off[s] * KD, off[s + 1] * KD), g.subarray(P * KD));
      }
    });
  });
}

function addInto(dst: Float32Array, src: Float32Array): void {
  for (let i = 0; i < dst.length; i++) dst[i] += src[i];
}
