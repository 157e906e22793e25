// llama.cpp (node-llama-cpp's prebuilt CPU binaries) as an independent reference, shared by the tests that compare
// our forward with it: log-probabilities at every position of a prompt, optionally with a LoRA GGUF on the context.
// node-llama-cpp exposes next-token probabilities (softmax of the logits), not raw logits, so we compare
// log-probabilities: log p = logit - logsumexp(logits), i.e. the logits up to a per-position shift.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { tidy } from '../../src/engine/index.js';
import type { Adapter } from '../../src/adapters/files.js';
import type { LlamaModel } from '../../src/model/llama.js';
import { loadModelFromPath } from '../../src/model/load.js';
import type { ControlledEvaluateInputItem, Token } from 'node-llama-cpp';

type NLC = typeof import('node-llama-cpp');
type Llama = Awaited<ReturnType<NLC['getLlama']>>;

let llamaPromise: Promise<Llama | string> | undefined;
/** The CPU backend from the prebuilt binaries: gpu false, and build 'never' so it never downloads or compiles. */
function getLlamaCpu(): Promise<Llama | string> {
  llamaPromise ??= (async () => {
    try {
      const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
      return await getLlama({ gpu: false, build: 'never', usePrebuiltBinaries: true, progressLogs: false, logLevel: LlamaLogLevel.error });
    } catch (e) {
      return `node-llama-cpp could not load its prebuilt CPU binary: ${(e as Error).message}`;
    }
  })();
  return llamaPromise;
}

export async function requireLlama(t: TestContext): Promise<Llama | null> {
  const l = await getLlamaCpu();
  if (typeof l !== 'string') return l;
  if (process.env.CI === 'true') throw new Error(l);
  t.skip(l);
  return null;
}

/** llama.cpp's log-probabilities [T, V] after each of `ids` (one full distribution per position). */
export async function llamaCppLogProbs(llama: Llama, path: string, ids: number[], lora?: string): Promise<{ logp: Float64Array[]; vocab: number }> {
  const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
  try {
    // llama.cpp's defaults (flash attention 'auto', which is on for CPU, and an F16 KV cache) round keys and values
    // to f16: up to 1.5e-2 in log p on this model. Off and F32 it does the arithmetic we do: ~1e-5.
    const ctx = await model.createContext({
      contextSize: 256, batchSize: 256, threads: 2,
      flashAttention: false, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32',
      ...(lora ? { lora: { adapters: [{ filePath: lora, scale: 1 }] } } : {}),
    });
    try {
      const seq = ctx.getSequence();
      const next = { probabilities: true, options: { temperature: 1, topK: 0, topP: 1, minP: 0 } }; // no truncation: all V
      const res = await seq.controlledEvaluate(ids.map((id): ControlledEvaluateInputItem => [id as Token, { generateNext: next }]));
      const logp = res.map((r, i) => {
        const p = r?.next?.probabilities;
        assert.ok(p, `no probabilities at position ${i}`);
        const row = new Float64Array(p.size);
        for (const [tok, prob] of p) row[tok] = Math.log(prob);
        return row;
      });
      return { logp, vocab: logp[0]?.length ?? 0 }; // the full distribution: one probability per vocabulary entry
    } finally {
      await ctx.dispose();
    }
  } finally {
    await model.dispose();
  }
}

/** llama.cpp's tokens for each of `strings` (no BOS added) and its BOS/EOS ids, from the GGUF at `path`. */
export async function llamaCppTokens(llama: Llama, path: string, strings: readonly string[]): Promise<{ ids: number[][]; bos: number | null; eos: number | null }> {
  const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
  try {
    return { ids: strings.map((s) => [...model.tokenize(s, false)]), bos: model.tokens.bos ?? null, eos: model.tokens.eos ?? null };
  } finally {
    await model.dispose();
  }
}

/** Our tokens of `text` (the model's BOS convention) under the model at `path`. */
export function ourTokens(path: string, text: string): number[] {
  const loaded = loadModelFromPath(path);
  try {
    return loaded.tokenizer.encode(text);
  } finally {
    loaded.model.dispose();
  }
}

/** Our log-softmax of every position's logits, in float64 (the model at `path`, or a loaded model with an adapter). */
export function ourLogProbs(path: string | LlamaModel, ids: number[], adapter: Adapter | null = null): Float64Array[] {
  const m = typeof path === 'string' ? loadModelFromPath(path).model : path;
  try {
    return tidy(() => {
      const y = m.forward(Int32Array.from(ids), { adapter });
      const [T, V] = y.shape, d = y.f32();
      return Array.from({ length: T }, (_, t) => {
        const r = Float64Array.from(d.subarray(t * V, (t + 1) * V));
        const mx = Math.max(...r);
        const lse = mx + Math.log(r.reduce((s, x) => s + Math.exp(x - mx), 0));
        return r.map((x) => x - lse);
      });
    });
  } finally {
    if (typeof path === 'string') m.dispose();
  }
}

/** Largest |Δ log p| over positions and tokens whose probability is not negligible in either implementation. */
export function compare(ours: Float64Array[], theirs: Float64Array[]): { all: number; last: number } {
  assert.equal(ours.length, theirs.length);
  let all = 0, last = 0;
  ours.forEach((row, t) => {
    assert.equal(row.length, theirs[t].length);
    for (let v = 0; v < row.length; v++) {
      // A float32 probability under ~1e-30 loses its low bits in llama.cpp's softmax; those logits carry no signal.
      if (row[v] < -60 && theirs[t][v] < -60) continue;
      const d = Math.abs(row[v] - theirs[t][v]);
      all = Math.max(all, d);
      if (t === ours.length - 1) last = Math.max(last, d);
    }
  });
  return { all, last };
}

