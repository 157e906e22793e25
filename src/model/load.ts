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
import { readSafetensors } from '../io/safetensors.js';
import { readGGUF } from '../io/gguf.js';
import { readLlama2c } from '../io/llama2c.js';
import { tensorsByHfName } from '../io/names.js';
import { FormatError } from '../io/errors.js';
import type { Tokenizer } from '../text/tokenizer.js';
import { Llama2cTokenizer } from '../text/llama2c-tokenizer.js';
import { GGUFLlamaTokenizer } from '../text/gguf-vocab-tokenizer.js';
import { HFTokenizer } from '../text/hf-tokenizer.js';
import { ConfigError, parseHFConfig, type LlamaConfig } from './config.js';
import { LlamaModel } from './llama.js';

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
}

export interface LoadOptions {
  /** Tokenizer file for llama2.c checkpoints (default: tok{vocab}.bin or tokenizer.bin beside the model). */
  tokenizer?: string;
  id?: string;
  revision?: string | null;
}

/** Detects the format of a local path. */
export function detectFormat(path: string): ModelFormat {
  if (!existsSync(path)) throw new Error(`${path}: no such file or folder`);
  if (statSync(path).isDirectory()) {
    if (!existsSync(join(path, 'config.json'))) throw new Error(`${path}: a model folder needs config.json (Hugging Face layout)`);
    return 'safetensors';
  }
  const head = Buffer.alloc(4);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  if (head.toString('latin1') === 'GGUF') return 'gguf';
  if (path.endsWith('.safetensors') || path.endsWith('.json')) return 'safetensors';
  return 'llama2c';
}

export function loadModelFromPath(path: string, opts: LoadOptions = {}): LoadedModel {
  const format = detectFormat(path);
  const base = { id: opts.id ?? path, revision: opts.revision ?? null };
  if (format === 'gguf') return { ...loadGGUF(path), ...base };
  if (format === 'llama2c') return { ...loadLlama2c(path, opts.tokenizer), ...base };
  return { ...loadHF(statSync(path).isDirectory() ? path : dirname(path)), ...base };
}

/** Reads the tensors the config calls for, checking each shape, into f32 tensors under HF names. */
function readWeights(file: string, entries: Map<string, TensorEntry>, config: LlamaConfig): Map<string, Tensor> {
  const expected = expectedShapes(config, entries);
  return untracked(() => {
    const out = new Map<string, Tensor>();
    try {
      for (const [name, shape] of expected) {
        const e = entries.get(name);
        if (!e) throw new FormatError(file, `tensor "${name}"`, `present (the config calls for shape [${shape.join(', ')}])`, 'missing');
        if (e.shape.length !== shape.length || e.shape.some((d, i) => d !== shape[i]))
          throw new FormatError(file, `tensor "${name}"`, `shape [${shape.join(', ')}] from the config`, `got [${e.shape.join(', ')}]`);
        out.set(name, Tensor.from(readF32(e), shape, { name }));
      }
    } catch (err) {
      for (const t of out.values()) t.dispose();
      throw err;
    }
    return out;
  });
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

function loadHF(dir: string): Omit<LoadedModel, 'id' | 'revision'> {
  const cfgPath = join(dir, 'config.json');
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new ConfigError(cfgPath, '(file)', 'valid JSON', (e as Error).message);
  }
  const config = parseHFConfig(raw, cfgPath);
  const ck = readSafetensors(dir);
  const weights = readWeights(ck.files[0] ?? dir, ck.tensors, config);
  const tokPath = join(dir, 'tokenizer.json');
  if (!existsSync(tokPath)) throw new Error(`${dir}: tokenizer.json is missing (the model folder needs its Hugging Face tokenizer)`);
  const tcPath = join(dir, 'tokenizer_config.json');
  const tokenizer = HFTokenizer.fromFiles(tokPath, existsSync(tcPath) ? tcPath : undefined, eosList(config.eos_token_id));
  if (tokenizer.vocabSize > config.vocab_size) {
    for (const t of weights.values()) t.dispose();
    throw new Error(`${tokPath}: the tokenizer has ${tokenizer.vocabSize} tokens but ${cfgPath} says vocab_size ${config.vocab_size}: they do not belong together`);
  }
  const tc = existsSync(tcPath) ? (JSON.parse(readFileSync(tcPath, 'utf8')) as Record<string, unknown>) : {};
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
    throw new FormatError(file, 'metadata "general.architecture"', '"llama" or "qwen2"', `got ${JSON.stringify(arch)}`);
  const k = (s: string) => `${arch}.${s}`;
  const C = ggufNum(file, meta, k('embedding_length'));
  const NH = ggufNum(file, meta, k('attention.head_count'));
  const tokens = meta['tokenizer.ggml.tokens'];
  const embd = tensors.get('token_embd.weight');
  const vocab = Array.isArray(tokens) ? tokens.length : embd ? embd.shape[0] : NaN;
  const scaling = meta[k('rope.scaling.type')];
  if (scaling !== undefined && scaling !== 'none')
    throw new FormatError(file, `metadata "${k('rope.scaling.type')}"`, '"none" (GGUF rope scaling is not supported yet)', `got ${JSON.stringify(scaling)}`);
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

function loadGGUF(path: string): Omit<LoadedModel, 'id' | 'revision'> {
  const ck = readGGUF(path);
  const config = configFromGGUF(basename(path), ck.metadata, ck.tensors);
  const weights = readWeights(basename(path), tensorsByHfName(ck), config);
  const tokenizer = GGUFLlamaTokenizer.fromMetadata(ck.metadata, basename(path));
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
export function configFromLlama2c(meta: Checkpoint['metadata']): LlamaConfig {
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
  }, 'llama2.c header');
}

function loadLlama2c(path: string, tokenizerPath?: string): Omit<LoadedModel, 'id' | 'revision'> {
  const ck = readLlama2c(path);
  const config = configFromLlama2c(ck.metadata);
  const weights = readWeights(basename(path), ck.tensors, config);
  const candidates = tokenizerPath ? [tokenizerPath] : [join(dirname(path), `tok${config.vocab_size}.bin`), join(dirname(path), 'tokenizer.bin')];
  const tok = candidates.find((p) => existsSync(p));
  if (!tok) {
    for (const t of weights.values()) t.dispose();
    throw new Error(`${path}: no llama2.c tokenizer found (looked for ${candidates.join(', ')}); pass one with --tokenizer`);
  }
  const tokenizer = Llama2cTokenizer.fromFile(tok, config.vocab_size);
  if (tokenizer.vocabSize !== config.vocab_size)
    throw new Error(`${tok}: the tokenizer has ${tokenizer.vocabSize} tokens but ${basename(path)} has a vocabulary of ${config.vocab_size}: they do not belong together`);
  return { model: new LlamaModel(config, weights, 'interleaved', path), tokenizer, format: 'llama2c', chatTemplate: null, addBos: true, files: [path, tok] };
}
