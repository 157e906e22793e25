// The one interface every tokenizer in LIFT.ts implements (llama2.c tok*.bin, GGUF-embedded vocabularies,
// Hugging Face tokenizer.json), so the model, training and generation code never care where a vocabulary
// came from. Implementations: sentencepiece.ts (llama2.c and GGUF 'llama' vocabularies), gguf-bpe.ts, hf-tokenizer.ts.

export interface EncodeOptions {
  /** Prepend the BOS id (each implementation documents its default). */
  bos?: boolean;
  /** Append the EOS id (default false). */
  eos?: boolean;
}

/** Incremental detokenizer for generation: text appears only once its bytes form whole characters. */
export interface StreamDecoder {
  /** Appends `id` after the ids pushed so far; returns the text this completes (possibly ''). */
  push(id: number): string;
  /** Ends the stream: returns what is still pending (an incomplete character becomes U+FFFD). */
  flush(): string;
}

export interface Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosId: number | null;
  /** Every id that ends a generation (eos, eot, im_end...): samplers stop on any of them. */
  readonly eosIds: number[];
  encode(text: string, opts?: EncodeOptions): number[];
  decode(ids: number[]): string;
  /**
   * Streaming: each push returns the text newly completed by appending `id` after the previous ids
   * (byte-fallback pieces that only form a character together are held back until complete).
   */
  createDecoder(): StreamDecoder;
  /** The vocabulary entry of `id` as stored (e.g. '▁the', '<0x0A>', 'Ġthe'). */
  idToPiece(id: number): string;
}

/** What a tokenizer class gives TokenizerBase: its ids and encode()'s BOS/EOS defaults. */
export interface TokenizerIds {
  vocabSize: number;
  bosId: number | null;
  eosId: number | null;
  /** End ids beside EOS (eot, im_end, generation_config.json's list), in order. */
  extraEos: readonly number[];
  addBos: boolean;
  addEos: boolean;
}

/** The fields every Tokenizer class holds, set once: eosIds is EOS first, then the other end ids, each once. */
export abstract class TokenizerBase {
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly eosIds: number[];
  readonly addBos: boolean;
  readonly addEos: boolean;

  constructor(ids: TokenizerIds) {
    this.vocabSize = ids.vocabSize;
    this.bosId = ids.bosId;
    this.eosId = ids.eosId;
    this.eosIds = [...new Set([...(ids.eosId === null ? [] : [ids.eosId]), ...ids.extraEos])];
    this.addBos = ids.addBos;
    this.addEos = ids.addEos;
  }
}

/** Throws a RangeError for an id outside the vocabulary (ids come from models and files: check them). */
export function checkId(id: number, vocabSize: number): void {
  if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
    throw new RangeError(`token id ${id} is outside the vocabulary (0..${vocabSize - 1})`);
  }
}
