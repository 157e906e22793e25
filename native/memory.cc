// Native memory for tensors. Buffers are 64-byte aligned (AVX-512 lines), handed to JS as external
// ArrayBuffers, and freed deterministically by free() rather than by the garbage collector (the GC still
// frees any buffer that was never freed explicitly). Freed blocks are kept in a small size-keyed cache
// and reused: a training step allocates the same sizes every step, and fresh large allocations would be
// mmap'd and page-faulted again each time.
// Also: dtype conversions (f16/bf16 storage for frozen weights → f32 compute; Q8_0 dequantisation).
#include "common.h"
#include <cstdlib>
#include <cstring>
#include <sys/mman.h>
#include <unistd.h>
#include <map>
#include <mutex>
#include <unordered_map>

namespace lift {

struct Block {
  void* ptr;
  size_t bytes;   // accounted size (its size class)
  bool freed;
  bool uncounted = false;  // its bytes are not in V8's external-memory count (see alloc)
  size_t length = 0;       // the ArrayBuffer's byte length: what V8 counts and will subtract when it goes
  napi_env env = nullptr;  // while uncounted: the environment whose count it is out of,
  napi_ref ref = nullptr;  // and a strong reference that keeps the GC from collecting it (see alloc)
};

static std::unordered_map<void*, Block*> live;        // ptr → block, for explicit free
static std::multimap<size_t, void*> pool;              // freed, reusable blocks by size
static size_t poolBytes = 0, liveBytes = 0, peakBytes = 0;
// Freed blocks kept for reuse, at most a third of physical memory. A training step frees its whole working
// set at the end and allocates the same size classes again, so the pool settles at one step's working set;
// a smaller cap sent the rest of a 2k-token step (5.9 GB) back to the kernel and re-faulted it every step
// (9.9 s → 13.5 s per step).
static size_t poolLimit() {
  static const size_t lim = (size_t)sysconf(_SC_PHYS_PAGES) * (size_t)sysconf(_SC_PAGESIZE) / 3;
  return lim;
}
static const size_t kMmapMin = (size_t)1 << 20;  // blocks from 1 MiB up are mmap'd

// Allocation size classes: 4 per power of two (≤ 25 % slack), so sequences of slightly different lengths
// (training samples vary) reuse each other's blocks instead of filling the pool with near-misses.
static size_t sizeClass(size_t b) {
  if (b <= 4096) return (b + 63) / 64 * 64;
  size_t p = 1;
  while ((p << 1) <= b) p <<= 1;
  size_t step = p / 4;
  return (b + step - 1) / step * step;
}

// A block for `bytes` (its class); on return `bytes` is the block's actual size. A pooled block of the class, else
// one up to half as large again (training's samples vary in length, so a pass asks for neighbouring classes:
// before, each new class was a fresh mapping whose first touch page-faulted — 14 ms for a 7 MB activation
// against 0.9 ms once reused, a fifth of the elementwise kernels' time in a 1k-token absorb), else a new block.
static void* rawAlloc(size_t& bytes) {
  bytes = sizeClass(bytes);
  auto it = pool.find(bytes);
  if (it == pool.end() && bytes >= 4096) {
    it = pool.lower_bound(bytes);
    if (it != pool.end() && it->first > bytes + bytes / 2) it = pool.end();
  }
  if (it != pool.end()) {
    void* p = it->second;
    bytes = it->first;
    pool.erase(it);
    poolBytes -= bytes;
    return p;
  }
  void* p;
  if (bytes >= kMmapMin) {
    // Large blocks come straight from the kernel and go straight back: glibc would keep freed megabyte-sized
    // chunks in its heap, where differently sized tensors fragment it (peak RSS grew with every sample).
    p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    // Transparent huge pages where the system allows them on request ("madvise" mode, Debian's default):
    // first touch faults once per 2 MiB instead of once per 4 KiB.
    if (bytes >= ((size_t)2 << 20)) madvise(p, bytes, MADV_HUGEPAGE);
  } else {
    p = std::aligned_alloc(64, bytes == 0 ? 64 : bytes);
    if (!p) throw std::bad_alloc();
  }
  return p;
}
static void release(void* p, size_t bytes) {
  if (bytes >= kMmapMin) munmap(p, bytes);
  else std::free(p);
}
// Small blocks are pooled too (exact size class): a decode token allocates ~450 of them (hidden-state rows of
// 2–6 KB), and aligned_alloc + free cost ~1.7 µs more per pair than a pool hit (3.46 → 1.8 µs, Zen 3).
static void rawFree(void* p, size_t bytes) {
  if (poolBytes + bytes <= poolLimit()) {
    pool.emplace(bytes, p);
    poolBytes += bytes;
  } else {
    release(p, bytes);
  }
}

static void finalize(Napi::Env, void*, Block* b) {
  if (!b->freed) {
    liveBytes -= b->bytes;
    live.erase(b->ptr);
    rawFree(b->ptr, b->bytes);
  }
  delete b;
}

// alloc(bytes, zero) → ArrayBuffer
static Napi::Value alloc(const Napi::CallbackInfo& info) {
  int64_t bytes = integer(info, 0, "alloc");
  nonneg("alloc", "bytes", bytes);
  bool zero = boolean(info, 1, "alloc");
  size_t block = (size_t)bytes;
  void* p = rawAlloc(block);
  if (zero) std::memset(p, 0, (size_t)bytes);
  Block* b = new Block{p, block, false};  // accounted (and pooled) at the block's size
  live[p] = b;
  liveBytes += b->bytes;
  if (liveBytes > peakBytes) peakBytes = liveBytes;
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(info.Env(), p, (size_t)bytes, finalize, b);
  // V8 counts an external buffer's bytes as external memory and starts garbage collections when that grows
  // ~64 MB past its level at the last full GC ("external memory pressure"). A training step allocates and
  // explicitly frees ~0.8 GB of activations at 256 tokens, so V8 ran ~30 collections per step (~0.3 s of a
  // 3.5 s step on the loaded machine, --trace-gc). A buffer allocated `uncounted` (a tensor created inside a
  // tape or tidy scope, which frees it explicitly) has its bytes taken back out of V8's count here; free()
  // gives them back just before Detach subtracts them; countExternal() counts it again if its tensor leaves
  // every scope (keep(), a tidy result with no enclosing scope), so a leaked tensor still pressures the GC.
  //
  // V8 subtracts a buffer's bytes again whenever it lets the buffer go, and since V8 13 (Node 24) a count that
  // would fall below zero is a fatal error. So an uncounted buffer must never be let go while uncounted: a
  // strong reference keeps the GC off it until free() or countExternal() (a leaked scope then leaks its
  // buffers rather than crash the process), and recountAll() counts every one still uncounted at exit.
  if (info.Length() > 2 && info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value()) {
    b->uncounted = true;
    b->length = (size_t)bytes;
    b->env = info.Env();
    if (napi_create_reference(info.Env(), ab, 1, &b->ref) != napi_ok) throw std::bad_alloc();
    Napi::MemoryManagement::AdjustExternalMemory(info.Env(), -(int64_t)bytes);
  }
  return ab;
}

// An uncounted buffer is counted by V8 again (its bytes added back) and released to the GC.
static void recount(Block* b) {
  Napi::MemoryManagement::AdjustExternalMemory(b->env, (int64_t)b->length);
  if (b->ref) napi_delete_reference(b->env, b->ref);
  b->uncounted = false;
  b->ref = nullptr;
  b->env = nullptr;
}

// recountAll(): every uncounted buffer is counted again. Called on the process's 'exit' event (native.ts),
// before the environment's teardown detaches every external buffer, each detach subtracting its bytes.
// (A native cleanup hook cannot go first: the buffers' own hooks run in the realm's cleanup, before the
// environment's.)
static Napi::Value recountAll(const Napi::CallbackInfo& info) {
  for (auto& kv : live)
    if (kv.second->uncounted && kv.second->env == (napi_env)info.Env()) recount(kv.second);
  return info.Env().Undefined();
}

// v8ExternalMemory() → V8's external-memory count, the one that triggers pressure GCs (an adjustment by 0
// reads it; process.memoryUsage().external reports backing-store bytes instead). For tests.
static Napi::Value v8ExternalMemory(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), (double)Napi::MemoryManagement::AdjustExternalMemory(info.Env(), 0));
}

// countExternal(ArrayBuffer): an uncounted buffer (alloc) is counted by V8 from now on.
static Napi::Value countExternal(const Napi::CallbackInfo& info) {
  if (!info[0].IsArrayBuffer()) throw ArgError{"countExternal: argument 0 must be an ArrayBuffer"};
  auto ab = info[0].As<Napi::ArrayBuffer>();
  auto it = live.find(ab.Data());
  if (it != live.end() && !it->second->freed && it->second->uncounted) recount(it->second);
  return info.Env().Undefined();
}

// free(ArrayBuffer): returns the memory now and detaches the buffer (its views become length 0).
static Napi::Value freeBuffer(const Napi::CallbackInfo& info) {
  if (!info[0].IsArrayBuffer()) throw ArgError{"free: argument 0 must be an ArrayBuffer"};
  auto ab = info[0].As<Napi::ArrayBuffer>();
  void* p = ab.Data();
  auto it = live.find(p);
  if (it == live.end() || it->second->freed) {
    releaseMapped(ab);  // a memory-mapped weight (mapped.cc) is unmapped now; anything else: not ours, or already freed
    return info.Env().Undefined();
  }
  Block* b = it->second;
  b->freed = true;  // set before Detach: the finalizer may run during it and must not free twice
  live.erase(it);
  liveBytes -= b->bytes;
  rawFree(p, b->bytes);
  if (b->uncounted) recount(b);  // Detach subtracts it (see alloc)
  ab.Detach();
  return info.Env().Undefined();
}

static Napi::Value memoryStats(const Napi::CallbackInfo& info) {
  auto o = Napi::Object::New(info.Env());
  o.Set("liveBytes", (double)liveBytes);
  o.Set("peakBytes", (double)peakBytes);
  o.Set("poolBytes", (double)poolBytes);
  o.Set("liveBuffers", (double)live.size());
  o.Set("mappedBytes", (double)mappedTotal());
  return o;
}
// resetPeak(): the peak starts again from what is live now (the pool is kept: a timed pass after it reuses its
// blocks, as training's passes do, instead of page-faulting a fresh working set).
static Napi::Value resetPeak(const Napi::CallbackInfo& info) {
  peakBytes = liveBytes;
  return info.Env().Undefined();
}
static Napi::Value trimPool(const Napi::CallbackInfo& info) {
  for (auto& kv : pool) release(kv.second, kv.first);
  pool.clear();
  poolBytes = 0;
  peakBytes = liveBytes;
  return info.Env().Undefined();
}

// IEEE half → float (exact; handles subnormals, inf, nan).
static inline float halfToFloat(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
  if (exp == 0) {
    if (mant == 0) bits = sign;
    else {  // subnormal: normalise
      exp = 127 - 15 + 1;
      while (!(mant & 0x400)) { mant <<= 1; exp--; }
      mant &= 0x3ff;
      bits = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 31) bits = sign | 0x7f800000 | (mant << 13);
  else bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
// float → half, round to nearest even.
static inline uint16_t floatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  int32_t exp = (int32_t)((x >> 23) & 0xff) - 127 + 15;
  uint32_t mant = x & 0x7fffff;
  if (((x >> 23) & 0xff) == 0xff) return (uint16_t)(sign | 0x7c00 | (mant ? 0x200 : 0));
  if (exp >= 31) return (uint16_t)(sign | 0x7c00);
  if (exp <= 0) {
    if (exp < -10) return (uint16_t)sign;
    mant |= 0x800000;
    uint32_t shift = (uint32_t)(14 - exp);
    uint32_t half = mant >> shift, rem = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1))) half++;
    return (uint16_t)(sign | half);
  }
  uint32_t half = sign | ((uint32_t)exp << 10) | (mant >> 13), rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) half++;
  return (uint16_t)half;
}

static uint16_t* u16(const Napi::CallbackInfo& info, int i, const char* op, size_t* n) {
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint16_array)
    throw ArgError{argName(op, i) + " must be a Uint16Array"};
  auto a = info[i].As<Napi::Uint16Array>();
  *n = a.ElementLength();
  return a.Data();
}

// toF32(src Uint16Array, dst Float32Array, kind 'f16'|'bf16')
static Napi::Value toF32(const Napi::CallbackInfo& info) {
  size_t n;
  uint16_t* s = u16(info, 0, "toF32", &n);
  F32 d = f32(info, 1, "toF32");
  std::string kind = info[2].As<Napi::String>().Utf8Value();
  fits("toF32", "dst", d.n, 0, (int64_t)n);
  bool bf = kind == "bf16";
  if (!bf && kind != "f16") throw ArgError{"toF32: kind must be 'f16' or 'bf16', got '" + kind + "'"};
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < (int64_t)n; i++) {
    if (bf) {
      uint32_t bits = (uint32_t)s[i] << 16;
      std::memcpy(&d.p[i], &bits, 4);
    } else d.p[i] = halfToFloat(s[i]);
  }
  return info.Env().Undefined();
}
// fromF32(src Float32Array, dst Uint16Array, kind): round to nearest even.
static Napi::Value fromF32(const Napi::CallbackInfo& info) {
  F32 s = f32(info, 0, "fromF32");
  size_t n;
  uint16_t* d = u16(info, 1, "fromF32", &n);
  std::string kind = info[2].As<Napi::String>().Utf8Value();
  fits("fromF32", "dst", n, 0, (int64_t)s.n);
  bool bf = kind == "bf16";
  if (!bf && kind != "f16") throw ArgError{"fromF32: kind must be 'f16' or 'bf16', got '" + kind + "'"};
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < (int64_t)s.n; i++) {
    if (bf) {
      uint32_t x;
      std::memcpy(&x, &s.p[i], 4);
      if ((x & 0x7fffffff) > 0x7f800000) d[i] = (uint16_t)((x >> 16) | 0x40);  // keep NaN a NaN
      else d[i] = (uint16_t)((x + 0x7fff + ((x >> 16) & 1)) >> 16);
    } else d[i] = floatToHalf(s.p[i]);
  }
  return info.Env().Undefined();
}

void registerMemory(Napi::Env env, Napi::Object exports) {
  LIFT_EXPORT("alloc", alloc);
  LIFT_EXPORT("free", freeBuffer);
  LIFT_EXPORT("countExternal", countExternal);
  LIFT_EXPORT("recountAll", recountAll);
  LIFT_EXPORT("v8ExternalMemory", v8ExternalMemory);
  LIFT_EXPORT("memoryStats", memoryStats);
  LIFT_EXPORT("trimPool", trimPool);
  LIFT_EXPORT("resetPeak", resetPeak);
  LIFT_EXPORT("toF32", toF32);
  LIFT_EXPORT("fromF32", fromF32);
}

}  // namespace lift
