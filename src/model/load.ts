// Opens a checkpoint in any supported format and returns the model, its tokenizer and where it came from:
//   - a Hugging Face folder (config.json + model.safetensors or a sharded index; tokenizer.json),
//   - a GGUF file (llama architecture metadata; the embedded vocabulary becomes the tokenizer),
//   - a llama2.c .bin (+ tok{N}.bin / tokenizer.bin beside it, or `tokenizer`).
// Every tensor's shape is checked against the config before any weight is used.
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Tensor, untracked } from '../engine/index.js';
import type { RopeLayout } from '../engine/index.js';
import { readF32, type Checkpoint, type TensorEntry } from '../io/tensor-entry.js';
import { keepsStorage, readStoredWeight } from './stored-weights.js';
import { readSafetensors } from '../io/safetensors.js';
import { readGGUF } from '../io/gguf.js';
import { readLlama2c } from '../io/llama2c.js';
import { tensorsByHfName } from '../io/names.js';
import { FormatError, shownJson } from '../io/errors.js';
import type { Tokenizer } from '../text/tokenizer.js';
import { SentencePieceTokenizer } from '../text/sentencepiece.js';
import { fromGGUFMetadata } from '../text/gguf-vocab-tokenizer.js';
import { HFTokenizer } from '../text/hf-tokenizer.js';
import { ConfigError, parseHFConfig, type LlamaConfig } from './config.js';
import { LlamaModel } from './llama.js';
import { chooseCompute, withBf16Weights } from './compute.js';
import type { Compute, ComputeMode } from '../engine/index.js';

export type ModelFormat = 'safetensors' | 'gguf' | 'llama2c';

export interface LoadedModel {
  model: LlamaModel;
  tokenizer: Tokenizer;
  format: ModelFormat;
  /** Identity for adapter manifests: a repo id or a file path, plus the revision when known. */
  id: string;
  revision: string | null;
  /** The chat template (tokenizer_config.json or tokenizer.chat_template in GGUF), if the model has one. */
  chatTemplate: string | null;
  /** Whether raw prompts should start with BOS (llama2.c/SentencePiece models: yes). */
  addBos: boolean;
  files: string[];
  /** What the frozen weights' matrix products run in (LoadOptions.compute; src/model/compute.ts). */
  compute: Compute;
  /** One line for the user when compute 'auto' fell back to fp32 (why), else null. */
  computeNote: string | null;
}

export interface LoadOptions {
  /** Tokenizer file for llama2.c checkpoints (default: tok{vocab}.bin or tokenizer.bin beside the model). */
  tokenizer?: string;
  id?: string;
  revision?: string | null;
  /**
   * fp32 (default), bf16 (frozen weights in bf16, their products on the CPU's AVX-512 BF16 units; a ComputeError
   * where there are none or the weights are quantized) or auto (bf16 when it can run, else fp32 with computeNote).
   */
  compute?: ComputeMode;
}

/** Detects the format of a local path: a folder is a Hugging Face model; a file goes by its first bytes. */
export function detectFormat(path: string): ModelFormat {
  if (!existsSync(path)) throw new Error(`${path}: no such file or folder`);
  if (statSync(path).isDirectory()) {
    if (!existsSync(join(path, 'config.json'))) throw new Error(`${path}: a model folder needs config.json (Hugging Face layout)`);
    return 'safetensors';
  }
  const head = Buffer.alloc(16);
  const fd = openSync(path, 'r');
  let n: number;
  try {
    n = readSync(fd, head, 0, 16, 0);
  } finally {
    closeSync(fd);
  }
  return formatOfBytes(path, head.subarray(0, n));
}

/** Magic numbers of files people pass by mistake, so the error says what the file is. */
const FOREIGN: [prefix: string, what: string][] = [
  ['PK\x03\x04', 'a zip archive (a PyTorch .pt/.bin checkpoint?): convert it to safetensors first'],
  ['\x80', 'a Python pickle (a PyTorch checkpoint?): convert it to safetensors first'],
  ['tjgg', 'a legacy GGJT file (pre-GGUF llama.cpp): convert it to GGUF first'],
  ['lmgg', 'a legacy GGML file (pre-GGUF llama.cpp): convert it to GGUF first'],
  ['fmgg', 'a legacy GGMF file (pre-GGUF llama.cpp): convert it to GGUF first'],
  ['<', 'text (an HTML page from a failed download?)'],
  ['{', 'JSON, not weights (a model folder needs config.json beside model.safetensors)'],
];

/**
 * The format the first bytes announce. GGUF and safetensors carry a signature ("GGUF"; a u64 header length
 * then "{"); llama.cpp's .gguf name or a .safetensors name with the wrong signature is reported as such,
 * naming what was found, rather than falling through to llama2.c (which has no signature: 7 int32 fields).
 */
export function formatOfBytes(path: string, head: Uint8Array): ModelFormat {
  const latin = Buffer.from(head).toString('latin1');
  const found = `first bytes ${JSON.stringify(latin.slice(0, 8))} (hex ${Buffer.from(head.subarray(0, 8)).toString('hex')})`;
  if (latin.startsWith('GGUF')) return 'gguf';
  const lower = path.toLowerCase();
  if (lower.endsWith('.gguf')) throw new FormatError(path, 'magic', '"GGUF" (the file is named .gguf)', `found ${found}`);
  if (head.length >= 9 && head[8] === 0x7b /* { */) return 'safetensors';
  // A sharded checkpoint is named by its index (model.safetensors.index.json): the folder's model is loaded.
  if (lower.endsWith('.json') && latin.trimStart().startsWith('{')) return 'safetensors';
  if (lower.endsWith('.safetensors')) throw new FormatError(path, 'header', 'a u64 header length then "{" (the file is named .safetensors)', `found ${found}`);
  for (const [prefix, what] of FOREIGN) {
    if (latin.startsWith(prefix)) throw new FormatError(path, 'magic', 'a GGUF, safetensors or llama2.c checkpoint', `found ${found}: ${what}`);
  }
  if (!plausibleLlama2cHeader(head)) {
    throw new FormatError(path, 'magic', 'a GGUF file ("GGUF"), a safetensors file (u64 length, then "{") or a llama2.c checkpoint (7 positive int32 sizes)',
      `found ${found}`);
  }
  return 'llama2c';
}

/** llama2.c's header is 7 int32: dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size (negative: unshared classifier), seq_len. */
function plausibleLlama2cHeader(head: Uint8Array): boolean {
  if (head.length < 16) return head.length > 0; // short files: let the llama2.c reader name the size
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  for (let i = 0; i < 4; i++) {
    const v = dv.getInt32(i * 4, true);
    if (v <= 0 || v > 1 << 24) return dv.getUint32(0, true) === 0x616b3432; // "ak42": the reader explains v1/v2
  }
  return true;
}

export function loadModelFromPath(path: string, opts: LoadOptions = {}): LoadedModel {
  const format = detectFormat(path);
  const base = { id: opts.id ?? path, revision: opts.revision ?? null };
  const loaded = format === 'gguf' ? loadGGUF(path) : format === 'llama2c' ? loadLlama2c(path, opts.tokenizer) : loadHF(statSync(path).isDirectory() ? path : dirname(path));
  let choice;
  try {
    choice = chooseCompute(opts.compute ?? 'fp32', loaded.model.weights, path, loaded.model.config.hidden_size);
  } catch (e) {
    loaded.model.dispose();
    throw e;
  }
  const model = choice.compute === 'bf16' ? withBf16Weights(loaded.model) : loaded.model;
  return { ...loaded, ...base, model, compute: choice.compute, computeNote: choice.note };
}

/**
 * Reads the tensors the config calls for, checking each shape, into f32 tensors under HF names. Also refuses a
 * config that declares fewer layers than the file holds (running the first N would be silently wrong) and any
 * non-finite weight (one pass over each tensor as it is read: NaN in base weights poisons every later result).
 * `configFile` names where the layer count came from (config.json, or the checkpoint's own header).
 */
function readWeights(file: string, entries: Map<string, TensorEntry>, config: LlamaConfig, configFile: string): Map<string, Tensor> {
  checkLayerCount(file, entries, config, configFile);
  const expected = expectedShapes(config, entries);
  return untracked(() => {
    const out = new Map<string, Tensor>();
    try {
      for (const [name, shape] of expected) {
        const e = entries.get(name);
        if (!e) throw new FormatError(file, `tensor "${name}"`, `present (the config calls for shape [${shape.join(', ')}])`, 'missing');
        if (e.shape.length !== shape.length || e.shape.some((d, i) => d !== shape[i]))
          throw new FormatError(file, `tensor "${name}"`, `shape [${shape.join(', ')}] from the config`, `got [${e.shape.join(', ')}]`);
        if (keepsStorage(e, shape)) {
          out.set(name, readStoredWeight(file, e, shape, name)); // 16-bit / quantized: stays as stored
          continue;
        }
        const data = readF32(e);
        const bad = firstNonFinite(data);
        if (bad >= 0) throw new FormatError(file, `tensor "${e.name}"`, 'finite weights', `element ${bad} is ${data[bad]}: the checkpoint is damaged`);
        out.set(name, Tensor.from(data, shape, { name }));
      }
    } catch (err) {
      for (const t of out.values()) t.dispose();
      throw err;
    }
    return out;
  });
}

/** Index of the first NaN/±Infinity, or -1. (x - x is 0 for finite x and NaN otherwise: one comparison per value.) */
export function firstNonFinite(a: Float32Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] - a[i] !== 0) return i;
  return -1;
}

function checkLayerCount(file: string, entries: Map<string, TensorEntry>, config: LlamaConfig, configFile: string): void {
  let layers = 0;
  for (const name of entries.keys()) {
    const m = /^model\.layers\.(\d+)\./.exec(name);
    if (m) layers = Math.max(layers, Number(m[1]) + 1);
  }
  if (layers > config.num_hidden_layers) {
    throw new ConfigError(configFile, 'num_hidden_layers', `${layers}: ${basename(file)} holds ${layers} layers (running only the first `
      + `${config.num_hidden_layers} would give wrong results)`, config.num_hidden_layers);
  }
  // Checked here, before one expected shape per declared layer is listed (a mutated count of 1e100 would not fit).
  if (layers < config.num_hidden_layers)
    throw new ConfigError(configFile, 'num_hidden_layers', `${layers}: ${basename(file)} holds ${layers} layers`, config.num_hidden_layers);
}

function expectedShapes(c: LlamaConfig, entries: Map<string, TensorEntry>): Map<string, number[]> {
  const C = c.hidden_size, QD = c.num_attention_heads * c.head_dim, KD = c.num_key_value_heads * c.head_dim, I = c.intermediate_size;
  const m = new Map<string, number[]>([['model.embed_tokens.weight', [c.vocab_size, C]], ['model.norm.weight', [C]]]);
  if (!c.tie_word_embeddings) m.set('lm_head.weight', [c.vocab_size, C]);
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`;
    m.set(p + 'input_layernorm.weight', [C]).set(p + 'post_attention_layernorm.weight', [C]);
    m.set(p + 'self_attn.q_proj.weight', [QD, C]).set(p + 'self_attn.k_proj.weight', [KD, C]);
    m.set(p + 'self_attn.v_proj.weight', [KD, C]).set(p + 'self_attn.o_proj.weight', [C, QD]);
    if (c.attention_bias) {
      m.set(p + 'self_attn.q_proj.bias', [QD]).set(p + 'self_attn.k_proj.bias', [KD]).set(p + 'self_attn.v_proj.bias', [KD]);
      if (c.model_type === 'llama' && entries.has(p + 'self_attn.o_proj.bias')) m.set(p + 'self_attn.o_proj.bias', [C]);
    }
    m.set(p + 'mlp.gate_proj.weight', [I, C]).set(p + 'mlp.up_proj.weight', [I, C]).set(p + 'mlp.down_proj.weight', [C, I]);
  }
  return m;
}

function loadHF(dir: string): Omit<LoadedModel, 'id' | 'revision' | 'compute' | 'computeNote'> {
  const cfgPath = join(dir, 'config.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(cfgPath, 'utf8'));
  } catch (e) {
    throw new ConfigError(cfgPath, '(file)', 'valid JSON', (e as Error).message);
  }
  const config = parseHFConfig(raw, cfgPath);
  const ck = readSafetensors(dir);
  const weights = readWeights(ck.files[0] ?? dir, ck.tensors, config, cfgPath);
  const tokPath = join(dir, 'tokenizer.json');
  const tcPath = join(dir, 'tokenizer_config.json');
  let tokenizer: HFTokenizer;
  try {
    if (!existsSync(tokPath)) throw new Error(`${dir}: tokenizer.json is missing (the model folder needs its Hugging Face tokenizer)`);
    tokenizer = HFTokenizer.fromFiles(tokPath, existsSync(tcPath) ? tcPath : undefined, eosList(config.eos_token_id));
    if (tokenizer.vocabSize > config.vocab_size)
      throw new FormatError(tokPath, 'vocabulary', `at most vocab_size ${config.vocab_size} tokens (${cfgPath})`, `the tokenizer has ${tokenizer.vocabSize}: they do not belong together`);
  } catch (e) {
    for (const t of weights.values()) t.dispose(); // native memory: a long-running caller (server, fuzzer) must not leak it
    throw e;
  }
  const tc = tokenizer.config; // already read and checked to be an object by HFTokenizer.fromFiles
  return {
    model: new LlamaModel(config, weights, 'half', dir),
    tokenizer,
    format: 'safetensors',
    chatTemplate: typeof tc.chat_template === 'string' ? tc.chat_template : null,
    addBos: (tokenizer as HFTokenizer).addBos,
    files: [cfgPath, ...ck.files, tokPath],
  };
}

const eosList = (e: number | number[] | null): number[] => (e === null ? [] : Array.isArray(e) ? e : [e]);

function ggufNum(file: string, meta: Record<string, unknown>, key: string, dflt?: number): number {
  const v = meta[key] ?? dflt;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v !== 'number') throw new FormatError(file, `metadata "${key}"`, 'a number', v === undefined ? 'missing' : `got ${typeof v}`);
  return v;
}

/** GGUF metadata → the Hugging Face config keys. */
export function configFromGGUF(file: string, meta: Record<string, unknown>, tensors: Map<string, TensorEntry>): LlamaConfig {
  const arch = meta['general.architecture'];
  if (arch !== 'llama' && arch !== 'qwen2')
    throw new FormatError(file, 'metadata "general.architecture"', '"llama" or "qwen2"', `got ${shownJson(arch)}`);
  const k = (s: string) => `${arch}.${s}`;
  const C = ggufNum(file, meta, k('embedding_length'));
  const NH = ggufNum(file, meta, k('attention.head_count'));
  const tokens = meta['tokenizer.ggml.tokens'];
  const embd = tensors.get('token_embd.weight');
  const vocab = Array.isArray(tokens) ? tokens.length : embd ? embd.shape[0] : NaN;
  const scaling = meta[k('rope.scaling.type')];
  if (scaling !== undefined && scaling !== 'none')
    throw new FormatError(file, `metadata "${k('rope.scaling.type')}"`, '"none" (GGUF rope scaling is not supported yet)', `got ${shownJson(scaling)}`);
  return parseHFConfig({
    architectures: [arch === 'qwen2' ? 'Qwen2ForCausalLM' : 'LlamaForCausalLM'],
    hidden_size: C,
    intermediate_size: ggufNum(file, meta, k('feed_forward_length')),
    num_hidden_layers: ggufNum(file, meta, k('block_count')),
    num_attention_heads: NH,
    num_key_value_heads: ggufNum(file, meta, k('attention.head_count_kv'), NH),
    head_dim: meta[k('attention.key_length')] !== undefined ? ggufNum(file, meta, k('attention.key_length')) : C / NH,
    vocab_size: vocab,
    rms_norm_eps: ggufNum(file, meta, k('attention.layer_norm_rms_epsilon'), 1e-5),
    rope_theta: ggufNum(file, meta, k('rope.freq_base'), 10000),
    max_position_embeddings: ggufNum(file, meta, k('context_length'), 2048),
    tie_word_embeddings: !tensors.has('output.weight'),
    bos_token_id: meta['tokenizer.ggml.bos_token_id'] ?? null,
    eos_token_id: meta['tokenizer.ggml.eos_token_id'] ?? null,
  }, file);
}

function loadGGUF(path: string): Omit<LoadedModel, 'id' | 'revision' | 'compute' | 'computeNote'> {
  const ck = readGGUF(path);
  const config = configFromGGUF(basename(path), ck.metadata, ck.tensors);
  const tokenizer = fromGGUFMetadata(ck.metadata, basename(path)); // SentencePiece or byte-level BPE
  const weights = readWeights(basename(path), tensorsByHfName(ck), config, path);
  const tmpl = ck.metadata['tokenizer.chat_template'];
  return {
    // llama.cpp's convert permutes q/k rows into the interleaved layout for llama; qwen2 keeps NEOX (half).
    model: new LlamaModel(config, weights, config.model_type === 'qwen2' ? 'half' : 'interleaved', path),
    tokenizer,
    format: 'gguf',
    chatTemplate: typeof tmpl === 'string' ? tmpl : null,
    addBos: ck.metadata['tokenizer.ggml.add_bos_token'] !== false,
    files: [path],
  };
}

/** llama2.c header → config keys (its weights are Meta's interleaved RoPE layout). */
export function configFromLlama2c(meta: Checkpoint['metadata'], file = 'llama2.c header'): LlamaConfig {
  const m = meta as { dim: number; hidden_dim: number; n_layers: number; n_heads: number; n_kv_heads: number; vocab_size: number; seq_len: number; shared_classifier: boolean };
  return parseHFConfig({
    architectures: ['LlamaForCausalLM'],
    hidden_size: m.dim,
    intermediate_size: m.hidden_dim,
    num_hidden_layers: m.n_layers,
    num_attention_heads: m.n_heads,
    num_key_value_heads: m.n_kv_heads,
    vocab_size: m.vocab_size,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    max_position_embeddings: m.seq_len,
    tie_word_embeddings: m.shared_classifier,
    bos_token_id: 1,
    eos_token_id: 2,
  }, file);
}

function loadLlama2c(path: string, tokenizerPath?: string): Omit<LoadedModel, 'id' | 'revision' | 'compute' | 'computeNote'> {
  const ck = readLlama2c(path);
  const config = configFromLlama2c(ck.metadata, path);
  const candidates = tokenizerPath ? [tokenizerPath] : [join(dirname(path), `tok${config.vocab_size}.bin`), join(dirname(path), 'tokenizer.bin')];
  const tok = candidates.find((p) => existsSync(p));
  if (!tok) throw new Error(`${path}: no llama2.c tokenizer found (looked for ${candidates.join(', ')}); pass one with --tokenizer`);
  const tokenizer = SentencePieceTokenizer.fromLlama2cFile(tok, config.vocab_size);
  if (tokenizer.vocabSize !== config.vocab_size)
    throw new FormatError(tok, 'vocabulary', `${config.vocab_size} tokens (the vocabulary of ${basename(path)})`, `the tokenizer has ${tokenizer.vocabSize}: they do not belong together`);
  const weights = readWeights(basename(path), ck.tensors, config, path);
  return { model: new LlamaModel(config, weights, 'interleaved', path), tokenizer, format: 'llama2c', chatTemplate: null, addBos: true, files: [path, tok] };
}
