// A tokenizer built from the vocabulary a GGUF file embeds in its metadata (tokenizer.ggml.*), so a GGUF
// checkpoint runs without any side file. Supported: tokenizer.ggml.model == 'llama' (SentencePiece BPE:
// '▁' for space, per-token scores, <0xXX> byte tokens), encoded with the same score-driven merge as llama2.c's
// run.c, so stories260K.gguf encodes exactly like tok512.bin. 'gpt2' (byte-level BPE with ranked merges and a
// per-model pre-tokenizer) is rebuilt as the tokenizer.json it came from and run by tokenizers.js (gguf-bpe.ts).
import { FormatError, shown, shownJson } from '../io/errors.js';
import { mergeByScore, type ScoreVocab } from './score-bpe.js';
import { ggufBpeTokenizer } from './gguf-bpe.js';
import { checkId, type EncodeOptions, type StreamDecoder, type Tokenizer } from './tokenizer.js';

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
  if (model === 'llama') return GGUFLlamaTokenizer.fromMetadata(meta, file);
  if (model === 'gpt2') return ggufBpeTokenizer(meta, file, (m) => process.emitWarning(m, 'LiftWarning'));
  throw FormatError.withMessage(file, 'metadata "tokenizer.ggml.model"', `${file}: GGUF tokenizer model ${typeof model === 'string' ? `'${shown(model)}'` : shownJson(model)} not supported (supported: 'llama' — SentencePiece — and 'gpt2' — byte-level BPE)`);
}

export class GGUFLlamaTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly eosIds: number[];
  private readonly vocab: ScoreVocab;
  private readonly byteIds = new Int32Array(256).fill(-1);
  /** UTF-8 bytes each id decodes to ('▁' -> ' ', <0xXX> -> the byte, control tokens -> nothing). */
  private readonly outBytes: Uint8Array[];

  constructor(
    readonly tokens: string[],
    scores: Float32Array,
    readonly types: number[],
    readonly bosId: number | null,
    readonly eosId: number | null,
    readonly unkId: number | null,
    readonly addBos: boolean,
    readonly addEos: boolean,
    readonly addSpacePrefix: boolean,
    extraEos: number[] = [],
    /** Where the vocabulary came from, for errors about it. */
    readonly file = 'GGUF vocabulary',
  ) {
    this.vocabSize = tokens.length;
    const lookup = new Map<string, number>();
    const enc = new TextEncoder();
    this.outBytes = tokens.map((t, i) => {
      const type = types[i] ?? TokenType.NORMAL;
      if (type === TokenType.BYTE) {
        const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(t);
        if (!m) throw new FormatError(file, 'metadata "tokenizer.ggml.tokens"', `byte token ${i} (type BYTE) spelled <0xXX>`, `got ${shownJson(t)}`);
        const b = parseInt(m[1], 16);
        if (this.byteIds[b] < 0) this.byteIds[b] = i;
        return Uint8Array.of(b);
      }
      // Control and unused tokens never come out of text merges (llama.cpp parses them separately) and print nothing.
      if (type === TokenType.CONTROL || type === TokenType.UNUSED) return new Uint8Array(0);
      if (!lookup.has(t)) lookup.set(t, i);
      return enc.encode(t.replaceAll(SPACE, ' '));
    });
    this.vocab = { pieces: tokens, lookup, scores };
    this.eosIds = [...new Set([...(eosId === null ? [] : [eosId]), ...extraEos])];
  }

  static fromMetadata(meta: Record<string, unknown>, file: string): GGUFLlamaTokenizer {
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
    const eot = id('tokenizer.ggml.eot_token_id');
    const eom = id('tokenizer.ggml.eom_token_id');
    return new GGUFLlamaTokenizer(
      tokens, scores, types,
      id('tokenizer.ggml.bos_token_id'), id('tokenizer.ggml.eos_token_id'), id('tokenizer.ggml.unknown_token_id'),
      optBool(meta, 'tokenizer.ggml.add_bos_token', file, true),
      optBool(meta, 'tokenizer.ggml.add_eos_token', file, false),
      optBool(meta, 'tokenizer.ggml.add_space_prefix', file, true),
      [eot, eom].filter((x): x is number => x !== null),
      file,
    );
  }

  /** SentencePiece BPE as run.c does it: spaces -> '▁', dummy prefix '▁' for non-empty text, one token per
   *  character (else its UTF-8 bytes as byte tokens, else unk), then score-driven merges. */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    const out: number[] = [];
    if ((opts.bos ?? this.addBos) && this.bosId !== null) out.push(this.bosId);
    const ids: number[] = [];
    if (text.length > 0) {
      const norm = (this.addSpacePrefix ? SPACE : '') + text.replaceAll(' ', SPACE);
      const enc = new TextEncoder();
      for (const ch of norm) {
        const id = this.vocab.lookup.get(ch);
        if (id !== undefined) { ids.push(id); continue; }
        for (const b of enc.encode(ch)) {
          const bid = this.byteIds[b];
          if (bid >= 0) ids.push(bid);
          else if (this.unkId !== null) ids.push(this.unkId);
          else throw new FormatError(this.file, 'metadata "tokenizer.ggml.tokens"', `a byte token <0x${b.toString(16).toUpperCase().padStart(2, '0')}> or an unknown token`, `neither exists, so ${shownJson(ch)} cannot be encoded`);
        }
      }
    }
    for (const id of mergeByScore(ids, this.vocab)) out.push(id); // no spread: documents exceed the argument limit
    if ((opts.eos ?? this.addEos) && this.eosId !== null) out.push(this.eosId);
    return out;
  }

  /** Bytes of `id` after `prev`: like run.c, the leading space of the piece right after BOS is dropped. */
  pieceBytes(prev: number | null, id: number): Uint8Array {
    checkId(id, this.vocabSize);
    const b = this.outBytes[id];
    return prev !== null && prev === this.bosId && b[0] === 0x20 ? b.subarray(1) : b;
  }

  decode(ids: number[]): string {
    const parts = ids.map((id, i) => this.pieceBytes(i > 0 ? ids[i - 1] : null, id));
    return Buffer.concat(parts).toString('utf8');
  }

  createDecoder(): StreamDecoder {
    const td = new TextDecoder('utf-8');
    let prev: number | null = null;
    return {
      push: (id: number): string => {
        const b = this.pieceBytes(prev, id);
        prev = id;
        return td.decode(b, { stream: true });
      },
      flush: (): string => td.decode(),
    };
  }

  idToPiece(id: number): string {
    checkId(id, this.vocabSize);
    return this.tokens[id];
  }
}
