// Nothing a user owns is lost, nothing wrong is silent — as a user meets it on the command line. Each case is a
// mistake a user made that deleted a folder or printed success for an unusable result before (issue 11).
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireShared, sharedPath } from '../helpers/shared.js';
import { ADAPTER_OUTPUT, claimOutput } from '../../src/io/output.js';
import { buildOnce, lift, MODEL_BIN, QUICK, storyDocument, tempDir } from './helpers.js';

before(() => buildOnce());

/** A folder a user cares about: a file, a subfolder, a .git. */
function precious(dir: string): () => void {
  mkdirSync(join(dir, '.git'), { recursive: true });
  writeFileSync(join(dir, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  writeFileSync(join(dir, 'thesis.tex'), 'years of work');
  return () => {
    assert.equal(readFileSync(join(dir, 'thesis.tex'), 'utf8'), 'years of work');
    assert.equal(readFileSync(join(dir, '.git', 'HEAD'), 'utf8'), 'ref: refs/heads/main\n');
  };
}

describe('absorb --out never destroys', () => {
  test('an existing file or folder, the current directory, an input, an empty path: refused, untouched', (t) => {
    if (!requireShared(t, 'models', 'stories260K', 'stories260K.bin')) return;
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    const doc = join(dir, 'doc.txt');
    writeFileSync(doc, storyDocument(20));
    const project = join(dir, 'project');
    mkdirSync(project);
    const intact = precious(project);
    const run = (out: string, extra: string[] = [], cwd?: string) => lift(['absorb', doc, '--model', MODEL_BIN, '--out', out, ...QUICK, '--context-budget', '64', ...extra], cwd ? { cwd } : {});
    for (const [out, extra, re] of [
      [project, [], /already exists and is a folder that is not a LIFT adapter folder/],
      [project, ['--force'], /never overwrites it \(not even with --force\)/],
      [join(project, 'thesis.tex'), ['--force'], /already exists and is a file/],
      [doc, ['--force'], /is an input of this command/],
      [dir, ['--force'], /holds an input of this command/],
      ['', [], /expected a path, got an empty string/],
    ] as [string, string[], RegExp][]) {
      const r = run(out, extra);
      assert.notEqual(r.code, 0, `--out ${out} ${extra}: ${r.stderr}`);
      assert.match(r.stderr, re);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'a message, not a stack trace');
    }
    const here = run('.', ['--force'], project);
    assert.notEqual(here.code, 0);
    assert.match(here.stderr, /current directory/);
    intact();
    assert.deepEqual(readdirSync(project).sort(), ['.git', 'thesis.tex'], 'no lock, staging or adapter files left in the folder');
    assert.deepEqual(readdirSync(dir).sort(), ['doc.txt', 'project']);
  });

  test('a second absorb into the same --out: refused without --force, replaces with it; a running one blocks it at start', (t) => {
    if (!requireShared(t, 'models', 'stories260K', 'stories260K.bin')) return;
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    const doc = join(dir, 'doc.txt'), out = join(dir, 'doc.lift');
    writeFileSync(doc, storyDocument(20));
    const args = (seed: string, ...more: string[]) => ['absorb', doc, '--model', MODEL_BIN, '--out', out, ...QUICK, '--context-budget', '64', '--seed', seed, '--json', ...more];
    const first = lift(args('1'));
    assert.equal(first.code, 0, first.stderr);
    const created = JSON.parse(readFileSync(join(out, 'lift_manifest.json'), 'utf8')).created;
    const second = lift(args('2'));
    assert.notEqual(second.code, 0);
    assert.match(second.stderr, /already holds a LIFT adapter folder; pass --force to replace it/);
    assert.equal(JSON.parse(readFileSync(join(out, 'lift_manifest.json'), 'utf8')).created, created, 'the first adapter untouched');
    const forced = lift(args('2', '--force'));
    assert.equal(forced.code, 0, forced.stderr);
    const m = JSON.parse(readFileSync(join(out, 'lift_manifest.json'), 'utf8'));
    assert.notEqual(m.created, created);
    assert.equal(m.recipe.seed, 2);
    assert.ok(existsSync(join(out, 'document.txt')) && existsSync(join(out, 'report.html')), 'document and report in the same atomic write');
    // Another writer holds the target (here this test process, alive): the absorb fails at start, naming it.
    const held = claimOutput(out, { kind: ADAPTER_OUTPUT, force: true });
    try {
      const t0 = performance.now();
      const blocked = lift(args('3', '--force'));
      assert.notEqual(blocked.code, 0);
      assert.match(blocked.stderr, new RegExp(`another lift command is writing it \\(process ${process.pid} `));
      assert.doesNotMatch(blocked.stderr, /training/, 'refused before any training');
      assert.ok(performance.now() - t0 < 30_000);
    } finally {
      held.release();
    }
    assert.deepEqual(readdirSync(dir).sort(), ['doc.lift', 'doc.txt']);
  });
});

describe('convert, demo and eval outputs follow the same rule', () => {
  test('convert: an existing file, the source itself and its tokenizer are refused; an earlier conversion is replaced only with --force', (t) => {
    if (!requireShared(t, 'models', 'stories260K', 'stories260K.bin')) return;
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    // The source is copied: a test that could fail must never point a writer at the shared folder.
    const bin = join(dir, 'stories260K.bin'), tok = join(dir, 'tok512.bin');
    copyFileSync(MODEL_BIN, bin);
    copyFileSync(sharedPath('models', 'stories260K', 'tok512.bin'), tok);
    const before = readFileSync(bin), tokBefore = readFileSync(tok);
    for (const [out, re] of [[bin, /is an input of this command/], [tok, /is an input of this command/], [dir, /holds an input/]] as [string, RegExp][]) {
      const r = lift(['convert', '--model', bin, '--to', 'gguf', '--out', out, '--force']);
      assert.notEqual(r.code, 0, r.stderr);
      assert.match(r.stderr, re);
    }
    assert.ok(readFileSync(bin).equals(before) && readFileSync(tok).equals(tokBefore), 'source and tokenizer untouched');
    const notes = join(dir, 'notes.gguf');
    writeFileSync(notes, 'mine');
    const r = lift(['convert', '--model', bin, '--to', 'gguf', '--out', notes, '--force']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /already exists and is a file that is not a GGUF file written by lift convert/);
    assert.equal(readFileSync(notes, 'utf8'), 'mine');
    const g = join(dir, 'out.gguf');
    assert.equal(lift(['convert', '--model', bin, '--to', 'gguf', '--out', g]).code, 0);
    const again = lift(['convert', '--model', bin, '--to', 'gguf', '--out', g]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /pass --force/);
    assert.equal(lift(['convert', '--model', bin, '--to', 'gguf', '--out', g, '--force']).code, 0);
    const hf = join(dir, 'hf');
    assert.equal(lift(['convert', '--model', bin, '--to', 'hf', '--out', hf]).code, 0);
    assert.equal(lift(['convert', '--model', bin, '--to', 'hf', '--out', hf, '--force']).code, 0);
    assert.deepEqual(readdirSync(dir).sort(), ['hf', 'notes.gguf', 'out.gguf', 'stories260K.bin', 'tok512.bin']);
  });

  test('demo and eval: an existing folder that is not theirs is refused before any work', (t) => {
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    const intact = precious(dir);
    const d = lift(['demo', '--out', dir, '--force']);
    assert.notEqual(d.code, 0);
    assert.match(d.stderr, /already exists and is a folder that is not a LIFT adapter folder/);
    if (requireShared(t, 'models', 'stories260K', 'stories260K.bin')) {
      const e = lift(['eval', 'needle', '--model', MODEL_BIN, '--out', dir, '--force']);
      assert.notEqual(e.code, 0);
      assert.match(e.stderr, /not a lift eval results folder/);
    }
    intact();
    assert.deepEqual(readdirSync(dir).sort(), ['.git', 'thesis.tex']);
  });
});

describe('unusable results exit non-zero and write nothing', () => {
  test('--epochs 0,0, a budget beyond the model, a diverging --lr', (t) => {
    if (!requireShared(t, 'models', 'stories260K', 'stories260K.bin')) return;
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    const doc = join(dir, 'doc.txt');
    writeFileSync(doc, storyDocument(20));
    const run = (...extra: string[]) => lift(['absorb', doc, '--model', MODEL_BIN, '--out', join(dir, 'x.lift'), ...QUICK, '--context-budget', '64', ...extra]);
    const zero = run('--epochs', '0,0');
    assert.notEqual(zero.code, 0);
    assert.match(zero.stderr, /--epochs: expected at least one epoch in all/);
    const wide = lift(['absorb', doc, '--model', MODEL_BIN, '--out', join(dir, 'x.lift'), ...QUICK, '--context-budget', '4096']);
    assert.notEqual(wide.code, 0);
    assert.match(wide.stderr, /context budget 4096 exceeds the model's context of 512 tokens/);
    const wild = run('--lr', '1e30', '--epochs', '2,0');
    assert.notEqual(wild.code, 0, wild.stderr);
    assert.match(wild.stderr, /training diverged|all \d+ training steps were skipped|not finite/);
    assert.doesNotMatch(wild.stderr, /absorbed in/);
    assert.deepEqual(readdirSync(dir), ['doc.txt'], 'no adapter written');
  });

  test('ask refuses a document edited after absorbing, naming the file and both hashes', (t) => {
    if (!requireShared(t, 'models', 'stories260K', 'stories260K.bin')) return;
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    const doc = join(dir, 'doc.txt'), out = join(dir, 'doc.lift');
    writeFileSync(doc, storyDocument(20));
    assert.equal(lift(['absorb', doc, '--model', MODEL_BIN, '--out', out, ...QUICK, '--context-budget', '128', '--no-report']).code, 0);
    assert.equal(lift(['ask', out, 'Who went to the park?']).code, 0);
    writeFileSync(join(out, 'document.txt'), readFileSync(join(out, 'document.txt'), 'utf8').replace('Lily', 'Lola'));
    const r = lift(['ask', out, 'Who went to the park?']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /document\.txt: sha256: expected [0-9a-f]{64} .*got [0-9a-f]{64}: the document was changed after absorbing/);
    const c = lift(['chat', out], { input: 'Who?\n' });
    assert.notEqual(c.code, 0);
    assert.match(c.stderr, /the document was changed after absorbing/);
  });
});
