// Hugging Face tokenizer.json tokenizers through @huggingface/tokenizers, on the two shared files.
//
// Note on ../shared/tokenizers/llama2: despite its README, its vocabulary is Mistral-7B's 32k SentencePiece
// BPE, not Llama 2's ("Hello" is 22557 and '▁' is 28705, where Llama 2 has 15043 and 29871). The known
// encodings below are therefore Mistral's, from the test suite of mistral-tokenizer-js
// (github.com/imoneoi/mistral-tokenizer, src/tokenizer.test.ts, commit da59d907; README: "Hello world!" ->
// [1, 22557, 1526, 28808]), which were produced by the reference SentencePiece tokenizer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requireShared, sharedPath } from '../helpers/shared.js';
import { HFTokenizer, specialTokenText } from '../../src/text/hf-tokenizer.js';

const load = (name: string): HFTokenizer =>
  HFTokenizer.fromFiles(sharedPath('tokenizers', name, 'tokenizer.json'), sharedPath('tokenizers', name, 'tokenizer_config.json'));

const KNOWN: [string, number[]][] = [
  ['Hello world!', [1, 22557, 1526, 28808]],
  ['grabbed', [1, 13300]],
  [' grabbed', [1, 28705, 13300]],
  ['           grabbed', [1, 17422, 13300]],
  ['\n', [1, 28705, 13]],
  [' \n', [1, 259, 13]],
  ['\ttabs\t\t\t\tout here', [1, 28705, 12, 24856, 12, 12, 12, 12, 406, 1236]],
  ['ax\n####\nboo', [1, 6056, 13, 2000, 13, 1798, 28709]],
  ['镇', [1, 28705, 29780]],
  ['🦙', [1, 28705, 243, 162, 169, 156]],
  ['🦙Ꙋ', [1, 28705, 243, 162, 169, 156, 237, 156, 141]],
  ['Ꙋ🦙', [1, 28705, 237, 156, 141, 243, 162, 169, 156]],
];

const ROUND_TRIPS = [
  'Hello world', 'héllo wörld — naïve café', '日本語のテキスト、中文', '🦙🦙 llamas 🎉👩‍👩‍👧', '𓀀 hieroglyph (byte fallback)',
  ' '.repeat(37) + 'x' + ' '.repeat(5), 'tabs\t\tand\nnew\n\n\nlines', '  leading', 'trailing  ', 'x', '',
  'Ꙋ🦙 rare + emoji', 'मराठी हिन्दी', '\u200bzero\u200bwidth',
];

test('hf tokenizer (shared llama2 = Mistral vocab): published encodings and config', (t) => {
  if (!requireShared(t, 'tokenizers/llama2')) return;
  const tok = load('llama2');
  assert.deepEqual([tok.vocabSize, tok.bosId, tok.eosId, tok.eosIds, tok.addBos], [32000, 1, 2, [2], true]);
  for (const [text, ids] of KNOWN) {
    assert.deepEqual(tok.encode(text), ids, JSON.stringify(text));
    assert.equal(tok.decode(ids), text);
  }
  assert.deepEqual(tok.encode('Hello world!', { bos: false, eos: true }), [22557, 1526, 28808, 2]);
  assert.equal(tok.idToPiece(22557), '▁Hello');
  assert.equal(tok.idToPiece(13), '<0x0A>');
});

for (const name of ['llama2', 'smollm2']) {
  test(`hf tokenizer ${name}: round trips (non-ASCII, emoji, whitespace runs, byte fallback) and streaming`, (t) => {
    if (!requireShared(t, 'tokenizers', name)) return;
    const tok = load(name);
    for (const s of ROUND_TRIPS) {
      const ids = tok.encode(s);
      assert.equal(tok.decode(ids), s, JSON.stringify(s));
      const d = tok.createDecoder();
      const parts = ids.map((id) => d.push(id));
      assert.equal(parts.join('') + d.flush(), s, `stream ${JSON.stringify(s)}`);
      assert.ok(parts.every((p) => !p.includes('\uFFFD')), `no partial characters emitted for ${JSON.stringify(s)}`);
    }
    assert.throws(() => tok.decode([tok.vocabSize]), /outside the vocabulary/);
  });
}

test('hf tokenizer llama2: characters absent from the vocabulary use byte fallback', (t) => {
  if (!requireShared(t, 'tokenizers/llama2')) return;
  const tok = load('llama2');
  const ids = tok.encode('𓀀', { bos: false });
  // U+13000 = F0 93 80 80: byte pieces <0xF0> <0x93> <0x80> <0x80> are ids byte + 3
  assert.deepEqual(ids.slice(-4), [0xf0 + 3, 0x93 + 3, 0x80 + 3, 0x80 + 3]);
});

test('hf tokenizer smollm2: special tokens, no BOS by default, chat markers parsed', (t) => {
  if (!requireShared(t, 'tokenizers/smollm2')) return;
  const tok = load('smollm2');
  assert.equal(tok.vocabSize, 49152);
  assert.equal(tok.addBos, false); // no add_bos_token and the ByteLevel post-processor adds nothing
  assert.equal(tok.bosId, 0);
  assert.equal(tok.eosId, 0);
  assert.deepEqual(tok.eosIds, [0, 2]); // <|endoftext|> and <|im_end|>
  assert.equal(tok.idToPiece(1), '<|im_start|>');
  const ids = tok.encode('<|im_start|>user\nhi<|im_end|>');
  assert.equal(ids[0], 1);
  assert.equal(ids.at(-1), 2);
  assert.equal(tok.decode(ids), 'user\nhi'); // special tokens are skipped in decoded text
  assert.deepEqual(tok.encode('Hello world').map((id) => tok.idToPiece(id)), ['Hello', 'Ġworld']);
});

test('specialTokenText accepts strings and AddedToken objects', () => {
  assert.equal(specialTokenText('<s>'), '<s>');
  assert.equal(specialTokenText({ content: '<|endoftext|>', lstrip: false }), '<|endoftext|>');
  assert.equal(specialTokenText(null), null);
});
