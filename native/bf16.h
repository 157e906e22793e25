// The bf16 pieces shared by the kernels that multiply on the AVX-512 BF16 units (gemm-bf16.cc: frozen weights;
// attention-bf16.cc: attention's products): rounding, the pair-major micro-kernel and the run-time check.
// Every function that executes AVX-512 BF16 instructions carries LIFT_BF16 (a target attribute), so the addon
// loads on any x86-64 and these run only after bf16Usable() said yes.
#pragma once
#include <cstdint>
#include <cstring>
#include <immintrin.h>

#define LIFT_BF16 __attribute__((target("avx512f,avx512bf16,avx512vl,avx512bw")))

namespace lift {

/** The bf16 kernels can run here (avx512f/bw/vl/bf16, after LIFT_CPU_FEATURES hid any); gemm-bf16.cc. */
bool bf16Usable();

// ---- bf16 rounding -----------------------------------------------------------------------------------------
// Scalar twin of vcvtne2ps2bf16: round to nearest even, denormal inputs read as zero, NaN stays NaN.
static inline uint16_t f2bf(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7f800000u) == 0) return (uint16_t)((u >> 16) & 0x8000u);  // ±0 and denormals → ±0
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}
static inline float bf2f(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
static inline uint16_t rd16(const uint16_t* p) { uint16_t v; std::memcpy(&v, p, 2); return v; }
static inline uint32_t rd32(const uint16_t* p) { uint32_t v; std::memcpy(&v, p, 4); return v; }

// One row: src[K] fp32 → dst[Kp] bf16, Kp = K rounded up to even (the pad is 0).
LIFT_BF16 static inline void toBf16Row(const float* s, int64_t K, uint16_t* d, int64_t Kp) {
  int64_t k = 0;
  for (; k + 32 <= K; k += 32) {
    __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(s + k + 16), _mm512_loadu_ps(s + k));
    _mm512_storeu_si512(d + k, (__m512i)v);
  }
  for (; k < K; k += 16) {
    __mmask16 mk = (__mmask16)((K - k) >= 16 ? 0xffff : ((1u << (K - k)) - 1));
    __m256bh v = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mk, s + k));
    _mm256_mask_storeu_epi16(d + k, mk, (__m256i)v);
  }
  if (Kp > K) d[K] = 0;
}
// ---- micro-kernel --------------------------------------------------------------------------------------------
// C[MR, ≤16·NV] (+)= A[MR, 2·pairs] · B: A rows bf16 with stride lda (elements), B packed with stride ldp (u32).
template <int MR, int NV>
LIFT_BF16 static void micro(const uint16_t* A, int64_t lda, const uint32_t* B, int64_t ldp, int64_t pairs, float* C, int64_t ldc,
                            int64_t ncols, bool acc) {
  __m512 c[MR][NV];
  for (int r = 0; r < MR; r++)
    for (int v = 0; v < NV; v++) c[r][v] = _mm512_setzero_ps();
  for (int64_t p = 0; p < pairs; p++) {
    __m512bh b[NV];
    for (int v = 0; v < NV; v++) b[v] = (__m512bh)_mm512_loadu_si512(B + p * ldp + 16 * v);
    for (int r = 0; r < MR; r++) {
      __m512bh a = (__m512bh)_mm512_set1_epi32((int)rd32(A + r * lda + 2 * p));
      for (int v = 0; v < NV; v++) c[r][v] = _mm512_dpbf16_ps(c[r][v], a, b[v]);
    }
  }
  for (int v = 0; v < NV; v++) {
    int64_t left = ncols - 16 * v;
    __mmask16 mk = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
    for (int r = 0; r < MR; r++) {
      float* d = C + r * ldc + 16 * v;
      __m512 x = acc ? _mm512_add_ps(c[r][v], _mm512_maskz_loadu_ps(mk, d)) : c[r][v];
      _mm512_mask_storeu_ps(d, mk, x);
    }
  }
}

using Micro = void (*)(const uint16_t*, int64_t, const uint32_t*, int64_t, int64_t, float*, int64_t, int64_t, bool);
template <int MR>
static Micro pickNV(int nv) {
  switch (nv) {
    case 1: return micro<MR, 1>;
    case 2: return micro<MR, 2>;
    case 3: return micro<MR, 3>;
    default: return micro<MR, 4>;
  }
}
static Micro pick(int mr, int nv) {
  switch (mr) {
    case 1: return pickNV<1>(nv);
    case 2: return pickNV<2>(nv);
    case 3: return pickNV<3>(nv);
    case 4: return pickNV<4>(nv);
    case 5: return pickNV<5>(nv);
    default: return pickNV<6>(nv);
  }
}

}  // namespace lift
