// Book of business: per owner, accounts, ARR, ARR at risk, open and overdue tasks and renewals in
// the next 90 days, as of the chosen month (its last day; the server's day for the reporting
// month), and the churn and expansion of the chosen range of months, with the prior period of
// the same length beside it on request; an owner opens their accounts and tasks.
import { get, withQuery } from '../api-client.js';
import type { Book, BookRow } from '../api-types.js';
import { chart, chartCard } from '../charts.js';
import { filterBar, rangeControls, rangeFromUrl } from '../controls.js';
import { table } from '../data-table.js';
import { esc, pageRoot } from '../dom.js';
import { axisMoney, count, money, plot } from '../format.js';
import { addDecimals } from '../money-format.js';
import { addMonths, monthsBetween } from '../months.js';
import { currentSummary } from '../session.js';
import { filterText, filters, hrefWithFilters, params } from '../url-state.js';
import { atRiskMoney, scoresNotice, scoring } from '../scores-status.js';

/** The prior period: as many months, ending the month before `from`; null when it is all before the data. */
export function priorRange(from: string, to: string, firstMonth: string): { from: string; to: string } | null {
  const n = monthsBetween(from, to) + 1;
  const prior = { from: addMonths(from, -n), to: addMonths(from, -1) };
  return prior.to < firstMonth ? null : prior;
}

const sumOf = (rows: readonly BookRow[], k: 'arr' | 'arr_at_risk' | 'churned_mrr' | 'expansion_mrr'): string => addDecimals(rows.map((r) => r[k]));
const countOf = (rows: readonly BookRow[], k: 'accounts' | 'churned_accounts' | 'expanded_accounts'): number => rows.reduce((n, r) => n + r[k], 0);

export async function bookPage(): Promise<void> {
  const owner = params().get('owner') ?? undefined;
  const f = filters();
  const s = currentSummary();
  const range = rangeFromUrl(12);
  const prior = range.compare ? priorRange(range.from, range.to, s.first_month) : null;
  // The server keeps the accounts (and their tasks) that every attribute filter matches.
  const [res, before] = await Promise.all([
    get<Book>(withQuery('/api/book', { owner, from: range.from, to: range.to, ...f })),
    prior ? get<Book>(withQuery('/api/book', { owner, from: prior.from, to: prior.to, ...f })) : Promise.resolve(null),
  ]);
  const rows = res.rows;
  const priorOf = new Map((before?.rows ?? []).map((r) => [r.owner.toLowerCase(), r]));
  const total = sumOf(rows, 'arr');
  const risk = sumOf(rows, 'arr_at_risk');
  const shown = rows.slice(0, 25);
  const period = range.from === range.to ? range.to : `${range.from} to ${range.to}`;
  const priorTile = (value: string): string => (before ? `<div class="sub" data-prior>prior period ${value}</div>` : '');
  pageRoot().innerHTML = `
    <h1>Book of business</h1>
    <div class="muted">${Object.keys(f).length ? `Only accounts with ${esc(filterText())}. ` : ''}Each owner’s accounts, ARR and ARR at risk (${esc(res.at_risk_rule ?? 'the server’s rule')}) and renewals in the next 90 days as of <strong data-book-as-of>${esc(res.as_of)}</strong>; churned and expanded accounts (and their MRR) in <strong data-book-period>${esc(period)}</strong>${before ? ` beside the prior period, ${esc(before.from)} to ${esc(before.to)} (as of ${esc(before.as_of)})` : ''}; open and overdue tasks today. Owners are the accounts’ owners today. An owner opens their accounts.</div>
    ${range.compare && !prior ? `<div class="notice muted" data-no-prior>No prior period: the data starts in ${esc(s.first_month)}.</div>` : ''}
    ${scoresNotice(res.scores)}
    ${filterBar()}
    <div class="controls">${rangeControls(range)}</div>
    <div class="tiles">
      <div class="tile"><div class="label">Owners</div><div class="value">${count(rows.length)}</div></div>
      <div class="tile"><div class="label">ARR</div><div class="value" data-metric="book-arr">${money(total, true)}</div><div class="sub">${money(total)} · ${count(countOf(rows, 'accounts'))} accounts</div>${priorTile(before ? money(sumOf(before.rows, 'arr')) : '')}</div>
      <div class="tile"><div class="label">ARR at risk</div><div class="value" data-metric="book-arr-at-risk">${atRiskMoney(res.scores, risk, true)}</div><div class="sub">${atRiskMoney(res.scores, risk)}</div></div>
      <div class="tile"><div class="label">Churned MRR</div><div class="value" data-metric="book-churned-mrr">${money(sumOf(rows, 'churned_mrr'), true)}</div><div class="sub">${count(countOf(rows, 'churned_accounts'))} accounts in ${esc(period)}</div>${priorTile(before ? `${money(sumOf(before.rows, 'churned_mrr'))} (${count(countOf(before.rows, 'churned_accounts'))})` : '')}</div>
      <div class="tile"><div class="label">Expansion MRR</div><div class="value" data-metric="book-expansion-mrr">${money(sumOf(rows, 'expansion_mrr'), true)}</div><div class="sub">${count(countOf(rows, 'expanded_accounts'))} accounts in ${esc(period)}</div>${priorTile(before ? `${money(sumOf(before.rows, 'expansion_mrr'))} (${count(countOf(before.rows, 'expanded_accounts'))})` : '')}</div>
    </div>
    ${chartCard('book-chart', 'ARR and ARR at risk per owner', { note: shown.length < rows.length ? `The ${shown.length} largest books; the table has all ${rows.length}.` : undefined })}
    ${table({
      id: 'book', csvName: `book-of-business-${range.from}-${range.to}`, rows,
      rowHref: (r) => hrefWithFilters('/accounts', { owner: r.owner }),
      rowAttrs: (r) => ({ 'data-owner': r.owner }),
      columns: [
        { label: 'owner', html: (r) => `<a href="${esc(hrefWithFilters('/accounts', { owner: r.owner }))}" data-link>${esc(r.owner)}</a>`, csv: (r) => r.owner },
        { label: 'accounts', num: true, html: (r) => count(r.accounts), csv: (r) => r.accounts },
        { label: 'ARR', num: true, html: (r) => `<span data-arr>${money(r.arr)}</span>`, csv: (r) => r.arr },
        ...(before ? [{ label: 'ARR, prior', num: true, html: (r: BookRow) => `<span data-prior-arr>${money(priorOf.get(r.owner.toLowerCase())?.arr ?? '0')}</span>`, csv: (r: BookRow) => priorOf.get(r.owner.toLowerCase())?.arr ?? '0' }] : []),
        { label: 'ARR at risk', num: true, html: (r) => `${atRiskMoney(res.scores, r.arr_at_risk)}${r.at_risk_accounts ? ` <span class="muted">(${count(r.at_risk_accounts)})</span>` : ''}`, csv: (r) => (scoring(res.scores) ? '' : r.arr_at_risk) },
        { label: 'churned', num: true, html: (r) => `<span data-churned>${count(r.churned_accounts)}</span>`, csv: (r) => r.churned_accounts },
        { label: 'churned MRR', num: true, html: (r) => `<span data-churned-mrr>${money(r.churned_mrr)}</span>`, csv: (r) => r.churned_mrr },
        { label: 'expanded', num: true, html: (r) => `<span data-expanded>${count(r.expanded_accounts)}</span>`, csv: (r) => r.expanded_accounts },
        { label: 'expansion MRR', num: true, html: (r) => `<span data-expansion-mrr>${money(r.expansion_mrr)}</span>`, csv: (r) => r.expansion_mrr },
        ...(before
          ? [
              { label: 'churned, prior', num: true, html: (r: BookRow) => `<span data-prior-churned>${count(priorOf.get(r.owner.toLowerCase())?.churned_accounts ?? 0)}</span>`, csv: (r: BookRow) => priorOf.get(r.owner.toLowerCase())?.churned_accounts ?? 0 },
              { label: 'expanded, prior', num: true, html: (r: BookRow) => `<span data-prior-expanded>${count(priorOf.get(r.owner.toLowerCase())?.expanded_accounts ?? 0)}</span>`, csv: (r: BookRow) => priorOf.get(r.owner.toLowerCase())?.expanded_accounts ?? 0 },
            ]
          : []),
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
