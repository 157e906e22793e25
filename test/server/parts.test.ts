// `lift serve` with a document absorbed in parts (recipe field `parts`, as `lift absorb --parts N`; the measured
// preset does it beyond 4096 tokens): the job writes a parts folder at the document's place (the same folder the
// CLI writes: lift_parts.json with the parts' summed metrics, one adapter folder per part), the document's
// progress runs once from 0 to 1 across the parts, and a question is routed to one part that answers over its own
// text — the answer `lift ask` prints from the published folder, through the official `openai` client. Combined
// with another document ("a+b") its parts join the other's adapter, as `lift ask --adapter a,b`. The adapter
// download holds the part folders; the report links the parts'; deleting the document removes every file.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { lift, storyDocument } from '../cli/helpers.js';
import { http, modelSkip, servedFixture, until } from './helpers.js';

const LORA = { adapter: 'lora', lora_rank: 2, epochs: [2, 0], qa: 0, batch_size: 4, context_budget: 128, lr: 3e-2 };

describe('lift serve: a document absorbed in parts', { skip: modelSkip() }, () => {
  const served = servedFixture();

  it('writes the CLI\'s parts folder, routes each question to one part over its own text, combines, downloads, deletes', async () => {
    const place = ['park', 'farm', 'beach', 'zoo'];
    const text = place.map((p, i) => storyDocument(8, i + 1).replace(/park/g, p)).join('\n');
    const post = async (body: object): Promise<string> => {
      const r = await http(`${served.url}/v1/documents`, 'POST', body);
      assert.equal(r.status, 202, r.text);
      return r.json.id as string;
    };
    // A bad `parts` is a 400 naming the field; nothing is queued.
    const bad = await http(`${served.url}/v1/documents`, 'POST', { text, title: 'x', recipe: { ...LORA, parts: -5 } });
    assert.equal(bad.status, 400, bad.text);
    assert.equal(bad.json.error.param, 'recipe.parts');
    assert.match(bad.json.error.message, /tokens per part/);

    const id = await post({ text, title: 'places', recipe: { ...LORA, parts: 200 } });
    const other = await post({ text: storyDocument(8, 7).replace(/park/g, 'lake'), title: 'lake', recipe: LORA });
    // The document's progress across the parts: the events name the part, and the fraction never goes back.
    const seen: number[] = [];
    const poll = setInterval(() => void http(`${served.url}/v1/documents/${id}`, 'GET').then((r) => { if (typeof r.json?.progress === 'number') seen.push(r.json.progress); }, () => {}), 100);
    let doc: Record<string, any>;
    try {
      doc = await until(async () => {
        const d = (await http(`${served.url}/v1/documents/${id}`, 'GET')).json;
        assert.notEqual(d.status, 'failed', JSON.stringify(d));
        return d.status === 'ready' ? d : undefined;
      }, 180_000, 'the parts to be absorbed');
      await until(async () => ((await http(`${served.url}/v1/documents/${other}`, 'GET')).json.status === 'ready' ? true : undefined), 120_000, 'the other document');
    } finally {
      clearInterval(poll);
    }
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i] >= seen[i - 1] - 1e-9, `progress went back: ${seen.join(', ')}`);
    const dir = join(served.dir, 'adapters', id);
    const list = JSON.parse(readFileSync(join(dir, 'lift_parts.json'), 'utf8'));
    const n = list.parts.length;
    assert.ok(n >= 2, `several parts: ${JSON.stringify(list)}`);
    assert.equal(readFileSync(join(dir, 'document.txt'), 'utf8'), text);
    for (const p of list.parts) assert.ok(existsSync(join(dir, p, 'adapter_model.safetensors')), p);
    // The document's metrics are the parts' (summed), also kept in lift_parts.json.
    assert.equal(doc.metrics.parts, n);
    assert.equal(doc.metrics.part_metrics.length, n);
    assert.deepEqual(doc.metrics.part_tokens, list.tokens);
    assert.equal(doc.metrics.steps, doc.metrics.part_metrics.reduce((a: number, m: { steps: number }) => a + m.steps, 0));
    assert.ok(doc.metrics.part_metrics.every((m: { steps: number }) => m.steps > 0));
    assert.equal(list.metrics.steps, doc.metrics.steps);
    assert.deepEqual(doc.recipe, { ...LORA, parts: 200 });
    // Nothing left waiting beside the checkpoint once the folder is written.
    assert.deepEqual(readdirSync(join(served.dir, 'checkpoints')).filter((f) => f.startsWith(id)), []);
    const events = (await http(`${served.url}/v1/documents/${id}/events`, 'GET')).text;
    for (let k = 0; k < n; k++) assert.match(events, new RegExp(`"type":"part","part":${k},"parts":${n}`));

    // Answers: the CLI's on the published folder (its own loading, router and part contexts) — for each question
    // one part's answer over that part's own text, not over the whole document.
    const client = new OpenAI({ baseURL: `${served.url}/v1`, apiKey: 'none', maxRetries: 0, timeout: 60_000 });
    let differs = 0;
    for (const question of ['Who went to the zoo?', 'What did Tom find at the farm?']) {
      const r = await client.chat.completions.create({ model: id, messages: [{ role: 'user', content: question }], max_tokens: 16 });
      const cli = lift(['ask', dir, question, '--max-tokens', '16']);
      assert.equal(cli.code, 0, cli.stderr);
      assert.equal(r.choices[0].message.content, cli.stdout.trim(), question);
      const own = list.parts.map((p: string) => lift(['ask', join(dir, p), question, '--max-tokens', '16']).stdout.trim());
      assert.ok(own.includes(r.choices[0].message.content), `${question}: ${r.choices[0].message.content} | ${own.join(' | ')}`);
      const overWhole = list.parts.map((p: string) => lift(['ask', dir, question, '--adapter', join(dir, p), '--max-tokens', '16']).stdout.trim());
      differs += own.filter((a: string, k: number) => a !== overWhole[k]).length;
      // The completions endpoint answers the same way.
      const t = await client.completions.create({ model: id, prompt: question, max_tokens: 16 });
      assert.equal(t.choices[0].text, r.choices[0].message.content);
    }
    assert.ok(differs > 0, 'a part answers differently over its own text than over the whole document (else the contexts are not checked)');

    // Combined with another document: its parts join the other's adapter, the documents' joined context — as the CLI.
    const q = 'Who went to the lake?';
    const pair = await client.chat.completions.create({ model: `${id}+${other}`, messages: [{ role: 'user', content: q }], max_tokens: 16 });
    const odir = join(served.dir, 'adapters', other);
    const cliPair = lift(['ask', dir, q, '--adapter', `${dir},${odir}`, '--max-tokens', '16']);
    assert.equal(cliPair.code, 0, cliPair.stderr);
    assert.equal(pair.choices[0].message.content, cliPair.stdout.trim());
    const health = (await http(`${served.url}/health`, 'GET')).json;
    assert.equal(health.adapters.entries, 2, 'the parts document is one cache entry, the other one');

    // The download holds the part folders; `tar -x` gives a folder `lift ask` answers from as the original.
    const tar = await fetch(`${served.url}/v1/documents/${id}/adapter`);
    assert.equal(tar.status, 200);
    const file = join(served.dir, '..', 'parts.tar');
    writeFileSync(file, Buffer.from(await tar.arrayBuffer()));
    const names = execFileSync('tar', ['-tf', file], { encoding: 'utf8' }).trim().split('\n');
    for (const p of list.parts) assert.ok(names.includes(`${id}.lift/${p}/adapter_model.safetensors`), names.join(' '));
    execFileSync('tar', ['-xf', file, '-C', join(served.dir, '..')]);
    const unpacked = lift(['ask', join(served.dir, '..', `${id}.lift`), 'Who went to the zoo?', '--max-tokens', '16']);
    assert.equal(unpacked.code, 0, unpacked.stderr);
    assert.equal(unpacked.stdout, lift(['ask', dir, 'Who went to the zoo?', '--max-tokens', '16']).stdout);
    // The report: a page linking the parts' reports; each part's report; a part out of range is a 400.
    const index = await http(`${served.url}/v1/documents/${id}/report`, 'GET');
    assert.equal(index.status, 200);
    for (let k = 1; k <= n; k++) assert.match(index.text, new RegExp(`href="report\\?part=${k}"`));
    const first = await http(`${served.url}/v1/documents/${id}/report?part=1`, 'GET');
    assert.equal(first.status, 200);
    assert.equal(first.text, readFileSync(join(dir, list.parts[0], 'report.html'), 'utf8'));
    assert.equal((await http(`${served.url}/v1/documents/${id}/report?part=${n + 1}`, 'GET')).status, 400);

    // Deleted: the folder goes; the other document stays.
    assert.equal((await http(`${served.url}/v1/documents/${id}`, 'DELETE')).status, 200);
    assert.ok(!existsSync(dir));
    assert.deepEqual(readdirSync(join(served.dir, 'checkpoints')).filter((f) => f.startsWith(id)), []);
    assert.ok(existsSync(odir));
  });
});
