// The llama2.c tokenizer (tokenizer.bin / tok512.bin), reproducing upstream run.c's `encode` and `decode`
// exactly, so prompts and generated text match run.c byte for byte (the stories260K reference outputs).
//
// File format: int32 max_token_length, then per id { float32 score, int32 len, len bytes }, little-endian.
// The vocabulary size is not stored: run.c takes it from the model header. Ids 0/1/2 are <unk>, BOS, EOS
// and ids 3..258 the byte-fallback pieces <0x00>..<0xFF> (so a raw byte b encodes as b + 3).
//
// Pieces are raw bytes, not necessarily valid UTF-8 on their own, so they are kept as "binary" strings (one
// char per byte): concatenating two of them is concatenating their bytes, as run.c's sprintf("%s%s") does.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { FormatError } from '../io/errors.js';
import { mergeByScore, type ScoreVocab } from './score-bpe.js';
import { checkId, type EncodeOptions, type StreamDecoder, type Tokenizer } from './tokenizer.js';

const BOS = 1;
const EOS = 2;
const BYTE_OFFSET = 3;

/** Bytes -> one char per byte (the key convention for lookups). */
const binary = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

export class Llama2cTokenizer implements Tokenizer {
  readonly bosId = BOS;
  readonly eosId = EOS;
  /** run.c also stops when the model samples BOS (it delimits stories); callers reproducing it check bosId. */
  readonly eosIds = [EOS];
  readonly vocabSize: number;
  private readonly vocab: ScoreVocab;
  /** Raw bytes each id prints as in run.c's decode (before the after-BOS space strip). */
  private readonly outBytes: Uint8Array[];

  constructor(pieces: Uint8Array[], scores: Float32Array, readonly maxTokenLength: number) {
    if (pieces.length !== scores.length) throw new Error(`llama2.c tokenizer: ${pieces.length} pieces but ${scores.length} scores`);
    this.vocabSize = pieces.length;
    // C strings end at the first NUL: strcmp and printf never see what follows.
    const cut = pieces.map((p) => { const z = p.indexOf(0); return z < 0 ? p : p.subarray(0, z); });
    const keys = cut.map(binary);
    const lookup = new Map<string, number>();
    // run.c bsearches a sorted copy; with a repeated piece any copy may win. The first id is the stable choice.
    keys.forEach((k, i) => { if (!lookup.has(k)) lookup.set(k, i); });
    this.vocab = { pieces: keys, lookup, scores };
    this.outBytes = cut.map((p) => {
      // run.c: sscanf(piece, "<0x%02hhX>", &byte) turns byte pieces back into that raw byte
      const m = /^<0x([0-9A-Fa-f]{2})>/.exec(binary(p));
      return m ? Uint8Array.of(parseInt(m[1], 16)) : p;
    });
  }

  /** Parses a llama2.c tokenizer file. `vocabSize` (from the model header) bounds the entries read; without it
   *  entries are read to the end of the file. A truncated entry is an Error naming the file and the entry. */
  static fromFile(path: string, vocabSize?: number): Llama2cTokenizer {
    const buf = readFileSync(path);
    const name = basename(path);
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    if (buf.length < 4) throw FormatError.withMessage(path, 'tokenizer', `${name}: truncated llama2.c tokenizer: no max_token_length header (${buf.length} bytes)`);
    const maxTokenLength = dv.getInt32(0, true);
    if (maxTokenLength <= 0 || maxTokenLength > 1 << 16) throw FormatError.withMessage(path, 'tokenizer', `${name}: max_token_length ${maxTokenLength} is not a plausible llama2.c tokenizer header`);
    const pieces: Uint8Array[] = [];
    const scores: number[] = [];
    let o = 4;
    for (let i = 0; vocabSize === undefined ? o < buf.length : i < vocabSize; i++) {
      if (o + 8 > buf.length) throw FormatError.withMessage(path, 'tokenizer', `${name}: truncated at entry ${i}: need 8 header bytes at offset ${o}, file is ${buf.length} bytes`);
      const score = dv.getFloat32(o, true);
      const len = dv.getInt32(o + 4, true);
      o += 8;
      if (!Number.isFinite(score)) throw FormatError.withMessage(path, 'tokenizer', `${name}: entry ${i}: score ${score} is not finite (merges would be ordered arbitrarily)`);
      if (len < 0 || len > maxTokenLength) throw FormatError.withMessage(path, 'tokenizer', `${name}: entry ${i}: piece length ${len} outside 0..max_token_length ${maxTokenLength}`);
      if (o + len > buf.length) throw FormatError.withMessage(path, 'tokenizer', `${name}: truncated at entry ${i}: piece of ${len} bytes at offset ${o}, file is ${buf.length} bytes`);
      pieces.push(buf.subarray(o, o + len));
      scores.push(score);
      o += len;
    }
    if (pieces.length <= 258) throw FormatError.withMessage(path, 'tokenizer', `${name}: ${pieces.length} entries; a llama2.c vocabulary has <unk>, BOS, EOS and 256 byte pieces first`);
    return new Llama2cTokenizer(pieces, Float32Array.from(scores), maxTokenLength);
  }

  /** run.c `encode`: BOS (default on, as run.c's generate), dummy-prefix " " for non-empty text, per-codepoint
   *  lookup with byte fallback (byte + 3), score-driven merges, optional EOS. */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    const out: number[] = [];
    if (opts.bos ?? true) out.push(BOS);
    const bytes = Buffer.from(text, 'utf8');
    const ids: number[] = [];
    if (bytes.length > 0) ids.push(this.vocab.lookup.get(' ') ?? ' '.charCodeAt(0) + BYTE_OFFSET);
    // run.c's loop: gather a UTF-8 sequence (at most 4 bytes), look it up, else emit its bytes.
    let start = 0;
    for (let i = 0; i < bytes.length; i++) {
      if ((bytes[i] & 0xc0) !== 0x80) start = i;
      const len = i - start + 1;
      if (i + 1 < bytes.length && (bytes[i + 1] & 0xc0) === 0x80 && len < 4) continue;
      const seq = bytes.subarray(start, i + 1);
      const id = this.vocab.lookup.get(binary(seq));
      if (id !== undefined) ids.push(id);
      else for (const b of seq) ids.push(b + BYTE_OFFSET);
      start = i + 1; // run.c resets str_len: stray continuation bytes start afresh
    }
    for (const id of mergeByScore(ids, this.vocab)) out.push(id); // no spread: documents exceed the argument limit
    if (opts.eos) out.push(EOS);
    return out;
  }

  /** Bytes run.c's `decode(prev, id)` prints: strips the leading space after BOS, maps <0xXX> to the byte. */
  pieceBytes(prev: number | null, id: number): Uint8Array {
    checkId(id, this.vocabSize);
    const b = this.outBytes[id];
    return prev === BOS && b[0] === 0x20 ? b.subarray(1) : b;
  }

  /** Concatenates what run.c prints for each id; BOS and EOS print nothing (run.c never prints them). */
  decode(ids: number[]): string {
    const parts: Uint8Array[] = [];
    ids.forEach((id, i) => { if (id !== BOS && id !== EOS) parts.push(this.pieceBytes(i > 0 ? ids[i - 1] : null, id)); });
    return Buffer.concat(parts).toString('utf8');
  }

  createDecoder(): StreamDecoder {
    const td = new TextDecoder('utf-8');
    let prev: number | null = null;
    return {
      push: (id: number): string => {
        const b = id === BOS || id === EOS ? new Uint8Array(0) : this.pieceBytes(prev, id);
        prev = id;
        return td.decode(b, { stream: true });
      },
      flush: (): string => td.decode(),
    };
  }

  idToPiece(id: number): string {
    checkId(id, this.vocabSize);
    return Buffer.from(this.vocab.pieces[id], 'latin1').toString('utf8');
  }

  score(id: number): number {
    checkId(id, this.vocabSize);
    return this.vocab.scores[id];
  }
}
