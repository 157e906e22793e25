// AVX-512 (and AVX2) dequantization of the types a Q4_K_M / Q5_K_M / Q6_K / Q8_0 file is made of (the scalar versions in
// quant-formats.cc stay as the reference: qDequantRef; test/engine/quant.test.ts requires bit-identical output).
// Same arithmetic as the reference, operation by operation (int → float, multiply, then subtract: no FMA
// contraction), 16 values per instruction. Measured: 3–6× the compiler-vectorized scalar loops.
#include "quant.h"

namespace lift {

// Built for the host (binding.gyp builds with -march=native, as lora.cc and mlp.cc): AVX-512, else AVX2, else
// dequantBlocksFast declines and the scalar reference runs (same values, bit for bit).
// A K-quant sub-block's 6-bit scale and min (ggml get_scale_min_k4).
[[maybe_unused]] static inline void scaleMinK4(int j, const uint8_t* q, uint8_t& d, uint8_t& m) {
  if (j < 4) {
    d = q[j] & 63; m = q[j + 4] & 63;
  } else {
    d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

#if defined(__AVX512F__)

static inline __m512 u8x16(const uint8_t* p) { return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i*)p))); }
static inline __m512i u8x16i(const uint8_t* p) { return _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i*)p)); }

static void q8_0(const uint8_t* b, float* y) {
  __m512 d = _mm512_set1_ps(h2f(rd16(b)));
  for (int k = 0; k < 2; k++) {
    __m512 v = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i*)(b + 2 + 16 * k))));
    _mm512_storeu_ps(y + 16 * k, _mm512_mul_ps(v, d));
  }
}

// Q4_K / Q5_K: per 64 values, 32 bytes of nibbles (low → first 32, high → next 32); Q5_K adds bit u1/u2 of qh as 16.
static void qK45(const uint8_t* b, float* y, bool five) {
  const float d = h2f(rd16(b)), dmin = h2f(rd16(b + 2));
  const uint8_t* sc = b + 4; const uint8_t* qh = b + 16; const uint8_t* ql = b + (five ? 48 : 16);
  const __m512i lo = _mm512_set1_epi32(0xF), sixteen = _mm512_set1_epi32(16);
  for (int j = 0, is = 0; j < 4; j++, ql += 32, is += 2) {
    uint8_t s, m;
    scaleMinK4(is, sc, s, m);
    const __m512 d1 = _mm512_set1_ps(d * s), m1 = _mm512_set1_ps(dmin * m);
    scaleMinK4(is + 1, sc, s, m);
    const __m512 d2 = _mm512_set1_ps(d * s), m2 = _mm512_set1_ps(dmin * m);
    for (int h = 0; h < 2; h++) {
      __m512i q = u8x16i(ql + 16 * h);
      __m512i a = _mm512_and_si512(q, lo), c = _mm512_srli_epi32(q, 4);
      if (five) {
        __m512i hb = u8x16i(qh + 16 * h);
        a = _mm512_add_epi32(a, _mm512_maskz_mov_epi32(_mm512_test_epi32_mask(hb, _mm512_set1_epi32(1 << (2 * j))), sixteen));
        c = _mm512_add_epi32(c, _mm512_maskz_mov_epi32(_mm512_test_epi32_mask(hb, _mm512_set1_epi32(2 << (2 * j))), sixteen));
      }
      _mm512_storeu_ps(y + 64 * j + 16 * h, _mm512_sub_ps(_mm512_mul_ps(d1, _mm512_cvtepi32_ps(a)), m1));
      _mm512_storeu_ps(y + 64 * j + 32 + 16 * h, _mm512_sub_ps(_mm512_mul_ps(d2, _mm512_cvtepi32_ps(c)), m2));
    }
  }
}

static void q6_K(const uint8_t* b, float* y) {
  const uint8_t* ql = b; const uint8_t* qh = b + 128; const int8_t* sc = (const int8_t*)(b + 192);
  const float d = h2f(rd16(b + 208));
  const __m512i lo = _mm512_set1_epi32(0xF), three = _mm512_set1_epi32(3), k32 = _mm512_set1_epi32(32);
  for (int n = 0; n < 2; n++, y += 128, ql += 64, qh += 32, sc += 8)
    for (int part = 0; part < 4; part++)
      for (int half = 0; half < 2; half++) {
        __m512i l = _mm512_and_si512(_mm512_srli_epi32(u8x16i(ql + (part & 1) * 32 + 16 * half), (part >> 1) * 4), lo);
        __m512i h = _mm512_and_si512(_mm512_srli_epi32(u8x16i(qh + 16 * half), 2 * part), three);
        __m512i q = _mm512_sub_epi32(_mm512_or_si512(l, _mm512_slli_epi32(h, 4)), k32);
        _mm512_storeu_ps(y + part * 32 + half * 16, _mm512_mul_ps(_mm512_set1_ps(d * sc[half + 2 * part]), _mm512_cvtepi32_ps(q)));
      }
}

#elif defined(__AVX2__)
// The same formulas in 8 lanes for CPUs with AVX2 and no AVX-512 (Zen 2/3, most laptops).

static inline __m256i u8x8i(const uint8_t* p) { return _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i*)p)); }

static void q8_0(const uint8_t* b, float* y) {
  __m256 d = _mm256_set1_ps(h2f(rd16(b)));
  for (int k = 0; k < 4; k++) {
    __m256 v = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i*)(b + 2 + 8 * k))));
    _mm256_storeu_ps(y + 8 * k, _mm256_mul_ps(v, d));
  }
}

// A lane's `bit` of hb set → 16, else 0.
static inline __m256i bit16(__m256i hb, int bit) {
  const __m256i b = _mm256_set1_epi32(bit);
  return _mm256_and_si256(_mm256_cmpeq_epi32(_mm256_and_si256(hb, b), b), _mm256_set1_epi32(16));
}

static void qK45(const uint8_t* b, float* y, bool five) {
  const float d = h2f(rd16(b)), dmin = h2f(rd16(b + 2));
  const uint8_t* sc = b + 4; const uint8_t* qh = b + 16; const uint8_t* ql = b + (five ? 48 : 16);
  const __m256i lo = _mm256_set1_epi32(0xF);
  for (int j = 0, is = 0; j < 4; j++, ql += 32, is += 2) {
    uint8_t s, m;
    scaleMinK4(is, sc, s, m);
    const __m256 d1 = _mm256_set1_ps(d * s), m1 = _mm256_set1_ps(dmin * m);
    scaleMinK4(is + 1, sc, s, m);
    const __m256 d2 = _mm256_set1_ps(d * s), m2 = _mm256_set1_ps(dmin * m);
    for (int h = 0; h < 4; h++) {
      __m256i q = u8x8i(ql + 8 * h);
      __m256i a = _mm256_and_si256(q, lo), c = _mm256_srli_epi32(q, 4);
      if (five) {
        __m256i hb = u8x8i(qh + 8 * h);
        a = _mm256_add_epi32(a, bit16(hb, 1 << (2 * j)));
        c = _mm256_add_epi32(c, bit16(hb, 2 << (2 * j)));
      }
      _mm256_storeu_ps(y + 64 * j + 8 * h, _mm256_sub_ps(_mm256_mul_ps(d1, _mm256_cvtepi32_ps(a)), m1));
      _mm256_storeu_ps(y + 64 * j + 32 + 8 * h, _mm256_sub_ps(_mm256_mul_ps(d2, _mm256_cvtepi32_ps(c)), m2));
    }
  }
}

static void q6_K(const uint8_t* b, float* y) {
  const uint8_t* ql = b; const uint8_t* qh = b + 128; const int8_t* sc = (const int8_t*)(b + 192);
  const float d = h2f(rd16(b + 208));
  const __m256i lo = _mm256_set1_epi32(0xF), three = _mm256_set1_epi32(3), k32 = _mm256_set1_epi32(32);
  for (int n = 0; n < 2; n++, y += 128, ql += 64, qh += 32, sc += 8)
    for (int part = 0; part < 4; part++)
      for (int e = 0; e < 4; e++) {
        __m256i l = _mm256_and_si256(_mm256_srli_epi32(u8x8i(ql + (part & 1) * 32 + 8 * e), (part >> 1) * 4), lo);
        __m256i h = _mm256_and_si256(_mm256_srli_epi32(u8x8i(qh + 8 * e), 2 * part), three);
        __m256i q = _mm256_sub_epi32(_mm256_or_si256(l, _mm256_slli_epi32(h, 4)), k32);
        _mm256_storeu_ps(y + part * 32 + e * 8, _mm256_mul_ps(_mm256_set1_ps(d * sc[e / 2 + 2 * part]), _mm256_cvtepi32_ps(q)));
      }
}

#endif

#if defined(__AVX512F__) || defined(__AVX2__)
// Dispatch to this build's block kernels (16 lanes or 8, above).
bool dequantBlocksFast(int type, const uint8_t* src, float* y, int64_t nb) {
  QLayout L = qlayout(type);
  switch (type) {
    case QT_Q8_0: for (int64_t i = 0; i < nb; i++, src += L.bytes, y += L.block) q8_0(src, y); return true;
    case QT_Q4_K: for (int64_t i = 0; i < nb; i++, src += L.bytes, y += L.block) qK45(src, y, false); return true;
    case QT_Q5_K: for (int64_t i = 0; i < nb; i++, src += L.bytes, y += L.block) qK45(src, y, true); return true;
    case QT_Q6_K: for (int64_t i = 0; i < nb; i++, src += L.bytes, y += L.block) q6_K(src, y); return true;
    default: return false;
  }
}
#else
bool dequantBlocksFast(int, const uint8_t*, float*, int64_t) { return false; }
#endif

}  // namespace lift
