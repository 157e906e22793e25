// Matrix products through OpenBLAS's cblas_sgemm, row-major, every transpose combination.
//   gemm:        C[M,N] = alpha · op(A)[M,K] · op(B)[K,N] + beta · C
//   gemmBatched: the same over `batch` matrices at fixed element strides (per-head products in attention
//                and in the Gated Memory MLPs). With fewer matrices than threads BLAS threads each product;
//                otherwise the batch is split over OpenMP threads and each sgemm runs single-threaded
//                (OpenBLAS's OpenMP build does that by itself inside a parallel region).
#include "common.h"
#include "kernels.h"
#include <algorithm>
#include <cblas.h>

namespace lift {

// Elements op(X) spans in a row-major buffer with leading dimension ld.
static int64_t span(bool trans, int64_t rows, int64_t cols, int64_t ld) {
  // op(X) is rows×cols; stored X is rows×cols (no trans) or cols×rows (trans).
  int64_t storedRows = trans ? cols : rows, storedCols = trans ? rows : cols;
  if (storedRows == 0 || storedCols == 0) return 0;
  return (storedRows - 1) * ld + storedCols;
}

static void checkLd(const char* op, const char* what, bool trans, int64_t rows, int64_t cols, int64_t ld) {
  int64_t storedCols = trans ? rows : cols;
  if (ld < (storedCols > 1 ? storedCols : 1))
    throw ArgError{std::string(op) + ": leading dimension of " + what + " is " + std::to_string(ld) +
                   ", must be >= " + std::to_string(storedCols)};
}

// Small or skinny products (LoRA's rank-r factors: 256×8×576) lose most of their time to OpenBLAS's
// thread start-up: measured 7 GFLOP/s. We split them ourselves along the longer side of C into one slab
// per thread; inside the parallel region each sgemm runs single-threaded. Large products go to BLAS whole.
static void sgemmAny(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                     const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  auto call = [&](int64_t m, int64_t n, const float* a, const float* b, float* c) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)K, alpha, a,
                (int)lda, b, (int)ldb, beta, c, (int)ldc);
  };
  double flops = 2.0 * M * N * K;
  int nt = omp_get_max_threads();
  bool skinny = M <= 32 || N <= 32 || flops < 3e7;
  // A linear layer's product (A as stored, B = Wᵀ or W, C = or += the product): our AVX-512 kernel where the CPU
  // has it (gemm-f32.cc: dynamic units, so a shared core does not stall the product; same bits on any thread count).
  // Skinny ones too: their split below changes the bits with the thread count (OpenBLAS's result for a column
  // depends on the width of the call that computes it), the kernel's does not.
  if (!ta && alpha == 1.f && (beta == 0.f || beta == 1.f) && gemmF32(tb, M, N, K, A, lda, B, ldb, C, ldc, beta == 1.f)) return;
  if (!skinny || nt == 1 || omp_in_parallel()) return call(M, N, A, B, C);
  if (flops < 2e5) {  // too small to split at all
#pragma omp parallel num_threads(1)
    call(M, N, A, B, C);
    return;
  }
  bool byRows = M >= N;
  int64_t len = byRows ? M : N, chunk = (len + nt - 1) / nt;
#pragma omp parallel for schedule(static) num_threads(nt)
  for (int t = 0; t < nt; t++) {
    int64_t s = t * chunk, e = std::min(len, s + chunk);
    if (s >= e) continue;
    if (byRows) call(e - s, N, A + (ta ? s : s * lda), B, C + s * ldc);
    else call(M, e - s, A, B + (tb ? s * ldb : s), C + s);
  }
}

// gemm(transA, transB, M, N, K, alpha, A, aOff, lda, B, bOff, ldb, beta, C, cOff, ldc)
static Napi::Value gemm(const Napi::CallbackInfo& info) {
  const char* op = "gemm";
  bool ta = boolean(info, 0, op), tb = boolean(info, 1, op);
  int64_t M = integer(info, 2, op), N = integer(info, 3, op), K = integer(info, 4, op);
  nonneg(op, "M", M); nonneg(op, "N", N); nonneg(op, "K", K);
  float alpha = (float)number(info, 5, op);
  F32 A = f32(info, 6, op); int64_t aOff = integer(info, 7, op), lda = integer(info, 8, op);
  F32 B = f32(info, 9, op); int64_t bOff = integer(info, 10, op), ldb = integer(info, 11, op);
  float beta = (float)number(info, 12, op);
  F32 C = f32(info, 13, op); int64_t cOff = integer(info, 14, op), ldc = integer(info, 15, op);
  checkLd(op, "A", ta, M, K, lda); checkLd(op, "B", tb, K, N, ldb); checkLd(op, "C", false, M, N, ldc);
  fits(op, "A", A.n, aOff, span(ta, M, K, lda));
  fits(op, "B", B.n, bOff, span(tb, K, N, ldb));
  fits(op, "C", C.n, cOff, span(false, M, N, ldc));
  if (M == 0 || N == 0) return info.Env().Undefined();
  sgemmAny(ta, tb, M, N, K, alpha, A.p + aOff, lda, B.p + bOff, ldb, beta, C.p + cOff, ldc);
  return info.Env().Undefined();
}

void gemmBatchedRun(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, int64_t sA,
                    const float* B, int64_t ldb, int64_t sB, float beta, float* C, int64_t ldc, int64_t sC, int64_t batch) {
  auto one = [&](int64_t b) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K,
                alpha, A + b * sA, (int)lda, B + b * sB, (int)ldb, beta, C + b * sC, (int)ldc);
  };
  if (batch >= omp_get_max_threads() && batch > 1) {
#pragma omp parallel for schedule(dynamic)
    for (int64_t b = 0; b < batch; b++) one(b);
  } else {
    for (int64_t b = 0; b < batch; b++) one(b);
  }
}

// gemmBatched(transA, transB, M, N, K, alpha, A, aOff, lda, strideA, B, bOff, ldb, strideB, beta,
//             C, cOff, ldc, strideC, batch)
static Napi::Value gemmBatched(const Napi::CallbackInfo& info) {
  const char* op = "gemmBatched";
  bool ta = boolean(info, 0, op), tb = boolean(info, 1, op);
  int64_t M = integer(info, 2, op), N = integer(info, 3, op), K = integer(info, 4, op);
  nonneg(op, "M", M); nonneg(op, "N", N); nonneg(op, "K", K);
  float alpha = (float)number(info, 5, op);
  F32 A = f32(info, 6, op); int64_t aOff = integer(info, 7, op), lda = integer(info, 8, op), sA = integer(info, 9, op);
  F32 B = f32(info, 10, op); int64_t bOff = integer(info, 11, op), ldb = integer(info, 12, op), sB = integer(info, 13, op);
  float beta = (float)number(info, 14, op);
  F32 C = f32(info, 15, op); int64_t cOff = integer(info, 16, op), ldc = integer(info, 17, op), sC = integer(info, 18, op);
  int64_t batch = integer(info, 19, op);
  nonneg(op, "batch", batch); nonneg(op, "strideA", sA); nonneg(op, "strideB", sB); nonneg(op, "strideC", sC);
  checkLd(op, "A", ta, M, K, lda); checkLd(op, "B", tb, K, N, ldb); checkLd(op, "C", false, M, N, ldc);
  if (batch == 0 || M == 0 || N == 0) return info.Env().Undefined();
  fits(op, "A", A.n, aOff + (batch - 1) * sA, span(ta, M, K, lda));
  fits(op, "B", B.n, bOff + (batch - 1) * sB, span(tb, K, N, ldb));
  fits(op, "C", C.n, cOff + (batch - 1) * sC, span(false, M, N, ldc));
  gemmBatchedRun(ta, tb, M, N, K, alpha, A.p + aOff, lda, sA, B.p + bOff, ldb, sB, beta, C.p + cOff, ldc, sC, batch);
  return info.Env().Undefined();
}

void registerGemm(Napi::Env env, Napi::Object exports) {
  LIFT_EXPORT("gemm", gemm);
  LIFT_EXPORT("gemmBatched", gemmBatched);
}

}  // namespace lift
