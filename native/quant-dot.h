// The integer decode products' shared pieces (quant-dot.cc: activation quantization, the AVX-512 VNNI kernels and
// the N-API op; quant-dot-avx2.cc: the AVX2 kernels).
#pragma once
#include <cstdint>
#include <cstring>
#include <immintrin.h>
#include <vector>
#include "quant.h"

namespace lift {

// M rows of x quantized to Q8_K (K-quant weights) or Q8_0 (32-value types), each I values in nb blocks; structure
// of arrays so a kernel loads a register of quants of a row at once.
struct QAct {
  int64_t I = 0, nb = 0;
  std::vector<int8_t> qs;     // [M, I]
  std::vector<float> d;       // [M, nb]   block scale (Q8_0: the f16-rounded value ggml stores)
  std::vector<int16_t> bs16;  // [M, nb, 16] K only: sums of each 16 quants (ggml's bsums)
  std::vector<int16_t> bs32;  // [M, nb, 8]  K only: sums of each 32 quants (Q4_K/Q5_K's mins span 32 values)
};

// The 12 bytes of Q4_K/Q5_K scales and mins (6 bits each, ggml's get_scale_min_k4 layout) → bytes 0..7 the 8
// scales, 8..15 the 8 mins. Built in a register: four 32-bit stores read back as one 128-bit load would miss store
// forwarding (measured: Q4_K at 2/3 the speed of Q6_K per block). SSE2 only: inlines into either kernel family.
static inline __m128i unpackScalesMins(const uint8_t* q) {
  uint32_t u0, u1, u2;
  std::memcpy(&u0, q, 4), std::memcpy(&u1, q + 4, 4), std::memcpy(&u2, q + 8, 4);
  return _mm_set_epi32((int)(((u2 >> 4) & 0x0f0f0f0f) | (((u1 >> 6) & 0x03030303) << 4)),  // mins 4..7
                       (int)(u1 & 0x3f3f3f3f),                                             // mins 0..3
                       (int)((u2 & 0x0f0f0f0f) | (((u0 >> 6) & 0x03030303) << 4)),         // scales 4..7
                       (int)(u0 & 0x3f3f3f3f));                                            // scales 0..3
}

// A Q4_K/Q5_K block's head: d, dmin, the unpacked scales (bytes 0..7) and mins (bytes 8..15), the mins as int16.
struct K45Head {
  float d, dmin;
  __m128i sm, mins;
};
static inline K45Head k45Head(const uint8_t* b) {
  uint16_t d16, m16;
  std::memcpy(&d16, b, 2), std::memcpy(&m16, b + 2, 2);
  const __m128i sm = unpackScalesMins(b + 4);
  return {_cvtsh_ss(d16), _cvtsh_ss(m16), sm, _mm_cvtepu8_epi16(_mm_unpackhi_epi64(sm, sm))};
}

// y[m, o] for rows o0..o1 of W (rb bytes a row) against the M quantized rows of x.
using QDotRows = void (*)(const QAct& a, const uint8_t* w, int64_t rb, int64_t o0, int64_t o1, float* y, int64_t O);

// The kernel for ggml `type` and M rows of x from a kernel family F (quant-dot.cc's VNNI kernels, quant-dot-avx2.cc's
// AVX2 ones), which names its kernels F::q45k<M, five>, F::q6k<M>, F::q450<M, five>, F::q80<M>; null for a type
// without an integer dot product.
template <class F, int M>
QDotRows pickRows(int type) {
  switch (type) {
    case QT_Q4_K: return F::template q45k<M, false>;
    case QT_Q5_K: return F::template q45k<M, true>;
    case QT_Q6_K: return F::template q6k<M>;
    case QT_Q5_0: return F::template q450<M, true>;
    case QT_Q4_0: return F::template q450<M, false>;
    case QT_Q8_0: return F::template q80<M>;
    default: return nullptr;
  }
}
template <class F>
QDotRows pickRows(int type, int64_t M) {
  return M == 1 ? pickRows<F, 1>(type) : M == 2 ? pickRows<F, 2>(type) : M == 3 ? pickRows<F, 3>(type) : pickRows<F, 4>(type);
}

// Whether qDotRun has kernels for ggml `type` on this CPU (VNNI or AVX2, not hidden by LIFT_CPU_FEATURES).
bool qDotAvailable(int type);
// y[M,O] = q8(x)[M,I] · W[O,I]ᵀ with the best kernel family here (qDotAvailable(type) must hold; M ≤ 4); `a` is
// the activation's scratch, reusable across calls.
void qDotRun(const float* x, int64_t M, int64_t I, const uint8_t* w, int type, int64_t O, float* y, QAct& a);
// qDotRun's first half: quantizes x into `a` and returns the rows kernel; f(a, w, rb, o0, o1, y, O) then runs any rows
// on any thread (decode.cc's team), rb = I / block · block bytes.
QDotRows qDotPrepare(const float* x, int64_t M, int64_t I, int type, QAct& a);

// The AVX2 kernels (activation in natural order: quantizeAct without the VNNI permutation).
bool avx2DotUsable();
QDotRows qDotRowsAvx2(int type, int64_t M);

}  // namespace lift
