// The arithmetic of ggml's block formats: dequantization of every type we load, and quantizers following
// ggml's reference formulas (ggml-quants.c quantize_row_*_ref: no importance matrix), so the files
// `lift convert --type` writes hold the same kind of blocks llama.cpp's own quantizer would write.
// Field offsets are given per format; every multi-byte field is little-endian, as on the hosts we run on.
#include "quant.h"
#include <algorithm>
#include <cfloat>
#include <cmath>

namespace lift {

// ---- dequantization ------------------------------------------------------------------------------------

// K-quant 6-bit scale/min pairs j = 0..7 packed in 12 bytes (ggml get_scale_min_k4).
static inline void scaleMinK4(int j, const uint8_t* q, uint8_t& d, uint8_t& m) {
  if (j < 4) {
    d = q[j] & 63; m = q[j + 4] & 63;
  } else {
    d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

static void deqQ4_0(const uint8_t* b, float* y) {
  float d = h2f(rd16(b));
  const uint8_t* qs = b + 2;
  for (int j = 0; j < 16; j++) { y[j] = ((qs[j] & 0xF) - 8) * d; y[j + 16] = ((qs[j] >> 4) - 8) * d; }
}
static void deqQ4_1(const uint8_t* b, float* y) {
  float d = h2f(rd16(b)), m = h2f(rd16(b + 2));
  const uint8_t* qs = b + 4;
  for (int j = 0; j < 16; j++) { y[j] = (qs[j] & 0xF) * d + m; y[j + 16] = (qs[j] >> 4) * d + m; }
}
// Q5_0/Q5_1: the 5th bit of value j sits in bit j of the 32-bit qh.
static void deqQ5(const uint8_t* b, float* y, bool withMin) {
  float d = h2f(rd16(b)), m = withMin ? h2f(rd16(b + 2)) : 0.f;
  const uint8_t* p = b + (withMin ? 4 : 2);
  uint32_t qh; std::memcpy(&qh, p, 4);
  const uint8_t* qs = p + 4;
  int off = withMin ? 0 : 16;
  for (int j = 0; j < 16; j++) {
    int x0 = ((qs[j] & 0xF) | (((qh >> j) << 4) & 0x10)) - off;
    int x1 = ((qs[j] >> 4) | ((qh >> (j + 12)) & 0x10)) - off;
    y[j] = x0 * d + m; y[j + 16] = x1 * d + m;
  }
}
static void deqQ8_0(const uint8_t* b, float* y) {
  float d = h2f(rd16(b));
  const int8_t* qs = (const int8_t*)(b + 2);
  for (int j = 0; j < 32; j++) y[j] = qs[j] * d;
}
static void deqQ2_K(const uint8_t* b, float* y) {
  const uint8_t* sc = b; const uint8_t* q = b + 16;
  float d = h2f(rd16(b + 80)), dmin = h2f(rd16(b + 82));
  int is = 0;
  for (int n = 0; n < 256; n += 128, q += 32)
    for (int shift = 0; shift < 8; shift += 2)
      for (int half = 0; half < 2; half++) {
        uint8_t s = sc[is++];
        float dl = d * (s & 0xF), ml = dmin * (s >> 4);
        for (int l = 0; l < 16; l++) *y++ = dl * ((q[l + 16 * half] >> shift) & 3) - ml;
      }
}
static void deqQ3_K(const uint8_t* b, float* y) {
  const uint8_t* hm = b; const uint8_t* q = b + 32; const uint8_t* s = b + 96;
  float dAll = h2f(rd16(b + 108));
  // 16 6-bit scales: low 4 bits in s[0..7] (two per byte), high 2 bits in s[8..11].
  int8_t scales[16];
  for (int j = 0; j < 16; j++) {
    int lo = j < 8 ? s[j] & 0xF : s[j - 8] >> 4;
    int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
    scales[j] = (int8_t)((lo | (hi << 4)) - 32);
  }
  int is = 0; uint8_t m = 1;
  for (int n = 0; n < 256; n += 128, q += 32)
    for (int shift = 0; shift < 8; shift += 2, m <<= 1)
      for (int half = 0; half < 2; half++) {
        float dl = dAll * scales[is++];
        for (int l = 0; l < 16; l++) {
          int k = l + 16 * half;
          *y++ = dl * ((int)((q[k] >> shift) & 3) - ((hm[k] & m) ? 0 : 4));
        }
      }
}
static void deqQ4_K(const uint8_t* b, float* y) {
  float d = h2f(rd16(b)), dmin = h2f(rd16(b + 2));
  const uint8_t* sc = b + 4; const uint8_t* q = b + 16;
  for (int j = 0, is = 0; j < 256; j += 64, q += 32, is += 2) {
    uint8_t s, m;
    scaleMinK4(is, sc, s, m); float d1 = d * s, m1 = dmin * m;
    scaleMinK4(is + 1, sc, s, m); float d2 = d * s, m2 = dmin * m;
    for (int l = 0; l < 32; l++) *y++ = d1 * (q[l] & 0xF) - m1;
    for (int l = 0; l < 32; l++) *y++ = d2 * (q[l] >> 4) - m2;
  }
}
static void deqQ5_K(const uint8_t* b, float* y) {
  float d = h2f(rd16(b)), dmin = h2f(rd16(b + 2));
  const uint8_t* sc = b + 4; const uint8_t* qh = b + 16; const uint8_t* ql = b + 48;
  uint8_t u1 = 1, u2 = 2;
  for (int j = 0, is = 0; j < 256; j += 64, ql += 32, is += 2, u1 <<= 2, u2 <<= 2) {
    uint8_t s, m;
    scaleMinK4(is, sc, s, m); float d1 = d * s, m1 = dmin * m;
    scaleMinK4(is + 1, sc, s, m); float d2 = d * s, m2 = dmin * m;
    for (int l = 0; l < 32; l++) *y++ = d1 * ((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
    for (int l = 0; l < 32; l++) *y++ = d2 * ((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
  }
}
// Q6_K: value j of a 128-half is 4 low bits (ql) | 2 high bits (qh) << 4, minus 32, times d·scale[j / 16].
// Written as 4 parts of 32 contiguous outputs with fixed shifts so the compiler vectorizes each 16-run.
static void deqQ6_K(const uint8_t* b, float* y) {
  const uint8_t* ql = b; const uint8_t* qh = b + 128; const int8_t* sc = (const int8_t*)(b + 192);
  float d = h2f(rd16(b + 208));
  for (int n = 0; n < 256; n += 128, y += 128, ql += 64, qh += 32, sc += 8)
    for (int part = 0; part < 4; part++) {
      const uint8_t* L = ql + (part & 1) * 32;
      const int shiftL = (part >> 1) * 4, shiftH = 2 * part;
      for (int half = 0; half < 2; half++) {
        const float s = d * sc[half + 2 * part];
        float* o = y + part * 32 + half * 16;
        const uint8_t* l0 = L + half * 16; const uint8_t* h0 = qh + half * 16;
        for (int l = 0; l < 16; l++) o[l] = s * (float)((int)(((l0[l] >> shiftL) & 0xF) | (((h0[l] >> shiftH) & 3) << 4)) - 32);
      }
    }
}

void dequantBlocks(int type, const uint8_t* src, float* y, int64_t nb) {
  if (!dequantBlocksFast(type, src, y, nb)) dequantBlocksRef(type, src, y, nb);
}

// The scalar reference of every format (the fast paths in quant-simd.cc must equal it bit for bit).
void dequantBlocksRef(int type, const uint8_t* src, float* y, int64_t nb) {
  switch (type) {
    case QT_F32: std::memcpy(y, src, nb * 4); return;
    case QT_F16: {
      int64_t i = 0;
#if defined(__AVX512F__)
      for (; i + 16 <= nb; i += 16) _mm512_storeu_ps(y + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i*)(src + 2 * i))));
#elif defined(__F16C__)
      for (; i + 8 <= nb; i += 8) _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)(src + 2 * i))));
#endif
      for (; i < nb; i++) y[i] = h2f(rd16(src + 2 * i));
      return;
    }
    case QT_BF16:
      for (int64_t i = 0; i < nb; i++) { uint32_t v = (uint32_t)rd16(src + 2 * i) << 16; std::memcpy(y + i, &v, 4); }
      return;
    default: break;
  }
  QLayout L = qlayout(type);
  for (int64_t i = 0; i < nb; i++, src += L.bytes, y += L.block) {
    switch (type) {
      case QT_Q4_0: deqQ4_0(src, y); break;
      case QT_Q4_1: deqQ4_1(src, y); break;
      case QT_Q5_0: deqQ5(src, y, false); break;
      case QT_Q5_1: deqQ5(src, y, true); break;
      case QT_Q8_0: deqQ8_0(src, y); break;
      case QT_Q2_K: deqQ2_K(src, y); break;
      case QT_Q3_K: deqQ3_K(src, y); break;
      case QT_Q4_K: deqQ4_K(src, y); break;
      case QT_Q5_K: deqQ5_K(src, y); break;
      case QT_Q6_K: deqQ6_K(src, y); break;
    }
  }
}

// ---- quantization (ggml's reference formulas) --------------------------------------------------------------

// Round to nearest, ties away from zero differently than lroundf: ggml's nearest_int adds 1.5·2^23 and reads
// the mantissa (round half to even); we must match it for identical blocks.
static inline int nearestInt(float f) {
  float v = f + 12582912.f;
  int i; std::memcpy(&i, &v, 4);
  return (i & 0x007fffff) - 0x00400000;
}

// Symmetric scale search (ggml make_qx_quants, rmse_type 1: weights x²). L gets values in 0..2·nmax-1.
static float makeQxQuants(int n, int nmax, const float* x, int8_t* L) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; i++) { float ax = std::fabs(x[i]); if (ax > amax) { amax = ax; max = x[i]; } }
  if (amax < 1e-15f) { for (int i = 0; i < n; i++) L[i] = 0; return 0.f; }
  float iscale = -nmax / max, sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; i++) {
    int l = std::max(-nmax, std::min(nmax - 1, nearestInt(iscale * x[i])));
    L[i] = (int8_t)(l + nmax);
    float w = x[i] * x[i];
    sumlx += w * x[i] * l; suml2 += w * l * l;
  }
  float scale = suml2 ? sumlx / suml2 : 0.f, best = scale * sumlx;
  for (int is = -9; is <= 9; is++) {
    if (is == 0) continue;
    iscale = -(nmax + 0.1f * is) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; i++) {
      int l = std::max(-nmax, std::min(nmax - 1, nearestInt(iscale * x[i])));
      float w = x[i] * x[i];
      sumlx += w * x[i] * l; suml2 += w * l * l;
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; i++) L[i] = (int8_t)(nmax + std::max(-nmax, std::min(nmax - 1, nearestInt(iscale * x[i]))));
      scale = sumlx / suml2; best = scale * sumlx;
    }
  }
  return scale;
}

// Asymmetric scale + min search (ggml make_qkx2_quants): x ≈ scale·L − min, L in 0..nmax. Returns scale, *theMin = min.
static float makeQkx2Quants(int n, int nmax, const float* x, const float* w, uint8_t* L, float* theMin, uint8_t* Laux,
                            float rmin, float rdelta, int nstep, bool useMad) {
  float min = x[0], max = x[0], sumW = w[0], sumX = sumW * x[0];
  for (int i = 1; i < n; i++) {
    min = std::min(min, x[i]); max = std::max(max, x[i]);
    sumW += w[i]; sumX += w[i] * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) { for (int i = 0; i < n; i++) L[i] = 0; *theMin = -min; return 0.f; }
  float iscale = nmax / (max - min), scale = 1 / iscale, bestErr = 0;
  for (int i = 0; i < n; i++) {
    L[i] = (uint8_t)std::max(0, std::min(nmax, nearestInt(iscale * (x[i] - min))));
    float diff = scale * L[i] + min - x[i];
    bestErr += w[i] * (useMad ? std::fabs(diff) : diff * diff);
  }
  for (int is = 0; is <= nstep; is++) {
    iscale = (rmin + rdelta * is + nmax) / (max - min);
    float sumL = 0, sumL2 = 0, sumXL = 0;
    for (int i = 0; i < n; i++) {
      int l = std::max(0, std::min(nmax, nearestInt(iscale * (x[i] - min))));
      Laux[i] = (uint8_t)l;
      sumL += w[i] * l; sumL2 += w[i] * l * l; sumXL += w[i] * l * x[i];
    }
    float D = sumW * sumL2 - sumL * sumL;
    if (D > 0) {
      float s = (sumW * sumXL - sumX * sumL) / D, m = (sumL2 * sumX - sumL * sumXL) / D;
      if (m > 0) { m = 0; s = sumXL / sumL2; }
      float err = 0;
      for (int i = 0; i < n; i++) { float diff = s * Laux[i] + m - x[i]; err += w[i] * (useMad ? std::fabs(diff) : diff * diff); }
      if (err < bestErr) { std::memcpy(L, Laux, n); bestErr = err; scale = s; min = m; }
    }
  }
  *theMin = -min;
  return scale;
}

static void q8_0(const float* x, uint8_t* b) {
  float amax = 0;
  for (int j = 0; j < 32; j++) amax = std::max(amax, std::fabs(x[j]));
  float d = amax / 127, id = d ? 1.f / d : 0.f;
  uint16_t dh = f2h(d); std::memcpy(b, &dh, 2);
  for (int j = 0; j < 32; j++) b[2 + j] = (uint8_t)(int8_t)std::roundf(x[j] * id);
}
// Q4_0 / Q5_0: d = max/−8 (−16) where max is the value of largest magnitude; values offset by 8 (16).
static void q4_0(const float* x, uint8_t* b) {
  float amax = 0, max = 0;
  for (int j = 0; j < 32; j++) if (amax < std::fabs(x[j])) { amax = std::fabs(x[j]); max = x[j]; }
  float d = max / -8, id = d ? 1.f / d : 0.f;
  uint16_t dh = f2h(d); std::memcpy(b, &dh, 2);
  for (int j = 0; j < 16; j++) {
    uint8_t a = (uint8_t)std::min(15, (int)(int8_t)(x[j] * id + 8.5f)), c = (uint8_t)std::min(15, (int)(int8_t)(x[j + 16] * id + 8.5f));
    b[2 + j] = a | (c << 4);
  }
}
static void q4_1(const float* x, uint8_t* b) {
  float min = FLT_MAX, max = -FLT_MAX;
  for (int j = 0; j < 32; j++) { min = std::min(min, x[j]); max = std::max(max, x[j]); }
  float d = (max - min) / 15, id = d ? 1.f / d : 0.f;
  uint16_t dh = f2h(d), mh = f2h(min); std::memcpy(b, &dh, 2); std::memcpy(b + 2, &mh, 2);
  for (int j = 0; j < 16; j++) {
    uint8_t a = (uint8_t)std::min(15, (int)(int8_t)((x[j] - min) * id + 0.5f)), c = (uint8_t)std::min(15, (int)(int8_t)((x[j + 16] - min) * id + 0.5f));
    b[4 + j] = a | (c << 4);
  }
}
static void q5(const float* x, uint8_t* b, bool withMin) {
  float d, m = 0;
  if (withMin) {
    float min = FLT_MAX, max = -FLT_MAX;
    for (int j = 0; j < 32; j++) { min = std::min(min, x[j]); max = std::max(max, x[j]); }
    d = (max - min) / 31; m = min;
  } else {
    float amax = 0, max = 0;
    for (int j = 0; j < 32; j++) if (amax < std::fabs(x[j])) { amax = std::fabs(x[j]); max = x[j]; }
    d = max / -16;
  }
  float id = d ? 1.f / d : 0.f;
  uint16_t dh = f2h(d); std::memcpy(b, &dh, 2);
  if (withMin) { uint16_t mh = f2h(m); std::memcpy(b + 2, &mh, 2); }
  uint8_t* qs = b + (withMin ? 8 : 6);
  uint32_t qh = 0;
  for (int j = 0; j < 16; j++) {
    uint8_t a, c;
    if (withMin) { a = (uint8_t)((x[j] - m) * id + 0.5f); c = (uint8_t)((x[j + 16] - m) * id + 0.5f); }
    else { a = (uint8_t)std::min(31, (int)(int8_t)(x[j] * id + 16.5f)); c = (uint8_t)std::min(31, (int)(int8_t)(x[j + 16] * id + 16.5f)); }
    qs[j] = (a & 0xF) | ((c & 0xF) << 4);
    qh |= ((a & 0x10u) >> 4) << j;
    qh |= ((c & 0x10u) >> 4) << (j + 16);
  }
  std::memcpy(b + (withMin ? 4 : 2), &qh, 4);
}

// Q4_K / Q5_K: 8 sub-blocks of 32 with 6-bit scales and mins relative to the super-block's d and dmin.
static void qK45(const float* x, uint8_t* b, bool five) {
  const int nmax = five ? 31 : 15;
  uint8_t L[256], Laux[32];
  float w[32], mins[8], scales[8], maxScale = 0, maxMin = 0;
  for (int j = 0; j < 8; j++) {
    float sumX2 = 0;
    for (int l = 0; l < 32; l++) sumX2 += x[32 * j + l] * x[32 * j + l];
    float avX = std::sqrt(sumX2 / 32);
    for (int l = 0; l < 32; l++) w[l] = avX + std::fabs(x[32 * j + l]);
    scales[j] = five ? makeQkx2Quants(32, 31, x + 32 * j, w, L + 32 * j, &mins[j], Laux, -0.5f, 0.1f, 15, false)
                     : makeQkx2Quants(32, 15, x + 32 * j, w, L + 32 * j, &mins[j], Laux, -1.f, 0.1f, 20, false);
    maxScale = std::max(maxScale, scales[j]); maxMin = std::max(maxMin, mins[j]);
  }
  float invScale = maxScale > 0 ? 63.f / maxScale : 0.f, invMin = maxMin > 0 ? 63.f / maxMin : 0.f;
  uint8_t* sc = b + 4;
  std::memset(sc, 0, 12);
  for (int j = 0; j < 8; j++) {
    uint8_t ls = (uint8_t)std::min(63, nearestInt(invScale * scales[j])), lm = (uint8_t)std::min(63, nearestInt(invMin * mins[j]));
    if (j < 4) { sc[j] = ls; sc[j + 4] = lm; }
    else { sc[j + 4] = (ls & 0xF) | ((lm & 0xF) << 4); sc[j - 4] |= ((ls >> 4) << 6); sc[j] |= ((lm >> 4) << 6); }
  }
  uint16_t dh = f2h(maxScale / 63.f), mh = f2h(maxMin / 63.f);
  std::memcpy(b, &dh, 2); std::memcpy(b + 2, &mh, 2);
  for (int j = 0; j < 8; j++) {
    uint8_t s, m;
    scaleMinK4(j, sc, s, m);
    float d = h2f(dh) * s;
    if (!d) continue;
    float dm = h2f(mh) * m;
    for (int i = 0; i < 32; i++) L[32 * j + i] = (uint8_t)std::max(0, std::min(nmax, nearestInt((x[32 * j + i] + dm) / d)));
  }
  if (!five) {
    uint8_t* q = b + 16;
    for (int j = 0; j < 256; j += 64, q += 32)
      for (int l = 0; l < 32; l++) q[l] = L[j + l] | (L[j + l + 32] << 4);
    return;
  }
  uint8_t* qh = b + 16; uint8_t* ql = b + 48;
  std::memset(qh, 0, 32);
  uint8_t m1 = 1, m2 = 2;
  for (int n = 0; n < 256; n += 64, m1 <<= 2, m2 <<= 2, ql += 32)
    for (int j = 0; j < 32; j++) {
      int l1 = L[n + j], l2 = L[n + j + 32];
      if (l1 > 15) { l1 -= 16; qh[j] |= m1; }
      if (l2 > 15) { l2 -= 16; qh[j] |= m2; }
      ql[j] = (uint8_t)(l1 | (l2 << 4));
    }
}

static void q6_K(const float* x, uint8_t* b) {
  int8_t L[256];
  float scales[16], maxScale = 0, maxAbs = 0;
  for (int ib = 0; ib < 16; ib++) {
    scales[ib] = makeQxQuants(16, 32, x + 16 * ib, L + 16 * ib);
    if (std::fabs(scales[ib]) > maxAbs) { maxAbs = std::fabs(scales[ib]); maxScale = scales[ib]; }
  }
  std::memset(b, 0, 210);
  if (maxAbs < 1e-15f) return;  // all zero: d = 0
  float iscale = -128.f / maxScale;
  uint16_t dh = f2h(1 / iscale); std::memcpy(b + 208, &dh, 2);
  int8_t* sc = (int8_t*)(b + 192);
  for (int ib = 0; ib < 16; ib++) sc[ib] = (int8_t)std::min(127, nearestInt(iscale * scales[ib]));
  for (int j = 0; j < 16; j++) {
    float d = h2f(dh) * sc[j];
    if (!d) continue;
    for (int i = 0; i < 16; i++) L[16 * j + i] = (int8_t)(std::max(-32, std::min(31, nearestInt(x[16 * j + i] / d))) + 32);
  }
  uint8_t* ql = b; uint8_t* qh = b + 128;
  for (int j = 0; j < 256; j += 128, ql += 64, qh += 32)
    for (int l = 0; l < 32; l++) {
      uint8_t a = L[j + l], c = L[j + l + 32], e = L[j + l + 64], f = L[j + l + 96];
      ql[l] = (a & 0xF) | ((e & 0xF) << 4);
      ql[l + 32] = (c & 0xF) | ((f & 0xF) << 4);
      qh[l] = (a >> 4) | ((c >> 4) << 2) | ((e >> 4) << 4) | ((f >> 4) << 6);
    }
}

// Q2_K: 16 sub-blocks of 16, 2-bit values, 4-bit scale and min per sub-block (mean-absolute-error fit).
static void q2_K(const float* x, uint8_t* b) {
  uint8_t L[256], Laux[16];
  float w[16], mins[16], scales[16], maxScale = 0, maxMin = 0;
  for (int j = 0; j < 16; j++) {
    for (int l = 0; l < 16; l++) w[l] = std::fabs(x[16 * j + l]);
    scales[j] = makeQkx2Quants(16, 3, x + 16 * j, w, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15, true);
    maxScale = std::max(maxScale, scales[j]); maxMin = std::max(maxMin, mins[j]);
  }
  uint8_t* sc = b;
  uint16_t dh = 0, mh = 0;
  if (maxScale > 0) {
    float is = 15.f / maxScale;
    for (int j = 0; j < 16; j++) sc[j] = (uint8_t)nearestInt(is * scales[j]);
    dh = f2h(maxScale / 15.f);
  } else {
    std::memset(sc, 0, 16);
  }
  if (maxMin > 0) {
    float is = 15.f / maxMin;
    for (int j = 0; j < 16; j++) sc[j] |= (uint8_t)(nearestInt(is * mins[j]) << 4);
    mh = f2h(maxMin / 15.f);
  }
  std::memcpy(b + 80, &dh, 2); std::memcpy(b + 82, &mh, 2);
  for (int j = 0; j < 16; j++) {
    float d = h2f(dh) * (sc[j] & 0xF);
    if (!d) continue;
    float dm = h2f(mh) * (sc[j] >> 4);
    for (int i = 0; i < 16; i++) L[16 * j + i] = (uint8_t)std::max(0, std::min(3, nearestInt((x[16 * j + i] + dm) / d)));
  }
  uint8_t* qs = b + 16;
  for (int j = 0; j < 256; j += 128)
    for (int l = 0; l < 32; l++) qs[j / 4 + l] = L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6);
}

// Symmetric 3-bit fit with a few rounds of coordinate descent (ggml make_q3_quants, do_rmse). L in 0..2·nmax-1.
static float makeQ3Quants(int n, int nmax, const float* x, int8_t* L) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; i++) { float ax = std::fabs(x[i]); if (ax > amax) { amax = ax; max = x[i]; } }
  if (amax < 1e-15f) { for (int i = 0; i < n; i++) L[i] = 0; return 0.f; }
  float iscale = -nmax / max, sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; i++) {
    int l = std::max(-nmax, std::min(nmax - 1, nearestInt(iscale * x[i])));
    L[i] = (int8_t)l;
    float w = x[i] * x[i];
    sumlx += w * x[i] * l; suml2 += w * l * l;
  }
  for (int itry = 0; itry < 5; itry++) {
    int changed = 0;
    for (int i = 0; i < n; i++) {
      float w = x[i] * x[i], slx = sumlx - w * x[i] * L[i];
      if (slx > 0) {
        float sl2 = suml2 - w * L[i] * L[i];
        int nl = std::max(-nmax, std::min(nmax - 1, nearestInt(x[i] * sl2 / slx)));
        if (nl != L[i]) {
          slx += w * x[i] * nl; sl2 += w * nl * nl;
          if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) { L[i] = (int8_t)nl; sumlx = slx; suml2 = sl2; changed++; }
        }
      }
    }
    if (!changed) break;
  }
  for (int i = 0; i < n; i++) L[i] = (int8_t)(L[i] + nmax);
  return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

// Q3_K: 16 sub-blocks of 16, 3-bit values (2 low bits in qs, the high bit in hmask), 6-bit signed scales.
static void q3_K(const float* x, uint8_t* b) {
  int8_t L[256];
  float scales[16], maxScale = 0, amax = 0;
  for (int j = 0; j < 16; j++) {
    scales[j] = makeQ3Quants(16, 4, x + 16 * j, L + 16 * j);
    if (std::fabs(scales[j]) > amax) { amax = std::fabs(scales[j]); maxScale = scales[j]; }
  }
  uint8_t* hm = b; uint8_t* qs = b + 32; uint8_t* sc = b + 96;
  std::memset(sc, 0, 12);
  uint16_t dh = 0;
  if (maxScale) {
    float iscale = -32.f / maxScale;
    for (int j = 0; j < 16; j++) {
      int l = std::max(-32, std::min(31, (int)(int8_t)nearestInt(iscale * scales[j]))) + 32;
      if (j < 8) sc[j] = l & 0xF;
      else sc[j - 8] |= (uint8_t)((l & 0xF) << 4);
      sc[j % 4 + 8] |= (uint8_t)((l >> 4) << (2 * (j / 4)));
    }
    dh = f2h(1 / iscale);
  }
  std::memcpy(b + 108, &dh, 2);
  for (int j = 0; j < 16; j++) {
    int s = j < 8 ? sc[j] & 0xF : sc[j - 8] >> 4;
    s = (s | (((sc[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32;
    float d = h2f(dh) * s;
    if (!d) continue;
    for (int i = 0; i < 16; i++) L[16 * j + i] = (int8_t)(std::max(-4, std::min(3, nearestInt(x[16 * j + i] / d))) + 4);
  }
  std::memset(hm, 0, 32);
  int m = 0; uint8_t bit = 1;
  for (int j = 0; j < 256; j++) {
    if (L[j] > 3) { hm[m] |= bit; L[j] -= 4; }
    if (++m == 32) { m = 0; bit <<= 1; }
  }
  for (int j = 0; j < 256; j += 128)
    for (int l = 0; l < 32; l++) qs[j / 4 + l] = L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6);
}

bool quantizeRow(int type, const float* x, uint8_t* dst, int64_t n) {
  QLayout L = qlayout(type);
  if (L.block == 0) return false;
  switch (type) {
    case QT_F32: std::memcpy(dst, x, n * 4); return true;
    case QT_F16: for (int64_t i = 0; i < n; i++) { uint16_t h = f2h(x[i]); std::memcpy(dst + 2 * i, &h, 2); } return true;
    case QT_BF16:
      for (int64_t i = 0; i < n; i++) {
        uint32_t v; std::memcpy(&v, x + i, 4);
        uint16_t h = (v & 0x7fffffff) > 0x7f800000 ? (uint16_t)((v >> 16) | 0x40) : (uint16_t)((v + 0x7fff + ((v >> 16) & 1)) >> 16);
        std::memcpy(dst + 2 * i, &h, 2);
      }
      return true;
    default: break;
  }
  for (int64_t i = 0; i < n / L.block; i++, x += L.block, dst += L.bytes) {
    switch (type) {
      case QT_Q4_0: q4_0(x, dst); break;
      case QT_Q4_1: q4_1(x, dst); break;
      case QT_Q5_0: q5(x, dst, false); break;
      case QT_Q5_1: q5(x, dst, true); break;
      case QT_Q8_0: q8_0(x, dst); break;
      case QT_Q4_K: qK45(x, dst, false); break;
      case QT_Q5_K: qK45(x, dst, true); break;
      case QT_Q6_K: q6_K(x, dst); break;
      case QT_Q2_K: q2_K(x, dst); break;
      case QT_Q3_K: q3_K(x, dst); break;
    }
  }
  return true;
}

}  // namespace lift
