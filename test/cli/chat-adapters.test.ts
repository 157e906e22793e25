// `lift chat DIR --adapter a,b`: the session answers as `lift ask DIR Q --adapter a,b` does (the same combined
// LoRA adapters, the same documents in context, greedy) and as the library does with the two adapters summed
// (CombinedLora, both documents joined under their titles) — otherwise than either adapter alone on the same
// prompt — and refuses Gated Memory with the reason.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireShared } from '../helpers/shared.js';
import { buildOnce, lift, MODEL_BIN, QUICK, storyDocument, tempDir } from './helpers.js';
import { loadModelFromPath } from '../../src/model/load.js';
import { loadAdapter } from '../../src/adapters/files.js';
import { CombinedLora } from '../../src/adapters/combine.js';
import { AdapterRouter } from '../../src/adapters/route.js';
import type { LoraAdapter } from '../../src/adapters/lora.js';
import type { AdapterHooks } from '../../src/model/llama.js';
import { ask } from '../../src/lift/ask.js';
import { joinDocuments } from '../../src/lift/folder.js';

before(() => buildOnce());

test('chat --adapter a,b answers each piped question as ask --adapter a,b and the library\'s summed adapters do', async (t) => {
  if (!requireShared(t, 'models', 'stories260K', 'stories260K.bin')) return;
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const a = join(dir, 'park.txt'), b = join(dir, 'farm.txt');
  writeFileSync(a, storyDocument(8, 1));
  writeFileSync(b, storyDocument(8, 2).replace(/park/g, 'farm'));
  const pa = join(dir, 'park.lift'), fa = join(dir, 'farm.lift'), gm = join(dir, 'gm.lift');
  // A high learning rate so each adapter moves the greedy answer (and the pair differs from either alone).
  const quick = [...QUICK, '--context-budget', '128', '--no-report', '--lr', '3e-2', '--epochs', '2,0'];
  for (const [doc, out] of [[a, pa], [b, fa]]) { const r = lift(['absorb', doc, '--model', MODEL_BIN, '--out', out, ...quick]); assert.equal(r.code, 0, r.stderr); }
  const questions = ['Who went to the farm?', 'What did Lily find?'];
  const chat = (...extra: string[]) => lift(['chat', pa, '--max-tokens', '16', ...extra], { input: questions.join('\n') + '\n' });
  const pair = chat('--adapter', `${pa},${fa}`, '--combine', 'sum');
  assert.equal(pair.code, 0, pair.stderr);
  assert.match(pair.stderr, /chat over "park; farm" .*2 LIFT adapters summed/);
  const want = questions.map((q) => {
    const r = lift(['ask', pa, q, '--adapter', `${pa},${fa}`, '--combine', 'sum', '--max-tokens', '16', '--json']);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { answer: string }).answer.replace(/\s*\n\s*/g, ' ');
  });
  assert.deepEqual(pair.stdout.split('\n').slice(0, -1), want);
  // The library, on its own: both adapters loaded and summed, both documents in context under their titles.
  const loaded = loadModelFromPath(MODEL_BIN);
  t.after(() => loaded.model.dispose());
  const base = { model: loaded.model, id: loaded.id, revision: loaded.revision };
  const [A, F] = [pa, fa].map((d) => loadAdapter(d, base).adapter as LoraAdapter);
  const meta = [pa, fa].map((d) => JSON.parse(readFileSync(join(d, 'document.json'), 'utf8')) as { title: string; context_budget: number; answer_stop?: 'blank-line' | 'eos'; bos?: boolean });
  const docs = [pa, fa].map((d, i) => ({ title: meta[i].title, text: readFileSync(join(d, 'document.txt'), 'utf8') }));
  const opts = { title: docs.map((d) => d.title).join('; '), document: joinDocuments(docs), contextBudget: meta[0].context_budget, answerStop: meta[0].answer_stop, bos: meta[0].bos, maxTokens: 16 };
  const answers = async (adapter: AdapterHooks): Promise<string[]> => {
    const got: string[] = [];
    for (const q of questions) got.push((await ask(loaded, adapter, q, opts)).replace(/\s*\n\s*/g, ' '));
    return got;
  };
  const got = pair.stdout.split('\n').slice(0, -1);
  assert.deepEqual(got, await answers(new CombinedLora([A, F])));
  assert.notDeepEqual(got, await answers(A), 'the pair answers otherwise than the park adapter alone');
  assert.notDeepEqual(got, await answers(F), 'the pair answers otherwise than the farm adapter alone');
  // Routed (the default with several folders): each question through one adapter, as the library's router picks.
  const routed = chat('--adapter', `${pa},${fa}`);
  assert.equal(routed.code, 0, routed.stderr);
  assert.match(routed.stderr, /chat over "park; farm" .*2 LIFT adapters routed/);
  const [byA, byF] = [await answers(A), await answers(F)];
  const router = new AdapterRouter(loaded.model, [A, F]);
  const viaRouter = await answers(router);
  assert.deepEqual(routed.stdout.split('\n').slice(0, -1), viaRouter);
  viaRouter.forEach((x, i) => assert.ok(x === byA[i] || x === byF[i], `a routed answer is one adapter's own: ${x}`));
  router.dispose();
  const alone = chat();
  assert.equal(alone.code, 0, alone.stderr);
  assert.notDeepEqual(alone.stdout, pair.stdout, 'the second adapter changes the answers');
  assert.equal(lift(['absorb', a, '--model', MODEL_BIN, '--out', gm, '--adapter', 'gated-memory', '--epochs', '1,0', '--qa', '0', '--context-budget', '128', '--no-report']).code, 0);
  const refused = chat('--adapter', `${pa},${gm}`, '--combine', 'sum');
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /cannot combine .*gm\.lift: Gated Memory adapters do not add up/);
});
