// What `lift ask` / `lift chat` read from an absorbed folder: the document (checked against its recorded sha256)
// and how that adapter answers (document.json's answer_stop and bos, written by absorb from the preset).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readAbsorbed } from '../../src/lift/folder.js';
import { tempDir } from './helpers.js';

function folder(dir: string, meta: Record<string, unknown>, text = 'Lily had a dog.\n'): string {
  mkdirSync(dir);
  writeFileSync(join(dir, 'document.txt'), text);
  writeFileSync(join(dir, 'document.json'), JSON.stringify(meta));
  writeFileSync(join(dir, 'lift_manifest.json'), JSON.stringify({
    format_version: 2, adapter: 'lora', base_model: { id: 'm.gguf', revision: null, config_sha256: '0'.repeat(64) },
    document_sha256: createHash('sha256').update(text).digest('hex'),
  }));
  return dir;
}

test('answer_stop and bos from document.json reach ask; bad values are named; folders without them answer as before', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const paper = readAbsorbed(folder(join(dir, 'a'), { title: 'T', context_budget: 128, answer_stop: 'eos', bos: false }));
  assert.deepEqual([paper.answerStop, paper.bos, paper.contextBudget, paper.title], ['eos', false, 128, 'T']);
  const old = readAbsorbed(folder(join(dir, 'b'), { title: 'T', context_budget: 128 }));
  assert.deepEqual([old.answerStop, old.bos], [undefined, undefined]);
  assert.throws(() => readAbsorbed(folder(join(dir, 'c'), { title: 'T', context_budget: 128, answer_stop: 'never' })), /document\.json: "answer_stop": expected "blank-line" or "eos", got "never"/);
  assert.throws(() => readAbsorbed(folder(join(dir, 'd'), { title: 'T', context_budget: 128, bos: 'yes' })), /document\.json: "bos": expected true or false/);
  assert.throws(() => readAbsorbed(folder(join(dir, 'e'), { title: 7, context_budget: 128 })), /document\.json: "title": expected a string/);
});
