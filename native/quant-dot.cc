// Decode products on weights in ggml blocks as llama.cpp computes them: the activation rounded to 8 bits, integer
// dot products against the weight's quants, one float multiply per block.
//   qDot(x, M, I, w, type, O, y)   y[M,O] = q8(x)[M,I] · W[O,I]ᵀ for M ≤ 4 rows of x (one token, or a handful)
//   qDotSupported(type)            whether qDot runs here for this ggml type
// Why: the f32 decode path (quant.cc) dequantizes every weight into floats and multiplies, ~10 instructions per
// 16 weights: compute-bound at ~1/3 of memory bandwidth on Q4_K. Here 64 weights take one VNNI/maddubs step per
// row of x and the block's scales apply to integer sums, so the loop streams the quantized bytes.
// Activation (once per call, all O rows reuse it), exactly ggml's reference quantizers:
//   K-quants (Q4_K, Q5_K, Q6_K) × Q8_K  (quantize_row_q8_K_ref: per 256 values d = max/-127 of the value with the
//     largest |x|, q = nearest_int(x·(-127/max)) capped at 127, sums of each 16 (and here also each 32) quants);
//   Q8_0, Q5_0, Q4_0 × Q8_0 (quantize_row_q8_0_ref: per 32 values d = amax/127 stored as f16, q = roundf(x/d)).
// Per block the sum Σ q_w·q_x is exact in int32; y = Σ_blocks d_w·d_x·(scaled integer sum) − (mins term), as
// ggml_vec_dot_{q4_K,q5_K,q6_K}_q8_K / ggml_vec_dot_{q8_0,q5_0,q4_0}_q8_0 do. Float sums run in 16 lanes (another order than
// ggml's, so equal to float rounding; test/engine/quant-dot.test.ts checks against a float64 reference).
// Training (M > 4, or any product that needs a gradient) keeps the exact f32 path: src/engine/ops/quant-linear.ts.
// The kernels carry a target attribute and run only where the CPU has AVX-512 VNNI/BW/VL and LIFT_CPU_FEATURES
// does not hide them; else the AVX2 forms (quant-dot-avx2.cc: 32 quants a register, maddubs + madd), else the
// f32 path (LIFT_CPU_FEATURES=-avx512vnni,-avx2, as on a CPU with neither).
#include "common.h"
#include "quant.h"
#include "quant-dot.h"
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#define LIFT_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,f16c,fma")))

namespace lift {

// ---- CPU features (the same LIFT_CPU_FEATURES convention as gemm-bf16.cc: "-name" hides a feature) --------
static bool vnniUsable() {
  static const bool hw = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("f16c");
  }();
  // Read each call (tests switch it inside one process); a getenv per product is noise next to the product.
  return hw && !cpuFeatureHidden("avx512vnni") && !cpuFeatureHidden("avx512bw") && !cpuFeatureHidden("avx512vl") && !cpuFeatureHidden("avx512f");
}
static bool isK(int type) { return type == QT_Q4_K || type == QT_Q5_K || type == QT_Q6_K; }
static bool typeHasDot(int type) { return isK(type) || type == QT_Q8_0 || type == QT_Q5_0 || type == QT_Q4_0; }

// ---- activation quantization (scalar: O(M·I), against O(M·I·O) for the product) ------------------------------
// (QAct: quant-dot.h, shared with the AVX2 kernels in quant-dot-avx2.cc.)

// ggml's nearest_int: round half to even through the float adder (|v| ≤ 2^22).
static inline int nearestInt(float v) {
  float f = v + 12582912.f;
  int i;
  std::memcpy(&i, &f, 4);
  return (i & 0x007fffff) - 0x00400000;
}

// quantize_row_q8_K_ref, plus the 32-value sums.
// permute45: store each 128 values' quants as [0..31, 64..95, 32..63, 96..127], the order in which Q4_K/Q5_K hold
// their nibbles when 64 bytes of them are read at once (low nibbles: sub-blocks 0 and 2, high: 1 and 3).
static void quantizeRowQ8K(const float* x, int64_t nb, int8_t* qs, float* d, int16_t* bs16, int16_t* bs32, bool permute45) {
  for (int64_t i = 0; i < nb; i++, x += 256, qs += 256, bs16 += 16, bs32 += 8) {
    float max = 0, amax = 0;
    for (int j = 0; j < 256; j++) {
      float ax = std::fabs(x[j]);
      if (ax > amax) amax = ax, max = x[j];
    }
    if (!amax) {
      d[i] = 0;
      std::memset(qs, 0, 256);
      std::memset(bs16, 0, 16 * sizeof(int16_t));
      std::memset(bs32, 0, 8 * sizeof(int16_t));
      continue;
    }
    const float iscale = -127.f / max;
    for (int j = 0; j < 256; j++) qs[j] = (int8_t)std::min(127, nearestInt(iscale * x[j]));
    for (int j = 0; j < 16; j++) {
      int s = 0;
      for (int k = 0; k < 16; k++) s += qs[16 * j + k];
      bs16[j] = (int16_t)s;
    }
    for (int j = 0; j < 8; j++) bs32[j] = (int16_t)(bs16[2 * j] + bs16[2 * j + 1]);
    d[i] = 1 / iscale;
    if (permute45)
      for (int h = 0; h < 256; h += 128) {
        int8_t t[32];
        std::memcpy(t, qs + h + 32, 32), std::memcpy(qs + h + 32, qs + h + 64, 32), std::memcpy(qs + h + 64, t, 32);
      }
  }
}

// quantize_row_q8_0_ref.
static void quantizeRowQ80(const float* x, int64_t nb, int8_t* qs, float* d) {
  for (int64_t i = 0; i < nb; i++, x += 32, qs += 32) {
    float amax = 0;
    for (int j = 0; j < 32; j++) amax = std::max(amax, std::fabs(x[j]));
    const float dd = amax / 127, id = dd ? 1.0f / dd : 0.0f;
    d[i] = h2f(f2h(dd));
    for (int j = 0; j < 32; j++) qs[j] = (int8_t)std::roundf(x[j] * id);
  }
}

// permute45: the VNNI kernels' order for Q4_K/Q5_K (64 quants a register); the AVX2 kernels read 32 in natural order.
static void quantizeAct(int type, const float* x, int64_t M, int64_t I, QAct& a, bool permute45) {
  const bool k = isK(type);
  a.I = I;
  a.nb = I / (k ? 256 : 32);
  a.qs.resize(M * I);
  a.d.resize(M * a.nb);
  if (k) a.bs16.resize(M * a.nb * 16), a.bs32.resize(M * a.nb * 8);
  for (int64_t m = 0; m < M; m++) {
    if (k) quantizeRowQ8K(x + m * I, a.nb, a.qs.data() + m * I, a.d.data() + m * a.nb, a.bs16.data() + m * a.nb * 16, a.bs32.data() + m * a.nb * 8, permute45 && type != QT_Q6_K);
    else quantizeRowQ80(x + m * I, a.nb, a.qs.data() + m * I, a.d.data() + m * a.nb);
  }
}

// ---- kernels: rows o0..o1 of W, each against the M quantized rows of x -----------------------------------------
// A 512-bit register holds 64 weight quants as unsigned bytes in the activation's order; _mm512_maddubs_epi16 with
// 64 activation quants gives 32 int16 pair sums, and _mm512_dpwssd_epi32 multiplies them by the sub-block scales
// (int16, one per lane) into 16 int32 lanes. The block's int32 lanes then take one float FMA with d_w·d_x.

// 16 int32 lanes set to (w << 16 | w) for each 128-bit lane: a pshufb control (or an int16 vector) per lane.
LIFT_VNNI static inline __m512i perLane16(uint16_t a, uint16_t b, uint16_t c, uint16_t d) {
  auto p = [](uint16_t w) { return (int)((uint32_t)w << 16 | w); };
  return _mm512_set_epi32(p(d), p(d), p(d), p(d), p(c), p(c), p(c), p(c), p(b), p(b), p(b), p(b), p(a), p(a), p(a), p(a));
}

// (unpackScalesMins, the Q4_K/Q5_K scales and mins in a register: quant-dot.h.)

// Q4_K (FIVE = false) and Q5_K. Block: d, dmin (f16), scales[12], [Q5_K: qh[32]], qs[128]. qs[32c..32c+31] hold
// values 64c..64c+31 in their low nibbles and 64c+32..64c+63 in their high ones (sub-blocks 2c, 2c+1 of 32 values);
// Q5_K adds 16 where bit 2c (low) / 2c+1 (high) of qh[l] is set. 64 bytes of qs at once: register 2p+h (h = 0
// low nibbles, 1 high) holds sub-blocks 4p+h and 4p+2+h, matched by the activation's permuted order (quantizeRowQ8K).
// Σ = d·d_x·Σ_j sc_j·(Σ q·q_x) − dmin·d_x·Σ_j min_j·(Σ q_x over sub-block j).
template <int M, bool FIVE>
LIFT_VNNI static void rowsQ45K(const QAct& a, const uint8_t* w, int64_t rb, int64_t o0, int64_t o1, float* y, int64_t O) {
  const int64_t nb = a.nb, I = a.I;
  const __m512i m4 = _mm512_set1_epi8(0x0F), k16 = _mm512_set1_epi8(16);
  // Register r = 2p + h: scales of sub-blocks 4p+h (first 32 bytes) and 4p+2+h (last 32), as pshufb controls.
  __m512i ctrl[4], hsel[4];
  for (int r = 0; r < 4; r++) {
    const int s0 = 4 * (r >> 1) + (r & 1), s1 = s0 + 2;
    ctrl[r] = perLane16((uint16_t)(0x8000 | s0), (uint16_t)(0x8000 | s0), (uint16_t)(0x8000 | s1), (uint16_t)(0x8000 | s1));
    hsel[r] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi8((char)(1 << s0))), _mm256_set1_epi8((char)(1 << s1)), 1);
  }
  for (int64_t o = o0; o < o1; o++) {
    const uint8_t* b = w + o * rb;
    __m512 acc[M];
    __m128 macc[M];
    for (int m = 0; m < M; m++) acc[m] = _mm512_setzero_ps(), macc[m] = _mm_setzero_ps();
    for (int64_t i = 0; i < nb; i++, b += FIVE ? 176 : 144) {
      const auto [d, dmin, sm, mins] = k45Head(b);
      const __m512i S8 = _mm512_broadcast_i32x4(sm);
      const uint8_t* qs = b + (FIVE ? 48 : 16);
      __m512i q[4], sc[4];
      const __m512i H = FIVE ? _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i*)(b + 16))) : _mm512_setzero_si512();
      for (int p = 0; p < 2; p++) {
        const __m512i L = _mm512_loadu_si512(qs + 64 * p);
        q[2 * p] = _mm512_and_si512(L, m4);
        q[2 * p + 1] = _mm512_and_si512(_mm512_srli_epi16(L, 4), m4);
      }
      for (int r = 0; r < 4; r++) {
        if (FIVE) q[r] = _mm512_mask_add_epi8(q[r], _mm512_test_epi8_mask(H, hsel[r]), q[r], k16);
        sc[r] = _mm512_shuffle_epi8(S8, ctrl[r]);
      }
      for (int m = 0; m < M; m++) {
        const int8_t* qa = a.qs.data() + m * I + i * 256;
        __m512i isum = _mm512_setzero_si512();
        for (int r = 0; r < 4; r++)
          isum = _mm512_dpwssd_epi32(isum, _mm512_maddubs_epi16(q[r], _mm512_loadu_si512(qa + 64 * r)), sc[r]);
        const float dx = a.d[m * nb + i];
        acc[m] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(d * dx), acc[m]);
        __m128i ms = _mm_madd_epi16(mins, _mm_loadu_si128((const __m128i*)(a.bs32.data() + (m * nb + i) * 8)));
        macc[m] = _mm_fmadd_ps(_mm_cvtepi32_ps(ms), _mm_set1_ps(dmin * dx), macc[m]);
      }
    }
    for (int m = 0; m < M; m++) {
      __m128 h = _mm_add_ps(macc[m], _mm_movehl_ps(macc[m], macc[m]));
      h = _mm_add_ss(h, _mm_movehdup_ps(h));
      y[m * O + o] = _mm512_reduce_add_ps(acc[m]) - _mm_cvtss_f32(h);
    }
  }
}

// Q6_K. Block: ql[128], qh[64], scales[16] (int8), d (f16). Half h (values 128h..128h+127): ql[64h..], qh[32h..];
// value l (< 32): ql[l] low nibble | qh[l] bits 0-1 << 4; 32+l: ql[32+l] low | bits 2-3; 64+l: ql[l] high | bits
// 4-5; 96+l: ql[32+l] high | bits 6-7; all minus 32. Quants stay unsigned (0..63) for maddubs and the −32 comes
// back through the activation's 16-value sums: Σ_j sc_j·(Σ q·q_x − 32·bsum_j).
template <int M>
LIFT_VNNI static void rowsQ6K(const QAct& a, const uint8_t* w, int64_t rb, int64_t o0, int64_t o1, float* y, int64_t O) {
  const int64_t nb = a.nb, I = a.I;
  const __m512i m4 = _mm512_set1_epi8(0x0F), m2 = _mm512_set1_epi8(0x03);
  // int16 scale index per 128-bit lane (a 16-value sub-block), as pshufb byte pairs into 8 int16 scales.
  auto pair = [](int j) { return (uint16_t)((2 * j + 1) << 8 | 2 * j); };
  const __m512i ctrlA = perLane16(pair(0), pair(1), pair(2), pair(3)), ctrlB = perLane16(pair(4), pair(5), pair(6), pair(7));
  for (int64_t o = o0; o < o1; o++) {
    const uint8_t* b = w + o * rb;
    __m512 acc[M];
    for (int m = 0; m < M; m++) acc[m] = _mm512_setzero_ps();
    for (int64_t i = 0; i < nb; i++, b += 210) {
      const float d = h2f(rd16(b + 208));
      const __m256i S16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)(b + 192)));
      const __m512i Slo = _mm512_broadcast_i32x4(_mm256_castsi256_si128(S16)), Shi = _mm512_broadcast_i32x4(_mm256_extracti128_si256(S16, 1));
      __m512i q[4];
      const __m512i sc[4] = {_mm512_shuffle_epi8(Slo, ctrlA), _mm512_shuffle_epi8(Slo, ctrlB), _mm512_shuffle_epi8(Shi, ctrlA), _mm512_shuffle_epi8(Shi, ctrlB)};
      for (int h = 0; h < 2; h++) {
        const __m512i L = _mm512_loadu_si512(b + 64 * h);
        const __m256i hq = _mm256_loadu_si256((const __m256i*)(b + 128 + 32 * h));
        const __m512i Hq = _mm512_inserti64x4(_mm512_castsi256_si512(hq), _mm256_srli_epi16(hq, 2), 1);
        q[2 * h] = _mm512_or_si512(_mm512_and_si512(L, m4), _mm512_slli_epi16(_mm512_and_si512(Hq, m2), 4));
        q[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(L, 4), m4), _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(Hq, 4), m2), 4));
      }
      for (int m = 0; m < M; m++) {
        const int8_t* qa = a.qs.data() + m * I + i * 256;
        __m512i isum = _mm512_setzero_si512();
        for (int c = 0; c < 4; c++)
          isum = _mm512_dpwssd_epi32(isum, _mm512_maddubs_epi16(q[c], _mm512_loadu_si512(qa + 64 * c)), sc[c]);
        const __m256i corr = _mm256_madd_epi16(S16, _mm256_loadu_si256((const __m256i*)(a.bs16.data() + (m * nb + i) * 16)));
        isum = _mm512_sub_epi32(isum, _mm512_zextsi256_si512(_mm256_slli_epi32(corr, 5)));
        acc[m] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(d * a.d[m * nb + i]), acc[m]);
      }
    }
    for (int m = 0; m < M; m++) y[m * O + o] = _mm512_reduce_add_ps(acc[m]);
  }
}

// Sum of the 16 + 8 lanes of a 512-bit and a 256-bit accumulator.
LIFT_VNNI static inline float sum16and8(__m512 a, __m256 b) {
  __m256 s = _mm256_add_ps(b, _mm256_add_ps(_mm512_castps512_ps256(a), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1))));
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  return _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)));
}

// Q8_0. Block: d (f16), qs[32] int8. Two blocks per register; signed × signed through the unsigned × signed
// instruction: |q_w| × (q_x with q_w's sign), as ggml does with vpsignb (which AVX-512 lacks: a masked negate).
template <int M>
LIFT_VNNI static void rowsQ80(const QAct& a, const uint8_t* w, int64_t rb, int64_t o0, int64_t o1, float* y, int64_t O) {
  const int64_t nb = a.nb, I = a.I;
  const __m512i zero = _mm512_setzero_si512();
  const __m512i lo8hi8 = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  for (int64_t o = o0; o < o1; o++) {
    const uint8_t* b = w + o * rb;
    __m512 acc[M];
    __m256 acc8[M];
    for (int m = 0; m < M; m++) acc[m] = _mm512_setzero_ps(), acc8[m] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 2 <= nb; i += 2, b += 68) {
      const __m512i W = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i*)(b + 2))), _mm256_loadu_si256((const __m256i*)(b + 36)), 1);
      const __m512i aw = _mm512_abs_epi8(W);
      const __mmask64 neg = _mm512_movepi8_mask(W);
      // [d_w0 ×8 | d_w1 ×8]
      const __m512 dw = _mm512_cvtph_ps(_mm256_inserti128_si256(_mm256_castsi128_si256(_mm_set1_epi16((short)rd16(b))), _mm_set1_epi16((short)rd16(b + 34)), 1));
      for (int m = 0; m < M; m++) {
        const __m512i qa = _mm512_loadu_si512(a.qs.data() + m * I + i * 32);
        const __m512i sx = _mm512_mask_sub_epi8(qa, neg, zero, qa);
        const __m512i isum = _mm512_dpbusd_epi32(zero, aw, sx);
        const float* dx = a.d.data() + m * nb + i;
        const __m512 dxv = _mm512_permutexvar_ps(lo8hi8, _mm512_castps128_ps512(_mm_castpd_ps(_mm_load_sd((const double*)dx))));
        acc[m] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_mul_ps(dw, dxv), acc[m]);
      }
    }
    if (i < nb) {  // an odd last block, 256 bits wide
      const __m256i W = _mm256_loadu_si256((const __m256i*)(b + 2));
      const __m256i aw = _mm256_abs_epi8(W);
      const __mmask32 neg = _mm256_movepi8_mask(W);
      const float dw = h2f(rd16(b));
      for (int m = 0; m < M; m++) {
        const __m256i qa = _mm256_loadu_si256((const __m256i*)(a.qs.data() + m * I + i * 32));
        const __m256i sx = _mm256_mask_sub_epi8(qa, neg, _mm256_setzero_si256(), qa);
        const __m256i isum = _mm256_dpbusd_epi32(_mm256_setzero_si256(), aw, sx);
        acc8[m] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(dw * a.d[m * nb + i]), acc8[m]);
      }
    }
    for (int m = 0; m < M; m++) y[m * O + o] = sum16and8(acc[m], acc8[m]);
  }
}

// Q5_0 (FIVE) and Q4_0. Block: d (f16), [Q5_0: qh (32 bits)], qs[16]; value j (< 16) = qs[j] low nibble, j + 16
// = its high nibble; Q5_0 adds 16 where bit j of qh is set; minus 16 (Q5_0) or 8 (Q4_0). The quants stay unsigned
// for vpdpbusd and the offset comes off as offset·Σ q_x (a second vpdpbusd with a constant).
template <int M, bool FIVE>
LIFT_VNNI static void rowsQ450(const QAct& a, const uint8_t* w, int64_t rb, int64_t o0, int64_t o1, float* y, int64_t O) {
  const int64_t nb = a.nb, I = a.I, bs = FIVE ? 22 : 18, off = FIVE ? 6 : 2;
  const __m512i zero = _mm512_setzero_si512(), m4 = _mm512_set1_epi8(0x0F), k16 = _mm512_set1_epi8(16), kOff = _mm512_set1_epi8(FIVE ? 16 : 8);
  const __m512i lo8hi8 = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  for (int64_t o = o0; o < o1; o++) {
    const uint8_t* b = w + o * rb;
    __m512 acc[M];
    __m256 acc8[M];
    for (int m = 0; m < M; m++) acc[m] = _mm512_setzero_ps(), acc8[m] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 2 <= nb; i += 2, b += 2 * bs) {
      const __m128i q0 = _mm_loadu_si128((const __m128i*)(b + off)), q1 = _mm_loadu_si128((const __m128i*)(b + bs + off));
      __m512i v = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set_m128i(_mm_srli_epi16(q0, 4), q0)), _mm256_set_m128i(_mm_srli_epi16(q1, 4), q1), 1);
      v = _mm512_and_si512(v, m4);
      if (FIVE) {
        uint32_t h0, h1;
        std::memcpy(&h0, b + 2, 4), std::memcpy(&h1, b + bs + 2, 4);
        v = _mm512_mask_add_epi8(v, (__mmask64)h0 | (__mmask64)h1 << 32, v, k16);
      }
      const __m512 dw = _mm512_cvtph_ps(_mm256_inserti128_si256(_mm256_castsi128_si256(_mm_set1_epi16((short)rd16(b))), _mm_set1_epi16((short)rd16(b + bs)), 1));
      for (int m = 0; m < M; m++) {
        const __m512i qa = _mm512_loadu_si512(a.qs.data() + m * I + i * 32);
        const __m512i isum = _mm512_sub_epi32(_mm512_dpbusd_epi32(zero, v, qa), _mm512_dpbusd_epi32(zero, kOff, qa));
        const float* dx = a.d.data() + m * nb + i;
        const __m512 dxv = _mm512_permutexvar_ps(lo8hi8, _mm512_castps128_ps512(_mm_castpd_ps(_mm_load_sd((const double*)dx))));
        acc[m] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_mul_ps(dw, dxv), acc[m]);
      }
    }
    if (i < nb) {  // an odd last block, 256 bits wide
      const __m128i q0 = _mm_loadu_si128((const __m128i*)(b + off));
      __m256i v = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q0, 4), q0), _mm512_castsi512_si256(m4));
      if (FIVE) {
        uint32_t h0;
        std::memcpy(&h0, b + 2, 4);
        v = _mm256_mask_add_epi8(v, (__mmask32)h0, v, _mm512_castsi512_si256(k16));
      }
      const float dw = h2f(rd16(b));
      for (int m = 0; m < M; m++) {
        const __m256i qa = _mm256_loadu_si256((const __m256i*)(a.qs.data() + m * I + i * 32));
        const __m256i isum = _mm256_sub_epi32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), v, qa), _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm512_castsi512_si256(kOff), qa));
        acc8[m] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(dw * a.d[m * nb + i]), acc8[m]);
      }
    }
    for (int m = 0; m < M; m++) y[m * O + o] = sum16and8(acc[m], acc8[m]);
  }
}

using RowsFn = QDotRows;
// This file's kernels as a family for pickRows (quant-dot.h).
struct Vnni {
  template <int M, bool FIVE> static constexpr QDotRows q45k = rowsQ45K<M, FIVE>;
  template <int M> static constexpr QDotRows q6k = rowsQ6K<M>;
  template <int M, bool FIVE> static constexpr QDotRows q450 = rowsQ450<M, FIVE>;
  template <int M> static constexpr QDotRows q80 = rowsQ80<M>;
};

// Rows in chunks handed out dynamically, as matvec.cc: a thread the OS parks on shared cores delays one chunk.
// One thread for small weights (< 64k values: a wake-up costs more than the product).
template <typename Fn>
static void overRows(int64_t O, int64_t I, Fn fn) {
  int nt = omp_get_max_threads();
  if (nt == 1 || O * I < 65536 || omp_in_parallel()) return fn(0, O);
  int64_t chunk = std::max<int64_t>(16, O / (4 * nt));
  int64_t chunks = (O + chunk - 1) / chunk;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t c = 0; c < chunks; c++) fn(c * chunk, std::min(O, (c + 1) * chunk));
}

bool qDotAvailable(int type) { return typeHasDot(type) && (vnniUsable() || avx2DotUsable()); }

QDotRows qDotPrepare(const float* x, int64_t M, int64_t I, int type, QAct& a) {
  const bool vnni = vnniUsable();
  quantizeAct(type, x, M, I, a, vnni);
  return vnni ? pickRows<Vnni>(type, M) : qDotRowsAvx2(type, M);
}

void qDotRun(const float* x, int64_t M, int64_t I, const uint8_t* w, int type, int64_t O, float* y, QAct& a) {
  QDotRows f = qDotPrepare(x, M, I, type, a);
  const int64_t rb = I / qlayout(type).block * qlayout(type).bytes;
  overRows(O, I, [&](int64_t o0, int64_t o1) { f(a, w, rb, o0, o1, y, O); });
}

// qDot(x F32, M, I, w U8, type, O, y F32)
static Napi::Value qDot(const Napi::CallbackInfo& info) {
  const char* op = "qDot";
  F32 x = f32(info, 0, op);
  int64_t M = integer(info, 1, op), I = integer(info, 2, op);
  if (!info[3].IsTypedArray() || info[3].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) throw ArgError{argName(op, 3) + " must be a Uint8Array"};
  auto wa = info[3].As<Napi::Uint8Array>();
  int type = (int)integer(info, 4, op);
  int64_t O = integer(info, 5, op);
  F32 y = f32(info, 6, op);
  if (M < 1 || M > 4) throw ArgError{std::string(op) + ": M (rows of x) must be 1…4, got " + std::to_string(M)};
  if (!typeHasDot(type)) throw ArgError{std::string(op) + ": no integer dot product for ggml type " + std::to_string(type) + " (Q4_K, Q5_K, Q6_K, Q8_0, Q5_0 and Q4_0 have one)"};
  const bool vnni = vnniUsable();
  if (!vnni && !avx2DotUsable()) throw ArgError{std::string(op) + ": this CPU has neither AVX-512 VNNI nor AVX2 (or LIFT_CPU_FEATURES hides them); use qMatmul"};
  positive(op, "I", I);
  nonneg(op, "O", O);
  QLayout L = qlayout(type);
  if (I % L.block != 0) throw ArgError{std::string(op) + ": a row of " + std::to_string(I) + " values is not a whole number of " + std::to_string(L.block) + "-value blocks"};
  int64_t rb = I / L.block * L.bytes;
  if ((uint64_t)O * (uint64_t)rb > wa.ElementLength())
    throw ArgError{std::string(op) + ": weight needs " + std::to_string(O * rb) + " bytes, buffer has " + std::to_string(wa.ElementLength())};
  fits(op, "x", x.n, 0, M * I);
  fits(op, "y", y.n, 0, M * O);
  if (O == 0) return info.Env().Undefined();
  QAct a;
  qDotRun(x.p, M, I, wa.Data(), type, O, y.p, a);
  return info.Env().Undefined();
}

static Napi::Value qDotSupported(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), qDotAvailable((int)integer(info, 0, "qDotSupported")));
}

void registerQuantDot(Napi::Env env, Napi::Object exports) {
  LIFT_EXPORT("qDot", qDot);
  LIFT_EXPORT("qDotSupported", qDotSupported);
}

}  // namespace lift
