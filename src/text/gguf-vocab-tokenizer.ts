// A tokenizer built from the vocabulary a GGUF file embeds in its metadata (tokenizer.ggml.*), so a GGUF
// checkpoint runs without any side file. Supported: tokenizer.ggml.model == 'llama' (SentencePiece BPE:
// '▁' for space, per-token scores, <0xXX> byte tokens), run by the same SentencePieceTokenizer as llama2.c's
// tok*.bin (sentencepiece.ts), so stories260K.gguf encodes exactly like tok512.bin. 'gpt2' (byte-level BPE with ranked merges and a
// per-model pre-tokenizer) is rebuilt as the tokenizer.json it came from and run by tokenizers.js (gguf-bpe.ts).
import { FormatError, shown, shownJson } from '../io/errors.js';
import { ggufBpeTokenizer } from './gguf-bpe.js';
import { SentencePieceTokenizer } from './sentencepiece.js';
import type { Tokenizer } from './tokenizer.js';

/** llama.cpp's token types (llama_token_type / gguf-py TokenType). */
export const TokenType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

const SPACE = '▁';

function field(meta: Record<string, unknown>, key: string, file: string): unknown {
  if (!Object.hasOwn(meta, key)) throw FormatError.withMessage(file, `metadata "${key}"`, `${file}: GGUF metadata has no "${key}" (needed to build the tokenizer)`);
  return meta[key];
}
function optInt(meta: Record<string, unknown>, key: string, file: string): number | null {
  if (!Object.hasOwn(meta, key)) return null;
  const v = meta[key];
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw FormatError.withMessage(file, `metadata "${key}"`, `${file}: GGUF metadata "${key}" should be an integer, got ${shownJson(v)}`);
  return n;
}
function optBool(meta: Record<string, unknown>, key: string, file: string, dflt: boolean): boolean {
  if (!Object.hasOwn(meta, key)) return dflt;
  const v = meta[key];
  if (typeof v !== 'boolean') throw FormatError.withMessage(file, `metadata "${key}"`, `${file}: GGUF metadata "${key}" should be a bool, got ${shownJson(v)}`);
  return v;
}
function arrayOf<T>(meta: Record<string, unknown>, key: string, file: string, ok: (v: unknown) => v is T, what: string): T[] {
  const v = field(meta, key, file);
  if (!Array.isArray(v)) throw FormatError.withMessage(file, `metadata "${key}"`, `${file}: GGUF metadata "${key}" should be an array of ${what}, got ${shownJson(v)}`);
  v.forEach((x, i) => { if (!ok(x)) throw FormatError.withMessage(file, `metadata "${key}"`, `${file}: GGUF metadata "${key}"[${i}] should be ${what}, got ${shownJson(x)}`); });
  return v as T[];
}
const isString = (v: unknown): v is string => typeof v === 'string';
const isNumber = (v: unknown): v is number => typeof v === 'number';

/** Builds the tokenizer a GGUF file describes; `meta` is readGGUF(file).metadata (plain JS values). */
export function fromGGUFMetadata(meta: Record<string, unknown>, file: string): Tokenizer {
  const model = field(meta, 'tokenizer.ggml.model', file);
  if (model === 'llama') return ggufSentencePiece(meta, file);
  if (model === 'gpt2') return ggufBpeTokenizer(meta, file, (m) => process.emitWarning(m, 'LiftWarning'));
  throw FormatError.withMessage(file, 'metadata "tokenizer.ggml.model"', `${file}: GGUF tokenizer model ${typeof model === 'string' ? `'${shown(model)}'` : shownJson(model)} not supported (supported: 'llama' — SentencePiece — and 'gpt2' — byte-level BPE)`);
}

/**
 * The 'llama' (SentencePiece) vocabulary of a GGUF file: pieces spell a space '▁'; byte pieces are the BYTE-typed
 * <0xXX> tokens; control and unused tokens never come out of a merge (llama.cpp parses them separately) and print
 * nothing.
 */
export function ggufSentencePiece(meta: Record<string, unknown>, file: string): SentencePieceTokenizer {
  const tokens = arrayOf(meta, 'tokenizer.ggml.tokens', file, isString, 'strings');
  const n = tokens.length;
  const scores = Object.hasOwn(meta, 'tokenizer.ggml.scores')
    ? Float32Array.from(arrayOf(meta, 'tokenizer.ggml.scores', file, isNumber, 'numbers'))
    : new Float32Array(n); // without scores every merge ties: leftmost-first, still deterministic
  const types = Object.hasOwn(meta, 'tokenizer.ggml.token_type')
    ? arrayOf(meta, 'tokenizer.ggml.token_type', file, isNumber, 'integers')
    : new Array<number>(n).fill(TokenType.NORMAL);
  if (scores.length !== n || types.length !== n) {
    throw FormatError.withMessage(file, 'metadata "tokenizer.ggml.tokens"', `${file}: GGUF vocabulary arrays disagree: ${n} tokens, ${scores.length} scores, ${types.length} token types`);
  }
  const id = (key: string): number | null => {
    const v = optInt(meta, key, file);
    if (v !== null && (v < 0 || v >= n)) throw FormatError.withMessage(file, `metadata "${key}"`, `${file}: GGUF metadata "${key}" = ${v} is outside the ${n}-token vocabulary`);
    return v;
  };
  const lookup = new Map<string, number>();
  const byteIds = new Int32Array(256).fill(-1);
  const enc = new TextEncoder();
  const outBytes = tokens.map((t, i) => {
    const type = types[i];
    if (type === TokenType.BYTE) {
      const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(t);
      if (!m) throw new FormatError(file, 'metadata "tokenizer.ggml.tokens"', `byte token ${i} (type BYTE) spelled <0xXX>`, `got ${shownJson(t)}`);
      const b = parseInt(m[1], 16);
      if (byteIds[b] < 0) byteIds[b] = i;
      return Uint8Array.of(b);
    }
    if (type === TokenType.CONTROL || type === TokenType.UNUSED) return new Uint8Array(0);
    if (!lookup.has(t)) lookup.set(t, i);
    return enc.encode(t.replaceAll(SPACE, ' '));
  });
  const eot = id('tokenizer.ggml.eot_token_id');
  const eom = id('tokenizer.ggml.eom_token_id');
  return new SentencePieceTokenizer({
    pieces: tokens, lookup, scores, outBytes, display: tokens, byteIds, space: SPACE,
    spacePrefix: optBool(meta, 'tokenizer.ggml.add_space_prefix', file, true),
    bosId: id('tokenizer.ggml.bos_token_id'), eosId: id('tokenizer.ggml.eos_token_id'), unkId: id('tokenizer.ggml.unknown_token_id'),
    extraEos: [eot, eom].filter((x): x is number => x !== null),
    addBos: optBool(meta, 'tokenizer.ggml.add_bos_token', file, true),
    addEos: optBool(meta, 'tokenizer.ggml.add_eos_token', file, false),
    file,
  });
}
