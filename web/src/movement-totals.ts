// The totals of a period's movements per category and net new, beside the prior period's and the
// change when the page compares: amounts exact (decimal text from the API), with the accounts behind each.
import { MOVEMENT_KEYS, type MovementKey, type MovementTotal, type MovementTotals } from './api-types.js';
import { table } from './data-table.js';
import { esc } from './dom.js';
import { count, money, signedCount, signedMoney } from './format.js';
import { addDecimals, negateDecimal } from './money-format.js';

type TotalKey = MovementKey | 'net_new';
const LABELS: Record<TotalKey, string> = { new: 'New', expansion: 'Expansion', reactivation: 'Reactivation', contraction: 'Contraction', churn: 'Churn', net_new: 'Net new' };

/** now − before, exactly. @example amountChange('730', '50') // '680' */
export function amountChange(now: string, before: string): string {
  return addDecimals([now, negateDecimal(before)]);
}

export interface PriorTotals {
  readonly from: string;
  readonly to: string;
  readonly starts_before_data: boolean;
  readonly totals: MovementTotals;
}

/**
 * The totals table: one row per category and net new; with `prior`, its amounts and accounts and
 * the change. Each figure carries a data- attribute naming it (the browser test reads them).
 */
export function movementTotalsTable(now: MovementTotals, prior: PriorTotals | null, csvName: string): string {
  const keys: TotalKey[] = [...MOVEMENT_KEYS, 'net_new'];
  const rows = keys.map((k) => ({ key: k, now: now[k] as MovementTotal, before: prior ? (prior.totals[k] as MovementTotal) : null }));
  type Row = (typeof rows)[number];
  const compared = prior
    ? [
        { label: `amount ${prior.from}…${prior.to}`, num: true, html: (r: Row) => `<span data-prior-amount>${money(r.before!.amount)}</span>`, csv: (r: Row) => r.before!.amount },
        { label: 'accounts, prior', num: true, html: (r: Row) => `<span data-prior-accounts>${count(r.before!.accounts)}</span>`, csv: (r: Row) => r.before!.accounts },
        { label: 'change', num: true, html: (r: Row) => `<span data-change-amount>${signedMoney(amountChange(r.now.amount, r.before!.amount))}</span>`, csv: (r: Row) => amountChange(r.now.amount, r.before!.amount) },
        { label: 'accounts, change', num: true, html: (r: Row) => `<span data-change-accounts>${signedCount(r.now.accounts - r.before!.accounts)}</span>`, csv: (r: Row) => r.now.accounts - r.before!.accounts },
      ]
    : [];
  const customers = (t: MovementTotals): string => signedCount(t.net_new.customers);
  return `${table({
    id: 'movement-totals',
    csvName,
    rows,
    rowAttrs: (r) => ({ 'data-total': r.key }),
    columns: [
      { label: 'movement', html: (r) => (r.key === 'net_new' ? `<b>${LABELS[r.key]}</b>` : esc(LABELS[r.key])), csv: (r) => r.key },
      { label: 'amount', num: true, html: (r) => `<span data-now-amount>${money(r.now.amount)}</span>`, csv: (r) => r.now.amount },
      { label: 'accounts', num: true, html: (r) => `<span data-now-accounts>${count(r.now.accounts)}</span>`, csv: (r) => r.now.accounts },
      { label: 'movements', num: true, html: (r) => count(r.now.movements), csv: (r) => r.now.movements },
      ...compared,
    ],
  })}
  <div class="muted">Customers, net: <b data-metric="net-customers">${customers(now)}</b> (new and reactivated less churned)${prior ? `; prior period <b data-prior-net-customers>${customers(prior.totals)}</b>` : ''}. Net new accounts are those with any movement.</div>`;
}
