// Causal attention's shared pieces: the dimensions of one call, the query block, the softmax over a block's
// scores (attention.cc) and the bf16 units (attention-bf16.cc).
#pragma once
#include <cstdint>
#include <vector>

namespace lift {

static const int64_t BQ = 64;  // queries per work unit

struct Dims {
  int64_t T, Tk, NH, KVH, D, start;
  float scale;
  int64_t lseStride;  // row stride of lse [NH, ·]: T for one sequence, the packed total for a segment of a pack
};

// In place over S [bq, nk] (scores of queries i0 … i0+bq−1 of head h): P = softmax with the causal mask (masked
// entries 0); writes lseOut when given, else recomputes P from the saved lseIn.
void softmaxRows(const Dims& d, float* S, int64_t h, int64_t i0, int64_t bq, int64_t nk, float* lseOut, const float* lseIn);

// Decode-sized forward: T ≤ kDecodeQueries queries (rows start … start+T−1) against Tk cached keys, by direct dot
// products (attention.cc; native/decode.cc's whole-token loop calls it too).
static const int64_t kDecodeQueries = 4;
void decodeForward(const Dims& d, const float* q, const float* k, const float* v, float* out, float* lse);
// Heads h0 … h1−1 of decodeForward, on the calling thread (decode.cc's team splits the heads itself).
void decodeHeads(const Dims& d, const float* q, const float* k, const float* v, float* out, float* lse, int64_t h0, int64_t h1);

// One sequence's K and V for one KV head in the bf16 layouts the products read (attention-bf16.cc).
struct KV16 {
  int64_t keyPairs = 0;                      // ceil(Tk / 2): the "rows" layouts' strip height
  std::vector<uint32_t> kCols, vRows;        // forward: S = Q·Kᵀ, O = P·V
  std::vector<uint32_t> vCols, kRows;        // backward: dP = dO·Vᵀ, dQ = dS·K (and kCols for S)
};
// Per-thread scratch of the bf16 units.
struct Scratch16 {
  std::vector<float> tmp, S, dP, di;
  std::vector<uint16_t> qs, dOb, a, t;
  std::vector<uint32_t> pk;
};

void packKV16(const Dims& d, const float* k, const float* v, int64_t g, bool forward, KV16& kv);
void forwardUnitBf16(const Dims& d, const float* q, const KV16& kv, float* out, float* lse, int64_t h, int64_t i0, Scratch16& w);
// dK/dV accumulate transposed: aKT/aVT [KVH·D, accLd] (row g·D + e, column = key), already offset to the sequence's first key.
void backwardUnitBf16(const Dims& d, const float* dO, const float* q, const KV16& kv, const float* out, const float* lse, float* dq,
                      float* aKT, float* aVT, int64_t accLd, int64_t h, int64_t i0, Scratch16& w);
// dst[key, C] += Σ over nt threads' transposed accumulators [C, keys] (C = KVH·D).
void reduceTransposed(const std::vector<float>& acc, int nt, int64_t C, int64_t keys, float* dst);

}  // namespace lift
