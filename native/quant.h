// ggml's block formats (ggml-common.h), shared by the quantized kernels (quant.cc) and the formulas that
// read and write them (quant-formats.cc). A row of `cols` values is cols / block consecutive blocks; a
// [rows, cols] weight is rows such rows back to back, exactly as a GGUF file stores it.
#pragma once
#include <cstdint>
#include <cstring>
#include <immintrin.h>

namespace lift {

// ggml_type ids (the numbers in a GGUF tensor info).
enum QType : int {
  QT_F32 = 0, QT_F16 = 1, QT_Q4_0 = 2, QT_Q4_1 = 3, QT_Q5_0 = 6, QT_Q5_1 = 7, QT_Q8_0 = 8,
  QT_Q2_K = 10, QT_Q3_K = 11, QT_Q4_K = 12, QT_Q5_K = 13, QT_Q6_K = 14, QT_BF16 = 30,
};

struct QLayout {
  int block;  // values per block
  int bytes;  // bytes per block
};

// Block sizes: 32-value blocks (Q4_0 = f16 d + 16 nibble bytes, …) and 256-value K-quant super-blocks.
inline QLayout qlayout(int type) {
  switch (type) {
    case QT_F32: return {1, 4};
    case QT_F16: case QT_BF16: return {1, 2};
    case QT_Q4_0: return {32, 18};   // d, qs[16]
    case QT_Q4_1: return {32, 20};   // d, m, qs[16]
    case QT_Q5_0: return {32, 22};   // d, qh[4], qs[16]
    case QT_Q5_1: return {32, 24};   // d, m, qh[4], qs[16]
    case QT_Q8_0: return {32, 34};   // d, qs[32] int8
    case QT_Q2_K: return {256, 84};  // scales[16], qs[64], d, dmin
    case QT_Q3_K: return {256, 110}; // hmask[32], qs[64], scales[12], d
    case QT_Q4_K: return {256, 144}; // d, dmin, scales[12], qs[128]
    case QT_Q5_K: return {256, 176}; // d, dmin, scales[12], qh[32], qs[128]
    case QT_Q6_K: return {256, 210}; // ql[128], qh[64], scales[16] int8, d
    default: return {0, 0};
  }
}

inline float h2f(uint16_t h) { return _cvtsh_ss(h); }
inline uint16_t f2h(float f) { return _cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT); }
inline uint16_t rd16(const uint8_t* p) { uint16_t v; std::memcpy(&v, p, 2); return v; }

// Dequantizes `nblocks` consecutive blocks of `type` starting at `src` into nblocks·block floats.
void dequantBlocks(int type, const uint8_t* src, float* dst, int64_t nblocks);
// The same through the scalar reference loops (tests compare the two), and the AVX-512 paths (false: no fast path).
void dequantBlocksRef(int type, const uint8_t* src, float* dst, int64_t nblocks);
bool dequantBlocksFast(int type, const uint8_t* src, float* dst, int64_t nblocks);
// Quantizes n values (a multiple of the block size) with ggml's reference formulas (quantize_row_*_ref).
// Returns false for a type that has no quantizer here.
bool quantizeRow(int type, const float* src, uint8_t* dst, int64_t n);

}  // namespace lift
