// One decode token through the whole Llama decoder in one call:
//   decodeStep(weights[], types Int32, dims Float64, invFreq F32, keys F32[], values F32[], token, pos, logits F32
//              [, loraTensors F32[], loraMeta Float64[, memory (F32|null)[], memoryDims Float64, gates F32]])
// embedding → per layer: RMSNorm, q/k/v (+ biases), RoPE, the KV cache rows at `pos`, attention over rows 0…pos,
// o_proj + residual, RMSNorm, gate/up, SwiGLU, down + residual → final RMSNorm → lm_head → logits [V].
// Why: the same token through LlamaModel.forward is ~20 ops a layer, each a tensor allocation, an N-API call and
// a free (545 tensors a SmolLM2-135M token; on Zen 3 with one thread ~3 ms of alloc/free and ~3 ms of JS in a
// ~42 ms token, which kept decode at 0.93–1.0× llama.cpp). Here the intermediates live in a per-thread scratch
// reused token after token and the loop is C++.
// Same kernels as the op-by-op path, called in the same order with the same arguments (matvec.cc, quant-dot.cc,
// quant.cc, attention.cc's decodeForward, kernels.h's rows), so the logits are bitwise those of
// LlamaModel.forward (test/model/native-decode.test.ts). src/model/llama.ts takes this path for a one-token
// forward with a KV cache and no adapter, LoRA or Gated Memory; anything else (other adapter hooks, hooks, a tape
// recording a gradient) runs op by op.
// Threads: with more than one and a layer of ≥ 1 MiB of weights, the token runs in one parallel region as a team
// (team.h: the calling thread does the serial parts and publishes each product's row chunks, every thread claims
// them); returns the team's size (1: none). The chunks run the same row kernels, so the bits do not change.
//
// weights (a Float32Array for f32, a Uint8Array of the raw bytes otherwise; null for an absent bias):
//   [embed [V,C], norm [C], lm_head [V,C], then per layer (13): input_layernorm [C], post_attention_layernorm [C],
//    q [NH·D,C], k [KVH·D,C], v [KVH·D,C], o [C,NH·D], q/k/v/o biases or null, gate [I,C], up [I,C], down [C,I]]
// types: the ggml type id of each weight (0 f32, 1 f16, 30 bf16, 2…14 blocks), −1 for null; 130 for a bf16 weight
// the loader marked for the AVX-512 BF16 units (--compute bf16): its product is gemm-bf16.cc's, as bf16Matmul's.
// dims: [C, NH, KVH, D, I, V, layers, rms_norm_eps, interleaved RoPE (1) or rotate-half (0)]
// keys/values: per layer the cache's [capacity, KVH·D] rows; row `pos` is written, rows 0…pos read.
// LoRA terms (optional; a LoRA adapter, or several combined): loraTensors [A₀, B₀, A₁, B₁, …] with A [r, in] and
// B [out, r] as PEFT stores them, loraMeta [layer, projection, r, scale] per term (projection 0…7: q, k, v, o,
// gate, up, down, lm_head with layer −1). Each adds scale·B·(A·x) to its projection's output after the bias, in
// list order, as LoraAdapter.project does; through lora.cc's rowsDot twice (A·x, then B·u) rather than the
// training op's Bᵀ layout, so equal to the op-by-op path to float rounding, not bitwise.
// Gated Memory (optional; LIFT §4, src/adapters/gated-memory.ts): memory holds per layer 8 entries, [mem_in.w,
// mem_in.b, mem_out.w, mem_out.b, gate_in.w, gate_in.b, gate_out.w, gate_out.b] (null for an absent bias);
// memoryDims [layer-wide first maps (1) or per head (0), K memory width, G gate width, gate scale, gate shift].
// Between attention and o_proj each head's output becomes (1 − g)·attn + g·m from the pre-RoPE query, through
// the kernels attnOut's ops call (gemmBatchedRun for the per-head maps, matvec for layer-wide ones, the SiLU,
// sigmoid and mix rows), so bitwise the op-by-op path's; the token's gates [layers, H] are written to `gates`.
#include "common.h"
#include "attention.h"
#include "bf16.h"
#include "kernels.h"
#include "quant.h"
#include "quant-dot.h"
#include "team.h"
#include <string>
#include <tuple>
#include <vector>

namespace lift {

static const int kPerLayer = 13;
static const int kBf16Units = 100 + QT_BF16;

struct Weight {
  const void* p = nullptr;
  int type = -1;
};

// Checks one entry of `weights` (type, element count or bytes for rows × cols) and returns it.
static Weight weightAt(Napi::Array ws, const int32_t* types, uint32_t i, int64_t rows, int64_t cols, bool optional, const char* op) {
  Napi::Value v = ws.Get(i);
  const int type = types[i];
  const std::string name = std::string(op) + ": weight " + std::to_string(i);
  if (v.IsNull() || v.IsUndefined()) {
    if (!optional) throw ArgError{name + " is missing"};
    if (type != -1) throw ArgError{name + " is null but its type is " + std::to_string(type)};
    return {};
  }
  if (!v.IsTypedArray()) throw ArgError{name + " must be a Float32Array or a Uint8Array"};
  auto ta = v.As<Napi::TypedArray>();
  if (type == kBf16Units && !bf16Usable()) throw ArgError{name + " is marked for the bf16 units, which this CPU lacks (or LIFT_CPU_FEATURES hides)"};
  if (type == QT_F32) {
    if (ta.TypedArrayType() != napi_float32_array) throw ArgError{name + " has type 0 (f32) and must be a Float32Array"};
    if ((int64_t)ta.ElementLength() < rows * cols)
      throw ArgError{name + " holds " + std::to_string(ta.ElementLength()) + " values, expected " + std::to_string(rows * cols)};
    return {v.As<Napi::Float32Array>().Data(), type};
  }
  const QLayout L = qlayout(type == kBf16Units ? QT_BF16 : type);
  if (L.block == 0) throw ArgError{name + ": unknown ggml type " + std::to_string(type)};
  if (optional) throw ArgError{name + " (a bias) must be f32"};
  if (ta.TypedArrayType() != napi_uint8_array) throw ArgError{name + " has ggml type " + std::to_string(type) + " and must be a Uint8Array"};
  if (cols % L.block != 0) throw ArgError{name + ": rows of " + std::to_string(cols) + " values are not whole " + std::to_string(L.block) + "-value blocks"};
  if ((int64_t)ta.ElementLength() < rows * (cols / L.block) * L.bytes)
    throw ArgError{name + " holds " + std::to_string(ta.ElementLength()) + " bytes, expected " + std::to_string(rows * (cols / L.block) * L.bytes)};
  return {v.As<Napi::Uint8Array>().Data(), type};
}

struct LoraTerm {
  const float *A, *B;
  int64_t r;
  float scale;
};
using Terms = std::vector<LoraTerm>;
enum Proj { P_Q, P_K, P_V, P_O, P_GATE, P_UP, P_DOWN, P_HEAD, kProjs };

struct Layer {
  const float *inNorm, *postNorm;
  Weight q, k, v, o, qb, kb, vb, ob, gate, up, down;
  Terms lora[kProjs];
};

// One projection of the token: y[O] = W[O,I] · x[I] (+ b) (+ each LoRA term's scale·B·(A·x)).
struct Product {
  Weight w, b;
  const Terms* lora;
  const float* x;
  float* y;
  int64_t I, O;
};
// What a product needs before its rows run: the quantized activation (integer dot products, split rows only) and
// each LoRA term's u[r] = A·x.
struct Prepared {
  QAct act;
  QDotRows rows = nullptr;
  std::vector<std::vector<float>> u;
};

static int64_t rowBytesOf(const Weight& w, int64_t I) {
  if (w.type == QT_F32) return I * 4;
  const QLayout L = qlayout(w.type == kBf16Units ? QT_BF16 : w.type);
  return I / L.block * L.bytes;
}

static void prepare(const Product& P, Prepared& S, bool split) {
  S.rows = nullptr;
  if (split && P.w.type != kBf16Units && P.w.type != QT_F32 && P.w.type != QT_F16 && P.w.type != QT_BF16 && qDotAvailable(P.w.type))
    S.rows = qDotPrepare(P.x, 1, P.I, P.w.type, S.act);
  S.u.resize(P.lora->size());
  for (size_t t = 0; t < P.lora->size(); t++) {
    const LoraTerm& L = (*P.lora)[t];
    S.u[t].resize((size_t)L.r);
    rowsDot(P.x, 1, P.I, L.A, L.r, S.u[t].data(), 1.f);  // u[r] = A·x
  }
}

// The whole base product through the kernel LlamaModel.forward's linear()/quantLinear() picks for one row (each
// splits its rows over threads itself when the weight is large).
static void baseWhole(const Product& P, QAct& act) {
  const Weight& w = P.w;
  if (w.type == kBf16Units) bf16GemvRun(P.x, 1, P.I, (const uint16_t*)w.p, P.O, P.y);
  else if (w.type == QT_F32 || w.type == QT_F16 || w.type == QT_BF16) matvecRun(P.x, 1, P.I, w.p, w.type, P.O, P.y, true);
  else if (qDotAvailable(w.type)) qDotRun(P.x, 1, P.I, (const uint8_t*)w.p, w.type, P.O, P.y, act);
  else qMatmulRun(w.type, (const uint8_t*)w.p, P.x, P.y, 1, P.I, P.O);
}

// Rows [o0, o1) of the same products on this thread: each kernel's rows are computed alike whatever the range.
static void baseRows(const Product& P, const Prepared& S, int64_t o0, int64_t o1) {
  const Weight& w = P.w;
  const int64_t rb = rowBytesOf(w, P.I);
  if (w.type == kBf16Units) bf16GemvRun(P.x, 1, P.I, (const uint16_t*)w.p + o0 * P.I, o1 - o0, P.y + o0);
  else if (w.type == QT_F32 || w.type == QT_F16 || w.type == QT_BF16) matvecRowsRun(P.x, 1, P.I, w.p, w.type, o0, o1, P.y, P.O);
  else if (S.rows) S.rows(S.act, (const uint8_t*)w.p, rb, o0, o1, P.y, P.O);
  else qMatmulRun(w.type, (const uint8_t*)w.p + o0 * rb, P.x, P.y + o0, 1, P.I, o1 - o0);
}

// Rows [o0, o1): + bias, then each LoRA term's delta d = scale·B·u (B's rows against u) in list order, as
// LoraAdapter.project adds them.
static void tailRows(const Product& P, const Prepared& S, int64_t o0, int64_t o1) {
  if (P.b.p) {
    const float* bp = (const float*)P.b.p;
    for (int64_t o = o0; o < o1; o++) P.y[o] += bp[o];
  }
  thread_local std::vector<float> d;
  for (size_t t = 0; t < P.lora->size(); t++) {
    const LoraTerm& L = (*P.lora)[t];
    d.resize((size_t)(o1 - o0));
    rowsDot(L.B + o0 * L.r, o1 - o0, L.r, S.u[t].data(), 1, d.data(), L.scale);
    for (int64_t o = o0; o < o1; o++) P.y[o] = P.y[o] + d[(size_t)(o - o0)];
  }
}

static Napi::Value decodeStep(const Napi::CallbackInfo& info) {
  const char* op = "decodeStep";
  if (!info[0].IsArray()) throw ArgError{argName(op, 0) + " must be an array of weights"};
  Napi::Array ws = info[0].As<Napi::Array>();
  I32 types = i32(info, 1, op);
  if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    throw ArgError{argName(op, 2) + " must be a Float64Array of dims"};
  auto dimsArr = info[2].As<Napi::Float64Array>();
  if (dimsArr.ElementLength() != 9) throw ArgError{std::string(op) + ": dims must hold 9 numbers"};
  const double* dm = dimsArr.Data();
  const int64_t C = (int64_t)dm[0], NH = (int64_t)dm[1], KVH = (int64_t)dm[2], D = (int64_t)dm[3], I = (int64_t)dm[4],
                V = (int64_t)dm[5], NL = (int64_t)dm[6];
  const double eps = dm[7];
  const bool interleaved = dm[8] != 0;
  positive(op, "hidden size", C); positive(op, "heads", NH); positive(op, "kv heads", KVH); positive(op, "head dim", D);
  positive(op, "intermediate size", I); positive(op, "vocabulary", V); positive(op, "layers", NL);
  if (NH % KVH != 0) throw ArgError{std::string(op) + ": heads must be a multiple of kv heads"};
  F32 inv = f32(info, 3, op);
  const int64_t half = (int64_t)inv.n;
  if (2 * half > D) throw ArgError{std::string(op) + ": invFreq is longer than head dim / 2"};
  if (!info[4].IsArray() || !info[5].IsArray()) throw ArgError{std::string(op) + ": keys and values must be arrays of Float32Array"};
  Napi::Array ka = info[4].As<Napi::Array>(), va = info[5].As<Napi::Array>();
  const int64_t token = integer(info, 6, op), pos = integer(info, 7, op);
  F32 logits = f32(info, 8, op);
  const uint32_t nw = 3 + (uint32_t)NL * kPerLayer;
  if (ws.Length() != nw || types.n != nw) throw ArgError{std::string(op) + ": expected " + std::to_string(nw) + " weights and types"};
  if (ka.Length() != (uint32_t)NL || va.Length() != (uint32_t)NL) throw ArgError{std::string(op) + ": expected a key and a value cache per layer"};
  if (token < 0 || token >= V) throw ArgError{std::string(op) + ": token id " + std::to_string(token) + " is outside the vocabulary [0, " + std::to_string(V) + ")"};
  nonneg(op, "pos", pos);
  fits(op, "logits", logits.n, 0, V);
  // info[14], optional: at most this many threads for this token (0 or absent: the engine's). 1 runs every product
  // on the calling thread: beside a busy process that is faster than a team that waits for a descheduled thread
  // (src/model/decode-threads.ts chooses by measured token time).
  const bool capped = info.Length() > 14 && !info[14].IsUndefined() && !info[14].IsNull();
  const int64_t cap = capped ? integer(info, 14, op) : 0;
  nonneg(op, "threads", cap);
  const int64_t QD = NH * D, KD = KVH * D;

  const Weight embed = weightAt(ws, types.p, 0, V, C, false, op), head = weightAt(ws, types.p, 2, V, C, false, op);
  const Weight norm = weightAt(ws, types.p, 1, 1, C, false, op);
  if (norm.type != QT_F32) throw ArgError{std::string(op) + ": the final norm must be f32"};
  std::vector<Layer> layers((size_t)NL);
  std::vector<float*> kc((size_t)NL), vc((size_t)NL);
  for (int64_t l = 0; l < NL; l++) {
    const uint32_t b = 3 + (uint32_t)l * kPerLayer;
    Layer& L = layers[(size_t)l];
    Weight n1 = weightAt(ws, types.p, b, 1, C, false, op), n2 = weightAt(ws, types.p, b + 1, 1, C, false, op);
    if (n1.type != QT_F32 || n2.type != QT_F32) throw ArgError{std::string(op) + ": layer norms must be f32"};
    L.inNorm = (const float*)n1.p, L.postNorm = (const float*)n2.p;
    L.q = weightAt(ws, types.p, b + 2, QD, C, false, op), L.k = weightAt(ws, types.p, b + 3, KD, C, false, op);
    L.v = weightAt(ws, types.p, b + 4, KD, C, false, op), L.o = weightAt(ws, types.p, b + 5, C, QD, false, op);
    L.qb = weightAt(ws, types.p, b + 6, 1, QD, true, op), L.kb = weightAt(ws, types.p, b + 7, 1, KD, true, op);
    L.vb = weightAt(ws, types.p, b + 8, 1, KD, true, op), L.ob = weightAt(ws, types.p, b + 9, 1, C, true, op);
    L.gate = weightAt(ws, types.p, b + 10, I, C, false, op), L.up = weightAt(ws, types.p, b + 11, I, C, false, op);
    L.down = weightAt(ws, types.p, b + 12, C, I, false, op);
    for (auto [arr, dst, what] : {std::tuple{ka, &kc, "key"}, std::tuple{va, &vc, "value"}}) {
      Napi::Value c = arr.Get((uint32_t)l);
      if (!c.IsTypedArray() || c.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
        throw ArgError{std::string(op) + ": the " + what + " cache of layer " + std::to_string(l) + " must be a Float32Array"};
      auto f = c.As<Napi::Float32Array>();
      if ((int64_t)f.ElementLength() < (pos + 1) * KD)
        throw ArgError{std::string(op) + ": the " + what + " cache of layer " + std::to_string(l) + " has no row " + std::to_string(pos)};
      (*dst)[(size_t)l] = f.Data();
    }
  }

  // Scratch [x C | h C | q QD | k KD | v KD | a QD | t C | g I | u I | lse NH], kept across tokens.
  thread_local std::vector<float> buf;
  buf.resize((size_t)(4 * C + 2 * QD + 2 * KD + 2 * I + NH));
  float *x = buf.data(), *h = x + C, *q = h + C, *k = q + QD, *v = k + KD, *a = v + KD, *t = a + QD, *g = t + C, *u = g + I, *lse = u + I;

  // Embedding row (a quantized table dequantizes its row, as quantEmbedding does).
  if (embed.type == QT_F32) std::copy((const float*)embed.p + token * C, (const float*)embed.p + (token + 1) * C, x);
  else {
    const int et = embed.type == kBf16Units ? QT_BF16 : embed.type;  // (a table marked for the units is bf16 storage)
    const QLayout L = qlayout(et);
    dequantBlocks(et, (const uint8_t*)embed.p + token * (C / L.block) * L.bytes, x, C / L.block);
  }
  // cos/sin at this position, computed as rope.cc's table computes them.
  thread_local std::vector<float> cs, sn;
  cs.resize((size_t)half), sn.resize((size_t)half);
  for (int64_t j = 0; j < half; j++) {
    const float ang = (float)pos * inv.p[j];
    cs[(size_t)j] = std::cos(ang), sn[(size_t)j] = std::sin(ang);
  }
  // LoRA terms, by layer and projection (the head's under the last entry).
  Terms headLora;
  if (info.Length() > 9 && !info[9].IsUndefined() && !info[9].IsNull()) {
    if (!info[9].IsArray()) throw ArgError{argName(op, 9) + " must be an array of Float32Array (LoRA A and B)"};
    Napi::Array lt = info[9].As<Napi::Array>();
    if (!info[10].IsTypedArray() || info[10].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
      throw ArgError{argName(op, 10) + " must be a Float64Array (LoRA layer, projection, r, scale per term)"};
    auto meta = info[10].As<Napi::Float64Array>();
    const size_t n = meta.ElementLength() / 4;
    if (meta.ElementLength() % 4 != 0 || lt.Length() != 2 * n) throw ArgError{std::string(op) + ": LoRA terms need 2 tensors and 4 numbers each"};
    const int64_t in[kProjs] = {C, C, C, QD, C, C, I, C}, out[kProjs] = {QD, KD, KD, C, I, I, C, V};
    for (size_t i = 0; i < n; i++) {
      const double* m = meta.Data() + 4 * i;
      const int64_t l = (int64_t)m[0], p = (int64_t)m[1], r = (int64_t)m[2];
      const std::string term = std::string(op) + ": LoRA term " + std::to_string(i);
      if (p < 0 || p >= kProjs || (p == P_HEAD ? l != -1 : (l < 0 || l >= NL)) || r < 1) throw ArgError{term + ": bad layer, projection or rank"};
      const float* AB[2];
      for (int j = 0; j < 2; j++) {
        Napi::Value v = lt.Get((uint32_t)(2 * i + j));
        if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) throw ArgError{term + ": A and B must be Float32Array"};
        auto f = v.As<Napi::Float32Array>();
        if ((int64_t)f.ElementLength() != r * (j == 0 ? in[p] : out[p]))
          throw ArgError{term + (j == 0 ? ": A" : ": B") + " holds " + std::to_string(f.ElementLength()) + " values, expected " + std::to_string(r * (j == 0 ? in[p] : out[p]))};
        AB[j] = f.Data();
      }
      (p == P_HEAD ? headLora : layers[(size_t)l].lora[p]).push_back({AB[0], AB[1], r, (float)m[3]});
    }
  }
  // Gated Memory maps, by layer (absent: no memory).
  struct Memory {
    const float *w[4], *b[4];  // mem_in, mem_out, gate_in, gate_out
  };
  std::vector<Memory> memory;
  bool layerWide = false;
  int64_t MK = 0, MG = 0;
  float gateScale = 0, gateShift = 0;
  float* gatesOut = nullptr;
  if (info.Length() > 11 && !info[11].IsUndefined() && !info[11].IsNull()) {
    if (!info[11].IsArray()) throw ArgError{argName(op, 11) + " must be an array (Gated Memory maps)"};
    if (!info[12].IsTypedArray() || info[12].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array || info[12].As<Napi::Float64Array>().ElementLength() != 5)
      throw ArgError{argName(op, 12) + " must be a Float64Array of 5 Gated Memory dims"};
    const double* md = info[12].As<Napi::Float64Array>().Data();
    layerWide = md[0] != 0, MK = (int64_t)md[1], MG = (int64_t)md[2], gateScale = (float)md[3], gateShift = (float)md[4];
    positive(op, "memory width", MK); positive(op, "gate width", MG);
    F32 gs = f32(info, 13, op);
    fits(op, "gates", gs.n, 0, NL * NH);
    gatesOut = gs.p;
    Napi::Array ma = info[11].As<Napi::Array>();
    if (ma.Length() != (uint32_t)(8 * NL)) throw ArgError{std::string(op) + ": Gated Memory needs 8 entries per layer"};
    // Sizes of each map's weight and bias: a layer-wide first map is [NH·out, NH·D], a per-head one [NH, D, out].
    const int64_t wsz[4] = {layerWide ? NH * MK * QD : NH * D * MK, NH * MK * D, layerWide ? NH * MG * QD : NH * D * MG, NH * MG};
    const int64_t bsz[4] = {NH * MK, NH * D, NH * MG, NH};
    memory.resize((size_t)NL);
    for (int64_t l = 0; l < NL; l++)
      for (int j = 0; j < 4; j++) {
        for (int isB = 0; isB < 2; isB++) {
          Napi::Value v = ma.Get((uint32_t)(8 * l + 2 * j + isB));
          const std::string what = std::string(op) + ": Gated Memory layer " + std::to_string(l) + " map " + std::to_string(j) + (isB ? " bias" : " weight");
          const float* p = nullptr;
          if (!(isB && (v.IsNull() || v.IsUndefined()))) {
            if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) throw ArgError{what + " must be a Float32Array"};
            auto f = v.As<Napi::Float32Array>();
            if ((int64_t)f.ElementLength() != (isB ? bsz[j] : wsz[j]))
              throw ArgError{what + " holds " + std::to_string(f.ElementLength()) + " values, expected " + std::to_string(isB ? bsz[j] : wsz[j])};
            p = f.Data();
          }
          (isB ? memory[(size_t)l].b[j] : memory[(size_t)l].w[j]) = p;
        }
      }
  }
  // Gated Memory scratch: the pre-RoPE query, memory hidden [NH·K] and output [NH·D], gate hidden [NH·G], gate [NH].
  thread_local std::vector<float> qpre, mh, mm, gh, gs, gg;
  if (!memory.empty()) qpre.resize((size_t)QD), mh.resize((size_t)(NH * MK)), mm.resize((size_t)QD), gh.resize((size_t)(NH * MG)), gs.resize((size_t)NH), gg.resize((size_t)NH);
  // y[H·out] = first map of x: layer-wide (one f32 linear, matvec as linear() picks) or per head (headLinear).
  auto firstMap = [&](const float* w, const float* b, int64_t out, float* y) {
    if (layerWide) matvecRun(qpre.data(), 1, QD, w, QT_F32, NH * out, y, true);
    else gemmBatchedRun(false, false, 1, out, D, 1.f, qpre.data(), QD, D, w, out, D * out, 0.f, y, NH * out, out, NH);
    if (b) for (int64_t n = 0; n < NH * out; n++) y[n] += b[n];
  };
  // y[H·out] = per-head map of x [H·in] (headLinear: W [H, in, out]).
  auto headMap = [&](const float* x, int64_t in, const float* w, const float* b, int64_t out, float* y) {
    gemmBatchedRun(false, false, 1, out, in, 1.f, x, NH * in, in, w, out, in * out, 0.f, y, NH * out, out, NH);
    if (b) for (int64_t n = 0; n < NH * out; n++) y[n] += b[n];
  };
  const Dims ad{1, pos + 1, NH, KVH, D, pos, (float)(1.0 / std::sqrt((double)D)), 1};

  // The team (team.h): every thread of the token in one parallel region when a layer holds ≥ 1 MiB of weights
  // (below that, one thread reads a layer faster than the hand-offs cost); LIFT_DECODE_TEAM=0 turns it off
  // (bench generate measures both). One thread, or no team: the step's products whole, each kernel splitting its
  // own rows as the op-by-op path does. Either way each row is computed alike, so the logits are the same bits.
  const Layer& L0 = layers[0];
  int64_t layerBytes = 0;
  for (auto [w, rows, cols] : {std::tuple{&L0.q, QD, C}, {&L0.k, KD, C}, {&L0.v, KD, C}, {&L0.o, C, QD}, {&L0.gate, I, C}, {&L0.up, I, C}, {&L0.down, C, I}})
    layerBytes += rows * rowBytesOf(*w, cols);
  // The cap holds for the token's kernels too (their parallel regions read the calling thread's count).
  struct ThreadCap {
    int was;
    explicit ThreadCap(int64_t cap) : was(omp_get_max_threads()) { if (cap > 0 && cap < was) omp_set_num_threads((int)cap); }
    ~ThreadCap() { omp_set_num_threads(was); }
  } threadCap(cap);
  const char* teamEnv = std::getenv("LIFT_DECODE_TEAM");  // "0" never, "1" whatever the size (tests), unset: by size
  const std::string teamSet = teamEnv ? teamEnv : "";
  const bool teamOn = teamSet == "1" || (teamSet != "0" && layerBytes >= kDecodeParallelBytesAvx2);
  const int want = omp_in_parallel() || !teamOn ? 1 : omp_get_max_threads();
  const bool split = want > 1;
  // Row chunks of each step: q/k/v, o, gate/up, down, lm_head.
  std::vector<Chunk> planQKV, planO, planGU, planDown, planHead;
  if (split) {
    planQKV = chunkPlan({QD, KD, KD}, want), planO = chunkPlan({C}, want), planGU = chunkPlan({I, I}, want);
    planDown = chunkPlan({C}, want), planHead = chunkPlan({V}, want);
  }
  // (A thread_local named inside the region would be each thread's own: the team reaches these through pointers.)
  thread_local Prepared prepStore[3];
  Prepared* prep = prepStore;
  Product prods[3];
  Team* team = nullptr;  // set while the token runs as a team

  // A step's products (set up by the master, then run): whole (no team), or as the team's chunks.
  auto runStep = [&](std::initializer_list<Product> ps, const std::vector<Chunk>& plan) {
    int np = 0;
    for (const Product& P : ps) prods[np] = P, prepare(P, prep[np], split), np++;
    if (!team) {
      for (int i = 0; i < np; i++) baseWhole(prods[i], prep[i].act), tailRows(prods[i], prep[i], 0, prods[i].O);
      return;
    }
    auto chunk = [&](int64_t c) {
      const Chunk& k = plan[(size_t)c];
      baseRows(prods[k.item], prep[k.item], k.o0, k.o1);
      tailRows(prods[k.item], prep[k.item], k.o0, k.o1);
    };
    team->step((int64_t)plan.size(), chunk);
  };

  // The token, run by the master (the calling thread).
  auto runToken = [&]() {
    for (int64_t l = 0; l < NL; l++) {
      const Layer& L = layers[(size_t)l];
      rmsnormRow(x, L.inNorm, h, C, eps);
      runStep({{L.q, L.qb, &L.lora[P_Q], h, q, C, QD}, {L.k, L.kb, &L.lora[P_K], h, k, C, KD}, {L.v, L.vb, &L.lora[P_V], h, v, C, KD}}, planQKV);
      if (!memory.empty()) std::copy(q, q + QD, qpre.data());  // the memory reads the pre-RoPE query
      ropeRow(q, q, NH, D, half, cs.data(), sn.data(), interleaved, 1.f, false);
      ropeRow(k, kc[(size_t)l] + pos * KD, KVH, D, half, cs.data(), sn.data(), interleaved, 1.f, false);
      std::copy(v, v + KD, vc[(size_t)l] + pos * KD);
      if (!team) {
        decodeForward(ad, q, kc[(size_t)l], vc[(size_t)l], a, lse);
      } else {  // a head a chunk
        auto heads = [&](int64_t hh) { decodeHeads(ad, q, kc[(size_t)l], vc[(size_t)l], a, lse, hh, hh + 1); };
        team->step(NH, heads);
      }
      if (!memory.empty()) {
        const Memory& G = memory[(size_t)l];
        firstMap(G.w[0], G.b[0], MK, mh.data());
        siluRange(mh.data(), mh.data(), 0, NH * MK);
        headMap(mh.data(), MK, G.w[1], G.b[1], D, mm.data());
        firstMap(G.w[2], G.b[2], MG, gh.data());
        siluRange(gh.data(), gh.data(), 0, NH * MG);
        headMap(gh.data(), MG, G.w[3], G.b[3], 1, gs.data());
        sigmoidAffineRange(gs.data(), gg.data(), gateScale, gateShift, 0, NH);
        for (int64_t hh = 0; hh < NH; hh++) {
          gateMixRow(a + hh * D, mm.data() + hh * D, gg[(size_t)hh], a + hh * D, D);
          gatesOut[l * NH + hh] = gg[(size_t)hh];
        }
      }
      runStep({{L.o, L.ob, &L.lora[P_O], a, t, QD, C}}, planO);
      for (int64_t c = 0; c < C; c++) x[c] = x[c] + t[c];
      rmsnormRow(x, L.postNorm, h, C, eps);
      runStep({{L.gate, Weight{}, &L.lora[P_GATE], h, g, C, I}, {L.up, Weight{}, &L.lora[P_UP], h, u, C, I}}, planGU);
      swigluRange(g, u, g, 0, I);
      runStep({{L.down, Weight{}, &L.lora[P_DOWN], g, t, I, C}}, planDown);
      for (int64_t c = 0; c < C; c++) x[c] = x[c] + t[c];
    }
    rmsnormRow(x, (const float*)norm.p, h, C, eps);
    runStep({{head, Weight{}, &headLora, h, logits.p, C, V}}, planHead);
  };
  int threads = 1;
  if (!split) {
    runToken();
  } else {
    Team tm;
#pragma omp parallel num_threads(want)
    {
      if (omp_get_thread_num() == 0) {
        threads = omp_get_num_threads();
        team = &tm;
        runToken();
        tm.finish();
      } else {
        tm.work();
      }
    }
  }
  return Napi::Number::New(info.Env(), threads);  // the threads that ran the token as a team (1: none)
}

void registerDecode(Napi::Env env, Napi::Object exports) { LIFT_EXPORT("decodeStep", decodeStep); }

}  // namespace lift
