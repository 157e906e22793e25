// Causal grouped-query attention, forward and backward, in query blocks (flash-attention style):
// scores for a block of BQ queries are formed with sgemm, soft-maxed in place and multiplied by V;
// only the output and the per-row log-sum-exp are kept, and backward recomputes the probabilities. The
// exponentials are vectorised (simd-math.h).
// Memory is O(T·D) instead of O(NH·T²), which is what lets 2k-token training fit (PyTorch 1.13's eager
// attention materialises every T×T score matrix).
//
// Layouts (row-major): q, out, dq [T, NH, D]; k, v, dk, dv [Tk, KVH, D]; lse [NH, T].
// Query row i sits at absolute position start + i and sees keys 0 … start + i (KV cache: Tk ≥ start + T).
// Query head h reads KV head h / (NH / KVH).
// Work units (head, query block) are dealt round-robin (static, 1): balanced for the causal triangle, and the
// same thread always sums the same units, so results are bitwise reproducible for a given thread count
// (a killed and resumed training run must end with the same adapter).
#include "common.h"
#include "attention.h"
#include "bf16.h"
#include "simd-math.h"
#include <algorithm>
#include <cmath>
#include <cblas.h>
#include <limits>
#include <vector>

namespace lift {

static Dims readDims(const Napi::CallbackInfo& info, int i, const char* op) {
  Dims d{integer(info, i, op), integer(info, i + 1, op), integer(info, i + 2, op), integer(info, i + 3, op),
         integer(info, i + 4, op), integer(info, i + 5, op), (float)number(info, i + 6, op), 0};
  d.lseStride = d.T;
  nonneg(op, "T", d.T); positive(op, "NH", d.NH); positive(op, "KVH", d.KVH); positive(op, "head dim", d.D); nonneg(op, "start", d.start);
  if (d.NH % d.KVH != 0)
    throw ArgError{std::string(op) + ": query heads " + std::to_string(d.NH) + " must be a multiple of KV heads " + std::to_string(d.KVH)};
  if (d.start + d.T > d.Tk)
    throw ArgError{std::string(op) + ": start " + std::to_string(d.start) + " + T " + std::to_string(d.T) + " exceeds the " +
                   std::to_string(d.Tk) + " keys"};
  return d;
}

void softmaxRows(const Dims& d, float* S, int64_t h, int64_t i0, int64_t bq, int64_t nk, float* lseOut, const float* lseIn) {
  for (int64_t r = 0; r < bq; r++) {
    float* s = S + r * nk;
    int64_t lim = d.start + i0 + r + 1;  // keys visible to this row
    if (lseIn) {
      vexpShift(s, s, lim, lseIn[h * d.lseStride + i0 + r], 1.f);
    } else {
      float mx = vmax(s, lim);
      double sum = vexpShift(s, s, lim, mx, 1.f);
      float inv = (float)(1.0 / sum);
      for (int64_t j = 0; j < lim; j++) s[j] *= inv;
      lseOut[h * d.lseStride + i0 + r] = mx + (float)std::log(sum);
    }
    for (int64_t j = lim; j < nk; j++) s[j] = 0.f;
  }
}

// Forms P = softmax(scale · Q_blk K^T) with the causal mask for queries i0 … i0+bq−1 of head h into S
// (bq × nk, row stride nk). Writes lse when given, else uses the saved lse to recompute P.
static void probs(const Dims& d, const float* q, const float* k, int64_t h, int64_t i0, int64_t bq, int64_t nk,
                  float* S, float* lseOut, const float* lseIn) {
  int64_t g = h / (d.NH / d.KVH);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)bq, (int)nk, (int)d.D, d.scale, q + (i0 * d.NH + h) * d.D,
              (int)(d.NH * d.D), k + g * d.D, (int)(d.KVH * d.D), 0.f, S, (int)nk);
  softmaxRows(d, S, h, i0, bq, nk, lseOut, lseIn);
}

// One work unit of the forward: queries i0 … i0+BQ−1 (clipped to T) of head h → their output rows and lse.
static void forwardUnit(const Dims& d, const float* q, const float* k, const float* v, float* out, float* lse, int64_t h,
                        int64_t i0, std::vector<float>& S) {
  int64_t bq = std::min(BQ, d.T - i0), nk = d.start + i0 + bq, g = h / (d.NH / d.KVH);
  S.resize((size_t)(bq * nk));
  probs(d, q, k, h, i0, bq, nk, S.data(), lse, nullptr);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)bq, (int)d.D, (int)nk, 1.f, S.data(), (int)nk, v + g * d.D,
              (int)(d.KVH * d.D), 0.f, out + (i0 * d.NH + h) * d.D, (int)(d.NH * d.D));
}

// Decode-sized forward (T ≤ kDecodeQueries: one new token, or a few, against a KV cache): per query head, scores
// by direct dot products, softmax, and the weighted sum of V rows. The block path pays two sgemm calls with one
// row and a parallel region per call, ~120 µs a layer at 256 keys on Zen 3 (3.6 of ~35 ms per SmolLM2-135M
// token); this reads each K and V row once per head from cache, in a few µs. Same arithmetic to rounding
// (test/engine/attention-decode.test.ts: against a float64 reference).
// Written with fixed-width inner arrays that the compiler keeps in vector registers (8 lanes: one AVX2 register,
// two SSE ones): a runtime-length `omp simd` reduction spilled its partial sums, and an `o[e] += p·v[e]` loop
// over keys stored and reloaded o for every key (~130 µs a layer at 192 keys; perf annotate).
static inline float dot8(const float* a, const float* b, int64_t D) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t e = 0;
  for (; e + 8 <= D; e += 8)
    for (int l = 0; l < 8; l++) acc[l] += a[e + l] * b[e + l];
  float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; e < D; e++) s += a[e] * b[e];
  return s;
}
static void decodeHead(const Dims& d, const float* q, const float* k, const float* v, float* out, float* lse, int64_t h, float* S) {
  const int64_t D = d.D, ldk = d.KVH * D, g = h / (d.NH / d.KVH);
  for (int64_t r = 0; r < d.T; r++) {
    const int64_t lim = d.start + r + 1;  // keys visible to this query
    const float* qr = q + (r * d.NH + h) * D;
    const float* kg = k + g * D;
    for (int64_t j = 0; j < lim; j++) S[j] = dot8(qr, kg + j * ldk, D) * d.scale;
    float mx = vmax(S, lim);
    double sum = vexpShift(S, S, lim, mx, 1.f);
    lse[h * d.lseStride + r] = mx + (float)std::log(sum);
    const float inv = (float)(1.0 / sum);
    float* o = out + (r * d.NH + h) * D;
    const float* vg = v + g * D;
    int64_t e0 = 0;
    for (; e0 + 32 <= D; e0 += 32) {  // 32 output columns in 4 registers, over all keys
      float acc[32] = {};
      for (int64_t j = 0; j < lim; j++) {
        const float p = S[j];
        const float* vr = vg + j * ldk + e0;
        for (int l = 0; l < 32; l++) acc[l] += p * vr[l];
      }
      for (int l = 0; l < 32; l++) o[e0 + l] = acc[l] * inv;
    }
    for (; e0 < D; e0++) {
      float a = 0;
      for (int64_t j = 0; j < lim; j++) a += S[j] * vg[j * ldk + e0];
      o[e0] = a * inv;
    }
  }
}
void decodeHeads(const Dims& d, const float* q, const float* k, const float* v, float* out, float* lse, int64_t h0, int64_t h1) {
  thread_local std::vector<float> S;
  if (S.size() < (size_t)(d.start + d.T)) S.resize((size_t)(d.start + d.T));
  for (int64_t h = h0; h < h1; h++) decodeHead(d, q, k, v, out, lse, h, S.data());
}

void decodeForward(const Dims& d, const float* q, const float* k, const float* v, float* out, float* lse) {
  // Threads only when the K and V rows read are large (long contexts): waking them costs more than a few
  // hundred keys take (the same bound as the decode matrix-vector products, common.h).
  const int64_t bytes = (d.start + d.T) * d.KVH * d.D * 8;
  if (d.NH == 1 || bytes < kDecodeParallelBytesAvx2 || omp_get_max_threads() == 1 || omp_in_parallel()) {
    // No parallel region at all: even one with if(false) cost ~10 µs a call here (libgomp's team set-up).
    return decodeHeads(d, q, k, v, out, lse, 0, d.NH);
  }
#pragma omp parallel
  {
    std::vector<float> S((size_t)(d.start + d.T));
#pragma omp for schedule(static)
    for (int64_t h = 0; h < d.NH; h++) decodeHead(d, q, k, v, out, lse, h, S.data());
  }
}

// One work unit of the backward (see attentionBackward): dq rows of this block (+=), and this unit's share of
// dK/dV into the thread's accumulators aK/aV (nullptr: not wanted).
static void backwardUnit(const Dims& d, const float* dO, const float* q, const float* k, const float* v, const float* out,
                         const float* lse, float* dq, float* aK, float* aV, int64_t h, int64_t i0, std::vector<float>& P,
                         std::vector<float>& dP) {
  int64_t bq = std::min(BQ, d.T - i0), nk = d.start + i0 + bq, g = h / (d.NH / d.KVH);
  int ldq = (int)(d.NH * d.D), ldk = (int)(d.KVH * d.D);
  const float* qBlk = q + (i0 * d.NH + h) * d.D;
  const float* dOBlk = dO + (i0 * d.NH + h) * d.D;
  const float* oBlk = out + (i0 * d.NH + h) * d.D;
  P.resize((size_t)(bq * nk));
  dP.resize((size_t)(bq * nk));
  probs(d, q, k, h, i0, bq, nk, P.data(), nullptr, lse);
  if (aV)
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)nk, (int)d.D, (int)bq, 1.f, P.data(), (int)nk, dOBlk, ldq, 1.f,
                aV + g * d.D, ldk);
  if (!dq && !aK) return;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)bq, (int)nk, (int)d.D, 1.f, dOBlk, ldq, v + g * d.D, ldk, 0.f,
              dP.data(), (int)nk);
  for (int64_t r = 0; r < bq; r++) {
    double Di = 0;
    for (int64_t e = 0; e < d.D; e++) Di += (double)dOBlk[r * ldq + e] * oBlk[r * ldq + e];
    float di = (float)Di;
    float *p = P.data() + r * nk, *dp = dP.data() + r * nk;
    for (int64_t j = 0; j < nk; j++) dp[j] = p[j] * (dp[j] - di);  // dS (masked entries have p = 0)
  }
  if (dq)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)bq, (int)d.D, (int)nk, d.scale, dP.data(), (int)nk,
                k + g * d.D, ldk, 1.f, dq + (i0 * d.NH + h) * d.D, ldq);
  if (aK)
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)nk, (int)d.D, (int)bq, d.scale, dP.data(), (int)nk, qBlk, ldq, 1.f,
                aK + g * d.D, ldk);
}

// The optional last argument: true = the products on the bf16 units (attention-bf16.cc), refused where they cannot run.
static bool readBf16(const Napi::CallbackInfo& info, size_t i, const char* op) {
  if (info.Length() <= i || !info[i].IsBoolean() || !info[i].As<Napi::Boolean>().Value()) return false;
  if (!bf16Usable()) throw ArgError{std::string(op) + ": bf16 products need the AVX-512 BF16 units, which this CPU lacks"};
  return true;
}

// K and V of sequence s (first row rowOf(s), dims dimsOf(s)) for every KV head, packed for the bf16 products.
template <class DimsOf, class RowOf>
static std::vector<KV16> packAll(int64_t nseq, const Dims& d, const float* k, const float* v, bool forward, DimsOf dimsOf, RowOf rowOf) {
  std::vector<KV16> kv((size_t)(nseq * d.KVH));
#pragma omp parallel for schedule(dynamic) if (nseq * d.KVH > 1)
  for (int64_t i = 0; i < nseq * d.KVH; i++) {
    int64_t s = i / d.KVH, g = i % d.KVH, o = rowOf(s) * d.KVH * d.D;
    packKV16(dimsOf(s), k + o, v + o, g, forward, kv[(size_t)i]);
  }
  return kv;
}

// The bf16 backward's frame, for one sequence or a pack: per-thread transposed dK/dV accumulators [KVH·D, keys]
// (kn floats each), the units dealt round-robin as in fp32, then summed in thread order into dk/dv.
// unit(u, scratch, aK, aV) runs work unit u with this thread's accumulators (nullptr where not wanted).
template <class Unit>
static void backwardBf16(int nt, int64_t units, int64_t kn, int64_t keys, const Dims& d, float* dk, float* dv, Unit unit) {
  std::vector<float> accK(dk ? (size_t)nt * kn : 0, 0.f), accV(dv ? (size_t)nt * kn : 0, 0.f);
#pragma omp parallel num_threads(nt)
  {
    int tid = omp_get_thread_num();
    Scratch16 w;
    float* aK = dk ? accK.data() + (size_t)tid * kn : nullptr;
    float* aV = dv ? accV.data() + (size_t)tid * kn : nullptr;
#pragma omp for schedule(static, 1)
    for (int64_t u = 0; u < units; u++) unit(u, w, aK, aV);
  }
  if (dk) reduceTransposed(accK, nt, d.KVH * d.D, keys, dk);
  if (dv) reduceTransposed(accV, nt, d.KVH * d.D, keys, dv);
}

// attentionForward(q, k, v, out, lse, T, Tk, NH, KVH, D, start, scale[, bf16])
static Napi::Value attentionForward(const Napi::CallbackInfo& info) {
  const char* op = "attention";
  F32 q = f32(info, 0, op), k = f32(info, 1, op), v = f32(info, 2, op), out = f32(info, 3, op), lse = f32(info, 4, op);
  Dims d = readDims(info, 5, op);
  fits(op, "q", q.n, 0, d.T * d.NH * d.D); fits(op, "k", k.n, 0, d.Tk * d.KVH * d.D); fits(op, "v", v.n, 0, d.Tk * d.KVH * d.D);
  fits(op, "out", out.n, 0, d.T * d.NH * d.D); fits(op, "lse", lse.n, 0, d.NH * d.T);
  int64_t nb = (d.T + BQ - 1) / BQ, units = nb * d.NH;
  const bool bf16 = readBf16(info, 12, op);  // (checked first: a bf16 request without the units is an error either way)
  // Decode takes the f32 path with either compute (bf16 would repack all of K and V for one query).
  if (d.T <= kDecodeQueries) {
    if (d.T > 0) decodeForward(d, q.p, k.p, v.p, out.p, lse.p);
    return info.Env().Undefined();
  }
  if (bf16) {
    auto kv = packAll(1, d, k.p, v.p, true, [&](int64_t) { return d; }, [](int64_t) { return int64_t(0); });
#pragma omp parallel if (units > 1)
    {
      Scratch16 w;
#pragma omp for schedule(static, 1)
      for (int64_t u = 0; u < units; u++) {
        int64_t qb = nb - 1 - u / d.NH, h = u % d.NH;
        forwardUnitBf16(d, q.p, kv[(size_t)(h / (d.NH / d.KVH))], out.p, lse.p, h, qb * BQ, w);
      }
    }
    return info.Env().Undefined();
  }
#pragma omp parallel if (units > 1)
  {
    std::vector<float> S;
#pragma omp for schedule(static, 1)
    for (int64_t u = 0; u < units; u++) {
      int64_t qb = nb - 1 - u / d.NH, h = u % d.NH;  // largest blocks first for balance
      forwardUnit(d, q.p, k.p, v.p, out.p, lse.p, h, qb * BQ, S);
    }
  }
  return info.Env().Undefined();
}

// dst += Σ over nt per-thread accumulators of kn floats each (in thread order: reproducible).
static void reduceInto(const std::vector<float>& acc, int nt, int64_t kn, float* dst) {
#pragma omp parallel for schedule(static) if (kn > 32768)
  for (int64_t i = 0; i < kn; i++) {
    float s = 0;
    for (int t = 0; t < nt; t++) s += acc[(size_t)t * kn + i];
    dst[i] += s;
  }
}

// attentionBackward(dOut, q, k, v, out, lse, dq|null, dk|null, dv|null, T, Tk, NH, KVH, D, start, scale[, bf16])
// Gradients accumulate (+=). With P = softmax(S), S = scale·QKᵀ:
//   dV += Pᵀ dO;  dP = dO Vᵀ;  dS = P ∘ (dP − rowsum(dO ∘ O));  dQ += scale·dS K;  dK += scale·dSᵀ Q
static Napi::Value attentionBackward(const Napi::CallbackInfo& info) {
  const char* op = "attentionBackward";
  F32 dO = f32(info, 0, op), q = f32(info, 1, op), k = f32(info, 2, op), v = f32(info, 3, op), out = f32(info, 4, op),
      lse = f32(info, 5, op);
  F32 dq = f32opt(info, 6, op), dk = f32opt(info, 7, op), dv = f32opt(info, 8, op);
  Dims d = readDims(info, 9, op);
  int64_t qn = d.T * d.NH * d.D, kn = d.Tk * d.KVH * d.D;
  fits(op, "dOut", dO.n, 0, qn); fits(op, "q", q.n, 0, qn); fits(op, "out", out.n, 0, qn); fits(op, "lse", lse.n, 0, d.NH * d.T);
  fits(op, "k", k.n, 0, kn); fits(op, "v", v.n, 0, kn);
  if (dq.p) fits(op, "dq", dq.n, 0, qn);
  if (dk.p) fits(op, "dk", dk.n, 0, kn);
  if (dv.p) fits(op, "dv", dv.n, 0, kn);
  int64_t nb = (d.T + BQ - 1) / BQ, units = nb * d.NH;
  int nt = omp_get_max_threads();
  if (units < nt) nt = (int)std::max<int64_t>(units, 1);
  if (readBf16(info, 16, op)) {
    auto kv = packAll(1, d, k.p, v.p, false, [&](int64_t) { return d; }, [](int64_t) { return int64_t(0); });
    backwardBf16(nt, units, kn, d.Tk, d, dk.p, dv.p, [&](int64_t u, Scratch16& w, float* aK, float* aV) {
      int64_t qb = nb - 1 - u / d.NH, h = u % d.NH;
      backwardUnitBf16(d, dO.p, q.p, kv[(size_t)(h / (d.NH / d.KVH))], out.p, lse.p, dq.p, aK, aV, d.Tk, h, qb * BQ, w);
    });
    return info.Env().Undefined();
  }
  // Per-thread dK/dV accumulators: query heads of one group, in different threads, add into the same rows.
  std::vector<float> accK(dk.p ? (size_t)nt * kn : 0, 0.f), accV(dv.p ? (size_t)nt * kn : 0, 0.f);
#pragma omp parallel num_threads(nt)
  {
    int tid = omp_get_thread_num();
    std::vector<float> P, dP;
    float* aK = dk.p ? accK.data() + (size_t)tid * kn : nullptr;
    float* aV = dv.p ? accV.data() + (size_t)tid * kn : nullptr;
#pragma omp for schedule(static, 1)
    for (int64_t u = 0; u < units; u++) {
      int64_t qb = nb - 1 - u / d.NH, h = u % d.NH;
      backwardUnit(d, dO.p, q.p, k.p, v.p, out.p, lse.p, dq.p, aK, aV, h, qb * BQ, P, dP);
    }
  }
  if (dk.p) reduceInto(accK, nt, kn, dk.p);
  if (dv.p) reduceInto(accV, nt, kn, dv.p);
  return info.Env().Undefined();
}

// Packed sequences (batched training): S samples' tokens concatenated into one [T, ·] row block, sample s
// holding rows offsets[s] … offsets[s+1]−1, each attending causally to its own rows only (positions restart
// at 0 per sample, no KV cache). The work units are every sample's (head, query block), largest first, so a
// pack of short samples is one parallel loop. Same layouts as above with T the packed total; lse [NH, T].
struct Pack {
  std::vector<int64_t> blockSeg, blockI0;  // query blocks, largest key range first
};

static Pack readPack(const I32& off, int64_t T, const char* op) {
  if (off.n < 1 || off.p[0] != 0 || off.p[off.n - 1] != T)
    throw ArgError{std::string(op) + ": offsets must run from 0 to the packed length " + std::to_string(T)};
  std::vector<std::pair<int64_t, int64_t>> blocks;  // (segment, i0)
  for (size_t s = 0; s + 1 < off.n; s++) {
    if (off.p[s + 1] < off.p[s]) throw ArgError{std::string(op) + ": offsets must not decrease (at sample " + std::to_string(s) + ")"};
    for (int64_t i0 = 0; i0 < off.p[s + 1] - off.p[s]; i0 += BQ) blocks.push_back({(int64_t)s, i0});
  }
  auto end = [&](const std::pair<int64_t, int64_t>& b) { return std::min(b.second + BQ, (int64_t)(off.p[b.first + 1] - off.p[b.first])); };
  std::stable_sort(blocks.begin(), blocks.end(), [&](const auto& a, const auto& b) { return end(a) > end(b); });
  Pack p;
  for (auto& b : blocks) { p.blockSeg.push_back(b.first); p.blockI0.push_back(b.second); }
  return p;
}

// Dims of sample s of a pack: a sequence of its own length, lse rows strided by the packed total.
static Dims segDims(const Dims& all, const I32& off, int64_t s) {
  Dims d = all;
  d.T = d.Tk = off.p[s + 1] - off.p[s];
  d.start = 0;
  d.lseStride = all.T;
  return d;
}

static Dims readPackedDims(const Napi::CallbackInfo& info, int i, int64_t T, const char* op) {
  Dims d{T, T, integer(info, i, op), integer(info, i + 1, op), integer(info, i + 2, op), 0, (float)number(info, i + 3, op), T};
  positive(op, "NH", d.NH); positive(op, "KVH", d.KVH); positive(op, "head dim", d.D);
  if (d.NH % d.KVH != 0)
    throw ArgError{std::string(op) + ": query heads " + std::to_string(d.NH) + " must be a multiple of KV heads " + std::to_string(d.KVH)};
  return d;
}

// attentionPackedForward(q, k, v, out, lse, offsets Int32[S+1], NH, KVH, D, scale[, bf16])
static Napi::Value attentionPackedForward(const Napi::CallbackInfo& info) {
  const char* op = "attentionPacked";
  F32 q = f32(info, 0, op), k = f32(info, 1, op), v = f32(info, 2, op), out = f32(info, 3, op), lse = f32(info, 4, op);
  I32 off = i32(info, 5, op);
  int64_t T = off.n ? off.p[off.n - 1] : 0;
  Dims d = readPackedDims(info, 6, T, op);
  fits(op, "q", q.n, 0, T * d.NH * d.D); fits(op, "k", k.n, 0, T * d.KVH * d.D); fits(op, "v", v.n, 0, T * d.KVH * d.D);
  fits(op, "out", out.n, 0, T * d.NH * d.D); fits(op, "lse", lse.n, 0, d.NH * T);
  Pack pk = readPack(off, T, op);
  int64_t units = (int64_t)pk.blockSeg.size() * d.NH;
  if (readBf16(info, 10, op)) {
    auto kv = packAll((int64_t)off.n - 1, d, k.p, v.p, true, [&](int64_t s) { return segDims(d, off, s); }, [&](int64_t s) { return (int64_t)off.p[s]; });
#pragma omp parallel if (units > 1)
    {
      Scratch16 w;
#pragma omp for schedule(static, 1)
      for (int64_t u = 0; u < units; u++) {
        int64_t b = u / d.NH, h = u % d.NH, s = pk.blockSeg[b], o = off.p[s];
        forwardUnitBf16(segDims(d, off, s), q.p + o * d.NH * d.D, kv[(size_t)(s * d.KVH + h / (d.NH / d.KVH))], out.p + o * d.NH * d.D,
                        lse.p + o, h, pk.blockI0[b], w);
      }
    }
    return info.Env().Undefined();
  }
#pragma omp parallel if (units > 1)
  {
    std::vector<float> S;
#pragma omp for schedule(static, 1)
    for (int64_t u = 0; u < units; u++) {
      int64_t b = u / d.NH, h = u % d.NH, s = pk.blockSeg[b], o = off.p[s];
      forwardUnit(segDims(d, off, s), q.p + o * d.NH * d.D, k.p + o * d.KVH * d.D, v.p + o * d.KVH * d.D, out.p + o * d.NH * d.D,
                  lse.p + o, h, pk.blockI0[b], S);
    }
  }
  return info.Env().Undefined();
}

// attentionPackedBackward(dOut, q, k, v, out, lse, dq|null, dk|null, dv|null, offsets, NH, KVH, D, scale[, bf16]); += as above.
static Napi::Value attentionPackedBackward(const Napi::CallbackInfo& info) {
  const char* op = "attentionPackedBackward";
  F32 dO = f32(info, 0, op), q = f32(info, 1, op), k = f32(info, 2, op), v = f32(info, 3, op), out = f32(info, 4, op),
      lse = f32(info, 5, op);
  F32 dq = f32opt(info, 6, op), dk = f32opt(info, 7, op), dv = f32opt(info, 8, op);
  I32 off = i32(info, 9, op);
  int64_t T = off.n ? off.p[off.n - 1] : 0;
  Dims d = readPackedDims(info, 10, T, op);
  int64_t qn = T * d.NH * d.D, kn = T * d.KVH * d.D;
  fits(op, "dOut", dO.n, 0, qn); fits(op, "q", q.n, 0, qn); fits(op, "out", out.n, 0, qn); fits(op, "lse", lse.n, 0, d.NH * T);
  fits(op, "k", k.n, 0, kn); fits(op, "v", v.n, 0, kn);
  if (dq.p) fits(op, "dq", dq.n, 0, qn);
  if (dk.p) fits(op, "dk", dk.n, 0, kn);
  if (dv.p) fits(op, "dv", dv.n, 0, kn);
  Pack pk = readPack(off, T, op);
  int64_t units = (int64_t)pk.blockSeg.size() * d.NH;
  int nt = omp_get_max_threads();
  if (units < nt) nt = (int)std::max<int64_t>(units, 1);
  if (readBf16(info, 14, op)) {
    auto kv = packAll((int64_t)off.n - 1, d, k.p, v.p, false, [&](int64_t s) { return segDims(d, off, s); }, [&](int64_t s) { return (int64_t)off.p[s]; });
    backwardBf16(nt, units, kn, T, d, dk.p, dv.p, [&](int64_t u, Scratch16& w, float* aK, float* aV) {
      int64_t b = u / d.NH, h = u % d.NH, s = pk.blockSeg[b], o = off.p[s], qo = o * d.NH * d.D;
      backwardUnitBf16(segDims(d, off, s), dO.p + qo, q.p + qo, kv[(size_t)(s * d.KVH + h / (d.NH / d.KVH))], out.p + qo, lse.p + o,
                       dq.p ? dq.p + qo : nullptr, aK ? aK + o : nullptr, aV ? aV + o : nullptr, T, h, pk.blockI0[b], w);
    });
    return info.Env().Undefined();
  }
  std::vector<float> accK(dk.p ? (size_t)nt * kn : 0, 0.f), accV(dv.p ? (size_t)nt * kn : 0, 0.f);
#pragma omp parallel num_threads(nt)
  {
    int tid = omp_get_thread_num();
    std::vector<float> P, dP;
    float* aK = dk.p ? accK.data() + (size_t)tid * kn : nullptr;
    float* aV = dv.p ? accV.data() + (size_t)tid * kn : nullptr;
#pragma omp for schedule(static, 1)
    for (int64_t u = 0; u < units; u++) {
      int64_t b = u / d.NH, h = u % d.NH, s = pk.blockSeg[b], o = off.p[s], qo = o * d.NH * d.D, ko = o * d.KVH * d.D;
      backwardUnit(segDims(d, off, s), dO.p + qo, q.p + qo, k.p + ko, v.p + ko, out.p + qo, lse.p + o, dq.p ? dq.p + qo : nullptr,
                   aK ? aK + ko : nullptr, aV ? aV + ko : nullptr, h, pk.blockI0[b], P, dP);
    }
  }
  if (dk.p) reduceInto(accK, nt, kn, dk.p);
  if (dv.p) reduceInto(accV, nt, kn, dv.p);
  return info.Env().Undefined();
}

void registerAttention(Napi::Env env, Napi::Object exports) {
  LIFT_EXPORT("attentionForward", attentionForward);
  LIFT_EXPORT("attentionBackward", attentionBackward);
  LIFT_EXPORT("attentionPackedForward", attentionPackedForward);
  LIFT_EXPORT("attentionPackedBackward", attentionPackedBackward);
}

}  // namespace lift
