// Reader for Karpathy's legacy llama2.c checkpoint (.bin, "version 0") and its tokenizer.bin.
// Checkpoint layout (little-endian):
//   7 x int32: dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len
//              (vocab_size < 0 means the classifier is NOT shared and follows at the very end)
//   float32, row-major (out, in), each stacked over layers where marked L:
//     tok_emb [V,C] | rms_att L[C] | wq L[C,C] | wk L[KV,C] | wv L[KV,C] | wo L[C,C] | rms_ffn L[C]
//     | w1 L[H,C] | w2 L[C,H] | w3 L[H,C] | rms_final [C] | freq_cis_real, freq_cis_imag [seq_len, hd/2] each
//     | wcls [V,C] (only when vocab_size < 0)
//   with KV = C * n_kv_heads / n_heads, hd = C / n_heads.
// Tensors are exposed under Hugging Face LlamaForCausalLM names, but q/k keep llama2.c's INTERLEAVED RoPE
// layout (pairs x[2i], x[2i+1]); metadata.rope_layout says so, and names.ts permuteQK converts if needed.
// Tokenizer layout: int32 max_token_length, then per token { float32 score, int32 len, len bytes }.
import { closeSync, fstatSync, openSync } from 'node:fs';
import { FormatError } from './errors.js';
import { type Checkpoint, type TensorEntry, readExact } from './tensor-entry.js';

export interface Llama2cMetadata {
  dim: number;
  hidden_dim: number;
  n_layers: number;
  n_heads: number;
  n_kv_heads: number;
  /** Absolute value of the header's field. */
  vocab_size: number;
  seq_len: number;
  shared_classifier: boolean;
  rope_layout: 'interleaved';
}

export interface Llama2cCheckpoint extends Checkpoint {
  format: 'llama2c';
  metadata: Llama2cMetadata & Record<string, unknown>;
}

/** The newer llama2.c export formats (v1/v2) start with this magic instead of dim. */
const AK42_MAGIC = 0x616b3432;
/** Sanity bound on every header field: far above any real model, low enough that products stay exact in a double. */
const MAX_FIELD = 1 << 24;

/** Opens a legacy llama2.c checkpoint, validating the header and the exact file size. */
export function readLlama2c(path: string): Llama2cCheckpoint {
  const fd = openSync(path, 'r');
  let size: number;
  let head: DataView;
  try {
    size = fstatSync(fd).size;
    if (size < 28) throw new FormatError(path, 'header', '28 bytes (7 x int32)', `file is ${size} bytes`);
    head = new DataView(readExact(fd, path, 0, 28, 'header').buffer);
  } finally {
    closeSync(fd);
  }
  const f = (i: number): number => head.getInt32(i * 4, true);
  if (head.getUint32(0, true) === AK42_MAGIC) {
    throw new FormatError(path, 'header', 'the legacy (version 0) llama2.c format', 'found the "ak42" v1/v2 export format, which is not supported');
  }
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabRaw, seqLen] = [0, 1, 2, 3, 4, 5, 6].map(f);
  const vocab = Math.abs(vocabRaw);
  const check = (name: string, v: number, ok: boolean, expected: string): void => {
    if (!ok) throw new FormatError(path, `header ${name}`, expected, `got ${v}`);
  };
  for (const [name, v] of [['dim', dim], ['hidden_dim', hiddenDim], ['n_layers', nLayers], ['n_heads', nHeads],
    ['n_kv_heads', nKvHeads], ['vocab_size', vocab], ['seq_len', seqLen]] as const) {
    check(name, v, v > 0 && v <= MAX_FIELD, `1..${MAX_FIELD}`);
  }
  check('n_heads', nHeads, dim % nHeads === 0 && (dim / nHeads) % 2 === 0, `a divisor of dim ${dim} giving an even head size`);
  check('n_kv_heads', nKvHeads, nHeads % nKvHeads === 0, `a divisor of n_heads ${nHeads}`);
  const headSize = dim / nHeads;
  const kvDim = headSize * nKvHeads;
  const shared = vocabRaw > 0;

  // Check the exact size arithmetically before creating any entry (a mutated n_layers must not build millions).
  const floats = 2 * vocab * dim - (shared ? vocab * dim : 0)
    + nLayers * (2 * dim + 2 * dim * dim + 2 * kvDim * dim + 3 * hiddenDim * dim) + dim + seqLen * headSize;
  const expected = 28 + 4 * floats;
  if (expected !== size) {
    throw new FormatError(path, 'file size', `${expected} bytes for the header's shapes (dim ${dim}, hidden_dim ${hiddenDim}, n_layers ${nLayers}, `
      + `n_heads ${nHeads}, n_kv_heads ${nKvHeads}, vocab_size ${vocabRaw}, seq_len ${seqLen})`,
    `found ${size} bytes${size < expected ? ' (truncated)' : ' (trailing data)'}`);
  }

  // Walk the layout once, recording per-layer slices; `pos` is in bytes.
  const tensors = new Map<string, TensorEntry>();
  let pos = 28;
  const add = (name: string, shape: number[]): void => {
    const byteLength = shape.reduce((a, b) => a * b, 1) * 4;
    tensors.set(name, { name, dtype: 'F32', shape, file: path, byteOffset: pos, byteLength });
    pos += byteLength;
  };
  const perLayer = (suffix: string, shape: number[]): void => {
    for (let l = 0; l < nLayers; l++) add(`model.layers.${l}.${suffix}`, shape);
  };
  add('model.embed_tokens.weight', [vocab, dim]);
  perLayer('input_layernorm.weight', [dim]);
  perLayer('self_attn.q_proj.weight', [dim, dim]);
  perLayer('self_attn.k_proj.weight', [kvDim, dim]);
  perLayer('self_attn.v_proj.weight', [kvDim, dim]);
  perLayer('self_attn.o_proj.weight', [dim, dim]);
  perLayer('post_attention_layernorm.weight', [dim]);
  perLayer('mlp.gate_proj.weight', [hiddenDim, dim]);
  perLayer('mlp.down_proj.weight', [dim, hiddenDim]);
  perLayer('mlp.up_proj.weight', [hiddenDim, dim]);
  add('model.norm.weight', [dim]);
  pos += 2 * seqLen * (headSize / 2) * 4; // legacy RoPE tables, recomputed by every reader
  if (!shared) add('lm_head.weight', [vocab, dim]);
  if (pos !== size) throw new Error(`readLlama2c: internal layout mismatch (${pos} vs ${size})`);
  const metadata: Llama2cMetadata & Record<string, unknown> = {
    dim, hidden_dim: hiddenDim, n_layers: nLayers, n_heads: nHeads, n_kv_heads: nKvHeads, vocab_size: vocab, seq_len: seqLen,
    shared_classifier: shared, rope_layout: 'interleaved',
  };
  return { format: 'llama2c', files: [path], tensors, metadata };
}

export interface Llama2cTokenizer {
  maxTokenLength: number;
  /** Pieces decoded as UTF-8 (invalid sequences become U+FFFD; `bytes` keeps the exact bytes). */
  vocab: string[];
  bytes: Uint8Array[];
  scores: Float32Array;
}

/**
 * Reads llama2.c's tokenizer.bin. Without `vocabSize` it reads entries until the end of the file; with it, the
 * file must hold exactly that many. Scores must be finite, lengths non-negative and inside the file.
 */
export function readLlama2cTokenizerFile(path: string, vocabSize?: number): Llama2cTokenizer {
  const fd = openSync(path, 'r');
  let buf: Uint8Array<ArrayBuffer>;
  try {
    const size = fstatSync(fd).size;
    // Tokenizer files are small (a 128K vocab is ~2 MB); refuse anything absurd before reading it whole.
    if (size > 1 << 28) throw new FormatError(path, 'file size', 'at most 256 MiB for a tokenizer', `got ${size}`);
    buf = readExact(fd, path, 0, size, 'file');
  } finally {
    closeSync(fd);
  }
  const dv = new DataView(buf.buffer);
  if (buf.length < 4) throw new FormatError(path, 'max_token_length', 'an int32', `file is ${buf.length} bytes`);
  const maxTokenLength = dv.getInt32(0, true);
  if (maxTokenLength < 1) throw new FormatError(path, 'max_token_length', 'a positive int32', `got ${maxTokenLength}`);
  const text = new TextDecoder('utf-8');
  const vocab: string[] = [];
  const bytes: Uint8Array[] = [];
  const scores: number[] = [];
  let pos = 4;
  while (vocabSize === undefined ? pos < buf.length : vocab.length < vocabSize) {
    const i = vocab.length;
    if (pos + 8 > buf.length) throw new FormatError(path, `token ${i}`, `8 bytes (score, length) at offset ${pos}`, `file is ${buf.length} bytes (truncated)`);
    const score = dv.getFloat32(pos, true);
    const len = dv.getInt32(pos + 4, true);
    if (!Number.isFinite(score)) throw new FormatError(path, `token ${i} score`, 'a finite float32', `got ${score}`);
    if (len < 0 || pos + 8 + len > buf.length) {
      throw new FormatError(path, `token ${i} length`, `0..${buf.length - pos - 8} (bytes left in the file)`, `got ${len}`);
    }
    const piece = buf.slice(pos + 8, pos + 8 + len);
    vocab.push(text.decode(piece));
    bytes.push(piece);
    scores.push(score);
    pos += 8 + len;
  }
  if (pos !== buf.length) throw new FormatError(path, 'file size', `${pos} bytes for ${vocab.length} tokens`, `found ${buf.length} (trailing data)`);
  return { maxTokenLength, vocab, bytes, scores: Float32Array.from(scores) };
}
