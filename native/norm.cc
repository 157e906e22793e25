// Embedding lookup and RMSNorm, each forward with its backward right below.
// Shapes: T rows (tokens), C channels, V vocabulary.
#include "common.h"
#include "kernels.h"
#include <cmath>
#include <vector>

namespace lift {

// embeddingForward(table[V,C], ids Int32[T], out[T,C], V, C)
static Napi::Value embeddingForward(const Napi::CallbackInfo& info) {
  const char* op = "embedding";
  F32 E = f32(info, 0, op); I32 ids = i32(info, 1, op); F32 out = f32(info, 2, op);
  int64_t V = integer(info, 3, op), C = integer(info, 4, op), T = (int64_t)ids.n;
  positive(op, "V", V); positive(op, "C", C);
  fits(op, "table", E.n, 0, V * C); fits(op, "out", out.n, 0, T * C);
  for (int64_t t = 0; t < T; t++)
    if (ids.p[t] < 0 || ids.p[t] >= V)
      throw ArgError{std::string(op) + ": token id " + std::to_string(ids.p[t]) + " at position " + std::to_string(t) +
                     " is outside the vocabulary [0, " + std::to_string(V) + ")"};
#pragma omp parallel for schedule(static) if (T * C > 65536)
  for (int64_t t = 0; t < T; t++) std::copy(E.p + ids.p[t] * C, E.p + (ids.p[t] + 1) * C, out.p + t * C);
  return info.Env().Undefined();
}
// embeddingBackward(dOut[T,C], ids Int32[T], dTable[V,C] (accumulated), V, C)
// Serial over tokens: the same id may repeat, so rows would race.
static Napi::Value embeddingBackward(const Napi::CallbackInfo& info) {
  const char* op = "embeddingBackward";
  F32 dOut = f32(info, 0, op); I32 ids = i32(info, 1, op); F32 dE = f32(info, 2, op);
  int64_t V = integer(info, 3, op), C = integer(info, 4, op), T = (int64_t)ids.n;
  fits(op, "dTable", dE.n, 0, V * C); fits(op, "dOut", dOut.n, 0, T * C);
  for (int64_t t = 0; t < T; t++) {
    if (ids.p[t] < 0 || ids.p[t] >= V) throw ArgError{std::string(op) + ": token id out of range"};
    float* row = dE.p + ids.p[t] * C;
    const float* g = dOut.p + t * C;
    for (int64_t c = 0; c < C; c++) row[c] += g[c];
  }
  return info.Env().Undefined();
}

// rmsnormForward(x[T,C], w[C], out[T,C], rstd[T], T, C, eps)
//   out = x · rstd · w,   rstd = 1 / sqrt(mean(x²) + eps)      (saved for backward: rstd)
static Napi::Value rmsnormForward(const Napi::CallbackInfo& info) {
  const char* op = "rmsnorm";
  F32 x = f32(info, 0, op), w = f32(info, 1, op), out = f32(info, 2, op), rstd = f32(info, 3, op);
  int64_t T = integer(info, 4, op), C = integer(info, 5, op);
  double eps = number(info, 6, op);
  positive(op, "C", C); nonneg(op, "T", T);
  fits(op, "x", x.n, 0, T * C); fits(op, "weight", w.n, 0, C); fits(op, "out", out.n, 0, T * C); fits(op, "rstd", rstd.n, 0, T);
#pragma omp parallel for schedule(static) if (T * C > 32768)
  for (int64_t t = 0; t < T; t++) rstd.p[t] = rmsnormRow(x.p + t * C, w.p, out.p + t * C, C, eps);
  return info.Env().Undefined();
}
// rmsnormBackward(dOut[T,C], x[T,C], w[C], rstd[T], dx[T,C] | null, dw[C] | null (accumulated), T, C, accumulateDx = true)
//   dx = rstd · (g − x̂ · mean(g · x̂)),  g = dOut · w,  x̂ = x · rstd;   dw = Σ_t dOut · x̂
static Napi::Value rmsnormBackward(const Napi::CallbackInfo& info) {
  const char* op = "rmsnormBackward";
  F32 dy = f32(info, 0, op), x = f32(info, 1, op), w = f32(info, 2, op), rstd = f32(info, 3, op);
  F32 dx = f32opt(info, 4, op), dw = f32opt(info, 5, op);
  int64_t T = integer(info, 6, op), C = integer(info, 7, op);
  bool acc = info.Length() > 8 ? boolean(info, 8, op) : true;  // false: overwrite dx (a fresh buffer)
  fits(op, "dOut", dy.n, 0, T * C); fits(op, "x", x.n, 0, T * C); fits(op, "weight", w.n, 0, C); fits(op, "rstd", rstd.n, 0, T);
  if (dx.p) {
    fits(op, "dx", dx.n, 0, T * C);
#pragma omp parallel for schedule(static) if (T * C > 32768)
    for (int64_t t = 0; t < T; t++) {
      const float *g = dy.p + t * C, *xr = x.p + t * C;
      float r = rstd.p[t];
      double dot = 0;
      for (int64_t c = 0; c < C; c++) dot += (double)g[c] * w.p[c] * xr[c] * r;
      float m = (float)(dot / C);
      float* o = dx.p + t * C;
      for (int64_t c = 0; c < C; c++) o[c] = (acc ? o[c] : 0.f) + r * (g[c] * w.p[c] - xr[c] * r * m);
    }
  }
  if (dw.p) {
    fits(op, "dw", dw.n, 0, C);
#pragma omp parallel for schedule(static) if (T * C > 32768)
    for (int64_t c = 0; c < C; c++) {
      double s = 0;
      for (int64_t t = 0; t < T; t++) s += (double)dy.p[t * C + c] * x.p[t * C + c] * rstd.p[t];
      dw.p[c] += (float)s;
    }
  }
  return info.Env().Undefined();
}

void registerNorm(Napi::Env env, Napi::Object exports) {
  LIFT_EXPORT("embeddingForward", embeddingForward);
  LIFT_EXPORT("embeddingBackward", embeddingBackward);
  LIFT_EXPORT("rmsnormForward", rmsnormForward);
  LIFT_EXPORT("rmsnormBackward", rmsnormBackward);
}

}  // namespace lift
