// AVX2 forms of the integer decode products (quant-dot.cc has the formulas, the activation quantization and the
// AVX-512 VNNI kernels). CPUs with AVX2 and no AVX-512 VNNI (Zen 2/3, most laptops, AVX-512 CPUs before Ice Lake)
// get them: 32 weight quants a register, _mm256_maddubs_epi16 (unsigned × signed bytes → 16 int16 pair sums) then
// _mm256_madd_epi16 with the sub-block scales (or ones) → 8 int32, as ggml's AVX2 kernels do. The activation is in
// natural order (no VNNI permutation). The integer sums are exact, as in the VNNI kernels; float sums in 8 lanes.
// Signed × signed (Q8_0, and Q4_0/Q5_0 once their offset is taken off) goes through the unsigned × signed
// instruction as |w| × (x with w's sign), with vpsignb.
// Compiled with a target attribute and chosen at run time (avx2DotUsable; LIFT_CPU_FEATURES=-avx2 hides it).
#include "common.h"
#include "quant.h"
#include "quant-dot.h"
#include <cstring>
#include <immintrin.h>

#define LIFT_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace lift {

bool avx2DotUsable() {
  static const bool hw = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
  return hw && !cpuFeatureHidden("avx2");
}

LIFT_AVX2 static inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}
LIFT_AVX2 static inline float hsum4(__m128 s) {
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

// Q4_K (FIVE = false) and Q5_K. Block: d, dmin (f16), scales[12], [Q5_K: qh[32]], qs[128]. qs[32c..32c+31] hold
// sub-block 2c (values 64c..64c+31) in their low nibbles and 2c+1 in their high ones; Q5_K adds 16 to value l of
// sub-block s where bit s of qh[l] is set. Σ = d·d_x·Σ_s sc_s·(Σ q·q_x) − dmin·d_x·Σ_s min_s·(Σ q_x over s).
template <int M, bool FIVE>
LIFT_AVX2 static void rowsQ45K(const QAct& a, const uint8_t* w, int64_t rb, int64_t o0, int64_t o1, float* y, int64_t O) {
  const int64_t nb = a.nb, I = a.I;
  const __m256i m4 = _mm256_set1_epi8(0x0F), k16 = _mm256_set1_epi8(16);
  for (int64_t o = o0; o < o1; o++) {
    const uint8_t* b = w + o * rb;
    __m256 acc[M];
    __m128 macc[M];
    for (int m = 0; m < M; m++) acc[m] = _mm256_setzero_ps(), macc[m] = _mm_setzero_ps();
    for (int64_t i = 0; i < nb; i++, b += FIVE ? 176 : 144) {
      const auto [d, dmin, sm, mins] = k45Head(b);
      const __m256i sc16 = _mm256_cvtepu8_epi16(sm);  // int16 lanes 0..7: the 8 scales
      const uint8_t* qs = b + (FIVE ? 48 : 16);
      __m256i q[8], sc[8];
      for (int c = 0; c < 4; c++) {
        const __m256i L = _mm256_loadu_si256((const __m256i*)(qs + 32 * c));
        q[2 * c] = _mm256_and_si256(L, m4);
        q[2 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(L, 4), m4);
      }
      if (FIVE) {
        const __m256i H = _mm256_loadu_si256((const __m256i*)(b + 16));
        for (int s = 0; s < 8; s++) {
          const __m256i bit = _mm256_set1_epi8((char)(1 << s));
          q[s] = _mm256_add_epi8(q[s], _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(H, bit), bit), k16));
        }
      }
      alignas(32) int16_t s16[16];
      _mm256_store_si256((__m256i*)s16, sc16);
      for (int s = 0; s < 8; s++) sc[s] = _mm256_set1_epi16(s16[s]);
      for (int m = 0; m < M; m++) {
        const int8_t* qa = a.qs.data() + m * I + i * 256;
        __m256i isum = _mm256_setzero_si256();
        for (int s = 0; s < 8; s++)
          isum = _mm256_add_epi32(isum, _mm256_madd_epi16(_mm256_maddubs_epi16(q[s], _mm256_loadu_si256((const __m256i*)(qa + 32 * s))), sc[s]));
        const float dx = a.d[m * nb + i];
        acc[m] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(d * dx), acc[m]);
        const __m128i ms = _mm_madd_epi16(mins, _mm_loadu_si128((const __m128i*)(a.bs32.data() + (m * nb + i) * 8)));
        macc[m] = _mm_fmadd_ps(_mm_cvtepi32_ps(ms), _mm_set1_ps(dmin * dx), macc[m]);
      }
    }
    for (int m = 0; m < M; m++) y[m * O + o] = hsum8(acc[m]) - hsum4(macc[m]);
  }
}

// Q6_K. Block: ql[128], qh[64], scales[16] (int8), d (f16). Half h: ql[64h..64h+63], qh[32h..32h+31]; value l
// (< 32) of the half: ql[l] low nibble | qh[l] bits 0-1 << 4; 32+l: ql[32+l] low | bits 2-3; 64+l: ql[l] high |
// bits 4-5; 96+l: ql[32+l] high | bits 6-7; all minus 32, which comes back through the activation's 16-value
// sums: Σ_j sc_j·(Σ q·q_x − 32·bsum_j). Register r holds values 32r..32r+31: sub-blocks 2r (its low 128 bits) and 2r+1.
template <int M>
LIFT_AVX2 static void rowsQ6K(const QAct& a, const uint8_t* w, int64_t rb, int64_t o0, int64_t o1, float* y, int64_t O) {
  const int64_t nb = a.nb, I = a.I;
  const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(0x03);
  for (int64_t o = o0; o < o1; o++) {
    const uint8_t* b = w + o * rb;
    __m256 acc[M];
    for (int m = 0; m < M; m++) acc[m] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++, b += 210) {
      const float d = h2f(rd16(b + 208));
      const __m128i S8 = _mm_loadu_si128((const __m128i*)(b + 192));
      const __m256i S16 = _mm256_cvtepi8_epi16(S8);
      alignas(16) int8_t s8[16];
      _mm_store_si128((__m128i*)s8, S8);
      __m256i q[8], sc[8];
      for (int h = 0; h < 2; h++) {
        const __m256i L0 = _mm256_loadu_si256((const __m256i*)(b + 64 * h)), L1 = _mm256_loadu_si256((const __m256i*)(b + 64 * h + 32));
        const __m256i hq = _mm256_loadu_si256((const __m256i*)(b + 128 + 32 * h));
        q[4 * h] = _mm256_or_si256(_mm256_and_si256(L0, m4), _mm256_slli_epi16(_mm256_and_si256(hq, m2), 4));
        q[4 * h + 1] = _mm256_or_si256(_mm256_and_si256(L1, m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hq, 2), m2), 4));
        q[4 * h + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(L0, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hq, 4), m2), 4));
        q[4 * h + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(L1, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hq, 6), m2), 4));
      }
      for (int r = 0; r < 8; r++) sc[r] = _mm256_set_m128i(_mm_set1_epi16(s8[2 * r + 1]), _mm_set1_epi16(s8[2 * r]));
      for (int m = 0; m < M; m++) {
        const int8_t* qa = a.qs.data() + m * I + i * 256;
        __m256i isum = _mm256_setzero_si256();
        for (int r = 0; r < 8; r++)
          isum = _mm256_add_epi32(isum, _mm256_madd_epi16(_mm256_maddubs_epi16(q[r], _mm256_loadu_si256((const __m256i*)(qa + 32 * r))), sc[r]));
        const __m256i corr = _mm256_madd_epi16(S16, _mm256_loadu_si256((const __m256i*)(a.bs16.data() + (m * nb + i) * 16)));
        isum = _mm256_sub_epi32(isum, _mm256_slli_epi32(corr, 5));
        acc[m] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(d * a.d[m * nb + i]), acc[m]);
      }
    }
    for (int m = 0; m < M; m++) y[m * O + o] = hsum8(acc[m]);
  }
}

// acc[m] += d_w·d_x·Σ v·q_x over 32-value block i, for 32 signed weight values v (Q8_0, Q4_0/Q5_0 less their offset).
template <int M>
LIFT_AVX2 static inline void signedBlock(const QAct& a, int64_t i, __m256i v, float dw, __m256* acc) {
  const __m256i av = _mm256_sign_epi8(v, v), ones = _mm256_set1_epi16(1);
  for (int m = 0; m < M; m++) {
    const __m256i sx = _mm256_sign_epi8(_mm256_loadu_si256((const __m256i*)(a.qs.data() + m * a.I + i * 32)), v);
    const __m256i isum = _mm256_madd_epi16(_mm256_maddubs_epi16(av, sx), ones);
    acc[m] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(dw * a.d[m * a.nb + i]), acc[m]);
  }
}

// Q8_0. Block: d (f16), qs[32] int8.
template <int M>
LIFT_AVX2 static void rowsQ80(const QAct& a, const uint8_t* w, int64_t rb, int64_t o0, int64_t o1, float* y, int64_t O) {
  for (int64_t o = o0; o < o1; o++) {
    const uint8_t* b = w + o * rb;
    __m256 acc[M];
    for (int m = 0; m < M; m++) acc[m] = _mm256_setzero_ps();
    for (int64_t i = 0; i < a.nb; i++, b += 34) signedBlock<M>(a, i, _mm256_loadu_si256((const __m256i*)(b + 2)), h2f(rd16(b)), acc);
    for (int m = 0; m < M; m++) y[m * O + o] = hsum8(acc[m]);
  }
}

// 32 bits → 32 bytes, 0xFF where the bit is set (ggml's bytes_from_bits_32).
LIFT_AVX2 static inline __m256i bytesFromBits32(const uint8_t* x) {
  uint32_t x32;
  std::memcpy(&x32, x, 4);
  const __m256i shuf = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0x0000000000000000);
  const __m256i bytes = _mm256_or_si256(_mm256_shuffle_epi8(_mm256_set1_epi32((int)x32), shuf), _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
  return _mm256_cmpeq_epi8(bytes, _mm256_set1_epi64x(-1));
}

// Q5_0 (FIVE) and Q4_0. Block: d (f16), [Q5_0: qh (32 bits)], qs[16]; value j (< 16) = qs[j] low nibble, j + 16 its
// high nibble; Q5_0 adds 16 where bit j of qh is set; minus 16 (Q5_0) or 8 (Q4_0): signed, then as Q8_0.
template <int M, bool FIVE>
LIFT_AVX2 static void rowsQ450(const QAct& a, const uint8_t* w, int64_t rb, int64_t o0, int64_t o1, float* y, int64_t O) {
  const int64_t bs = FIVE ? 22 : 18, off = FIVE ? 6 : 2;
  const __m256i m4 = _mm256_set1_epi8(0x0F), k16 = _mm256_set1_epi8(16), kOff = _mm256_set1_epi8(FIVE ? 16 : 8);
  for (int64_t o = o0; o < o1; o++) {
    const uint8_t* b = w + o * rb;
    __m256 acc[M];
    for (int m = 0; m < M; m++) acc[m] = _mm256_setzero_ps();
    for (int64_t i = 0; i < a.nb; i++, b += bs) {
      const __m128i q0 = _mm_loadu_si128((const __m128i*)(b + off));
      __m256i v = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q0, 4), q0), m4);
      if (FIVE) v = _mm256_add_epi8(v, _mm256_and_si256(bytesFromBits32(b + 2), k16));
      signedBlock<M>(a, i, _mm256_sub_epi8(v, kOff), h2f(rd16(b)), acc);
    }
    for (int m = 0; m < M; m++) y[m * O + o] = hsum8(acc[m]);
  }
}

// This file's kernels as a family for pickRows (quant-dot.h).
struct Avx2 {
  template <int M, bool FIVE> static constexpr QDotRows q45k = rowsQ45K<M, FIVE>;
  template <int M> static constexpr QDotRows q6k = rowsQ6K<M>;
  template <int M, bool FIVE> static constexpr QDotRows q450 = rowsQ450<M, FIVE>;
  template <int M> static constexpr QDotRows q80 = rowsQ80<M>;
};

QDotRows qDotRowsAvx2(int type, int64_t M) { return pickRows<Avx2>(type, M); }

}  // namespace lift
