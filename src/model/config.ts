// The model configuration, with Hugging Face's config.json keys as they are (LlamaConfig, MistralConfig,
// Qwen2Config share them), plus where it came from. GGUF metadata and llama2.c headers are translated into
// the same keys, so one forward pass serves every format.
import { FormatError, shownJson } from '../io/errors.js';
export type RopeScaling =
  | { rope_type: 'llama3'; factor: number; low_freq_factor: number; high_freq_factor: number; original_max_position_embeddings: number }
  | { rope_type: 'linear'; factor: number }
  | { rope_type: 'default' };

export interface LlamaConfig {
  architectures: string[];
  model_type: 'llama' | 'mistral' | 'qwen2';
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  vocab_size: number;
  rms_norm_eps: number;
  rope_theta: number;
  rope_scaling: RopeScaling | null;
  tie_word_embeddings: boolean;
  /** q/k/v (and o for Llama) biases. Qwen2 always has q/k/v biases and no o bias. */
  attention_bias: boolean;
  max_position_embeddings: number;
  bos_token_id: number | null;
  eos_token_id: number | number[] | null;
}

export const SUPPORTED_ARCHITECTURES = ['LlamaForCausalLM', 'MistralForCausalLM', 'Qwen2ForCausalLM'] as const;

/**
 * Thrown for a configuration we cannot run; names the file, the key and what was expected. A FormatError, so
 * callers that tell "bad file" from "broken program" treat a bad config.json like any other bad file.
 */
export class ConfigError extends FormatError {
  constructor(file: string, readonly key: string, expected: string, got?: unknown) {
    super(file, `"${key}"`, expected, got === undefined ? undefined : `got ${shownJson(got)}`);
    // Keeps the full path (not FormatError's base name): a config is often one of many config.json files.
    this.message = `${file}: "${key}": expected ${expected}${got === undefined ? '' : `, got ${shownJson(got)}`}`;
    this.name = 'ConfigError';
  }
}

const MAX_INT = 2 ** 31 - 1;

function int(file: string, raw: Record<string, unknown>, key: string, dflt?: number, at = ''): number {
  const v = raw[key] ?? dflt;
  // Bounded like the int32 fields of every other format: sizes are multiplied together and allocated.
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new ConfigError(file, at + key, 'a positive integer', raw[key]);
  if (v > MAX_INT) throw new ConfigError(file, at + key, `a positive integer of at most ${MAX_INT}`, raw[key]);
  return v;
}
function num(file: string, raw: Record<string, unknown>, key: string, dflt: number, at = ''): number {
  const v = raw[key] ?? dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new ConfigError(file, at + key, 'a positive number', raw[key]);
  return v;
}

/** A boolean flag; absent or null means false. A string like "false" is refused rather than read as true. */
function bool(file: string, raw: Record<string, unknown>, key: string): boolean {
  const v = raw[key] ?? false;
  if (typeof v !== 'boolean') throw new ConfigError(file, key, 'true or false', raw[key]);
  return v;
}

const isTokenId = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** A token id (a non-negative integer) or null/absent. */
function tokenId(file: string, raw: Record<string, unknown>, key: string): number | null {
  const v = raw[key];
  if (v === undefined || v === null) return null;
  if (!isTokenId(v)) throw new ConfigError(file, key, 'a token id (a non-negative integer) or null', v);
  return v;
}

/** eos_token_id: one id, a list of ids (Llama 3 ends turns on several), or null/absent. */
function eosTokenIds(file: string, v: unknown): number | number[] | null {
  if (v === undefined || v === null) return null;
  if (isTokenId(v)) return v;
  if (Array.isArray(v) && v.every(isTokenId)) return v;
  throw new ConfigError(file, 'eos_token_id', 'a token id (a non-negative integer), a list of them, or null', v);
}

function ropeScaling(file: string, raw: unknown): RopeScaling | null {
  if (raw === null || raw === undefined) return null;
  if (typeof raw !== 'object') throw new ConfigError(file, 'rope_scaling', 'an object or null', raw);
  const r = raw as Record<string, unknown>;
  const type = r.rope_type ?? r.type;
  if (type === 'default') return { rope_type: 'default' };
  const at = 'rope_scaling.';
  if (type === 'linear') return { rope_type: 'linear', factor: num(file, r, 'factor', NaN, at) };
  if (type === 'llama3')
    return {
      rope_type: 'llama3',
      factor: num(file, r, 'factor', NaN, at),
      low_freq_factor: num(file, r, 'low_freq_factor', 1, at),
      high_freq_factor: num(file, r, 'high_freq_factor', 4, at),
      original_max_position_embeddings: int(file, r, 'original_max_position_embeddings', 8192, at),
    };
  throw new ConfigError(file, 'rope_scaling.rope_type', '"llama3", "linear" or "default" (others are not supported yet)', type);
}

/** Parses a Hugging Face config.json object. */
export function parseHFConfig(json: unknown, file = 'config.json'): LlamaConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new ConfigError(file, '(top level)', 'a JSON object of model settings ({"architectures": [...], "hidden_size": ...})', json);
  const raw = json as Record<string, unknown>;
  const archs = raw.architectures;
  if (!Array.isArray(archs) || archs.length === 0 || typeof archs[0] !== 'string')
    throw new ConfigError(file, 'architectures', `a list naming one of ${SUPPORTED_ARCHITECTURES.join(', ')}`, archs);
  const arch = archs[0] as string;
  if (!(SUPPORTED_ARCHITECTURES as readonly string[]).includes(arch))
    throw new ConfigError(file, 'architectures', `one of ${SUPPORTED_ARCHITECTURES.join(', ')}`, arch);
  const model_type = arch === 'Qwen2ForCausalLM' ? 'qwen2' : arch === 'MistralForCausalLM' ? 'mistral' : 'llama';
  const hidden = int(file, raw, 'hidden_size');
  const heads = int(file, raw, 'num_attention_heads');
  const headDim = raw.head_dim == null ? hidden / heads : int(file, raw, 'head_dim');
  if (!Number.isInteger(headDim)) throw new ConfigError(file, 'head_dim', `hidden_size / num_attention_heads to be an integer (${hidden} / ${heads})`);
  const kv = int(file, raw, 'num_key_value_heads', heads);
  if (heads % kv !== 0) throw new ConfigError(file, 'num_key_value_heads', `a divisor of num_attention_heads (${heads})`, kv);
  const act = raw.hidden_act ?? 'silu';
  if (act !== 'silu') throw new ConfigError(file, 'hidden_act', '"silu"', act);
  return {
    architectures: [arch],
    model_type,
    hidden_size: hidden,
    intermediate_size: int(file, raw, 'intermediate_size'),
    num_hidden_layers: int(file, raw, 'num_hidden_layers'),
    num_attention_heads: heads,
    num_key_value_heads: kv,
    head_dim: headDim,
    vocab_size: int(file, raw, 'vocab_size'),
    rms_norm_eps: num(file, raw, 'rms_norm_eps', 1e-6),
    rope_theta: num(file, raw, 'rope_theta', 10000),
    rope_scaling: ropeScaling(file, raw.rope_scaling),
    tie_word_embeddings: bool(file, raw, 'tie_word_embeddings'), // false: transformers' default for all three
    attention_bias: model_type === 'qwen2' ? true : bool(file, raw, 'attention_bias'),
    max_position_embeddings: int(file, raw, 'max_position_embeddings', 2048),
    bos_token_id: tokenId(file, raw, 'bos_token_id'),
    eos_token_id: eosTokenIds(file, raw.eos_token_id),
  };
}

/** A config.json object for this config (what `lift convert` writes). */
export function toHFConfig(c: LlamaConfig): Record<string, unknown> {
  const { head_dim, ...rest } = c;
  return { ...rest, head_dim, hidden_act: 'silu', torch_dtype: 'float32' };
}

/** Trainable/base parameter count of the dense model. */
export function parameterCount(c: LlamaConfig): number {
  const C = c.hidden_size, D = c.head_dim, NH = c.num_attention_heads, KV = c.num_key_value_heads, I = c.intermediate_size;
  const attn = C * NH * D * 2 + C * KV * D * 2 + (c.attention_bias ? NH * D + 2 * KV * D : 0);
  const layer = attn + 3 * C * I + 2 * C;
  return c.vocab_size * C * (c.tie_word_embeddings ? 1 : 2) + c.num_hidden_layers * layer + C;
}
