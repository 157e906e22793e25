// Writes that cannot destroy (src/io/output.ts): what is refused, what --force may replace, the lock, and the
// sweep of what a killed run left. Each case names what a user lost before this module existed.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADAPTER_OUTPUT, claimOutput, OutputError, type OutputKind } from '../../src/io/output.js';

const root = mkdtempSync(join(tmpdir(), 'lift-output-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => {
  const d = join(root, `case-${n++}`);
  mkdirSync(d);
  return d;
};
/** A LIFT adapter folder as far as ADAPTER_OUTPUT can tell: a manifest with its keys. */
const fakeAdapter = (dir: string, tag: string): void => {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'lift_manifest.json'), JSON.stringify({ format_version: 1, adapter: 'lora', base_model: { id: 'x' }, tag }));
};
const writeFolder = (target: ReturnType<typeof claimOutput>, tag: string): void => {
  const s = target.stage();
  fakeAdapter(s, tag);
  target.commit(s);
  target.release();
};
const tagOf = (dir: string): string => JSON.parse(readFileSync(join(dir, 'lift_manifest.json'), 'utf8')).tag;

test('an existing file, a non-adapter folder or a symlink is refused, with or without force, and left as it was', () => {
  const d = fresh();
  writeFileSync(join(d, 'notes.txt'), 'mine');
  mkdirSync(join(d, 'project'));
  writeFileSync(join(d, 'project', 'main.c'), 'int main;');
  symlinkSync(join(d, 'project'), join(d, 'link'));
  for (const name of ['notes.txt', 'project', 'link'])
    for (const force of [false, true])
      assert.throws(() => claimOutput(join(d, name), { kind: ADAPTER_OUTPUT, force }), (e: Error) =>
        e instanceof OutputError && /already exists and is .*never overwrites it/.test(e.message) && e.message.includes(name));
  assert.equal(readFileSync(join(d, 'notes.txt'), 'utf8'), 'mine');
  assert.equal(readFileSync(join(d, 'project', 'main.c'), 'utf8'), 'int main;');
  assert.deepEqual(readdirSync(d).sort(), ['link', 'notes.txt', 'project'], 'no lock or temp left after a refusal');
});

test('the current directory, an empty path and paths that are or hold an input are refused', () => {
  const d = fresh();
  const model = join(d, 'models', 'm.gguf');
  mkdirSync(join(d, 'models'));
  writeFileSync(model, 'GGUF');
  assert.throws(() => claimOutput('', { kind: ADAPTER_OUTPUT }), /expected a path, got an empty string/);
  assert.throws(() => claimOutput('.', { kind: ADAPTER_OUTPUT, force: true }), /current directory/);
  assert.throws(() => claimOutput(join(process.cwd(), '..'), { kind: ADAPTER_OUTPUT, force: true }), /current directory/);
  assert.throws(() => claimOutput(model, { kind: ADAPTER_OUTPUT, inputs: [model] }), /is an input of this command/);
  assert.throws(() => claimOutput(join(d, 'models'), { kind: ADAPTER_OUTPUT, inputs: [model], force: true }), /holds an input of this command/);
  // Through a symlinked parent the same input is still recognised.
  symlinkSync(join(d, 'models'), join(d, 'alias'));
  assert.throws(() => claimOutput(join(d, 'alias', 'm.gguf'), { kind: ADAPTER_OUTPUT, inputs: [model] }), /is an input/);
  // Beside an input is fine.
  const ok = claimOutput(join(d, 'models', 'new.lift'), { kind: ADAPTER_OUTPUT, inputs: [model] });
  ok.release();
  assert.ok(existsSync(model));
});

test('an existing adapter is replaced only with force; the old one stays until the new one is complete', () => {
  const d = fresh(), out = join(d, 'a.lift');
  writeFolder(claimOutput(out, { kind: ADAPTER_OUTPUT }), 'first');
  assert.throws(() => claimOutput(out, { kind: ADAPTER_OUTPUT }), /already holds a LIFT adapter folder; pass --force/);
  const t = claimOutput(out, { kind: ADAPTER_OUTPUT, force: true });
  const s = t.stage();
  fakeAdapter(s, 'second');
  assert.equal(tagOf(out), 'first', 'while the new one is staged the old one is in place');
  t.commit(s);
  t.release();
  assert.equal(tagOf(out), 'second');
  assert.deepEqual(readdirSync(d), ['a.lift'], 'no staging, old or lock path left');
  // A failure before commit leaves the old adapter and nothing else.
  const t2 = claimOutput(out, { kind: ADAPTER_OUTPUT, force: true });
  t2.stage();
  t2.release();
  assert.equal(tagOf(out), 'second');
  assert.deepEqual(readdirSync(d), ['a.lift']);
});

test('an empty folder is written into; something that appears at the target while working is not replaced', () => {
  const d = fresh(), out = join(d, 'empty');
  mkdirSync(out);
  writeFolder(claimOutput(out, { kind: ADAPTER_OUTPUT }), 'x');
  assert.equal(tagOf(out), 'x');
  const late = join(d, 'late');
  const t = claimOutput(late, { kind: ADAPTER_OUTPUT, force: true });
  const s = t.stage();
  writeFileSync(late, 'a user file written meanwhile');
  assert.throws(() => t.commit(s), /already exists and is a file/);
  t.release();
  assert.equal(readFileSync(late, 'utf8'), 'a user file written meanwhile');
});

test('a second writer to the same target fails at start, naming the holder; a dead holder\'s lock is taken over', () => {
  const d = fresh(), out = join(d, 'b.lift');
  const first = claimOutput(out, { kind: ADAPTER_OUTPUT });
  assert.throws(() => claimOutput(out, { kind: ADAPTER_OUTPUT, force: true }), (e: Error) =>
    /another lift command is writing it \(process \d+ on .*\).*rm ".*\.b\.lift\.lift-lock"/s.test(e.message));
  first.release();
  assert.ok(!existsSync(join(d, '.b.lift.lift-lock')), 'released');
  // A lock left by a process that has exited (SIGKILL) does not block the next run.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  writeFileSync(join(d, '.b.lift.lift-lock'), JSON.stringify({ pid: Number(dead.stdout), host: hostname(), started: 'then' }));
  const again = claimOutput(out, { kind: ADAPTER_OUTPUT });
  again.release();
});

test('what a killed run left is swept: its staging folder removed, an old adapter it had moved aside put back', () => {
  const d = fresh(), out = join(d, 'c.lift');
  const dead = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
  mkdirSync(join(d, `.c.lift.lift-tmp-${dead}-abc`));
  fakeAdapter(join(d, `.c.lift.lift-old-${dead}`), 'old');
  mkdirSync(join(d, `.c.lift.lift-tmp-${process.pid}-live`)); // a live process's staging folder is not touched
  writeFileSync(join(d, '.c.lift.notes'), 'not ours by name');
  const t = claimOutput(out, { kind: ADAPTER_OUTPUT, force: true });
  assert.equal(tagOf(out), 'old', 'the moved-aside adapter is back');
  assert.ok(!existsSync(join(d, `.c.lift.lift-tmp-${dead}-abc`)));
  assert.ok(existsSync(join(d, `.c.lift.lift-tmp-${process.pid}-live`)));
  assert.ok(existsSync(join(d, '.c.lift.notes')));
  t.release();
});

test('file outputs: replaced only when recognised as ours and forced', () => {
  const d = fresh(), out = join(d, 'm.bin');
  const kind: OutputKind = { what: 'a test file', folder: false, isOurs: (p) => readFileSync(p, 'utf8').startsWith('OURS') };
  const write = (force: boolean, body: string): void => {
    const t = claimOutput(out, { kind, force });
    try {
      const s = t.stage();
      writeFileSync(s, body);
      t.commit(s);
    } finally {
      t.release();
    }
  };
  write(false, 'OURS 1');
  assert.throws(() => write(false, 'OURS 2'), /pass --force/);
  write(true, 'OURS 2');
  assert.equal(readFileSync(out, 'utf8'), 'OURS 2');
  writeFileSync(out, 'theirs');
  assert.throws(() => write(true, 'OURS 3'), /never overwrites/);
  assert.equal(readFileSync(out, 'utf8'), 'theirs');
  assert.deepEqual(readdirSync(d), ['m.bin']);
});
