// Matrix-vector products for decode: y[M,O] = x[M,I] · W[O,I]ᵀ with few rows of x (M ≤ 4: one token, or a
// handful), W stored as f32, f16 or bf16 (nn.Linear layout, a row per output feature).
//   matvec(x, M, I, w, type, O, y)   w: Float32Array (type 0) or the raw bytes, Uint8Array (type 1 = F16, 30 = BF16)
// Why not sgemm: with M = 1 OpenBLAS still packs W (the whole weight is copied once more per call) and runs
// its M×N micro-kernel with one useful row; decode then moves ~2× the weight bytes it needs. Here each row of
// W is read once, straight from memory, row after row as one sequential stream, and dotted with the M rows of x
// (which stay in L1), so the loop is bound by memory bandwidth, not by the FMA units.
// Summation order: 16 lanes, each a strided partial sum, reduced at the end; sgemm sums in another order, so
// results agree to float32 rounding (test/engine/matvec.test.ts), not bitwise.
// Threads: only for weights of ≥ 8 MiB on the AVX-512 path, ≥ 1 MiB elsewhere (overRows); rows of W split in chunks of ≥ 64 rows handed out
// dynamically, so a thread that the OS parks (cores shared with another process) delays one chunk, not a fixed
// half of the product.
// The AVX-512 and AVX2 kernels are compiled with target attributes and chosen at run time (AVX-512, else AVX2 +
// FMA + F16C); other CPUs get the portable loop (same results to rounding).
#include "common.h"
#include "kernels.h"
#include <algorithm>
#include <cstring>
#include <immintrin.h>

namespace lift {

static const int kMaxM = 4;  // beyond this, sgemm's blocking wins (x no longer fits the accumulators)

enum WType : int { W_F32 = 0, W_F16 = 1, W_BF16 = 30 };

// ---- portable path ----
static inline float loadScalar(const void* w, int type, int64_t i) {
  if (type == W_F32) return ((const float*)w)[i];
  uint16_t h = ((const uint16_t*)w)[i];
  if (type == W_BF16) {
    uint32_t b = (uint32_t)h << 16;
    float f;
    std::memcpy(&f, &b, 4);
    return f;
  }
  // IEEE half → float in software (the portable path assumes no F16C either).
  uint32_t sign = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 31, m = h & 1023, b;
  if (e == 31) b = sign | 0x7F800000u | (m << 13);
  else if (e != 0) b = sign | ((e + 112) << 23) | (m << 13);
  else if (m == 0) b = sign;
  else {  // subnormal: normalise
    e = 113;
    while (!(m & 1024)) m <<= 1, e--;
    b = sign | (e << 23) | ((m & 1023) << 13);
  }
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}
static void rowsPortable(const float* x, int64_t M, int64_t I, const void* w, int type, int64_t o0, int64_t o1, float* y, int64_t O) {
  for (int64_t o = o0; o < o1; o++) {
    float acc[kMaxM] = {0, 0, 0, 0};
    for (int64_t i = 0; i < I; i++) {
      float wv = loadScalar(w, type, o * I + i);
      for (int64_t m = 0; m < M; m++) acc[m] += wv * x[m * I + i];
    }
    for (int64_t m = 0; m < M; m++) y[m * O + o] = acc[m];
  }
}

// ---- AVX-512 path ----
// 16 weights from row `p` at column i as floats; `mask` selects the valid lanes of a short tail.
template <int TYPE>
__attribute__((target("avx512f,avx512bw,avx512vl"))) static inline __m512 load16(const void* p, int64_t i, __mmask16 mask) {
  if constexpr (TYPE == W_F32) return _mm512_maskz_loadu_ps(mask, (const float*)p + i);
  __m256i h = _mm256_maskz_loadu_epi16(mask, (const uint16_t*)p + i);
  if constexpr (TYPE == W_F16) return _mm512_cvtph_ps(h);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));  // bf16 → f32: the top 16 bits
}

// One row of W at a time, front to back, against the M rows of x: 2·M accumulators (two per token, so the
// FMA chains overlap). W is then read as one sequential stream, which the hardware prefetcher follows at full
// memory bandwidth; interleaving 4 rows (4 streams 2.3 KB apart) measured half the bandwidth of this (M = 1,
// 49152×576 f32: 3.7–4.9 GB/s vs 7.7–8.4 GB/s, a plain read 7.9–11 GB/s, on 2 shared cores).
template <int TYPE, int M>
__attribute__((target("avx512f,avx512bw,avx512vl"))) static void rowsAvx512(const float* x, int64_t I, const void* w, int64_t o0, int64_t o1, float* y, int64_t O) {
  const int esz = TYPE == W_F32 ? 4 : 2;
  for (int64_t o = o0; o < o1; o++) {
    const char* wr = (const char*)w + o * I * esz;
    __m512 a0[M], a1[M];
    for (int m = 0; m < M; m++) a0[m] = a1[m] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= I; i += 32) {
      __m512 w0 = load16<TYPE>(wr, i, 0xFFFF), w1 = load16<TYPE>(wr, i + 16, 0xFFFF);
      for (int m = 0; m < M; m++) {
        a0[m] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(x + m * I + i), a0[m]);
        a1[m] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(x + m * I + i + 16), a1[m]);
      }
    }
    for (; i < I; i += 16) {
      __mmask16 k = I - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (I - i)) - 1);
      __m512 wv = load16<TYPE>(wr, i, k);
      for (int m = 0; m < M; m++) a0[m] = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(k, x + m * I + i), a0[m]);
    }
    for (int m = 0; m < M; m++) y[m * O + o] = _mm512_reduce_add_ps(_mm512_add_ps(a0[m], a1[m]));
  }
}

// ---- AVX2 path (CPUs without AVX-512: Zen 2/3, most laptops) ----
// The same row-at-a-time stream in 8 lanes; the ragged tail of a row is scalar (I % 8 values). F16 via F16C.
#define LIFT_AVX2 __attribute__((target("avx2,fma,f16c")))
template <int TYPE>
LIFT_AVX2 static inline __m256 load8(const void* p, int64_t i) {
  if constexpr (TYPE == W_F32) return _mm256_loadu_ps((const float*)p + i);
  __m128i h = _mm_loadu_si128((const __m128i*)((const uint16_t*)p + i));
  if constexpr (TYPE == W_F16) return _mm256_cvtph_ps(h);
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}
LIFT_AVX2 static inline float hsumAvx2(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}
template <int TYPE, int M>
LIFT_AVX2 static void rowsAvx2(const float* x, int64_t I, const void* w, int64_t o0, int64_t o1, float* y, int64_t O) {
  const int esz = TYPE == W_F32 ? 4 : 2;
  for (int64_t o = o0; o < o1; o++) {
    const char* wr = (const char*)w + o * I * esz;
    __m256 a0[M], a1[M];
    for (int m = 0; m < M; m++) a0[m] = a1[m] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= I; i += 16) {
      __m256 w0 = load8<TYPE>(wr, i), w1 = load8<TYPE>(wr, i + 8);
      for (int m = 0; m < M; m++) {
        a0[m] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + m * I + i), a0[m]);
        a1[m] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + m * I + i + 8), a1[m]);
      }
    }
    if (i + 8 <= I) {
      __m256 w0 = load8<TYPE>(wr, i);
      for (int m = 0; m < M; m++) a0[m] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + m * I + i), a0[m]);
      i += 8;
    }
    for (int m = 0; m < M; m++) {
      float s = hsumAvx2(_mm256_add_ps(a0[m], a1[m]));
      for (int64_t j = i; j < I; j++) s += loadScalar(wr, TYPE, j) * x[m * I + j];
      y[m * O + o] = s;
    }
  }
}

using RowsFn = void (*)(const float*, int64_t, const void*, int64_t, int64_t, float*, int64_t);
template <int TYPE, bool WIDE>
static RowsFn pickM(int64_t M) {
  switch (M) {
    case 1: return WIDE ? rowsAvx512<TYPE, 1> : rowsAvx2<TYPE, 1>;
    case 2: return WIDE ? rowsAvx512<TYPE, 2> : rowsAvx2<TYPE, 2>;
    case 3: return WIDE ? rowsAvx512<TYPE, 3> : rowsAvx2<TYPE, 3>;
    default: return WIDE ? rowsAvx512<TYPE, 4> : rowsAvx2<TYPE, 4>;
  }
}
template <bool WIDE>
static RowsFn pickType(int type, int64_t M) {
  return type == W_F32 ? pickM<W_F32, WIDE>(M) : type == W_F16 ? pickM<W_F16, WIDE>(M) : pickM<W_BF16, WIDE>(M);
}

// (LIFT_CPU_FEATURES=-avx512f takes the AVX2 path on an AVX-512 CPU, -avx2 the portable one: common.h.)
static bool hasAvx512() {
  static const bool hw = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  return hw && !cpuFeatureHidden("avx512f");
}
static bool hasAvx2() {
  static const bool hw = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
  return hw && !cpuFeatureHidden("avx2");
}

// Runs fn over rows [0, O) in chunks, in parallel only for a weight of ≥ `bound` bytes (common.h: 8 MiB on the
// AVX-512 path, 1 MiB elsewhere). One core
// streams nearly the machine's memory bandwidth on its own (Zen 4 here: 18 GB/s for one thread, ~20 for two), so
// a second thread saves little per byte, while each parallel region costs a wake-up of the sleeping OpenMP
// threads (passive wait policy, src/engine/native.ts): ~35 µs, more than a 135M-shaped projection (0.4–3.5 MB)
// takes to stream. With the old bound (256 KB) a 135M f32 decode token opened 211 regions and 2 threads decoded
// slower than 1; now only the vocabulary projection (113 MB) is split: 2 threads 31.6–35.5 → 35.2–38.2 tok/s.
template <typename Fn>
static void overRows(int64_t O, int64_t I, int64_t esz, int64_t bound, Fn fn) {
  int nt = omp_get_max_threads();
  if (nt == 1 || O * I * esz < bound || omp_in_parallel()) return fn(0, O);
  // ≥ 4 chunks per thread for balance when a thread is descheduled; ≥ 64 rows per chunk.
  int64_t chunk = std::max<int64_t>(64, O / (4 * nt));
  int64_t chunks = (O + chunk - 1) / chunk;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t c = 0; c < chunks; c++) fn(c * chunk, std::min(O, (c + 1) * chunk));
}

void matvecRun(const float* x, int64_t M, int64_t I, const void* w, int type, int64_t O, float* y, bool allowSimd) {
  int64_t esz = type == W_F32 ? 4 : 2;
  if (allowSimd && hasAvx512()) {
    RowsFn f = pickType<true>(type, M);
    overRows(O, I, esz, kDecodeParallelBytes, [&](int64_t a, int64_t b) { f(x, I, w, a, b, y, O); });
  } else if (allowSimd && hasAvx2()) {
    RowsFn f = pickType<false>(type, M);
    overRows(O, I, esz, kDecodeParallelBytesAvx2, [&](int64_t a, int64_t b) { f(x, I, w, a, b, y, O); });
  } else {
    overRows(O, I, esz, kDecodeParallelBytesAvx2, [&](int64_t a, int64_t b) { rowsPortable(x, M, I, w, type, a, b, y, O); });
  }
}

void matvecRowsRun(const float* x, int64_t M, int64_t I, const void* w, int type, int64_t o0, int64_t o1, float* y, int64_t O) {
  if (hasAvx512()) pickType<true>(type, M)(x, I, w, o0, o1, y, O);
  else if (hasAvx2()) pickType<false>(type, M)(x, I, w, o0, o1, y, O);
  else rowsPortable(x, M, I, w, type, o0, o1, y, O);
}

// matvec(x, M, I, w, type, O, y[, portable])
static Napi::Value matvec(const Napi::CallbackInfo& info) {
  const char* op = "matvec";
  F32 x = f32(info, 0, op);
  int64_t M = integer(info, 1, op), I = integer(info, 2, op);
  int type = (int)integer(info, 4, op);
  int64_t O = integer(info, 5, op);
  F32 y = f32(info, 6, op);
  bool portable = info.Length() > 7 && !info[7].IsUndefined() && boolean(info, 7, op);
  if (M < 1 || M > kMaxM) throw ArgError{std::string(op) + ": M (rows of x) must be 1…" + std::to_string(kMaxM) + ", got " + std::to_string(M)};
  positive(op, "I", I);
  nonneg(op, "O", O);
  const void* wp;
  size_t wn;
  if (type == W_F32) {
    F32 w = f32(info, 3, op);
    wp = w.p, wn = w.n;
  } else if (type == W_F16 || type == W_BF16) {
    if (!info[3].IsTypedArray() || info[3].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      throw ArgError{argName(op, 3) + " must be a Uint8Array (the raw bytes) for an f16/bf16 weight"};
    auto a = info[3].As<Napi::Uint8Array>();
    wp = a.Data(), wn = a.ElementLength() / 2;
  } else {
    throw ArgError{std::string(op) + ": weight type must be 0 (F32), 1 (F16) or 30 (BF16), got " + std::to_string(type)};
  }
  fits(op, "x", x.n, 0, M * I);
  fits(op, "weight", wn, 0, O * I);
  fits(op, "y", y.n, 0, M * O);
  if (O > 0) matvecRun(x.p, M, I, wp, type, O, y.p, !portable);
  return info.Env().Undefined();
}

static Napi::Value matvecSimd(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), hasAvx512() || hasAvx2()); }

void registerMatvec(Napi::Env env, Napi::Object exports) {
  LIFT_EXPORT("matvec", matvec);
  LIFT_EXPORT("matvecSimd", matvecSimd);
}

}  // namespace lift
