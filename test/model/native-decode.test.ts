// The whole-token native decode (native/decode.cc via src/model/native-decode.ts) against the op-by-op forward
// it replaces: the same logits bit for bit, token after token with the KV cache growing, for every weight storage
// decode meets (f32, f16, bf16, the integer-dot block types, a block type without one, quantized embeddings), with
// GQA, attention biases (q/k/v and o), both RoPE layouts and tied or separate heads; and on stories260K from its
// llama2.c file. Also: the paths that must not take it (adapters, hooks, bf16-unit weights, weights that train) and
// bad arguments to the native call.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requireShared, sharedPath } from '../helpers/shared.js';
import { Tape, Tensor, native, tidy, untracked, quantize, cpuFeatures, type DType } from '../../src/engine/index.js';
import { withBf16Weights } from '../../src/model/compute.js';
import { LoraAdapter, ALL_LINEAR } from '../../src/adapters/lora.js';
import { CombinedLora } from '../../src/adapters/combine.js';
import { GatedMemoryAdapter } from '../../src/adapters/gated-memory.js';
import type { AdapterHooks } from '../../src/model/llama.js';
import { LlamaModel } from '../../src/model/llama.js';
import { KVCache } from '../../src/model/kv-cache.js';
import { randomLlama } from '../../src/model/random.js';
import { useNativeDecode } from '../../src/model/native-decode.js';
import { loadModelFromPath } from '../../src/model/load.js';
import type { LlamaConfig } from '../../src/model/config.js';

native.setThreads(2);

const base = (over: Partial<LlamaConfig> = {}): LlamaConfig => ({
  architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 256, intermediate_size: 512, num_hidden_layers: 2,
  num_attention_heads: 4, num_key_value_heads: 2, head_dim: 64, vocab_size: 300, rms_norm_eps: 1e-5, rope_theta: 10000,
  rope_scaling: null, tie_word_embeddings: false, attention_bias: false, max_position_embeddings: 128, bos_token_id: 1,
  eos_token_id: 2, ...over,
});

// Counts the native whole-token calls, so a comparison cannot pass by running op by op on both sides, and records
// how many threads ran each as a team (decode.cc returns it).
let nativeCalls = 0;
let teams: number[] = [];
const realStep = native.decodeStep.bind(native);
native.decodeStep = (...a) => {
  nativeCalls++;
  const n = realStep(...a);
  teams.push(n);
  return n;
};

/**
 * Logits of `prompt` then each of `next` fed one at a time, with the native decode on or off. `team`: the native
 * token's threads as one team ('1', whatever the model's size: these test models are below the automatic bound) or
 * each product on its own ('0').
 */
function run(model: LlamaModel, prompt: number[], next: number[], nativeOn: boolean, adapter: AdapterHooks | null = null, team: '0' | '1' = '1', threads: 'all' | '1' = 'all'): Float32Array[] {
  const was = useNativeDecode(nativeOn), envWas = process.env.LIFT_DECODE_TEAM, threadsWas = process.env.LIFT_DECODE_THREADS;
  process.env.LIFT_DECODE_TEAM = team;
  process.env.LIFT_DECODE_THREADS = threads; // pinned: no probe of the other choice (decode-threads.ts)
  const cache = new KVCache(model.config, prompt.length + next.length);
  try {
    const out = [tidy(() => model.forward(Int32Array.from(prompt), { cache, lastOnly: true, adapter }).toArray())];
    for (const id of next) out.push(tidy(() => model.forward(Int32Array.of(id), { cache, lastOnly: true, adapter }).toArray()));
    return out;
  } finally {
    cache.dispose();
    useNativeDecode(was);
    if (envWas === undefined) delete process.env.LIFT_DECODE_TEAM;
    else process.env.LIFT_DECODE_TEAM = envWas;
    if (threadsWas === undefined) delete process.env.LIFT_DECODE_THREADS;
    else process.env.LIFT_DECODE_THREADS = threadsWas;
  }
}

/**
 * The native token run by a team of 2 threads (rows, heads and LoRA deltas split between them, team.h) and by one
 * thread a product: the same bits, and the team really ran.
 */
function teamRuns(model: LlamaModel, prompt: number[], next: number[], adapter: AdapterHooks | null, what: string): Float32Array[] {
  teams = [];
  const a = run(model, prompt, next, true, adapter, '1');
  assert.deepEqual(teams, next.map(() => 2), `${what}: each token ran by a team of 2`);
  teams = [];
  const solo = run(model, prompt, next, true, adapter, '0');
  assert.deepEqual(teams, next.map(() => 1), `${what}: each token without a team`);
  for (let s = 0; s < a.length; s++) assert.deepEqual(a[s], solo[s], `${what}: step ${s}: the team's logits differ from one thread's`);
  teams = [];
  const one = run(model, prompt, next, true, adapter, '1', '1');
  assert.deepEqual(teams, next.map(() => 1), `${what}: each token capped at one thread`);
  for (let s = 0; s < a.length; s++) assert.deepEqual(a[s], one[s], `${what}: step ${s}: one thread's logits differ from the team's`);
  return a;
}

function assertSame(model: LlamaModel, what: string, nativeExpected = true, adapter: AdapterHooks | null = null): void {
  const prompt = [1, 17, 250, 3, 99], next = [5, 299, 42, 7, 128, 64, 0, 11].map((id) => id % model.config.vocab_size);
  const before = nativeCalls;
  const a = nativeExpected ? teamRuns(model, prompt, next, adapter, what) : run(model, prompt, next, true, adapter);
  assert.equal(nativeCalls - before, nativeExpected ? 3 * next.length : 0, `${what}: native decode calls`);
  const b = run(model, prompt, next, false, adapter);
  assert.equal(nativeCalls - before, nativeExpected ? 3 * next.length : 0, `${what}: no native call with it off`);
  for (let s = 0; s < a.length; s++) {
    assert.ok(a[s].every(Number.isFinite), `${what}: step ${s} finite`);
    assert.deepEqual(a[s], b[s], `${what}: step ${s} logits differ from the op-by-op forward`);
  }
  // Not the same as a constant: the logits move from token to token.
  assert.notDeepEqual(a[1], a[2], `${what}: logits change with the token`);
}

/** The random model's weights stored as `dtype` (norms and biases stay f32, as every loader keeps them). */
function stored(m: LlamaModel, dtype: DType, embed: DType = dtype): LlamaModel {
  const w = untracked(() => new Map([...m.weights].map(([n, t]) => {
    const keep = t.shape.length === 1;
    const d = keep ? 'f32' : n === 'model.embed_tokens.weight' ? embed : dtype;
    return [n, d === 'f32' ? Tensor.from(t.f32(), t.shape, { name: n }) : quantize(t.f32(), t.shape, d, n)] as const;
  })));
  return new LlamaModel(m.config, w, m.ropeLayout, `${m.id}-${dtype}`);
}

/** Adds an o_proj bias (Llama configs with attention_bias have one; randomLlama draws q/k/v's only). */
function withOBias(m: LlamaModel): LlamaModel {
  const c = m.config;
  untracked(() => {
    for (let l = 0; l < c.num_hidden_layers; l++) {
      const b = Tensor.empty([c.hidden_size], { name: `model.layers.${l}.self_attn.o_proj.bias` });
      b.f32().forEach((_, i, d) => (d[i] = Math.sin(i + l) * 0.05));
      m.weights.set(b.name, b);
    }
  });
  return new LlamaModel(c, m.weights, m.ropeLayout, m.id);
}

test('native decode = op-by-op forward, f32: GQA, rotate-half and interleaved RoPE, tied and separate heads, biases', () => {
  const plain = randomLlama(base(), { seed: 1, scale: 0.08, normJitter: 0.2 });
  assertSame(plain, 'f32 GQA rotate-half');
  assertSame(new LlamaModel(plain.config, plain.weights, 'interleaved'), 'f32 interleaved');
  const tied = randomLlama(base({ tie_word_embeddings: true, num_key_value_heads: 4 }), { seed: 2, scale: 0.08 });
  assertSame(tied, 'f32 tied MHA');
  const biased = withOBias(randomLlama(base({ attention_bias: true, model_type: 'qwen2' }), { seed: 3, scale: 0.08, normJitter: 0.2 }));
  assertSame(biased, 'f32 q/k/v/o biases');
  for (const m of [plain, tied, biased]) m.dispose();
});

test('native decode = op-by-op forward on 16-bit and block storage (integer-dot types, Q4_1 without one, quantized embeddings)', () => {
  const m = randomLlama(base({ attention_bias: true }), { seed: 4, scale: 0.08, normJitter: 0.2 });
  for (const [dtype, embed] of [['f16', 'f16'], ['bf16', 'bf16'], ['q8_0', 'q8_0'], ['q4_k', 'q6_k'], ['q5_k', 'f32'], ['q4_0', 'q5_0'], ['q4_1', 'q8_0']] as [DType, DType][]) {
    const q = stored(m, dtype, embed);
    assertSame(q, `${dtype} (embedding ${embed})`);
    q.dispose();
  }
  m.dispose();
});

test('native decode = op-by-op forward with weights on the bf16 units (--compute bf16), plain and with Gated Memory', (t) => {
  if (!cpuFeatures().bf16) return void t.skip('this CPU has no AVX-512 BF16 units (or LIFT_CPU_FEATURES hides them)');
  const m = withBf16Weights(randomLlama(base({ attention_bias: true }), { seed: 10, scale: 0.08, normJitter: 0.2 }));
  assertSame(m, 'bf16 units');
  const gm = new GatedMemoryAdapter(m, { headLora: null, seed: 5 });
  assertSame(m, 'bf16 units + Gated Memory', true, gm);
  gm.dispose();
  m.dispose();
});

test('stories260K (llama2.c file): native decode = op-by-op forward', (t) => {
  if (!requireShared(t, 'models/stories260K')) return;
  const { model } = loadModelFromPath(sharedPath('models/stories260K', 'stories260K.bin'));
  try {
    assertSame(model, 'stories260K');
  } finally {
    model.dispose();
  }
});

test('native decode is skipped where it cannot apply: adapter hooks, intermediate hooks, weights that train', () => {
  const m = randomLlama(base(), { seed: 5, scale: 0.08 });
  const cache = new KVCache(m.config, 4);
  try {
    tidy(() => m.forward(Int32Array.of(1, 2), { cache }));
    const before = nativeCalls;
    let calls = 0;
    // An adapter hook sees every projection of the token: the native path would skip it.
    tidy(() => m.forward(Int32Array.of(3), { cache, adapter: { project: (_l, _n, _x, y) => (calls++, y) } }));
    assert.equal(calls, 2 * 7 + 1, 'the adapter saw every projection of the decode token');
    const names: string[] = [];
    tidy(() => m.forward(Int32Array.of(4), { cache, hook: (n) => names.push(n) }));
    assert.ok(names.includes('layers.1.out'), 'the hook saw the layers');
    assert.equal(nativeCalls, before, 'no native decode with hooks');
  } finally {
    cache.dispose();
  }
  // A weight that requires grad while a tape records: the op-by-op forward records it; the native one would not.
  const w = m.weights.get('model.layers.0.mlp.up_proj.weight')!;
  w.requiresGrad = true;
  const tape = new Tape();
  try {
    const before = nativeCalls;
    const cache2 = new KVCache(m.config, 3);
    tape.record(() => {
      m.forward(Int32Array.of(1, 2), { cache: cache2 });
      const y = m.forward(Int32Array.of(3), { cache: cache2 });
      assert.ok(y.requiresGrad, 'the decode token was recorded for a gradient');
    });
    cache2.dispose();
    assert.equal(nativeCalls, before, 'no native decode while a tape records a trainable weight');
    assertSame(m, 'a trainable weight with no tape recording');
  } finally {
    tape.dispose();
    w.requiresGrad = false;
    m.dispose();
  }
});

/** A LoRA adapter on every linear layer (and lm_head) with B drawn too (PEFT's B starts at 0: no delta to check). */
function randomLora(m: LlamaModel, seed: number, r: number): LoraAdapter {
  const a = new LoraAdapter(m, { r, lora_alpha: 2 * r, target_modules: [...ALL_LINEAR, 'lm_head'], seed });
  let k = seed;
  for (const [, B] of a.modules.values()) B.f32().forEach((_, i, d) => (d[i] = Math.sin(++k * 12.9898) * 0.05));
  return a;
}

/**
 * Native against op by op with an adapter: equal to float rounding (LoRA's delta runs through another kernel), at
 * most `tol` per logit and `meanTol` on average. On a base with 8-bit activations (Q8_0 and the other integer-dot
 * types) a rounding-level difference can flip one value's 8-bit rounding in a later layer, so single logits may move
 * by a few hundredths there (measured: 0.022 at most, 0.005 on average, against the adapter's own ~1.0).
 */
function assertClose(model: LlamaModel, adapter: AdapterHooks, what: string, tol = 2e-5, meanTol = 2e-6, minMoved = 0.5): void {
  const prompt = [1, 17, 250, 3, 99], next = [5, 299, 42, 7, 128, 64, 0, 11];
  const before = nativeCalls;
  const a = teamRuns(model, prompt, next, adapter, what);
  assert.equal(nativeCalls - before, 3 * next.length, `${what}: native decode calls`);
  const b = run(model, prompt, next, false, adapter);
  const base = run(model, prompt, next, false);
  for (let s = 1; s < a.length; s++) {
    let worst = 0, moved = 0, sum = 0;
    for (let i = 0; i < a[s].length; i++) {
      worst = Math.max(worst, Math.abs(a[s][i] - b[s][i]));
      sum += Math.abs(a[s][i] - b[s][i]);
      moved = Math.max(moved, Math.abs(b[s][i] - base[s][i]));
    }
    const mean = sum / a[s].length;
    assert.ok(worst <= tol && mean <= meanTol, `${what}: step ${s} differs from the op-by-op forward by ${worst} at most, ${mean} on average`);
    assert.ok(moved > minMoved, `${what}: step ${s}: the adapter changes the logits (by ${moved})`);
  }
}

test('native decode with LoRA (one adapter, two combined, f32 and Q8_0 base) = op-by-op forward to float rounding', () => {
  const m = randomLlama(base({ attention_bias: true }), { seed: 7, scale: 0.08, normJitter: 0.2 });
  const one = randomLora(m, 1, 8), two = randomLora(m, 2, 4);
  assertClose(m, one, 'one LoRA');
  assertClose(m, new CombinedLora([one, two]), 'two LoRA combined');
  const q = stored(m, 'q8_0');
  assertClose(q, one, 'LoRA on a Q8_0 base', 0.1, 0.02);
  // Trainable adapter weights while a tape records: op by op (the native call would record nothing).
  const tape = new Tape(), cache = new KVCache(m.config, 3), before = nativeCalls;
  tape.record(() => {
    m.forward(Int32Array.of(1, 2), { cache, adapter: one });
    assert.ok(m.forward(Int32Array.of(3), { cache, adapter: one }).requiresGrad, 'recorded for the adapter gradient');
  });
  assert.equal(nativeCalls, before, 'no native decode while a tape records the adapter');
  tape.dispose();
  cache.dispose();
  for (const x of [q, m]) x.dispose();
});

test('native decode with Gated Memory (per-head and layer-wide first maps, with and without biases) = op-by-op forward, bitwise', () => {
  for (const bias of [false, true]) {
    const m = randomLlama(base({ attention_bias: bias }), { seed: 8, scale: 0.08, normJitter: 0.2 });
    for (const memoryInput of ['head', 'layer'] as const) {
      const gm = new GatedMemoryAdapter(m, { memoryInput, headLora: null, seed: 3 });
      const what = `Gated Memory ${memoryInput}${bias ? ' with biases' : ''}`;
      assertSame(m, what, true, gm);
      // The gates the native token reports are the op-by-op token's.
      const gates = (on: boolean) => {
        run(m, [1, 2, 3], [4, 5], on, gm);
        return gm.lastGates();
      };
      const gn = gates(true), go = gates(false);
      assert.deepEqual(gn, go, `${what}: last gates`);
      assert.ok(gn.every((g) => g.every((v) => v > 0 && v < 1)), `${what}: gates in (0, 1)`);
      // And the memory matters: the same token without the adapter gives other logits.
      assert.notDeepEqual(run(m, [1, 2], [3], true, gm)[1], run(m, [1, 2], [3], true)[1], `${what}: the memory changes the logits`);
      gm.dispose();
    }
    m.dispose();
  }
});

test('native decode with Gated Memory and its output-head LoRA = op-by-op forward to float rounding', () => {
  const m = randomLlama(base(), { seed: 9, scale: 0.08, normJitter: 0.2 });
  const gm = new GatedMemoryAdapter(m, { seed: 4 });
  for (const [, B] of gm.head!.modules.values()) B.f32().forEach((_, i, d) => (d[i] = Math.cos(i) * 0.5));
  assertClose(m, gm, 'Gated Memory + head LoRA', 2e-5, 2e-6, 0.05);
  gm.dispose();
  m.dispose();
});

test('decodeStep rejects bad arguments with a message', () => {
  const m = randomLlama(base({ num_hidden_layers: 1 }), { seed: 6, scale: 0.08 });
  const c = m.config;
  const names = ['model.embed_tokens.weight', 'model.norm.weight', 'lm_head.weight', ...['input_layernorm.weight', 'post_attention_layernorm.weight',
    'self_attn.q_proj.weight', 'self_attn.k_proj.weight', 'self_attn.v_proj.weight', 'self_attn.o_proj.weight', 'q', 'k', 'v', 'o',
    'mlp.gate_proj.weight', 'mlp.up_proj.weight', 'mlp.down_proj.weight'].map((n) => `model.layers.0.${n}`)];
  const ws = names.map((n) => m.weights.get(n)?.f32() ?? null);
  const types = Int32Array.from(ws, (w) => (w ? 0 : -1));
  const dims = Float64Array.of(c.hidden_size, c.num_attention_heads, c.num_key_value_heads, c.head_dim, c.intermediate_size, c.vocab_size, 1, 1e-5, 0);
  const kv = () => [new Float32Array(4 * 128)];
  const logits = new Float32Array(c.vocab_size);
  const call = (o: { ws?: typeof ws; types?: Int32Array; token?: number; pos?: number; logits?: Float32Array; threads?: number }) =>
    native.decodeStep(o.ws ?? ws, o.types ?? types, dims, m.invFreq, kv(), kv(), o.token ?? 3, o.pos ?? 0, o.logits ?? logits, null, null, null, null, null, o.threads);
  call({});
  assert.ok(logits.every(Number.isFinite) && logits.some((v) => v !== 0), 'a good call computes logits');
  assert.throws(() => call({ token: 300 }), /token id 300 is outside the vocabulary \[0, 300\)/);
  assert.throws(() => call({ pos: 4 }), /key cache of layer 0 has no row 4/);
  assert.throws(() => call({ logits: new Float32Array(10) }), /logits/);
  const short = [...ws];
  short[5] = new Float32Array(10);
  assert.throws(() => call({ ws: short }), /weight 5 holds 10 values, expected 65536/);
  const wrongType = Int32Array.from(types);
  wrongType[5] = 8;
  assert.throws(() => call({ types: wrongType }), /weight 5 has ggml type 8 and must be a Uint8Array/);
  assert.throws(() => call({ ws: ws.slice(0, 10) }), /expected 16 weights/);
  assert.throws(() => call({ threads: -1 }), /decodeStep: threads must be >= 0, got -1/);
  const threadsWas = native.getThreads();
  call({ threads: 1 });
  assert.equal(native.getThreads(), threadsWas, 'a capped token leaves the engine its threads');
  // A decode token on a disposed model: a message that says so (not a native complaint about empty weights).
  const cache = new KVCache(c, 4);
  tidy(() => m.forward(Int32Array.of(1, 2), { cache, lastOnly: true }));
  m.dispose();
  assert.throws(() => m.forward(Int32Array.of(3), { cache, lastOnly: true }), /model .* was used after dispose\(\)/);
  cache.dispose();
});
