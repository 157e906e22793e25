// GGUF-embedded vocabularies: stories260K.gguf's 'llama' vocabulary must encode exactly like tok512.bin (the
// same model's llama2.c tokenizer) and decode the same text; unsupported models fail clearly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { requireShared, sharedPath } from '../helpers/shared.js';
import { readGGUF } from '../../src/io/gguf.js';
import { fromGGUFMetadata, TokenType } from '../../src/text/gguf-vocab-tokenizer.js';
import { SentencePieceTokenizer } from '../../src/text/sentencepiece.js';

const GGUF = 'models/stories260K/stories260K.gguf';

/** ≥ 50 strings: TinyStories paragraphs (in-domain) plus edge cases (the literal '▁' is left out: it is a
 *  space piece in GGUF spelling but a plain character for tok512). */
function corpus(): string[] {
  const paras = readFileSync(sharedPath('data/tinystories-valid-sample/tinystories_val.txt'), 'utf8').split(/\n\n+/).filter((p) => p.trim());
  return [
    ...paras.slice(0, 50), paras.slice(50, 120).join('\n\n'),
    '', ' ', '  ', 'a', ' a', 'a ', 'Hello world', 'héllo wörld', '日本語', '🦙 llama', 'Ꙋ🦙', '\t\ttabs\n\nlines\n',
    ' '.repeat(33) + 'spaces', 'x'.repeat(100), '"Quote," she said. \'Yes!\'', '1234567890 + 2 = 1234567892', '<s> </s> <unk>',
    '<0x41> is not A', 'café naïve résumé', 'emoji 😀😃😄 end', '\u00a0nbsp\u2009thin',
  ];
}

test('gguf vocab: stories260K.gguf encodes exactly like tok512.bin', (t) => {
  if (!requireShared(t, GGUF) || !requireShared(t, 'data/tinystories-valid-sample')) return;
  const meta = readGGUF(sharedPath(GGUF)).metadata as Record<string, unknown>;
  const gg = fromGGUFMetadata(meta, GGUF);
  const ref = SentencePieceTokenizer.fromLlama2cFile(sharedPath('models/stories260K/tok512.bin'), 512);
  assert.ok(gg instanceof SentencePieceTokenizer);
  assert.deepEqual([gg.vocabSize, gg.bosId, gg.eosId, gg.eosIds], [512, 1, 2, [2]]);
  const texts = corpus();
  assert.ok(texts.length >= 50);
  for (const s of texts) {
    for (const opts of [{}, { bos: false }, { bos: true, eos: true }]) {
      assert.deepEqual(gg.encode(s, opts), ref.encode(s, opts), `${JSON.stringify(s.slice(0, 60))} ${JSON.stringify(opts)}`);
    }
    const ids = gg.encode(s);
    assert.equal(gg.decode(ids), ref.decode(ids));
    assert.equal(gg.decode(ids), s);
    const d = gg.createDecoder();
    assert.equal(ids.map((id) => d.push(id)).join('') + d.flush(), s);
  }
});

test('gguf vocab: pieces keep their GGUF spelling; control tokens print nothing', (t) => {
  if (!requireShared(t, GGUF)) return;
  const gg = fromGGUFMetadata(readGGUF(sharedPath(GGUF)).metadata as Record<string, unknown>, GGUF);
  assert.equal(gg.idToPiece(1), '<s>');
  assert.equal(gg.idToPiece(259), '▁t');
  assert.equal(gg.decode([1, 2]), '');
  assert.equal(gg.decode([259]), ' t');
  assert.equal(gg.decode([1, 259]), 't');
});

const tiny = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  'tokenizer.ggml.model': 'llama',
  'tokenizer.ggml.tokens': ['<unk>', '<s>', '</s>', '<0x41>', '▁', 'b', '▁b', 'bb'],
  'tokenizer.ggml.scores': [0, 0, 0, 0, -1, -2, -3, -1],
  'tokenizer.ggml.token_type': [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL, TokenType.BYTE, 1, 1, 1, 1],
  'tokenizer.ggml.bos_token_id': 1, 'tokenizer.ggml.eos_token_id': 2, 'tokenizer.ggml.unknown_token_id': 0,
  ...extra,
});

test('gguf vocab: synthetic vocabulary (score order, byte tokens, unk, flags)', () => {
  const tok = fromGGUFMetadata(tiny(), 'tiny.gguf');
  // '▁bbb': 'bb' (-1) beats '▁b' (-3); leftmost 'bb' first, then nothing merges with the lone 'b'
  assert.deepEqual(tok.encode('bbb'), [1, 4, 7, 5]);
  assert.deepEqual(tok.encode('A', { bos: false }), [4, 3]); // byte token <0x41>
  assert.deepEqual(tok.encode('C', { bos: false }), [4, 0]); // no byte token: unk
  assert.equal(tok.decode([1, 4, 3]), 'A');
  const noBos = fromGGUFMetadata(tiny({ 'tokenizer.ggml.add_bos_token': false, 'tokenizer.ggml.add_eos_token': true }), 'tiny.gguf');
  assert.deepEqual(noBos.encode('b'), [6, 2]);
});

test('gguf vocab: unsupported or malformed metadata fails clearly', () => {
  // A byte-level BPE ('gpt2') vocabulary needs its merges (text/gguf-bpe.ts; real files in test/text/gguf-bpe.test.ts).
  assert.throws(() => fromGGUFMetadata(tiny({ 'tokenizer.ggml.model': 'gpt2' }), 'm.gguf'), /m\.gguf: metadata "tokenizer\.ggml\.merges": expected an array of strings/);
  assert.throws(() => fromGGUFMetadata(tiny({ 'tokenizer.ggml.model': 'bert' }), 'm.gguf'), /'bert' not supported/);
  assert.throws(() => fromGGUFMetadata({}, 'm.gguf'), /m\.gguf: GGUF metadata has no "tokenizer\.ggml\.model"/);
  assert.throws(() => fromGGUFMetadata(tiny({ 'tokenizer.ggml.scores': [0, 1] }), 'm.gguf'), /8 tokens, 2 scores/);
  assert.throws(() => fromGGUFMetadata(tiny({ 'tokenizer.ggml.bos_token_id': 99 }), 'm.gguf'), /bos_token_id" = 99 is outside/);
  assert.throws(() => fromGGUFMetadata(tiny({ 'tokenizer.ggml.tokens': ['a', 5] }), 'm.gguf'), /tokens"\[1\] should be strings/);
});
