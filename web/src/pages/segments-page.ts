// Segments: NRR, GRR and logo retention by a categorical attribute (only those /api/attributes
// offers, plus ACV band, product and cohort: never a column with hundreds of values); a row
// opens its accounts.
import { get, withQuery } from '../api-client.js';
import type { Metrics } from '../api-types.js';
import { chart, chartCard } from '../charts.js';
import { filterBar, monthPicker, select } from '../controls.js';
import { table } from '../data-table.js';
import { esc, pageRoot } from '../dom.js';
import { count, money, pct } from '../format.js';
import { compareDecimal } from '../money-format.js';
import { addMonths } from '../months.js';
import { currentAttributes, currentSummary } from '../session.js';
import { filterText, filters, hrefWithFilters, navigate, params } from '../url-state.js';
import { flags } from './metric-flags.js';

const DERIVED = ['acv_band', 'product', 'cohort_year', 'cohort_quarter'];
const WINDOWS = [
  [12, 'trailing 12 months'],
  [3, 'quarter'],
  [1, 'month'],
] as const;

type Key = 'group' | 'starting_accounts' | 'starting_mrr' | 'nrr' | 'grr' | 'logo_retention' | 'expansion' | 'churn' | 'largest_account_share';

export async function segmentsPage(): Promise<void> {
  const s = currentSummary();
  const p = params();
  // Group by categorical attributes only: a bucketed date or number filters, but `by` would group its raw values.
  const attrs = currentAttributes().filter((a) => a.kind === 'categorical').map((a) => a.name);
  const groups = [...DERIVED.filter((g) => s.group_by.includes(g)), ...attrs.filter((a) => s.group_by.includes(a))];
  const by = groups.includes(p.get('by') ?? '') ? p.get('by')! : groups.includes('segment') ? 'segment' : groups[0] ?? 'acv_band';
  const window = [12, 3, 1].includes(Number(p.get('window'))) ? Number(p.get('window')) : 12;
  const month = p.get('month') ?? s.as_of_month;
  const sort = (p.get('sort') ?? 'starting_mrr') as Key;
  const dir = p.get('dir') === 'asc' ? 'asc' : 'desc';
  const compare = p.get('compare') === '1';
  // The prior period: the same window ending `window` months earlier (when the data reaches back that far).
  const priorMonth = addMonths(month, -window);
  const hasPrior = compare && priorMonth >= s.first_month;
  const [rows, prior] = await Promise.all([
    get<Metrics[]>(withQuery('/api/metrics', { month, window, by, ...filters() })),
    hasPrior ? get<Metrics[]>(withQuery('/api/metrics', { month: priorMonth, window, by, ...filters() })) : Promise.resolve([] as Metrics[]),
  ]);
  const priorOf = new Map(prior.map((r) => [r.group, r]));
  const delta = (r: Metrics): number | null => {
    const q = priorOf.get(r.group);
    return r.nrr === null || !q || q.nrr === null ? null : r.nrr - q.nrr;
  };
  const value = (r: Metrics, k: Key): unknown => (k === 'group' ? r.group : r[k]);
  const cmp = (a: unknown, b: unknown): number =>
    a === b ? 0 : a === null || a === undefined ? -1 : b === null || b === undefined ? 1 : typeof a === 'number' ? Math.sign(a - (b as number)) : sort === 'group' ? String(a).localeCompare(String(b)) : compareDecimal(String(a), String(b));
  const sorted = [...rows].sort((a, b) => cmp(value(a, sort), value(b, sort)) * (dir === 'asc' ? 1 : -1));
  const isAttribute = attrs.includes(by);
  pageRoot().innerHTML = `
    <h1>Segments</h1>
    <div class="muted">NRR, GRR and logo retention by ${esc(by)}, ${window === 12 ? 'trailing twelve months' : `${window}-month window`} ending ${esc(month)}${Object.keys(filters()).length ? `, only ${esc(filterText())}` : ''}. ${isAttribute ? 'A row opens its accounts.' : ''}</div>
    ${filterBar()}
    <div class="controls">${select('by', groups.map((g) => [g, g]), by, 'Group by')}${select('window', WINDOWS, window, 'Window')}${monthPicker('month', month)}
      <label><input type="checkbox" data-param="compare" data-checked-value="1"${compare ? ' checked' : ''} /> compare with the prior period${compare ? ` (${esc(priorMonth)}${hasPrior ? '' : ': before the data'})` : ''}</label></div>
    ${chartCard('seg-chart', `NRR and GRR by ${by}`, { note: 'Bars start at 0 %; the dashed line is 100 %.' })}
    ${table({
      id: 'segments',
      csvName: `segments-${by}-${month}-${window}m`,
      rows: sorted,
      sorted: { key: sort, dir },
      rowHref: (r) => (isAttribute && r.group !== undefined ? hrefWithFilters('/accounts', { [by]: r.group }) : null),
      columns: [
        { label: by, sort: 'group', html: (r) => `${isAttribute ? `<a href="${esc(hrefWithFilters('/accounts', { [by]: r.group }))}" data-link>${esc(r.group)}</a>` : esc(r.group)} ${flags(r)}`, csv: (r) => r.group },
        { label: 'accounts', sort: 'starting_accounts', num: true, html: (r) => count(r.starting_accounts), csv: (r) => r.starting_accounts },
        { label: 'starting MRR', sort: 'starting_mrr', num: true, html: (r) => money(r.starting_mrr), csv: (r) => r.starting_mrr },
        { label: 'NRR', sort: 'nrr', num: true, html: (r) => `<span data-nrr>${pct(r.nrr)}</span>`, csv: (r) => r.nrr },
        ...(hasPrior
          ? [
              { label: `NRR ${priorMonth}`, num: true, html: (r: Metrics) => `<span data-prior-nrr>${pct(priorOf.get(r.group)?.nrr)}</span>`, csv: (r: Metrics) => priorOf.get(r.group)?.nrr ?? '' },
              { label: 'change (points)', num: true, html: (r: Metrics) => { const d = delta(r); return d === null ? '—' : `${d >= 0 ? '+' : ''}${(d * 100).toFixed(1)}`; }, csv: (r: Metrics) => delta(r) ?? '' },
            ]
          : []),
        { label: 'GRR', sort: 'grr', num: true, html: (r) => pct(r.grr), csv: (r) => r.grr },
        { label: 'logo retention', sort: 'logo_retention', num: true, html: (r) => `${pct(r.logo_retention)} <span class="muted">(${count(r.retained_accounts)})</span>`, csv: (r) => r.logo_retention },
        { label: 'expansion', sort: 'expansion', num: true, html: (r) => money(r.expansion), csv: (r) => r.expansion },
        { label: 'churn', sort: 'churn', num: true, html: (r) => money(r.churn), csv: (r) => r.churn },
        { label: 'largest account', sort: 'largest_account_share', num: true, html: (r) => pct(r.largest_account_share), csv: (r) => r.largest_account_share },
        { label: 'lines never ended?', num: true, html: (r) => (r.overlap_lines ? `<span class="warn-text">${r.overlap_lines}</span>` : '0'), csv: (r) => r.overlap_lines ?? 0 },
      ],
    })}`;
  const shown = sorted.filter((r) => r.nrr !== null).slice(0, 30);
  const c = chart('seg-chart', {
    tooltip: { trigger: 'axis', valueFormatter: ((v: number | null) => (v === null || v === undefined ? '—' : `${Number(v).toFixed(1)}%`)) as never },
    legend: { bottom: 0 },
    grid: { left: 48, right: 16, top: 16, bottom: shown.length > 8 ? 96 : 56, containLabel: false },
    xAxis: { type: 'category', data: shown.map((r) => r.group ?? ''), axisLabel: { interval: 0, rotate: shown.length > 8 ? 30 : 0 } },
    yAxis: { type: 'value', min: 0, axisLabel: { formatter: '{value}%' } },
    series: [
      { name: 'NRR', type: 'bar', data: shown.map((r) => +(r.nrr! * 100).toFixed(2)), itemStyle: { color: '#2f5bea' }, markLine: { silent: true, symbol: 'none', data: [{ yAxis: 100 }], lineStyle: { type: 'dashed', color: '#667085' }, label: { show: false } } },
      { name: 'GRR', type: 'bar', data: shown.map((r) => (r.grr === null ? null : +(r.grr * 100).toFixed(2))), itemStyle: { color: '#98a2b3' } },
    ],
  }, `segments-${by}`);
  if (isAttribute) c.on('click', (e: { dataIndex?: number }) => {
    const r = shown[e.dataIndex ?? -1];
    if (r?.group !== undefined) navigate(hrefWithFilters('/accounts', { [by]: r.group }));
  });
}
