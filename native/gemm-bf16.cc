// Matrix products with a frozen weight held in bf16, on the CPU's AVX-512 BF16 units (vdpbf16ps: 16 fp32
// lanes, each += a[2i]·b[2i] + a[2i+1]·b[2i+1] over bf16 pairs; the products are exact in fp32):
//   bf16Matmul:         y[T,O]  = x[T,I] · W[O,I]ᵀ      (forward of a linear layer)
//   bf16MatmulBackward: dx[T,I] (+)= dy[T,O] · W[O,I]   (input gradient; a frozen weight needs no dW)
//   bf16MatmulRef:      either product as a scalar reference (inputs rounded to bf16 the kernel's way, sums in double)
//   cpuFeatures:        what this CPU has (after LIFT_CPU_FEATURES=-avx512bf16,… switches features off)
// The fp32 operand (x or dy) is rounded to bf16 (nearest even, as vcvtne2ps2bf16) into a scratch copy; sums are fp32.
// OpenBLAS 0.3.21 (Debian 12) has no cblas_sbgemm, hence our own kernels (docs/speed.md).
//
// Layout: a product C[M,N] (+)= A[M,K]·B[K,N] where B is read from W as Wᵀ (forward) or W (backward). B is
// packed per panel (KC values of K × NC columns) into "pair-major" order: for each k-pair p, the 16-column group
// g is one 64-byte vector of (B[2p][n], B[2p+1][n]) bf16 pairs, the operand vdpbf16ps wants. The micro-kernel
// keeps C[6 rows, 64 columns] in 24 zmm accumulators and per k-pair broadcasts one 32-bit A pair per row.
// Every function that executes AVX-512 BF16 instructions carries LIFT_BF16 (a target attribute), so the addon
// loads on any x86-64 and these run only after bf16Usable() said yes.
#include "common.h"
#include "kernels.h"
#include "bf16.h"
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <immintrin.h>
#include <memory>
#include <vector>


namespace lift {

// ---- CPU features ----------------------------------------------------------------------------------------
static bool has(const char* name) {
  __builtin_cpu_init();
  bool hw = false;
  if (!std::strcmp(name, "avx512f")) hw = __builtin_cpu_supports("avx512f");
  else if (!std::strcmp(name, "avx512bw")) hw = __builtin_cpu_supports("avx512bw");
  else if (!std::strcmp(name, "avx512vl")) hw = __builtin_cpu_supports("avx512vl");
  else if (!std::strcmp(name, "avx512bf16")) hw = __builtin_cpu_supports("avx512bf16");
  else if (!std::strcmp(name, "avx512vnni")) hw = __builtin_cpu_supports("avx512vnni");
  return hw && !cpuFeatureHidden(name);  // common.h: LIFT_CPU_FEATURES
}
bool bf16Usable() { return has("avx512f") && has("avx512bw") && has("avx512vl") && has("avx512bf16"); }

// src[M,K] fp32 → dst[M,Kp] bf16.
LIFT_BF16 static void toBf16Rows(const float* src, int64_t M, int64_t K, uint16_t* dst, int64_t Kp) {
#pragma omp parallel for schedule(static) if (M * K > 65536)
  for (int64_t m = 0; m < M; m++) toBf16Row(src + m * K, K, dst + m * Kp, Kp);
}

// ---- packing -------------------------------------------------------------------------------------------------
// Panel of B = Wᵀ (W[N,K] row-major): pairs p of k0..k0+kc, columns n0..n0+nc → P[p][16·ceil(nc/16)] u32.
// A pair is two neighbours in a row of W, one 32-bit read; the zero pad covers odd K and the last column group.
static void packWt(const uint16_t* W, int64_t K, int64_t n0, int64_t nc, int64_t k0, int64_t kc, uint32_t* P, int64_t ldp) {
  int64_t pairs = (kc + 1) / 2;
  for (int64_t pb = 0; pb < pairs; pb += 16) {
    int64_t pe = std::min(pairs, pb + 16);
    for (int64_t j = 0; j < ldp; j++) {
      if (j >= nc) {
        for (int64_t p = pb; p < pe; p++) P[p * ldp + j] = 0;
        continue;
      }
      const uint16_t* row = W + (n0 + j) * K + k0;
      for (int64_t p = pb; p < pe; p++) {
        int64_t k = 2 * p;
        P[p * ldp + j] = k + 1 < kc ? rd32(row + k) : (uint32_t)rd16(row + k);
      }
    }
  }
}

// Panel of B = W (W[K,N] row-major): rows k0..k0+kc, columns n0..n0+nc. Rows 2p and 2p+1 are interleaved
// 16 bits at a time (vpermt2w), 32 columns per step; masked loads give the zero pad.
LIFT_BF16 static void packW(const uint16_t* W, int64_t N, int64_t n0, int64_t nc, int64_t k0, int64_t kc, uint32_t* P, int64_t ldp) {
  alignas(64) static const uint16_t lo[32] = {0, 32, 1, 33, 2, 34, 3, 35, 4, 36, 5, 37, 6, 38, 7, 39,
                                              8, 40, 9, 41, 10, 42, 11, 43, 12, 44, 13, 45, 14, 46, 15, 47};
  alignas(64) static const uint16_t hi[32] = {16, 48, 17, 49, 18, 50, 19, 51, 20, 52, 21, 53, 22, 54, 23, 55,
                                              24, 56, 25, 57, 26, 58, 27, 59, 28, 60, 29, 61, 30, 62, 31, 63};
  __m512i ilo = _mm512_load_si512(lo), ihi = _mm512_load_si512(hi);
  int64_t pairs = (kc + 1) / 2;
  for (int64_t p = 0; p < pairs; p++) {
    const uint16_t* r0 = W + (k0 + 2 * p) * N + n0;
    const uint16_t* r1 = r0 + N;
    bool second = 2 * p + 1 < kc;
    for (int64_t j = 0; j < ldp; j += 32) {
      int64_t left = nc - j;
      __mmask32 mk = left >= 32 ? 0xffffffffu : left <= 0 ? 0u : (__mmask32)((1u << left) - 1);
      __m512i a = _mm512_maskz_loadu_epi16(mk, r0 + j);
      __m512i b = second ? _mm512_maskz_loadu_epi16(mk, r1 + j) : _mm512_setzero_si512();
      _mm512_storeu_si512(P + p * ldp + j, _mm512_permutex2var_epi16(a, ilo, b));
      if (j + 16 < ldp) _mm512_storeu_si512(P + p * ldp + j + 16, _mm512_permutex2var_epi16(a, ihi, b));
    }
  }
}

static const int64_t kMR = 6, kNR = 64, kKC = 384;  // KC: 192 pairs × 64 columns × 4 B = 48 KiB of B per strip

// C[M,N] (+)= A[M,K] · B where B = Wᵀ (W[N,K], wt) or W (W[K,N]). A is fp32, rounded here.
LIFT_BF16 static void gemmBf16(const float* Af, int64_t M, int64_t K, const uint16_t* W, int64_t N, bool wt, float* C, bool acc) {
  int64_t Kp = (K + 1) & ~int64_t(1);
  std::vector<uint16_t> A((size_t)(M * Kp));
  toBf16Rows(Af, M, K, A.data(), Kp);
  int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
  // Column panels: a whole multiple of the thread count, each ≤ 256 columns (in 16-column groups).
  int64_t per = (N + 256 * nt - 1) / (256 * nt);
  int64_t NC = std::max<int64_t>(16, ((N + per * nt - 1) / (per * nt) + 15) / 16 * 16);
  int64_t panels = (N + NC - 1) / NC;
#pragma omp parallel num_threads(nt)
  {
    std::vector<uint32_t> P((size_t)(kKC / 2 * NC));
#pragma omp for schedule(dynamic)
    for (int64_t pn = 0; pn < panels; pn++) {
      int64_t n0 = pn * NC, nc = std::min(NC, N - n0), ldp = (nc + 15) / 16 * 16;
      for (int64_t k0 = 0; k0 < K; k0 += kKC) {
        int64_t kc = std::min(kKC, K - k0), pairs = (kc + 1) / 2;
        if (wt) packWt(W, K, n0, nc, k0, kc, P.data(), ldp);
        else packW(W, N, n0, nc, k0, kc, P.data(), ldp);
        bool add = acc || k0 > 0;
        for (int64_t m0 = 0; m0 < M; m0 += kMR) {
          int64_t mr = std::min(kMR, M - m0);
          for (int64_t j = 0; j < nc; j += kNR) {
            int64_t w = std::min(kNR, nc - j);
            pick((int)mr, (int)((w + 15) / 16))(A.data() + m0 * Kp + k0, Kp, P.data() + j, ldp, pairs, C + m0 * N + n0 + j, N, w, add);
          }
        }
      }
    }
  }
}

// ---- pre-packed weights -----------------------------------------------------------------------------------
// A frozen weight is packed once (bf16Pack) into the layout the micro-kernel reads, for the forward (B = Wᵀ) and,
// when training, for the input gradient (B = W), and kept (src/engine/compute.ts): per-call packing was a
// strided scalar transpose of the whole weight for every product (at 256 rows, a large share of the product's
// time), and the per-call panels were ≤ 256 columns wide, so each k-pair's 4 loads sat 1 KiB apart.
// Layout: strips of 64 columns; strip s holds ceil(K/2) pairs × 64 u32, P[s][p][j] = (B[2p][64s+j], B[2p+1][64s+j]),
// zero past K and N, so one strip of one k-block is a contiguous run the micro-kernel streams through.
// The buffer comes from JS (GC-owned); the layout starts at the first 64-byte boundary inside it.
static const int64_t kSW = 64;        // strip width (columns)
static const int64_t kKCP = 512;      // inner k-block (values): 256 pairs × 256 B = 64 KiB of a strip
static const int64_t kKO = 4096;      // outer k-block (values): A is rounded to bf16 one such slice at a time
static int64_t packedBytes(int64_t K, int64_t N) { return (N + kSW - 1) / kSW * kSW * ((K + 1) / 2) * 4 + 64; }
static uint32_t* aligned64(uint8_t* p) { return (uint32_t*)(((uintptr_t)p + 63) & ~(uintptr_t)63); }

// Packs B (K×N) read from W[rows, cols] bf16: forward (wt) B = Wᵀ, K = cols, N = rows; else B = W, K = rows, N = cols.
LIFT_BF16 static void packAll(const uint16_t* W, int64_t rows, int64_t cols, bool wt, uint32_t* P) {
  int64_t K = wt ? cols : rows, N = wt ? rows : cols, pairs = (K + 1) / 2, S = (N + kSW - 1) / kSW;
#pragma omp parallel for schedule(dynamic)
  for (int64_t s = 0; s < S; s++) {
    int64_t n0 = s * kSW, nc = std::min(kSW, N - n0);
    uint32_t* dst = P + s * pairs * kSW;
    if (wt) packWt(W, K, n0, nc, 0, K, dst, kSW);
    else packW(W, N, n0, nc, 0, K, dst, kSW);
  }
}

// C[M,N] (+)= A[M,K] · B with B pre-packed (packAll). Work units: (64-column strip, chunk of MC rows), strips
// outermost so a strip stays in L2 across its row chunks; MC is sized for ≥ 8 units per thread (balance on small
// products such as k/v's 192 columns). K beyond kKO (lm_head's input gradient, K = the vocabulary) runs in outer
// slices so A's bf16 copy stays small and each slice of A and B is read from memory once.
LIFT_BF16 static void gemmPacked(const float* Af, int64_t M, int64_t K, const uint32_t* P, int64_t N, float* C, bool acc) {
  int64_t pairsAll = (K + 1) / 2, S = (N + kSW - 1) / kSW;
  int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
  int64_t chunks = std::max<int64_t>(1, (8 * nt + S - 1) / S);
  int64_t MC = std::min<int64_t>(256, ((M + chunks - 1) / chunks + kMR - 1) / kMR * kMR);
  int64_t mch = (M + MC - 1) / MC, units = S * mch;
  int64_t ko = std::min(K, kKO), kop = (ko + 1) & ~int64_t(1);
  std::unique_ptr<uint16_t[]> A(new uint16_t[(size_t)(M * kop)]);
  for (int64_t k0 = 0; k0 < K; k0 += kKO) {
    int64_t kw = std::min(kKO, K - k0), kwp = (kw + 1) & ~int64_t(1);
    // Round this slice of A to bf16 rows of kwp values (pad 0).
#pragma omp parallel for schedule(static) num_threads(nt) if (M * kw > 65536)
    for (int64_t m = 0; m < M; m++) toBf16Row(Af + m * K + k0, kw, A.get() + m * kwp, kwp);
    bool add = acc || k0 > 0;
#pragma omp parallel for schedule(dynamic) num_threads(nt)
    for (int64_t u = 0; u < units; u++) {
      int64_t s = u / mch, m0 = (u % mch) * MC, m1 = std::min(M, m0 + MC), n0 = s * kSW, nc = std::min(kSW, N - n0);
      const uint32_t* strip = P + s * pairsAll * kSW + (k0 / 2) * kSW;
      for (int64_t kk = 0; kk < kw; kk += kKCP) {
        int64_t pairs = (std::min(kKCP, kw - kk) + 1) / 2;
        for (int64_t m = m0; m < m1; m += kMR) {
          int64_t mr = std::min(kMR, m1 - m);
          pick((int)mr, (int)((nc + 15) / 16))(A.get() + m * kwp + kk, kwp, strip + (kk / 2) * kSW, kSW, pairs, C + m * N + n0, N, nc, add || kk > 0);
        }
      }
    }
  }
}

// Decode-sized forward (M ≤ 4): y[m,o] = x[m]·W[o] as dot products along K, reading each row of W once
// (memory-bound on W; packing would cost more than the product). M is a template parameter and the main loop
// has plain loads only, so the accumulators stay in registers (with a masked load in the loop GCC kept them on
// the stack, as in lora.cc); the K % 32 tail is one masked step.
template <int M>
LIFT_BF16 static void gemvRows(const uint16_t* X, int64_t Kp, int64_t K, const uint16_t* W, int64_t N, float* Y) {
  // Threads only for a large weight (kDecodeParallelBytes, common.h: as matvec.cc).
  maybeParallel(N, N * K * 2 >= kDecodeParallelBytes, [&](int64_t o) LIFT_BF16 {
    const uint16_t* w = W + o * K;
    __m512 acc[M];
    for (int m = 0; m < M; m++) acc[m] = _mm512_setzero_ps();
    int64_t k = 0;
    for (; k + 32 <= K; k += 32) {
      __m512bh b = (__m512bh)_mm512_loadu_si512(w + k);
      for (int m = 0; m < M; m++) acc[m] = _mm512_dpbf16_ps(acc[m], (__m512bh)_mm512_loadu_si512(X + m * Kp + k), b);
    }
    if (k < K) {
      __m512bh b = (__m512bh)_mm512_maskz_loadu_epi16((__mmask32)((1u << (K - k)) - 1), w + k);
      for (int m = 0; m < M; m++) acc[m] = _mm512_dpbf16_ps(acc[m], (__m512bh)_mm512_loadu_si512(X + m * Kp + k), b);
    }
    for (int m = 0; m < M; m++) Y[m * N + o] = _mm512_reduce_add_ps(acc[m]);
  });
}

LIFT_BF16 static void gemvBf16(const float* Xf, int64_t M, int64_t K, const uint16_t* W, int64_t N, float* Y) {
  int64_t Kp = (K + 31) / 32 * 32;
  std::vector<uint16_t> X((size_t)(M * Kp), 0);  // the pad is 0, so the tail step's extra lanes add nothing
  for (int64_t m = 0; m < M; m++)
    for (int64_t k = 0; k < K; k++) X[m * Kp + k] = f2bf(Xf[m * K + k]);
  switch (M) {
    case 0: return;
    case 1: return gemvRows<1>(X.data(), Kp, K, W, N, Y);
    case 2: return gemvRows<2>(X.data(), Kp, K, W, N, Y);
    case 3: return gemvRows<3>(X.data(), Kp, K, W, N, Y);
    default: return gemvRows<4>(X.data(), Kp, K, W, N, Y);
  }
}

void bf16GemvRun(const float* x, int64_t M, int64_t K, const uint16_t* W, int64_t N, float* Y) { gemvBf16(x, M, K, W, N, Y); }

// ---- bindings ------------------------------------------------------------------------------------------------
struct U16 {
  const uint16_t* p;
  size_t n;  // bf16 values
};
static U16 weight(const Napi::CallbackInfo& info, int i, const char* op) {
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw ArgError{argName(op, i) + " must be a Uint8Array (bf16 weight bytes)"};
  auto a = info[i].As<Napi::Uint8Array>();
  return U16{(const uint16_t*)a.Data(), a.ElementLength() / 2};
}
static void needUnits(const char* op) {
  if (!bf16Usable())
    throw ArgError{std::string(op) + ": this CPU has no AVX-512 BF16 units (or LIFT_CPU_FEATURES hides them); use compute fp32"};
}

// bf16Matmul(x F32, T, I, w U8 (bf16 [O,I]), O, y F32)
static Napi::Value bf16Matmul(const Napi::CallbackInfo& info) {
  const char* op = "bf16Matmul";
  F32 x = f32(info, 0, op);
  int64_t T = integer(info, 1, op), I = integer(info, 2, op);
  U16 w = weight(info, 3, op);
  int64_t O = integer(info, 4, op);
  F32 y = f32(info, 5, op);
  nonneg(op, "T", T); positive(op, "I", I); nonneg(op, "O", O);
  fits(op, "w", w.n, 0, O * I); fits(op, "x", x.n, 0, T * I); fits(op, "y", y.n, 0, T * O);
  needUnits(op);
  if (T == 0 || O == 0) return info.Env().Undefined();
  if (T <= 4) gemvBf16(x.p, T, I, w.p, O, y.p);
  else gemmBf16(x.p, T, I, w.p, O, true, y.p, false);
  return info.Env().Undefined();
}

// bf16MatmulBackward(dy F32, T, O, w U8 (bf16 [O,I]), I, dx F32, accumulate)
static Napi::Value bf16MatmulBackward(const Napi::CallbackInfo& info) {
  const char* op = "bf16MatmulBackward";
  F32 dy = f32(info, 0, op);
  int64_t T = integer(info, 1, op), O = integer(info, 2, op);
  U16 w = weight(info, 3, op);
  int64_t I = integer(info, 4, op);
  F32 dx = f32(info, 5, op);
  bool acc = boolean(info, 6, op);
  nonneg(op, "T", T); nonneg(op, "O", O); positive(op, "I", I);
  fits(op, "w", w.n, 0, O * I); fits(op, "dy", dy.n, 0, T * O); fits(op, "dx", dx.n, 0, T * I);
  needUnits(op);
  if (T == 0) return info.Env().Undefined();
  if (O == 0) {
    if (!acc) std::fill(dx.p, dx.p + T * I, 0.f);
    return info.Env().Undefined();
  }
  gemmBf16(dy.p, T, O, w.p, I, false, dx.p, acc);
  return info.Env().Undefined();
}

// bf16PackedBytes(K, N) → bytes bf16Pack needs for B[K,N] (the layout plus 64 for alignment).
static Napi::Value bf16PackedBytes(const Napi::CallbackInfo& info) {
  int64_t K = integer(info, 0, "bf16PackedBytes"), N = integer(info, 1, "bf16PackedBytes");
  positive("bf16PackedBytes", "K", K); nonneg("bf16PackedBytes", "N", N);
  return Napi::Number::New(info.Env(), (double)packedBytes(K, N));
}
static uint8_t* packedArg(const Napi::CallbackInfo& info, int i, const char* op, int64_t K, int64_t N) {
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw ArgError{argName(op, i) + " must be a Uint8Array (bf16PackedBytes(K, N) bytes)"};
  auto a = info[i].As<Napi::Uint8Array>();
  fits(op, "packed", a.ElementLength(), 0, packedBytes(K, N));
  return a.Data();
}

// bf16Pack(w U8 (bf16 [rows, cols]), rows, cols, transpose, out U8): out = B packed, B = Wᵀ (transpose: the
// forward's, K = cols, N = rows) or W (the input gradient's, K = rows, N = cols).
static Napi::Value bf16Pack(const Napi::CallbackInfo& info) {
  const char* op = "bf16Pack";
  U16 w = weight(info, 0, op);
  int64_t rows = integer(info, 1, op), cols = integer(info, 2, op);
  bool wt = boolean(info, 3, op);
  positive(op, "rows", rows); positive(op, "cols", cols);
  fits(op, "w", w.n, 0, rows * cols);
  uint8_t* out = packedArg(info, 4, op, wt ? cols : rows, wt ? rows : cols);
  needUnits(op);
  packAll(w.p, rows, cols, wt, aligned64(out));
  return info.Env().Undefined();
}

// bf16MatmulPacked(a F32, M, K, packed U8, N, c F32, accumulate): c[M,N] (+)= bf16(a)[M,K] · B (bf16Pack'ed).
static Napi::Value bf16MatmulPacked(const Napi::CallbackInfo& info) {
  const char* op = "bf16MatmulPacked";
  F32 a = f32(info, 0, op);
  int64_t M = integer(info, 1, op), K = integer(info, 2, op);
  positive(op, "K", K);
  int64_t N = integer(info, 4, op);
  nonneg(op, "M", M); nonneg(op, "N", N);
  uint8_t* pk = packedArg(info, 3, op, K, N);
  F32 c = f32(info, 5, op);
  bool acc = boolean(info, 6, op);
  fits(op, "a", a.n, 0, M * K); fits(op, "c", c.n, 0, M * N);
  needUnits(op);
  if (M == 0 || N == 0) return info.Env().Undefined();
  gemmPacked(a.p, M, K, aligned64(pk), N, c.p, acc);
  return info.Env().Undefined();
}

// bf16MatmulRef(a F32, M, K, w U8, N, wRowsN, c F32): c[M,N] = bf(a)·Wᵀ (W[N,K], wRowsN) or bf(a)·W (W[K,N]),
// products of bf16 values summed in double. Scalar; for tests.
static Napi::Value bf16MatmulRef(const Napi::CallbackInfo& info) {
  const char* op = "bf16MatmulRef";
  F32 a = f32(info, 0, op);
  int64_t M = integer(info, 1, op), K = integer(info, 2, op);
  U16 w = weight(info, 3, op);
  int64_t N = integer(info, 4, op);
  bool wt = boolean(info, 5, op);
  F32 c = f32(info, 6, op);
  nonneg(op, "M", M); nonneg(op, "K", K); nonneg(op, "N", N);
  fits(op, "w", w.n, 0, N * K); fits(op, "a", a.n, 0, M * K); fits(op, "c", c.n, 0, M * N);
  for (int64_t m = 0; m < M; m++)
    for (int64_t n = 0; n < N; n++) {
      double s = 0;
      for (int64_t k = 0; k < K; k++) s += (double)bf2f(f2bf(a.p[m * K + k])) * (double)bf2f(rd16(w.p + (wt ? n * K + k : k * N + n)));
      c.p[m * N + n] = (float)s;
    }
  return info.Env().Undefined();
}

// cpuFeatures(): {avx512f, avx512bw, avx512vl, avx512bf16, avx512vnni, bf16}; bf16 = the bf16 kernels can run.
static Napi::Value cpuFeatures(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  for (const char* f : {"avx512f", "avx512bw", "avx512vl", "avx512bf16", "avx512vnni"}) o.Set(f, Napi::Boolean::New(info.Env(), has(f)));
  o.Set("bf16", Napi::Boolean::New(info.Env(), bf16Usable()));
  // The instruction level the addon was compiled for (-march=native at install: the host-built kernels of lora.cc,
  // mlp.cc, simd-math.h, quant-simd.cc take their AVX-512, AVX2 or portable form from it).
#if defined(__AVX512F__)
  o.Set("build", "avx512");
#elif defined(__AVX2__) && defined(__FMA__)
  o.Set("build", "avx2");
#else
  o.Set("build", "portable");
#endif
  return o;
}

void registerGemmBf16(Napi::Env env, Napi::Object exports) {
  LIFT_EXPORT("bf16Matmul", bf16Matmul);
  LIFT_EXPORT("bf16MatmulBackward", bf16MatmulBackward);
  LIFT_EXPORT("bf16MatmulRef", bf16MatmulRef);
  LIFT_EXPORT("bf16PackedBytes", bf16PackedBytes);
  LIFT_EXPORT("bf16Pack", bf16Pack);
  LIFT_EXPORT("bf16MatmulPacked", bf16MatmulPacked);
  LIFT_EXPORT("cpuFeatures", cpuFeatures);
}

}  // namespace lift
