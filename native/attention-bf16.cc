// Attention's six products on the AVX-512 BF16 units (--compute bf16): the same query-block units as
// attention.cc — scores, softmax in fp32 with the saved log-sum-exp, probabilities recomputed in backward — with
// every product's operands rounded to bf16 and fp32 sums (vdpbf16ps, bf16.h's micro-kernel). What stays fp32:
// the scores and probabilities themselves (softmax, masking, lse), dS = P ∘ (dP − rowsum(dO ∘ O)), every
// output and gradient. Why: with the frozen projections on the bf16 units, attention's fp32 sgemm was 41 % of
// a 1536-token step (docs/speed.md); its products are FLOP-bound (64 × nk × D per product, 7 per unit).
//
// Operand layouts (u32 = a pair of bf16, the two values one vdpbf16ps lane multiplies; 64-column strips):
//   "cols" of X[n, D] (B = Xᵀ, reduce over D):  strip s of 64 rows of X, pair p of D:  P[s][p][c] = X[64s+c][2p..2p+1]
//   "rows" of X[n, m] (B = X,  reduce over n):  strip s of 64 columns, pair p of rows: P[s][p][c] = X[2p..2p+1][64s+c]
// Per (sequence, KV head) K and V are packed once per call (KV16), shared by every query head and block.
#include "attention.h"
#include "bf16.h"
#include "simd-math.h"
#include <cmath>
#include <algorithm>
#include <vector>

namespace lift {

static inline uint32_t pair16(float lo, float hi) { return (uint32_t)f2bf(lo) | ((uint32_t)f2bf(hi) << 16); }

// "cols" of X[n, D] (row stride ld): ceil(n/64) strips × ceil(D/2) pairs × 64.
static void packCols(const float* X, int64_t n, int64_t D, int64_t ld, std::vector<uint32_t>& P) {
  int64_t Dh = (D + 1) / 2, strips = (n + 63) / 64;
  P.assign((size_t)(strips * Dh * 64), 0u);
  for (int64_t r = 0; r < n; r++) {
    uint32_t* dst = P.data() + (r / 64) * Dh * 64 + (r % 64);
    const float* x = X + r * ld;
    for (int64_t p = 0; p < Dh; p++) dst[p * 64] = pair16(x[2 * p], 2 * p + 1 < D ? x[2 * p + 1] : 0.f);
  }
}

// "rows" of X[n, m] (row stride ld): ceil(m/64) strips × ceil(n/2) pairs × 64. Two rows at a time, 16 columns
// per vector: each rounded to bf16 and zero-extended to 32 bits, the odd row's shifted into the high half.
LIFT_BF16 static void packRows(const float* X, int64_t n, int64_t m, int64_t ld, std::vector<uint32_t>& P, float factor = 1.f) {
  __m512 f = _mm512_set1_ps(factor);
  int64_t Nh = (n + 1) / 2, strips = (m + 63) / 64;
  P.resize((size_t)(strips * Nh * 64));
  for (int64_t s = 0; s < strips; s++)
    for (int64_t p = 0; p < Nh; p++) {
      const float* a = X + 2 * p * ld;
      const float* b = 2 * p + 1 < n ? a + ld : nullptr;
      uint32_t* dst = P.data() + (s * Nh + p) * 64;
      for (int64_t c = 0; c < 64; c += 16) {
        int64_t col = 64 * s + c, left = m - col;
        __mmask16 mk = left >= 16 ? (__mmask16)0xffff : left > 0 ? (__mmask16)((1u << left) - 1) : (__mmask16)0;
        __m512i lo = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(_mm512_mul_ps(f, _mm512_maskz_loadu_ps(mk, a + col))));
        __m512i hi = b ? _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(_mm512_mul_ps(f, _mm512_maskz_loadu_ps(mk, b + col)))) : _mm512_setzero_si512();
        _mm512_storeu_si512(dst + c, _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
      }
    }
}

// C[M, N] (+)= A[M, 2·pairs] (bf16 rows, stride lda, zero-padded to the pairs) · B (64-column strips of `pairs`
// pairs each, strip stride in u32). C row stride ldc.
LIFT_BF16 static void mm(const uint16_t* A, int64_t lda, int64_t M, const uint32_t* B, int64_t stripStride, int64_t pairs,
                         int64_t N, float* C, int64_t ldc, bool acc) {
  for (int64_t s = 0; s * 64 < N; s++) {
    int64_t w = std::min<int64_t>(64, N - 64 * s);
    for (int64_t m0 = 0; m0 < M; m0 += 6) {
      int64_t mr = std::min<int64_t>(6, M - m0);
      pick((int)mr, (int)((w + 15) / 16))(A + m0 * lda, lda, B + s * stripStride, 64, pairs, C + m0 * ldc + 64 * s, ldc, w, acc);
    }
  }
}

// rows [n, D] (stride ld) × factor → bf16 [n, Dp] (Dp = D rounded up to even, pad 0).
LIFT_BF16 static void roundRows(const float* X, int64_t n, int64_t D, int64_t ld, float factor, std::vector<float>& tmp,
                                std::vector<uint16_t>& out, int64_t Dp) {
  out.resize((size_t)(n * Dp));
  tmp.resize((size_t)D);
  for (int64_t r = 0; r < n; r++) {
    const float* x = X + r * ld;
    if (factor != 1.f) {
      for (int64_t e = 0; e < D; e++) tmp[e] = x[e] * factor;
      x = tmp.data();
    }
    toBf16Row(x, D, out.data() + r * Dp, Dp);
  }
}

// bf16 [n, Dp] → its transpose [D, np] (np = n rounded up to even, pad 0).
static void transpose16(const std::vector<uint16_t>& X, int64_t n, int64_t D, int64_t Dp, std::vector<uint16_t>& out, int64_t np) {
  out.assign((size_t)(D * np), 0);
  for (int64_t r = 0; r < n; r++)
    for (int64_t e = 0; e < D; e++) out[e * np + r] = X[r * Dp + e];
}

// dS = P ∘ (dP − dᵢ) for rows of P, dP [bq, nk], in one pass two rows at a time: as bf16 rows [bq, nkp] (rows,
// for dQ) and as pairs of rows in 64-column strips (pairs, for dK); either may be null.
LIFT_BF16 static void dsRows(const float* P, const float* dP, const float* di, int64_t bq, int64_t nk, int64_t nkp,
                             std::vector<uint16_t>* rows, std::vector<uint32_t>* pairs) {
  int64_t Nh = (bq + 1) / 2, strips = (nk + 63) / 64;
  if (rows) rows->assign((size_t)(bq * nkp), 0);
  if (pairs) pairs->resize((size_t)(strips * Nh * 64));
  for (int64_t p = 0; p < Nh; p++) {
    int64_t ra = 2 * p, rb = 2 * p + 1;
    bool hasB = rb < bq;
    __m512 da = _mm512_set1_ps(di[ra]), db = _mm512_set1_ps(hasB ? di[rb] : 0.f);
    for (int64_t col = 0; col < strips * 64; col += 16) {
      int64_t left = nk - col;
      __mmask16 mk = left >= 16 ? (__mmask16)0xffff : left > 0 ? (__mmask16)((1u << left) - 1) : (__mmask16)0;
      __m512 a = _mm512_mul_ps(_mm512_maskz_loadu_ps(mk, P + ra * nk + col), _mm512_sub_ps(_mm512_maskz_loadu_ps(mk, dP + ra * nk + col), da));
      __m512 b = hasB ? _mm512_mul_ps(_mm512_maskz_loadu_ps(mk, P + rb * nk + col), _mm512_sub_ps(_mm512_maskz_loadu_ps(mk, dP + rb * nk + col), db))
                      : _mm512_setzero_ps();
      __m512i a16 = (__m512i)_mm512_castsi256_si512((__m256i)_mm512_cvtneps_pbh(a));
      __m512i b16 = (__m512i)_mm512_castsi256_si512((__m256i)_mm512_cvtneps_pbh(b));
      if (rows && mk) {
        _mm256_mask_storeu_epi16(rows->data() + ra * nkp + col, mk, _mm512_castsi512_si256(a16));
        if (hasB) _mm256_mask_storeu_epi16(rows->data() + rb * nkp + col, mk, _mm512_castsi512_si256(b16));
      }
      if (pairs) {
        __m512i lo = _mm512_cvtepu16_epi32(_mm512_castsi512_si256(a16)), hi = _mm512_cvtepu16_epi32(_mm512_castsi512_si256(b16));
        _mm512_storeu_si512(pairs->data() + ((col / 64) * Nh + p) * 64 + (col % 64), _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
      }
    }
  }
}

void packKV16(const Dims& d, const float* k, const float* v, int64_t g, bool forward, KV16& kv) {
  int64_t ld = d.KVH * d.D;
  kv.keyPairs = (d.Tk + 1) / 2;
  packCols(k + g * d.D, d.Tk, d.D, ld, kv.kCols);                       // S = Q·Kᵀ
  if (forward) packRows(v + g * d.D, d.Tk, d.D, ld, kv.vRows);          // O = P·V
  else {
    packCols(v + g * d.D, d.Tk, d.D, ld, kv.vCols);                     // dP = dO·Vᵀ
    packRows(k + g * d.D, d.Tk, d.D, ld, kv.kRows, d.scale);            // dQ = dS·(scale·K)
  }
}

// S[bq, nk] = softmax(scale·Q_blk·Kᵀ) (masked) into S; Qs = the block's scale·Q rows in bf16 (kept for dK).
static void probs16(const Dims& d, const float* q, const KV16& kv, int64_t h, int64_t i0, int64_t bq, int64_t nk,
                    Scratch16& w, float* lseOut, const float* lseIn) {
  int64_t Dp = (d.D + 1) & ~int64_t(1), Dh = Dp / 2;
  roundRows(q + (i0 * d.NH + h) * d.D, bq, d.D, d.NH * d.D, d.scale, w.tmp, w.qs, Dp);
  w.S.resize((size_t)(bq * nk));
  mm(w.qs.data(), Dp, bq, kv.kCols.data(), Dh * 64, Dh, nk, w.S.data(), nk, false);
  softmaxRows(d, w.S.data(), h, i0, bq, nk, lseOut, lseIn);
}

// The forward leaves the normalisation to the output: O = (exp(S − max)·V) / Σ exp, so the exponentials are
// rounded to bf16 as they are made (one pass over the scores instead of three).
void forwardUnitBf16(const Dims& d, const float* q, const KV16& kv, float* out, float* lse, int64_t h, int64_t i0, Scratch16& w) {
  int64_t bq = std::min(BQ, d.T - i0), nk = d.start + i0 + bq, nkp = (nk + 1) & ~int64_t(1);
  int64_t Dp = (d.D + 1) & ~int64_t(1), Dh = Dp / 2, ldq = d.NH * d.D;
  roundRows(q + (i0 * d.NH + h) * d.D, bq, d.D, ldq, d.scale, w.tmp, w.qs, Dp);
  w.S.resize((size_t)(bq * nk));
  mm(w.qs.data(), Dp, bq, kv.kCols.data(), Dh * 64, Dh, nk, w.S.data(), nk, false);
  w.a.assign((size_t)(bq * nkp), 0);
  w.di.resize((size_t)bq);
  for (int64_t r = 0; r < bq; r++) {
    float* s = w.S.data() + r * nk;
    int64_t lim = d.start + i0 + r + 1;  // keys visible to this row
    float mx = vmax(s, lim);
    double sum = vexpShift(s, s, lim, mx, 1.f);
    w.di[r] = (float)(1.0 / sum);
    lse[h * d.lseStride + i0 + r] = mx + (float)std::log(sum);
    toBf16Row(s, lim, w.a.data() + r * nkp, lim);  // the rest of the row stays 0 (masked)
  }
  float* o = out + (i0 * d.NH + h) * d.D;
  mm(w.a.data(), nkp, bq, kv.vRows.data(), kv.keyPairs * 64, nkp / 2, d.D, o, ldq, false);
  for (int64_t r = 0; r < bq; r++)
    for (int64_t e = 0; e < d.D; e++) o[r * ldq + e] *= w.di[r];
}

void backwardUnitBf16(const Dims& d, const float* dO, const float* q, const KV16& kv, const float* out, const float* lse, float* dq,
                      float* aKT, float* aVT, int64_t accLd, int64_t h, int64_t i0, Scratch16& w) {
  int64_t bq = std::min(BQ, d.T - i0), nk = d.start + i0 + bq, nkp = (nk + 1) & ~int64_t(1), g = h / (d.NH / d.KVH);
  int64_t Dp = (d.D + 1) & ~int64_t(1), Dh = Dp / 2, bqp = (bq + 1) & ~int64_t(1), ldq = d.NH * d.D;
  const float* dOBlk = dO + (i0 * d.NH + h) * d.D;
  const float* oBlk = out + (i0 * d.NH + h) * d.D;
  probs16(d, q, kv, h, i0, bq, nk, w, nullptr, lse);  // w.S = P, w.qs = scale·Q
  roundRows(dOBlk, bq, d.D, ldq, 1.f, w.tmp, w.dOb, Dp);
  if (aVT) {  // dVᵀ[D, nk] += dOᵀ[D, bq] · P[bq, nk]
    transpose16(w.dOb, bq, d.D, Dp, w.t, bqp);
    packRows(w.S.data(), bq, nk, nk, w.pk);
    mm(w.t.data(), bqp, d.D, w.pk.data(), bqp / 2 * 64, bqp / 2, nk, aVT + g * d.D * accLd, accLd, true);
  }
  if (!dq && !aKT) return;
  w.dP.resize((size_t)(bq * nk));
  mm(w.dOb.data(), Dp, bq, kv.vCols.data(), Dh * 64, Dh, nk, w.dP.data(), nk, false);  // dP = dO·Vᵀ
  w.di.resize((size_t)bq);
  for (int64_t r = 0; r < bq; r++) {
    double Di = 0;
    for (int64_t e = 0; e < d.D; e++) Di += (double)dOBlk[r * ldq + e] * oBlk[r * ldq + e];
    w.di[r] = (float)Di;
  }
  dsRows(w.S.data(), w.dP.data(), w.di.data(), bq, nk, nkp, dq ? &w.a : nullptr, aKT ? &w.pk : nullptr);
  if (dq)  // dQ += dS·(scale·K)
    mm(w.a.data(), nkp, bq, kv.kRows.data(), kv.keyPairs * 64, nkp / 2, d.D, dq + (i0 * d.NH + h) * d.D, ldq, true);
  if (aKT) {  // dKᵀ[D, nk] += (scale·Q)ᵀ[D, bq] · dS[bq, nk]
    transpose16(w.qs, bq, d.D, Dp, w.t, bqp);
    mm(w.t.data(), bqp, d.D, w.pk.data(), bqp / 2 * 64, bqp / 2, nk, aKT + g * d.D * accLd, accLd, true);
  }
}

void reduceTransposed(const std::vector<float>& acc, int nt, int64_t C, int64_t keys, float* dst) {
  int64_t per = C * keys;
  // 16 accumulator rows at a time: contiguous reads along the keys, one 64-byte run of dst per key.
#pragma omp parallel for schedule(static) if (keys * C > 32768)
  for (int64_t c0 = 0; c0 < C; c0 += 16)
    for (int64_t j = 0; j < keys; j++)
      for (int64_t c = c0; c < std::min(C, c0 + 16); c++) {
        float s = 0;
        for (int t = 0; t < nt; t++) s += acc[(size_t)(t * per + c * keys + j)];
        dst[j * C + c] += s;
      }
}

}  // namespace lift
