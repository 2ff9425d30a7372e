import { Money } from '../money.js';
import type { ChangeCause, MovementCategory } from '../engine/movements-model.js';
import type { Workspace } from '../workspace/workspace.js';

export interface MrrRow {
  readonly account_id: string;
  readonly month: string;
  readonly product?: string;
  readonly mrr: Money;
}

/**
 * MRR per account × month (or account × product × month) for every month with MRR, up to the
 * reporting month.
 */
export async function mrrLedger(ws: Workspace, options: { byProduct?: boolean; account?: string } = {}): Promise<MrrRow[]> {
  const d = ws.driver.dialect;
  const last = ws.asOfMonth + 1;
  const where = options.account ? `WHERE account_id = ${d.quoteString(options.account)}` : '';
  if (options.byProduct) await ws.ensureProductRanges();
  const sql = options.byProduct
    ? `SELECT account_id, product, ${d.sqlMonthText('m')} AS month, sum(${d.sqlMultiplyMoney('r.level', 'f.rate')}) AS mrr
       FROM (SELECT *, ${d.sqlSeries('from_month', `least(to_month, ${last})`)} AS m FROM product_ranges ${where}) r
       JOIN fx_periods f ON f.currency = r.ckey AND f.from_month <= r.m AND r.m < f.to_month
       GROUP BY account_id, product, m HAVING sum(r.level) > 0 ORDER BY account_id, m, product`
    : `SELECT account_id, ${d.sqlMonthText('m')} AS month, mrr
       FROM (SELECT account_id, mrr, ${d.sqlSeries('from_month', `least(to_month, ${last})`)} AS m FROM account_ranges ${where}) r
       ORDER BY account_id, m`;
  const rows = await ws.query(sql);
  return rows.map((r) => ({
    account_id: String(r['account_id']),
    month: String(r['month']),
    ...(options.byProduct ? { product: String(r['product']) } : {}),
    mrr: Money.from(r['mrr']),
  }));
}

export interface MovementRow {
  readonly account_id: string;
  readonly month: string;
  readonly category: MovementCategory;
  readonly mrr_before: Money;
  readonly mrr_after: Money;
  /** The movement itself: negative for contraction and churn. FX effects are in `fx`, never here. */
  readonly delta: Money;
  /** Revaluation of MRR held in another currency in the same month (monthly FX policy only). */
  readonly fx: Money;
  /** What changed the MRR: `contract` lines only, `usage` only, or `mixed` (lines and usage, or a movement with an FX effect). */
  readonly cause: ChangeCause;
  /** The part of `delta` that is usage; the rest is the contract lines'. */
  readonly usage_delta: Money;
}

/** One row per account-month with a movement, up to the reporting month. */
export async function movements(
  ws: Workspace,
  options: { account?: string; category?: MovementCategory; from?: number; to?: number } = {},
): Promise<MovementRow[]> {
  const d = ws.driver.dialect;
  const where = [`category <> 'fx'`, `month_index <= ${options.to ?? ws.asOfMonth}`];
  if (options.from !== undefined) where.push(`month_index >= ${options.from}`);
  if (options.account) where.push(`account_id = ${d.quoteString(options.account)}`);
  if (options.category) where.push(`category = ${d.quoteString(options.category)}`);
  const rows = await ws.query(
    `SELECT account_id, ${d.sqlMonthText('month_index')} AS month, category, mrr_before, mrr_after, movement AS delta, fx, cause, usage_movement
     FROM account_changes WHERE ${where.join(' AND ')} ORDER BY account_id, month_index`,
  );
  return rows.map((r) => ({
    account_id: String(r['account_id']),
    month: String(r['month']),
    category: r['category'] as MovementCategory,
    mrr_before: Money.from(r['mrr_before']),
    mrr_after: Money.from(r['mrr_after']),
    delta: Money.from(r['delta']),
    fx: Money.from(r['fx']),
    cause: r['cause'] as ChangeCause,
    usage_delta: Money.from(r['usage_movement']),
  }));
}
