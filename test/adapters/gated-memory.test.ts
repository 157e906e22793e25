// Gated Memory (docs/method.md §4): parameter count against the closed form (and the paper's 68.8M for
// Llama-3-8B), the init, what the 'zero-output' init really computes, a float64 finite-difference check of
// the whole per-layer path (every weight, bias, q and attn), and a frozen base under AdamW.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tape, Tensor, crossEntropy, AdamW, tidy, untracked, sigmoidAffine, memoryStats } from '../../src/engine/index.js';
import { parseHFConfig, parameterCount as baseCount } from '../../src/model/config.js';
import type { LlamaModel } from '../../src/model/llama.js';
import { loadModelFromPath } from '../../src/model/load.js';
import { GatedMemoryAdapter, type GatedMemoryOptions } from '../../src/adapters/gated-memory.js';
import { seededRandom } from '../../src/adapters/init.js';
import { requireShared, sharedPath } from '../helpers/shared.js';
import { tinyConfig, tinyModel, randomIds, maxAbs } from './tiny.js';

/** Gated Memory vs its float64 reference (docs/correctness.md): the forward, and each gradient against central
 * finite differences, relative to max(1, max |g|). */
const GM_FWD_TOL = 2e-6, GM_GRAD_TOL = 2e-6;

const logits = (model: LlamaModel, ids: Int32Array, adapter: GatedMemoryAdapter | null): Float32Array =>
  tidy(() => model.forward(ids, { adapter }).toArray());

/** σ(−3) exactly as the engine computes it in float32 (the gate when V = 0). */
const gateAtZero = (): number => tidy(() => sigmoidAffine(Tensor.zeros([1]), 3, -3).item());

/** max |Δlogit| and the share of positions whose top-1 token is unchanged. */
function deviation(a: Float32Array, b: Float32Array, V: number): { maxAbs: number; top1Same: number } {
  const T = a.length / V;
  let same = 0;
  const argmax = (x: Float32Array, t: number): number => {
    let k = 0;
    for (let v = 1; v < V; v++) if (x[t * V + v] > x[t * V + k]) k = v;
    return k;
  };
  for (let t = 0; t < T; t++) same += argmax(a, t) === argmax(b, t) ? 1 : 0;
  return { maxAbs: maxAbs(a, b), top1Same: same / T };
}

test('parameter count equals the closed form; Llama-3-8B gives the paper\'s 68.8M (0.86 %)', () => {
  const cases: [Record<string, unknown>, GatedMemoryOptions][] = [
    [{}, {}],
    [{ architectures: ['Qwen2ForCausalLM'] }, { memoryMultiplier: 3 }],
    [{ head_dim: 9, num_attention_heads: 3, hidden_size: 27 }, { headLora: null }],
    [{ attention_bias: true }, { headLora: { r: 4, alpha: 8 }, init: 'zero-output' }],
    [{}, { memoryInput: 'layer' }],
    [{ architectures: ['Qwen2ForCausalLM'] }, { memoryInput: 'layer', memoryMultiplier: 4, init: 'zero-output' }],
  ];
  for (const [over, opts] of cases) {
    const c = tinyConfig(over), model = tinyModel(c), gm = new GatedMemoryAdapter(model, opts);
    assert.equal(gm.parameterCount(), GatedMemoryAdapter.countFor(c, opts), JSON.stringify({ over, opts }));
    assert.equal(gm.parameters().some((t) => t.name.endsWith('.bias')), c.attention_bias, 'biases only where attention has them');
    gm.dispose();
    model.dispose();
  }
  const llama3 = parseHFConfig({
    architectures: ['LlamaForCausalLM'], hidden_size: 4096, intermediate_size: 14336, num_hidden_layers: 32, num_attention_heads: 32,
    num_key_value_heads: 8, vocab_size: 128256, rms_norm_eps: 1e-5, rope_theta: 500000, max_position_embeddings: 8192,
  });
  const n = GatedMemoryAdapter.countFor(llama3), base = baseCount(llama3);
  console.log(`  Llama-3-8B: ${n} trainable (${(n / 1e6).toFixed(2)}M) = ${(100 * n / base).toFixed(3)} % of ${base}`);
  assert.equal(n, 32 * 32 * (128 * 256 * 2 + 128 * 11 + 11) + 2 * (4096 + 128256)); // 68,826,624
  assert.equal((n / 1e6).toFixed(1), '68.8');
  assert.equal((100 * n / base).toFixed(2), '0.86');
  // 'layer': W1 and U read all 32·128 query numbers per head: 32·32·(4096·256 + 256·128 + 4096·11 + 11).
  assert.equal(GatedMemoryAdapter.countFor(llama3, { memoryInput: 'layer' }), 32 * 32 * (4096 * 256 + 256 * 128 + 4096 * 11 + 11) + 2 * (4096 + 128256));
});

test("init: weights (H, in, out) within 1/√(in·out); gate near σ(−3) under 'paper', exactly σ(−3) under 'zero-output'", () => {
  const c = tinyConfig({ architectures: ['Qwen2ForCausalLM'] }), model = tinyModel(c), ids = randomIds(8, c.vocab_size);
  const gm = new GatedMemoryAdapter(model, { seed: 4 });
  for (const t of gm.parameters()) {
    if (t.name.startsWith('lm_head')) continue;
    const w = t.name.endsWith('.weight'), fan = w ? t.shape[1] * t.shape[2] : 0;
    assert.equal(t.shape[0], c.num_attention_heads, t.name);
    const [inF, outF] = w ? [t.shape[1], t.shape[2]] : [0, t.shape[1]];
    const bound = w ? 1 / Math.sqrt(fan) : Math.max(...gm.parameters().filter((p) => p.name === t.name.replace('.bias', '.weight')).map((p) => 1 / Math.sqrt(p.shape[1] * p.shape[2])));
    const m = Math.max(...Array.from(t.f32(), Math.abs));
    assert.ok(m <= bound, `${t.name} [${inF}→${outF}]: max|w| ${m} exceeds the bound ${bound}`);
    if (t.size >= 64) assert.ok(m > 0.9 * bound, `${t.name}: max|w| ${m} should come close to the bound ${bound}`);
  }
  logits(model, ids, gm);
  const g0 = gateAtZero();
  // "≈ σ(−3)": s = V·SiLU(U·q) is small but not zero (|V| ≤ 1/√G is not tiny), so mean gates spread around it.
  const all = gm.lastGates().flatMap((r) => [...r]);
  console.log(`  paper init, tiny model: mean gates ${all.map((g) => g.toFixed(4)).join(' ')} (σ(−3) = ${g0.toFixed(4)})`);
  for (const g of all) assert.ok(g > g0 / 3 && g < 3 * g0, `paper init gate ${g} should be within 3× of σ(−3) = ${g0}`);
  gm.dispose();
  const zo = new GatedMemoryAdapter(model, { init: 'zero-output' });
  logits(model, ids, zo);
  assert.deepEqual(zo.lastGates(), zo.layers.map(() => new Float32Array(c.num_attention_heads).fill(g0)));
  zo.dispose();
  model.dispose();
});

// What "starts at the base model's behaviour" can mean under §4's equations. With W2 = 0 the memory m is 0,
// but the mix is (1 − g)·attn + g·m = (1 − g)·attn, and g = σ(3(s − 1)) > 0 for every finite s: there is no
// bias in the gate to push it to 0, so the exact base (g = 0) is unreachable without changing the paper.
// 'zero-output' also sets V = 0, so g ≡ σ(−3) ≈ 0.0474 and the model is EXACTLY the base model with each
// layer's attention output scaled by (1 − σ(−3)) ≈ 0.9526. We check that bit for bit, then measure (and
// print) how far that is from the base, next to the 'paper' init's deviation.
function checkZeroOutput(model: LlamaModel, ids: Int32Array, label: string): void {
  const g = gateAtZero(), s = Math.fround(1 - g);
  const scaled = { attnOut: (_l: number, _q: Tensor, a: Tensor): Tensor => {
    const out = Tensor.empty(a.shape), o = out.f32(), x = a.f32();
    for (let i = 0; i < x.length; i++) o[i] = s * x[i]; // float32 (1 − g)·a, as gateMix computes it with m = 0
    return out;
  } };
  const base = logits(model, ids, null);
  const zo = new GatedMemoryAdapter(model, { init: 'zero-output', seed: 2 }), paper = new GatedMemoryAdapter(model, { seed: 2 });
  const zLogits = logits(model, ids, zo);
  assert.deepEqual(zLogits, tidy(() => model.forward(ids, { adapter: scaled }).toArray()), 'zero-output = base with attention × (1 − σ(−3)), bit for bit');
  const V = model.config.vocab_size, dz = deviation(zLogits, base, V), dp = deviation(logits(model, ids, paper), base, V);
  const scale = Math.max(...Array.from(base, Math.abs));
  console.log(`  ${label}: zero-output vs base: max|Δlogit| ${dz.maxAbs.toExponential(3)} (max|logit| ${scale.toFixed(2)}), top-1 kept ${(100 * dz.top1Same).toFixed(1)} %;` +
    ` paper init vs base: max|Δlogit| ${dp.maxAbs.toExponential(3)}, top-1 kept ${(100 * dp.top1Same).toFixed(1)} %`);
  assert.ok(dz.maxAbs > 0, 'zero-output is not the base model, and the test must not pretend it is');
  zo.dispose();
  paper.dispose();
}

test("zero-output init = base model with attention × (1 − σ(−3)) exactly; its deviation from the base is measured", () => {
  const c = tinyConfig(), model = tinyModel(c);
  checkZeroOutput(model, randomIds(16, c.vocab_size), 'tiny random');
  model.dispose();
});

test('stories260K: count, zero-output deviation, gates per layer and head', (t) => {
  if (!requireShared(t, 'models/stories260K')) return;
  const { model } = loadModelFromPath(sharedPath('models/stories260K/stories260K.bin'));
  const ids = Int32Array.from([1, 403, 407, 261, 378, 280, 395, 430, 261, 32, 79, 418, 261, 290, 377, 264]);
  checkZeroOutput(model, ids, 'stories260K');
  const gm = new GatedMemoryAdapter(model);
  assert.equal(gm.parameterCount(), GatedMemoryAdapter.countFor(model.config));
  console.log(`  stories260K: ${gm.parameterCount()} Gated Memory parameters (base ${baseCount(model.config)})`);
  logits(model, ids, gm);
  const gates = gm.lastGates();
  console.log(`  stories260K, paper init: mean gate per layer ${gates.map((r) => (r.reduce((a, b) => a + b, 0) / r.length).toFixed(4)).join(' ')}`);
  assert.equal(gates.length, model.config.num_hidden_layers);
  for (const row of gates) assert.equal(row.length, model.config.num_attention_heads);
  gm.dispose();
  model.dispose();
});

// ---- gradient check: float64 reference + central differences over every input of one layer's path -------

type F64 = Float64Array;
/**
 * out[t, h·D + d] = (1 − g)·attn + g·m, computed in float64 from (H, in, out) weights and [H, out] biases.
 * With `layer`, W1 and U are (out, in) = [H·K, H·D] / [H·G, H·D] matrices over the whole query q[t, :].
 */
function refMix(p: Record<string, F64>, q: F64, a: F64, T: number, H: number, D: number, K: number, G: number, layer = false): F64 {
  const lin = (x: F64, off: number, w: F64, b: F64 | undefined, h: number, I: number, O: number): F64 => {
    const y = new Float64Array(O);
    for (let o = 0; o < O; o++) {
      let s = b ? b[h * O + o] : 0;
      for (let i = 0; i < I; i++) s += x[off + i] * w[(h * I + i) * O + o];
      y[o] = s;
    }
    return y;
  };
  // The 'layer' first map: y[o] = b[h·O + o] + Σ_i q[t, i]·W[(h·O + o), i] over all H·D inputs i.
  const linAll = (t: number, w: F64, b: F64 | undefined, h: number, O: number): F64 => {
    const y = new Float64Array(O), I = H * D;
    for (let o = 0; o < O; o++) {
      let s = b ? b[h * O + o] : 0;
      for (let i = 0; i < I; i++) s += q[t * I + i] * w[(h * O + o) * I + i];
      y[o] = s;
    }
    return y;
  };
  const first = (t: number, off: number, w: F64, b: F64 | undefined, h: number, O: number): F64 => (layer ? linAll(t, w, b, h, O) : lin(q, off, w, b, h, D, O));
  const silu = (v: F64): F64 => v.map((z) => z / (1 + Math.exp(-z)));
  const out = new Float64Array(T * H * D);
  for (let t = 0; t < T; t++)
    for (let h = 0; h < H; h++) {
      const off = (t * H + h) * D;
      const m = lin(silu(first(t, off, p.W1, p.b1, h, K)), 0, p.W2, p.b2, h, K, D);
      const s = lin(silu(first(t, off, p.U, p.bU, h, G)), 0, p.V, p.bV, h, G, 1)[0];
      const g = 1 / (1 + Math.exp(-3 * (s - 1)));
      for (let d = 0; d < D; d++) out[off + d] = (1 - g) * a[off + d] + g * m[d];
    }
  return out;
}

for (const memoryInput of ['head', 'layer'] as const)
test(`gradient check (memoryInput '${memoryInput}'): the whole Gated Memory path (W1, W2, U, V, biases, q, attn) vs float64 central differences`, () => {
  const c = tinyConfig({ architectures: ['Qwen2ForCausalLM'] }), model = tinyModel(c);
  const gm = new GatedMemoryAdapter(model, { headLora: null, memoryInput });
  const layer = memoryInput === 'layer';
  const H = gm.heads, D = gm.headDim, K = 2 * D, G = gm.gateHidden, T = 3, rand = seededRandom(11);
  // Larger-than-init weights so the gate moves well away from σ(−3) and every term matters.
  const keys = ['W1', 'b1', 'W2', 'b2', 'U', 'bU', 'V', 'bV'];
  const params = gm.parameters();
  assert.equal(params.length, keys.length * c.num_hidden_layers);
  for (const p of params) p.f32().forEach((_, i, d) => (d[i] = (2 * rand() - 1) * (p.name.includes('gate_out') ? 1.5 : 0.5)));
  // Centre the gate's pre-activation near 1, where σ(3(s − 1)) is steepest: g spreads around 0.5.
  for (const p of params) if (p.name.endsWith('gate_out.bias')) p.f32().forEach((_, i, d) => (d[i] = 1 + (rand() - 0.5) * 0.5));
  const mk = (n: number): Tensor => untracked(() => {
    const x = Tensor.empty([T, n], { requiresGrad: true });
    x.f32().forEach((_, i, d) => (d[i] = 2 * rand() - 1));
    return x;
  });
  const q = mk(H * D), a = mk(H * D), w = Float32Array.from({ length: T * H * D }, () => 2 * rand() - 1);

  const tape = new Tape();
  const out = tape.record(() => gm.attnOut(0, q, a));
  const layer0 = params.slice(0, keys.length);
  const p64 = Object.fromEntries(keys.map((k, i) => [k, Float64Array.from(layer0[i].f32())])) as Record<string, F64>;
  const q64 = Float64Array.from(q.f32()), a64 = Float64Array.from(a.f32());
  const ref = refMix(p64, q64, a64, T, H, D, K, G, layer);
  const fwd = maxAbs(out.f32(), ref);
  console.log(`  ${layer ? 'layer' : 'head'} input: forward max|Δ| vs float64 ${fwd.toExponential(2)}`);
  assert.ok(fwd <= GM_FWD_TOL, `forward differs from the float64 reference by ${fwd}`);
  tape.backward(out, w);
  const gates = gm.lastGates()[0];
  assert.ok(Math.max(...gates) - Math.min(...gates) > 0.05 || gates.some((g) => g > 0.2), `the gates should vary: ${gates}`);

  const loss = (): number => refMix(p64, q64, a64, T, H, D, K, G, layer).reduce((s, v, i) => s + v * w[i], 0);
  const eps = 1e-6;
  const check = (name: string, x: F64, grad: Float32Array): void => {
    let worst = 0, scale = 0;
    for (let i = 0; i < x.length; i++) {
      const x0 = x[i];
      x[i] = x0 + eps; const lp = loss();
      x[i] = x0 - eps; const lm = loss();
      x[i] = x0;
      const fd = (lp - lm) / (2 * eps);
      worst = Math.max(worst, Math.abs(fd - grad[i]));
      scale = Math.max(scale, Math.abs(fd));
    }
    console.log(`  ${layer ? 'layer' : 'head'} input ${name}: gradient max|Δ| vs finite differences ${worst.toExponential(2)} (max |g| ${scale.toExponential(2)})`);
    assert.ok(worst <= GM_GRAD_TOL * Math.max(1, scale), `${name}: analytic vs finite differences differ by ${worst} (max |g| ${scale})`);
    assert.ok(scale > 1e-3, `${name}: gradient should not vanish in this check`);
  };
  keys.forEach((k, i) => check(k, p64[k], layer0[i].grad!.f32()));
  check('q', q64, q.grad!.f32());
  check('attn', a64, a.grad!.f32());
  tape.dispose();
  q.dispose();
  a.dispose();
  gm.dispose();
  model.dispose();
  assert.equal(memoryStats().liveBuffers, 0);
});

test('Gated Memory training (AdamW, §5 betas/ε/decay/clip, lr 1e-2) keeps every base weight bit-identical; the gates move', () => {
  const c = tinyConfig(), model = tinyModel(c), ids = randomIds(12, c.vocab_size), targets = randomIds(12, c.vocab_size, 9);
  const before = model.parameters().map((t) => t.f32().slice());
  for (const init of ['paper', 'zero-output'] as const) {
    const gm = new GatedMemoryAdapter(model, { init });
    const opt = new AdamW(gm.parameters(), { lr: 1e-2 });
    const losses: number[] = [];
    let gates0: Float32Array[] = [];
    for (let step = 0; step < 5; step++) {
      opt.zeroGrad();
      const tape = new Tape();
      const { loss } = tape.record(() => crossEntropy(model.forward(ids, { adapter: gm }), targets));
      if (step === 0) gates0 = gm.lastGates();
      losses.push(loss.item());
      tape.backward(loss);
      assert.ok(opt.stepWith().applied);
      tape.dispose();
    }
    assert.ok(losses[4] < losses[0], `${init}: loss must fall: ${losses.join(' → ')}`);
    assert.notDeepEqual(gm.lastGates(), gates0, `${init}: the gates must train`);
    model.parameters().forEach((t, i) => {
      assert.equal(t.grad, null, `${t.name} must get no gradient`);
      assert.deepEqual(t.f32(), before[i], `${t.name} changed`);
    });
    opt.dispose();
    gm.dispose();
  }
  model.dispose();
  assert.equal(memoryStats().liveBuffers, 0);
});
