// A cohort's accounts (the drill-down of a cohort cell or row): GET /api/cohorts/:cohort/accounts.
import { get, withQuery } from '../api-client.js';
import { table } from '../data-table.js';
import { esc, pageRoot } from '../dom.js';
import { count, money } from '../format.js';
import { attributeColumns } from '../generic-rows.js';
import { addDecimals } from '../money-format.js';
import { filterText, filters, hrefWithFilters, params } from '../url-state.js';

type Row = Record<string, unknown> & { account_id: string };

export async function cohortAccountsPage(cohort: string): Promise<void> {
  const granularity = params().get('granularity') ?? undefined;
  // The cohort's name says its granularity (2025-03, 2025-Q1, 2025): the API needs no other.
  const res = await get<Row[] | { rows: Row[]; total?: number }>(withQuery(`/api/cohorts/${encodeURIComponent(cohort)}/accounts`, filters()));
  const rows = Array.isArray(res) ? res : res.rows;
  const all = Array.isArray(res) ? rows.length : (res.total ?? rows.length);
  const mrrKey = ['mrr', 'current_mrr', 'ending_mrr'].find((k) => rows.some((r) => typeof r[k] === 'string'));
  const total = mrrKey ? addDecimals(rows.map((r) => (typeof r[mrrKey] === 'string' ? (r[mrrKey] as string) : '0'))) : null;
  pageRoot().innerHTML = `
    <div class="muted"><a href="${esc(hrefWithFilters('/cohorts', { granularity }))}" data-link>← Cohorts</a></div>
    <h1>Cohort ${esc(cohort)}</h1>
    <div class="muted">The accounts whose first revenue was in ${esc(cohort)}${Object.keys(filters()).length ? `, only ${esc(filterText())}` : ''}.</div>
    <div class="tiles">
      <div class="tile"><div class="label">Accounts</div><div class="value" data-metric="cohort-accounts">${count(all)}</div>${all > rows.length ? `<div class="sub">the ${count(rows.length)} largest at the start are listed</div>` : ''}</div>
      ${total !== null && all === rows.length ? `<div class="tile"><div class="label">${esc(mrrKey!.replace(/_/g, ' '))} now</div><div class="value">${money(total)}</div></div>` : ''}
    </div>
    ${table({
      id: 'cohort-accounts',
      csvName: `cohort-${cohort}-accounts`,
      rows,
      // The CSV holds every account of the cohort, not only those listed.
      csvRows: async () => {
        const every = await get<Row[] | { rows: Row[] }>(withQuery(`/api/cohorts/${encodeURIComponent(cohort)}/accounts`, { ...filters(), limit: 100000 }));
        return Array.isArray(every) ? every : every.rows;
      },
      rowHref: (r) => `/accounts/${encodeURIComponent(r.account_id)}`,
      rowAttrs: (r) => ({ 'data-account': r.account_id }),
      columns: [
        { label: 'account', html: (r) => `<a href="/accounts/${encodeURIComponent(r.account_id)}" data-link>${esc(r.account_id)}</a>`, csv: (r) => r.account_id },
        ...(attributeColumns(rows, ['account_id']) as never[]),
      ],
    })}`;
}
