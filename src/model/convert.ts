// `lift convert`: rewrites a checkpoint (HF folder, GGUF, llama2.c .bin) as a Hugging Face folder or an F32 GGUF,
// so one model can be checked across formats and handed to other tools (transformers, llama.cpp).
//   HF:   model.safetensors (F32, HF names, rotate-half q/k rows), config.json, tokenizer.json + tokenizer_config.json.
//   GGUF: v3, F32 (or another type, --type: see gguf-types.ts), llama.cpp names and metadata, interleaved q/k rows (what convert_hf_to_gguf.py writes for llama),
//         the vocabulary embedded as tokenizer.ggml.* (SentencePiece style: tokens, scores, token types).
// A SentencePiece vocabulary (pieces + scores) becomes a Hugging Face BPE tokenizer.json the way transformers'
// LlamaConverter does it: merges are every pair of pieces whose concatenation is a piece, ranked by that piece's score.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Tensor } from '../engine/index.js';
import { readGGUF, writeGGUF, type GGUFMetadataEntry, type GGUFTensorInput } from '../io/gguf.js';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import { claimOutput, type OutputKind } from '../io/output.js';
import { readLlama2cTokenizerFile } from '../io/llama2c.js';
import { hfToGgufName, permuteQK } from '../io/names.js';
import { TokenType } from '../text/gguf-vocab-tokenizer.js';
import { bpeTokenizerJson, bpeVocabFromGGUF, bpeVocabFromTokenizerJson, type BpeVocab } from '../text/gguf-bpe.js';
import { HFTokenizer } from '../text/hf-tokenizer.js';
import { readJsonObject } from '../io/json-file.js';
import { toHFConfig, type LlamaConfig } from './config.js';
import { encodeTensor, isQuantizedFileType, tensorType, weightValues, LLAMA_FTYPE, type GGUFFileType } from './gguf-types.js';
import { loadModelFromPath, type LoadedModel, type LoadOptions } from './load.js';

export type ConvertTarget = 'hf' | 'gguf';
const SPACE = '▁';

/** A SentencePiece-style vocabulary: what GGUF's tokenizer.ggml.* holds (model "llama"). */
export interface SpmVocab {
  tokens: string[];
  scores: number[];
  /** llama.cpp token types (TokenType): NORMAL, UNKNOWN, CONTROL, BYTE, ... */
  types: number[];
  bosId: number | null;
  eosId: number | null;
  unkId: number | null;
  addBos: boolean;
  /** SentencePiece's dummy prefix: '▁' before the text. */
  addSpacePrefix: boolean;
  chatTemplate: string | null;
}

/** Converts `src` and writes it to `out` (a folder for 'hf', a file for 'gguf'); returns the files written. */
export function convertModel(src: string, to: ConvertTarget, out: string, opts: LoadOptions & { force?: boolean; type?: GGUFFileType; vocab?: string } = {}): string[] {
  const loaded = loadModelFromPath(src, opts);
  try {
    return writeConverted(loaded, to, out, { force: opts.force, inputs: [src, opts.tokenizer, opts.vocab, ...loaded.files], from: basename(resolve(src)), type: opts.type, vocab: opts.vocab });
  } finally {
    loaded.model.dispose();
  }
}

/**
 * Writes a loaded (or merged) model to `out` in format `to`. The target is claimed first (src/io/output.ts):
 * never one of `inputs`, never a file or folder that is not an earlier output of ours (those only with force);
 * built beside it and renamed into place. `from` is recorded as the provenance key.
 */
export function writeConverted(loaded: LoadedModel, to: ConvertTarget, out: string, o: { force?: boolean; inputs: (string | undefined)[]; from: string; type?: GGUFFileType; vocab?: string }): string[] {
  if (o.vocab && to !== 'gguf') throw new Error(`a tokenizer.json to attach (${o.vocab}) applies to --to gguf only`);
  const vocab = to === 'gguf' ? (o.vocab ? vocabFromTokenizerFile(o.vocab, loaded.model.config.vocab_size) : ggufVocabOf(loaded)) : null;
  if (o.type && o.type !== 'f32' && to !== 'gguf') throw new Error(`--type ${o.type} applies to --to gguf only (a Hugging Face folder is written in F32)`);
  const target = claimOutput(out, { kind: to === 'hf' ? HF_OUTPUT : GGUF_OUTPUT, force: o.force, inputs: o.inputs });
  try {
    const staged = target.stage();
    if (to === 'hf') writeHFFolder(loaded, staged, o.from);
    else writeModelGGUF(staged, loaded.model.config, loaded.model.weights, loaded.model.ropeLayout, vocab!, 'lift', o.from, o.type);
    target.commit(staged);
    return to === 'hf' ? readdirSync(target.path).map((f) => join(out, f)) : [out];
  } finally {
    target.release();
  }
}

/** Recognises our own conversions by the provenance key each one carries (safetensors metadata, GGUF key). */
const CONVERTED_KEY = 'lift.converted_from';
const HF_OUTPUT: OutputKind = {
  what: 'a model folder written by lift convert',
  folder: true,
  isOurs: (p) => {
    try {
      return existsSync(join(p, 'model.safetensors')) && CONVERTED_KEY in (readSafetensors(join(p, 'model.safetensors')).metadata ?? {});
    } catch {
      return false;
    }
  },
};
const GGUF_OUTPUT: OutputKind = {
  what: 'a GGUF file written by lift convert',
  folder: false,
  isOurs: (p) => {
    try {
      return readGGUF(p).entries.some((e) => e.key === CONVERTED_KEY);
    } catch {
      return false;
    }
  },
};

// ---- vocabularies ------------------------------------------------------------------------------------------

/** The SentencePiece vocabulary of a loaded llama2.c or GGUF model, or null for a Hugging Face one. */
export function spmVocabOf(loaded: LoadedModel): SpmVocab | null {
  if (loaded.format === 'llama2c') return llama2cVocab(loaded.files[1], loaded.model.config.vocab_size);
  if (loaded.format === 'gguf') return ggufVocab(loaded.files[0]);
  return null;
}

/** tok{N}.bin -> pieces with '▁' for space; ids 0/1/2 are <unk>/<s>/</s> (run.c's convention), 3..258 bytes. */
function llama2cVocab(path: string, vocabSize: number): SpmVocab {
  const t = readLlama2cTokenizerFile(path, vocabSize);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const seen = new Set<string>();
  const tokens: string[] = [], types: number[] = [];
  t.bytes.forEach((b, i) => {
    let s: string, type: number = TokenType.NORMAL;
    if (i <= 2) [s, type] = [['<unk>', '<s>', '</s>'][i], i === 0 ? TokenType.UNKNOWN : TokenType.CONTROL];
    else {
      try { s = utf8.decode(b).replaceAll(' ', SPACE); } catch { s = ''; }
      if (/^<0x[0-9A-Fa-f]{2}>$/.test(s)) type = TokenType.BYTE;
      // A piece that is not UTF-8 on its own can never come out of run.c's merges (they start from whole characters)
      // and a repeated piece is unreachable past its first id: both stay as unused placeholders so ids keep their place.
      if (!s || seen.has(s)) [s, type] = [`<unused${i}>`, TokenType.UNUSED];
    }
    seen.add(s);
    tokens.push(s);
    types.push(type);
  });
  return { tokens, scores: [...t.scores], types, bosId: 1, eosId: 2, unkId: 0, addBos: true, addSpacePrefix: true, chatTemplate: null };
}

function ggufVocab(path: string): SpmVocab {
  const m = readGGUF(path).metadata;
  if (m['tokenizer.ggml.model'] !== 'llama') throw new Error(`${path}: only SentencePiece ('llama') GGUF vocabularies convert, not ${JSON.stringify(m['tokenizer.ggml.model'])}`);
  const tokens = m['tokenizer.ggml.tokens'] as string[];
  const id = (k: string): number | null => (typeof m[k] === 'number' && (m[k] as number) < tokens.length ? (m[k] as number) : null);
  return {
    tokens,
    scores: (m['tokenizer.ggml.scores'] as number[] | undefined) ?? tokens.map(() => 0),
    types: (m['tokenizer.ggml.token_type'] as number[] | undefined) ?? tokens.map(() => TokenType.NORMAL),
    bosId: id('tokenizer.ggml.bos_token_id'), eosId: id('tokenizer.ggml.eos_token_id'), unkId: id('tokenizer.ggml.unknown_token_id'),
    addBos: m['tokenizer.ggml.add_bos_token'] !== false,
    addSpacePrefix: m['tokenizer.ggml.add_space_prefix'] !== false,
    chatTemplate: typeof m['tokenizer.chat_template'] === 'string' ? m['tokenizer.chat_template'] : null,
  };
}

/**
 * A Hugging Face tokenizer.json that is a SentencePiece-style BPE (byte_fallback, Prepend('▁') normalizer, e.g.
 * Llama 2 or one this file wrote) -> the SentencePiece vocabulary. Scores come from the merge ranks: a piece scores
 * minus the rank of the first merge that makes it, so run.c-style "best score first" merging follows the ranks.
 */
export function spmVocabFromTokenizerJson(tj: Record<string, unknown>, config: Record<string, unknown>, file: string): SpmVocab {
  const model = tj.model as { type?: string; byte_fallback?: boolean; vocab?: Record<string, number>; merges?: (string | string[])[] } | undefined;
  if (model?.type !== 'BPE' || model.byte_fallback !== true || !model.vocab)
    throw new Error(`${file}: GGUF conversion needs a SentencePiece-style tokenizer (BPE with byte_fallback); this one is ${model?.type ?? 'unknown'}${model?.type === 'BPE' ? ' without byte_fallback (byte-level BPE)' : ''}`);
  const added = (tj.added_tokens as { id: number; content: string; special?: boolean }[] | undefined) ?? [];
  const n = Math.max(-1, ...Object.values(model.vocab), ...added.map((a) => a.id)) + 1;
  const tokens = Array.from({ length: n }, (_, i) => `<unused${i}>`);
  const types = new Array<number>(n).fill(TokenType.UNUSED);
  for (const [piece, i] of Object.entries(model.vocab)) [tokens[i], types[i]] = [piece, /^<0x[0-9A-Fa-f]{2}>$/.test(piece) ? TokenType.BYTE : TokenType.NORMAL];
  const unk = typeof (model as { unk_token?: unknown }).unk_token === 'string' ? model.vocab[(model as { unk_token: string }).unk_token] ?? null : null;
  for (const a of added) [tokens[a.id], types[a.id]] = [a.content, a.id === unk ? TokenType.UNKNOWN : a.special ? TokenType.CONTROL : TokenType.USER_DEFINED];
  const scores = new Array<number>(n).fill(0);
  const made = new Set<number>();
  (model.merges ?? []).forEach((mg, rank) => {
    const [l, r] = Array.isArray(mg) ? mg : mg.split(' ', 2);
    const id = model.vocab![l + r];
    if (id !== undefined && !made.has(id)) { made.add(id); scores[id] = -rank; }
  });
  const special = (k: string): number | null => {
    const v = config[k];
    const text = typeof v === 'string' ? v : (v as { content?: string } | null)?.content;
    const i = text === undefined ? -1 : tokens.indexOf(text);
    return i >= 0 ? i : null;
  };
  const norm = JSON.stringify(tj.normalizer ?? null);
  return {
    tokens, scores, types, bosId: special('bos_token'), eosId: special('eos_token'), unkId: unk,
    addBos: config.add_bos_token !== false, addSpacePrefix: norm.includes('"Prepend"'),
    chatTemplate: typeof config.chat_template === 'string' ? config.chat_template : null,
  };
}

/** The vocabulary a GGUF of this model embeds: SentencePiece ('llama') or byte-level BPE ('gpt2'). */
function ggufVocabOf(loaded: LoadedModel): SpmVocab | BpeVocab {
  if (loaded.format === 'gguf' && readGGUF(loaded.files[0]).metadata['tokenizer.ggml.model'] === 'gpt2') return bpeVocabFromGGUF(readGGUF(loaded.files[0]).metadata, loaded.files[0]);
  const spm = spmVocabOf(loaded);
  if (spm) return spm;
  return vocabFromTokenizerFile(join(dirname(loaded.files[loaded.files.length - 1]), 'tokenizer.json'), loaded.model.config.vocab_size);
}

/** A tokenizer.json (with the tokenizer_config.json beside it, if any) as a GGUF vocabulary of `vocabSize` ids. */
function vocabFromTokenizerFile(file: string, vocabSize: number): SpmVocab | BpeVocab {
  const tcPath = join(dirname(file), 'tokenizer_config.json');
  const tc = existsSync(tcPath) ? readJsonObject(tcPath, 'the tokenizer settings') : {};
  const tj = readJsonObject(file, 'a tokenizer.json');
  const bpe = bpeVocabFromTokenizerJson(tj, tc, file, vocabSize);
  if (!bpe) return spmVocabFromTokenizerJson(tj, tc, file);
  // BOS: tokenizer_config.json's add_bos_token, or what the file's post-processor does (Llama 3 has no flag).
  return { ...bpe, addBos: new HFTokenizer(tj, tc).addBos };
}

/**
 * BPE merges from SentencePiece scores, as transformers' SentencePieceExtractor: for every piece, every split into
 * two pieces of the vocabulary (ordered by their ids), all sorted by the merged piece's score, highest first (stable,
 * so equal scores keep id order). Only normal pieces take part: control and byte tokens never come out of a merge.
 */
export function spmMerges(v: SpmVocab): [string, string][] {
  const ids = new Map<string, number>();
  v.tokens.forEach((t, i) => { if (v.types[i] === TokenType.NORMAL && !ids.has(t)) ids.set(t, i); });
  const merges: { l: string; r: string; score: number }[] = [];
  for (const [piece, id] of ids) {
    const chars = Array.from(piece); // Python indexes code points: so do we
    const local: { l: string; r: string; il: number; ir: number }[] = [];
    for (let k = 1; k < chars.length; k++) {
      const l = chars.slice(0, k).join(''), r = chars.slice(k).join('');
      const il = ids.get(l), ir = ids.get(r);
      if (il !== undefined && ir !== undefined) local.push({ l, r, il, ir });
    }
    local.sort((a, b) => a.il - b.il || a.ir - b.ir);
    for (const m of local) merges.push({ l: m.l, r: m.r, score: v.scores[id] });
  }
  merges.sort((a, b) => b.score - a.score); // Array.prototype.sort is stable
  return merges.map((m) => [m.l, m.r]);
}

/** tokenizer.json (Llama 2's structure: Prepend/Replace normalizer, BPE with byte_fallback, its decoder) and tokenizer_config.json. */
export function spmTokenizerFiles(v: SpmVocab): { tokenizer: Record<string, unknown>; config: Record<string, unknown> } {
  const name = (i: number | null): string | null => (i === null ? null : v.tokens[i]);
  const specials = v.tokens.map((content, id) => ({ id, content, type: v.types[id] }))
    .filter((t) => t.type === TokenType.CONTROL || t.type === TokenType.UNKNOWN || t.type === TokenType.USER_DEFINED);
  const added = specials.map((t) => ({ id: t.id, content: t.content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: t.type !== TokenType.USER_DEFINED }));
  const vocab: Record<string, number> = {};
  v.tokens.forEach((t, i) => { if (!Object.hasOwn(vocab, t)) vocab[t] = i; });
  const bos = name(v.bosId);
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: { type: 'Sequence', normalizers: [...(v.addSpacePrefix ? [{ type: 'Prepend', prepend: SPACE }] : []), { type: 'Replace', pattern: { String: ' ' }, content: SPACE }] },
    pre_tokenizer: null,
    post_processor: bos === null ? null : {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: bos, type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { [bos]: { id: bos, ids: [v.bosId], tokens: [bos] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: SPACE }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' },
        ...(v.addSpacePrefix ? [{ type: 'Strip', content: ' ', start: 1, stop: 0 }] : []),
      ],
    },
    model: {
      type: 'BPE', dropout: null, unk_token: name(v.unkId), continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: true, byte_fallback: true, ignore_merges: false, vocab, merges: spmMerges(v),
    },
  };
  const config: Record<string, unknown> = {
    add_bos_token: v.addBos,
    add_eos_token: false,
    added_tokens_decoder: Object.fromEntries(added.map(({ id, ...rest }) => [String(id), rest])),
    bos_token: bos,
    eos_token: name(v.eosId),
    unk_token: name(v.unkId),
    pad_token: null,
    clean_up_tokenization_spaces: false,
    legacy: true,
    tokenizer_class: 'LlamaTokenizer',
    ...(v.chatTemplate ? { chat_template: v.chatTemplate } : {}),
  };
  return { tokenizer, config };
}

// ---- writers -----------------------------------------------------------------------------------------------

const QK = /^model\.layers\.\d+\.self_attn\.(q|k)_proj\.(weight|bias)$/;

/** q/k rows moved between RoPE layouts (a no-op when the layouts already agree). */
function relayout(name: string, t: Tensor, c: LlamaConfig, from: string, to: string): Float32Array {
  const data = weightValues(t); // dequantized for a 16-bit/quantized source
  const m = QK.exec(name);
  if (!m || from === to) return data;
  const rows = t.shape[0], cols = t.shape.length > 1 ? t.shape[1] : 1;
  return permuteQK(data, rows, cols, m[1] === 'q' ? c.num_attention_heads : c.num_key_value_heads, to === 'interleaved');
}

/** Writes a HF folder's files into `dir` (a staging folder convertModel renames into place). */
function writeHFFolder(loaded: LoadedModel, dir: string, from: string): void {
  const { config, weights, ropeLayout } = loaded.model;
  writeSafetensors(join(dir, 'model.safetensors'), [...weights].map(([name, t]) => ({
    name, dtype: 'F32' as const, shape: [...t.shape], data: relayout(name, t, config, ropeLayout, 'half'),
  })), { format: 'pt', [CONVERTED_KEY]: from });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(toHFConfig(config), null, 2) + '\n');
  const gguf = loaded.format === 'gguf' ? readGGUF(loaded.files[0]).metadata : null;
  const spm = gguf?.['tokenizer.ggml.model'] === 'gpt2' ? null : spmVocabOf(loaded);
  if (gguf && !spm) {
    const files = bpeTokenizerJson(bpeVocabFromGGUF(gguf, loaded.files[0])); // a byte-level BPE GGUF: its tokenizer.json again
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(files.tokenizer) + '\n');
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(files.config, null, 2) + '\n');
  } else if (spm) {
    const files = spmTokenizerFiles(spm);
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(files.tokenizer, null, 1) + '\n');
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(files.config, null, 2) + '\n');
  } else {
    const src = dirname(loaded.files[loaded.files.length - 1]); // an HF source: copy its tokenizer files as they are
    for (const f of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json'])
      if (existsSync(join(src, f))) writeFileSync(join(dir, f), readFileSync(join(src, f)));
  }
}

/**
 * Writes an F32 GGUF llama.cpp loads: llama (or qwen2) metadata, the vocabulary, tensors under GGUF names with
 * q/k in the layout llama.cpp expects (interleaved for llama, rotate-half for qwen2). Atomic (temp file + rename).
 */
export function writeModelGGUF(out: string, c: LlamaConfig, weights: Map<string, Tensor>, ropeLayout: string, v: SpmVocab | BpeVocab, name = 'lift', convertedFrom?: string, type: GGUFFileType = 'f32'): string[] {
  if (c.rope_scaling && c.rope_scaling.rope_type !== 'default')
    throw new Error(`GGUF conversion of rope_scaling ${c.rope_scaling.rope_type} is not supported yet`);
  if (v.tokens.length !== c.vocab_size) throw new Error(`the vocabulary has ${v.tokens.length} tokens but the model ${c.vocab_size} embeddings`);
  const arch = c.model_type === 'qwen2' ? 'qwen2' : 'llama';
  const u32 = (key: string, value: number): GGUFMetadataEntry => ({ key, type: 'uint32', value });
  const f32 = (key: string, value: number): GGUFMetadataEntry => ({ key, type: 'float32', value });
  const meta: GGUFMetadataEntry[] = [
    { key: 'general.architecture', type: 'string', value: arch },
    { key: 'general.name', type: 'string', value: name },
    u32('general.file_type', LLAMA_FTYPE[type]), // llama_ftype: 0 = ALL_F32, 15 = MOSTLY_Q4_K_M, …
    ...(isQuantizedFileType(type) ? [u32('general.quantization_version', 2)] : []), // ggml's GGML_QNT_VERSION
    u32(`${arch}.vocab_size`, c.vocab_size),
    u32(`${arch}.context_length`, c.max_position_embeddings),
    u32(`${arch}.embedding_length`, c.hidden_size),
    u32(`${arch}.block_count`, c.num_hidden_layers),
    u32(`${arch}.feed_forward_length`, c.intermediate_size),
    u32(`${arch}.attention.head_count`, c.num_attention_heads),
    u32(`${arch}.attention.head_count_kv`, c.num_key_value_heads),
    u32(`${arch}.rope.dimension_count`, c.head_dim),
    u32(`${arch}.attention.key_length`, c.head_dim),
    u32(`${arch}.attention.value_length`, c.head_dim),
    f32(`${arch}.attention.layer_norm_rms_epsilon`, c.rms_norm_eps),
    f32(`${arch}.rope.freq_base`, c.rope_theta),
    ...('merges' in v ? [
      // byte-level BPE (text/gguf-bpe.ts): what convert_hf_to_gguf.py writes for Llama 3, Qwen2, SmolLM2
      { key: 'tokenizer.ggml.model', type: 'string' as const, value: 'gpt2' },
      { key: 'tokenizer.ggml.pre', type: 'string' as const, value: v.pre },
      { key: 'tokenizer.ggml.tokens', type: 'array' as const, value: { elementType: 'string' as const, values: v.tokens } },
      { key: 'tokenizer.ggml.token_type', type: 'array' as const, value: { elementType: 'int32' as const, values: v.types } },
      { key: 'tokenizer.ggml.merges', type: 'array' as const, value: { elementType: 'string' as const, values: v.merges } },
    ] : [
      { key: 'tokenizer.ggml.model', type: 'string' as const, value: 'llama' },
      { key: 'tokenizer.ggml.tokens', type: 'array' as const, value: { elementType: 'string' as const, values: v.tokens } },
      { key: 'tokenizer.ggml.scores', type: 'array' as const, value: { elementType: 'float32' as const, values: v.scores } },
      { key: 'tokenizer.ggml.token_type', type: 'array' as const, value: { elementType: 'int32' as const, values: v.types } },
      ...(v.unkId === null ? [] : [u32('tokenizer.ggml.unknown_token_id', v.unkId)]),
      { key: 'tokenizer.ggml.add_space_prefix', type: 'bool' as const, value: v.addSpacePrefix },
    ]),
    ...(v.bosId === null ? [] : [u32('tokenizer.ggml.bos_token_id', v.bosId)]),
    ...(v.eosId === null ? [] : [u32('tokenizer.ggml.eos_token_id', v.eosId)]),
    { key: 'tokenizer.ggml.add_bos_token', type: 'bool', value: v.addBos },
    { key: 'tokenizer.ggml.add_eos_token', type: 'bool', value: false },
    ...(v.chatTemplate ? [{ key: 'tokenizer.chat_template', type: 'string' as const, value: v.chatTemplate }] : []),
    ...(convertedFrom !== undefined ? [{ key: CONVERTED_KEY, type: 'string' as const, value: convertedFrom }] : []),
  ];
  const target = arch === 'qwen2' ? 'half' : 'interleaved';
  const tensors: GGUFTensorInput[] = [];
  for (const [hf, t] of weights) {
    const g = hfToGgufName(hf);
    if (!g) throw new Error(`tensor ${hf} has no GGUF name`);
    const ggml = tensorType(type, g, t.shape, c.num_hidden_layers, !weights.has('lm_head.weight'));
    tensors.push(encodeTensor(g, relayout(hf, t, c, ropeLayout, target), [...t.shape], ggml));
  }
  writeGGUF(out, meta, tensors);
  return [out];
}
