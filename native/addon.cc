// The native engine's entry point: one module, one thread pool (OpenMP; OpenBLAS is the OpenMP build, so
// BLAS calls and our loops share libgomp's threads instead of two pools fighting over the cores).
#include "common.h"
#include <cblas.h>
#include <cstdlib>
#include <thread>

extern "C" void openblas_set_num_threads(int);

namespace lift {

static Napi::Value setThreads(const Napi::CallbackInfo& info) {
  int n = (int)integer(info, 0, "setThreads");
  positive("setThreads", "threads", n);
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
  return info.Env().Undefined();
}
static Napi::Value getThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), omp_get_max_threads());
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Default: LIFT_THREADS, else one thread per core.
  int n = (int)std::thread::hardware_concurrency();
  if (const char* s = std::getenv("LIFT_THREADS")) n = std::atoi(s);
  if (n < 1) n = 1;
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
  LIFT_EXPORT("setThreads", setThreads);
  LIFT_EXPORT("getThreads", getThreads);
  registerMemory(env, exports);
  registerGemm(env, exports);
  registerMatvec(env, exports);
  registerGemmBf16(env, exports);
  registerNorm(env, exports);
  registerRope(env, exports);
  registerAttention(env, exports);
  registerMlp(env, exports);
  registerLoss(env, exports);
  registerOptim(env, exports);
  registerQuant(env, exports);
  registerMapped(env, exports);
  return exports;
}

}  // namespace lift

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return lift::Init(env, exports); }
NODE_API_MODULE(lift_native, InitModule)
