// Accounts: every account with revenue on the day (the server's, or a past month's last day from
// the month picker, scored on that day) with ARR, health, churn risk and expansion readiness (each with
// its top reason), renewal and owners; filters from the URL; 50 a page; the CSV has every
// matching account with its owners. Churned accounts are listed through the churn movements.
import { get, withQuery } from '../api-client.js';
import type { AccountRow, AccountsPage, Page } from '../api-types.js';
import { filterBar, monthPicker, select } from '../controls.js';
import { table } from '../data-table.js';
import { byId, esc, pageRoot } from '../dom.js';
import { count, money, num } from '../format.js';
import { addMonths } from '../months.js';
import { currentSummary } from '../session.js';
import { filterText, filters, hrefWithFilters, params, setParams } from '../url-state.js';

const LIMIT = 50;
const SORTS = [
  ['risk', 'churn risk'],
  ['arr', 'ARR'],
  ['renewal', 'renewal'],
  ['health', 'health'],
  ['expansion', 'expansion readiness'],
] as const;

export const pill = (colour: string | null): string => (colour ? `<span class="pill ${esc(colour)}">${esc(colour)}</span>` : '—');

export async function accountsPage(): Promise<void> {
  const p = params();
  const s = currentSummary();
  const f = { q: p.get('q') ?? '', tier: p.get('tier') ?? '', health: p.get('health') ?? '', sort: SORTS.find(([k]) => k === p.get('sort'))?.[0] ?? 'risk' };
  const offset = Math.max(0, Number(p.get('offset') ?? 0) || 0);
  // The reporting month is the server's day (left out of the query); an earlier month its last day.
  const month = p.get('month') && p.get('month')! < s.as_of_month && p.get('month')! >= s.first_month ? p.get('month')! : undefined;
  const query = { ...f, month, ...filters() };
  const res = await get<AccountsPage>(withQuery('/api/accounts', { ...query, limit: LIMIT, offset }));
  const to = month ?? s.as_of_month;
  const churned = hrefWithFilters('/movements', { category: 'churn', from: addMonths(to, -11), month: to });
  pageRoot().innerHTML = `
    <h1>Accounts</h1>
    <div class="muted"><span data-accounts-total>${count(res.total)}</span> ${month ? 'accounts with revenue' : 'current accounts'}${Object.keys(filters()).length ? ` with ${esc(filterText())}` : ''} on <strong data-accounts-as-of>${esc(res.as_of)}</strong>${month ? ' (the last day of the month picked, scored on that day)' : ''}: churn risk and expansion readiness 0–100 with their top reason. <a href="${esc(churned)}" data-link>Accounts that churned in the 12 months to ${esc(to)} →</a></div>
    ${filterBar()}
    <div class="controls">
      ${monthPicker('month', to, 'As of (month)')}
      <label>Search <input id="q" type="search" value="${esc(f.q)}" placeholder="id, name or owner" /></label>
      ${select('tier', [['', 'all'], ['1', 'Tier 1'], ['2', 'Tier 2'], ['3', 'Tier 3']], f.tier, 'Tier')}
      ${select('health', [['', 'all'], ['red', 'red'], ['yellow', 'yellow'], ['green', 'green']], f.health, 'Health')}
      ${select('sort', SORTS, f.sort, 'Sort by')}
    </div>
    ${table({
      id: 'accounts',
      csvName: 'accounts',
      rows: res.rows,
      // The CSV holds every matching account (not only this page), with its owners.
      csvRows: async () => (await get<Page<AccountRow>>(withQuery('/api/accounts', { ...query, limit: 100000, offset: 0 }))).rows,
      rowHref: (a) => `/accounts/${encodeURIComponent(a.account_id)}`,
      rowAttrs: (a) => ({ 'data-account': a.account_id }),
      columns: [
        { label: 'account', html: (a) => `<a href="/accounts/${encodeURIComponent(a.account_id)}" data-link>${esc(a.name ?? a.account_id)}</a> <span class="muted">${esc(a.account_id)}</span>`, csv: (a) => a.account_id },
        { label: 'name', hidden: true, html: () => '', csv: (a) => a.name },
        { label: 'tier', html: (a) => esc(a.tier), csv: (a) => a.tier },
        { label: 'ARR', num: true, html: (a) => `<span data-arr>${money(a.arr)}</span>`, csv: (a) => a.arr },
        { label: 'health', html: (a) => `${pill(a.health_colour)} ${num(a.health)}`, csv: (a) => a.health },
        { label: 'risk', num: true, html: (a) => num(a.churn_risk), csv: (a) => a.churn_risk },
        { label: 'top risk reason', wrap: true, html: (a) => esc(a.risk_reason ?? ''), csv: (a) => a.risk_reason },
        { label: 'readiness', num: true, html: (a) => `<span data-readiness>${num(a.expansion_readiness)}</span>`, csv: (a) => a.expansion_readiness },
        { label: 'top expansion reason', wrap: true, html: (a) => esc(a.expansion_reason ?? ''), csv: (a) => a.expansion_reason ?? '' },
        { label: 'renewal', html: (a) => `${esc(a.renewal_date ?? (a.monthly_terms ? 'monthly' : '—'))}${a.days_to_renewal !== null ? ` <span class="muted">(${a.days_to_renewal} d)</span>` : ''}`, csv: (a) => a.renewal_date },
        { label: 'CSM', html: (a) => esc(a.csm_owner ?? ''), csv: (a) => a.csm_owner },
        { label: 'AM', html: (a) => esc(a.am_owner ?? ''), csv: (a) => a.am_owner },
      ],
    })}
    <div class="pager"><button type="button" id="prev"${offset === 0 ? ' disabled' : ''}>← previous</button>
      <span class="muted">${res.total ? `${offset + 1}–${Math.min(offset + LIMIT, res.total)} of ${count(res.total)}` : 'none'}</span>
      <button type="button" id="next"${offset + LIMIT >= res.total ? ' disabled' : ''}>next →</button></div>`;
  const q = byId<HTMLInputElement>('q');
  q.addEventListener('change', () => setParams({ q: q.value }));
  byId('prev').addEventListener('click', () => setParams({ offset: Math.max(0, offset - LIMIT) }));
  byId('next').addEventListener('click', () => setParams({ offset: offset + LIMIT }));
}
