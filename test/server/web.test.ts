// The web page at / end to end in headless Chromium (Debian's /usr/bin/chromium through playwright-core):
// upload a document → its progress reaches "ready" with a loss chart → a question gets a streamed answer,
// the same answer the API gives → delete. Under CI=true a missing browser fails the test; elsewhere it skips.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { buildOnce, MODEL_BIN, storyDocument, tempDir } from '../cli/helpers.js';
import { http, startServer, type RunningServer } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const missing = !existsSync(MODEL_BIN) ? `stories260K not found at ${MODEL_BIN}` : !existsSync(CHROMIUM) ? `${CHROMIUM} not found (Debian package chromium)` : null;
if (missing && process.env.CI === 'true') throw new Error(missing);

describe('lift serve: the web page', { skip: missing ?? false }, () => {
  let server: RunningServer, data: ReturnType<typeof tempDir>, browser: Browser;
  before(async () => {
    buildOnce();
    data = tempDir();
    server = await startServer(['--model', MODEL_BIN, '--data', join(data.dir, 'data')]);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    data?.cleanup();
  });

  const t0 = Date.now();
  const mark = (what: string): void => void (process.env.LIFT_DEBUG && console.error(`${what}: ${Date.now() - t0} ms`));
  it('upload → progress to ready → streamed answer → delete', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    const external: string[] = [];
    page.on('request', (r) => { if (!r.url().startsWith(server.url)) external.push(r.url()); });
    await page.goto(server.url + '/');
    mark("await page.goto(server.url + '");
    await page.waitForFunction(() => document.getElementById('chat-model')?.textContent?.includes('stories260K'));

    // The document goes in through the page's file input (the drop zone's handler uploads the same way).
    const file = join(data.dir, 'park-story.txt');
    writeFileSync(file, storyDocument(20, 11));
    // The quick recipe of the CLI tests (test/cli/helpers.ts QUICK), typed into the page's recipe box.
    await page.locator('summary').click();
    await page.fill('#recipe', JSON.stringify({ adapter: 'lora', lora_rank: 2, epochs: [1, 0], qa: 0, batch_size: 4, context_budget: 96 }));
    await page.setInputFiles('#file', file);
    const card = page.locator('.doc').first();
    await card.waitFor();
    mark('await card.waitFor();');
    assert.equal(await card.locator('.title').textContent(), 'park-story');
    const id = await card.getAttribute('data-id');
    assert.match(id ?? '', /^doc_[0-9a-f]{24}$/);
    await card.locator('[data-role=status]', { hasText: 'ready' }).waitFor({ timeout: 60_000 });
    mark("await card.locator('[data-role");
    assert.equal(await card.locator('progress').evaluate((p: HTMLProgressElement) => p.value), 1);
    const points = await card.locator('svg.loss polyline').getAttribute('points');
    assert.ok(points && points.split(' ').length >= 2, 'a loss chart with a point per step');

    // Chat with the document: the answer streams in and equals the API's answer to the same request.
    await card.getByRole('button', { name: 'Chat' }).click();
    await page.fill('#question', 'Where did Tom find the kite?');
    await page.click('#send');
    await page.waitForFunction(() => document.getElementById('answer')?.dataset.state !== 'streaming', undefined, { timeout: 30_000 });
    const shown = await page.locator('#answer').textContent();
    mark('const shown = await page.locat');
    const api = await http(`${server.url}/v1/chat/completions`, 'POST', { model: id, messages: [{ role: 'user', content: 'Where did Tom find the kite?' }], max_tokens: 64, temperature: 0 });
    assert.equal(api.status, 200, api.text);
    assert.equal(shown, api.json.choices[0].message.content);
    assert.equal(await page.locator('#answer').getAttribute('data-state'), 'done');

    // The report opens from the card.
    const report = await http(`${server.url}/v1/documents/${id}/report`, 'GET');
    assert.equal(report.status, 200);
    assert.match(report.text, /<html/i);

    await card.locator('[data-role=delete]').click();
    await page.locator('.doc').first().waitFor({ state: 'detached' });
    mark("await page.locator('.doc').fir");
    assert.equal((await http(`${server.url}/v1/documents/${id}`, 'GET')).status, 404);
    assert.deepEqual(errors, []);
    assert.deepEqual(external, [], 'the page loads nothing from elsewhere');
  });
});
