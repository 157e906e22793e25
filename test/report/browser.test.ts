// End-to-end check of the HTML report in a real headless Chromium: every section kind renders, every
// chart canvas has pixels, the page makes no network request and logs no error, and a full-page
// screenshot is not blank. Needs /usr/bin/chromium (Debian package `chromium`): under CI=true a missing
// browser fails the test with that message, elsewhere the test is skipped with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { writeReport, CHART_KINDS } from '../../src/report/html.js';
import type { Report } from '../../src/report/types.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** A deterministic report with every section kind, shaped like a real absorb + eval run. */
function sampleReport(): Report {
  let seed = 12345;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const stages = ['stage 1: segment LM', 'stage 2: auxiliary QA', 'stage 3: consolidation'];
  let step = 0;
  const series = stages.map((name, k) => {
    const x: number[] = [], y: number[] = [];
    for (let i = 0; i < 120; i++, step++) {
      x.push(step);
      y.push((3.2 - k * 0.6) * Math.exp(-i / 45) + 0.6 + 0.08 * rand());
    }
    return { name, x, y };
  });
  const layers = 12, heads = 16;
  const gates = Array.from({ length: layers }, (_, l) =>
    Array.from({ length: heads }, (_, h) => Math.min(1, Math.max(0, 0.15 + 0.06 * l + 0.25 * Math.sin(h / 2.5 + l) * rand()))));
  const lengths = ['1K', '2K', '4K', '8K', '16K', '32K'];
  const depths = Array.from({ length: 11 }, (_, i) => `${i * 10}%`);
  const niah = depths.map((_, d) => lengths.map((_, c) => (c === 5 && d > 8 ? null : Math.max(0, 1 - 0.12 * c * rand() - (d === 5 ? 0.2 : 0)))));
  return {
    title: 'LIFT run </script><b>not bold</b> & friends',
    subtitle: 'absorb + eval · stories260K · document: the-little-prince.txt',
    createdAt: '2025-06-01T12:34:56Z',
    sections: [
      { kind: 'lines', id: 'loss', title: 'Training loss per stage', xLabel: 'step', yLabel: 'loss', series },
      {
        kind: 'heatmap', id: 'gates', title: 'Gated Memory gate values (layer × head)', xLabel: 'head', yLabel: 'layer',
        xTicks: Array.from({ length: heads }, (_, i) => String(i)), yTicks: Array.from({ length: layers }, (_, i) => String(i)),
        values: gates, min: 0, max: 1,
      },
      { kind: 'heatmap', id: 'niah', title: 'Needle in a haystack', xLabel: 'context length', yLabel: 'depth', xTicks: lengths, yTicks: depths, values: niah, min: 0, max: 1 },
      {
        kind: 'bars', id: 'methods', title: 'Scores by method', labels: ['exact match', 'F1', 'ROUGE-L'],
        series: [
          { name: 'truncated ICL', values: [0.21, 0.34, 0.3] },
          { name: 'fine-tune raw text', values: [0.18, 0.29, 0.27] },
          { name: 'LIFT', values: [0.42, 0.55, 0.5] },
        ],
      },
      {
        kind: 'table', id: 'scores', title: 'Score table', columns: ['method', 'exact match', 'F1', 'ROUGE-L', 'answers'],
        rows: [['truncated ICL', 0.21, 0.3412, 0.3, 200], ['fine-tune raw text', 0.18, 0.29, 0.2711, 200], ['LIFT', 0.42, 0.5533, 0.5, 200]],
      },
      { kind: 'text', id: 'config', title: 'Configuration', text: 'model: stories260K\nlr: 3e-4\nsegments: 128 × 512 tokens\n<adapter kind="gated-memory"/>' },
      { kind: 'kv', id: 'timings', title: 'Timings and paths', entries: [['absorb (s)', 123.456], ['eval (s)', 45.2], ['adapter', '/tmp/run/adapter.safetensors']] },
    ],
  };
}

test('report renders in headless Chromium with no network and no errors', { timeout: 120_000 }, async (t) => {
  if (!existsSync(CHROMIUM)) {
    const msg = `${CHROMIUM} not found: install the Debian package with \`apt-get install chromium\` to run the browser report test`;
    if (process.env.CI === 'true') throw new Error(msg);
    t.skip(msg);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'lift-report-browser-'));
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  try {
    const report = sampleReport();
    const file = join(dir, 'report.html');
    writeReport(file, report);

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
    const errors: string[] = [];
    const offline: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    // Every request must be the file itself; anything else is aborted and fails the test.
    page.on('request', (r) => { if (!r.url().startsWith('file:')) offline.push(r.url()); });
    await page.route('**/*', (route) =>
      route.request().url().startsWith('file:') ? route.continue() : (offline.push(route.request().url()), route.abort()));

    await page.goto(pathToFileURL(file).href);
    await page.waitForSelector('body[data-rendered]', { timeout: 20_000 }).catch((e: Error) => {
      // A script error stops the flag from ever being set: show what the page said, not just the timeout.
      throw new Error(`report never set body[data-rendered]: ${e.message}\npage errors: ${errors.join('\n') || 'none'}`);
    });
    const charts = report.sections.filter((s) => CHART_KINDS.has(s.kind));
    assert.equal(await page.getAttribute('body', 'data-rendered'), String(charts.length));

    // Escaped title survives as text, not markup.
    assert.equal(await page.title(), report.title);
    assert.equal(await page.textContent('h1'), report.title);
    assert.equal(await page.locator('header b').count(), 0);

    for (const s of report.sections) {
      const sel = `section[data-kind="${s.kind}"][id="${s.id}"]`;
      assert.equal(await page.locator(sel).count(), 1, `section ${s.id} present`);
      assert.equal(await page.textContent(`${sel} h2`), s.title);
      if (!CHART_KINDS.has(s.kind)) continue;
      // Count painted pixels on the canvas itself (backgrounds are transparent), and distinct colours.
      const stats = await page.$eval(`${sel} canvas`, (c) => {
        const canvas = c as HTMLCanvasElement;
        const ctx = canvas.getContext('2d')!;
        const d = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
        let painted = 0;
        const colours = new Set<number>();
        for (let i = 0; i < d.length; i += 4) {
          if (d[i + 3]! > 16) { painted++; colours.add(((d[i]! >> 4) << 8) | ((d[i + 1]! >> 4) << 4) | (d[i + 2]! >> 4)); }
        }
        return { w: canvas.width, h: canvas.height, painted, colours: colours.size };
      });
      const total = stats.w * stats.h;
      assert.ok(stats.w >= 300 && stats.h >= 150, `${s.id}: canvas ${stats.w}×${stats.h} too small`);
      const minFrac = s.kind === 'heatmap' ? 0.3 : 0.01;
      assert.ok(stats.painted >= total * minFrac, `${s.id}: only ${stats.painted}/${total} pixels painted`);
      assert.ok(stats.colours >= 4, `${s.id}: only ${stats.colours} colours`);
    }
    // Tables: numbers right-aligned.
    assert.equal(await page.$eval('#scores tbody td.num', (e) => getComputedStyle(e).textAlign), 'right');

    const png = await page.screenshot({ fullPage: true });
    writeFileSync(join(dir, 'report.png'), png);
    try { copyFileSync(join(dir, 'report.png'), '/tmp/report.png'); } catch { /* a copy for people to look at; optional */ }
    assert.ok(png.length > 40_000, `screenshot only ${png.length} bytes`);
    // Decode the screenshot in the page (CSP allows data: images) and measure luminance variance.
    const pix = await page.evaluate(async (b64) => {
      const img = new Image();
      img.src = `data:image/png;base64,${b64}`;
      await img.decode();
      const c = document.createElement('canvas');
      c.width = img.naturalWidth; c.height = img.naturalHeight;
      const ctx = c.getContext('2d')!;
      ctx.drawImage(img, 0, 0);
      const d = ctx.getImageData(0, 0, c.width, c.height).data;
      let sum = 0, sum2 = 0, n = 0;
      for (let i = 0; i < d.length; i += 4) {
        const l = 0.299 * d[i]! + 0.587 * d[i + 1]! + 0.114 * d[i + 2]!;
        sum += l; sum2 += l * l; n++;
      }
      const mean = sum / n;
      return { w: c.width, h: c.height, mean, variance: sum2 / n - mean * mean };
    }, png.toString('base64'));
    assert.ok(pix.h > 900, `full-page screenshot ${pix.w}×${pix.h} should be taller than the viewport`);
    assert.ok(pix.variance > 100, `screenshot looks blank: luminance variance ${pix.variance.toFixed(1)}`);

    assert.deepEqual(offline, [], 'the report must not request anything outside the file');
    assert.deepEqual(errors, [], 'no console errors');
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
