// Uploading a document that is not plain text: a PDF goes through the same extraction as `lift absorb` before
// anything is stored, and the adapter's document.txt is the extracted text with its page markers; a scanned
// PDF is a 400 naming the file, and nothing is stored.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildOnce, MODEL_BIN, tempDir } from '../cli/helpers.js';
import { http, startServer, until, type RunningServer } from './helpers.js';
import { makePdf } from '../lift/formats-fixtures.js';

const haveModel = existsSync(MODEL_BIN);
const RECIPE = { adapter: 'lora', lora_rank: 2, epochs: [1, 0], qa: 0, batch_size: 4, context_budget: 64 };
const PAGES = ['Lily went to the park and found a red ball near tree 3.', 'Tom found a shiny key in a big box near tree 9.'];

describe('lift serve: non-text uploads', { skip: haveModel ? false : `stories260K not found at ${MODEL_BIN}` }, () => {
  let server: RunningServer, data: ReturnType<typeof tempDir>;
  before(async () => {
    buildOnce();
    data = tempDir();
    server = await startServer(['--model', MODEL_BIN, '--data', join(data.dir, 'data')]);
  });
  after(async () => {
    await server?.stop();
    data?.cleanup();
  });

  const upload = async (name: string, bytes: Uint8Array, type: string): Promise<{ status: number; json: any }> => {
    const f = new FormData();
    f.append('recipe', JSON.stringify(RECIPE));
    f.append('file', new Blob([bytes as unknown as BlobPart], { type }), name);
    const r = await fetch(`${server.url}/v1/documents`, { method: 'POST', body: f });
    return { status: r.status, json: await r.json() };
  };

  it('a scanned PDF is refused by name (400) and nothing is stored', async () => {
    const r = await upload('scan.pdf', await makePdf(['x'], { noText: true }), 'application/pdf');
    assert.equal(r.status, 400, JSON.stringify(r.json));
    assert.equal(r.json.error.param, 'file');
    assert.match(r.json.error.message, /^file: scan\.pdf: none of its 1 page\(s\) has a text layer/);
    assert.deepEqual((await http(`${server.url}/v1/documents`, 'GET')).json.data, []);
  });

  it('a PDF is absorbed from its extracted text, stored as document.txt with page markers', async () => {
    const r = await upload('two pages.pdf', await makePdf(PAGES), 'application/pdf');
    assert.equal(r.status, 202, JSON.stringify(r.json));
    assert.equal(r.json.title, 'two pages');
    const id: string = r.json.id;
    const done = await until(async () => {
      const d = (await http(`${server.url}/v1/documents/${id}`, 'GET')).json;
      return d.status === 'ready' || d.status === 'failed' ? d : undefined;
    }, 60_000, 'the PDF document to be absorbed');
    assert.equal(done.status, 'ready', JSON.stringify(done));
    const stored = readFileSync(join(data.dir, 'data', 'adapters', id, 'document.txt'), 'utf8');
    assert.equal(stored, `[page 1]\n${PAGES[0]}\n\n[page 2]\n${PAGES[1]}`);
  });
});
