import { hasFilter, type AccountFilter } from '../engine/account-filter.js';
import { monthIndex, monthText } from '../engine/months.js';
import { sqlRevenueSeries } from '../engine/series-model.js';
import { NrrError } from '../errors.js';
import { Money } from '../money.js';
import type { Workspace } from '../workspace/workspace.js';

/** One month of the company's revenue, in the reporting currency. */
export interface SeriesRow {
  readonly month: string;
  readonly mrr: Money;
  /** mrr × 12. */
  readonly arr: Money;
  /** Accounts with MRR above zero at the month's snapshot. */
  readonly customers: number;
  readonly new: Money;
  readonly expansion: Money;
  readonly reactivation: Money;
  /** Positive amounts: what was lost. */
  readonly contraction: Money;
  readonly churn: Money;
  /** new + expansion + reactivation − contraction − churn: mrr(m) = mrr(m−1) + net_new(m) (+ fx with monthly FX). */
  readonly net_new: Money;
}

/** The columns of `nrr mrr --total` and the keys of `GET /api/series`, in order. */
export const SERIES_COLUMNS = ['month', 'mrr', 'arr', 'customers', 'new', 'expansion', 'reactivation', 'contraction', 'churn', 'net_new'] as const;

export interface SeriesQuery {
  /** First month, YYYY-MM (default: the first month with revenue). */
  readonly from?: string;
  /** Last month, YYYY-MM (default: the reporting month). */
  readonly to?: string;
  /** Only the accounts whose attributes match (see AccountFilter). */
  readonly where?: AccountFilter;
}

/**
 * Refuses a filter on an attribute the accounts file does not have, naming those it has.
 * @example checkFilter(ws, { segment: 'smb' })
 */
export function checkFilter(ws: Workspace, where: AccountFilter | undefined, what = 'filter'): void {
  if (!hasFilter(where)) return;
  for (const k of Object.keys(where)) {
    if (k === 'account_id' || !ws.attributes.includes(k)) {
      throw new NrrError(`${what}: '${k}' is not an attribute of the accounts; choose one of: ${ws.attributes.join(', ') || '(the accounts file has none)'}`);
    }
  }
}

/**
 * MRR, ARR, customers and the monthly bridge (new, expansion, reactivation, contraction, churn,
 * net new), one row per month, for the whole company or the accounts a filter keeps. With monthly
 * FX the month's revaluation is in `fx` (returned beside the rows), outside every movement.
 * @example const { rows } = await revenueSeries(ws, { where: { segment: 'smb' } }); rows.at(-1).mrr
 */
export async function revenueSeries(ws: Workspace, q: SeriesQuery = {}): Promise<{ rows: SeriesRow[]; fx: Money[] }> {
  checkFilter(ws, q.where);
  const to = q.to === undefined ? ws.asOfMonth : monthIndex(q.to);
  if (to > ws.asOfMonth) throw new NrrError(`to: ${q.to} is after the reporting month ${monthText(ws.asOfMonth)}`);
  const from = q.from === undefined ? (ws.firstMonth ?? to) : monthIndex(q.from);
  if (from > to) throw new NrrError(`from: ${q.from} is after ${monthText(to)}`);
  const raw = await ws.query(sqlRevenueSeries(ws.driver.dialect, { from: Math.min(from, to), to, filter: q.where }));
  const rows = raw.map((r) => {
    const m = (k: string): Money => Money.from(r[k]);
    const mrr = m('mrr');
    return {
      month: String(r['month']),
      mrr,
      arr: mrr.times(12),
      customers: Number(r['customers']),
      new: m('new'),
      expansion: m('expansion'),
      reactivation: m('reactivation'),
      contraction: m('contraction'),
      churn: m('churn'),
      net_new: m('new').plus(m('expansion')).plus(m('reactivation')).minus(m('contraction')).minus(m('churn')),
    };
  });
  return { rows, fx: raw.map((r) => Money.from(r['fx'])) };
}
