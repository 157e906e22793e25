// One SentencePiece-BPE tokenizer for both vocabularies that carry per-piece scores: llama2.c's tok*.bin and the
// 'llama' vocabulary a GGUF file embeds (gguf-vocab-tokenizer.ts builds that one). Encoding is upstream run.c's:
// a dummy-prefix space, one piece per character (else its UTF-8 bytes as byte pieces, else <unk>), then
// score-driven merges (score-bpe.ts); decoding prints each piece's bytes and drops the leading space of the piece
// right after BOS. The two vocabularies differ only in how they spell a space (' ' in tok*.bin, '▁' in GGUF), in
// which pieces a merge may produce, and in where the byte pieces sit — all of which the spec below carries.
//
// llama2.c tok*.bin: int32 max_token_length, then per id { float32 score, int32 len, len bytes }, little-endian
// (parsed by src/io/llama2c.ts). The vocabulary size is not stored: run.c takes it from the model header. Ids
// 0/1/2 are <unk>, BOS, EOS and ids 3..258 the byte pieces <0x00>..<0xFF>.
import { basename } from 'node:path';
import { FormatError, shownJson } from '../io/errors.js';
import { readLlama2cTokenizerFile } from '../io/llama2c.js';
import { mergeByScore } from './score-bpe.js';
import { checkId, TokenizerBase, type EncodeOptions, type StreamDecoder, type Tokenizer } from './tokenizer.js';

export interface SentencePieceSpec {
  /** Piece of each id as the text side spells it after `space` replaces ' ' (the strings merges concatenate). */
  pieces: string[];
  /** Piece -> id for what a character lookup or a merge may produce (the first id when a piece repeats). */
  lookup: Map<string, number>;
  scores: Float32Array;
  /** Bytes each id prints (empty for control tokens). */
  outBytes: Uint8Array[];
  /** What idToPiece returns for each id (the vocabulary entry as stored). */
  display: readonly string[];
  /** Byte value -> id of its byte piece, -1 where there is none. */
  byteIds: Int32Array;
  /** How a space is spelled in `pieces` (' ' or '▁'), and whether non-empty text gets one in front. */
  space: string;
  spacePrefix: boolean;
  bosId: number | null;
  eosId: number | null;
  unkId: number | null;
  /** Further ids that end a generation (eot, eom). */
  extraEos?: number[];
  addBos: boolean;
  addEos: boolean;
  /** Where the vocabulary came from, for errors about it. */
  file: string;
  /** llama2.c's max_token_length header. */
  maxTokenLength?: number;
}

export class SentencePieceTokenizer extends TokenizerBase implements Tokenizer {
  constructor(private readonly spec: SentencePieceSpec) {
    const n = spec.pieces.length;
    if (spec.scores.length !== n || spec.outBytes.length !== n || spec.display.length !== n) {
      throw new Error(`SentencePiece vocabulary of ${spec.file}: ${n} pieces, ${spec.scores.length} scores, ${spec.outBytes.length} outputs`);
    }
    super({ vocabSize: n, bosId: spec.bosId, eosId: spec.eosId, extraEos: spec.extraEos ?? [], addBos: spec.addBos, addEos: spec.addEos });
  }

  /**
   * llama2.c's tokenizer file, as run.c reads it (BOS 1, EOS 2, byte pieces at 3..258; every piece a merge may
   * produce, <s> and <0xXX> included). `vocabSize` (from the model header) is the number of entries the file holds.
   */
  static fromLlama2cFile(path: string, vocabSize?: number): SentencePieceTokenizer {
    const name = basename(path);
    const t = readLlama2cTokenizerFile(path, vocabSize);
    if (t.bytes.length <= 258) throw FormatError.withMessage(path, 'tokenizer', `${name}: ${t.bytes.length} entries; a llama2.c vocabulary has <unk>, BOS, EOS and 256 byte pieces first`);
    const utf8 = new TextDecoder('utf-8', { fatal: true });
    // C strings end at the first NUL: strcmp and printf never see what follows.
    const cut = t.bytes.map((p) => { const z = p.indexOf(0); return z < 0 ? p : p.subarray(0, z); });
    const pieces: string[] = [];
    const lookup = new Map<string, number>();
    cut.forEach((p, i) => {
      if (p.length > t.maxTokenLength) throw FormatError.withMessage(path, 'tokenizer', `${name}: entry ${i}: piece length ${p.length} outside 0..max_token_length ${t.maxTokenLength}`);
      let s: string;
      // A piece that is not UTF-8 on its own can never be looked up nor come out of a merge of whole characters
      // (run.c compares bytes; a concatenation of valid pieces is valid): it only prints.
      try { s = utf8.decode(p); } catch { pieces.push('\uFFFF'); return; }
      pieces.push(s);
      if (!lookup.has(s)) lookup.set(s, i); // run.c bsearches a sorted copy; the first id is the stable choice
    });
    const outBytes = cut.map((p, i) => {
      if (i === 1 || i === 2) return new Uint8Array(0); // run.c never prints BOS or EOS
      // run.c: sscanf(piece, "<0x%02hhX>", &byte) turns byte pieces back into that raw byte
      const m = /^<0x([0-9A-Fa-f]{2})>/.exec(Buffer.from(p).toString('latin1'));
      return m ? Uint8Array.of(parseInt(m[1], 16)) : p;
    });
    const byteIds = Int32Array.from({ length: 256 }, (_, b) => b + 3);
    const lossy = new TextDecoder('utf-8');
    return new SentencePieceTokenizer({
      pieces, lookup, scores: t.scores, outBytes, display: cut.map((p) => lossy.decode(p)), byteIds, space: ' ',
      spacePrefix: true, bosId: 1, eosId: 2, unkId: null, addBos: true, addEos: false, file: path, maxTokenLength: t.maxTokenLength,
    });
  }

  /** llama2.c's max_token_length header (undefined for a GGUF vocabulary). */
  get maxTokenLength(): number | undefined { return this.spec.maxTokenLength; }

  /** run.c's `encode`: BOS (default: the vocabulary's rule), the dummy-prefix space for non-empty text, one piece
   *  per character (else its UTF-8 bytes as byte pieces, else <unk>), score-driven merges, optional EOS. */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    const s = this.spec;
    const out: number[] = [];
    if ((opts.bos ?? s.addBos) && s.bosId !== null) out.push(s.bosId);
    const ids: number[] = [];
    if (text.length > 0) {
      // Lone surrogates become U+FFFD first, as they would on their way to UTF-8 bytes (run.c reads bytes).
      const wf = (text as string & { toWellFormed(): string }).toWellFormed(); // ES2024, in Node ≥ 20
      const norm = (s.spacePrefix ? s.space : '') + (s.space === ' ' ? wf : wf.replaceAll(' ', s.space));
      const enc = new TextEncoder();
      for (const ch of norm) {
        const id = s.lookup.get(ch);
        if (id !== undefined) { ids.push(id); continue; }
        for (const b of enc.encode(ch)) {
          const bid = s.byteIds[b];
          if (bid >= 0) ids.push(bid);
          else if (s.unkId !== null) ids.push(s.unkId);
          else throw new FormatError(s.file, 'metadata "tokenizer.ggml.tokens"', `a byte token <0x${b.toString(16).toUpperCase().padStart(2, '0')}> or an unknown token`, `neither exists, so ${shownJson(ch)} cannot be encoded`);
        }
      }
    }
    for (const id of mergeByScore(ids, s)) out.push(id); // no spread: documents exceed the argument limit
    if ((opts.eos ?? s.addEos) && s.eosId !== null) out.push(s.eosId);
    return out;
  }

  /** Bytes of `id` after `prev`: like run.c, the leading space of the piece right after BOS is dropped. */
  pieceBytes(prev: number | null, id: number): Uint8Array {
    checkId(id, this.vocabSize);
    const b = this.spec.outBytes[id];
    return prev !== null && prev === this.bosId && b[0] === 0x20 ? b.subarray(1) : b;
  }

  decode(ids: number[]): string {
    return Buffer.concat(ids.map((id, i) => this.pieceBytes(i > 0 ? ids[i - 1] : null, id))).toString('utf8');
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
    return this.spec.display[id];
  }

  score(id: number): number {
    checkId(id, this.vocabSize);
    return this.spec.scores[id];
  }
}
