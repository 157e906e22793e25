// The `lift` binary's surface as a user meets it: help texts, flag validation and the messages for inputs
// that cannot work (missing, empty or non-UTF-8 documents, models that are not there). Every failure must
// exit non-zero and say on stderr what was wrong and, where there is one, what to do.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireShared } from '../helpers/shared.js';
import { buildOnce, lift, MODEL_BIN, tempDir, storyDocument } from './helpers.js';

before(() => buildOnce());

const COMMANDS = ['absorb', 'ask', 'chat', 'convert', 'generate', 'inspect'];

describe('lift --help', () => {
  test('lists every subcommand', () => {
    const r = lift(['--help']);
    assert.equal(r.code, 0, r.stderr);
    for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`^\\s+${c}\\b`, 'm'), `${c} missing from lift --help`);
  });

  // Every command --help lists (including ones added later), not only the ones named above.
  test('lift <cmd> --help shows examples for every command', () => {
    const commands = [...lift(['--help']).stdout.matchAll(/^  ([a-z][\w-]*) /gm)].map((m) => m[1]).filter((c) => c !== 'help');
    assert.ok(COMMANDS.every((c) => commands.includes(c)), commands.join(' '));
    const missing: string[] = [];
    for (const c of commands) {
      const r = lift([c, '--help']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`Usage: lift ${c}`));
      if (!/^Examples:$/m.test(r.stdout) || !new RegExp(`^\\s+lift ${c} `, 'm').test(r.stdout)) missing.push(c);
    }
    assert.deepEqual(missing, [], `no "Examples:" section with a command line in lift ${missing.join(', ')} --help`);
  });

  test('an unknown command fails', () => {
    const r = lift(['nosuchcommand']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /unknown command 'nosuchcommand'/);
  });
});

describe('wrong flags name the flag', () => {
  const cases: [string, string[], RegExp][] = [
    ['unknown option', ['absorb', 'doc.txt', '--model', 'm', '--out', 'o', '--bogus'], /unknown option '--bogus'/],
    ['bad number', ['absorb', 'doc.txt', '--model', 'm', '--out', 'o', '--qa', 'abc'], /--qa: expected an integer.*"abc"/],
    ['bad number (generate)', ['generate', '--model', 'm', '--top-p', '2'], /--top-p: expected a number.*"2"/],
    ['bad --epochs', ['absorb', 'package.json', '--model', 'm', '--out', 'o', '--epochs', 'three'], /--epochs: expected two integers/],
    ['bad choice', ['absorb', 'doc.txt', '--model', 'm', '--out', 'o', '--adapter', 'foo'], /--adapter <kind>.*'foo' is invalid.*gated-memory, lora/],
    ['bad choice (chat)', ['chat', 'dir', '--context', 'everything'], /--context <mode>.*'everything' is invalid.*truncate, retrieve/],
    ['missing required option', ['absorb', 'doc.txt', '--out', 'o'], /required option '-m, --model <model>' not specified/],
    ['missing argument', ['inspect'], /missing required argument 'path'/],
  ];
  for (const [name, args, want] of cases) {
    test(name, () => {
      const r = lift(args);
      assert.notEqual(r.code, 0, `exit 0 for ${args.join(' ')}`);
      assert.match(r.stderr, want);
      assert.equal(r.stdout, '', 'nothing on stdout for a usage error');
    });
  }
});

describe('inputs that cannot work', () => {
  test('missing, empty and non-UTF-8 documents name the file', (t) => {
    if (!requireShared(t, 'models', 'stories260K', 'stories260K.bin')) return;
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    const empty = join(dir, 'empty.txt'), latin1 = join(dir, 'latin1.txt'), missing = join(dir, 'missing.txt');
    writeFileSync(empty, '  \n\n');
    writeFileSync(latin1, Buffer.from('Le caf\xe9 \xe9tait ferm\xe9.\n', 'latin1'));
    for (const [doc, want] of [[missing, /cannot read the document/], [empty, /empty/], [latin1, /not valid UTF-8 at byte 6.*iconv/]] as const) {
      const r = lift(['absorb', doc, '--model', MODEL_BIN, '--out', join(dir, 'out.lift')]);
      assert.equal(r.code, 1, r.stderr);
      assert.ok(r.stderr.startsWith('lift: '), r.stderr);
      assert.ok(r.stderr.includes(doc), `the message names ${doc}: ${r.stderr}`);
      assert.match(r.stderr, want);
    }
  });

  test('a model path that does not exist says what --model takes', (t) => {
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    writeFileSync(join(dir, 'doc.txt'), storyDocument(5));
    const missing = join(dir, 'nosuch.bin');
    for (const args of [['absorb', join(dir, 'doc.txt'), '--model', missing, '--out', join(dir, 'o.lift')], ['generate', '--model', missing]]) {
      const r = lift(args);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /model not found/);
      assert.ok(r.stderr.includes(missing), r.stderr);
      assert.match(r.stderr, /pass --model a llama2\.c \.bin, a \.gguf file/);
    }
  });

  test('a Hub model that is not cached, offline, says how to get it', (t) => {
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    writeFileSync(join(dir, 'doc.txt'), storyDocument(5));
    const r = lift(['absorb', join(dir, 'doc.txt'), '--model', 'nosuch/model', '--out', join(dir, 'o.lift')],
      { env: { HF_HUB_OFFLINE: '1', HF_HUB_CACHE: join(dir, 'hf-cache'), HF_HOME: join(dir, 'hf-home') } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /nosuch\/model/);
    assert.match(r.stderr, /offline/);
    assert.match(r.stderr, /download|local path/);
  });

  test('ask and chat on a folder that is not an absorbed document say how to make one', (t) => {
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    for (const args of [['ask', dir, 'Who?'], ['chat', dir]]) {
      const r = lift(args);
      assert.equal(r.code, 1);
      assert.ok(r.stderr.includes(dir), r.stderr);
      assert.match(r.stderr, /not an absorbed document folder.*lift absorb/);
    }
  });
});
