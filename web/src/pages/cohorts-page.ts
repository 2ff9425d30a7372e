// Cohorts: revenue retention of each cohort of first revenue, as a heatmap whose height grows
// with its rows (readable at monthly cohorts) and a table; a cell or row opens the cohort's accounts.
import { get, withQuery } from '../api-client.js';
import type { CohortRow } from '../api-types.js';
import { chart, chartCard } from '../charts.js';
import { allMonths, filterBar, monthPicker, select } from '../controls.js';
import { currentSummary } from '../session.js';
import { table } from '../data-table.js';
import { byId, esc, pageRoot } from '../dom.js';
import { count, money, pct } from '../format.js';
import { filterText, filters, hrefWithFilters, navigate, params } from '../url-state.js';
import { flags } from './metric-flags.js';

const GRANULARITIES = ['month', 'quarter', 'year'] as const;

export async function cohortsPage(): Promise<void> {
  const p = params();
  const granularity = GRANULARITIES.find((g) => g === p.get('granularity')) ?? 'quarter';
  const month = allMonths().includes(p.get('month') ?? '') ? p.get('month')! : currentSummary().as_of_month;
  const { rows } = await get<{ rows: CohortRow[] }>(withQuery('/api/cohorts', { granularity, month, ...filters() }));
  const width = Math.max(0, ...rows.map((r) => r.retention.length));
  const href = (r: CohortRow) => hrefWithFilters(`/cohorts/${encodeURIComponent(r.cohort)}`, { granularity });
  pageRoot().innerHTML = `
    <h1>Cohorts</h1>
    <div class="muted">Revenue retention of each cohort of first revenue up to ${esc(month)}, by ${esc(granularity)}s since (100 % = its MRR at the end of its first ${esc(granularity)})${Object.keys(filters()).length ? `; only ${esc(filterText())}` : ''}. A cell or row opens the cohort’s accounts.</div>
    ${filterBar()}
    <div class="controls">${select('granularity', GRANULARITIES.map((g) => [g, g]), granularity, 'Cohort by')}${monthPicker('month', month, 'As of month')}</div>
    ${chartCard('heatmap', `Revenue retention by ${granularity} cohort`)}
    ${table({
      id: 'cohorts',
      csvName: `cohorts-${granularity}-${month}`,
      rows,
      rowHref: href,
      columns: [
        { label: 'cohort', html: (r) => `<a href="${esc(href(r))}" data-link>${esc(r.cohort)}</a> ${flags({ small_group: r.small_group })}`, csv: (r) => r.cohort },
        { label: 'accounts', num: true, html: (r) => count(r.accounts), csv: (r) => r.accounts },
        { label: 'starting MRR', num: true, html: (r) => money(r.starting_mrr), csv: (r) => r.starting_mrr },
        ...Array.from({ length: width }, (_, k) => ({
          label: `+${k}`, num: true,
          html: (r: CohortRow) => (r.retention[k] === undefined ? '' : pct(r.retention[k])),
          csv: (r: CohortRow) => (r.retention[k] === undefined ? '' : r.retention[k]),
        })),
      ],
    })}`;
  // The heatmap grows with its rows (22 px each) instead of squeezing them: monthly cohorts stay readable.
  const el = byId('heatmap');
  el.dataset['cohorts'] = String(rows.length);
  el.style.height = `${Math.max(260, rows.length * 22 + 110)}px`;
  const data: [number, number, number][] = [];
  rows.forEach((r, y) => r.retention.forEach((v, x) => v !== null && data.push([x, y, +(v * 100).toFixed(1)])));
  const c = chart('heatmap', {
    tooltip: { formatter: ((e: { value: [number, number, number] }) => `${rows[e.value[1]]!.cohort}, +${e.value[0]} ${granularity}s: ${e.value[2]}% (${rows[e.value[1]]!.accounts} accounts)`) as never },
    grid: { left: 80, right: 24, top: 8, bottom: 72 },
    xAxis: { type: 'category', data: Array.from({ length: width }, (_, k) => `+${k}`), splitArea: { show: true }, position: 'top' },
    yAxis: { type: 'category', data: rows.map((r) => r.cohort), inverse: true, axisLabel: { interval: 0 } },
    visualMap: { min: 50, max: 150, calculable: true, orient: 'horizontal', left: 'center', bottom: 0, text: ['150 %', '50 %'], inRange: { color: ['#c0262d', '#fff4e0', '#e7f6ee', '#12805c'] } },
    series: [{ type: 'heatmap', data, label: { show: width <= 24, fontSize: width > 16 ? 9 : 11, formatter: ((e: { value: [number, number, number] }) => String(Math.round(e.value[2]))) as never }, cursor: 'pointer' }],
  }, `cohorts-${granularity}`);
  c.on('click', (e: { value?: unknown }) => {
    const v = e.value as [number, number, number] | undefined;
    const r = v ? rows[v[1]] : undefined;
    if (r) navigate(href(r));
  });
}
