// Unit tests for the HTML report renderer without a browser: escaping of user text, the JSON block
// round-trip, chart.js inlining, validation, and the atomic write.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { escapeHtml, formatNumber, jsonForScript, renderReport, writeReport } from '../../src/report/html.js';
import type { Report } from '../../src/report/types.js';

const EVIL = 'Run </script><script>alert(1)</script> <b>bold</b> & "quotes" \'single\' <!-- \u2028';

function evilReport(): Report {
  return {
    title: EVIL,
    subtitle: EVIL,
    createdAt: '2025-01-02T03:04:05Z',
    sections: [
      { kind: 'lines', id: 'loss', title: EVIL, xLabel: '<x>', yLabel: '</script>', series: [{ name: EVIL, x: [0, 1], y: [2, 1] }] },
      { kind: 'table', id: 'scores', title: 'Scores', columns: ['method', '<acc>'], rows: [[EVIL, 0.5]] },
      { kind: 'text', id: 'raw', title: 'Raw', text: EVIL },
      { kind: 'kv', id: 'kv', title: 'KV', entries: [[EVIL, EVIL], ['n', 3]] },
    ],
  };
}

/** The text between the JSON block's opening tag and the first "</script" after it, as the HTML parser sees it. */
function jsonBlock(html: string): string {
  const open = '<script type="application/json" id="report-data">';
  const start = html.indexOf(open);
  assert.ok(start >= 0, 'JSON block present');
  const end = html.toLowerCase().indexOf('</script', start + open.length);
  return html.slice(start + open.length, end);
}

test('escapeHtml escapes the five HTML-special characters', () => {
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  assert.equal(escapeHtml('plain'), 'plain');
});

test('jsonForScript output has no <, >, & or line separators and parses back identically', () => {
  const v = { a: EVIL, n: [1, 2.5, -3e-7], nested: { s: '</SCRIPT >' } };
  const s = jsonForScript(v);
  assert.doesNotMatch(s, /[<>&\u2028\u2029]/);
  assert.deepEqual(JSON.parse(s), v);
});

test('user text cannot break out of its element', () => {
  const html = renderReport(evilReport());
  // Only our three script elements exist: the JSON block, chart.js and the client script.
  assert.equal((html.match(/<script\b/gi) ?? []).length, 3);
  assert.equal((html.match(/<\/script/gi) ?? []).length, 3);
  assert.ok(!html.includes('<b>bold</b>'), 'raw <b> must not appear');
  assert.ok(!html.includes('alert(1)</script>'), 'raw script must not appear');
  assert.ok(html.includes('<title>Run &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; &lt;b&gt;bold&lt;/b&gt;'));
  assert.ok(html.includes('<h1>Run &lt;/script&gt;'));
  assert.ok(html.includes('&lt;!--'), 'comment opener escaped');
});

test('the JSON block holds the whole report and round-trips through JSON.parse', () => {
  const report = evilReport();
  const html = renderReport(report);
  const block = jsonBlock(html);
  assert.doesNotMatch(block, /[<>]/);
  assert.deepEqual(JSON.parse(block), report);
});

test('non-finite numbers embed as null (valid JSON) and tables format numbers right-aligned', () => {
  const html = renderReport({
    title: 't', createdAt: 'now',
    sections: [
      { kind: 'lines', id: 'l', title: 'l', xLabel: 'x', yLabel: 'y', series: [{ name: 's', x: [0, 1, 2], y: [1, NaN, Infinity] }] },
      { kind: 'table', id: 't', title: 't', columns: ['m', 'v'], rows: [['a', 0.123456], ['b', 42], ['c', 1234.567]] },
    ],
  });
  const data = JSON.parse(jsonBlock(html)) as Report;
  const lines = data.sections[0];
  assert.ok(lines?.kind === 'lines');
  assert.deepEqual(lines.series[0]?.y, [1, null, null]);
  assert.ok(html.includes('<td class="num">0.123</td>'));
  assert.ok(html.includes('<td class="num">42</td>'));
  assert.ok(html.includes('<td class="num">1234.6</td>'));
  assert.equal(formatNumber(2.5), '2.500');
});

test('chart.js is inlined and nothing is loaded from elsewhere', () => {
  const html = renderReport(evilReport());
  assert.match(html, /Chart\.js v4\./);
  assert.doesNotMatch(html, /<script[^>]+src=/i);
  assert.doesNotMatch(html, /<link\b/i);
  assert.doesNotMatch(html, /sourceMappingURL/);
  assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
});

test('sections carry data-kind and id; only charts get a canvas and a data-index', () => {
  const html = renderReport(evilReport());
  assert.match(html, /<section data-kind="lines" id="loss" data-index="0">/);
  assert.match(html, /<section data-kind="table" id="scores">/);
  assert.equal((html.match(/<canvas\b/g) ?? []).length, 1);
  assert.match(html, /<body data-charts="1">/);
});

test('invalid reports are rejected with a message naming the section', () => {
  const base = { title: 't', createdAt: 'now' };
  assert.throws(
    () => renderReport({ ...base, sections: [{ kind: 'text', id: 'a', title: 'a', text: '' }, { kind: 'text', id: 'a', title: 'b', text: '' }] }),
    /duplicate or reserved report section id: a/,
  );
  assert.throws(
    () => renderReport({ ...base, sections: [{ kind: 'heatmap', id: 'h', title: 'h', xLabel: 'x', yLabel: 'y', xTicks: ['1', '2'], yTicks: ['a'], values: [[1]] }] }),
    /heatmap h/,
  );
});

test('writeReport writes atomically and leaves no temp file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lift-report-'));
  try {
    const path = join(dir, 'sub', 'report.html');
    writeReport(path, evilReport());
    assert.equal(readFileSync(path, 'utf8'), renderReport(evilReport()));
    assert.deepEqual(readdirSync(join(dir, 'sub')), ['report.html']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
