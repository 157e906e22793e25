// Renders a Report (src/report/types.ts) into ONE self-contained HTML file: inline CSS, chart.js
// inlined from node_modules at render time, the report data embedded as JSON, and the drawing script
// from client.ts. The file opens from disk with no network (a CSP meta tag forbids any fetch), so a run
// report can be mailed, archived next to the adapter weights, or opened on an air-gapped machine.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Report, Section } from './types.js';
import { CLIENT_SCRIPT } from './client.js';

/** Section kinds drawn on a <canvas>; the page counts these in body[data-rendered]. */
export const CHART_KINDS: ReadonlySet<Section['kind']> = new Set<Section['kind']>(['lines', 'heatmap', 'bars']);

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * JSON for a <script type="application/json"> block. Script content is raw text that ends at the first
 * "</script", and "<!--" changes how it is parsed, so every <, > and & becomes a \u escape (still valid
 * JSON, identical after JSON.parse). U+2028/2029 are escaped too so the text is also a valid JS literal.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

let chartJsCache: string | undefined;

/**
 * The chart.js UMD build (defines window.Chart), read from the installed package. The package's exports
 * map hides dist/, so resolve the CommonJS entry and look beside it. The sourceMappingURL comment is
 * dropped so devtools never tries to fetch a map that is not there.
 */
export function chartJsSource(): string {
  if (chartJsCache !== undefined) return chartJsCache;
  const dist = dirname(createRequire(import.meta.url).resolve('chart.js'));
  let src: string | undefined;
  for (const name of ['chart.umd.min.js', 'chart.umd.js']) {
    try {
      src = readFileSync(join(dist, name), 'utf8');
      break;
    } catch {
      // try the next build name
    }
  }
  if (src === undefined) throw new Error(`chart.js UMD build not found in ${dist} (expected chart.umd.min.js)`);
  // "</script" cannot occur in the current build; if a future one has it inside a string, "<\/script"
  // is the same string in JS and no longer ends the element.
  chartJsCache = src.replace(/\/\/# sourceMappingURL=\S*\s*$/, '').replace(/<\/(script)/gi, '<\\/$1');
  return chartJsCache;
}

/** Numbers in tables: integers as they are, others to a precision that suits scores and seconds. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1000) return v.toFixed(1);
  if (a >= 1) return v.toFixed(3);
  return v.toPrecision(3);
}

/** A lone number (timings, sizes) has no column to align with, so trailing zeros are dropped. */
function kvNumber(v: number): string {
  const s = formatNumber(v);
  return /^-?\d+\.\d+$/.test(s) ? s.replace(/\.?0+$/, '') : s;
}

function cell(v: string | number, tag: 'td' | 'th' = 'td'): string {
  return typeof v === 'number'
    ? `<${tag} class="num">${escapeHtml(formatNumber(v))}</${tag}>`
    : `<${tag}>${escapeHtml(v)}</${tag}>`;
}

/** Checks what the page relies on: unique, non-empty ids, and shapes that match their ticks/labels. */
function validate(report: Report): void {
  const seen = new Set<string>();
  for (const s of report.sections) {
    if (!s.id || /\s/.test(s.id)) throw new Error(`report section id must be non-empty without spaces: ${JSON.stringify(s.id)}`);
    if (s.id === 'report-data' || seen.has(s.id)) throw new Error(`duplicate or reserved report section id: ${s.id}`);
    seen.add(s.id);
    if (s.kind === 'heatmap') {
      if (s.values.length !== s.yTicks.length || s.values.some((r) => r.length !== s.xTicks.length)) {
        throw new Error(`heatmap ${s.id}: values must be [yTicks.length=${s.yTicks.length}][xTicks.length=${s.xTicks.length}]`);
      }
    } else if (s.kind === 'lines') {
      for (const ser of s.series) {
        if (ser.x.length !== ser.y.length) throw new Error(`lines ${s.id}: series ${ser.name} has ${ser.x.length} x and ${ser.y.length} y values`);
      }
    } else if (s.kind === 'bars') {
      for (const ser of s.series) {
        if (ser.values.length !== s.labels.length) throw new Error(`bars ${s.id}: series ${ser.name} needs ${s.labels.length} values`);
      }
    }
  }
}

function sectionBody(s: Section): string {
  switch (s.kind) {
    case 'lines':
    case 'bars':
      return `<div class="chart-box"><canvas role="img" aria-label="${escapeHtml(s.title)}"></canvas></div>`;
    case 'heatmap':
      // Height is set by the drawing script from the number of rows.
      return `<div class="heat-box"><canvas role="img" aria-label="${escapeHtml(s.title)}"></canvas></div>`;
    case 'table': {
      const head = `<tr>${s.columns.map((c, i) => `<th${i > 0 ? ' class="num"' : ''}>${escapeHtml(c)}</th>`).join('')}</tr>`;
      const body = s.rows.map((r) => `<tr>${r.map((v, i) => cell(v, i === 0 ? 'th' : 'td')).join('')}</tr>`).join('\n');
      return `<div class="table-wrap"><table><thead>${head}</thead><tbody>\n${body}\n</tbody></table></div>`;
    }
    case 'text':
      return `<pre>${escapeHtml(s.text)}</pre>`;
    case 'kv':
      return `<dl class="kv">${s.entries
        .map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd${typeof v === 'number' ? ' class="num"' : ''}>${escapeHtml(typeof v === 'number' ? kvNumber(v) : v)}</dd>`)
        .join('')}</dl>`;
  }
}

const CSS = `
:root { --bg: #f5f6f8; --card: #fff; --ink: #1f2937; --muted: #6b7280; --line: #e5e7eb; --accent: #4e79a7; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 28px 24px 40px; }
header { margin-bottom: 18px; }
h1 { font-size: 24px; margin: 0 0 4px; letter-spacing: -0.01em; }
.subtitle { color: var(--muted); margin: 0 0 2px; font-size: 15px; }
.meta { color: var(--muted); font-size: 12px; }
nav { display: flex; flex-wrap: wrap; gap: 6px; margin: 14px 0 0; }
nav a { font-size: 12px; color: var(--accent); text-decoration: none; padding: 2px 10px;
  border: 1px solid var(--line); border-radius: 999px; background: var(--card); }
nav a:hover { border-color: var(--accent); }
section { background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  padding: 16px 20px 18px; margin: 0 0 16px; box-shadow: 0 1px 2px rgba(0,0,0,.04); break-inside: avoid; }
h2 { font-size: 15px; margin: 0 0 12px; font-weight: 600; }
.chart-box { position: relative; height: 320px; }
.heat-box { position: relative; width: 100%; }
.heat-box canvas { display: block; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 6px 12px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
thead th { font-size: 12px; color: var(--muted); font-weight: 600; border-bottom: 2px solid var(--line); }
tbody th { font-weight: 500; }
tbody tr:hover { background: #f9fafb; }
.num { text-align: right; }
pre { margin: 0; padding: 12px 14px; background: #f8fafc; border: 1px solid var(--line); border-radius: 6px;
  font: 12.5px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; white-space: pre-wrap; overflow-wrap: anywhere; }
.kv { display: grid; grid-template-columns: max-content 1fr; gap: 4px 24px; margin: 0; }
.kv dt { color: var(--muted); }
.kv dd { margin: 0; text-align: left; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
.chart-error { color: #b91c1c; }
footer { color: var(--muted); font-size: 12px; text-align: center; margin-top: 24px; }
`;

/** Renders the report as one self-contained HTML document. Pure: same report in, same string out. */
export function renderReport(report: Report): string {
  validate(report);
  const sections = report.sections
    .map((s, i) => {
      const index = CHART_KINDS.has(s.kind) ? ` data-index="${i}"` : '';
      return `<section data-kind="${s.kind}" id="${escapeHtml(s.id)}"${index}>\n<h2>${escapeHtml(s.title)}</h2>\n${sectionBody(s)}\n</section>`;
    })
    .join('\n');
  const nav = report.sections.length > 1
    ? `<nav>${report.sections.map((s) => `<a href="#${escapeHtml(encodeURIComponent(s.id))}">${escapeHtml(s.title)}</a>`).join('')}</nav>`
    : '';
  const charts = report.sections.filter((s) => CHART_KINDS.has(s.kind)).length;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(report.title)}</title>
<style>${CSS}</style>
</head>
<body data-charts="${charts}">
<main>
<header>
<h1>${escapeHtml(report.title)}</h1>
${report.subtitle ? `<p class="subtitle">${escapeHtml(report.subtitle)}</p>\n` : ''}<div class="meta">Created ${escapeHtml(report.createdAt)}</div>
${nav}
</header>
${sections}
<footer>Generated by LIFT.ts</footer>
</main>
<script type="application/json" id="report-data">${jsonForScript(report)}</script>
<script>${chartJsSource()}</script>
<script>${CLIENT_SCRIPT}</script>
</body>
</html>
`;
}

/** Writes the rendered report to path atomically (temp file in the same folder, then rename). */
export function writeReport(path: string, report: Report): void {
  const html = renderReport(report);
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    writeFileSync(tmp, html, 'utf8');
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
