// fp32 products of the linear layers on AVX-512 (native/gemm.cc routes them here where the CPU has it):
//   C[M,N] (+)= A[M,K] · B,  B = Wᵀ (forward: W[N,K], tb) or W (input gradient: W[K,N])
// Why our own kernel and not OpenBLAS's threads: OpenBLAS splits a product into one static share per thread, so
// when another process holds one of the cores the whole product waits for the thread parked behind it (a step's
// products took 1.85× as long with one busy process on the two cores, where 4/3 of the cores were still ours). Here
// a product is ≥ 8 units a thread, claimed dynamically, and a thread that has its core keeps claiming (the bf16
// kernels' scheme: their step slowed 1.42× under the same load). Each element of C is one chain of FMAs over k in
// order, whatever the split, so the result is the same bits on any thread count.
// Layout: B is packed in strips of 64 columns, [K][64] floats each (zero past N), which the micro-kernel streams;
// A is read in place, one broadcast per row and k. The micro-kernel keeps C[6 rows, 64 columns] in 24 zmm
// accumulators (+4 for B, 1 for A: 29 of the 32 registers).
#include "common.h"
#include "kernels.h"
#include <algorithm>
#include <immintrin.h>
#include <vector>

#define LIFT_AVX512 __attribute__((target("avx512f")))

namespace lift {

static const int64_t kMR = 6, kSW = 64;
static const int64_t kKC = 1024;                // k-block: a strip's block is 256 KiB, kept in L2 across rows
static const int64_t kMaxK = 4096;              // K beyond it runs in slices of this many
static const int64_t kSharedMax = 16 << 20;     // bytes: B packed once per call into a shared buffer up to this

bool f32KernelUsable() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && !cpuFeatureHidden("avx512f");
}

// 16×16 transpose in registers: r[i] = row i in, column i out.
LIFT_AVX512 static inline void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 8; i++) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);      // per 128-bit lane: a0 b0 a1 b1
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);  // a2 b2 a3 b3
  }
  for (int i = 0; i < 4; i++) {
    r[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(1, 0, 1, 0));  // a0 b0 c0 d0
    r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  // Now lane L of r[4g + j] holds column 4L + j of rows 4g..4g+3.
  __m512 o[16];
  for (int j = 0; j < 4; j++) {
    __m512 u0 = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x88), u1 = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xDD);
    __m512 u2 = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x88), u3 = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xDD);
    o[j] = _mm512_shuffle_f32x4(u0, u2, 0x88);
    o[8 + j] = _mm512_shuffle_f32x4(u0, u2, 0xDD);
    o[4 + j] = _mm512_shuffle_f32x4(u1, u3, 0x88);
    o[12 + j] = _mm512_shuffle_f32x4(u1, u3, 0xDD);
  }
  for (int i = 0; i < 16; i++) r[i] = o[i];
}

// One strip: P[k][j] = B[k][n0 + j] for k < K, j < 64 (0 past nc columns).
LIFT_AVX512 static void packStrip(const float* W, int64_t ldb, bool tb, int64_t K, int64_t n0, int64_t nc, float* P) {
  if (!tb) {  // B = W[K,N]: row copies
    for (int64_t k = 0; k < K; k++)
      for (int64_t j = 0; j < kSW; j += 16) {
        int64_t left = nc - j;
        __mmask16 mk = left >= 16 ? (__mmask16)0xffff : left <= 0 ? (__mmask16)0 : (__mmask16)((1u << left) - 1);
        _mm512_storeu_ps(P + k * kSW + j, _mm512_maskz_loadu_ps(mk, W + k * ldb + n0 + j));
      }
    return;
  }
  // B = Wᵀ (W[N,K]): 16 rows of W × 16 values of k, transposed in registers.
  for (int64_t j0 = 0; j0 < kSW; j0 += 16)
    for (int64_t k0 = 0; k0 < K; k0 += 16) {
      int64_t kl = std::min<int64_t>(16, K - k0);
      __mmask16 mk = kl == 16 ? (__mmask16)0xffff : (__mmask16)((1u << kl) - 1);
      __m512 r[16];
      for (int i = 0; i < 16; i++)
        r[i] = j0 + i < nc ? _mm512_maskz_loadu_ps(mk, W + (n0 + j0 + i) * ldb + k0) : _mm512_setzero_ps();
      transpose16(r);
      for (int64_t i = 0; i < kl; i++) _mm512_storeu_ps(P + (k0 + i) * kSW + j0, r[i]);
    }
}

// C[MR, ≤16·NV] (+)= A[MR, kc] · P[kc][64]. The k loop has plain loads only, so the accumulators stay in registers.
template <int MR, int NV>
LIFT_AVX512 static void micro(const float* A, int64_t lda, const float* P, int64_t kc, float* C, int64_t ldc, int64_t ncols, bool acc) {
  __m512 c[MR][NV];
  for (int r = 0; r < MR; r++)
    for (int v = 0; v < NV; v++) c[r][v] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; k++) {
    __m512 b[NV];
    for (int v = 0; v < NV; v++) b[v] = _mm512_loadu_ps(P + k * kSW + 16 * v);
    for (int r = 0; r < MR; r++) {
      __m512 a = _mm512_set1_ps(A[r * lda + k]);
      for (int v = 0; v < NV; v++) c[r][v] = _mm512_fmadd_ps(a, b[v], c[r][v]);
    }
  }
  for (int v = 0; v < NV; v++) {
    int64_t left = ncols - 16 * v;
    __mmask16 mk = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
    for (int r = 0; r < MR; r++) {
      float* d = C + r * ldc + 16 * v;
      __m512 x = acc ? _mm512_add_ps(_mm512_maskz_loadu_ps(mk, d), c[r][v]) : c[r][v];
      _mm512_mask_storeu_ps(d, mk, x);
    }
  }
}

using Micro = void (*)(const float*, int64_t, const float*, int64_t, float*, int64_t, int64_t, bool);
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

// Rows [m0, m1) of one strip's columns, over all K in k-blocks (the block stays in L2 across the rows).
static void stripRows(const float* A, int64_t lda, const float* P, int64_t K, int64_t m0, int64_t m1, float* C, int64_t ldc,
                      int64_t nc, bool acc) {
  Micro full = pick((int)kMR, (int)((nc + 15) / 16));
  for (int64_t k0 = 0; k0 < K; k0 += kKC) {
    int64_t kc = std::min(kKC, K - k0);
    bool add = acc || k0 > 0;
    for (int64_t m = m0; m < m1; m += kMR) {
      int64_t mr = std::min(kMR, m1 - m);
      (mr == kMR ? full : pick((int)mr, (int)((nc + 15) / 16)))(A + m * lda + k0, lda, P + k0 * kSW, kc, C + m * ldc, ldc, nc, add);
    }
  }
}

bool gemmF32(bool tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* W, int64_t ldb, float* C,
             int64_t ldc, bool acc) {
  if (K == 0 || !f32KernelUsable()) return false;
  if (K > kMaxK) {
    // A long K (the vocabulary projection's input gradient, K = 49152) in slices, each added to C: B's shared pack
    // stays ≤ 16 MB and A's slice is re-read from cache, not memory, by each strip. Each element still sums k in order.
    for (int64_t k0 = 0; k0 < K; k0 += kMaxK)
      gemmF32(tb, M, N, std::min(kMaxK, K - k0), A + k0, lda, tb ? W + k0 : W + k0 * ldb, ldb, C, ldc, acc || k0 > 0);
    return true;
  }
  // Threads only where the product is worth waking them (~35 µs under the passive wait policy; gemm.cc's bound).
  const int nt = omp_in_parallel() || 2.0 * M * N * K < 2e5 ? 1 : omp_get_max_threads();
  const int64_t S = (N + kSW - 1) / kSW, stripFloats = K * kSW;
  if (S * stripFloats * 4 <= kSharedMax) {
    // B packed once into a buffer all threads read (kept by the calling thread: a fresh 16 MB allocation would
    // fault its pages in on every call); then units of (strip, MC rows), ≥ 8 a thread.
    thread_local std::vector<float> shared;
    if ((int64_t)shared.size() < S * stripFloats) shared.resize((size_t)(S * stripFloats));
    float* P = shared.data();
    const int64_t mch = std::max<int64_t>(1, std::min<int64_t>((M + kMR - 1) / kMR, (8 * nt + S - 1) / S));
    const int64_t MC = ((M + mch - 1) / mch + kMR - 1) / kMR * kMR, rowChunks = (M + MC - 1) / MC, units = S * rowChunks;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
#pragma omp for schedule(dynamic)
      for (int64_t s = 0; s < S; s++) packStrip(W, ldb, tb, K, s * kSW, std::min(kSW, N - s * kSW), P + s * stripFloats);
#pragma omp for schedule(dynamic)
      for (int64_t u = 0; u < units; u++) {
        int64_t s = u / rowChunks, m0 = (u % rowChunks) * MC, n0 = s * kSW;
        stripRows(A, lda, P + s * stripFloats, K, m0, std::min(M, m0 + MC), C + n0, ldc, std::min(kSW, N - n0), acc);
      }
    }
    return true;
  }
  // A wide B (the vocabulary projection's forward, N = 49152): a unit is one strip over all rows, packed by the
  // thread that claims it into its own buffer (hundreds of units: balance needs no row split).
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    std::vector<float> P((size_t)stripFloats);
#pragma omp for schedule(dynamic)
    for (int64_t s = 0; s < S; s++) {
      int64_t n0 = s * kSW, nc = std::min(kSW, N - n0);
      packStrip(W, ldb, tb, K, n0, nc, P.data());
      stripRows(A, lda, P.data(), K, 0, M, C + n0, ldc, nc, acc);
    }
  }
  return true;
}

}  // namespace lift
