// Elementwise kernels, each forward with its backward right below: SwiGLU, SiLU, the Gated Memory gate
// activation and mixing, bias rows, and the small vector helpers the autograd needs (add, axpy, scale).
// Backward kernels accumulate (+=) into gradient buffers, as every gradient in the engine does.
#include "common.h"
#include "kernels.h"
#include "simd-math.h"
#include <algorithm>
#include <cmath>

namespace lift {

static inline float sigm(float x) { return 1.f / (1.f + std::exp(-x)); }

// Runs f(i) for i in [0, n), over the OpenMP threads when n is large enough to pay for them.
template <class F>
static inline void parFor(size_t n, F f) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < (int64_t)n; i++) f(i);
}

// Runs body(i0, i1) over [0, n) in 4096-element chunks, over the OpenMP threads when n is large enough.
template <class F>
static inline void parChunks(int64_t n, F body) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i0 = 0; i0 < n; i0 += 4096) body(i0, std::min(n, i0 + 4096));
}

// swigluForward(gate[N], up[N], out[N]):  out = silu(gate) · up      (Llama MLP, N = T·I)
static Napi::Value swigluForward(const Napi::CallbackInfo& info) {
  const char* op = "swiglu";
  F32 g = f32(info, 0, op), u = f32(info, 1, op), o = f32(info, 2, op);
  if (u.n != g.n || o.n != g.n) throw ArgError{std::string(op) + ": gate, up and out must have the same length"};
  parChunks((int64_t)g.n, [&](int64_t i, int64_t e) { swigluRange(g.p, u.p, o.p, i, e); });
  return info.Env().Undefined();
}
// swigluBackward(dOut, gate, up, dGate, dUp):  dGate += dOut·up·silu'(gate);  dUp += dOut·silu(gate)
//   silu'(x) = σ(x)·(1 + x·(1 − σ(x)))
static Napi::Value swigluBackward(const Napi::CallbackInfo& info) {
  const char* op = "swigluBackward";
  F32 dy = f32(info, 0, op), g = f32(info, 1, op), u = f32(info, 2, op), dg = f32opt(info, 3, op), du = f32opt(info, 4, op);
  // accumulate = false overwrites dGate/dUp (fresh, uninitialised buffers) instead of adding to them.
  bool acc = info.Length() > 5 ? boolean(info, 5, op) : true;
  size_t n = g.n;
  if (dy.n != n || u.n != n || (dg.p && dg.n != n) || (du.p && du.n != n))
    throw ArgError{std::string(op) + ": all buffers must have the same length"};
  // (not keep·old + new: an uninitialised buffer may hold NaN bit patterns, and 0·NaN = NaN)
  parChunks((int64_t)n, [&](int64_t i, int64_t e) {
#if defined(__AVX512F__)
    __m512 one = _mm512_set1_ps(1.f);
    for (; i + 16 <= e; i += 16) {
      __m512 x = _mm512_loadu_ps(g.p + i), s = sigmoid16(x), d = _mm512_loadu_ps(dy.p + i);
      __m512 gg = _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(d, _mm512_loadu_ps(u.p + i)), s),
                                _mm512_fmadd_ps(x, _mm512_sub_ps(one, s), one));
      __m512 gu = _mm512_mul_ps(_mm512_mul_ps(d, x), s);
      if (dg.p) _mm512_storeu_ps(dg.p + i, acc ? _mm512_add_ps(_mm512_loadu_ps(dg.p + i), gg) : gg);
      if (du.p) _mm512_storeu_ps(du.p + i, acc ? _mm512_add_ps(_mm512_loadu_ps(du.p + i), gu) : gu);
    }
#elif defined(LIFT_SIMD_AVX2)
    __m256 one = _mm256_set1_ps(1.f);
    for (; i + 8 <= e; i += 8) {
      __m256 x = _mm256_loadu_ps(g.p + i), s = sigmoid8(x), d = _mm256_loadu_ps(dy.p + i);
      __m256 gg = _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(d, _mm256_loadu_ps(u.p + i)), s),
                                _mm256_fmadd_ps(x, _mm256_sub_ps(one, s), one));
      __m256 gu = _mm256_mul_ps(_mm256_mul_ps(d, x), s);
      if (dg.p) _mm256_storeu_ps(dg.p + i, acc ? _mm256_add_ps(_mm256_loadu_ps(dg.p + i), gg) : gg);
      if (du.p) _mm256_storeu_ps(du.p + i, acc ? _mm256_add_ps(_mm256_loadu_ps(du.p + i), gu) : gu);
    }
#endif
    for (; i < e; i++) {
      float x = g.p[i], s = sigm(x);
      float gg = dy.p[i] * u.p[i] * s * (1.f + x * (1.f - s)), gu = dy.p[i] * x * s;
      if (dg.p) dg.p[i] = acc ? dg.p[i] + gg : gg;
      if (du.p) du.p[i] = acc ? du.p[i] + gu : gu;
    }
  });
  return info.Env().Undefined();
}

// siluForward(x, out) / siluBackward(dOut, x, dx)
static Napi::Value siluForward(const Napi::CallbackInfo& info) {
  F32 x = f32(info, 0, "silu"), o = f32(info, 1, "silu");
  if (o.n != x.n) throw ArgError{"silu: x and out must have the same length"};
  // Vectorised (exp16): Gated Memory applies it to k·D + G values per head and token, ~7 % of an absorb
  // when it called expf one element at a time.
  parChunks((int64_t)x.n, [&](int64_t i, int64_t e) { siluRange(x.p, o.p, i, e); });
  return info.Env().Undefined();
}
static Napi::Value siluBackward(const Napi::CallbackInfo& info) {
  F32 dy = f32(info, 0, "siluBackward"), x = f32(info, 1, "siluBackward"), dx = f32(info, 2, "siluBackward");
  if (dy.n != x.n || dx.n != x.n) throw ArgError{"siluBackward: buffers must have the same length"};
  parChunks((int64_t)x.n, [&](int64_t i, int64_t e) {
#if defined(__AVX512F__)
    __m512 one = _mm512_set1_ps(1.f);
    for (; i + 16 <= e; i += 16) {
      __m512 v = _mm512_loadu_ps(x.p + i), s = sigmoid16(v);
      __m512 g = _mm512_mul_ps(_mm512_mul_ps(_mm512_loadu_ps(dy.p + i), s), _mm512_fmadd_ps(v, _mm512_sub_ps(one, s), one));
      _mm512_storeu_ps(dx.p + i, _mm512_add_ps(_mm512_loadu_ps(dx.p + i), g));
    }
#elif defined(LIFT_SIMD_AVX2)
    __m256 one = _mm256_set1_ps(1.f);
    for (; i + 8 <= e; i += 8) {
      __m256 v = _mm256_loadu_ps(x.p + i), s = sigmoid8(v);
      __m256 g = _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(dy.p + i), s), _mm256_fmadd_ps(v, _mm256_sub_ps(one, s), one));
      _mm256_storeu_ps(dx.p + i, _mm256_add_ps(_mm256_loadu_ps(dx.p + i), g));
    }
#endif
    for (; i < e; i++) { float sg = sigm(x.p[i]); dx.p[i] += dy.p[i] * sg * (1.f + x.p[i] * (1.f - sg)); }
  });
  return info.Env().Undefined();
}

// sigmoidAffineForward(x, out, a, b): out = σ(a·x + b)   (Gated Memory gate: a = 3, b = −3, LIFT §4)
static Napi::Value sigmoidAffineForward(const Napi::CallbackInfo& info) {
  F32 x = f32(info, 0, "sigmoid"), o = f32(info, 1, "sigmoid");
  float a = (float)number(info, 2, "sigmoid"), b = (float)number(info, 3, "sigmoid");
  if (o.n != x.n) throw ArgError{"sigmoid: x and out must have the same length"};
  parChunks((int64_t)x.n, [&](int64_t i, int64_t e) { sigmoidAffineRange(x.p, o.p, a, b, i, e); });
  return info.Env().Undefined();
}
// sigmoidAffineBackward(dOut, out, dx, a): dx += dOut · a · out · (1 − out)
static Napi::Value sigmoidAffineBackward(const Napi::CallbackInfo& info) {
  F32 dy = f32(info, 0, "sigmoidBackward"), y = f32(info, 1, "sigmoidBackward"), dx = f32(info, 2, "sigmoidBackward");
  float a = (float)number(info, 3, "sigmoidBackward");
  if (dy.n != y.n || dx.n != y.n) throw ArgError{"sigmoidBackward: buffers must have the same length"};
  parFor(y.n, [&](int64_t i) { dx.p[i] += dy.p[i] * a * y.p[i] * (1.f - y.p[i]); });
  return info.Env().Undefined();
}

// gateMixForward(attn[R,D], mem[R,D], gate[R], out[R,D], R, D): out = (1 − g)·attn + g·mem, per row
static Napi::Value gateMixForward(const Napi::CallbackInfo& info) {
  const char* op = "gateMix";
  F32 a = f32(info, 0, op), m = f32(info, 1, op), g = f32(info, 2, op), o = f32(info, 3, op);
  int64_t R = integer(info, 4, op), D = integer(info, 5, op);
  fits(op, "attn", a.n, 0, R * D); fits(op, "mem", m.n, 0, R * D); fits(op, "gate", g.n, 0, R); fits(op, "out", o.n, 0, R * D);
#pragma omp parallel for schedule(static) if (R * D > 65536)
  for (int64_t r = 0; r < R; r++) gateMixRow(a.p + r * D, m.p + r * D, g.p[r], o.p + r * D, D);
  return info.Env().Undefined();
}
// gateMixBackward(dOut, attn, mem, gate, dAttn|null, dMem|null, dGate|null, R, D)
//   dAttn += (1 − g)·dOut;  dMem += g·dOut;  dGate += Σ_d dOut·(mem − attn)
static Napi::Value gateMixBackward(const Napi::CallbackInfo& info) {
  const char* op = "gateMixBackward";
  F32 dy = f32(info, 0, op), a = f32(info, 1, op), m = f32(info, 2, op), g = f32(info, 3, op);
  F32 da = f32opt(info, 4, op), dm = f32opt(info, 5, op), dg = f32opt(info, 6, op);
  int64_t R = integer(info, 7, op), D = integer(info, 8, op);
  fits(op, "dOut", dy.n, 0, R * D); fits(op, "attn", a.n, 0, R * D); fits(op, "mem", m.n, 0, R * D); fits(op, "gate", g.n, 0, R);
  if (da.p) fits(op, "dAttn", da.n, 0, R * D);
  if (dm.p) fits(op, "dMem", dm.n, 0, R * D);
  if (dg.p) fits(op, "dGate", dg.n, 0, R);
#pragma omp parallel for schedule(static) if (R * D > 65536)
  for (int64_t r = 0; r < R; r++) {
    double s = 0;
    for (int64_t d = 0; d < D; d++) {
      int64_t i = r * D + d;
      if (da.p) da.p[i] += (1.f - g.p[r]) * dy.p[i];
      if (dm.p) dm.p[i] += g.p[r] * dy.p[i];
      s += (double)dy.p[i] * (m.p[i] - a.p[i]);
    }
    if (dg.p) dg.p[r] += (float)s;
  }
  return info.Env().Undefined();
}

// addBias(x[R,N], bias[N], R, N): x += bias per row.   biasBackward(dOut[R,N], dBias[N], R, N): dBias += Σ_r dOut
static Napi::Value addBias(const Napi::CallbackInfo& info) {
  F32 x = f32(info, 0, "addBias"), b = f32(info, 1, "addBias");
  int64_t R = integer(info, 2, "addBias"), N = integer(info, 3, "addBias");
  fits("addBias", "x", x.n, 0, R * N); fits("addBias", "bias", b.n, 0, N);
#pragma omp parallel for schedule(static) if (R * N > 65536)
  for (int64_t r = 0; r < R; r++)
    for (int64_t n = 0; n < N; n++) x.p[r * N + n] += b.p[n];
  return info.Env().Undefined();
}
static Napi::Value biasBackward(const Napi::CallbackInfo& info) {
  F32 dy = f32(info, 0, "biasBackward"), db = f32(info, 1, "biasBackward");
  int64_t R = integer(info, 2, "biasBackward"), N = integer(info, 3, "biasBackward");
  fits("biasBackward", "dOut", dy.n, 0, R * N); fits("biasBackward", "dBias", db.n, 0, N);
#pragma omp parallel for schedule(static) if (R * N > 65536)
  for (int64_t n = 0; n < N; n++) {
    double s = 0;
    for (int64_t r = 0; r < R; r++) s += dy.p[r * N + n];
    db.p[n] += (float)s;
  }
  return info.Env().Undefined();
}

// addScaled(a, b, s, out): out = a + s·b (one pass; residual connections and LoRA's scaled update).
static Napi::Value addScaled(const Napi::CallbackInfo& info) {
  F32 a = f32(info, 0, "addScaled"), b = f32(info, 1, "addScaled");
  float s = (float)number(info, 2, "addScaled");
  F32 o = f32(info, 3, "addScaled");
  if (b.n != a.n || o.n != a.n) throw ArgError{"addScaled: a, b and out must have the same length"};
  parFor(a.n, [&](int64_t i) { o.p[i] = a.p[i] + s * b.p[i]; });
  return info.Env().Undefined();
}

// add(a, b, out): out = a + b.  axpy(alpha, x, y): y += alpha·x.  scale(x, s): x *= s.
static Napi::Value add(const Napi::CallbackInfo& info) {
  F32 a = f32(info, 0, "add"), b = f32(info, 1, "add"), o = f32(info, 2, "add");
  if (b.n != a.n || o.n != a.n) throw ArgError{"add: a, b and out must have the same length"};
  parFor(a.n, [&](int64_t i) { o.p[i] = a.p[i] + b.p[i]; });
  return info.Env().Undefined();
}
static Napi::Value axpy(const Napi::CallbackInfo& info) {
  float alpha = (float)number(info, 0, "axpy");
  F32 x = f32(info, 1, "axpy"), y = f32(info, 2, "axpy");
  if (y.n != x.n) throw ArgError{"axpy: x and y must have the same length"};
  parFor(x.n, [&](int64_t i) { y.p[i] += alpha * x.p[i]; });
  return info.Env().Undefined();
}
static Napi::Value scale(const Napi::CallbackInfo& info) {
  F32 x = f32(info, 0, "scale");
  float s = (float)number(info, 1, "scale");
  parFor(x.n, [&](int64_t i) { x.p[i] *= s; });
  return info.Env().Undefined();
}

void registerMlp(Napi::Env env, Napi::Object exports) {
  LIFT_EXPORT("swigluForward", swigluForward);
  LIFT_EXPORT("swigluBackward", swigluBackward);
  LIFT_EXPORT("siluForward", siluForward);
  LIFT_EXPORT("siluBackward", siluBackward);
  LIFT_EXPORT("sigmoidAffineForward", sigmoidAffineForward);
  LIFT_EXPORT("sigmoidAffineBackward", sigmoidAffineBackward);
  LIFT_EXPORT("gateMixForward", gateMixForward);
  LIFT_EXPORT("gateMixBackward", gateMixBackward);
  LIFT_EXPORT("addBias", addBias);
  LIFT_EXPORT("biasBackward", biasBackward);
  LIFT_EXPORT("add", add);
  LIFT_EXPORT("addScaled", addScaled);
  LIFT_EXPORT("axpy", axpy);
  LIFT_EXPORT("scale", scale);
}

}  // namespace lift
