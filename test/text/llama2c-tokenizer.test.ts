// llama2.c tokenizer (tok512.bin of stories260K): run.c-exact encode/decode, the heap merge against run.c's
// quadratic loop, round trips, streaming, and the file parser's errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireShared, sharedPath } from '../helpers/shared.js';
import { SentencePieceTokenizer } from '../../src/text/sentencepiece.js';
import { mergeByScore, mergeByScoreReference, type ScoreVocab } from '../../src/text/score-bpe.js';

const TOK = 'models/stories260K/tok512.bin';
const load = (): SentencePieceTokenizer => SentencePieceTokenizer.fromLlama2cFile(sharedPath(TOK), 512);

const ROUND_TRIPS = [
  'Once upon a time, there was a little girl named Lily.',
  'héllo wörld — naïve café', '日本語のテキスト', '🦙🦙 llamas 🎉', 'Ꙋ🦙', '   leading and trailing   ',
  'tabs\t\tand\nnew\n\nlines', ' '.repeat(40) + 'x', '\u0000nul?', '~[]{}|\\^`', 'x',
];

test('llama2c: header, ids and pieces', (t) => {
  if (!requireShared(t, TOK)) return;
  const tok = load();
  assert.equal(tok.vocabSize, 512);
  assert.equal(tok.maxTokenLength, 7);
  assert.deepEqual([tok.bosId, tok.eosId, tok.eosIds], [1, 2, [2]]);
  assert.equal(tok.idToPiece(3), '<0x00>');
  assert.equal(tok.idToPiece(259), ' t');
  assert.equal(tok.score(260), -1);
});

test('llama2c: run.c encode conventions (BOS, dummy prefix, byte fallback = byte + 3, EOS)', (t) => {
  if (!requireShared(t, TOK)) return;
  const tok = load();
  assert.deepEqual(tok.encode(''), [1]);
  assert.deepEqual(tok.encode('', { bos: false }), []);
  const ids = tok.encode('a', { bos: true, eos: true });
  assert.equal(ids[0], 1);
  assert.equal(ids.at(-1), 2);
  // '🦙' is not in a 512-token vocabulary: its 4 UTF-8 bytes F0 9F A6 99 fall back to ids byte + 3
  const llama = tok.encode('🦙', { bos: false });
  assert.deepEqual(llama.slice(-4), [0xf0 + 3, 0x9f + 3, 0xa6 + 3, 0x99 + 3]);
  // the dummy prefix ' ' merged with the text: every non-empty encoding decodes with its leading space after BOS stripped
  assert.equal(tok.decode(tok.encode('The end.', { bos: false })), ' The end.');
});

test('llama2c: heap merge equals run.c quadratic merge on many strings', (t) => {
  if (!requireShared(t, TOK)) return;
  const tok = load();
  // rebuild run.c's view of the vocabulary to run the reference loop
  const buf = readFileSync(sharedPath(TOK));
  const pieces: string[] = []; const scores: number[] = [];
  for (let o = 4, i = 0; i < 512; i++) {
    const len = buf.readInt32LE(o + 4);
    scores.push(buf.readFloatLE(o)); pieces.push(buf.subarray(o + 8, o + 8 + len).toString('latin1')); o += 8 + len;
  }
  const lookup = new Map<string, number>();
  pieces.forEach((p, i) => { if (!lookup.has(p)) lookup.set(p, i); });
  const vocab: ScoreVocab = { pieces, lookup, scores: Float32Array.from(scores) };
  const story = readFileSync(sharedPath('models/stories260K/expected_output_greedy_t0.txt'), 'utf8');
  let seed = 12345;
  const rnd = (): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
  const alphabet = 'aeiou tnsrhl.,\n!é🦙ab';
  const texts = [...ROUND_TRIPS, story.slice(0, 300)];
  for (let k = 0; k < 60; k++) texts.push(Array.from({ length: 1 + Math.floor(rnd() * 50) }, () => [...alphabet][Math.floor(rnd() * [...alphabet].length)]).join(''));
  for (const s of texts) {
    const initial = tok.encode(s, { bos: false }); // merged; compare the two merges from the characters instead
    const chars: number[] = [lookup.get(' ') as number];
    for (const ch of s) {
      const id = lookup.get(Buffer.from(ch, 'utf8').toString('latin1'));
      if (id !== undefined) chars.push(id); else for (const b of Buffer.from(ch, 'utf8')) chars.push(b + 3);
    }
    const ref = mergeByScoreReference(chars, vocab);
    assert.deepEqual(mergeByScore(chars, vocab), ref, JSON.stringify(s));
    assert.deepEqual(initial, ref, JSON.stringify(s));
  }
});

test('llama2c: round trips (non-ASCII, emoji, whitespace runs, byte fallback)', (t) => {
  if (!requireShared(t, TOK)) return;
  const tok = load();
  for (const s of ROUND_TRIPS) assert.equal(tok.decode(tok.encode(s)), s, JSON.stringify(s));
});

test('llama2c: run.c greedy output re-encoded; its first 40 tokens decode to a prefix of it', (t) => {
  if (!requireShared(t, TOK)) return;
  const tok = load();
  const text = readFileSync(sharedPath('models/stories260K/expected_output_greedy_t0.txt'), 'utf8').replace(/\n$/, '');
  const ids = tok.encode(text);
  assert.equal(tok.decode(ids), text);
  const head = tok.decode(ids.slice(0, 40));
  assert.ok(head.length > 40, head);
  assert.ok(text.startsWith(head), head);
  assert.ok(head.startsWith('Once upon a time, there was a little girl named Lily.'));
});

test('llama2c: streaming decoder joins byte-fallback pieces into whole characters', (t) => {
  if (!requireShared(t, TOK)) return;
  const tok = load();
  for (const s of ROUND_TRIPS) {
    const ids = tok.encode(s);
    const d = tok.createDecoder();
    const parts = ids.map((id) => d.push(id));
    assert.equal(parts.join('') + d.flush(), s);
    assert.ok(parts.every((p) => !p.includes('\uFFFD')), 'no partial characters emitted');
  }
  const d = tok.createDecoder();
  const llama = tok.encode('🦙', { bos: false }).slice(-4);
  assert.deepEqual(llama.map((id) => d.push(id)), ['', '', '', '🦙']);
  assert.throws(() => tok.decode([512]), /outside the vocabulary/);
});

test('llama2c: truncated or malformed files name the file and the entry', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lift-tok-'));
  const entry = (s: string, score = 0): Buffer => {
    const b = Buffer.alloc(8 + Buffer.byteLength(s));
    b.writeFloatLE(score, 0); b.writeInt32LE(Buffer.byteLength(s), 4); b.write(s, 8); return b;
  };
  const header = Buffer.alloc(4); header.writeInt32LE(7, 0);
  const entries = ['<unk>', '<s>', '</s>', ...Array.from({ length: 256 }, (_, i) => `<0x${i.toString(16).toUpperCase().padStart(2, '0')}>`), ' ', 'a', ' a'];
  const full = Buffer.concat([header, ...entries.map((e, i) => entry(e, i > 258 ? -i : 0))]);
  const ok = join(dir, 'ok.bin');
  writeFileSync(ok, full);
  const tok = SentencePieceTokenizer.fromLlama2cFile(ok);
  assert.equal(tok.vocabSize, 262);
  assert.deepEqual(tok.encode('a', { bos: false }), [261]);
  const cut = join(dir, 'cut.bin');
  writeFileSync(cut, full.subarray(0, full.length - 2));
  assert.throws(() => SentencePieceTokenizer.fromLlama2cFile(cut), /cut\.bin: token 261 length: expected 0\.\.0 \(bytes left in the file\), got 2/);
  assert.throws(() => SentencePieceTokenizer.fromLlama2cFile(ok, 300), /ok\.bin: token 262: expected 8 bytes \(score, length\)/);
  writeFileSync(cut, full.subarray(0, 2));
  assert.throws(() => SentencePieceTokenizer.fromLlama2cFile(cut), /cut\.bin: max_token_length: expected an int32/);
});

test('llama2c: a whole document (800 KB) encodes without stack limits and round-trips', (t) => {
  if (!requireShared(t, TOK) || !requireShared(t, 'data/tinystories-valid-sample')) return;
  const tok = load();
  const text = readFileSync(sharedPath('data/tinystories-valid-sample/tinystories_val.txt'), 'utf8');
  const ids = tok.encode(text);
  assert.ok(ids.length > 300_000);
  assert.equal(tok.decode(ids), text);
});
