// Kernels that other kernels call directly, without N-API: the decode products (matvec.cc, quant.cc) and the
// one-row forms of RMSNorm, RoPE and SwiGLU. The op-by-op kernels (norm.cc, rope.cc, mlp.cc) loop these rows, and
// decode.cc's whole-token loop calls the same ones, so both paths compute the same bits.
#pragma once
#include <cmath>
#include <cstdint>
#include "simd-math.h"

namespace lift {

// y[M,O] = x[M,I] · W[O,I]ᵀ for M ≤ 4, W f32 (type 0) or f16/bf16 bits (1/30); allowSimd false: the portable loop.
void matvecRun(const float* x, int64_t M, int64_t I, const void* w, int type, int64_t O, float* y, bool allowSimd);
// Rows o0 … o1−1 of matvecRun's y (SIMD where the CPU has it), on the calling thread: the same per-row arithmetic, so
// a caller that splits the rows itself (decode.cc's team) gets matvecRun's bits.
void matvecRowsRun(const float* x, int64_t M, int64_t I, const void* w, int type, int64_t o0, int64_t o1, float* y, int64_t O);
// Y[M,N] = bf16(x)[M,K] · W[N,K]ᵀ on the AVX-512 BF16 units, M ≤ 4 (gemm-bf16.cc; only where bf16.h's bf16Usable()).
void bf16GemvRun(const float* x, int64_t M, int64_t K, const uint16_t* W, int64_t N, float* Y);
// y[T,O] = x[T,I] · W[O,I]ᵀ for W in ggml blocks of `type` (dequantized to f32; T ≤ 4 row by row, else tiles + sgemm).
void qMatmulRun(int type, const uint8_t* w, const float* x, float* y, int64_t T, int64_t I, int64_t O);

// batch products C_b = alpha·op(A_b)·op(B_b) + beta·C_b (gemm.cc's gemmBatched: cblas_sgemm per batch entry).
void gemmBatchedRun(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, int64_t sA,
                    const float* B, int64_t ldb, int64_t sB, float beta, float* C, int64_t ldc, int64_t sC, int64_t batch);

// C[M,N] (+)= A[M,K] · B with B = Wᵀ (tb: W[N,K]) or W (W[K,N]), fp32 on AVX-512 (gemm-f32.cc). Returns false, doing
// nothing, where it does not apply (no AVX-512, or K too long): the caller then runs OpenBLAS.
bool gemmF32(bool tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* W, int64_t ldb, float* C,
             int64_t ldc, bool acc);

// out[T, r] = scale · X[T, K] · M[r, K]ᵀ (lora.cc: LoRA's rank side, the rank in registers).
void rowsDot(const float* X, int64_t T, int64_t K, const float* M, int64_t r, float* out, float scale);

// out[C] = x · rstd · w, rstd = 1/√(mean(x²) + eps) summed in double; returns rstd.
inline float rmsnormRow(const float* x, const float* w, float* out, int64_t C, double eps) {
  double ss = 0;
  for (int64_t c = 0; c < C; c++) ss += (double)x[c] * x[c];
  const float r = (float)(1.0 / std::sqrt(ss / C + eps));
  for (int64_t c = 0; c < C; c++) out[c] = w[c] * (x[c] * r);
  return r;
}

// One position's H heads of D values rotated by the angles whose cos/sin are cs/sn [half] (R = 2·half dims
// rotated, the rest passed through); sign −1 rotates back (the backward); acc adds into y. y may alias x when !acc.
inline void ropeRow(const float* x, float* y, int64_t H, int64_t D, int64_t half, const float* cs, const float* sn, bool interleaved,
                    float sign, bool acc) {
  const int64_t R = 2 * half;
  for (int64_t h = 0; h < H; h++, x += D, y += D) {
    for (int64_t j = 0; j < half; j++) {
      int64_t a = interleaved ? 2 * j : j, b = interleaved ? 2 * j + 1 : j + half;
      float x0 = x[a], x1 = x[b], sj = sign * sn[j];
      float y0 = x0 * cs[j] - x1 * sj, y1 = x1 * cs[j] + x0 * sj;
      if (acc) { y[a] += y0; y[b] += y1; } else { y[a] = y0; y[b] = y1; }
    }
    for (int64_t d = R; d < D; d++) y[d] = acc ? y[d] + x[d] : x[d];
  }
}

// out[i] = silu(g[i]) · u[i] for i in [i, e): SIMD exp where the build has it, scalar expf for the tail.
inline void swigluRange(const float* g, const float* u, float* o, int64_t i, int64_t e) {
#if defined(__AVX512F__)
  for (; i + 16 <= e; i += 16) {
    __m512 x = _mm512_loadu_ps(g + i);
    _mm512_storeu_ps(o + i, _mm512_mul_ps(_mm512_mul_ps(x, sigmoid16(x)), _mm512_loadu_ps(u + i)));
  }
#elif defined(LIFT_SIMD_AVX2)
  for (; i + 8 <= e; i += 8) {
    __m256 x = _mm256_loadu_ps(g + i);
    _mm256_storeu_ps(o + i, _mm256_mul_ps(_mm256_mul_ps(x, sigmoid8(x)), _mm256_loadu_ps(u + i)));
  }
#endif
  for (; i < e; i++) { float x = g[i]; o[i] = x * (1.f / (1.f + std::exp(-x))) * u[i]; }
}

// out[i] = x[i] · σ(x[i]) for i in [i, e).
inline void siluRange(const float* x, float* o, int64_t i, int64_t e) {
#if defined(__AVX512F__)
  for (; i + 16 <= e; i += 16) {
    __m512 v = _mm512_loadu_ps(x + i);
    _mm512_storeu_ps(o + i, _mm512_mul_ps(v, sigmoid16(v)));
  }
#elif defined(LIFT_SIMD_AVX2)
  for (; i + 8 <= e; i += 8) {
    __m256 v = _mm256_loadu_ps(x + i);
    _mm256_storeu_ps(o + i, _mm256_mul_ps(v, sigmoid8(v)));
  }
#endif
  for (; i < e; i++) o[i] = x[i] * (1.f / (1.f + std::exp(-x[i])));
}

// out[i] = σ(a·x[i] + b) for i in [i, e) (the Gated Memory gate: a = 3, b = −3).
inline void sigmoidAffineRange(const float* x, float* o, float a, float b, int64_t i, int64_t e) {
#if defined(__AVX512F__)
  __m512 va = _mm512_set1_ps(a), vb = _mm512_set1_ps(b);
  for (; i + 16 <= e; i += 16) _mm512_storeu_ps(o + i, sigmoid16(_mm512_fmadd_ps(va, _mm512_loadu_ps(x + i), vb)));
#elif defined(LIFT_SIMD_AVX2)
  __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b);
  for (; i + 8 <= e; i += 8) _mm256_storeu_ps(o + i, sigmoid8(_mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), vb)));
#endif
  for (; i < e; i++) o[i] = 1.f / (1.f + std::exp(-(a * x[i] + b)));
}

// Row r of the Gated Memory mix: out[d] = (1 − g)·attn[d] + g·mem[d], d < D.
inline void gateMixRow(const float* a, const float* m, float g, float* o, int64_t D) {
  for (int64_t d = 0; d < D; d++) o[d] = (1.f - g) * a[d] + g * m[d];
}

}  // namespace lift
