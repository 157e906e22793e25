// The report a real absorb run writes (Gated Memory on stories260K, a few steps): opened in headless
// Chromium, its loss curve and gate heatmap render (the page counts them in body[data-rendered]), every
// canvas has drawn pixels, and the page asks for nothing from the network.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { requireShared, sharedPath } from '../helpers/shared.js';
import { native } from '../../src/engine/index.js';
import { loadModelFromPath } from '../../src/model/load.js';
import { absorb } from '../../src/lift/absorb.js';
import { absorbReport } from '../../src/report/absorb.js';
import { writeReport } from '../../src/report/html.js';

const CHROMIUM = '/usr/bin/chromium';

test('an absorb run writes a report whose charts render in Chromium', async (t) => {
  if (!requireShared(t, 'models/stories260K')) return;
  if (!existsSync(CHROMIUM)) {
    const msg = `${CHROMIUM} not found: install Debian's chromium (apt-get install chromium)`;
    if (process.env.CI === 'true') throw new Error(msg);
    return t.skip(msg);
  }
  native.setThreads(1);
  const loaded = loadModelFromPath(sharedPath('models/stories260K/stories260K.bin'));
  const text = 'Once upon a time, a fox named Rolo lived by a river. Rolo liked to count the stones. One day he found a green stone.';
  const r = await absorb(loaded, { title: 'Rolo', text }, { adapter: 'gated-memory', contextBudget: 128, epochs: [3, 0], qa: 0, seed: 2 });
  const dir = mkdtempSync(join(tmpdir(), 'lift-report-'));
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  try {
    const file = join(dir, 'report.html');
    writeReport(file, absorbReport('Rolo', r, loaded.id));
    const page = await browser.newPage();
    const remote: string[] = [];
    await page.route('**/*', (route) => (route.request().url().startsWith('file:') ? route.continue() : (remote.push(route.request().url()), route.abort())));
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(pathToFileURL(file).href);
    await page.waitForSelector('body[data-rendered]', { timeout: 15000 });
    assert.equal(await page.getAttribute('body', 'data-rendered'), '2', 'loss curve and gate heatmap drawn');
    for (const id of ['loss', 'gates', 'run', 'recipe']) assert.ok(await page.$(`section#${id}`), `section ${id}`);
    const painted = await page.$$eval('canvas', (cs) => cs.map((c) => {
      const ctx = (c as HTMLCanvasElement).getContext('2d')!;
      const d = ctx.getImageData(0, 0, (c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
      return n;
    }));
    assert.equal(painted.length, 2);
    for (const n of painted) assert.ok(n > 1000, `a canvas with only ${n} painted pixels`);
    assert.deepEqual(remote, []);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
    r.adapter.dispose();
    loaded.model.dispose();
  }
});
