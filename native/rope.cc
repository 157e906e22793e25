// Rotary position embedding, both conventions, with a position offset (KV cache).
//   interleaved (llama2.c, GGUF / llama.cpp "norm"): pairs (x[2j], x[2j+1])
//   rotate-half (Hugging Face):                      pairs (x[j],  x[j + d/2])
// angle(pos, j) = pos · invFreq[j], in float32 as llama2.c and Hugging Face compute it; invFreq comes from
// TypeScript so rope_scaling variants (e.g. "llama3") only change that table.
// Backward of a rotation is the rotation by −angle, so one kernel serves both (sign = −1), and it
// accumulates into dst when asked (gradients accumulate).
#include "common.h"
#include "kernels.h"
#include <algorithm>
#include <cmath>
#include <vector>

namespace lift {

// rope(src[T,H,D], dst[T,H,D], T, H, D, start, invFreq[R/2], interleaved, sign (+1|-1), accumulate)
// R = 2·len(invFreq) ≤ D rotated dims; the rest pass through. dst may alias src when !accumulate.
static Napi::Value rope(const Napi::CallbackInfo& info) {
  const char* op = "rope";
  F32 src = f32(info, 0, op), dst = f32(info, 1, op);
  int64_t T = integer(info, 2, op), H = integer(info, 3, op), D = integer(info, 4, op), start = integer(info, 5, op);
  F32 inv = f32(info, 6, op);
  bool interleaved = boolean(info, 7, op);
  double sign = number(info, 8, op);
  bool acc = boolean(info, 9, op);
  positive(op, "H", H); positive(op, "head dim", D); nonneg(op, "start", start); nonneg(op, "T", T);
  int64_t half = (int64_t)inv.n, R = 2 * half;
  if (R > D) throw ArgError{std::string(op) + ": invFreq has " + std::to_string(half) + " entries, more than head dim/2 = " + std::to_string(D / 2)};
  fits(op, "src", src.n, 0, T * H * D); fits(op, "dst", dst.n, 0, T * H * D);
  // cos/sin of every (position, frequency): a training step rotates q and k forward and back in every layer at
  // the same positions, so the table is kept (per thread) and reused while the frequencies and positions match —
  // recomputing it was T·R/2 sin+cos per call, ~4 calls a layer. The values are the ones computed before, bit
  // for bit (angle in float32, std::cos/std::sin).
  struct Table {
    std::vector<float> inv, cs, sn;
    int64_t p0 = 0, p1 = 0;  // positions p0 … p1−1
  };
  thread_local Table tab;  // the calling thread's (the parallel loops below use pointers into it, not `tab`)
  bool same = tab.inv.size() == (size_t)half && std::equal(tab.inv.begin(), tab.inv.end(), inv.p);
  if (!same || start < tab.p0 || start + T > tab.p1) {
    // Grow to the union, at least doubling (decode asks for one new position per token: O(1) amortised);
    // a union past 64k positions is dropped for the request's own range.
    int64_t p0 = start, p1 = start + T;
    if (same) {
      int64_t u0 = std::min(tab.p0, start), u1 = std::max({tab.p1, start + T, tab.p1 + (tab.p1 - tab.p0)});
      if (u1 - u0 <= 65536) p0 = u0, p1 = u1;
    }
    tab.inv.assign(inv.p, inv.p + half);
    tab.cs.resize((size_t)((p1 - p0) * half));
    tab.sn.resize((size_t)((p1 - p0) * half));
    float *cs = tab.cs.data(), *sn = tab.sn.data();
#pragma omp parallel for schedule(static) if ((p1 - p0) * half > 16384)
    for (int64_t p = p0; p < p1; p++)
      for (int64_t j = 0; j < half; j++) {
        float ang = (float)p * inv.p[j];
        cs[(p - p0) * half + j] = std::cos(ang);
        sn[(p - p0) * half + j] = std::sin(ang);
      }
    tab.p0 = p0;
    tab.p1 = p1;
  }
  const float s = (float)sign, *csAll = tab.cs.data(), *snAll = tab.sn.data();
  const int64_t tp0 = tab.p0;
#pragma omp parallel for schedule(static) if (T * H * D > 32768)
  for (int64_t t = 0; t < T; t++) {
    const float* cs = csAll + (start + t - tp0) * half;
    const float* sn = snAll + (start + t - tp0) * half;
    ropeRow(src.p + t * H * D, dst.p + t * H * D, H, D, half, cs, sn, interleaved, s, acc);
  }
  return info.Env().Undefined();
}

void registerRope(Napi::Env env, Napi::Object exports) { LIFT_EXPORT("rope", rope); }

}  // namespace lift
