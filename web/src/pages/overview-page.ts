// Overview: company MRR and ARR over time with the monthly movements (new, expansion,
// reactivation, contraction, churn, net new); customers, ARPA and quick ratio; NRR/GRR for the
// window (T12M with the annual benchmark band, monthly without one); the window's bridge as a
// waterfall with its labels on its bars; the monthly bridge table; the forecast fan and the
// diagnostics. With filters on, every part is of the accounts they keep.
import { get, withQuery } from '../api-client.js';
import { MOVEMENT_KEYS, type Diagnostics, type Forecast, type Metrics, type MovementKey, type SeriesRow, type TrendPoint } from '../api-types.js';
import { chart, chartCard } from '../charts.js';
import { filterBar, rangeControls, rangeFromUrl, select } from '../controls.js';
import { table } from '../data-table.js';
import { esc, pageRoot } from '../dom.js';
import { axisMoney, count, money, pct, plot } from '../format.js';
import { addDecimals, compareDecimal, multiplyDecimal, negateDecimal } from '../money-format.js';
import { addMonths, monthRange } from '../months.js';
import { asLoss, periodFigures, startingMrr, type PeriodFigures } from '../revenue-series.js';
import { currentSummary } from '../session.js';
import { filterText, filters, go, hrefWithFilters, params } from '../url-state.js';
import { flags } from './metric-flags.js';
import { current, viewId } from '../router.js';
import { sayWhileWaiting } from '../background-status.js';

const COLOURS: Record<MovementKey | 'net_new', string> = {
  new: '#2f5bea',
  expansion: '#12805c',
  reactivation: '#7a5af8',
  contraction: '#f79009',
  churn: '#c0262d',
  net_new: '#1d2433',
};
const LABELS: Record<MovementKey | 'net_new', string> = { new: 'New', expansion: 'Expansion', reactivation: 'Reactivation', contraction: 'Contraction', churn: 'Churn', net_new: 'Net new' };
const WINDOWS = [
  [12, 'trailing 12 months'],
  [3, 'quarter'],
  [1, 'month'],
] as const;

/** A tile: label, value (a link to what is behind it, when `href`), what it counts, and the prior period when compared. */
function tile(key: string, label: string, value: string, sub: string, prior?: string, href?: string): string {
  const shown = href ? `<a href="${esc(href)}" data-link data-drill="${esc(key)}">${value}</a>` : value;
  return `<div class="tile"><div class="label">${esc(label)}</div><div class="value" data-metric="${esc(key)}">${shown}</div><div class="sub">${sub}</div>${
    prior ? `<div class="sub compare" data-prior="${esc(key)}">${prior}</div>` : ''
  }</div>`;
}

function revenueTiles(now: PeriodFigures, prior: PeriodFigures | null, asOfMonth: string): string {
  const vs = (f: (p: PeriodFigures) => string) => (prior ? `prior period (${esc(prior.from)}…${esc(prior.to)}): ${f(prior)}` : undefined);
  const qr = (x: number | null) => (x === null ? 'no losses' : x.toFixed(2));
  // The paying accounts are listed as of the reporting day; the range's movements for any range.
  const customers = now.to === asOfMonth ? hrefWithFilters('/accounts', { sort: 'arr' }) : undefined;
  const moves = hrefWithFilters('/movements', { from: now.from, month: now.to });
  return `<div class="tiles">
    ${tile('mrr', `MRR ${now.to}`, money(now.mrr, true), `${money(now.mrr)}, every paying account`, vs((p) => money(p.mrr)), customers)}
    ${tile('arr', `ARR ${now.to}`, money(now.arr, true), `${money(now.arr)} = MRR × 12`, vs((p) => money(p.arr, true)), customers)}
    ${tile('customers', 'Customers', count(now.customers), `accounts with MRR at the end of ${esc(now.to)}`, vs((p) => count(p.customers)), customers)}
    ${tile('arpa', 'ARPA', money(now.arpa), `MRR ÷ ${count(now.customers)} customers`, vs((p) => money(p.arpa)), customers)}
    ${tile('net-new', 'Net new MRR', money(now.net_new, true), `${money(now.net_new)}, ${esc(now.from)}…${esc(now.to)} (${now.months} months)`, vs((p) => money(p.net_new)), moves)}
    ${tile('quick-ratio', 'Quick ratio', qr(now.quick_ratio), `(${money(addPos(now), true)} gained) ÷ (${money(addNeg(now), true)} lost)`, vs((p) => qr(p.quick_ratio)), moves)}
  </div>`;
}
const addPos = (f: PeriodFigures) => sumText([f.new, f.expansion, f.reactivation]);
const addNeg = (f: PeriodFigures) => sumText([f.contraction, f.churn]);
const sumText = (xs: string[]) => addDecimals(xs);

export async function overviewPage(): Promise<void> {
  const s = currentSummary();
  const p = params();
  const range = rangeFromUrl(12);
  const window = [12, 3, 1].includes(Number(p.get('window'))) ? Number(p.get('window')) : 12;
  const f = filters();
  const filtered = Object.keys(f).length > 0;
  // The diagnostics (slow to compute the first time after a start) follow the filters: the revenue
  // part is shown without waiting for them.
  // The revenue figures are asked for first: the server reads them in the order asked.
  const revenue = Promise.all([get<SeriesRow[]>(withQuery('/api/series', f)), get<Metrics[]>(withQuery('/api/metrics', { month: range.to, window, ...f }))]);
  // The trend ends at the chosen month and follows the filters, as every other figure here. It is
  // the slowest answer (two windows over 24 months), so the page is shown first and it is drawn when it comes.
  const trend = get<TrendPoint[]>(withQuery('/api/trend', { to: range.to, months: 24, ...f }));
  trend.catch(() => undefined);
  const diagnostics = get<Diagnostics>(withQuery('/api/diagnostics', f));
  diagnostics.catch(() => undefined);
  const [series, [m]] = await revenue;
  if (!m) throw new Error('/api/metrics: no figures for this month');
  const length = monthRange(range.from, range.to).length;
  const now = periodFigures(series, range.from, range.to);
  if (!now) throw new Error(`no revenue between ${range.from} and ${range.to}`);
  const prior = range.compare ? periodFigures(series, addMonths(range.from, -length), addMonths(range.from, -1)) : null;
  const shown = series.filter((r) => r.month >= range.from && r.month <= range.to);

  // Benchmarks are annual figures: only the T12M NRR is set against one (by the cohort's median ACV).
  const byAcv = m.median_acv === null ? undefined : s.acv_benchmark_bands.find((x) => x.below === null || compareDecimal(m.median_acv!, String(x.below)) < 0)?.key;
  const bench = s.benchmarks.find((x) => x.key === (p.get('benchmark') ?? byAcv)) ?? s.benchmarks.find((x) => x.key === 'mid-market') ?? s.benchmarks[0]!;
  const windowName = window === 12 ? 'trailing twelve months' : window === 3 ? 'quarter' : 'month';
  // A retention figure opens the same window by segment (or the first group), whose rows open their accounts.
  const bySlice = hrefWithFilters('/segments', { month: range.to, window });

  pageRoot().innerHTML = `
    <h1>Revenue</h1>
    <div class="muted">Company MRR and its movements${filtered ? `, only accounts with ${esc(filterText())}` : ''}, ${esc(range.from)} to ${esc(range.to)}.</div>
    ${filterBar()}
    <div class="controls">${rangeControls(range)}</div>
    ${revenueTiles(now, prior, s.as_of_month)}
    ${chartCard('mrr-chart', 'MRR and ARR over time', { note: 'MRR at each month-end (ARR = 12 × MRR on the right axis); both axes start at zero.' })}
    ${chartCard('movements-chart', 'Monthly movements', { note: 'Gains above zero, losses below, net new as the line. Click a bar for the accounts behind it.' })}
    <h2 class="section-title">Net revenue retention</h2>
    <div class="muted">The accounts that paid at the start of the ${esc(windowName)} ending ${esc(range.to)}, and what they pay now.</div>
    <div class="controls">
      ${select('window', WINDOWS, window, 'Window')}
      ${window === 12 ? select('benchmark', s.benchmarks.map((x) => [x.key, x.label]), bench.key, 'Benchmark (annual)') : ''}
    </div>
    <div class="tiles">
      ${tile('nrr', `NRR (${windowName})`, pct(m.nrr), `of ${count(m.starting_accounts)} starting accounts · ${window === 12 ? `${esc(bench.label)} median ${pct(bench.median[0])}–${pct(bench.median[1])} · top quartile ${pct(bench.topQuartile[0])}+` : 'benchmarks are annual: compare the T12M figure'}${flags(m) ? `<br>${flags(m)}` : ''}`, undefined, bySlice)}
      ${tile('grr', 'GRR', pct(m.grr), 'revenue kept before expansion', undefined, bySlice)}
      ${tile('logo', 'Logo retention', pct(m.logo_retention), `${count(m.retained_accounts)} of ${count(m.starting_accounts)} accounts`, undefined, bySlice)}
      ${tile('cohort-arr', 'Starting cohort ARR', money(multiplyDecimal(m.ending_mrr, 12), true), `at the end of ${esc(range.to)}, from ${money(multiplyDecimal(m.starting_mrr, 12), true)} at the start (not company ARR: no new accounts)`, undefined, bySlice)}
    </div>
    <div class="grid2 even">
      ${chartCard('trend', 'T12M NRR and GRR', { note: `The 24 months to ${esc(range.to)}${filtered ? `, only ${esc(filterText())}` : ''}. The band is the annual benchmark’s median; the tooltip counts the accounts behind each rate.` })}
      ${chartCard('monthly-nrr', 'Monthly NRR and GRR', { note: 'Month over month; 100 % means the month’s starting accounts kept their MRR. No benchmark: those are annual.' })}
    </div>
    ${chartCard('bridge', `MRR bridge of the ${windowName} ending ${range.to}`, { note: 'The starting accounts’ MRR: start, expansion, contraction, churn, FX, end. Bars start at zero.' })}
    <div class="card section"><h2>Monthly bridge</h2>${bridgeTable(series, range.from, range.to)}</div>
    <div id="forecast-card">${chartCard('fan', fanTitle(filtered), { note: 'Loading the forecast…' })}</div>
    <div class="card section" id="diagnostics-card"><h2>${filtered ? `Diagnostics of ${esc(filterText())}` : 'Diagnostics'}</h2><p class="muted" id="diagnostics-wait">Loading the diagnostics…</p></div>`;

  drawMrr(shown);
  drawMovements(shown, series);
  drawBridge(m);
  const view = viewId();
  void drawTrends(trend, range.to, bench.median, view);
  void drawDiagnostics(diagnostics, view);
  // The forecast is slower than the rest (a simulation per horizon, cached afterwards): the page is
  // shown first and the fan drawn when it comes, unless the reader has moved on.
  void drawFan(series, view, f);
}

const fanTitle = (filtered: boolean): string => (filtered ? `Forecast: MRR of today’s customers, only ${filterText()}` : 'Forecast: MRR of today’s customers');

/**
 * The diagnostics when they come (meanwhile what they wait for): which accounts they are of and
 * the starting accounts behind them, each finding (one computed of the whole company would say so),
 * and the checks that do not apply with why; "no data", not "nothing unusual", when no account paid.
 */
async function drawDiagnostics(diagnostics: Promise<Diagnostics>, view: number): Promise<void> {
  const wait = document.getElementById('diagnostics-wait')!;
  sayWhileWaiting(wait, 'Computing the diagnostics', diagnostics);
  let r: Diagnostics;
  try {
    r = await diagnostics;
  } catch (e) {
    if (current(view)) wait.textContent = `No diagnostics: ${e instanceof Error ? e.message : String(e)}`;
    return;
  }
  if (!current(view)) return;
  const of = r.where === null ? 'every account' : `the ${count(r.accounts)} accounts with ${esc(filterText())}`;
  const scope = document.createElement('p');
  scope.className = 'muted';
  scope.dataset['diagnosticsScope'] = r.where === null ? 'company' : 'filtered';
  scope.innerHTML = `Of ${of}: ${count(r.starting_accounts)} paid at the start of the trailing twelve months to ${esc(r.as_of)}, ${count(r.retained_accounts)} of them still pay.`;
  const list = document.createElement('ul');
  list.className = 'diag';
  const item = (d: Diagnostics['diagnostics'][number]) =>
    `<li class="${esc(d.severity)}" data-diagnostic="${esc(d.id)}" data-scope="${esc(d.scope)}">${r.where !== null && d.scope === 'company' ? '<b>Whole company (cannot be filtered):</b> ' : ''}${esc(d.message)}</li>`;
  const nothing = r.starting_accounts === 0 ? '' : '<li class="muted">Nothing unusual.</li>';
  list.innerHTML = r.diagnostics.length ? r.diagnostics.map(item).join('') : nothing;
  const skipped = document.createElement('p');
  skipped.className = 'muted';
  skipped.innerHTML = r.skipped.map((x) => `<span data-skipped="${esc(x.id)}">Not checked (${esc(x.id.replace(/_/g, ' '))}): ${esc(x.reason)}.</span>`).join(' ');
  wait.replaceWith(scope, list, ...(r.skipped.length ? [skipped] : []));
  document.getElementById('diagnostics-card')!.dataset['drawn'] = 'true';
}

/** The smallest round number (1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 × 10^k) at or above x (a round top for an axis). */
export function niceCeil(x: number): number {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  return [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].map((m) => m * p).find((v) => v >= x) ?? 10 * p;
}

function drawMrr(rows: readonly SeriesRow[]): void {
  const top = niceCeil(Math.max(0, ...rows.map((r) => plot(r.mrr))));
  chart('mrr-chart', {
    tooltip: { trigger: 'axis', formatter: ((ps: { dataIndex: number }[]) => {
      const r = rows[ps[0]!.dataIndex]!;
      return `${r.month}\nMRR ${money(r.mrr)}\nARR ${money(r.arr)}\n${count(r.customers)} customers`;
    }) as never },
    grid: { left: 72, right: 72, top: 16, bottom: 32 },
    xAxis: { type: 'category', data: rows.map((r) => r.month) },
    // The ARR axis is the MRR axis × 12, tick for tick, so either can be read off the same line.
    yAxis: [
      { type: 'value', min: 0, max: top, interval: top / 5, name: 'MRR', axisLabel: { formatter: axisMoney } },
      { type: 'value', min: 0, max: top * 12, interval: (top * 12) / 5, name: 'ARR', axisLabel: { formatter: axisMoney }, splitLine: { show: false } },
    ],
    series: [
      { name: 'MRR', type: 'line', data: rows.map((r) => plot(r.mrr)), areaStyle: { opacity: 0.08 }, symbolSize: 5, itemStyle: { color: '#2f5bea' } },
      { name: 'ARR', type: 'line', yAxisIndex: 1, data: rows.map((r) => plot(r.arr)), lineStyle: { opacity: 0 }, symbol: 'none', tooltip: { show: false } },
    ],
  }, 'mrr-arr');
}

function drawMovements(rows: readonly SeriesRow[], all: readonly SeriesRow[]): void {
  const signed = (r: SeriesRow, k: MovementKey) => (k === 'contraction' || k === 'churn' ? asLoss(r[k]) : r[k]);
  const c = chart('movements-chart', {
    tooltip: { trigger: 'axis', formatter: ((ps: { dataIndex: number }[]) => {
      const r = rows[ps[0]!.dataIndex]!;
      return [r.month, ...MOVEMENT_KEYS.map((k) => `${LABELS[k]} ${money(signed(r, k))}`), `Net new ${money(r.net_new)}`].join('\n');
    }) as never },
    legend: { bottom: 0, type: 'scroll' },
    grid: { left: 72, right: 16, top: 16, bottom: 56 },
    xAxis: { type: 'category', data: rows.map((r) => r.month) },
    yAxis: { type: 'value', axisLabel: { formatter: axisMoney } },
    series: [
      ...MOVEMENT_KEYS.map((k) => ({
        name: LABELS[k], id: k, type: 'bar' as const, stack: 'movements', // one column a month: gains stack up, losses down (ECharts stacks same signs together)
        data: rows.map((r) => plot(signed(r, k))), itemStyle: { color: COLOURS[k] }, cursor: 'pointer',
      })),
      { name: 'Net new', id: 'net_new', type: 'line' as const, data: rows.map((r) => plot(r.net_new)), itemStyle: { color: COLOURS.net_new }, symbolSize: 6 },
    ],
  }, 'monthly-movements');
  void all;
  c.on('click', (e: { seriesId?: string; dataIndex?: number }) => {
    const r = rows[e.dataIndex ?? -1];
    if (!r || !e.seriesId) return;
    go('/movements', { ...filters(), month: r.month, category: e.seriesId === 'net_new' ? undefined : e.seriesId });
  });
}

/** Draws the T12M and monthly charts when the trend comes (marked data-drawn), unless the reader has moved on. */
async function drawTrends(trend: Promise<TrendPoint[]>, month: string, band: readonly [number, number], view: number): Promise<void> {
  let points: TrendPoint[];
  try {
    points = await trend;
  } catch (e) {
    if (!current(view)) return;
    for (const id of ['trend', 'monthly-nrr']) {
      const el = document.getElementById(id)!;
      el.textContent = `No trend: ${e instanceof Error ? e.message : String(e)}`;
      el.dataset['drawn'] = 'failed';
    }
    return;
  }
  if (!current(view)) return;
  drawTrend(points, month, band);
  drawMonthlyNrr(points, month);
  document.getElementById('trend')!.dataset['drawn'] = 'true';
  document.getElementById('monthly-nrr')!.dataset['drawn'] = 'true';
}

/** A month's rates for a tooltip, with the accounts they are of ("no data" when none paid at the start). */
function trendTip(x: TrendPoint, kind: 't12m' | 'monthly'): string {
  const [nrr, grr, n] = kind === 't12m' ? [x.t12m_nrr, x.t12m_grr, x.t12m_starting_accounts] : [x.monthly_nrr, x.monthly_grr, x.monthly_starting_accounts];
  const label = kind === 't12m' ? 'T12M' : 'Monthly';
  return nrr === null ? `${x.month}\n${label}: no data (no starting accounts)` : `${x.month}\n${label} NRR ${pct(nrr)}\n${label} GRR ${pct(grr)}\nof ${count(n)} starting accounts`;
}

function drawTrend(s: readonly TrendPoint[], month: string, band: readonly [number, number]): void {
  const pc = (v: number | null) => (v === null ? null : +(v * 100).toFixed(2));
  chart('trend', {
    tooltip: { trigger: 'axis', formatter: ((ps: { dataIndex: number }[]) => trendTip(s[ps[0]!.dataIndex]!, 't12m')) as never },
    legend: { bottom: 0 },
    grid: { left: 48, right: 16, top: 16, bottom: 56 },
    xAxis: { type: 'category', data: s.map((x) => x.month) },
    yAxis: { type: 'value', scale: true, axisLabel: { formatter: '{value}%' } },
    series: [
      {
        name: 'T12M NRR', type: 'line', data: s.map((x) => pc(x.t12m_nrr)), symbolSize: 5, lineStyle: { width: 3 },
        markArea: { silent: true, itemStyle: { color: 'rgba(47,91,234,0.08)' }, data: [[{ yAxis: band[0] * 100, name: 'benchmark median' }, { yAxis: band[1] * 100 }]] },
        markLine: s.some((x) => x.month === month) ? { silent: true, symbol: 'none', lineStyle: { type: 'dashed', color: '#667085' }, data: [{ xAxis: month }], label: { formatter: month } } : undefined,
      },
      { name: 'T12M GRR', type: 'line', data: s.map((x) => pc(x.t12m_grr)), symbolSize: 5 },
    ],
  }, 't12m-nrr-grr');
}

function drawMonthlyNrr(s: readonly TrendPoint[], month: string): void {
  const pc = (v: number | null | undefined) => (v === null || v === undefined ? null : +(v * 100).toFixed(2));
  chart('monthly-nrr', {
    tooltip: { trigger: 'axis', formatter: ((ps: { dataIndex: number }[]) => trendTip(s[ps[0]!.dataIndex]!, 'monthly')) as never },
    legend: { bottom: 0 },
    grid: { left: 48, right: 16, top: 16, bottom: 56 },
    xAxis: { type: 'category', data: s.map((x) => x.month) },
    // A line around 100 %, not bars: bars would have to start at 0 % to be honest and then show nothing.
    yAxis: { type: 'value', scale: true, axisLabel: { formatter: '{value}%' } },
    series: [
      {
        name: 'Monthly NRR', type: 'line', data: s.map((x) => pc(x.monthly_nrr)), symbolSize: 5,
        markLine: { silent: true, symbol: 'none', data: [{ yAxis: 100, name: '100 %' }, ...(s.some((x) => x.month === month) ? [{ xAxis: month }] : [])], lineStyle: { type: 'dashed', color: '#667085' }, label: { show: false } },
      },
      { name: 'Monthly GRR', type: 'line', data: s.map((x) => pc(x.monthly_grr)), symbolSize: 5 },
    ],
  }, 'monthly-nrr-grr');
}

/** The window's waterfall: each step's label sits on its own visible bar (above gains, below losses). */
function drawBridge(m: Metrics): void {
  const steps: [string, string][] = [
    ['Start', m.starting_mrr],
    ['Expansion', m.expansion],
    ['Contraction', negateDecimal(m.contraction)],
    ['Churn', negateDecimal(m.churn)],
    ...(m.fx !== undefined && compareDecimal(m.fx, '0') !== 0 ? [['FX', m.fx] as [string, string]] : []),
    ['End', m.ending_mrr],
  ];
  let level = 0;
  const base: number[] = [];
  const up: object[] = [];
  const down: object[] = [];
  const label = (text: string, position: 'top' | 'bottom') => ({ show: true, position, formatter: text, color: '#1d2433' });
  steps.forEach(([k, text], i) => {
    const v = plot(text);
    const signedText = (i > 0 && i < steps.length - 1 && compareDecimal(text, '0') > 0 ? '+' : '') + money(text, true);
    const colour = k === 'Start' ? '#98a2b3' : k === 'End' ? '#2f5bea' : v >= 0 ? '#12805c' : '#c0262d';
    if (k === 'Start' || k === 'End') {
      base.push(0);
      up.push({ value: v, itemStyle: { color: colour }, label: label(signedText, 'top') });
      down.push({ value: 0 });
      level = v;
    } else if (v >= 0) {
      base.push(level);
      up.push({ value: v, itemStyle: { color: colour }, label: label(signedText, 'top') });
      down.push({ value: 0 });
      level += v;
    } else {
      level += v;
      base.push(level);
      up.push({ value: 0 });
      down.push({ value: -v, itemStyle: { color: colour }, label: label(signedText, 'bottom') });
    }
  });
  chart('bridge', {
    tooltip: { trigger: 'axis', formatter: ((ps: { dataIndex: number }[]) => `${steps[ps[0]!.dataIndex]![0]}: ${money(steps[ps[0]!.dataIndex]![1])}`) as never },
    grid: { left: 72, right: 16, top: 28, bottom: 40 },
    // On a phone the step names are turned so they do not run into each other.
    xAxis: { type: 'category', data: steps.map((x) => x[0]), axisLabel: { interval: 0, rotate: (document.getElementById('bridge')?.clientWidth ?? 1000) < 560 ? 35 : 0 } },
    yAxis: { type: 'value', min: 0, axisLabel: { formatter: axisMoney } },
    series: [
      { type: 'bar', stack: 'w', data: base, itemStyle: { color: 'transparent' }, emphasis: { disabled: true }, tooltip: { show: false } },
      { type: 'bar', stack: 'w', data: up as never },
      { type: 'bar', stack: 'w', data: down as never },
    ],
  }, 'mrr-bridge');
}

function bridgeTable(series: readonly SeriesRow[], from: string, to: string): string {
  const indexed = series.map((r, i) => ({ r, start: startingMrr(series, i) })).filter(({ r }) => r.month >= from && r.month <= to);
  const link = (month: string, k: MovementKey, text: string) =>
    compareDecimal(text, '0') === 0 ? `<span class="muted">${money(text)}</span>` : `<a href="${esc(hrefWithFilters('/movements', { month, category: k }))}" data-link data-cell="${esc(`${month}:${k}`)}">${money(text)}</a>`;
  return table({
    id: 'bridge-table',
    csvName: `mrr-bridge-${from}-${to}`,
    rows: indexed,
    columns: [
      { label: 'month', html: ({ r }) => esc(r.month), csv: ({ r }) => r.month },
      { label: 'starting MRR', num: true, html: ({ start }) => money(start), csv: ({ start }) => start },
      ...MOVEMENT_KEYS.map((k) => ({
        label: k, num: true,
        html: ({ r }: { r: SeriesRow }) => link(r.month, k, k === 'contraction' || k === 'churn' ? asLoss(r[k]) : r[k]),
        csv: ({ r }: { r: SeriesRow }) => r[k],
      })),
      { label: 'net new', num: true, html: ({ r }) => `<b>${money(r.net_new)}</b>`, csv: ({ r }) => r.net_new },
      { label: 'ending MRR', num: true, html: ({ r }) => `<span data-mrr="${esc(r.month)}">${money(r.mrr)}</span>`, csv: ({ r }) => r.mrr },
      { label: 'ARR', num: true, html: ({ r }) => money(r.arr), csv: ({ r }) => r.arr },
      { label: 'customers', num: true, html: ({ r }) => count(r.customers), csv: ({ r }) => r.customers },
    ],
  });
}

/**
 * The fan: company MRR of the last 12 months, then the MRR of today's customers 30, 60 and 90 days
 * ahead (P10–P90 band, P50 line; /api/forecast at each horizon), and the committed changes alone.
 */
async function drawFan(series: readonly SeriesRow[], view: number, f: Record<string, string>): Promise<void> {
  const horizons = [30, 60, 90];
  const title = fanTitle(Object.keys(f).length > 0);
  let forecasts: Forecast[];
  try {
    const all = Promise.all(horizons.map((h) => get<Forecast>(withQuery('/api/forecast', { horizon: h, accounts: 'none', ...f }))));
    const note = document.querySelector<HTMLElement>('#forecast-card .note');
    if (note) sayWhileWaiting(note, 'Computing the forecast', all);
    forecasts = await all;
  } catch (e) {
    if (!current(view)) return;
    document.getElementById('forecast-card')!.innerHTML = chartCard('fan', title, { note: `No forecast: ${e instanceof Error ? e.message : String(e)}` });
    document.getElementById('fan')!.dataset['drawn'] = 'failed';
    return;
  }
  if (!current(view)) return;
  const f0 = forecasts[0]!;
  const asOf = f0.as_of.slice(0, 7);
  const history = series.filter((r) => r.month <= asOf).slice(-12);
  const ahead = forecasts.map((f) => f.through.slice(0, 7));
  const months = [...history.map((r) => r.month), ...ahead];
  const pad = (xs: (number | null)[]) => [...Array(history.length - 1).fill(null), ...xs];
  const start = plot(f0.starting_mrr);
  const p10 = pad([start, ...forecasts.map((f) => plot(f.ending_mrr.p10))]);
  const band = pad([0, ...forecasts.map((f) => plot(f.ending_mrr.p90) - plot(f.ending_mrr.p10))]);
  const p50 = pad([start, ...forecasts.map((f) => plot(f.ending_mrr.p50))]);
  const committed = pad([start, ...forecasts.map((f) => plot(f.committed_mrr))]);
  // Which accounts the fan is of, in words: every customer, or those the filters keep (of how many).
  const whose = f0.filter
    ? `the ${f0.account_count.toLocaleString('en-US')} of ${f0.filter.company_accounts.toLocaleString('en-US')} accounts with MRR that have ${filterText()} (the model is fitted on the whole company’s history; these accounts’ figures are summed from the same simulation)`
    : `${f0.account_count.toLocaleString('en-US')} accounts with MRR`;
  const note = `From ${f0.as_of}: ${whose}, no new business. 90 days: P50 ${money(forecasts[2]!.ending_mrr.p50)} (P10 ${money(forecasts[2]!.ending_mrr.p10)} – P90 ${money(forecasts[2]!.ending_mrr.p90)}), forward NRR ${pct(forecasts[2]!.nrr.p50)} (${pct(forecasts[2]!.nrr.p10)}–${pct(forecasts[2]!.nrr.p90)}). Method: ${f0.method}.${f0.notes.length ? ` ${f0.notes.join(' ')}` : ''}`;
  document.getElementById('forecast-card')!.innerHTML = chartCard('fan', title, { note });
  const fan = document.getElementById('fan')!;
  fan.dataset['accounts'] = String(f0.account_count);
  if (f0.filter) fan.dataset['filtered'] = 'true';
  const tip = (i: number): string => {
    const k = i - history.length;
    if (k < 0) return `${months[i]}: MRR ${money(history[i]!.mrr)}`;
    const f = forecasts[k]!;
    return `${months[i]} (${f.horizon_days} days)\nP90 ${money(f.ending_mrr.p90)}\nP50 ${money(f.ending_mrr.p50)}\nP10 ${money(f.ending_mrr.p10)}\ncommitted only ${money(f.committed_mrr)}`;
  };
  chart('fan', {
    tooltip: { trigger: 'axis', formatter: ((ps: { dataIndex: number }[]) => tip(ps[0]!.dataIndex)) as never },
    legend: { bottom: 0, data: ['MRR', 'P50', 'P10–P90', 'committed only'] },
    grid: { left: 72, right: 16, top: 16, bottom: 56 },
    xAxis: { type: 'category', data: months, boundaryGap: false },
    yAxis: { type: 'value', min: 0, axisLabel: { formatter: axisMoney } },
    series: [
      { name: 'MRR', type: 'line', data: [...history.map((r) => plot(r.mrr)), ...ahead.map(() => null)], itemStyle: { color: '#1d2433' }, symbolSize: 4 },
      { name: 'P10', type: 'line', stack: 'fan', data: p10, lineStyle: { opacity: 0 }, symbol: 'none' },
      { name: 'P10–P90', type: 'line', stack: 'fan', data: band, lineStyle: { opacity: 0 }, symbol: 'none', areaStyle: { color: 'rgba(47,91,234,0.18)' }, itemStyle: { color: 'rgba(47,91,234,0.4)' } },
      { name: 'P50', type: 'line', data: p50, itemStyle: { color: '#2f5bea' }, lineStyle: { type: 'dashed' } },
      { name: 'committed only', type: 'line', data: committed, itemStyle: { color: '#98a2b3' }, lineStyle: { type: 'dotted' } },
    ],
  }, 'forecast-fan');
  document.getElementById('fan')!.dataset['drawn'] = 'true';
}

