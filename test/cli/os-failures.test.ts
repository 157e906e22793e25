// How `lift` ends when the system refuses it (issue 11, item 4): stdout closed early (`| head -c 5`) ends quietly
// with status 0 like other Unix tools; a full disk or a refused write is one line naming the path and the reason,
// status 1, no stack trace. Uses the built binary, as a user runs it.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildOnce, lift, MAIN, MODEL_BIN, tempDir } from './helpers.js';
import { requireShared } from '../helpers/shared.js';

before(() => buildOnce());

const GENERATE = ['generate', '--model', MODEL_BIN, '--steps', '256', '--temperature', '0'];

/** No stack frame ("    at fn (file:line)") and exactly one line starting "lift: ". */
function oneLine(stderr: string): string {
  assert.doesNotMatch(stderr, /^\s+at .*:\d+/m, `stack trace in:\n${stderr}`);
  const lines = stderr.split('\n').filter((l) => l.startsWith('lift: '));
  assert.equal(lines.length, 1, `expected one "lift: " line in:\n${stderr}`);
  return lines[0];
}

test('stdout closed early (lift generate | head -c 5): quiet exit, status 0', (t) => {
  if (!requireShared(t, 'models/stories260K/stories260K.bin')) return;
  const r = spawnSync('bash', ['-c', `"${process.execPath}" "${MAIN}" ${GENERATE.map((a) => `"${a}"`).join(' ')} | head -c 5; echo " status=\${PIPESTATUS[0]}"`], { encoding: 'utf8' });
  assert.match(r.stdout, /^.{5} status=0\n$/s, `stdout: ${JSON.stringify(r.stdout)}, stderr: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /EPIPE|Error|^\s+at /m, r.stderr);
});

test('stdout on a full device (/dev/full): one line naming standard output and ENOSPC, status 1', (t) => {
  if (!requireShared(t, 'models/stories260K/stories260K.bin')) return;
  if (!existsSync('/dev/full')) return t.skip('no /dev/full on this system');
  const r = spawnSync('bash', ['-c', `"${process.execPath}" "${MAIN}" ${GENERATE.map((a) => `"${a}"`).join(' ')} > /dev/full`], { encoding: 'utf8' });
  assert.equal(r.status, 1, r.stderr);
  assert.match(oneLine(r.stderr), /^lift: cannot write to standard output: no space left on the device \(ENOSPC\)$/);
});

test('a write the system refuses (EACCES under /sys): one line naming the path, status 1', (t) => {
  if (!requireShared(t, 'models/stories260K/stories260K.bin')) return;
  if (!existsSync('/sys/kernel')) return t.skip('no /sys on this system');
  const r = lift(['convert', '--model', MODEL_BIN, '--to', 'gguf', '--out', '/sys/kernel/lift-test.gguf']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(oneLine(r.stderr), /^lift: \/sys\/kernel\/\S*lift-test\.gguf\S*: (permission denied \(EACCES|read-only file system \(EROFS|operation not permitted \(EPERM)/);
});

test('a full disk while writing (a 64 KiB tmpfs): one line naming the file, status 1, nothing left behind', (t) => {
  if (!requireShared(t, 'models/stories260K/stories260K.bin')) return;
  const { dir, cleanup } = tempDir();
  const mnt = join(dir, 'small');
  mkdirSync(mnt);
  // Mounting needs root (CAP_SYS_ADMIN): where that is not available the case is skipped, not faked.
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]).status !== 0) {
    cleanup();
    return t.skip('cannot mount a small tmpfs here (needs root)');
  }
  try {
    const r = lift(['convert', '--model', MODEL_BIN, '--to', 'gguf', '--out', join(mnt, 'model.gguf')]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(oneLine(r.stderr), new RegExp(`^lift: ${mnt.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}/\\S*model\\.gguf\\S*: no space left on the device \\(ENOSPC, write\\)$`));
    assert.deepEqual(readdirSync(mnt), [], 'the partial file is removed');
  } finally {
    spawnSync('umount', [mnt]);
    cleanup();
  }
});
