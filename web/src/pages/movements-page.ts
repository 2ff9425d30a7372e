// Movements: who joined, expanded, reactivated, contracted or churned in a month or a range, with
// amounts (the drill-down of every bar and bridge cell). The total is the bar's amount. The
// range's totals per category, beside the prior period's with ?compare=1.
import { get, withQuery } from '../api-client.js';
import { MOVEMENT_KEYS, type MovementRow, type MovementsAnswer } from '../api-types.js';
import { allMonths, filterBar, rangeControls, select } from '../controls.js';
import { FIRST_ROWS, table } from '../data-table.js';
import { esc, pageRoot } from '../dom.js';
import { count, money } from '../format.js';
import { attributeColumns } from '../generic-rows.js';
import { movementTotalsTable } from '../movement-totals.js';
import { currentSummary } from '../session.js';
import { filterText, filters, hrefWithFilters, params } from '../url-state.js';

const WORDS: Record<string, string> = { new: 'joined', expansion: 'expanded', reactivation: 'came back', contraction: 'contracted', churn: 'churned' };

/** The amount of a movement row (the contract names it `amount`; older servers `delta`). */
export function amountOf(r: MovementRow): string {
  return (r.amount ?? r.delta ?? '0') as string;
}

export async function movementsPage(): Promise<void> {
  const p = params();
  const months = allMonths();
  const to = months.includes(p.get('month') ?? '') ? p.get('month')! : currentSummary().as_of_month;
  const from = months.includes(p.get('from') ?? '') && p.get('from')! <= to ? p.get('from')! : to;
  const category = MOVEMENT_KEYS.find((k) => k === p.get('category'));
  const compare = p.get('compare') === '1';
  const res = await get<MovementsAnswer>(withQuery('/api/movements', { from, to, category, limit: 100000, compare: compare ? '1' : undefined, ...filters() }));
  const rows = res.rows;
  // The server's totals: every movement of the period, also when the list is cut at the limit.
  const shown = category ? res.totals[category] : res.totals.net_new;
  const prior = res.prior ?? null;
  const period = from === to ? to : `${from}…${to}`;
  const priorNote = !compare
    ? ''
    : prior === null
      ? `<div class="notice muted" data-no-prior>No prior period: the data starts in ${esc(currentSummary().first_month)}.</div>`
      : prior.starts_before_data
        ? `<div class="notice muted" data-prior-partial>The prior period ${esc(prior.from)}…${esc(prior.to)} begins before the data (${esc(currentSummary().first_month)}): it has fewer months of movements.</div>`
        : '';
  const what = category ? `Accounts that ${WORDS[category]}` : 'Every movement';
  const skip = ['account_id', 'month', 'category', 'amount', 'delta', 'mrr_before', 'mrr_after'];
  pageRoot().innerHTML = `
    <div class="muted"><a href="${esc(hrefWithFilters('/overview', { month: to }))}" data-link>← Overview</a></div>
    <h1>${esc(what)} in ${esc(period)}</h1>
    <div class="muted">${Object.keys(filters()).length ? `Only ${esc(filterText())}. ` : ''}An account opens its lines and the file rows behind each movement.</div>
    ${filterBar()}
    <div class="controls">
      ${select('category', [['', 'all categories'], ...MOVEMENT_KEYS.map((k) => [k, `${k} (${WORDS[k]})`] as const)], category ?? '', 'Category')}
      ${rangeControls({ from, to, compare })}
    </div>
    ${priorNote}
    <div class="tiles">
      <div class="tile"><div class="label">Accounts</div><div class="value" data-metric="movement-accounts">${count(shown.accounts)}</div><div class="sub">${count(rows.length)} movements${res.total > rows.length ? ` of ${count(res.total)} (first ${count(rows.length)} shown)` : ''}</div>${prior ? `<div class="sub" data-prior>prior period ${count((category ? prior.totals[category] : prior.totals.net_new).accounts)}</div>` : ''}</div>
      <div class="tile"><div class="label">Total MRR change</div><div class="value" data-metric="movement-total">${money(shown.amount)}</div><div class="sub">sum of the amounts below (contraction and churn are losses)</div>${prior ? `<div class="sub" data-prior>prior period ${money((category ? prior.totals[category] : prior.totals.net_new).amount)}</div>` : ''}</div>
    </div>
    <h2>By category${prior ? `, beside ${esc(prior.from)}…${esc(prior.to)}` : ''}</h2>
    ${movementTotalsTable(res.totals, prior, `movement-totals-${period.replace('…', '-')}`)}
    <h2>The movements, largest first in each month</h2>
    ${table({
      shown: FIRST_ROWS,
      id: 'movements-list',
      csvName: `movements-${category ?? 'all'}-${period.replace('…', '-')}`,
      rows,
      empty: 'No movements of this kind in this period.',
      rowHref: (r) => `/accounts/${encodeURIComponent(r.account_id)}?month=${r.month}`,
      rowAttrs: (r) => ({ 'data-account': r.account_id, 'data-amount': amountOf(r) }),
      columns: [
        { label: 'account', html: (r) => `<a href="/accounts/${encodeURIComponent(r.account_id)}?month=${esc(r.month)}" data-link>${esc(r.account_id)}</a>`, csv: (r) => r.account_id },
        { label: 'rows', html: (r) => `<button type="button" class="small-button" data-explain="${esc(r.account_id)}" data-month="${esc(r.month)}" aria-expanded="false">lines</button>` },
        { label: 'month', html: (r) => esc(r.month), csv: (r) => r.month },
        { label: 'category', html: (r) => esc(r.category), csv: (r) => r.category },
        { label: 'amount', num: true, html: (r) => money(amountOf(r)), csv: (r) => amountOf(r) },
        { label: 'MRR before', num: true, html: (r) => money(r.mrr_before), csv: (r) => r.mrr_before },
        { label: 'MRR after', num: true, html: (r) => money(r.mrr_after), csv: (r) => r.mrr_after },
        ...(attributeColumns(rows as unknown as Record<string, unknown>[], skip) as never[]),
      ],
    })}`;
  bindExplain();
}

interface Explained {
  readonly movements: readonly { category: string; lines?: readonly { id: string; effect: string; product?: string; mrr?: string }[] }[];
  readonly lines: readonly { id: string; source: string; file?: string; row: number; product: string; mrr: string }[];
}

/** "lines" under a movement: the contract lines that started or ended, with their file and row (GET /api/explain). */
function bindExplain(): void {
  pageRoot().querySelectorAll<HTMLButtonElement>('button[data-explain]').forEach((b) =>
    b.addEventListener('click', async () => {
      const tr = b.closest('tr')!;
      const next = tr.nextElementSibling;
      if (next?.classList.contains('explain-row')) {
        next.remove();
        b.setAttribute('aria-expanded', 'false');
        return;
      }
      const row = document.createElement('tr');
      row.className = 'explain-row';
      row.innerHTML = `<td colspan="${tr.children.length}" class="muted">Reading the lines…</td>`;
      tr.after(row);
      b.setAttribute('aria-expanded', 'true');
      try {
        const e = await get<Explained>(withQuery('/api/explain', { account: b.dataset['explain'], month: b.dataset['month'] }));
        const byId = new Map(e.lines.map((l) => [l.id, l]));
        const items = e.movements.flatMap((m) => (m.lines ?? []).map((l) => ({ ...l, m, src: byId.get(l.id) })));
        row.innerHTML = `<td colspan="${tr.children.length}"><ul class="explain">${
          items.length
            ? items.map((l) => `<li data-line="${esc(l.id)}">${esc(l.id)} ${esc(l.effect)} · ${esc(l.product ?? l.src?.product ?? '')} · ${money(l.mrr ?? l.src?.mrr ?? '0')} · <b>${esc(l.src?.file ?? l.src?.source ?? '')} row ${esc(l.src?.row ?? '?')}</b></li>`).join('')
            : '<li class="muted">No contract line changed: usage charges moved this month.</li>'
        }</ul></td>`;
      } catch (err) {
        row.innerHTML = `<td colspan="${tr.children.length}" class="error">${esc(err instanceof Error ? err.message : String(err))}</td>`;
      }
    }),
  );
}
