// Several documents, one adapter; several adapters, one model — as a user runs them: `lift absorb a b` keeps
// each document (documents/NN.txt, a sha256 each, the list's hash in the manifest) and `ask` reads them all and
// refuses an edited one; `--adapter a,b` routes each request to one adapter (any kind), or with --combine sum applies
// LoRA adapters together and refuses Gated Memory with the reason.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireShared } from '../helpers/shared.js';
import { documentsSha256 } from '../../src/lift/absorb.js';
import { buildOnce, lift, MODEL_BIN, QUICK, storyDocument, tempDir } from './helpers.js';

before(() => buildOnce());
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

test('absorb a.txt b.md → one adapter over both; ask reads both; --adapter a,b combines LoRA, refuses Gated Memory', (t) => {
  if (!requireShared(t, 'models', 'stories260K', 'stories260K.bin')) return;
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const a = join(dir, 'park.txt'), b = join(dir, 'farm.md');
  writeFileSync(a, storyDocument(8, 1));
  writeFileSync(b, storyDocument(8, 2).replace(/park/g, 'farm'));
  const quick = [...QUICK, '--context-budget', '128', '--no-report'];
  const both = join(dir, 'both.lift');
  const r = lift(['absorb', a, b, '--model', MODEL_BIN, '--out', both, ...quick]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /document: .*park\.txt \(\d+ tokens\)[^]*document: .*farm\.md \(\d+ tokens\)/);
  const meta = JSON.parse(readFileSync(join(both, 'document.json'), 'utf8'));
  assert.equal(meta.title, 'park; farm');
  assert.deepEqual(meta.documents.map((d: { file: string; title: string }) => [d.file, d.title]), [['documents/01.txt', 'park'], ['documents/02.txt', 'farm']]);
  assert.equal(readFileSync(join(both, 'documents', '02.txt'), 'utf8'), readFileSync(b, 'utf8'));
  const manifest = JSON.parse(readFileSync(join(both, 'lift_manifest.json'), 'utf8'));
  assert.equal(manifest.document_sha256, documentsSha256([sha(readFileSync(a, 'utf8')), sha(readFileSync(b, 'utf8'))]));
  assert.equal(manifest.recipe.documents, 2);

  // Retrieval sees both documents: the farm document's sentences reach the prompt for a question about the farm.
  const q = lift(['ask', both, 'Who went to the farm?', '--json', '--context', 'retrieve', '--max-tokens', '8']);
  assert.equal(q.code, 0, q.stderr);
  assert.equal(JSON.parse(q.stdout).question, 'Who went to the farm?');
  writeFileSync(join(both, 'documents', '02.txt'), 'edited\n');
  const edited = lift(['ask', both, 'Who went to the farm?']);
  assert.notEqual(edited.code, 0);
  assert.match(edited.stderr, /02\.txt: sha256: .*the document was changed after absorbing/);
  const titled = lift(['absorb', a, b, '--model', MODEL_BIN, '--out', join(dir, 't.lift'), '--title', 'X', ...quick]);
  assert.notEqual(titled.code, 0);
  assert.match(titled.stderr, /--title names one document; with 2 documents each is titled by its file name/);

  // Two adapters trained apart on the same base: listed alone it answers as the folder's own; together they differ.
  const pa = join(dir, 'park.lift'), fa = join(dir, 'farm.lift'), gm = join(dir, 'gm.lift');
  for (const [doc, out] of [[a, pa], [b, fa]]) assert.equal(lift(['absorb', doc, '--model', MODEL_BIN, '--out', out, ...quick, '--lr', '3e-2', '--epochs', '2,0']).code, 0);
  const gen = (adapter: string) => lift(['generate', '--model', MODEL_BIN, '--adapter', adapter, '--prompt', 'Lily went to the', '--temperature', '0', '--max-tokens', '12']);
  const [one, same, pair] = [gen(pa), lift(['ask', pa, 'Who went to the park?', '--adapter', pa]), lift(['generate', '--model', MODEL_BIN, '--adapter', `${pa},${fa}`, '--combine', 'sum', '--prompt', 'Lily went to the', '--temperature', '0', '--max-tokens', '12'])];
  for (const x of [one, same, pair]) assert.equal(x.code, 0, x.stderr);
  assert.equal(same.stdout, lift(['ask', pa, 'Who went to the park?']).stdout, '--adapter DIR is DIR\'s own adapter');
  assert.notEqual(pair.stdout, one.stdout, 'the second adapter changes the greedy continuation');
  const combinedAsk = lift(['ask', pa, 'Who went to the farm?', '--adapter', `${pa},${fa}`, '--combine', 'sum', '--json']);
  assert.equal(combinedAsk.code, 0, combinedAsk.stderr);
  assert.match(combinedAsk.stderr, /2 LIFT adapters summed/);
  assert.equal(JSON.parse(combinedAsk.stdout).combine, 'sum');
  // Routed (the default): the prompt goes through one of the two, so it continues as that adapter alone does.
  const routed = gen(`${pa},${fa}`), other = gen(fa);
  assert.equal(routed.code, 0, routed.stderr);
  assert.notEqual(one.stdout, other.stdout, 'the two adapters continue differently (else the next check says nothing)');
  assert.ok(routed.stdout === one.stdout || routed.stdout === other.stdout, `routed: ${routed.stdout}`);
  assert.equal(lift(['absorb', a, '--model', MODEL_BIN, '--out', gm, '--adapter', 'gated-memory', '--epochs', '1,0', '--qa', '0', '--context-budget', '128', '--no-report']).code, 0);
  const refused = lift(['generate', '--model', MODEL_BIN, '--adapter', `${pa},${gm}`, '--combine', 'sum', '--prompt', 'Lily went to the', '--max-tokens', '4']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /cannot combine .*gm\.lift: Gated Memory adapters do not add up/);
  assert.equal(gen(`${pa},${gm}`).code, 0, 'routing takes Gated Memory beside LoRA (one adapter per request)');
});
