// Products with frozen weights kept in their GGUF blocks (Q4_0 … Q6_K) or 16-bit storage (F16, BF16):
//   qMatmul:         y[T,O]  = x[T,I] · W[O,I]ᵀ          (forward of a linear layer on a quantized weight)
//   qMatmulBackward: dx[T,I] (+)= dy[T,O] · W[O,I]       (input gradient; a frozen weight needs no dW)
//   qEmbedding:      out[t]  = W[ids[t]]                  (token embedding lookup)
//   qDequant:        rows r0..r0+n of W as f32           (conversions, checks, tests)
//   qQuantize:       rows of f32 → blocks (ggml's reference formulas, quant-formats.cc)
// Choice (measured, see README "Quantized weights"): tiles of W are dequantized into a per-thread f32
// scratch and multiplied with OpenBLAS sgemm. With T ≥ 16 rows of x the sgemm dominates (2·T flops per
// dequantized value), so the integer (VNNI) route would only pay off in decode: there, T ≤ 4, each row of W
// is dequantized once into L1 and dotted with the T rows of x (memory-bound on the quantized bytes).
#include "common.h"
#include "quant.h"
#include "kernels.h"
#include <algorithm>
#include <cblas.h>
#include <cmath>
#include <vector>

namespace lift {

struct U8 {
  const uint8_t* p;
  size_t n;
};
static U8 u8(const Napi::CallbackInfo& info, int i, const char* op) {
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw ArgError{argName(op, i) + " must be a Uint8Array"};
  auto a = info[i].As<Napi::Uint8Array>();
  return U8{a.Data(), a.ElementLength()};
}

// Checks type and shape against the buffer; returns bytes per row of W[rows, cols].
static int64_t rowBytes(const char* op, int type, int64_t rows, int64_t cols, size_t have) {
  QLayout L = qlayout(type);
  if (L.block == 0) throw ArgError{std::string(op) + ": unknown ggml type " + std::to_string(type)};
  if (rows < 0 || cols <= 0 || cols % L.block != 0)
    throw ArgError{std::string(op) + ": a row of " + std::to_string(cols) + " values is not a whole number of " + std::to_string(L.block) + "-value blocks"};
  int64_t rb = cols / L.block * L.bytes;
  if ((uint64_t)rows * (uint64_t)rb > have)
    throw ArgError{std::string(op) + ": weight needs " + std::to_string(rows * rb) + " bytes, buffer has " + std::to_string(have)};
  return rb;
}

static inline float dot(const float* a, const float* b, int64_t n) {
  int64_t i = 0;
  float s = 0;
#if defined(__AVX512F__)
  __m512 acc = _mm512_setzero_ps();
  for (; i + 16 <= n; i += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc);
  s = _mm512_reduce_add_ps(acc);
#else
  // 16 partial sums, as the AVX-512 lanes (the compiler vectorizes this to the CPU's width).
  float acc[16] = {0};
  for (; i + 16 <= n; i += 16)
    for (int l = 0; l < 16; l++) acc[l] += a[i + l] * b[i + l];
  for (int l = 0; l < 16; l++) s += acc[l];
#endif
  for (; i < n; i++) s += a[i] * b[i];
  return s;
}

static const int64_t kSmallT = 4;          // decode-sized inputs take the row-by-row path
static const int64_t kTileFloats = 1 << 18;  // 1 MiB of dequantized W per tile: about a Zen 4 core's L2

// y[T,O] = x[T,I] · W[O,I]ᵀ
static void matmul(int type, const uint8_t* w, int64_t rb, const float* x, float* y, int64_t T, int64_t I, int64_t O) {
  int64_t nb = I / qlayout(type).block;
  if (T <= kSmallT) {
    auto rows = [&](int64_t o0, int64_t o1) {
      thread_local std::vector<float> row;
      row.resize((size_t)I);
      for (int64_t o = o0; o < o1; o++) {
        dequantBlocks(type, w + o * rb, row.data(), nb);
        for (int64_t t = 0; t < T; t++) y[t * O + o] = dot(x + t * I, row.data(), I);
      }
    };
    // Inside a parallel region (a decode team's chunk) or with one thread: no region of its own (an inactive
    // nested one still costs its setup and a row buffer per call).
    if (omp_in_parallel() || omp_get_max_threads() == 1) return rows(0, O);
#pragma omp parallel
    {
      int nt = omp_get_num_threads(), id = omp_get_thread_num();
      rows(O * id / nt, O * (id + 1) / nt);  // schedule(static)'s split: each row computed alike
    }
    return;
  }
  // Tiles of ≤ 1 MiB, and at least 4 per thread so dynamic scheduling balances the threads (k/v projections have
  // few rows); ≥ 32 rows keep the sgemm efficient.
  int64_t nt = omp_get_max_threads();
  int64_t R = std::max<int64_t>(32, std::min<int64_t>({O, kTileFloats / I, (O + 4 * nt - 1) / (4 * nt)}));
  int64_t tiles = (O + R - 1) / R;
#pragma omp parallel
  {
    std::vector<float> tile(R * I);
#pragma omp for schedule(dynamic)
    for (int64_t k = 0; k < tiles; k++) {
      int64_t r0 = k * R, n = std::min(R, O - r0);
      for (int64_t r = 0; r < n; r++) dequantBlocks(type, w + (r0 + r) * rb, tile.data() + r * I, nb);
      // Inside the parallel region OpenBLAS (OpenMP build) runs this sgemm on the calling thread.
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)n, (int)I, 1.f, x, (int)I, tile.data(), (int)I, 0.f, y + r0, (int)O);
    }
  }
}

// dx[T,I] (+)= dy[T,O] · W[O,I]. Threads split I (whole blocks) so none writes another's columns of dx;
// each walks all rows of W in tiles, dequantizing only its column range.
static void matmulBackward(int type, const uint8_t* w, int64_t rb, const float* dy, float* dx, int64_t T, int64_t I, int64_t O, bool acc) {
  QLayout L = qlayout(type);
  int64_t nbRow = I / L.block;
  int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
  int64_t parts = std::max<int64_t>(1, std::min<int64_t>(nt, nbRow));
#pragma omp parallel for schedule(static) num_threads((int)parts)
  for (int64_t p = 0; p < parts; p++) {
    int64_t b0 = nbRow * p / parts, b1 = nbRow * (p + 1) / parts, c0 = b0 * L.block, W = (b1 - b0) * L.block;
    int64_t R = std::max<int64_t>(16, std::min<int64_t>(O, kTileFloats / std::max<int64_t>(W, 1)));
    std::vector<float> tile(R * W);
    for (int64_t r0 = 0; r0 < O; r0 += R) {
      int64_t n = std::min(R, O - r0);
      for (int64_t r = 0; r < n; r++) dequantBlocks(type, w + (r0 + r) * rb + b0 * L.bytes, tile.data() + r * W, b1 - b0);
      float beta = (acc || r0 > 0) ? 1.f : 0.f;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, (int)W, (int)n, 1.f, dy + r0, (int)O, tile.data(), (int)W, beta, dx + c0, (int)I);
    }
  }
}

void qMatmulRun(int type, const uint8_t* w, const float* x, float* y, int64_t T, int64_t I, int64_t O) {
  matmul(type, w, I / qlayout(type).block * qlayout(type).bytes, x, y, T, I, O);
}

// qMatmul(x F32, T, I, w U8, type, O, y F32)
static Napi::Value qMatmul(const Napi::CallbackInfo& info) {
  const char* op = "qMatmul";
  F32 x = f32(info, 0, op);
  int64_t T = integer(info, 1, op), I = integer(info, 2, op);
  U8 w = u8(info, 3, op);
  int type = (int)integer(info, 4, op);
  int64_t O = integer(info, 5, op);
  F32 y = f32(info, 6, op);
  nonneg(op, "T", T); nonneg(op, "O", O);
  int64_t rb = rowBytes(op, type, O, I, w.n);
  fits(op, "x", x.n, 0, T * I);
  fits(op, "y", y.n, 0, T * O);
  if (T == 0 || O == 0) return info.Env().Undefined();
  matmul(type, w.p, rb, x.p, y.p, T, I, O);
  return info.Env().Undefined();
}

// qMatmulBackward(dy F32, T, O, w U8, type, I, dx F32, accumulate bool)
static Napi::Value qMatmulBackward(const Napi::CallbackInfo& info) {
  const char* op = "qMatmulBackward";
  F32 dy = f32(info, 0, op);
  int64_t T = integer(info, 1, op), O = integer(info, 2, op);
  U8 w = u8(info, 3, op);
  int type = (int)integer(info, 4, op);
  int64_t I = integer(info, 5, op);
  F32 dx = f32(info, 6, op);
  bool acc = boolean(info, 7, op);
  nonneg(op, "T", T); nonneg(op, "O", O);
  int64_t rb = rowBytes(op, type, O, I, w.n);
  fits(op, "dy", dy.n, 0, T * O);
  fits(op, "dx", dx.n, 0, T * I);
  if (T == 0) return info.Env().Undefined();
  if (O == 0) {
    if (!acc) std::fill(dx.p, dx.p + T * I, 0.f);
    return info.Env().Undefined();
  }
  matmulBackward(type, w.p, rb, dy.p, dx.p, T, I, O, acc);
  return info.Env().Undefined();
}

// qEmbedding(w U8, type, V, C, ids I32, out F32)
static Napi::Value qEmbedding(const Napi::CallbackInfo& info) {
  const char* op = "qEmbedding";
  U8 w = u8(info, 0, op);
  int type = (int)integer(info, 1, op);
  int64_t V = integer(info, 2, op), C = integer(info, 3, op);
  I32 ids = i32(info, 4, op);
  F32 out = f32(info, 5, op);
  int64_t rb = rowBytes(op, type, V, C, w.n);
  fits(op, "out", out.n, 0, (int64_t)ids.n * C);
  for (size_t t = 0; t < ids.n; t++)
    if (ids.p[t] < 0 || ids.p[t] >= V) throw ArgError{std::string(op) + ": token id " + std::to_string(ids.p[t]) + " is outside the vocabulary of " + std::to_string(V)};
  int64_t nb = C / qlayout(type).block;
#pragma omp parallel for schedule(static) if (ids.n > 16)
  for (int64_t t = 0; t < (int64_t)ids.n; t++) dequantBlocks(type, w.p + ids.p[t] * rb, out.p + t * C, nb);
  return info.Env().Undefined();
}

// qDequant(w U8, type, rows, cols, r0, n, out F32): rows r0..r0+n-1 into out[n, cols].
static Napi::Value qDequant(const Napi::CallbackInfo& info) {
  const char* op = "qDequant";
  U8 w = u8(info, 0, op);
  int type = (int)integer(info, 1, op);
  int64_t rows = integer(info, 2, op), cols = integer(info, 3, op), r0 = integer(info, 4, op), n = integer(info, 5, op);
  F32 out = f32(info, 6, op);
  int64_t rb = rowBytes(op, type, rows, cols, w.n);
  if (r0 < 0 || n < 0 || r0 + n > rows) throw ArgError{std::string(op) + ": rows " + std::to_string(r0) + "+" + std::to_string(n) + " outside " + std::to_string(rows)};
  fits(op, "out", out.n, 0, n * cols);
  int64_t nb = cols / qlayout(type).block;
#pragma omp parallel for schedule(static) if (n * cols > 65536)
  for (int64_t r = 0; r < n; r++) dequantBlocks(type, w.p + (r0 + r) * rb, out.p + r * cols, nb);
  return info.Env().Undefined();
}

// qDequantRef(w U8, type, rows, cols, out F32): the whole tensor through the scalar reference (for tests).
static Napi::Value qDequantRef(const Napi::CallbackInfo& info) {
  const char* op = "qDequantRef";
  U8 w = u8(info, 0, op);
  int type = (int)integer(info, 1, op);
  int64_t rows = integer(info, 2, op), cols = integer(info, 3, op);
  F32 out = f32(info, 4, op);
  int64_t rb = rowBytes(op, type, rows, cols, w.n);
  fits(op, "out", out.n, 0, rows * cols);
  for (int64_t r = 0; r < rows; r++) dequantBlocksRef(type, w.p + r * rb, out.p + r * cols, cols / qlayout(type).block);
  return info.Env().Undefined();
}

// qFirstNonFinite(w U8, type, rows, cols): index of the first NaN/±inf value once dequantized, or -1.
static Napi::Value qFirstNonFinite(const Napi::CallbackInfo& info) {
  const char* op = "qFirstNonFinite";
  U8 w = u8(info, 0, op);
  int type = (int)integer(info, 1, op);
  int64_t rows = integer(info, 2, op), cols = integer(info, 3, op);
  int64_t rb = rowBytes(op, type, rows, cols, w.n);
  int64_t nb = cols / qlayout(type).block, first = INT64_MAX;
#pragma omp parallel
  {
    std::vector<float> row(cols);
#pragma omp for schedule(static) reduction(min : first)
    for (int64_t r = 0; r < rows; r++) {
      dequantBlocks(type, w.p + r * rb, row.data(), nb);
      for (int64_t j = 0; j < cols; j++)
        if (!std::isfinite(row[j])) {
          int64_t at = r * cols + j;
          if (at < first) first = at;
          break;
        }
    }
  }
  return Napi::Number::New(info.Env(), first == INT64_MAX ? -1.0 : (double)first);
}

// qQuantize(src F32, rows, cols, type, dst U8)
static Napi::Value qQuantize(const Napi::CallbackInfo& info) {
  const char* op = "qQuantize";
  F32 src = f32(info, 0, op);
  int64_t rows = integer(info, 1, op), cols = integer(info, 2, op);
  int type = (int)integer(info, 3, op);
  U8 dst = u8(info, 4, op);
  int64_t rb = rowBytes(op, type, rows, cols, dst.n);
  fits(op, "src", src.n, 0, rows * cols);
  bool ok = true;
#pragma omp parallel for schedule(dynamic, 16) reduction(&& : ok)
  for (int64_t r = 0; r < rows; r++) ok = quantizeRow(type, src.p + r * cols, (uint8_t*)dst.p + r * rb, cols) && ok;
  if (!ok) throw ArgError{std::string(op) + ": no quantizer for ggml type " + std::to_string(type)};
  return info.Env().Undefined();
}

void registerQuantDot(Napi::Env env, Napi::Object exports);  // quant-dot.cc: integer dot products for decode

void registerQuant(Napi::Env env, Napi::Object exports) {
  LIFT_EXPORT("qMatmul", qMatmul);
  LIFT_EXPORT("qMatmulBackward", qMatmulBackward);
  LIFT_EXPORT("qEmbedding", qEmbedding);
  LIFT_EXPORT("qDequant", qDequant);
  LIFT_EXPORT("qDequantRef", qDequantRef);
  LIFT_EXPORT("qFirstNonFinite", qFirstNonFinite);
  LIFT_EXPORT("qQuantize", qQuantize);
  registerQuantDot(env, exports);
}

}  // namespace lift
