// A team of threads that stays inside one parallel region for a whole decode token (decode.cc): steps of row
// chunks that the master publishes and every thread claims through one atomic word.
// Why: a token of a 135M model is ~150 products of 0.4–3.5 MB. Opened one parallel region each, every one woke the
// passive OpenMP threads (~35 µs each on these VMs, src/engine/native.ts sets the passive policy so that idle
// threads never steal a shared core), ~5 ms of a ~40 ms token, and 2 threads decoded at 0.91–1.03× llama.cpp
// where 1 thread was ahead. An OpenMP barrier inside one region sleeps in the kernel just the same under that
// policy. Here a waiting thread spins while the wait is short (a step's chunks: microseconds), then yields the core.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <immintrin.h>
#include <sched.h>
#include <vector>

namespace lift {

// Thread 0 (the master) runs the token: its serial parts (norms, RoPE, the cache rows, Gated Memory) and, for each
// step, publishes the step's chunks and claims them too; the other threads only claim chunks. Nothing waits at a
// barrier for a thread that holds no chunk: a thread the OS parked (cores shared with another process) is simply
// not there for the step, and the master waits only for chunks already claimed. (A first form with a barrier
// between steps ran 0.70–0.78× the team-less token with one busy process on the two cores: every barrier waited
// for the parked thread's next time slice.)
// One 64-bit word holds the step number (high half) and its next unclaimed chunk (low half), so a claim is one
// compare-and-swap that fails once the master has moved on to another step. The step's chunk function and count
// sit in one of two slots by step parity; a thread that read a slot of a later step than it claims in fails its
// claim, and a claim below the count means the step is not done, so the master has not rewritten its slot.
class Team {
 public:
  // Master: fn(c) for every c < total, over the team; returns when all are done.
  template <class Fn>
  void step(int64_t total, Fn& fn) {
    const uint64_t s = (word_.load(std::memory_order_relaxed) >> 32) + 1;
    Slot& sl = slots_[s & 1];
    sl.ctx.store(&fn, std::memory_order_relaxed);
    sl.call.store([](void* p, int64_t c) { (*(Fn*)p)(c); }, std::memory_order_relaxed);
    sl.total.store(total, std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    word_.store(s << 32, std::memory_order_release);
    claim(s);
    for (int spins = 0; done_.load(std::memory_order_acquire) < total; spins++) pause(spins);
  }
  // Other threads: claim chunks of each published step until the master calls finish().
  void work() {
    uint64_t seen = 0;
    for (int spins = 0;;) {
      const uint64_t s = word_.load(std::memory_order_acquire) >> 32;
      if (s == kStop) return;
      if (s != seen) {
        claim(s);
        seen = s, spins = 0;
      } else {
        pause(spins++);
      }
    }
  }
  void finish() { word_.store(kStop << 32, std::memory_order_release); }

 private:
  static constexpr uint64_t kStop = 0xffffffffu;
  struct Slot {
    std::atomic<void*> ctx{nullptr};
    std::atomic<void (*)(void*, int64_t)> call{nullptr};
    std::atomic<int64_t> total{0};
  };
  void claim(uint64_t s) {
    const Slot& sl = slots_[s & 1];
    const int64_t total = sl.total.load(std::memory_order_relaxed);
    void* ctx = sl.ctx.load(std::memory_order_relaxed);
    auto call = sl.call.load(std::memory_order_relaxed);
    uint64_t w = word_.load(std::memory_order_acquire);
    while ((w >> 32) == s && (int64_t)(w & 0xffffffffu) < total) {
      if (!word_.compare_exchange_weak(w, w + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
      call(ctx, (int64_t)(w & 0xffffffffu));
      done_.fetch_add(1, std::memory_order_release);
      w = word_.load(std::memory_order_acquire);
    }
  }
  // Spins while the wait is likely short (a step's chunks take tens of µs), then yields the core to whoever needs it.
  // 200 pauses (~5–15 µs) measured as good as 2000 idle and a little better with a busy process on the cores.
  static void pause(int spins) {
    if (spins < 200) _mm_pause();
    else sched_yield();
  }
  alignas(64) std::atomic<uint64_t> word_{0};
  alignas(64) std::atomic<int64_t> done_{0};
  Slot slots_[2];
};

// Rows [o0, o1) of product `item` of a step.
struct Chunk {
  int item;
  int64_t o0, o1;
};

// The chunks of one step over products with out[i] rows each: ~8 chunks a thread (a parked thread holds up one
// small chunk, not a share of the step; 8 measured a little better than 4 under contention, the same idle) and
// ≥ 32 rows a chunk (a row of a 576-wide f32 weight is 2.3 KB; a claim is one compare-and-swap).
inline std::vector<Chunk> chunkPlan(const std::vector<int64_t>& out, int threads) {
  int64_t total = 0;
  for (int64_t o : out) total += o;
  const int64_t rows = std::max<int64_t>(32, total / (8 * (int64_t)threads));
  std::vector<Chunk> plan;
  for (size_t i = 0; i < out.size(); i++)
    for (int64_t o = 0; o < out[i]; o += rows) plan.push_back({(int)i, o, std::min(out[i], o + rows)});
  return plan;
}

}  // namespace lift
