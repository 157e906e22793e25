// The native engine's entry point: one module, one thread pool (OpenMP; OpenBLAS is the OpenMP build, so
// BLAS calls and our loops share libgomp's threads instead of two pools fighting over the cores).
#include "common.h"
#include <cblas.h>
#include <cstdio>
#include <cstdlib>
#include <sched.h>
#include <thread>

extern "C" void openblas_set_num_threads(int);
extern "C" char* openblas_get_corename(void);

namespace lift {

// Cores this process may run on: its CPU affinity mask (a container or `taskset` may allow fewer than the machine has).
static int availableCores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  int n = (int)std::thread::hardware_concurrency();
  return n > 0 ? n : 1;
}

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
// The kernel set OpenBLAS chose at load ("Haswell", "SkylakeX", …; OPENBLAS_CORETYPE, src/engine/native.ts).
static Napi::Value blasCore(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), openblas_get_corename());
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Default: LIFT_THREADS, else OMP_NUM_THREADS, else one thread per core this process may run on (its affinity). A LIFT_THREADS that
  // is not a whole number ≥ 1 is ignored with a message; above the cores it is clamped (more threads than cores
  // only wait for each other at every barrier), also with a message.
  int cores = availableCores(), n = cores;
  if (const char* s = std::getenv("LIFT_THREADS")) {
    char* end = nullptr;
    long v = std::strtol(s, &end, 10);
    if (*s == 0 || *end != 0 || v < 1) {
      std::fprintf(stderr, "LIFT_THREADS=%s: expected a whole number of threads >= 1; using %d (the cores)\n", s, cores);
    } else if (v > cores) {
      std::fprintf(stderr, "LIFT_THREADS=%s: more threads than the %d cores; using %d\n", s, cores, cores);
    } else {
      n = (int)v;
    }
  } else if (std::getenv("OMP_NUM_THREADS")) {
    // The standard variable (libgomp parsed it: its first number) when LIFT_THREADS is not set; job processes
    // and users set it expecting it to count. Above the cores: clamped, as LIFT_THREADS.
    int omp = omp_get_max_threads();
    if (omp > cores) std::fprintf(stderr, "OMP_NUM_THREADS=%s: more threads than the %d cores; using %d\n", std::getenv("OMP_NUM_THREADS"), cores, cores);
    else n = omp;
  }
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
  LIFT_EXPORT("setThreads", setThreads);
  LIFT_EXPORT("getThreads", getThreads);
  LIFT_EXPORT("blasCore", blasCore);
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
  registerLora(env, exports);
  registerDecode(env, exports);
  return exports;
}

}  // namespace lift

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return lift::Init(env, exports); }
NODE_API_MODULE(lift_native, InitModule)
