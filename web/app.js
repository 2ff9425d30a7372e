// NRR Engine dashboard: a single-page app over the JSON API. Each view's state (page, month,
// window, grouping, filters, sort, account) lives in the URL, so a link shows the same view.
import { compareDecimal, formatDecimal, formatMoney, formatMoneyCompact, multiplyDecimal, negateDecimal } from './money-format.js';

const $page = document.getElementById('page');
const PAGES = [
  { path: 'overview', label: 'Overview', render: overview },
  { path: 'segments', label: 'Segments', render: segments },
  { path: 'cohorts', label: 'Cohorts', render: cohorts },
  { path: 'accounts', label: 'Accounts', render: accounts },
  { path: 'playbooks', label: 'Playbooks', render: playbooks },
];
const charts = [];
let summary = null;

// ---------- formatting ----------
const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
/** A fraction as a percent with one decimal: 1.0434 → "104.3 %". */
const pct = (x) => (x === null || x === undefined ? '—' : `${(Number(x) * 100).toFixed(1)}%`);
/** Money from the API (exact decimal text) in the reporting currency: to the cent, or compact. */
function money(text, compact = false) {
  if (text === null || text === undefined) return '—';
  const cur = summary?.reporting_currency ?? 'USD';
  return compact ? formatMoneyCompact(text, cur) : formatMoney(text, cur);
}
/** A chart axis tick (a position the chart chose, not an amount from the data), compact. */
const axisMoney = (n) => new Intl.NumberFormat('en-US', { style: 'currency', currency: summary?.reporting_currency ?? 'USD', notation: 'compact', maximumFractionDigits: 2 }).format(n);
/** Where an amount sits on a chart; never shown as text (labels and tooltips format the decimal). */
const plot = (text) => Number(text);
const num = (x, d = 1) => (x === null || x === undefined ? '—' : Number(x).toFixed(d));
const pill = (colour) => (colour ? `<span class="pill ${esc(colour)}">${esc(colour)}</span>` : '—');
/**
 * The plausibility marks of a metrics object (one threshold everywhere: the workspace's
 * min_group_accounts policy decides small_group on the server): a small group, an NRR outside its
 * window's plausible range.
 */
function flags(m) {
  const min = summary?.policies?.min_group_accounts;
  const out = [];
  if (m.small_group) out.push(`<span class="warn-text" data-flag="small_group" title="fewer than ${esc(min)} starting accounts: one account moves the figure">⚠ small group</span>`);
  if (m.nrr_plausible === false) out.push(`<span class="warn-text" data-flag="implausible" title="outside the plausible range for this window: check the data (lines never ended?) before using it">⚠ implausible</span>`);
  return out.join(' ');
}

// ---------- URL state ----------
const params = () => new URLSearchParams(location.search);
function go(path, query = {}, replace = false) {
  const q = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined && v !== null && v !== ''));
  const url = `/${path}${q.toString() ? `?${q}` : ''}`;
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  route();
}
/** Sets one parameter of the current view. */
function setParam(key, value) {
  const q = Object.fromEntries(params());
  q[key] = value;
  if (key !== 'offset') delete q.offset;
  go(location.pathname.slice(1), q, true);
}

// ---------- API ----------
async function api(path) {
  const headers = {};
  const token = sessionStorage.getItem('nrr-token');
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(path, { headers });
  if (res.status === 401) {
    const t = prompt('This dashboard needs its API token:');
    if (t) {
      sessionStorage.setItem('nrr-token', t);
      return api(path);
    }
  }
  const body = await res.json();
  if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`);
  return body;
}

// ---------- charts ----------
function chart(el, option) {
  const c = echarts.init(el, null, { renderer: 'canvas' });
  // Tooltips drawn on the canvas: ECharts' HTML tooltips carry inline styles, which the CSP refuses.
  const tooltip = option.tooltip ? { tooltip: { renderMode: 'richText', ...option.tooltip } } : {};
  c.setOption({ textStyle: { fontFamily: 'system-ui, sans-serif' }, animation: false, ...option, ...tooltip });
  charts.push(c);
  return c;
}
window.addEventListener('resize', () => charts.forEach((c) => c.resize()));

// ---------- shell ----------
function nav(active) {
  document.getElementById('nav').innerHTML = PAGES.map(
    (p) => `<a href="/${p.path}" data-link class="${p.path === active ? 'active' : ''}">${p.label}</a>`,
  ).join('');
}
document.addEventListener('click', (e) => {
  const a = e.target.closest('a[data-link]');
  if (a && !e.metaKey && !e.ctrlKey) {
    e.preventDefault();
    history.pushState(null, '', a.getAttribute('href'));
    route();
    return;
  }
  const row = e.target.closest('tr[data-href]');
  if (row) {
    history.pushState(null, '', row.dataset.href);
    route();
  }
});
window.addEventListener('popstate', () => route());

async function route() {
  charts.splice(0).forEach((c) => c.dispose());
  const parts = location.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  let name = parts[0] ?? 'overview';
  const page = name === 'accounts' && parts[1] ? { render: () => account(parts[1]) } : PAGES.find((p) => p.path === name);
  if (!page) name = 'overview';
  nav(name);
  $page.innerHTML = '<p class="muted">Loading…</p>';
  document.body.dataset.ready = 'false';
  try {
    summary ??= await api('/api/summary');
    const asof = document.getElementById('asof');
    asof.textContent = `as of ${summary.as_of_date} · reporting month ${summary.as_of_month}${summary.partial ? ' (partial)' : ''} · ${summary.accounts.toLocaleString('en-US')} accounts · ${summary.reporting_currency}`;
    // A partial month or a stale-looking export is said on every page.
    if (summary.date_notes.length) {
      asof.textContent += ` · warning: ${summary.date_notes.join(' ')}`;
      asof.classList.add('date-warning');
    }
    await (page ?? PAGES[0]).render();
  } catch (e) {
    $page.innerHTML = `<div class="error">${esc(e.message)}</div>`;
  }
  document.body.dataset.ready = 'true';
}

const select = (key, options, value, label) =>
  `<label>${esc(label)} <select data-param="${esc(key)}">${options
    .map(([v, t]) => `<option value="${esc(v)}" ${String(v) === String(value) ? 'selected' : ''}>${esc(t)}</option>`)
    .join('')}</select></label>`;
function bindControls() {
  $page.querySelectorAll('[data-param]').forEach((el) => {
    el.addEventListener('change', () => setParam(el.dataset.param, el.value));
  });
}
function months(count = 24) {
  const [y, m] = summary.as_of_month.split('-').map(Number);
  return Array.from({ length: count }, (_, k) => {
    const d = new Date(Date.UTC(y, m - 1 - k, 1));
    return d.toISOString().slice(0, 7);
  });
}
const WINDOWS = [
  [12, 'trailing 12 months'],
  [3, 'quarter'],
  [1, 'month'],
];

// ---------- Overview ----------
async function overview() {
  const p = params();
  const month = p.get('month') ?? summary.as_of_month;
  const window = Number(p.get('window') ?? 12);
  const [report, [m]] = await Promise.all([api('/api/report'), api(`/api/metrics?month=${month}&window=${window}`)]);
  // By default the benchmark of the cohort's median ACV (never a name); the selector overrides it.
  const byAcv = m.median_acv === null ? null : summary.acv_benchmark_bands.find((x) => x.below === null || Number(m.median_acv) < x.below)?.key;
  const bench = p.get('benchmark') ?? byAcv ?? 'mid-market';
  const b = summary.benchmarks.find((x) => x.key === bench) ?? summary.benchmarks[0];
  const arr = multiplyDecimal(m.ending_mrr, 12);
  $page.innerHTML = `
    <h1>Net revenue retention</h1>
    <div class="muted">${window === 12 ? 'Trailing twelve months' : window === 3 ? 'Quarter' : 'Month'} ending ${esc(month)}: the accounts that paid at the start, and what they pay now.</div>
    <div class="controls">
      ${select('month', months(24).map((x) => [x, x]), month, 'Month')}
      ${select('window', WINDOWS, window, 'Window')}
      ${select('benchmark', summary.benchmarks.map((x) => [x.key, x.label]), b.key, 'Benchmark')}
    </div>
    <div class="tiles">
      <div class="tile"><div class="label">NRR</div><div class="value" data-metric="nrr">${pct(m.nrr)}</div><div class="sub">median ${pct(b.median[0])}–${pct(b.median[1])} · top quartile ${pct(b.topQuartile[0])}+</div>${flags(m) ? `<div class="sub">${flags(m)}</div>` : ''}${m.overlap_lines ? `<div class="sub warn-text" data-flag="overlap">${m.overlap_lines} line${m.overlap_lines === 1 ? '' : 's'} (${money(m.overlap_mrr)} MRR) look like upgrades never ended</div>` : ''}</div>
      <div class="tile"><div class="label">GRR</div><div class="value" data-metric="grr">${pct(m.grr)}</div><div class="sub">revenue kept before expansion</div></div>
      <div class="tile"><div class="label">Logo retention</div><div class="value" data-metric="logo">${pct(m.logo_retention)}</div><div class="sub">${m.retained_accounts.toLocaleString('en-US')} of ${m.starting_accounts.toLocaleString('en-US')} accounts</div></div>
      <div class="tile"><div class="label">Cohort ARR now</div><div class="value" data-metric="arr">${money(arr, true)}</div><div class="sub">from ${money(multiplyDecimal(m.starting_mrr, 12), true)} at the start</div></div>
    </div>
    <div class="grid2">
      <div class="card"><h2>T12M NRR and GRR, monthly values</h2><div id="trend" class="chart"></div></div>
      <div class="card"><h2>MRR bridge of the window's cohort</h2><div id="bridge" class="chart"></div></div>
    </div>
    <div class="card section"><h2>Diagnostics</h2><ul class="diag">${
      report.diagnostics.length ? report.diagnostics.map((d) => `<li class="${esc(d.severity)}">${esc(d.message)}</li>`).join('') : '<li class="muted">Nothing unusual.</li>'
    }</ul></div>`;
  bindControls();
  const s = report.series;
  const pc = (v) => (v === null ? null : +(v * 100).toFixed(2));
  chart(document.getElementById('trend'), {
    tooltip: { trigger: 'axis', valueFormatter: (v) => (v === null || v === undefined ? '—' : `${Number(v).toFixed(1)}%`) },
    legend: { bottom: 0 },
    grid: { left: 48, right: 16, top: 16, bottom: 56 },
    xAxis: { type: 'category', data: s.map((x) => x.month) },
    yAxis: { type: 'value', scale: true, axisLabel: { formatter: '{value}%' } },
    series: [
      {
        name: 'T12M NRR', type: 'line', data: s.map((x) => pc(x.t12m_nrr)), symbolSize: 5, lineStyle: { width: 3 },
        markArea: { silent: true, itemStyle: { color: 'rgba(47,91,234,0.08)' }, data: [[{ yAxis: b.median[0] * 100, name: `${b.label} median` }, { yAxis: b.median[1] * 100 }]] },
      },
      { name: 'T12M GRR', type: 'line', data: s.map((x) => pc(x.t12m_grr)), symbolSize: 5 },
      { name: 'Monthly NRR', type: 'bar', data: s.map((x) => pc(x.monthly_nrr)), itemStyle: { color: 'rgba(102,112,133,0.25)' }, barWidth: '45%' },
    ],
  });
  const steps = [
    ['Start', m.starting_mrr],
    ['Expansion', m.expansion],
    ['Contraction', negateDecimal(m.contraction)],
    ['Churn', negateDecimal(m.churn)],
    ['FX', m.fx],
  ].filter(([k, v]) => k !== 'FX' || compareDecimal(v, '0') !== 0);
  let level = 0;
  const base = [];
  const up = [];
  const down = [];
  steps.forEach(([k, text], i) => {
    const v = plot(text);
    if (i === 0) {
      base.push(0); up.push(v); down.push(0); level = v;
    } else if (v >= 0) {
      base.push(level); up.push(v); down.push(0); level += v;
    } else {
      level += v; base.push(level); up.push(0); down.push(-v);
    }
    void k;
  });
  chart(document.getElementById('bridge'), {
    tooltip: { trigger: 'axis', formatter: (ps) => `${ps[0].name}: ${money(steps.find((x) => x[0] === ps[0].name)?.[1] ?? m.ending_mrr)}` },
    grid: { left: 72, right: 16, top: 16, bottom: 32 },
    xAxis: { type: 'category', data: [...steps.map((x) => x[0]), 'End'], axisLabel: { interval: 0 } },
    yAxis: { type: 'value', axisLabel: { formatter: axisMoney } },
    series: [
      {
        type: 'bar', stack: 'w', data: [...base, 0], itemStyle: { color: 'transparent' }, emphasis: { disabled: true },
        label: { show: true, position: 'top', formatter: (p) => { const v = [...steps.map((x) => x[1]), m.ending_mrr][p.dataIndex]; return `${p.dataIndex > 0 && p.dataIndex < steps.length && compareDecimal(v, '0') > 0 ? '+' : ''}${money(v, true)}`; } },
      },
      { type: 'bar', stack: 'w', data: [...up.map((v, i) => (i === 0 ? { value: v, itemStyle: { color: '#98a2b3' } } : v)), { value: plot(m.ending_mrr), itemStyle: { color: '#2f5bea' } }], itemStyle: { color: '#12805c' } },
      { type: 'bar', stack: 'w', data: [...down, 0], itemStyle: { color: '#c0262d' } },
    ],
  });
}

// ---------- Segments ----------
async function segments() {
  const p = params();
  const by = p.get('by') ?? (summary.group_by.includes('segment') ? 'segment' : 'acv_band');
  const window = Number(p.get('window') ?? 12);
  const sort = p.get('sort') ?? 'starting_mrr';
  const dir = p.get('dir') ?? 'desc';
  const rows = await api(`/api/metrics?window=${window}&by=${encodeURIComponent(by)}`);
  // Ratios and counts are numbers, money is decimal text (compared exactly), missing is lowest.
  const cmp = (a, b) => (a === b ? 0 : a === null ? -1 : b === null ? 1 : typeof a === 'number' ? Math.sign(a - b) : sort === 'group' ? (a < b ? -1 : 1) : compareDecimal(a, b));
  rows.sort((a, b) => cmp(a[sort] ?? null, b[sort] ?? null) * (dir === 'asc' ? 1 : -1));
  const cols = [
    ['group', by, false],
    ['starting_accounts', 'accounts', true],
    ['starting_mrr', 'starting MRR', true],
    ['nrr', 'NRR', true],
    ['grr', 'GRR', true],
    ['logo_retention', 'logo retention', true],
    ['expansion', 'expansion', true],
    ['churn', 'churn', true],
    ['largest_account_share', 'largest account', true],
    ['overlap_lines', 'lines never ended?', true],
  ];
  $page.innerHTML = `
    <h1>Segments</h1>
    <div class="muted">NRR, GRR and logo retention by ${esc(by)}, ${window === 12 ? 'trailing twelve months' : `${window}-month window`} ending ${esc(summary.as_of_month)}.</div>
    <div class="controls">${select('by', summary.group_by.map((g) => [g, g]), by, 'Group by')}${select('window', WINDOWS, window, 'Window')}</div>
    <div class="card section"><div id="seg-chart" class="chart"></div></div>
    <div class="table-wrap"><table id="segments"><thead><tr>${cols
      .map(([k, t, n]) => `<th class="sortable ${n ? 'num' : ''} ${k === sort ? `sorted ${dir}` : ''}" data-sort="${k}">${esc(t)}</th>`)
      .join('')}</tr></thead><tbody>${rows
      .map(
        (r) => `<tr><td>${esc(r.group)} ${flags(r)}</td>
        <td class="num">${r.starting_accounts}</td><td class="num">${money(r.starting_mrr)}</td><td class="num" data-nrr>${pct(r.nrr)}</td>
        <td class="num">${pct(r.grr)}</td><td class="num">${pct(r.logo_retention)}</td><td class="num">${money(r.expansion)}</td><td class="num">${money(r.churn)}</td>
        <td class="num">${pct(r.largest_account_share)}</td><td class="num">${r.overlap_lines ? `<span class="warn-text">${r.overlap_lines}</span>` : '0'}</td></tr>`,
      )
      .join('')}</tbody></table></div>`;
  bindControls();
  $page.querySelectorAll('th[data-sort]').forEach((th) =>
    th.addEventListener('click', () => {
      const q = Object.fromEntries(params());
      q.dir = q.sort === th.dataset.sort && (q.dir ?? 'desc') === 'desc' ? 'asc' : 'desc';
      q.sort = th.dataset.sort;
      go('segments', q, true);
    }),
  );
  const shown = rows.filter((r) => r.nrr !== null).slice(0, 30);
  chart(document.getElementById('seg-chart'), {
    tooltip: { trigger: 'axis', valueFormatter: (v) => `${Number(v).toFixed(1)}%` },
    legend: { bottom: 0 },
    grid: { left: 48, right: 16, top: 16, bottom: 64 },
    xAxis: { type: 'category', data: shown.map((r) => r.group), axisLabel: { interval: 0, rotate: shown.length > 8 ? 30 : 0 } },
    yAxis: { type: 'value', axisLabel: { formatter: '{value}%' } },
    series: [
      { name: 'NRR', type: 'bar', data: shown.map((r) => +(r.nrr * 100).toFixed(2)), itemStyle: { color: '#2f5bea' } },
      { name: 'GRR', type: 'bar', data: shown.map((r) => (r.grr === null ? null : +(r.grr * 100).toFixed(2))), itemStyle: { color: '#98a2b3' } },
    ],
  });
}

// ---------- Cohorts ----------
async function cohorts() {
  const granularity = params().get('granularity') ?? 'quarter';
  const { rows } = await api(`/api/cohorts?granularity=${granularity}`);
  const width = Math.max(0, ...rows.map((r) => r.retention.length));
  const data = [];
  rows.forEach((r, y) => r.retention.forEach((v, x) => v !== null && data.push([x, y, +(v * 100).toFixed(1)])));
  $page.innerHTML = `
    <h1>Cohorts</h1>
    <div class="muted">Revenue retention of each cohort of first revenue, by ${esc(granularity)}s since (100 % = its MRR at the end of its first ${esc(granularity)}).</div>
    <div class="controls">${select('granularity', [['month', 'month'], ['quarter', 'quarter'], ['year', 'year']], granularity, 'Cohort by')}</div>
    <div class="card section"><div id="heatmap" class="chart tall" data-cohorts="${rows.length}"></div></div>
    <div class="table-wrap"><table><thead><tr><th>cohort</th><th class="num">accounts</th><th class="num">starting MRR</th>${Array.from({ length: width }, (_, k) => `<th class="num">+${k}</th>`).join('')}</tr></thead>
    <tbody>${rows
      .map((r) => `<tr><td>${esc(r.cohort)} ${flags({ small_group: r.small_group })}</td><td class="num">${r.accounts}</td><td class="num">${money(r.starting_mrr)}</td>${Array.from({ length: width }, (_, k) => `<td class="num">${r.retention[k] === undefined ? '' : pct(r.retention[k])}</td>`).join('')}</tr>`)
      .join('')}</tbody></table></div>`;
  bindControls();
  chart(document.getElementById('heatmap'), {
    tooltip: { formatter: (p) => `${rows[p.value[1]].cohort}, +${p.value[0]}: ${p.value[2]}%` },
    grid: { left: 80, right: 24, top: 8, bottom: 72 },
    xAxis: { type: 'category', data: Array.from({ length: width }, (_, k) => `+${k}`), splitArea: { show: true } },
    yAxis: { type: 'category', data: rows.map((r) => r.cohort), inverse: true },
    visualMap: { min: 50, max: 150, calculable: true, orient: 'horizontal', left: 'center', bottom: 0, inRange: { color: ['#c0262d', '#fff4e0', '#e7f6ee', '#12805c'] } },
    series: [{ type: 'heatmap', data, label: { show: width <= 16, formatter: (p) => Math.round(p.value[2]) } }],
  });
}

// ---------- Accounts ----------
async function accounts() {
  const p = params();
  const f = { q: p.get('q') ?? '', tier: p.get('tier') ?? '', health: p.get('health') ?? '', owner: p.get('owner') ?? '', sort: p.get('sort') ?? 'risk', offset: Number(p.get('offset') ?? 0) };
  const limit = 50;
  const qs = new URLSearchParams(Object.entries({ ...f, limit, offset: f.offset }).filter(([, v]) => v !== ''));
  const res = await api(`/api/accounts?${qs}`);
  $page.innerHTML = `
    <h1>Accounts</h1>
    <div class="muted">${res.total.toLocaleString('en-US')} accounts as of ${esc(res.as_of)}; churn risk and expansion readiness 0–100 with their top reason.</div>
    <div class="controls">
      <label>Search <input id="q" value="${esc(f.q)}" placeholder="id, name or owner" /></label>
      ${select('tier', [['', 'all'], ['1', 'Tier 1'], ['2', 'Tier 2'], ['3', 'Tier 3']], f.tier, 'Tier')}
      ${select('health', [['', 'all'], ['red', 'red'], ['yellow', 'yellow'], ['green', 'green']], f.health, 'Health')}
      ${select('sort', [['risk', 'churn risk'], ['arr', 'ARR'], ['renewal', 'renewal'], ['health', 'health'], ['expansion', 'expansion']], f.sort, 'Sort by')}
    </div>
    <div class="table-wrap"><table id="accounts"><thead><tr><th>account</th><th>tier</th><th class="num">ARR</th><th>health</th><th class="num">risk</th><th>top reason</th><th>renewal</th><th>CSM</th><th>AM</th></tr></thead>
    <tbody>${res.rows
      .map(
        (a) => `<tr class="click" data-href="/accounts/${encodeURIComponent(a.account_id)}" data-account="${esc(a.account_id)}">
        <td><a href="/accounts/${encodeURIComponent(a.account_id)}" data-link>${esc(a.name ?? a.account_id)}</a> <span class="muted">${esc(a.account_id)}</span></td>
        <td>${esc(a.tier)}</td><td class="num" data-arr>${money(a.arr)}</td><td>${pill(a.health_colour)} ${num(a.health)}</td><td class="num">${num(a.churn_risk)}</td>
        <td class="wrap">${esc(a.risk_reason ?? '')}</td><td>${esc(a.renewal_date ?? (a.monthly_terms ? 'monthly' : '—'))}${a.days_to_renewal !== null ? ` <span class="muted">(${a.days_to_renewal} d)</span>` : ''}</td>
        <td>${esc(a.csm_owner ?? '')}</td><td>${esc(a.am_owner ?? '')}</td></tr>`,
      )
      .join('')}</tbody></table></div>
    <div class="pager"><button id="prev" ${f.offset === 0 ? 'disabled' : ''}>← previous</button>
      <span class="muted">${res.total ? `${f.offset + 1}–${Math.min(f.offset + limit, res.total)} of ${res.total}` : 'none'}</span>
      <button id="next" ${f.offset + limit >= res.total ? 'disabled' : ''}>next →</button></div>`;
  bindControls();
  const q = document.getElementById('q');
  q.addEventListener('change', () => setParam('q', q.value));
  document.getElementById('prev').addEventListener('click', () => setParam('offset', Math.max(0, f.offset - limit)));
  document.getElementById('next').addEventListener('click', () => setParam('offset', f.offset + limit));
}

// ---------- Account ----------
async function account(id) {
  const d = await api(`/api/accounts/${encodeURIComponent(id)}`);
  const a = d.account;
  const s = d.scored;
  const ex = d.explanation;
  const name = ex.attributes.name ?? id;
  const reasons = (sc) =>
    sc.not_scored
      ? `<li class="muted" data-not-scored>not scored: ${esc(sc.not_scored)}</li>`
      : sc.reasons.length ? sc.reasons.map((r) => `<li>+${num(r.points)} ${esc(r.text)}</li>`).join('') : '<li class="muted">nothing points that way</li>';
  const scoreText = (sc, value) => (sc?.not_scored ? 'not scored' : num(value));
  $page.innerHTML = `
    <div class="muted"><a href="/accounts" data-link>← Accounts</a></div>
    <h1 data-account-name>${esc(name)} <span class="muted">${esc(id)}</span></h1>
    <div class="muted">${Object.entries(ex.attributes).filter(([k, v]) => k !== 'name' && v).map(([k, v]) => `${esc(k)} ${esc(v)}`).join(' · ')}</div>
    <div class="tiles spaced">
      <div class="tile"><div class="label">ARR on ${esc(d.as_of)}</div><div class="value" data-metric="account-arr">${a ? money(a.arr) : 'not a customer'}</div><div class="sub">${a ? esc(a.tier) : ''}</div></div>
      <div class="tile"><div class="label">Health</div><div class="value">${a ? (s?.health.not_scored ? 'not scored' : `${num(a.health)} ${pill(a.health_colour)}`) : '—'}</div><div class="sub">${s ? esc(s.health.not_scored ? `no score: ${s.health.not_scored}` : s.health.definition) : ''}</div></div>
      <div class="tile"><div class="label">Churn risk</div><div class="value" data-metric="account-risk">${a ? scoreText(s?.risk, a.churn_risk) : '—'}</div><div class="sub">${s ? esc(s.risk.not_scored ? `no score: ${s.risk.not_scored}` : s.risk.level) : ''}</div></div>
      <div class="tile"><div class="label">Renewal</div><div class="value small">${a ? esc(a.renewal_date ?? (a.monthly_terms ? 'monthly' : '—')) : '—'}</div><div class="sub">${a?.days_to_renewal != null ? `in ${a.days_to_renewal} days` : ''}</div></div>
    </div>
    <div class="card section"><h2>MRR history and movements</h2><div id="history" class="chart"></div></div>
    ${s ? `<div class="grid2 even">
      <div class="card"><h2>Health score: how it is made</h2><table><thead><tr><th>measure</th><th>group</th><th class="num">value</th><th>band</th><th class="num">points</th></tr></thead><tbody>${s.health.measures
        .map((m) => `<tr><td>${esc(m.measure)}</td><td>${esc(m.group)}</td><td class="num">${m.value === null ? 'missing' : num(m.value, 3)}</td><td>${esc(m.band)}</td><td class="num">${m.points === null ? '—' : `${num(m.points)} / ${m.weight}`}</td></tr>`)
        .join('')}</tbody></table></div>
      <div class="card"><h2>Churn risk ${scoreText(s.risk, s.risk.score)}</h2><ul>${reasons(s.risk)}</ul>${s.risk.note ? `<p class="muted">${esc(s.risk.note)}</p>` : ''}
        <h2>Expansion readiness ${scoreText(s.expansion, s.expansion.score)}</h2><ul>${reasons(s.expansion)}</ul></div>
    </div>` : ''}
    <div class="card section"><h2>Tasks</h2>${
      d.tasks.length
        ? `<table><thead><tr><th>#</th><th>play</th><th>status</th><th>owner</th><th>opened</th><th>due</th><th>outcome</th></tr></thead><tbody>${d.tasks
            .map((t) => `<tr><td>${t.task_id}</td><td>${esc(t.playbook)}</td><td>${esc(t.status)}</td><td>${esc(t.owner)}</td><td>${esc(t.opened_on)}</td><td>${esc(t.due_date)}</td><td>${esc(t.outcome ?? '')}</td></tr>`)
            .join('')}</tbody></table>`
        : '<p class="muted">No tasks.</p>'
    }</div>
    <div class="card section"><h2>Movements and the lines behind them</h2><table id="movements"><thead><tr><th>month</th><th>category</th><th>cause</th><th class="num">MRR before</th><th class="num">after</th><th class="num">change</th><th>lines</th></tr></thead><tbody>${ex.movements
      .map((m) => `<tr><td>${esc(m.month)}</td><td>${esc(m.category)}</td><td>${esc(m.cause)}</td><td class="num">${money(m.mrr_before)}</td><td class="num">${money(m.mrr_after)}</td><td class="num">${money(m.delta)}</td><td class="wrap">${esc((m.lines ?? []).map((l) => `${l.id} ${l.effect}`).join(', '))}</td></tr>`)
      .join('')}</tbody></table></div>
    <div class="card section"><h2>Source lines</h2><table><thead><tr><th>source</th><th>id</th><th class="num">file row</th><th>product</th><th>first month</th><th>last month</th><th class="num">MRR (own currency)</th><th class="num">MRR</th></tr></thead><tbody>${ex.lines
      .map((l) => `<tr><td>${esc(l.source)}</td><td>${esc(l.id)}</td><td class="num">${esc(l.row)}</td><td>${esc(l.product)}</td><td>${esc(l.first_month ?? '—')}</td><td>${esc(l.last_month ?? '—')}</td><td class="num">${esc(l.currency)} ${formatDecimal(l.mrr_local, 2)}</td><td class="num">${money(l.mrr)}</td></tr>`)
      .join('')}</tbody></table></div>`;
  const h = ex.history;
  chart(document.getElementById('history'), {
    tooltip: { trigger: 'axis', formatter: (ps) => `${ps[0].name}: ${money(h[ps[0].dataIndex].mrr)}` },
    grid: { left: 72, right: 16, top: 16, bottom: 32 },
    xAxis: { type: 'category', data: h.map((x) => x.month) },
    yAxis: { type: 'value', axisLabel: { formatter: axisMoney } },
    series: [
      {
        name: 'MRR', type: 'line', step: 'end', data: h.map((x) => plot(x.mrr)), areaStyle: { opacity: 0.08 },
        markPoint: { symbolSize: 36, data: ex.movements.map((m) => ({ coord: [m.month, plot(m.mrr_after)], value: m.category.slice(0, 3) })) },
      },
    ],
  });
}

// ---------- Playbooks ----------
async function playbooks() {
  const d = await api('/api/playbooks');
  const open = d.by_owner.reduce((s, o) => s + o.open, 0);
  $page.innerHTML = `
    <h1>Playbooks</h1>
    <div class="muted">Rules version ${esc(d.config_version)} · ${open} open tasks · state ${esc(d.state_file)}</div>
    <div class="card section spaced"><h2>Plays</h2><table id="plays"><thead><tr><th>play</th><th>trigger</th><th>task</th><th class="num">open</th><th class="num">done</th><th class="num">won</th><th class="num">exited</th></tr></thead><tbody>${d.playbooks
      .map((p) => {
        const o = d.outcomes.find((x) => x.playbook === p.name) ?? { done: 0, won: 0, exited: 0 };
        const openN = d.by_owner.reduce((s, x) => s + (x.by_playbook[p.name] ?? 0), 0);
        return `<tr><td><b>${esc(p.name)}</b><div class="muted wrap">${esc(p.description ?? '')}</div></td><td class="wrap"><code>${esc(p.when)}</code></td><td>${esc(p.task_type)}</td><td class="num" data-open="${esc(p.name)}">${openN}</td><td class="num">${o.done}</td><td class="num">${o.won}</td><td class="num">${o.exited}</td></tr>`;
      })
      .join('')}</tbody></table></div>
    <div class="grid2 even">
      <div class="card"><h2>Open tasks per owner</h2><div id="owners" class="chart tall"></div></div>
      <div class="card"><h2>Recent entries and exits</h2><div class="table-wrap short"><table><thead><tr><th>day</th><th>event</th><th>play</th><th>account</th></tr></thead><tbody>${d.recent_events
        .slice(0, 100)
        .map((e) => `<tr><td>${esc(e.on_date)}</td><td>${esc(e.kind)}</td><td>${esc(e.playbook)}</td><td><a href="/accounts/${encodeURIComponent(e.account_id)}" data-link>${esc(e.account_id)}</a></td></tr>`)
        .join('') || '<tr><td colspan="4" class="muted">No runs yet: nrr playbooks run</td></tr>'}</tbody></table></div></div>
    </div>
    <div class="card section"><h2>Backtest: how each play would have done over the last 12 month-ends</h2><div id="backtest" class="muted">Replaying month-ends…</div></div>`;
  const owners = d.by_owner.slice(0, 20).reverse();
  chart(document.getElementById('owners'), {
    tooltip: { trigger: 'axis' },
    legend: { bottom: 0, type: 'scroll' },
    grid: { left: 140, right: 16, top: 8, bottom: 40 },
    xAxis: { type: 'value' },
    yAxis: { type: 'category', data: owners.map((o) => o.owner) },
    series: d.playbooks.map((p) => ({ name: p.name, type: 'bar', stack: 'o', data: owners.map((o) => o.by_playbook[p.name] ?? 0) })),
  });
  const bt = await api('/api/playbooks/backtest');
  const el = document.getElementById('backtest');
  if (!el) return;
  el.className = '';
  el.innerHTML = `<p class="muted">${bt.snapshots} month-ends, ${esc(bt.from)} … ${esc(bt.to)}; outcomes within 90 days.</p><table id="backtest-table"><thead><tr><th>play</th><th>catches</th><th class="num">fires</th><th class="num">precision</th><th class="num">base rate</th><th class="num">lift (95 %)</th><th class="num">recall of ARR</th><th class="num">median lead</th><th>verdict</th></tr></thead><tbody>${bt.plays
    .map(
      (p) => `<tr><td>${esc(p.playbook)}</td><td>${p.target === 'loss' ? 'churn or contraction' : 'expansion'}</td><td class="num">${p.fires}</td><td class="num" data-precision="${esc(p.playbook)}">${pct(p.precision)} <span class="muted">(${p.hits} of ${p.fires_known})</span></td><td class="num">${pct(p.base_rate)}</td>
      <td class="num">${p.lift === null ? '—' : `${p.lift.toFixed(1)}×${p.lift_low !== null && p.lift_high !== null ? ` <span class="muted">(${p.lift_low.toFixed(1)}–${p.lift_high.toFixed(1)})</span>` : ''}`}</td><td class="num">${pct(p.recall_arr)}</td><td class="num">${p.median_lead_days ?? '—'} d</td><td class="wrap">${esc(p.verdict)}</td></tr>`,
    )
    .join('')}</tbody></table>`;
}

if (location.pathname === '/') history.replaceState(null, '', '/overview' + location.search);
route();
