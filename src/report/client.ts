// The browser half of an HTML report: plain ES5-style JavaScript, exported as a string that html.ts
// inlines after chart.js. It reads the report JSON from <script id="report-data">, draws every chart
// section into its <canvas>, then sets body[data-rendered] to the number of charts drawn so tests
// (and headless screenshotters) know when the page is final.
//
// Kept as a string rather than a compiled function's toString(): a transpiler (tsx/esbuild) may inject
// helpers such as __name() into function bodies that would not exist in the page. No backticks or
// "${" inside, so the template literal below is verbatim.
//
// Heatmaps are drawn by hand on a plain <canvas>: chart.js has no matrix type, and faking one with
// stacked bars or square scatter points gives poor control over cell size, tick labels, gaps for
// missing cells and a colour bar. A hand-drawn grid is ~100 lines and scales from a 5 × 10
// needle-in-a-haystack grid to a 32 × 32 layers × heads gate map.

export const CLIENT_SCRIPT = String.raw`
(function () {
  'use strict';
  // Tableau 10: distinct, colour-blind-friendly enough, readable on white.
  var PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
  // Viridis stops: perceptually uniform, and legible in greyscale print.
  var VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  var FONT = getComputedStyle(document.body).fontFamily;
  var INK = '#1f2937', MUTED = '#6b7280', GRID = '#e5e7eb';

  var report = JSON.parse(document.getElementById('report-data').textContent);

  // If chart.js failed to load, heatmaps still draw and each chart.js section reports the cause.
  var HAVE_CHART = typeof window.Chart === 'function';
  if (HAVE_CHART) {
    Chart.defaults.font.family = FONT;
    Chart.defaults.color = INK;
    Chart.defaults.borderColor = GRID;
    // Draw synchronously: the rendered flag must mean "pixels are final", not "animation started".
    Chart.defaults.animation = false;
    Chart.defaults.maintainAspectRatio = false;
  }
  function needChart() {
    if (!HAVE_CHART) throw new Error('chart.js did not load');
  }

  function axisTitle(text) {
    return { display: !!text, text: text, color: MUTED, font: { size: 12, weight: '600' } };
  }

  function drawLines(canvas, s) {
    needChart();
    var datasets = s.series.map(function (ser, i) {
      var color = PALETTE[i % PALETTE.length];
      var pts = ser.x.map(function (x, j) {
        var y = ser.y[j];
        return { x: x, y: typeof y === 'number' && isFinite(y) ? y : null };
      });
      return {
        label: ser.name, data: pts, borderColor: color, backgroundColor: color,
        borderWidth: 2, pointRadius: pts.length > 60 ? 0 : 2.5, pointHoverRadius: 4, tension: 0, spanGaps: false
      };
    });
    return new Chart(canvas, {
      type: 'line',
      data: { datasets: datasets },
      options: {
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        plugins: { legend: { position: 'bottom', labels: { boxWidth: 14, boxHeight: 3 } } },
        scales: {
          x: { type: 'linear', title: axisTitle(s.xLabel), grid: { color: GRID } },
          y: { type: 'linear', title: axisTitle(s.yLabel), grid: { color: GRID } }
        }
      }
    });
  }

  function drawBars(canvas, s) {
    needChart();
    var datasets = s.series.map(function (ser, i) {
      var color = PALETTE[i % PALETTE.length];
      return { label: ser.name, data: ser.values, backgroundColor: color, borderRadius: 3, maxBarThickness: 48 };
    });
    return new Chart(canvas, {
      type: 'bar',
      data: { labels: s.labels, datasets: datasets },
      options: {
        plugins: { legend: { position: 'bottom', labels: { boxWidth: 14 } } },
        scales: { x: { grid: { display: false } }, y: { beginAtZero: true, grid: { color: GRID } } }
      }
    });
  }

  function viridis(t) {
    t = Math.max(0, Math.min(1, t)) * (VIRIDIS.length - 1);
    var i = Math.min(VIRIDIS.length - 2, Math.floor(t)), f = t - i, a = VIRIDIS[i], b = VIRIDIS[i + 1];
    return [0, 1, 2].map(function (k) { return Math.round(a[k] + (b[k] - a[k]) * f); });
  }

  function fmt(v) {
    var a = Math.abs(v);
    return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
  }

  // Hand-drawn matrix: row 0 at the top (layer 0 / depth 0%), a colour bar on the right, cell values
  // printed when they fit, ticks thinned when they would overlap, and a hover title as a light tooltip.
  function drawHeatmap(canvas, s) {
    var ny = s.yTicks.length, nx = s.xTicks.length;
    var lo = s.min, hi = s.max, all = [];
    s.values.forEach(function (row) { row.forEach(function (v) { if (typeof v === 'number' && isFinite(v)) all.push(v); }); });
    if (typeof lo !== 'number') lo = all.length ? Math.min.apply(null, all) : 0;
    if (typeof hi !== 'number') hi = all.length ? Math.max.apply(null, all) : 1;
    var span = hi - lo || 1;

    var ctx = canvas.getContext('2d');
    var font = '12px ' + FONT, bold = '600 12px ' + FONT;
    ctx.font = font;
    var yTickW = s.yTicks.reduce(function (m, t) { return Math.max(m, ctx.measureText(t).width); }, 0);
    var xTickW = s.xTicks.reduce(function (m, t) { return Math.max(m, ctx.measureText(t).width); }, 0);
    var W = canvas.parentElement.clientWidth || 800;
    var left = 26 + Math.ceil(yTickW) + 8, right = 78, top = 8, bottom = 48;
    var cw = Math.max(4, (W - left - right) / Math.max(1, nx));
    var ch = Math.max(12, Math.min(34, cw * 0.7));
    var H = top + ny * ch + bottom;
    var dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(W * dpr); canvas.height = Math.round(H * dpr);
    canvas.style.width = W + 'px'; canvas.style.height = H + 'px';
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);

    var showValues = false;
    ctx.font = font;
    var sample = ctx.measureText(fmt(hi)).width;
    if (cw >= sample + 8 && ch >= 16) showValues = true;
    for (var y = 0; y < ny; y++) {
      for (var x = 0; x < nx; x++) {
        var v = (s.values[y] || [])[x];
        var px = left + x * cw, py = top + y * ch;
        if (typeof v !== 'number' || !isFinite(v)) {
          ctx.fillStyle = '#f3f4f6';
          ctx.fillRect(px + 0.5, py + 0.5, cw - 1, ch - 1);
          continue;
        }
        var c = viridis((v - lo) / span);
        ctx.fillStyle = 'rgb(' + c.join(',') + ')';
        ctx.fillRect(px, py, Math.ceil(cw), Math.ceil(ch));
        if (showValues) {
          var lum = 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
          ctx.fillStyle = lum > 150 ? INK : '#ffffff';
          ctx.textAlign = 'center'; ctx.textBaseline = 'middle';
          ctx.fillText(fmt(v), px + cw / 2, py + ch / 2 + 0.5);
        }
      }
    }
    // Ticks, thinned to every k-th label so neighbours never overlap.
    ctx.fillStyle = INK; ctx.font = font;
    var kx = Math.max(1, Math.ceil((xTickW + 8) / cw)), ky = Math.max(1, Math.ceil(16 / ch));
    ctx.textAlign = 'center'; ctx.textBaseline = 'top';
    for (var i = 0; i < nx; i += kx) ctx.fillText(s.xTicks[i], left + (i + 0.5) * cw, top + ny * ch + 5);
    ctx.textAlign = 'right'; ctx.textBaseline = 'middle';
    for (var j = 0; j < ny; j += ky) ctx.fillText(s.yTicks[j], left - 6, top + (j + 0.5) * ch);
    // Axis titles.
    ctx.fillStyle = MUTED; ctx.font = bold;
    ctx.textAlign = 'center'; ctx.textBaseline = 'bottom';
    ctx.fillText(s.xLabel, left + (nx * cw) / 2, H - 4);
    ctx.save();
    ctx.translate(12, top + (ny * ch) / 2); ctx.rotate(-Math.PI / 2);
    ctx.textBaseline = 'middle'; ctx.fillText(s.yLabel, 0, 0);
    ctx.restore();
    // Colour bar.
    var bx = left + nx * cw + 16, bh = Math.max(ny * ch, 40), grad = ctx.createLinearGradient(0, top + bh, 0, top);
    for (var g = 0; g <= 8; g++) grad.addColorStop(g / 8, 'rgb(' + viridis(g / 8).join(',') + ')');
    ctx.fillStyle = grad; ctx.fillRect(bx, top, 14, bh);
    ctx.strokeStyle = GRID; ctx.strokeRect(bx + 0.5, top + 0.5, 13, bh - 1);
    ctx.fillStyle = INK; ctx.font = font; ctx.textAlign = 'left';
    ctx.textBaseline = 'top'; ctx.fillText(fmt(hi), bx + 19, top);
    ctx.textBaseline = 'middle'; ctx.fillText(fmt(lo + span / 2), bx + 19, top + bh / 2);
    ctx.textBaseline = 'bottom'; ctx.fillText(fmt(lo), bx + 19, top + bh);
    if (all.length < nx * ny) {
      // Some cells are null: explain the grey swatch under the colour bar.
      ctx.fillStyle = '#f3f4f6'; ctx.fillRect(bx, top + bh + 8, 14, 12);
      ctx.strokeRect(bx + 0.5, top + bh + 8.5, 13, 11);
      ctx.fillStyle = MUTED; ctx.textBaseline = 'middle'; ctx.fillText('n/a', bx + 19, top + bh + 14);
    }

    canvas.onmousemove = function (e) {
      var r = canvas.getBoundingClientRect();
      var cx = Math.floor((e.clientX - r.left - left) / cw), cy = Math.floor((e.clientY - r.top - top) / ch);
      var val = cx >= 0 && cx < nx && cy >= 0 && cy < ny ? (s.values[cy] || [])[cx] : undefined;
      canvas.title = val === undefined ? '' : s.yLabel + ' ' + s.yTicks[cy] + ', ' + s.xLabel + ' ' + s.xTicks[cx] +
        ': ' + (typeof val === 'number' ? String(val) : 'not measured');
    };
  }

  var DRAW = { lines: drawLines, bars: drawBars, heatmap: drawHeatmap };
  var drawn = 0;
  var heatmaps = [];
  Array.prototype.forEach.call(document.querySelectorAll('section[data-index]'), function (el) {
    var s = report.sections[Number(el.getAttribute('data-index'))];
    var canvas = el.querySelector('canvas');
    if (!s || !canvas || !DRAW[s.kind]) return;
    try {
      DRAW[s.kind](canvas, s);
      if (s.kind === 'heatmap') heatmaps.push([canvas, s]);
      drawn++;
    } catch (err) {
      // Keep drawing the rest; the console error makes the failure visible to tests.
      console.error('report: could not draw section ' + s.id + ': ' + (err && err.stack || err));
      var note = document.createElement('p');
      note.className = 'chart-error';
      note.textContent = 'This chart could not be drawn: ' + err;
      el.appendChild(note);
    }
  });
  // chart.js charts resize themselves; the hand-drawn heatmaps follow the page width here.
  var pending = 0;
  window.addEventListener('resize', function () {
    clearTimeout(pending);
    pending = setTimeout(function () { heatmaps.forEach(function (h) { drawHeatmap(h[0], h[1]); }); }, 100);
  });
  document.body.dataset.rendered = String(drawn);
})();
`;
