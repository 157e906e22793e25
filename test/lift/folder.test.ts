// The documents an absorbed folder keeps (src/lift/folder.ts): one document in the original layout
// (document.txt), several as documents/NN.txt listed in document.json; each file checked against its sha256
// and the list against the manifest's document_sha256.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { documentFile, documentFolderFiles, joinDocuments, readFolderDocuments } from '../../src/lift/folder.js';
import { documentsSha256 } from '../../src/lift/absorb.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

function write(dir: string, files: Record<string, string>): Record<string, unknown> {
  for (const [name, data] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), data);
  }
  return JSON.parse(readFileSync(join(dir, 'document.json'), 'utf8'));
}

test('one document keeps the original layout; several are documents/NN.txt, each checked', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lift-folder-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const one = documentFolderFiles([{ title: 'A', text: 'Lily had a dog.\n', source: 'a.txt' }], { context_budget: 128 });
  assert.deepEqual(Object.keys(one.files).sort(), ['document.json', 'document.txt']);
  assert.equal(one.sha256, sha('Lily had a dog.\n'), 'one document: the manifest records its own sha256, as before');
  const d1 = join(dir, 'one');
  const m1 = write(d1, one.files);
  assert.deepEqual(readFolderDocuments(d1, m1, one.sha256, 'lift_manifest.json'), [{ title: 'A', text: 'Lily had a dog.\n' }]);

  const docs = [{ title: 'A', text: 'Lily had a dog.\n' }, { title: 'B', text: 'Tom had a cat.\n' }, { title: 'C', text: 'Sue had a kite.\n' }];
  const many = documentFolderFiles(docs, { context_budget: 128 });
  assert.deepEqual(Object.keys(many.files).sort(), ['document.json', 'documents/01.txt', 'documents/02.txt', 'documents/03.txt']);
  assert.equal(many.sha256, documentsSha256(docs.map((d) => sha(d.text))));
  assert.notEqual(many.sha256, sha(docs.map((d) => d.text).join('')));
  const d3 = join(dir, 'many');
  const m3 = write(d3, many.files);
  assert.equal(m3.title, 'A; B; C');
  assert.deepEqual(readFolderDocuments(d3, m3, many.sha256, 'lift_manifest.json'), docs);
  assert.equal(joinDocuments(docs), 'A\nLily had a dog.\n\nB\nTom had a cat.\n\nC\nSue had a kite.');
  assert.equal(documentFile(4, 120), 'documents/005.txt');

  writeFileSync(join(d3, 'documents/02.txt'), 'Tom had a rat.\n');
  assert.throws(() => readFolderDocuments(d3, m3, many.sha256, 'lift_manifest.json'), /02\.txt: sha256: expected [0-9a-f]{64} .*the document was changed after absorbing/);
  writeFileSync(join(d3, 'documents/02.txt'), 'Tom had a cat.\n');
  assert.throws(() => readFolderDocuments(d3, m3, sha('other'), 'lift_manifest.json'), /document\.json's list was changed after absorbing/);
  const escape = { ...m3, documents: [{ file: '../secret.txt', title: 'X', sha256: sha('') }] };
  assert.throws(() => readFolderDocuments(d3, escape, null, 'lift_manifest.json'), /documents\/NN\.txt/);
  writeFileSync(join(d1, 'document.txt'), 'Lily had a cat.\n');
  assert.throws(() => readFolderDocuments(d1, m1, one.sha256, 'lift_manifest.json'), /document\.txt: sha256: .*changed after absorbing/);
});
