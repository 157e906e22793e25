// Shared helpers for the kernels: argument unpacking with bounds checks (a bad call throws a JS Error
// naming the op, never crashes the process) and the registration table.
#pragma once
#include <napi.h>
#include <omp.h>
#include <cstdint>
#include <cstddef>
#include <cstdlib>
#include <string>

namespace lift {

// Decode-sized products (≤ 4 rows) split over threads only for a weight of at least this many bytes: waking the
// passive OpenMP threads (~35 µs) costs more than a smaller weight takes to read. Where the bound sits depends on
// how much of the memory bandwidth one core streams: on Zen 4 (AVX-512) nearly all of it, and only the vocabulary
// projection pays (8 MiB); on Zen 3 (AVX2) one core streamed 14 GB/s of the ~22 two reach, and 1 MiB (every 135M
// projection but k/v) decoded best: 28.0 (8 MiB) / 29.6 (2 MiB) / 32.5 (1 MiB) / 26.0 (256 KiB) tok/s at 2
// threads (docs/speed.md, "Decode"). matvec.cc takes the bound by its path; gemm-bf16.cc's gemv is AVX-512 only.
static const int64_t kDecodeParallelBytes = 8 << 20;
static const int64_t kDecodeParallelBytesAvx2 = 1 << 20;

// body(i) for i < n, split over threads (static) only when `parallel` and not already inside a parallel region:
// a region with if(false) still sets up a team (~1–10 µs), which small products called many times a token (LoRA's
// rank side, a decode chunk) would pay on every call.
template <class Body>
inline void maybeParallel(int64_t n, bool parallel, Body body) {
  if (!parallel || omp_in_parallel()) {
    for (int64_t i = 0; i < n; i++) body(i);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) body(i);
}

// LIFT_CPU_FEATURES="-avx512bf16,-avx512f" (comma- or space-separated, each "-name") hides a CPU feature: tests use
// it to take the path a CPU without it takes, without such a CPU. Read on every call (getenv: tens of ns).
inline bool cpuFeatureHidden(const char* name) {
  const char* s = std::getenv("LIFT_CPU_FEATURES");
  if (!s) return false;
  std::string list = std::string(",") + s + ",", want = std::string(",-") + name + ",";
  for (auto& ch : list) if (ch == ' ') ch = ',';
  return list.find(want) != std::string::npos;
}

// A bad argument: the message is thrown as a JS Error by the wrapper.
struct ArgError {
  std::string msg;
};

struct F32 {
  float* p;
  size_t n;  // elements
};
struct I32 {
  int32_t* p;
  size_t n;
};

inline std::string argName(const char* op, int i) { return std::string(op) + ": argument " + std::to_string(i); }

inline F32 f32(const Napi::CallbackInfo& info, int i, const char* op) {
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw ArgError{argName(op, i) + " must be a Float32Array"};
  auto a = info[i].As<Napi::Float32Array>();
  if (a.ArrayBuffer().ByteLength() == 0 && a.ElementLength() == 0) return F32{nullptr, 0};
  return F32{a.Data(), a.ElementLength()};
}
// Optional Float32Array: null/undefined gives {nullptr, 0}.
inline F32 f32opt(const Napi::CallbackInfo& info, int i, const char* op) {
  if (info[i].IsNull() || info[i].IsUndefined()) return F32{nullptr, 0};
  return f32(info, i, op);
}
inline I32 i32(const Napi::CallbackInfo& info, int i, const char* op) {
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw ArgError{argName(op, i) + " must be an Int32Array"};
  auto a = info[i].As<Napi::Int32Array>();
  return I32{a.Data(), a.ElementLength()};
}
inline int64_t integer(const Napi::CallbackInfo& info, int i, const char* op) {
  if (!info[i].IsNumber()) throw ArgError{argName(op, i) + " must be a number"};
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (d != (double)(int64_t)d) throw ArgError{argName(op, i) + " must be an integer"};
  return (int64_t)d;
}
inline double number(const Napi::CallbackInfo& info, int i, const char* op) {
  if (!info[i].IsNumber()) throw ArgError{argName(op, i) + " must be a number"};
  return info[i].As<Napi::Number>().DoubleValue();
}
inline bool boolean(const Napi::CallbackInfo& info, int i, const char* op) {
  if (!info[i].IsBoolean()) throw ArgError{argName(op, i) + " must be a boolean"};
  return info[i].As<Napi::Boolean>().Value();
}
// Throws unless `need` elements starting at `off` fit in a buffer of `have` elements.
inline void fits(const char* op, const char* what, size_t have, int64_t off, int64_t need) {
  if (off < 0 || need < 0 || (uint64_t)off + (uint64_t)need > have)
    throw ArgError{std::string(op) + ": " + what + " needs " + std::to_string(need) + " elements from offset " +
                   std::to_string(off) + " but has " + std::to_string(have)};
}
inline void positive(const char* op, const char* what, int64_t v) {
  if (v <= 0) throw ArgError{std::string(op) + ": " + what + " must be > 0, got " + std::to_string(v)};
}
inline void nonneg(const char* op, const char* what, int64_t v) {
  if (v < 0) throw ArgError{std::string(op) + ": " + what + " must be >= 0, got " + std::to_string(v)};
}

// Wraps a kernel so that an ArgError becomes a JS Error (NAPI C++ exceptions are disabled).
using Kernel = Napi::Value (*)(const Napi::CallbackInfo&);
template <Kernel K>
Napi::Value guarded(const Napi::CallbackInfo& info) {
  try {
    return K(info);
  } catch (const ArgError& e) {
    Napi::Error::New(info.Env(), e.msg).ThrowAsJavaScriptException();
    return info.Env().Undefined();
  } catch (const std::bad_alloc&) {
    Napi::Error::New(info.Env(), "out of memory in a native kernel").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
}

// Each kernel file registers its functions here.
void registerMemory(Napi::Env env, Napi::Object exports);
void registerGemm(Napi::Env env, Napi::Object exports);
void registerMatvec(Napi::Env env, Napi::Object exports);
void registerGemmBf16(Napi::Env env, Napi::Object exports);
void registerNorm(Napi::Env env, Napi::Object exports);
void registerRope(Napi::Env env, Napi::Object exports);
void registerAttention(Napi::Env env, Napi::Object exports);
void registerMlp(Napi::Env env, Napi::Object exports);
void registerLoss(Napi::Env env, Napi::Object exports);
void registerOptim(Napi::Env env, Napi::Object exports);
void registerQuant(Napi::Env env, Napi::Object exports);
void registerMapped(Napi::Env env, Napi::Object exports);
void registerLora(Napi::Env env, Napi::Object exports);
void registerDecode(Napi::Env env, Napi::Object exports);
// Unmaps a buffer from mapFile (and detaches it); false when `ab` is not one (mapped.cc).
bool releaseMapped(Napi::ArrayBuffer& ab);
size_t mappedTotal();

#define LIFT_EXPORT(name, fn) exports.Set(name, Napi::Function::New(env, lift::guarded<fn>, name))

}  // namespace lift
