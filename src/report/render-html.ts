import { benchmarkBasis, formatMoney, formatPercent, plausibilityMarks } from './format.js';
import { plausibilityRules, usageSetAsideText } from './render-markdown.js';
import { FORECAST_DOWNSIDE_HEAD, forecastDownsideRows, forecastSentences } from './report-forecast.js';
import { reportTitle, type Report, type SeriesPoint } from './report-model.js';

const esc = (s: string): string =>
  s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

/** The forecast section: its sentences and the largest expected losses. */
function forecastHtml(r: Report): string {
  const f = r.forecast!;
  const rows = forecastDownsideRows(f);
  return `<h2>Forecast (next 90 days)</h2>
${forecastSentences(f).map((s) => `<p>${esc(s)}</p>`).join('\n')}
${rows.length ? `<p>Largest expected losses:</p><table><tr>${FORECAST_DOWNSIDE_HEAD.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>\n${rows.map((row) => `<tr>${row.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('\n')}</table>\n` : ''}`;
}

/** NRR and GRR over time as an SVG line chart: trailing twelve months, or monthly on short histories. */
function trendChart(series: readonly SeriesPoint[]): string {
  const t12 = series.filter((s) => s.t12m_nrr !== null);
  const useT12 = t12.length >= 2;
  const pts = (useT12 ? t12 : series.filter((s) => s.monthly_nrr !== null)).map((s) =>
    useT12 ? s : { ...s, t12m_nrr: s.monthly_nrr, t12m_grr: s.monthly_grr },
  );
  const name = useT12 ? 'T12M' : 'Monthly';
  if (pts.length < 2) return '<p>Not enough history for a trend.</p>';
  const W = 720, H = 240, L = 48, B = 28, T = 12;
  const values = pts.flatMap((p) => [p.t12m_nrr ?? 1, p.t12m_grr ?? 1]);
  const lo = Math.min(0.8, ...values) - 0.02, hi = Math.max(1.2, ...values) + 0.02;
  const x = (i: number): number => L + (i * (W - L - 8)) / (pts.length - 1);
  const y = (v: number): number => T + ((hi - v) * (H - T - B)) / (hi - lo);
  const path = (f: (p: SeriesPoint) => number | null): string =>
    pts.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(f(p) ?? 1).toFixed(1)}`).join(' ');
  const ticks = [0.8, 0.9, 1.0, 1.1, 1.2].filter((v) => v > lo && v < hi);
  return `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${name} NRR and GRR">
  ${ticks.map((v) => `<line x1="${L}" x2="${W - 8}" y1="${y(v)}" y2="${y(v)}" class="grid"/><text x="${L - 6}" y="${y(v) + 4}" text-anchor="end">${formatPercent(v, 0)}</text>`).join('')}
  <path d="${path((p) => p.t12m_nrr)}" class="nrr"/><path d="${path((p) => p.t12m_grr)}" class="grr"/>
  ${pts.map((p, i) => (i % Math.ceil(pts.length / 8) === 0 || i === pts.length - 1 ? `<text x="${x(i)}" y="${H - 8}" text-anchor="middle">${p.month}</text>` : '')).join('')}
</svg><p class="legend"><span class="k nrr"></span>${name} NRR <span class="k grr"></span>${name} GRR</p>`;
}

/** The bridge as a waterfall. */
function bridgeChart(r: Report): string {
  const b = r.bridge;
  const start = b.starting_mrr.toNumber();
  if (start === 0) return '';
  const steps: [string, number, string][] = [
    ['Start', start, 'total'],
    ['+ Expansion', b.expansion.toNumber(), 'up'],
    ['− Contraction', -b.contraction.toNumber(), 'down'],
    ['− Churn', -b.churn.toNumber(), 'down'],
  ];
  if (!b.fx.isZero()) steps.push(['± FX', b.fx.toNumber(), b.fx.toNumber() >= 0 ? 'up' : 'down']);
  steps.push(['End', b.ending_mrr.toNumber(), 'total']);
  const W = 720, H = 220, T = 10, B = 30;
  const max = Math.max(start, b.ending_mrr.toNumber(), start + b.expansion.toNumber()) * 1.05;
  const y = (v: number): number => T + ((max - v) * (H - T - B)) / max;
  const bw = (W - 40) / steps.length;
  let level = 0;
  const bars = steps.map(([label, v, kind], i) => {
    const from = kind === 'total' ? 0 : level;
    const to = kind === 'total' ? v : level + v;
    level = kind === 'total' ? v : to;
    const top = y(Math.max(from, to)), h = Math.max(1, Math.abs(y(from) - y(to)));
    return `<rect x="${20 + i * bw + 8}" y="${top}" width="${bw - 16}" height="${h}" class="${kind}"/><text x="${20 + i * bw + bw / 2}" y="${H - 12}" text-anchor="middle">${esc(label)}</text>`;
  });
  return `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="MRR bridge">${bars.join('')}</svg>`;
}

/** A plausibility mark (' ⚠ small group'), in warning colour; nothing when empty. */
const mark = (text: string): string => (text ? ` <span class="warning">${esc(text.trim())}</span>` : '');
const marks = (m: Parameters<typeof plausibilityMarks>[0]): string => mark(plausibilityMarks(m).nrr) + mark(plausibilityMarks(m).group);

function heat(v: number | null | undefined): string {
  if (v === null || v === undefined) return '';
  const g = Math.max(0, Math.min(1, (v - 0.6) / 0.7));
  return ` style="background: hsl(${Math.round(g * 130)}, 55%, ${88 - g * 20}%)"`;
}

/** A self-contained HTML page: no scripts, no external assets, printable. */
export function renderHtml(r: Report): string {
  const h = r.headline;
  const kpi = (label: string, v: string, sub: string): string => `<div class="kpi"><div class="v">${v}</div><div class="l">${label}</div><div class="s">${sub}</div></div>`;
  const width = Math.min(12, Math.max(0, ...r.cohorts.rows.map((c) => c.retention.length)));
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>NRR report — ${esc(r.as_of)}${r.partial ? ' (partial)' : ''}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1080px;color:#1d2433;padding:0 16px}
h1{font-size:22px}h2{font-size:16px;margin-top:28px;border-bottom:1px solid #dde2ea;padding-bottom:4px}
.kpis{display:flex;gap:12px;flex-wrap:wrap}.kpi{border:1px solid #dde2ea;border-radius:8px;padding:10px 14px;min-width:150px}
.kpi .v{font-size:24px;font-weight:600}.kpi .l{color:#4a5568}.kpi .s{color:#718096;font-size:12px}
table{border-collapse:collapse;margin:8px 0}td,th{padding:4px 10px;border-bottom:1px solid #edf0f4;text-align:right}td:first-child,th:first-child{text-align:left}
svg{width:100%;max-width:720px;font-size:11px;fill:#4a5568}.grid{stroke:#e2e8f0}.nrr{fill:none;stroke:#2b6cb0;stroke-width:2}.grr{fill:none;stroke:#c05621;stroke-width:2}
rect.total{fill:#4a5568}rect.up{fill:#2f855a}rect.down{fill:#c53030}.legend .k{display:inline-block;width:12px;height:3px;margin:0 4px 3px 12px}.legend .k.nrr{background:#2b6cb0}.legend .k.grr{background:#c05621}
.warning{color:#9c4221}.muted{color:#718096;font-size:12px}
</style></head><body>
<h1>${esc(reportTitle(r))}</h1>
${r.date_notes.map((n) => `<p class="warning"><strong>Warning:</strong> ${esc(n)}</p>`).join('\n')}
<p class="muted">${r.read.accounts} accounts, ${r.read.lines} lines, ${esc(r.read.firstDate ?? '—')} → ${esc(r.read.lastDate ?? '—')}; currencies ${esc(r.read.currencies.join(', '))}.</p>
${r.read.usageSetAside.charges > 0 ? `<p class="warning">${esc(usageSetAsideText(r))}</p>\n` : ''}<div class="kpis">
${kpi('NRR, trailing 12 months', formatPercent(h.t12m.nrr) + marks(h.t12m), `GRR ${formatPercent(h.t12m.grr)} · logos ${formatPercent(h.t12m.logo_retention)}`)}
${kpi('NRR, last quarter', formatPercent(h.quarterly.nrr) + marks(h.quarterly), `GRR ${formatPercent(h.quarterly.grr)}`)}
${kpi('NRR, last month', formatPercent(h.monthly.nrr) + marks(h.monthly), `annualised ${formatPercent(h.annualised_monthly_nrr)}`)}
${kpi('Starting → ending MRR', formatMoney(h.t12m.ending_mrr, 0), `from ${formatMoney(h.t12m.starting_mrr, 0)}`)}
</div>
<h2>Trend</h2>${trendChart(r.series)}
<h2>Bridge (trailing 12 months, starting cohort)</h2>${bridgeChart(r)}
<table><tr><th>Starting MRR</th><th>+ Expansion</th><th>− Contraction</th><th>− Churn</th>${r.bridge.fx.isZero() ? '' : '<th>± FX</th>'}<th>Ending MRR</th></tr>
<tr><td>${formatMoney(r.bridge.starting_mrr)}</td><td>${formatMoney(r.bridge.expansion)}</td><td>${formatMoney(r.bridge.contraction)}</td><td>${formatMoney(r.bridge.churn)}</td>${r.bridge.fx.isZero() ? '' : `<td>${formatMoney(r.bridge.fx)}</td>`}<td>${formatMoney(r.bridge.ending_mrr)}</td></tr></table>
${r.groups
  .map(
    (g) => `<h2>By ${esc(g.by)} (trailing 12 months)</h2><table><tr><th>Group</th><th>NRR</th><th>GRR</th><th>Logos</th><th>Starting MRR</th><th>Accounts</th><th>Benchmark median / top quartile</th><th>Standing</th></tr>
${g.rows
  .map(
    (m) => `<tr><td>${esc(m.group ?? '')}${mark(plausibilityMarks(m).group)}</td><td>${formatPercent(m.nrr)}${mark(plausibilityMarks(m).nrr)}</td><td>${formatPercent(m.grr)}</td><td>${formatPercent(m.logo_retention)}</td><td>${formatMoney(m.starting_mrr)}</td><td>${m.starting_accounts}</td><td>${m.benchmark ? `${esc(benchmarkBasis(m.benchmark).trim())} ${formatPercent(m.benchmark.median[0], 0)}–${formatPercent(m.benchmark.median[1], 0)} / ${formatPercent(m.benchmark.top_quartile[0], 0)}–${formatPercent(m.benchmark.top_quartile[1], 0)}` : '—'}</td><td>${esc(m.benchmark?.standing ?? '—')}</td></tr>`,
  )
  .join('\n')}</table>`,
  )
  .join('\n')}
<h2>Cohorts (revenue retention by ${esc(r.cohorts.granularity)} of first revenue)</h2>
<table><tr><th>Cohort</th><th>Accounts</th>${Array.from({ length: width }, (_, k) => `<th>+${k}</th>`).join('')}</tr>
${r.cohorts.rows.map((c) => `<tr><td>${esc(c.cohort)}${mark(plausibilityMarks({ small_group: c.small_group, nrr_plausible: null }).group)}</td><td>${c.accounts}</td>${Array.from({ length: width }, (_, k) => `<td${heat(c.retention[k])}>${k < c.retention.length ? formatPercent(c.retention[k], 0) : ''}</td>`).join('')}</tr>`).join('\n')}</table>
${r.forecast ? forecastHtml(r) : ''}<h2>Diagnostics</h2>
${r.diagnostics.length === 0 ? '<p>Nothing to flag.</p>' : `<ul>${r.diagnostics.map((d) => `<li class="${d.severity}">${esc(d.message)}</li>`).join('')}</ul>`}
<p class="muted">${esc(plausibilityRules(r))}</p>
<h2>Policies</h2><ul class="muted">${Object.entries(r.policies).map(([k, v]) => `<li>${esc(k)}: ${esc(v)}</li>`).join('')}</ul>
</body></html>
`;
}
