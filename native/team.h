// A team of threads that stays inside one parallel region for a whole decode token (decode.cc): a spinning barrier
// between its steps and row chunks handed out through an atomic counter.
// Why: a token of a 135M model is ~150 products of 0.4–3.5 MB. Opened one parallel region each, every one woke the
// passive OpenMP threads (~35 µs each on these VMs, src/engine/native.ts sets the passive policy so that idle
// threads never steal a shared core), ~5 ms of a ~40 ms token, and 2 threads decoded at 0.91–1.03× llama.cpp
// where 1 thread was ahead. An OpenMP barrier inside one region sleeps in the kernel just the same under that
// policy, hence this barrier: it spins only while the other threads finish their share of a step (microseconds),
// then yields the core, so a thread that the OS parked (cores shared with another process) is waited for without
// taking its core.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <immintrin.h>
#include <sched.h>
#include <vector>

namespace lift {

class SpinBarrier {
 public:
  explicit SpinBarrier(int n) : n_(n) {}
  int size() const { return n_; }
  void wait() {
    if (n_ <= 1) return;
    const unsigned ph = phase_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) == n_ - 1) {
      arrived_.store(0, std::memory_order_relaxed);
      phase_.store(ph + 1, std::memory_order_release);
      return;
    }
    // ~4000 pauses are 0.1–0.5 ms: far longer than a step's imbalance, far shorter than an OS time slice.
    for (int spins = 0; phase_.load(std::memory_order_acquire) == ph; spins++) {
      if (spins < 4000) _mm_pause();
      else sched_yield();
    }
  }

 private:
  alignas(64) std::atomic<int> arrived_{0};
  alignas(64) std::atomic<unsigned> phase_{0};
  int n_;
};

// Rows [o0, o1) of product `item` of a step.
struct Chunk {
  int item;
  int64_t o0, o1;
};

// The chunks of one step over products with out[i] rows each: ≥ 4 chunks a thread (a parked thread delays one
// chunk, not a fixed share) and ≥ 64 rows a chunk (one row of a 576-wide f32 weight is 2.3 KB: less is overhead).
inline std::vector<Chunk> chunkPlan(const std::vector<int64_t>& out, int threads) {
  int64_t total = 0;
  for (int64_t o : out) total += o;
  const int64_t rows = std::max<int64_t>(64, total / (4 * (int64_t)threads));
  std::vector<Chunk> plan;
  for (size_t i = 0; i < out.size(); i++)
    for (int64_t o = 0; o < out[i]; o += rows) plan.push_back({(int)i, o, std::min(out[i], o + rows)});
  return plan;
}

}  // namespace lift
