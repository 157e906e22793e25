// Tokenizers from Hugging Face tokenizer.json + tokenizer_config.json (Llama 2/TinyLlama SentencePiece-BPE,
// SmolLM2/Llama 3 byte-level BPE, ...).
//
// Why @huggingface/tokenizers (tokenizers.js): it is maintained by Hugging Face (the runtime of
// transformers.js), pure JS with no native build or WASM, and reads tokenizer.json directly: normalizers,
// pre-tokenizers, BPE with byte fallback, added/special tokens and decoders, translated from the Rust crate
// the files are written for. Reimplementing all of that here would be a large surface to keep exact.
//
// BOS/EOS are added here rather than by the file's post-processor, from tokenizer_config.json
// (add_bos_token / add_eos_token), so `encode(text, {bos})` means the same thing for every tokenizer.
// The chat template lives in chat-template.ts (chatTemplateOf(tokenizer.config)).
import { readFileSync } from 'node:fs';
import { Tokenizer as HFCore } from '@huggingface/tokenizers';
import { FormatError, shown, shownJson } from '../io/errors.js';
import { checkId, TokenizerBase, type EncodeOptions, type StreamDecoder, type Tokenizer } from './tokenizer.js';

/** End-of-turn markers of common chat models: when a vocabulary has one as a special token, generation stops on it. */
const END_TOKENS = ['</s>', '<|endoftext|>', '<|im_end|>', '<|eot_id|>', '<|eom_id|>', '<|end_of_text|>', '<end_of_turn>', '<|end|>'];

export type TokenizerConfig = Record<string, unknown>;

/** bos_token / eos_token in tokenizer_config.json are a string, an AddedToken object {content}, or null. */
export function specialTokenText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return null;
}

/** A JSON object from a file; anything else (null, a list, a number, bad JSON) is a FormatError naming the file. */
function readJSON(path: string, what: string): Record<string, unknown> {
  let text: string;
  try { text = readFileSync(path, 'utf8'); } catch (e) { throw new Error(`cannot read ${path}: ${(e as Error).message}`); }
  let v: unknown;
  try { v = JSON.parse(text); } catch (e) { throw FormatError.withMessage(path, '(file)', `${path}: not valid JSON: ${(e as Error).message}`); }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new FormatError(path, '(top level)', `a JSON object (${what})`, `got ${v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v}`);
  return v as Record<string, unknown>;
}

/** How far token ids may run past the number of tokens listed (real files are dense: 0..n-1 plus added tokens). */
const ID_SLACK = 65536;

/**
 * The parts of tokenizer.json whose damage tokenizers.js does not report: it sizes arrays by the largest id
 * (get_vocab loops 0..max id), so one id of 877221571 in a 15 kB file, or a list where the id map belongs, is a
 * minutes-long hang. Checks the model's vocab and merges shapes, and that ids are integers below the number of
 * tokens listed plus ID_SLACK.
 */
function checkTokenizerModel(file: string, json: Record<string, unknown>): void {
  const model = json.model;
  if (!model || typeof model !== 'object' || Array.isArray(model)) throw new FormatError(file, 'model', 'an object {"type", "vocab", ...}', `got ${shownJson(model)}`);
  const { vocab, merges } = model as Record<string, unknown>;
  const added = Array.isArray(json.added_tokens) ? json.added_tokens : [];
  let listed = added.length;
  if (Array.isArray(vocab)) {
    // Unigram: [[piece, score], ...]; ids are the positions.
    vocab.forEach((e: unknown, i) => {
      if (!Array.isArray(e) || typeof e[0] !== 'string' || typeof e[1] !== 'number')
        throw new FormatError(file, `model.vocab[${i}]`, 'a [piece, score] pair (Unigram) — or model.vocab as an object {piece: id}', `got ${shownJson(e)}`);
    });
    listed += vocab.length;
  } else if (vocab && typeof vocab === 'object') {
    listed += Object.keys(vocab).length;
  } else if (vocab !== undefined) {
    throw new FormatError(file, 'model.vocab', 'an object {piece: id} or a list of [piece, score] pairs', `got ${shownJson(vocab)}`);
  }
  if (merges !== undefined && (!Array.isArray(merges) || !merges.every((m) => typeof m === 'string' || (Array.isArray(m) && m.length === 2 && m.every((x) => typeof x === 'string')))))
    throw new FormatError(file, 'model.merges', 'a list of "a b" strings or ["a", "b"] pairs', `got ${shownJson(merges)}`);
  // An unk_token missing from the vocabulary makes tokenizers.js return `undefined` ids for unknown characters.
  const unk = (model as Record<string, unknown>).unk_token;
  if (typeof unk === 'string' && vocab && typeof vocab === 'object' && !Array.isArray(vocab) && !Object.hasOwn(vocab, unk)
    && !added.some((t: unknown) => (t as { content?: unknown } | null)?.content === unk))
    throw new FormatError(file, 'model.unk_token', 'a token of model.vocab or added_tokens', `got ${shownJson(unk)}, which is neither`);
  const limit = listed + ID_SLACK;
  const check = (where: string, id: unknown): void => {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= limit)
      throw new FormatError(file, where, `a token id from 0 to ${limit - 1} (the ${listed} tokens listed, with room for gaps)`, `got ${shownJson(id)}`);
  };
  if (vocab && typeof vocab === 'object' && !Array.isArray(vocab)) for (const [piece, id] of Object.entries(vocab)) check(`model.vocab "${shown(piece)}"`, id);
  added.forEach((t: unknown, i) => check(`added_tokens[${i}].id`, t && typeof t === 'object' ? (t as { id?: unknown }).id : t));
}

/** Configs without add_bos_token (e.g. Llama 3) rely on the post-processor: see whether it adds BOS. */
function postProcessorAddsBos(core: HFCore, bosId: number | null): boolean {
  if (bosId === null) return false;
  return core.encode('a', { add_special_tokens: true }).ids[0] === bosId && core.encode('a', { add_special_tokens: false }).ids[0] !== bosId;
}

export class HFTokenizer extends TokenizerBase implements Tokenizer {
  private readonly core: HFCore;
  private readonly specialIds: Set<number>;

  /**
   * @param tokenizerJson parsed tokenizer.json
   * @param config parsed tokenizer_config.json ({} when the model has none)
   * @param extraEosIds more end ids, e.g. generation_config.json's eos_token_id list
   */
  constructor(tokenizerJson: Record<string, unknown>, readonly config: TokenizerConfig = {}, extraEosIds: number[] = []) {
    const core = new HFCore(tokenizerJson, config);
    let maxId = -1;
    for (const id of core.get_vocab(true).values()) if (id > maxId) maxId = id;
    const idOf = (key: string): number | null => {
      const text = specialTokenText(config[key]);
      return text === null ? null : core.token_to_id(text) ?? null;
    };
    const bosId = idOf('bos_token'), eosId = idOf('eos_token');
    const specialIds = new Set([...core.get_added_tokens_decoder()].filter(([, t]) => t.special).map(([id]) => id));
    const ends = END_TOKENS.map((t) => core.token_to_id(t)).filter((id): id is number => id !== undefined && specialIds.has(id));
    const addBos = typeof config.add_bos_token === 'boolean' ? config.add_bos_token : postProcessorAddsBos(core, bosId);
    super({ vocabSize: maxId + 1, bosId, eosId, extraEos: [...extraEosIds, ...ends], addBos, addEos: config.add_eos_token === true });
    this.core = core;
    this.specialIds = specialIds;
  }

  /** Where the tokenizer came from, for errors about it (set by fromFiles). */
  source = 'tokenizer.json';

  /** Reads tokenizer.json and (when given and present) tokenizer_config.json. */
  static fromFiles(tokenizerJsonPath: string, configPath?: string, extraEosIds: number[] = []): HFTokenizer {
    const json = readJSON(tokenizerJsonPath, 'a Hugging Face tokenizer: {"model": {...}, "pre_tokenizer": ..., "decoder": ...}');
    const config = configPath ? readJSON(configPath, 'tokenizer settings: {"bos_token": ..., "add_bos_token": ...}') : {};
    checkTokenizerModel(tokenizerJsonPath, json);
    // tokenizers.js validates as it builds, with messages that name no file ("Tokenizer must contain a "model"
    // property") and sometimes only fails on first use: build it and run one round trip here, so a broken file is
    // reported once, by name, at load time.
    try {
      const tok = new HFTokenizer(json, config, extraEosIds);
      tok.source = tokenizerJsonPath;
      tok.decode(tok.encode('Hello, world! 123 ü 日本', { bos: true, eos: true }));
      return tok;
    } catch (e) {
      if (e instanceof FormatError) throw e;
      throw new FormatError(tokenizerJsonPath, 'tokenizer', 'a tokenizer that tokenizers.js can build and run', `it failed: ${(e as Error)?.message ?? String(e)}`);
    }
  }

  /** Special tokens written in the text (e.g. '<|im_start|>' from a chat template) become their ids. */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    const ids = text.length > 0 ? this.core.encode(text, { add_special_tokens: false }).ids : [];
    // tokenizers.js yields undefined (or out-of-range) ids for pieces a damaged vocabulary cannot map; they
    // must not reach the model as NaN indices.
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize)
        throw new FormatError(this.source, 'tokenizer', `every piece of the text to map to a token id below ${this.vocabSize}`, `got ${String(id)} while encoding ${shownJson(text)}`);
    }
    if ((opts.bos ?? this.addBos) && this.bosId !== null) ids.unshift(this.bosId);
    if ((opts.eos ?? this.addEos) && this.eosId !== null) ids.push(this.eosId);
    return ids;
  }

  /** Text of `ids` without special tokens (BOS, EOS, chat markers), as transformers' skip_special_tokens. */
  decode(ids: number[]): string {
    for (const id of ids) checkId(id, this.vocabSize);
    if (ids.every((id) => this.specialIds.has(id))) return ''; // the library rejects an empty list
    return this.core.decode(ids, { skip_special_tokens: true, clean_up_tokenization_spaces: false });
  }

  /**
   * Text Generation Inference's incremental detokenizer: decode a window starting a few ids back and emit what
   * extends the previous window's text, holding back while it ends in U+FFFD (an incomplete byte sequence).
   * Decoding a window rather than single ids keeps decoders that look at neighbours (SentencePiece's leading
   * space strip, byte fallback) exact; trimming the window keeps the cost per id constant.
   */
  createDecoder(): StreamDecoder {
    const ids: number[] = [];
    let prefix = 0; // start of the window
    let read = 0; // ids before this have been emitted
    return {
      push: (id: number): string => {
        checkId(id, this.vocabSize);
        ids.push(id);
        const before = this.decode(ids.slice(prefix, read));
        const now = this.decode(ids.slice(prefix));
        if (now.length > before.length && !now.endsWith('\uFFFD')) {
          const out = now.slice(before.length);
          prefix = read;
          read = ids.length;
          return out;
        }
        return '';
      },
      flush: (): string => {
        const before = this.decode(ids.slice(prefix, read));
        const now = this.decode(ids.slice(prefix));
        prefix = read = ids.length;
        return now.length > before.length ? now.slice(before.length) : '';
      },
    };
  }

  idToPiece(id: number): string {
    checkId(id, this.vocabSize);
    return this.core.id_to_token(id) ?? '';
  }

  /** Id of a token string, or undefined. */
  pieceToId(piece: string): number | undefined {
    return this.core.token_to_id(piece);
  }
}
