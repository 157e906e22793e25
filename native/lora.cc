// Rank-r products of a LoRA module, y' = y + s·(x·Aᵀ)·Bᵀ, with A [r, I], B [O, r], r small (8–64), and their
// backward. Through sgemm these are skinny products (256×8×576 …) where OpenBLAS packs the whole wide operand
// for 8 columns of work and forks threads per call: a LoRA r = 8 step of the 135M shape spent ~0.5 s in them
// (7–8 GFLOP/s; docs/speed.md, profile). Here each is one streaming pass over the wide operand with the
// rank-r side in registers/L1. Three forms (R = the rank side, contiguous rows):
//   rowsDot:    out[T, r] = scale · X[T, K] · Mᵀ      (M [r, K]):  u = x·Aᵀ;  du = s·dOut·B  (M = Bᵀ)
//   addLowRank: Z[T, N] = Y[T, N] + scale · U[T, r] · M[r, N]:    y' = y + s·u·Bᵀ (M = Bᵀ);  dx += du·A
//   lowRankGrad: G[r, N] += scale · U[T, r]ᵀ · Y[T, N]:           dA += duᵀ·x;  dBᵀ += s·uᵀ·dOut
// Sums are fp32 (16-lane partial sums, like a BLAS kernel); rows (or columns) are split statically over the
// threads, so results are reproducible for a thread count.
// GCC keeps an array of accumulator vectors in registers only while no masked load sits in the loop (it takes a
// masked load for a read of any memory and stores every accumulator before it): the loops below use plain loads
// and leave the ragged edge to one masked step or a separate instantiation. That, one load of M per three FMAs
// and two rows per M load in addLowRank took the three kernels from 33–46 to 46–110 GFLOP/s on one Zen 4 core
// (T 256/1024, the 135M projections; r = 8).
#include "common.h"
#include "kernels.h"
#include "simd-math.h"  // hsum8, tailMask8 (the AVX2 forms)
#include <algorithm>
#include <vector>
// LIFT_SIMD_AVX2 (simd-math.h: AVX2 + FMA, no AVX-512; Zen 2/3, most laptops) takes the 256-bit kernels: there
// the scalar loops (a float sum is not reordered, so not vectorized) took 0.89 of a 2.0 s 256-token step (Zen 3).

namespace lift {

static inline bool bigEnough(int64_t work) { return work > 2000000; }  // flops below which waking a second thread costs more than it saves

#if defined(__AVX512F__)
static inline __mmask16 lmask(int64_t left) { return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1); }

// RB rank columns (≤ 8) × up to 3 rows of X: 3·RB accumulators over K, reduced at the end. The main loop uses
// plain loads only: GCC treats a masked load as reading any memory, so with one in the loop it stored every
// accumulator to the stack each iteration (half the speed); the K % 16 tail is one masked step after it.
template <int RB>
static void rowsDotBlock(const float* X, int64_t nrows, int64_t K, const float* M, float* out, int64_t r, float scale) {
  __m512 acc[3][RB];
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < RB; j++) acc[i][j] = _mm512_setzero_ps();
  const float* X1 = nrows > 1 ? X + K : X;
  const float* X2 = nrows > 2 ? X + 2 * K : X;
  int64_t k = 0;
  for (; k + 16 <= K; k += 16) {
    __m512 x0 = _mm512_loadu_ps(X + k), x1 = _mm512_loadu_ps(X1 + k), x2 = _mm512_loadu_ps(X2 + k);
    for (int j = 0; j < RB; j++) {
      __m512 m = _mm512_loadu_ps(M + j * K + k);
      __asm__("" : "+v"(m));  // one load feeding three FMAs (GCC would fold it into each)
      acc[0][j] = _mm512_fmadd_ps(x0, m, acc[0][j]);
      acc[1][j] = _mm512_fmadd_ps(x1, m, acc[1][j]);
      acc[2][j] = _mm512_fmadd_ps(x2, m, acc[2][j]);
    }
  }
  if (k < K) {
    __mmask16 mk = lmask(K - k);
    __m512 x0 = _mm512_maskz_loadu_ps(mk, X + k), x1 = _mm512_maskz_loadu_ps(mk, X1 + k), x2 = _mm512_maskz_loadu_ps(mk, X2 + k);
    for (int j = 0; j < RB; j++) {
      __m512 m = _mm512_maskz_loadu_ps(mk, M + j * K + k);
      acc[0][j] = _mm512_fmadd_ps(x0, m, acc[0][j]);
      acc[1][j] = _mm512_fmadd_ps(x1, m, acc[1][j]);
      acc[2][j] = _mm512_fmadd_ps(x2, m, acc[2][j]);
    }
  }
  // (GCC 12 warns that _mm512_reduce_add_ps's internal _mm256_undefined_pd may be used uninitialised: it is not.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
  for (int i = 0; i < 3; i++)
    if (i < nrows)
      for (int j = 0; j < RB; j++) out[i * r + j] = scale * _mm512_reduce_add_ps(acc[i][j]);
#pragma GCC diagnostic pop
}
#endif

#if defined(LIFT_SIMD_AVX2)
// The AVX2 forms have 16 registers, not 32: 3 rows × RB ≤ 4 rank columns (12 accumulators + 3 x + 1 m).
template <int RB>
static void rowsDotBlock8(const float* X, int64_t nrows, int64_t K, const float* M, float* out, int64_t r, float scale) {
  __m256 acc[3][RB];
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < RB; j++) acc[i][j] = _mm256_setzero_ps();
  const float* X1 = nrows > 1 ? X + K : X;
  const float* X2 = nrows > 2 ? X + 2 * K : X;
  int64_t k = 0;
  for (; k + 8 <= K; k += 8) {
    __m256 x0 = _mm256_loadu_ps(X + k), x1 = _mm256_loadu_ps(X1 + k), x2 = _mm256_loadu_ps(X2 + k);
    for (int j = 0; j < RB; j++) {
      __m256 m = _mm256_loadu_ps(M + j * K + k);
      __asm__("" : "+x"(m));  // one load feeding three FMAs
      acc[0][j] = _mm256_fmadd_ps(x0, m, acc[0][j]);
      acc[1][j] = _mm256_fmadd_ps(x1, m, acc[1][j]);
      acc[2][j] = _mm256_fmadd_ps(x2, m, acc[2][j]);
    }
  }
  if (k < K) {
    __m256i mk = tailMask8(K - k);
    __m256 x0 = _mm256_maskload_ps(X + k, mk), x1 = _mm256_maskload_ps(X1 + k, mk), x2 = _mm256_maskload_ps(X2 + k, mk);
    for (int j = 0; j < RB; j++) {
      __m256 m = _mm256_maskload_ps(M + j * K + k, mk);
      acc[0][j] = _mm256_fmadd_ps(x0, m, acc[0][j]);
      acc[1][j] = _mm256_fmadd_ps(x1, m, acc[1][j]);
      acc[2][j] = _mm256_fmadd_ps(x2, m, acc[2][j]);
    }
  }
  for (int i = 0; i < 3; i++)
    if (i < nrows)
      for (int j = 0; j < RB; j++) out[i * r + j] = scale * hsum8(acc[i][j]);
}
#endif

// out[T, r] = scale · X[T, K] · M[r, K]ᵀ
void rowsDot(const float* X, int64_t T, int64_t K, const float* M, int64_t r, float* out, float scale) {
#if defined(__AVX512F__)
  int64_t groups = (T + 2) / 3;
  maybeParallel(groups, bigEnough(2 * T * K * r), [&](int64_t g) {
    int64_t t = 3 * g, n = std::min<int64_t>(3, T - t);
    for (int64_t j0 = 0; j0 < r; j0 += 8) {
      const float* Xt = X + t * K;
      const float* Mj = M + j0 * K;
      float* o = out + t * r + j0;
      switch (std::min<int64_t>(8, r - j0)) {
        case 1: rowsDotBlock<1>(Xt, n, K, Mj, o, r, scale); break;
        case 2: rowsDotBlock<2>(Xt, n, K, Mj, o, r, scale); break;
        case 3: rowsDotBlock<3>(Xt, n, K, Mj, o, r, scale); break;
        case 4: rowsDotBlock<4>(Xt, n, K, Mj, o, r, scale); break;
        case 5: rowsDotBlock<5>(Xt, n, K, Mj, o, r, scale); break;
        case 6: rowsDotBlock<6>(Xt, n, K, Mj, o, r, scale); break;
        case 7: rowsDotBlock<7>(Xt, n, K, Mj, o, r, scale); break;
        default: rowsDotBlock<8>(Xt, n, K, Mj, o, r, scale); break;
      }
    }
  });
#elif defined(LIFT_SIMD_AVX2)
  int64_t groups = (T + 2) / 3;
  maybeParallel(groups, bigEnough(2 * T * K * r), [&](int64_t g) {
    int64_t t = 3 * g, n = std::min<int64_t>(3, T - t);
    for (int64_t j0 = 0; j0 < r; j0 += 4) {
      const float* Xt = X + t * K;
      const float* Mj = M + j0 * K;
      float* o = out + t * r + j0;
      switch (std::min<int64_t>(4, r - j0)) {
        case 1: rowsDotBlock8<1>(Xt, n, K, Mj, o, r, scale); break;
        case 2: rowsDotBlock8<2>(Xt, n, K, Mj, o, r, scale); break;
        case 3: rowsDotBlock8<3>(Xt, n, K, Mj, o, r, scale); break;
        default: rowsDotBlock8<4>(Xt, n, K, Mj, o, r, scale); break;
      }
    }
  });
#else
  maybeParallel(T, bigEnough(2 * T * K * r), [&](int64_t t) {
    for (int64_t j = 0; j < r; j++) {
      float s = 0;
      for (int64_t k = 0; k < K; k++) s += X[t * K + k] * M[j * K + k];
      out[t * r + j] = scale * s;
    }
  });
#endif
}

// Z[T, N] = (Y ? Y : 0) + scale · U[T, r] · M[r, N]   (Z may be Y: each element is read before it is written).
// Two rows of Z at a time, 64 columns: each M row's 4 loads feed 8 FMAs (one row at a time was load-bound, ~40
// GFLOP/s when M [r, N] sits in L2). Named accumulators, not an array: GCC keeps an array of vectors on the stack.
static void addLowRank(const float* Y, const float* U, int64_t T, int64_t r, const float* M, int64_t N, float* Z, float scale) {
  int64_t pairs = (T + 1) / 2;
#pragma omp parallel for schedule(static) if (bigEnough(2 * T * N * r))
  for (int64_t g = 0; g < pairs; g++) {
    int64_t t = 2 * g;
    bool two = t + 1 < T;
    float us[2][64];
    for (int64_t j0 = 0; j0 < r; j0 += 64) {
      int64_t rb = std::min<int64_t>(64, r - j0);
      for (int64_t j = 0; j < rb; j++) {
        us[0][j] = scale * U[t * r + j0 + j];
        us[1][j] = two ? scale * U[(t + 1) * r + j0 + j] : 0.f;
      }
      const float* Mj = M + j0 * N;
      const float* y = j0 == 0 ? (Y ? Y + t * N : nullptr) : Z + t * N;
      float* z = Z + t * N;
#if defined(__AVX512F__)
      for (int64_t n = 0; n < N; n += 64) {
        int64_t left = N - n;
        __mmask16 m0 = lmask(left), m1 = left > 16 ? lmask(left - 16) : 0, m2 = left > 32 ? lmask(left - 32) : 0,
                  m3 = left > 48 ? lmask(left - 48) : 0;
        __m512 a0 = y ? _mm512_maskz_loadu_ps(m0, y + n) : _mm512_setzero_ps();
        __m512 a1 = y ? _mm512_maskz_loadu_ps(m1, y + n + 16) : _mm512_setzero_ps();
        __m512 a2 = y ? _mm512_maskz_loadu_ps(m2, y + n + 32) : _mm512_setzero_ps();
        __m512 a3 = y ? _mm512_maskz_loadu_ps(m3, y + n + 48) : _mm512_setzero_ps();
        __m512 b0 = y && two ? _mm512_maskz_loadu_ps(m0, y + N + n) : _mm512_setzero_ps();
        __m512 b1 = y && two ? _mm512_maskz_loadu_ps(m1, y + N + n + 16) : _mm512_setzero_ps();
        __m512 b2 = y && two ? _mm512_maskz_loadu_ps(m2, y + N + n + 32) : _mm512_setzero_ps();
        __m512 b3 = y && two ? _mm512_maskz_loadu_ps(m3, y + N + n + 48) : _mm512_setzero_ps();
        for (int64_t j = 0; j < rb; j++) {
          const float* mr = Mj + j * N + n;
          __m512 q0 = _mm512_maskz_loadu_ps(m0, mr), q1 = _mm512_maskz_loadu_ps(m1, mr + 16);
          __m512 q2 = _mm512_maskz_loadu_ps(m2, mr + 32), q3 = _mm512_maskz_loadu_ps(m3, mr + 48);
          __m512 u0 = _mm512_set1_ps(us[0][j]), u1 = _mm512_set1_ps(us[1][j]);
          a0 = _mm512_fmadd_ps(u0, q0, a0); a1 = _mm512_fmadd_ps(u0, q1, a1);
          a2 = _mm512_fmadd_ps(u0, q2, a2); a3 = _mm512_fmadd_ps(u0, q3, a3);
          b0 = _mm512_fmadd_ps(u1, q0, b0); b1 = _mm512_fmadd_ps(u1, q1, b1);
          b2 = _mm512_fmadd_ps(u1, q2, b2); b3 = _mm512_fmadd_ps(u1, q3, b3);
        }
        _mm512_mask_storeu_ps(z + n, m0, a0);
        _mm512_mask_storeu_ps(z + n + 16, m1, a1);
        _mm512_mask_storeu_ps(z + n + 32, m2, a2);
        _mm512_mask_storeu_ps(z + n + 48, m3, a3);
        if (two) {
          _mm512_mask_storeu_ps(z + N + n, m0, b0);
          _mm512_mask_storeu_ps(z + N + n + 16, m1, b1);
          _mm512_mask_storeu_ps(z + N + n + 32, m2, b2);
          _mm512_mask_storeu_ps(z + N + n + 48, m3, b3);
        }
      }
#elif defined(LIFT_SIMD_AVX2)
      // 2 rows × 32 columns: 8 accumulators + 4 M loads + 2 broadcasts.
      for (int64_t n = 0; n < N; n += 32) {
        int64_t left = N - n;
        __m256i m0 = tailMask8(left), m1 = tailMask8(left - 8), m2 = tailMask8(left - 16), m3 = tailMask8(left - 24);
        const __m256 zero = _mm256_setzero_ps();
        __m256 a0 = y ? _mm256_maskload_ps(y + n, m0) : zero, a1 = y ? _mm256_maskload_ps(y + n + 8, m1) : zero;
        __m256 a2 = y ? _mm256_maskload_ps(y + n + 16, m2) : zero, a3 = y ? _mm256_maskload_ps(y + n + 24, m3) : zero;
        __m256 b0 = y && two ? _mm256_maskload_ps(y + N + n, m0) : zero, b1 = y && two ? _mm256_maskload_ps(y + N + n + 8, m1) : zero;
        __m256 b2 = y && two ? _mm256_maskload_ps(y + N + n + 16, m2) : zero, b3 = y && two ? _mm256_maskload_ps(y + N + n + 24, m3) : zero;
        for (int64_t j = 0; j < rb; j++) {
          const float* mr = Mj + j * N + n;
          __m256 q0, q1, q2, q3;
          if (left >= 32) q0 = _mm256_loadu_ps(mr), q1 = _mm256_loadu_ps(mr + 8), q2 = _mm256_loadu_ps(mr + 16), q3 = _mm256_loadu_ps(mr + 24);
          else q0 = _mm256_maskload_ps(mr, m0), q1 = _mm256_maskload_ps(mr + 8, m1), q2 = _mm256_maskload_ps(mr + 16, m2), q3 = _mm256_maskload_ps(mr + 24, m3);
          __m256 u0 = _mm256_set1_ps(us[0][j]), u1 = _mm256_set1_ps(us[1][j]);
          a0 = _mm256_fmadd_ps(u0, q0, a0); a1 = _mm256_fmadd_ps(u0, q1, a1);
          a2 = _mm256_fmadd_ps(u0, q2, a2); a3 = _mm256_fmadd_ps(u0, q3, a3);
          b0 = _mm256_fmadd_ps(u1, q0, b0); b1 = _mm256_fmadd_ps(u1, q1, b1);
          b2 = _mm256_fmadd_ps(u1, q2, b2); b3 = _mm256_fmadd_ps(u1, q3, b3);
        }
        _mm256_maskstore_ps(z + n, m0, a0); _mm256_maskstore_ps(z + n + 8, m1, a1);
        _mm256_maskstore_ps(z + n + 16, m2, a2); _mm256_maskstore_ps(z + n + 24, m3, a3);
        if (two) {
          _mm256_maskstore_ps(z + N + n, m0, b0); _mm256_maskstore_ps(z + N + n + 8, m1, b1);
          _mm256_maskstore_ps(z + N + n + 16, m2, b2); _mm256_maskstore_ps(z + N + n + 24, m3, b3);
        }
      }
#else
      for (int64_t i = 0; i < (two ? 2 : 1); i++)
        for (int64_t n = 0; n < N; n++) {
          float s = y ? y[i * N + n] : 0.f;
          for (int64_t j = 0; j < rb; j++) s += us[i][j] * Mj[j * N + n];
          z[i * N + n] = s;
        }
#endif
    }
  }
}

#if defined(__AVX512F__)
// One 48-column strip × RB (≤ 8) rank rows: 3·RB accumulators, T streamed. FULL: the strip is 48 wide and the
// loads are plain (see rowsDotBlock: a masked load in the loop spills every accumulator each iteration).
template <int RB, bool FULL>
static void gradBlock(const float* U, int64_t T, int64_t r, const float* Y, int64_t N, int64_t n0, int64_t w, float* G, float scale) {
  __mmask16 m0 = lmask(w), m1 = w > 16 ? lmask(w - 16) : 0, m2 = w > 32 ? lmask(w - 32) : 0;
  __m512 acc[RB][3];
  for (int j = 0; j < RB; j++)
    for (int q = 0; q < 3; q++) acc[j][q] = _mm512_setzero_ps();
  for (int64_t t = 0; t < T; t++) {
    const float* y = Y + t * N + n0;
    __m512 y0, y1, y2;
    if (FULL) {
      y0 = _mm512_loadu_ps(y), y1 = _mm512_loadu_ps(y + 16), y2 = _mm512_loadu_ps(y + 32);
    } else {
      y0 = _mm512_maskz_loadu_ps(m0, y), y1 = _mm512_maskz_loadu_ps(m1, y + 16), y2 = _mm512_maskz_loadu_ps(m2, y + 32);
    }
    const float* u = U + t * r;
    for (int j = 0; j < RB; j++) {
      __m512 b = _mm512_set1_ps(u[j]);
      acc[j][0] = _mm512_fmadd_ps(b, y0, acc[j][0]);
      acc[j][1] = _mm512_fmadd_ps(b, y1, acc[j][1]);
      acc[j][2] = _mm512_fmadd_ps(b, y2, acc[j][2]);
    }
  }
  __m512 sc = _mm512_set1_ps(scale);
  for (int j = 0; j < RB; j++) {
    float* g = G + j * N + n0;
    _mm512_mask_storeu_ps(g, m0, _mm512_fmadd_ps(sc, acc[j][0], _mm512_maskz_loadu_ps(m0, g)));
    _mm512_mask_storeu_ps(g + 16, m1, _mm512_fmadd_ps(sc, acc[j][1], _mm512_maskz_loadu_ps(m1, g + 16)));
    _mm512_mask_storeu_ps(g + 32, m2, _mm512_fmadd_ps(sc, acc[j][2], _mm512_maskz_loadu_ps(m2, g + 32)));
  }
}
template <int RB>
static void gradBlock(const float* U, int64_t T, int64_t r, const float* Y, int64_t N, int64_t n0, int64_t w, float* G, float scale) {
  if (w == 48) gradBlock<RB, true>(U, T, r, Y, N, n0, w, G, scale);
  else gradBlock<RB, false>(U, T, r, Y, N, n0, w, G, scale);
}
#endif

#if defined(LIFT_SIMD_AVX2)
// One 24-column strip × RB ≤ 4 rank rows: 12 accumulators + 3 Y loads + 1 broadcast; T streamed.
template <int RB, bool FULL>
static void gradBlock8(const float* U, int64_t T, int64_t r, const float* Y, int64_t N, int64_t n0, int64_t w, float* G, float scale) {
  __m256i m0 = tailMask8(w), m1 = tailMask8(w - 8), m2 = tailMask8(w - 16);
  __m256 acc[RB][3];
  for (int j = 0; j < RB; j++)
    for (int q = 0; q < 3; q++) acc[j][q] = _mm256_setzero_ps();
  for (int64_t t = 0; t < T; t++) {
    const float* y = Y + t * N + n0;
    __m256 y0, y1, y2;
    if (FULL) y0 = _mm256_loadu_ps(y), y1 = _mm256_loadu_ps(y + 8), y2 = _mm256_loadu_ps(y + 16);
    else y0 = _mm256_maskload_ps(y, m0), y1 = _mm256_maskload_ps(y + 8, m1), y2 = _mm256_maskload_ps(y + 16, m2);
    const float* u = U + t * r;
    for (int j = 0; j < RB; j++) {
      __m256 b = _mm256_broadcast_ss(u + j);
      acc[j][0] = _mm256_fmadd_ps(b, y0, acc[j][0]);
      acc[j][1] = _mm256_fmadd_ps(b, y1, acc[j][1]);
      acc[j][2] = _mm256_fmadd_ps(b, y2, acc[j][2]);
    }
  }
  __m256 sc = _mm256_set1_ps(scale);
  for (int j = 0; j < RB; j++) {
    float* g = G + j * N + n0;
    _mm256_maskstore_ps(g, m0, _mm256_fmadd_ps(sc, acc[j][0], _mm256_maskload_ps(g, m0)));
    _mm256_maskstore_ps(g + 8, m1, _mm256_fmadd_ps(sc, acc[j][1], _mm256_maskload_ps(g + 8, m1)));
    _mm256_maskstore_ps(g + 16, m2, _mm256_fmadd_ps(sc, acc[j][2], _mm256_maskload_ps(g + 16, m2)));
  }
}
template <int RB>
static void gradBlock8(const float* U, int64_t T, int64_t r, const float* Y, int64_t N, int64_t n0, int64_t w, float* G, float scale) {
  if (w == 24) gradBlock8<RB, true>(U, T, r, Y, N, n0, w, G, scale);
  else gradBlock8<RB, false>(U, T, r, Y, N, n0, w, G, scale);
}
#endif

// G[r, N] += scale · U[T, r]ᵀ · Y[T, N]: columns of G split over threads in 48-wide strips (3 vectors × ≤ 8
// rank rows = 24 accumulators), T streamed.
static void lowRankGrad(const float* U, int64_t T, int64_t r, const float* Y, int64_t N, float* G, float scale) {
#if defined(LIFT_SIMD_AVX2)
  int64_t strips = (N + 23) / 24;
#pragma omp parallel for schedule(static) if (bigEnough(2 * T * N * r))
  for (int64_t s = 0; s < strips; s++) {
    int64_t n0 = s * 24, w = std::min<int64_t>(24, N - n0);
    for (int64_t j0 = 0; j0 < r; j0 += 4) {
      const float* Uj = U + j0;
      float* Gj = G + j0 * N;
      switch (std::min<int64_t>(4, r - j0)) {
        case 1: gradBlock8<1>(Uj, T, r, Y, N, n0, w, Gj, scale); break;
        case 2: gradBlock8<2>(Uj, T, r, Y, N, n0, w, Gj, scale); break;
        case 3: gradBlock8<3>(Uj, T, r, Y, N, n0, w, Gj, scale); break;
        default: gradBlock8<4>(Uj, T, r, Y, N, n0, w, Gj, scale); break;
      }
    }
  }
#else
  int64_t strips = (N + 47) / 48;
#pragma omp parallel for schedule(static) if (bigEnough(2 * T * N * r))
  for (int64_t s = 0; s < strips; s++) {
    int64_t n0 = s * 48, w = std::min<int64_t>(48, N - n0);
    for (int64_t j0 = 0; j0 < r; j0 += 8) {
      int64_t rb = std::min<int64_t>(8, r - j0);
#if defined(__AVX512F__)
      const float* Uj = U + j0;
      float* Gj = G + j0 * N;
      switch (rb) {
        case 1: gradBlock<1>(Uj, T, r, Y, N, n0, w, Gj, scale); break;
        case 2: gradBlock<2>(Uj, T, r, Y, N, n0, w, Gj, scale); break;
        case 3: gradBlock<3>(Uj, T, r, Y, N, n0, w, Gj, scale); break;
        case 4: gradBlock<4>(Uj, T, r, Y, N, n0, w, Gj, scale); break;
        case 5: gradBlock<5>(Uj, T, r, Y, N, n0, w, Gj, scale); break;
        case 6: gradBlock<6>(Uj, T, r, Y, N, n0, w, Gj, scale); break;
        case 7: gradBlock<7>(Uj, T, r, Y, N, n0, w, Gj, scale); break;
        default: gradBlock<8>(Uj, T, r, Y, N, n0, w, Gj, scale); break;
      }
#else
      for (int64_t j = 0; j < rb; j++)
        for (int64_t n = 0; n < w; n++) {
          float s = 0;
          for (int64_t t = 0; t < T; t++) s += U[t * r + j0 + j] * Y[t * N + n0 + n];
          G[(j0 + j) * N + n0 + n] += scale * s;
        }
#endif
    }
  }
#endif
}

// ---- bindings ----
// loraRowsDot(X F32, T, K, M F32 [r,K], r, out F32 [T,r], scale)
static Napi::Value loraRowsDot(const Napi::CallbackInfo& info) {
  const char* op = "loraRowsDot";
  F32 X = f32(info, 0, op);
  int64_t T = integer(info, 1, op), K = integer(info, 2, op);
  F32 M = f32(info, 3, op);
  int64_t r = integer(info, 4, op);
  F32 out = f32(info, 5, op);
  float scale = (float)number(info, 6, op);
  nonneg(op, "T", T); positive(op, "K", K); positive(op, "r", r);
  fits(op, "X", X.n, 0, T * K); fits(op, "M", M.n, 0, r * K); fits(op, "out", out.n, 0, T * r);
  rowsDot(X.p, T, K, M.p, r, out.p, scale);
  return info.Env().Undefined();
}
// loraAddLowRank(Y F32|null, U F32 [T,r], T, r, M F32 [r,N], N, Z F32 [T,N], scale)
static Napi::Value loraAddLowRank(const Napi::CallbackInfo& info) {
  const char* op = "loraAddLowRank";
  F32 Y = f32opt(info, 0, op), U = f32(info, 1, op);
  int64_t T = integer(info, 2, op), r = integer(info, 3, op);
  F32 M = f32(info, 4, op);
  int64_t N = integer(info, 5, op);
  F32 Z = f32(info, 6, op);
  float scale = (float)number(info, 7, op);
  nonneg(op, "T", T); positive(op, "r", r); nonneg(op, "N", N);
  if (Y.p) fits(op, "Y", Y.n, 0, T * N);
  fits(op, "U", U.n, 0, T * r); fits(op, "M", M.n, 0, r * N); fits(op, "Z", Z.n, 0, T * N);
  addLowRank(Y.p, U.p, T, r, M.p, N, Z.p, scale);
  return info.Env().Undefined();
}
// loraLowRankGrad(U F32 [T,r], T, r, Y F32 [T,N], N, G F32 [r,N] (+=), scale)
static Napi::Value loraLowRankGrad(const Napi::CallbackInfo& info) {
  const char* op = "loraLowRankGrad";
  F32 U = f32(info, 0, op);
  int64_t T = integer(info, 1, op), r = integer(info, 2, op);
  F32 Y = f32(info, 3, op);
  int64_t N = integer(info, 4, op);
  F32 G = f32(info, 5, op);
  float scale = (float)number(info, 6, op);
  nonneg(op, "T", T); positive(op, "r", r); nonneg(op, "N", N);
  fits(op, "U", U.n, 0, T * r); fits(op, "Y", Y.n, 0, T * N); fits(op, "G", G.n, 0, r * N);
  lowRankGrad(U.p, T, r, Y.p, N, G.p, scale);
  return info.Env().Undefined();
}

void registerLora(Napi::Env env, Napi::Object exports) {
  LIFT_EXPORT("loraRowsDot", loraRowsDot);
  LIFT_EXPORT("loraAddLowRank", loraAddLowRank);
  LIFT_EXPORT("loraLowRankGrad", loraLowRankGrad);
}

}  // namespace lift
