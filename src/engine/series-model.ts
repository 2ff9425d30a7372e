import { OPEN_END } from '../contract/data-contract.js';
import { sqlAccountFilter, type AccountFilter } from './account-filter.js';
import type { Dialect } from './dialect.js';

/**
 * The company's revenue series as pure SQL: one row per month from `from` to `to` (month
 * indexes) with
 * - `mrr` and `customers`: the MRR and the number of accounts with MRR above zero at the month's
 *   snapshot, read from the ledger (`account_ranges`: +MRR where a range starts, −MRR where it
 *   ends, summed from the first month on);
 * - `new`, `expansion`, `reactivation`, `contraction`, `churn`: the month's movements summed by
 *   category from `account_changes` (contraction and churn as positive amounts);
 * - `fx`: the month's FX revaluation (zero with FX at contract start).
 * The two sources are independent readings of the model: mrr(m) − mrr(m−1) equals
 * new + expansion + reactivation − contraction − churn + fx (tested, test/series.test.ts).
 */
export function sqlRevenueSeries(d: Dialect, q: { readonly from: number; readonly to: number; readonly filter?: AccountFilter }): string {
  const money = d.moneyType;
  const ranges = sqlAccountFilter(d, q.filter, 'account_id');
  const moved = (category: string, sign = ''): string => `CAST(coalesce(sum(${sign}movement) FILTER (WHERE category = '${category}'), 0) AS ${money})`;
  return `
    WITH events AS (
      SELECT from_month AS month_index, mrr AS d_mrr, 1 AS d_customers FROM account_ranges WHERE from_month <= ${q.to} AND ${ranges}
      UNION ALL
      SELECT to_month, -mrr, -1 FROM account_ranges WHERE to_month <= ${q.to} AND to_month < ${OPEN_END} AND ${ranges}
    ),
    steps AS (SELECT month_index, sum(d_mrr) AS d_mrr, sum(d_customers) AS d_customers FROM events GROUP BY month_index),
    -- The level at each month: what the months before the first one left, plus the steps up to it
    -- (an equi-join and a running sum, so that every engine plans it the same way).
    before AS (SELECT coalesce(sum(d_mrr), 0) AS mrr, coalesce(sum(d_customers), 0) AS customers FROM steps WHERE month_index < ${q.from}),
    months AS (SELECT ${d.sqlSeries(String(q.from), String(q.to + 1))} AS month_index),
    at_month AS (
      SELECT m.month_index AS month_index,
             b.mrr + sum(coalesce(s.d_mrr, 0)) OVER (ORDER BY m.month_index ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS mrr,
             b.customers + sum(coalesce(s.d_customers, 0)) OVER (ORDER BY m.month_index ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS customers
      FROM months m CROSS JOIN before b LEFT JOIN steps s ON s.month_index = m.month_index
    ),
    moves AS (
      SELECT month_index, ${moved('new')} AS new, ${moved('expansion')} AS expansion, ${moved('reactivation')} AS reactivation,
             ${moved('contraction', '-')} AS contraction, ${moved('churn', '-')} AS churn, CAST(sum(fx) AS ${money}) AS fx
      FROM account_changes WHERE month_index BETWEEN ${q.from} AND ${q.to} AND ${ranges} GROUP BY month_index
    )
    SELECT a.month_index, ${d.sqlMonthText('a.month_index')} AS month,
           CAST(coalesce(a.mrr, 0) AS ${money}) AS mrr, CAST(coalesce(a.customers, 0) AS BIGINT) AS customers,
           coalesce(v.new, 0) AS new, coalesce(v.expansion, 0) AS expansion, coalesce(v.reactivation, 0) AS reactivation,
           coalesce(v.contraction, 0) AS contraction, coalesce(v.churn, 0) AS churn, coalesce(v.fx, 0) AS fx
    FROM at_month a LEFT JOIN moves v ON v.month_index = a.month_index
    ORDER BY a.month_index`;
}
