// A document absorbed in parts, on disk: `lift worker` publishes the parts folder and reads its document hash
// from lift_parts.json (a restarted job finds it finished); a deleted document's waiting parts
// (CHECKPOINT.parts-KEY) go with it, another document's stay.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../cli/helpers.js';
import { SharedDirStore } from '../../src/worker/artifacts.js';
import { removeDocumentFiles } from '../../src/server/queue/files.js';
import { dataPaths } from '../../src/server/paths.js';
import { PARTS_FILE } from '../../src/lift/parts-folder.js';

const A = 'doc_' + 'a'.repeat(24), B = 'doc_' + 'b'.repeat(24);

test('worker store: a parts folder is published once and its document hash read from lift_parts.json', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const store = new SharedDirStore(join(dir, 'data'));
  const stage = (): string => {
    const s = store.stagingDir(A);
    mkdirSync(join(s, 'part-01'), { recursive: true });
    writeFileSync(join(s, PARTS_FILE), JSON.stringify({ format_version: 1, document_sha256: 'f'.repeat(64), parts: ['part-01'] }));
    return s;
  };
  assert.equal(store.publishedSha256(A), null);
  assert.equal(store.publish(A, stage()), 'published');
  assert.equal(store.publishedSha256(A), 'f'.repeat(64));
  assert.ok(existsSync(join(store.adapterDir(A), 'part-01')));
  const again = stage();
  assert.equal(store.publish(A, again), 'already-published');
  assert.ok(!existsSync(again));
});

test('server files: deleting a document removes its waiting parts, not another document\'s', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const paths = dataPaths(join(dir, 'data'));
  for (const id of [A, B]) {
    mkdirSync(join(`${paths.checkpoint(id)}.parts-0123456789abcdef`, 'part-01'), { recursive: true });
    mkdirSync(paths.adapter(id), { recursive: true });
  }
  removeDocumentFiles(paths, A);
  assert.ok(!existsSync(`${paths.checkpoint(A)}.parts-0123456789abcdef`));
  assert.ok(!existsSync(paths.adapter(A)));
  assert.ok(existsSync(`${paths.checkpoint(B)}.parts-0123456789abcdef`));
  assert.ok(existsSync(paths.adapter(B)));
});
