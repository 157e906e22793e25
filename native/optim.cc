// AdamW (decoupled weight decay, PyTorch's torch.optim.AdamW arithmetic) and the helpers for global
// grad-norm clipping and non-finite detection.
#include "common.h"
#include <cmath>

namespace lift {

// adamw(param, grad, m, v, lr, beta1, beta2, eps, weightDecay, step)   step counts from 1
//   p ← p·(1 − lr·wd);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
//   p ← p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
static Napi::Value adamw(const Napi::CallbackInfo& info) {
  const char* op = "adamw";
  F32 p = f32(info, 0, op), g = f32(info, 1, op), m = f32(info, 2, op), v = f32(info, 3, op);
  double lr = number(info, 4, op), b1 = number(info, 5, op), b2 = number(info, 6, op), eps = number(info, 7, op),
         wd = number(info, 8, op);
  int64_t step = integer(info, 9, op);
  positive(op, "step", step);
  if (g.n != p.n || m.n != p.n || v.n != p.n) throw ArgError{"adamw: param, grad, m and v must have the same length"};
  double bc1 = 1 - std::pow(b1, (double)step), bc2 = 1 - std::pow(b2, (double)step);
  float stepSize = (float)(lr / bc1), bc2s = (float)std::sqrt(bc2), decay = (float)(1 - lr * wd);
  float fb1 = (float)b1, fb2 = (float)b2, feps = (float)eps;
#pragma omp parallel for schedule(static) if (p.n > 65536)
  for (int64_t i = 0; i < (int64_t)p.n; i++) {
    float gi = g.p[i];
    p.p[i] *= decay;
    m.p[i] = fb1 * m.p[i] + (1.f - fb1) * gi;
    v.p[i] = fb2 * v.p[i] + (1.f - fb2) * gi * gi;
    p.p[i] -= stepSize * m.p[i] / (std::sqrt(v.p[i]) / bc2s + feps);
  }
  return info.Env().Undefined();
}

// sumSquares(x) → Σ x² in double (for the global grad norm); NaN/Inf propagate so callers can detect them.
static Napi::Value sumSquares(const Napi::CallbackInfo& info) {
  F32 x = f32(info, 0, "sumSquares");
  double s = 0;
#pragma omp parallel for schedule(static) reduction(+ : s) if (x.n > 65536)
  for (int64_t i = 0; i < (int64_t)x.n; i++) s += (double)x.p[i] * x.p[i];
  return Napi::Number::New(info.Env(), s);
}

// countNonFinite(x) → number of NaN/±Inf entries.
static Napi::Value countNonFinite(const Napi::CallbackInfo& info) {
  F32 x = f32(info, 0, "countNonFinite");
  int64_t c = 0;
#pragma omp parallel for schedule(static) reduction(+ : c) if (x.n > 65536)
  for (int64_t i = 0; i < (int64_t)x.n; i++) c += std::isfinite(x.p[i]) ? 0 : 1;
  return Napi::Number::New(info.Env(), (double)c);
}

void registerOptim(Napi::Env env, Napi::Object exports) {
  LIFT_EXPORT("adamw", adamw);
  LIFT_EXPORT("sumSquares", sumSquares);
  LIFT_EXPORT("countNonFinite", countNonFinite);
}

}  // namespace lift
