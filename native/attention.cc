// Causal grouped-query attention, forward and backward, in query blocks (flash-attention style):
// scores for a block of BQ queries are formed with sgemm, soft-maxed in place and multiplied by V;
// only the output and the per-row log-sum-exp are kept, and backward recomputes the probabilities.
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
#include <algorithm>
#include <cmath>
#include <cblas.h>
#include <limits>
#include <vector>

namespace lift {

static const int64_t BQ = 64;

struct Dims {
  int64_t T, Tk, NH, KVH, D, start;
  float scale;
};

static Dims readDims(const Napi::CallbackInfo& info, int i, const char* op) {
  Dims d{integer(info, i, op), integer(info, i + 1, op), integer(info, i + 2, op), integer(info, i + 3, op),
         integer(info, i + 4, op), integer(info, i + 5, op), (float)number(info, i + 6, op)};
  nonneg(op, "T", d.T); positive(op, "NH", d.NH); positive(op, "KVH", d.KVH); positive(op, "head dim", d.D); nonneg(op, "start", d.start);
  if (d.NH % d.KVH != 0)
    throw ArgError{std::string(op) + ": query heads " + std::to_string(d.NH) + " must be a multiple of KV heads " + std::to_string(d.KVH)};
  if (d.start + d.T > d.Tk)
    throw ArgError{std::string(op) + ": start " + std::to_string(d.start) + " + T " + std::to_string(d.T) + " exceeds the " +
                   std::to_string(d.Tk) + " keys"};
  return d;
}

// Forms P = softmax(scale · Q_blk K^T) with the causal mask for queries i0 … i0+bq−1 of head h into S
// (bq × nk, row stride nk). Writes lse when given, else uses the saved lse to recompute P.
static void probs(const Dims& d, const float* q, const float* k, int64_t h, int64_t i0, int64_t bq, int64_t nk,
                  float* S, float* lseOut, const float* lseIn) {
  int64_t g = h / (d.NH / d.KVH);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)bq, (int)nk, (int)d.D, d.scale, q + (i0 * d.NH + h) * d.D,
              (int)(d.NH * d.D), k + g * d.D, (int)(d.KVH * d.D), 0.f, S, (int)nk);
  for (int64_t r = 0; r < bq; r++) {
    float* s = S + r * nk;
    int64_t lim = d.start + i0 + r + 1;  // keys visible to this row
    if (lseIn) {
      float l = lseIn[h * d.T + i0 + r];
      for (int64_t j = 0; j < lim; j++) s[j] = std::exp(s[j] - l);
    } else {
      float mx = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j < lim; j++) mx = std::max(mx, s[j]);
      double sum = 0;
      for (int64_t j = 0; j < lim; j++) { s[j] = std::exp(s[j] - mx); sum += s[j]; }
      float inv = (float)(1.0 / sum);
      for (int64_t j = 0; j < lim; j++) s[j] *= inv;
      lseOut[h * d.T + i0 + r] = mx + (float)std::log(sum);
    }
    for (int64_t j = lim; j < nk; j++) s[j] = 0.f;
  }
}

// attentionForward(q, k, v, out, lse, T, Tk, NH, KVH, D, start, scale)
static Napi::Value attentionForward(const Napi::CallbackInfo& info) {
  const char* op = "attention";
  F32 q = f32(info, 0, op), k = f32(info, 1, op), v = f32(info, 2, op), out = f32(info, 3, op), lse = f32(info, 4, op);
  Dims d = readDims(info, 5, op);
  fits(op, "q", q.n, 0, d.T * d.NH * d.D); fits(op, "k", k.n, 0, d.Tk * d.KVH * d.D); fits(op, "v", v.n, 0, d.Tk * d.KVH * d.D);
  fits(op, "out", out.n, 0, d.T * d.NH * d.D); fits(op, "lse", lse.n, 0, d.NH * d.T);
  int64_t nb = (d.T + BQ - 1) / BQ, units = nb * d.NH;
#pragma omp parallel if (units > 1)
  {
    std::vector<float> S;
#pragma omp for schedule(static, 1)
    for (int64_t u = 0; u < units; u++) {
      int64_t qb = nb - 1 - u / d.NH, h = u % d.NH;  // largest blocks first for balance
      int64_t i0 = qb * BQ, bq = std::min(BQ, d.T - i0), nk = d.start + i0 + bq, g = h / (d.NH / d.KVH);
      S.resize((size_t)(bq * nk));
      probs(d, q.p, k.p, h, i0, bq, nk, S.data(), lse.p, nullptr);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)bq, (int)d.D, (int)nk, 1.f, S.data(), (int)nk,
                  v.p + g * d.D, (int)(d.KVH * d.D), 0.f, out.p + (i0 * d.NH + h) * d.D, (int)(d.NH * d.D));
    }
  }
  return info.Env().Undefined();
}

// attentionBackward(dOut, q, k, v, out, lse, dq|null, dk|null, dv|null, T, Tk, NH, KVH, D, start, scale)
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
      int64_t i0 = qb * BQ, bq = std::min(BQ, d.T - i0), nk = d.start + i0 + bq, g = h / (d.NH / d.KVH);
      int ldq = (int)(d.NH * d.D), ldk = (int)(d.KVH * d.D);
      const float* qBlk = q.p + (i0 * d.NH + h) * d.D;
      const float* dOBlk = dO.p + (i0 * d.NH + h) * d.D;
      const float* oBlk = out.p + (i0 * d.NH + h) * d.D;
      P.resize((size_t)(bq * nk));
      dP.resize((size_t)(bq * nk));
      probs(d, q.p, k.p, h, i0, bq, nk, P.data(), nullptr, lse.p);
      if (aV)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)nk, (int)d.D, (int)bq, 1.f, P.data(), (int)nk, dOBlk, ldq, 1.f,
                    aV + g * d.D, ldk);
      if (!dq.p && !aK) continue;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)bq, (int)nk, (int)d.D, 1.f, dOBlk, ldq, v.p + g * d.D, ldk, 0.f,
                  dP.data(), (int)nk);
      for (int64_t r = 0; r < bq; r++) {
        double Di = 0;
        for (int64_t e = 0; e < d.D; e++) Di += (double)dOBlk[r * ldq + e] * oBlk[r * ldq + e];
        float di = (float)Di;
        float *p = P.data() + r * nk, *dp = dP.data() + r * nk;
        for (int64_t j = 0; j < nk; j++) dp[j] = p[j] * (dp[j] - di);  // dS (masked entries have p = 0)
      }
      if (dq.p)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)bq, (int)d.D, (int)nk, d.scale, dP.data(), (int)nk,
                    k.p + g * d.D, ldk, 1.f, dq.p + (i0 * d.NH + h) * d.D, ldq);
      if (aK)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)nk, (int)d.D, (int)bq, d.scale, dP.data(), (int)nk, qBlk, ldq,
                    1.f, aK + g * d.D, ldk);
    }
  }
  // Reduce the per-thread accumulators.
  auto reduce = [&](std::vector<float>& acc, float* dst) {
#pragma omp parallel for schedule(static) if (kn > 32768)
    for (int64_t i = 0; i < kn; i++) {
      float s = 0;
      for (int t = 0; t < nt; t++) s += acc[(size_t)t * kn + i];
      dst[i] += s;
    }
  };
  if (dk.p) reduce(accK, dk.p);
  if (dv.p) reduce(accV, dv.p);
  return info.Env().Undefined();
}

void registerAttention(Napi::Env env, Napi::Object exports) {
  LIFT_EXPORT("attentionForward", attentionForward);
  LIFT_EXPORT("attentionBackward", attentionBackward);
}

}  // namespace lift
