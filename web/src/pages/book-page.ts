// Book of business: per owner, accounts, ARR, ARR at risk, open and overdue tasks and renewals in
// the next 90 days; an owner opens their accounts and tasks.
import { get, withQuery } from '../api-client.js';
import type { BookRow, ScoresStatus } from '../api-types.js';
import { chart, chartCard } from '../charts.js';
import { filterBar } from '../controls.js';
import { table } from '../data-table.js';
import { esc, pageRoot } from '../dom.js';
import { axisMoney, count, money, plot } from '../format.js';
import { addDecimals } from '../money-format.js';
import { filterText, filters, hrefWithFilters, params } from '../url-state.js';
import { atRiskMoney, scoresNotice, scoring } from '../scores-status.js';

export async function bookPage(): Promise<void> {
  const owner = params().get('owner') ?? undefined;
  const f = filters();
  // The server keeps the accounts (and their tasks) that every attribute filter matches.
  const res = await get<{ rows: BookRow[]; at_risk_rule?: string; scores?: ScoresStatus }>(withQuery('/api/book', { owner, ...f }));
  const rows = res.rows;
  const total = addDecimals(rows.map((r) => r.arr));
  const risk = addDecimals(rows.map((r) => r.arr_at_risk));
  const shown = rows.slice(0, 25);
  pageRoot().innerHTML = `
    <h1>Book of business</h1>
    <div class="muted">${Object.keys(f).length ? `Only accounts with ${esc(filterText())}. ` : ''}Each owner’s accounts, ARR and ARR at risk (${esc(res.at_risk_rule ?? 'the server’s rule')}), open and overdue tasks, and renewals in the next 90 days. An owner opens their accounts.</div>
    ${scoresNotice(res.scores)}
    ${filterBar()}
    <div class="tiles">
      <div class="tile"><div class="label">Owners</div><div class="value">${count(rows.length)}</div></div>
      <div class="tile"><div class="label">ARR</div><div class="value" data-metric="book-arr">${money(total, true)}</div><div class="sub">${money(total)}</div></div>
      <div class="tile"><div class="label">ARR at risk</div><div class="value" data-metric="book-arr-at-risk">${atRiskMoney(res.scores, risk, true)}</div><div class="sub">${atRiskMoney(res.scores, risk)}</div></div>
    </div>
    ${chartCard('book-chart', 'ARR and ARR at risk per owner', { note: shown.length < rows.length ? `The ${shown.length} largest books; the table has all ${rows.length}.` : undefined })}
    ${table({
      id: 'book', csvName: 'book-of-business', rows,
      rowHref: (r) => hrefWithFilters('/accounts', { owner: r.owner }),
      rowAttrs: (r) => ({ 'data-owner': r.owner }),
      columns: [
        { label: 'owner', html: (r) => `<a href="${esc(hrefWithFilters('/accounts', { owner: r.owner }))}" data-link>${esc(r.owner)}</a>`, csv: (r) => r.owner },
        { label: 'accounts', num: true, html: (r) => count(r.accounts), csv: (r) => r.accounts },
        { label: 'ARR', num: true, html: (r) => `<span data-arr>${money(r.arr)}</span>`, csv: (r) => r.arr },
        { label: 'ARR at risk', num: true, html: (r) => `${atRiskMoney(res.scores, r.arr_at_risk)}${r.at_risk_accounts ? ` <span class="muted">(${count(r.at_risk_accounts)})</span>` : ''}`, csv: (r) => (scoring(res.scores) ? '' : r.arr_at_risk) },
        { label: 'open tasks', num: true, html: (r) => `<a href="${esc(hrefWithFilters('/tasks', { view: 'all', owner: r.owner }))}" data-link>${count(r.open_tasks)}</a>`, csv: (r) => r.open_tasks },
        { label: 'overdue', num: true, html: (r) => (r.overdue_tasks ? `<a class="warn-text" href="${esc(hrefWithFilters('/tasks', { view: 'overdue', owner: r.owner }))}" data-link>${count(r.overdue_tasks)}</a>` : '0'), csv: (r) => r.overdue_tasks },
        { label: 'renewals (90 d)', num: true, html: (r) => count(r.renewals_90d), csv: (r) => r.renewals_90d },
        ...(rows.some((r) => r.renewals_90d_arr !== undefined) ? [{ label: 'renewing ARR (90 d)', num: true, html: (r: BookRow) => money(r.renewals_90d_arr), csv: (r: BookRow) => r.renewals_90d_arr ?? '' }] : []),
      ],
    })}`;
  const owners = [...shown].reverse();
  const el = document.getElementById('book-chart');
  if (el) el.style.height = `${Math.max(240, owners.length * 26 + 80)}px`;
  chart('book-chart', {
    tooltip: { trigger: 'axis', formatter: ((ps: { dataIndex: number }[]) => {
      const r = owners[ps[0]!.dataIndex]!;
      return `${r.owner}\nARR ${money(r.arr)}\nat risk ${money(r.arr_at_risk)}\n${r.accounts} accounts`;
    }) as never },
    legend: { bottom: 0 },
    grid: { left: 140, right: 24, top: 8, bottom: 48 },
    xAxis: { type: 'value', min: 0, axisLabel: { formatter: axisMoney } },
    yAxis: { type: 'category', data: owners.map((r) => r.owner) },
    series: [
      { name: 'at risk', type: 'bar', stack: 'arr', data: owners.map((r) => plot(r.arr_at_risk)), itemStyle: { color: '#c0262d' } },
      { name: 'rest', type: 'bar', stack: 'arr', data: owners.map((r) => plot(r.arr) - plot(r.arr_at_risk)), itemStyle: { color: '#2f5bea' } },
    ],
  }, 'book-of-business');
}
