// Byte-level BPE vocabularies in GGUF (tokenizer.ggml.model = "gpt2": Llama 3, Qwen2/2.5/3, SmolLM2, GPT-2) and
// back. A GGUF stores the tokens (by id), the ranked merges ("a b"), token types, special ids and a pre-tokenizer
// name (tokenizer.ggml.pre) where Hugging Face's tokenizer.json stores the pre-tokenizer itself. We rebuild the
// tokenizer.json such a GGUF was converted from — vocab, merges, added tokens from CONTROL/USER_DEFINED types, and
// the pre-tokenizer llama.cpp applies for that name — and run it with @huggingface/tokenizers (hf-tokenizer.ts),
// so GGUF and tokenizer.json go through one maintained implementation.
//
// llama.cpp's pre-tokenizers (llama-vocab.cpp) for the names we support:
//   llama-bpe, llama3   Llama 3's split regex (\p{N}{1,3} digit groups), whole-word lookup first (ignore_merges)
//   qwen2               the same regex with single digits (\p{N}); Qwen's tokenizer.json also NFC-normalizes,
//                       which we keep (the model was trained on NFC text; llama.cpp skips it: text that is not
//                       NFC can tokenize differently there)
//   smollm              every digit alone, then GPT-2's regex (tokenizer.json: Digits + ByteLevel)
//   gpt-2               GPT-2's regex
// Any other name falls back to GPT-2's regex with a warning naming it.
import { FormatError, shownJson } from '../io/errors.js';
import { HFTokenizer } from './hf-tokenizer.js';

/** llama.cpp's token types (gguf-py TokenType). */
const NORMAL = 1, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5;

export const LLAMA3_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
export const QWEN2_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

export type BpePre = 'llama-bpe' | 'qwen2' | 'smollm' | 'gpt-2';
const byteLevel = (useRegex: boolean) => ({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: useRegex });
const split = (regex: string) => ({ type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false });

/** tokenizer.json's normalizer and pre_tokenizer for a llama.cpp pre-tokenizer name. */
function preTokenizerOf(pre: BpePre): { normalizer: unknown; pre_tokenizer: unknown; ignore_merges: boolean } {
  switch (pre) {
    case 'llama-bpe': return { normalizer: null, pre_tokenizer: { type: 'Sequence', pretokenizers: [split(LLAMA3_REGEX), byteLevel(false)] }, ignore_merges: true };
    case 'qwen2': return { normalizer: { type: 'NFC' }, pre_tokenizer: { type: 'Sequence', pretokenizers: [split(QWEN2_REGEX), byteLevel(false)] }, ignore_merges: false };
    case 'smollm': return { normalizer: null, pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Digits', individual_digits: true }, byteLevel(true)] }, ignore_merges: false };
    case 'gpt-2': return { normalizer: null, pre_tokenizer: byteLevel(true), ignore_merges: false };
  }
}

/** The supported name for tokenizer.ggml.pre, or null (then GPT-2's regex, with a warning). */
export function bpePre(name: unknown): BpePre | null {
  if (name === 'llama-bpe' || name === 'llama3') return 'llama-bpe';
  if (name === 'qwen2' || name === 'smollm' || name === 'gpt-2') return name;
  return null;
}

/** What a byte-level BPE GGUF holds (and what our GGUF writer needs), read from or written to metadata. */
export interface BpeVocab {
  tokens: string[];
  types: number[];
  merges: string[];
  pre: BpePre;
  bosId: number | null;
  eosId: number | null;
  addBos: boolean;
  chatTemplate: string | null;
}

/** The tokenizer.json + tokenizer_config.json a BPE vocabulary stands for. */
export function bpeTokenizerJson(v: BpeVocab): { tokenizer: Record<string, unknown>; config: Record<string, unknown> } {
  const vocab: Record<string, number> = {};
  const added: Record<string, unknown>[] = [];
  v.tokens.forEach((t, id) => {
    if (v.types[id] === CONTROL || v.types[id] === USER_DEFINED)
      added.push({ id, content: t, single_word: false, lstrip: false, rstrip: false, normalized: v.types[id] === USER_DEFINED, special: v.types[id] === CONTROL });
    else if (v.types[id] !== UNUSED && !Object.hasOwn(vocab, t)) vocab[t] = id;
  });
  const { normalizer, pre_tokenizer, ignore_merges } = preTokenizerOf(v.pre);
  const name = (id: number | null): string | null => (id === null ? null : v.tokens[id] ?? null);
  return {
    tokenizer: {
      version: '1.0', truncation: null, padding: null, added_tokens: added, normalizer, pre_tokenizer, post_processor: null,
      decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges, vocab, merges: v.merges },
    },
    config: { bos_token: name(v.bosId), eos_token: name(v.eosId), add_bos_token: v.addBos, add_eos_token: false, ...(v.chatTemplate ? { chat_template: v.chatTemplate } : {}) },
  };
}

function list<T>(meta: Record<string, unknown>, key: string, file: string, ok: (x: unknown) => x is T, what: string): T[] {
  const v = meta[key];
  if (!Array.isArray(v)) throw new FormatError(file, `metadata "${key}"`, `an array of ${what}`, `got ${shownJson(v)}`);
  const bad = v.findIndex((x) => !ok(x));
  if (bad >= 0) throw new FormatError(file, `metadata "${key}"[${bad}]`, what, `got ${shownJson(v[bad])}`);
  return v as T[];
}
const isStr = (x: unknown): x is string => typeof x === 'string';
const isInt = (x: unknown): x is number => Number.isInteger(x);

/** Reads a byte-level BPE vocabulary from GGUF metadata (plain values), checking every field against the tokens. */
export function bpeVocabFromGGUF(meta: Record<string, unknown>, file: string, warn: (m: string) => void = () => {}): BpeVocab {
  const tokens = list(meta, 'tokenizer.ggml.tokens', file, isStr, 'strings');
  const merges = list(meta, 'tokenizer.ggml.merges', file, isStr, 'strings "a b"');
  const types = Object.hasOwn(meta, 'tokenizer.ggml.token_type') ? list(meta, 'tokenizer.ggml.token_type', file, isInt, 'integers') : tokens.map(() => NORMAL);
  if (types.length !== tokens.length) throw new FormatError(file, 'metadata "tokenizer.ggml.token_type"', `${tokens.length} entries (one per token)`, `got ${types.length}`);
  const known = new Set(tokens);
  merges.forEach((m, i) => {
    const parts = m.split(' ');
    if (parts.length !== 2 || !known.has(parts[0]) || !known.has(parts[1]) || !known.has(parts[0] + parts[1]))
      throw new FormatError(file, `metadata "tokenizer.ggml.merges"[${i}]`, 'two tokens of the vocabulary joined by one space, whose concatenation is a token', `got ${shownJson(m)}`);
  });
  const id = (key: string): number | null => {
    const v = meta[key];
    if (v === undefined) return null;
    if (!isInt(v) || v < 0 || v >= tokens.length) throw new FormatError(file, `metadata "${key}"`, `a token id below ${tokens.length}`, `got ${shownJson(v)}`);
    return v;
  };
  const preName = meta['tokenizer.ggml.pre'];
  let pre = bpePre(preName);
  if (pre === null) {
    warn(`${file}: tokenizer.ggml.pre ${shownJson(preName ?? 'absent')} is not one we know (llama-bpe, llama3, qwen2, smollm, gpt-2): using GPT-2's pre-tokenizer; tokens may differ from llama.cpp's`);
    pre = 'gpt-2';
  }
  const addBos = meta['tokenizer.ggml.add_bos_token'];
  const tmpl = meta['tokenizer.chat_template'];
  return {
    tokens, types, merges, pre, bosId: id('tokenizer.ggml.bos_token_id'), eosId: id('tokenizer.ggml.eos_token_id'),
    // llama.cpp adds BOS to BPE vocabularies unless the file says not to.
    addBos: addBos === undefined ? true : addBos === true,
    chatTemplate: typeof tmpl === 'string' ? tmpl : null,
  };
}

/** The tokenizer of a byte-level BPE GGUF. */
export function ggufBpeTokenizer(meta: Record<string, unknown>, file: string, warn?: (m: string) => void): HFTokenizer {
  const { tokenizer, config } = bpeTokenizerJson(bpeVocabFromGGUF(meta, file, warn));
  try {
    return new HFTokenizer(tokenizer, config);
  } catch (e) {
    throw new FormatError(file, 'metadata "tokenizer.ggml.*"', 'a byte-level BPE vocabulary tokenizers.js can build', `it failed: ${(e as Error).message}`);
  }
}

/**
 * A byte-level BPE tokenizer.json (+ tokenizer_config.json) as a GGUF vocabulary of `vocabSize` ids, or null when
 * the file is not byte-level BPE. The pre-tokenizer name is read off the pre_tokenizer it holds; one we cannot
 * name for llama.cpp is refused, naming what was found.
 */
export function bpeVocabFromTokenizerJson(tj: Record<string, unknown>, tc: Record<string, unknown>, file: string, vocabSize: number): BpeVocab | null {
  const model = tj.model as Record<string, unknown> | undefined;
  const pre = tj.pre_tokenizer as Record<string, unknown> | null | undefined;
  const steps = pre?.type === 'Sequence' ? (pre.pretokenizers as Record<string, unknown>[]) : pre ? [pre] : [];
  if (model?.type !== 'BPE' || !steps.some((s) => s?.type === 'ByteLevel')) return null;
  const regex = steps.find((s) => s?.type === 'Split')?.pattern as { Regex?: string } | undefined;
  const digits = steps.some((s) => s?.type === 'Digits' && s.individual_digits === true);
  const name: BpePre | null = regex?.Regex === LLAMA3_REGEX ? 'llama-bpe' : regex?.Regex === QWEN2_REGEX ? 'qwen2'
    : !regex && digits && steps.length === 2 ? 'smollm' : !regex && steps.length === 1 ? 'gpt-2' : null;
  if (name === null) throw new FormatError(file, 'pre_tokenizer', "Llama 3's or Qwen2's split regex, SmolLM's Digits + ByteLevel, or GPT-2's ByteLevel (the pre-tokenizers llama.cpp names)", `got ${shownJson(pre)}`);
  const tokens: string[] = Array.from({ length: vocabSize }, (_, i) => `[PAD${i}]`);
  const types: number[] = new Array<number>(vocabSize).fill(UNUSED);
  const put = (t: string, id: number, type: number): void => {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) throw new FormatError(file, `token ${shownJson(t)}`, `an id below the model's vocab_size ${vocabSize}`, `got ${id}`);
    tokens[id] = t;
    types[id] = type;
  };
  for (const [t, id] of Object.entries(model.vocab as Record<string, number>)) put(t, id, NORMAL);
  for (const a of (tj.added_tokens as { id: number; content: string; special?: boolean }[] | undefined) ?? []) put(a.content, a.id, a.special ? CONTROL : USER_DEFINED);
  const merges = (model.merges as (string | [string, string])[]).map((m) => (typeof m === 'string' ? m : m.join(' ')));
  const idOf = (k: string): number | null => {
    const v = tc[k], text = typeof v === 'string' ? v : v && typeof v === 'object' ? (v as { content?: string }).content : undefined;
    const i = text === undefined ? -1 : tokens.indexOf(text);
    return i >= 0 ? i : null;
  };
  return {
    tokens, types, merges, pre: name, bosId: idOf('bos_token'), eosId: idOf('eos_token'),
    addBos: tc.add_bos_token === true, chatTemplate: typeof tc.chat_template === 'string' ? tc.chat_template : null,
  };
}
