// A tiny character-level tokenizer for LIFT pipeline tests that need no real vocabulary: id = code point,
// no dummy prefix, BOS 1 / EOS 2 (never produced by text of printable characters).
import type { StreamDecoder, Tokenizer } from '../../src/text/tokenizer.js';

export class CharTokenizer implements Tokenizer {
  readonly vocabSize = 0x110000;
  readonly bosId = 1;
  readonly eosId = 2;
  readonly eosIds = [2];
  encode(text: string, opts: { bos?: boolean; eos?: boolean } = {}): number[] {
    const ids = [...text].map((c) => c.codePointAt(0)!);
    return [...(opts.bos ? [1] : []), ...ids, ...(opts.eos ? [2] : [])];
  }
  decode(ids: number[]): string {
    return ids.filter((i) => i > 2).map((i) => String.fromCodePoint(i)).join('');
  }
  createDecoder(): StreamDecoder {
    return { push: (id) => this.decode([id]), flush: () => '' };
  }
  idToPiece(id: number): string {
    return String.fromCodePoint(id);
  }
}
