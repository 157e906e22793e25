// Vectorised exp for the softmax / loss / activation loops. glibc's expf is scalar (~5–20 ns a call); a LoRA
// step of the 135M shape calls it 2·T·V times in the loss alone (25 M at 256 tokens, V = 49152), plus the
// attention probabilities (forward and the backward's recomputation) and SwiGLU's sigmoids.
// The addon is built with -march=native, so __AVX512F__ says whether this machine has AVX-512; without it the
// AVX2 forms below run where AVX2 + FMA exist, else every helper is the scalar loop it replaces.
//
// exp16: x = n·ln2 + r with n = round(x·log2 e), |r| ≤ ln2/2 (Cody–Waite: ln2 as a high part exact in float
// times n, plus a low part, both with FMA); e^r by Cephes' expf polynomial (degree 7 in r); ·2ⁿ with vscalefps,
// exact, going to denormals and 0 below e^−87 as expf does. Error ≤ 2 ulp against the correctly rounded value
// over [−104, 88] (test/engine/simd-math.test.ts). NaN stays NaN (vmaxps/vminps return their second operand
// when one is NaN, and x is passed second); +inf gives +inf, −inf gives 0.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#endif
// CPUs with AVX2 + FMA and no AVX-512 (Zen 2/3, most laptops): exp8 is exp16's algorithm in 8 lanes; vscalefps
// has no AVX2 form, so 2ⁿ is two exact powers built in the exponent field, 2^⌊n/2⌋ then 2^(n−⌊n/2⌋) (each a
// normal float for n in [−150, 128]): p·2^⌊n/2⌋ is exact, the second multiply rounds once, as vscalefps does.
#if !defined(__AVX512F__) && defined(__AVX2__) && defined(__FMA__)
#define LIFT_SIMD_AVX2 1
#endif

namespace lift {

#if defined(__AVX512F__)
static inline __m512 exp16(__m512 x) {
  x = _mm512_min_ps(_mm512_set1_ps(88.8f), _mm512_max_ps(_mm512_set1_ps(-104.f), x));
  __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);  // ln2's high part: n·hi is exact
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);       // ln2 − hi
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.f)));
  return _mm512_scalef_ps(p, n);
}
// σ(x) = 1 / (1 + e^−x) over 16 lanes.
static inline __m512 sigmoid16(__m512 x) {
  __m512 one = _mm512_set1_ps(1.f);
  return _mm512_div_ps(one, _mm512_add_ps(one, exp16(_mm512_sub_ps(_mm512_setzero_ps(), x))));
}
static inline __mmask16 tailMask(int64_t left) { return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1); }
#endif

#if defined(LIFT_SIMD_AVX2)
static inline __m256 exp8(__m256 x) {
  x = _mm256_min_ps(_mm256_set1_ps(88.8f), _mm256_max_ps(_mm256_set1_ps(-104.f), x));
  __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.f)));
  __m256i ni = _mm256_cvtps_epi32(n), n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
  const __m256i bias = _mm256_set1_epi32(127);
  __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
  __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
  return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}
static inline __m256 sigmoid8(__m256 x) {
  __m256 one = _mm256_set1_ps(1.f);
  return _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}
static inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}
// Lanes [0, left) of 8 set (all for left ≥ 8, none for left ≤ 0).
static inline __m256i tailMask8(int64_t left) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(left < 8 ? (left < 0 ? 0 : left) : 8)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
#endif

// max of x[0 … n) (−inf for n = 0).
static inline float vmax(const float* x, int64_t n) {
#if defined(__AVX512F__)
  __m512 m = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  for (int64_t j = 0; j < n; j += 16) m = _mm512_max_ps(m, _mm512_mask_loadu_ps(m, tailMask(n - j), x + j));
  return _mm512_reduce_max_ps(m);
#elif defined(LIFT_SIMD_AVX2)
  const float ninf = -std::numeric_limits<float>::infinity();
  __m256 m = _mm256_set1_ps(ninf);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(x + j));
  alignas(32) float l[8];
  _mm256_store_ps(l, m);
  float r = ninf;
  for (int i = 0; i < 8; i++) r = l[i] > r ? l[i] : r;
  for (; j < n; j++) r = x[j] > r ? x[j] : r;
  return r;
#else
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < n; j++) m = x[j] > m ? x[j] : m;
  return m;
#endif
}

// dst[j] = e^(src[j] − shift)·scale for j < n (dst may be src, or null: only the sum is wanted);
// returns Σ e^(src[j] − shift) (unscaled), summed in double.
static inline double vexpShift(const float* src, float* dst, int64_t n, float shift, float scale) {
#if defined(__AVX512F__)
  const __m512 sh = _mm512_set1_ps(shift), sc = _mm512_set1_ps(scale);
  __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
  for (int64_t j = 0; j < n; j += 16) {
    __mmask16 k = tailMask(n - j);
    __m512 e = _mm512_maskz_mov_ps(k, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, src + j), sh)));
    s0 = _mm512_add_pd(s0, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
    s1 = _mm512_add_pd(s1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1))));
    if (dst) _mm512_mask_storeu_ps(dst + j, k, _mm512_mul_ps(e, sc));
  }
  return _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
#elif defined(LIFT_SIMD_AVX2)
  const __m256 sh = _mm256_set1_ps(shift), sc = _mm256_set1_ps(scale);
  __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
  for (int64_t j = 0; j < n; j += 8) {
    __m256i k = tailMask8(n - j);
    __m256 e = _mm256_and_ps(exp8(_mm256_sub_ps(_mm256_maskload_ps(src + j, k), sh)), _mm256_castsi256_ps(k));
    s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
    s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
    if (dst) _mm256_maskstore_ps(dst + j, k, _mm256_mul_ps(e, sc));
  }
  alignas(32) double l[4];
  _mm256_store_pd(l, _mm256_add_pd(s0, s1));
  return (l[0] + l[1]) + (l[2] + l[3]);
#else
  double s = 0;
  for (int64_t j = 0; j < n; j++) {
    float e = std::exp(src[j] - shift);
    s += e;
    if (dst) dst[j] = e * scale;
  }
  return s;
#endif
}

}  // namespace lift
