import type { Policies } from '../config/policies.js';
import type { Dialect } from './dialect.js';
import { sqlAccountFilter, type AccountFilter } from './account-filter.js';
import { sqlGroupLabel, type Grouping } from './grouping.js';

/**
 * Retention metrics as pure SQL. Every query returns one row per target month × group with:
 * month_index, group_value, starting_mrr, ending_mrr, expansion, contraction, churn, fx,
 * starting_accounts, retained_accounts, nrr, grr, logo_retention, largest_account_share and
 * median_start_mrr (the median unit's starting MRR, for matching a group to an ACV benchmark).
 */

const ratio = (d: Dialect, num: string, den: string): string =>
  `CASE WHEN sum(${den}) = 0 THEN NULL ELSE ${d.sqlToFloat(`sum(${num})`)} / ${d.sqlToFloat(`sum(${den})`)} END`;

/** Snapshot metrics need the per-product ledger for product groups and to keep monthly FX apart. */
export function snapshotNeedsProductRanges(p: Policies, g: Grouping): boolean {
  return p.fx === 'monthly' || g.kind === 'product';
}

/**
 * Snapshot (cohort) metrics: the units with MRR at the end of M−W, their MRR at the end of M.
 * FX is kept apart: each unit's end MRR is also valued at the start month's rates (`cc_end`), so
 * expansion, contraction and NRR are at constant currency and `fx` = ending − cc_end.
 *
 * With FX at contract start values are never revalued (cc_end = end), so outside product groups
 * the units are read from the account ledger; otherwise from `product_ranges`, valued at the rates
 * in force (see snapshotNeedsProductRanges).
 */
export function sqlSnapshotMetrics(
  d: Dialect,
  p: Policies,
  months: readonly number[],
  window: number,
  g: Grouping,
  /** `product` reads `product_ranges` even where the account ledger would do (tests compare the two). */
  source: 'auto' | 'product' = 'auto',
  /** Only the accounts whose attributes match. */
  filter?: AccountFilter,
): string {
  const label = sqlGroupLabel(d, p, g);
  const units = source === 'product' || snapshotNeedsProductRanges(p, g) ? sqlProductUnits(d, g, window) : sqlAccountUnits(window);
  return `
    WITH target AS (${d.sqlIntegerRows(months, 'month_index')}),
    ${units},
    labelled AS (SELECT u.*, ${label.expr} AS group_value FROM units u ${label.joins} WHERE ${sqlAccountFilter(d, filter, 'u.account_id')})
    SELECT month_index, group_value,
           sum(start_mrr) AS starting_mrr,
           sum(end_mrr) AS ending_mrr,
           sum(CASE WHEN end_mrr > 0 AND cc_end > start_mrr THEN cc_end - start_mrr ELSE 0 END) AS expansion,
           sum(CASE WHEN end_mrr > 0 AND cc_end < start_mrr THEN start_mrr - cc_end ELSE 0 END) AS contraction,
           sum(CASE WHEN end_mrr > 0 THEN 0 ELSE start_mrr END) AS churn,
           sum(end_mrr - cc_end) AS fx,
           count(*) AS starting_accounts,
           count(*) FILTER (WHERE end_mrr > 0) AS retained_accounts,
           ${ratio(d, 'cc_end', 'start_mrr')} AS nrr,
           ${ratio(d, 'least(cc_end, start_mrr)', 'start_mrr')} AS grr,
           ${d.sqlToFloat('count(*) FILTER (WHERE end_mrr > 0)')} / count(*) AS logo_retention,
           ${d.sqlToFloat('max(start_mrr)')} / nullif(${d.sqlToFloat('sum(start_mrr)')}, 0) AS largest_account_share,
           ${d.sqlMedian('start_mrr')} AS median_start_mrr
    FROM labelled GROUP BY month_index, group_value ORDER BY month_index, group_value`;
}

/** `start_units` and `end_units`: each account's MRR at M−W and at M, from `account_ranges` (MRR above zero only). */
function sqlAccountStartEnd(window: number): string {
  return `start_units AS (
      SELECT t.month_index, r.account_id, r.mrr AS start_mrr
      FROM target t JOIN account_ranges r ON r.from_month <= t.month_index - ${window} AND t.month_index - ${window} < r.to_month
    ),
    end_units AS (
      SELECT t.month_index, r.account_id, r.mrr AS end_mrr
      FROM target t JOIN account_ranges r ON r.from_month <= t.month_index AND t.month_index < r.to_month
    )`;
}

/** `units` per account from the account ledger: nothing is revalued, so cc_end = end. */
function sqlAccountUnits(window: number): string {
  return `${sqlAccountStartEnd(window)},
    units AS (
      SELECT s.*, coalesce(e.end_mrr, 0) AS end_mrr, coalesce(e.end_mrr, 0) AS cc_end
      FROM start_units s LEFT JOIN end_units e USING (month_index, account_id)
    )`;
}

/** `units` per account (or account × product) from `product_ranges` at the rates in force. */
function sqlProductUnits(d: Dialect, g: Grouping, window: number): string {
  const unitKeys = g.kind === 'product' ? 'r.account_id, r.product' : 'r.account_id';
  const using = g.kind === 'product' ? 'month_index, account_id, product' : 'month_index, account_id';
  const mul = (a: string, b: string): string => d.sqlMultiplyMoney(a, b);
  return `start_units AS (
      SELECT t.month_index, ${unitKeys}, sum(${mul('r.level', 'f.rate')}) AS start_mrr
      FROM target t
      JOIN product_ranges r ON r.from_month <= t.month_index - ${window} AND t.month_index - ${window} < r.to_month
      JOIN fx_periods f ON f.currency = r.ckey AND f.from_month <= t.month_index - ${window} AND t.month_index - ${window} < f.to_month
      GROUP BY t.month_index, ${unitKeys} HAVING sum(${mul('r.level', 'f.rate')}) > 0
    ),
    end_units AS (
      SELECT t.month_index, ${unitKeys},
             sum(${mul('r.level', 'fe.rate')}) AS end_mrr,
             sum(${mul('r.level', 'coalesce(fs.rate, fe.rate)')}) AS cc_end
      FROM target t
      JOIN product_ranges r ON r.from_month <= t.month_index AND t.month_index < r.to_month
      JOIN fx_periods fe ON fe.currency = r.ckey AND fe.from_month <= t.month_index AND t.month_index < fe.to_month
      LEFT JOIN fx_periods fs ON fs.currency = r.ckey AND fs.from_month <= t.month_index - ${window} AND t.month_index - ${window} < fs.to_month
      GROUP BY t.month_index, ${unitKeys}
    ),
    units AS (
      SELECT s.*, coalesce(e.end_mrr, 0) AS end_mrr,
             CASE WHEN coalesce(e.end_mrr, 0) > 0 THEN e.cc_end ELSE 0 END AS cc_end
      FROM start_units s LEFT JOIN end_units e USING (${using})
    )`;
}

/**
 * Sum-of-movements metrics: starting MRR of the cohort at M−W; expansion (with reactivation),
 * contraction and churn summed over every account's movements in (M−W, M], new logos' first
 * revenue excluded. Account counts are those of the snapshot cohort.
 */
export function sqlMovementMetrics(d: Dialect, p: Policies, months: readonly number[], window: number, g: Grouping, filter?: AccountFilter): string {
  const label = sqlGroupLabel(d, p, g);
  return `
    WITH target AS (${d.sqlIntegerRows(months, 'month_index')}),
    ${sqlAccountStartEnd(window)},
    moved AS (
      SELECT t.month_index, c.account_id,
             sum(CASE WHEN c.category IN ('expansion', 'reactivation') THEN c.movement ELSE 0 END) AS expansion,
             sum(CASE WHEN c.category = 'contraction' THEN -c.movement ELSE 0 END) AS contraction,
             sum(CASE WHEN c.category = 'churn' THEN -c.movement ELSE 0 END) AS churn,
             sum(c.fx) AS fx
      FROM target t JOIN account_changes c ON c.month_index > t.month_index - ${window} AND c.month_index <= t.month_index
      WHERE c.category <> 'new'
      GROUP BY t.month_index, c.account_id
    ),
    units AS (
      SELECT coalesce(s.month_index, m.month_index) AS month_index, coalesce(s.account_id, m.account_id) AS account_id,
             coalesce(s.start_mrr, 0) AS start_mrr, coalesce(e.end_mrr, 0) AS end_mrr, s.account_id IS NOT NULL AS in_cohort,
             coalesce(m.expansion, 0) AS expansion, coalesce(m.contraction, 0) AS contraction,
             coalesce(m.churn, 0) AS churn, coalesce(m.fx, 0) AS fx
      FROM start_units s
      FULL JOIN moved m ON m.month_index = s.month_index AND m.account_id = s.account_id
      LEFT JOIN end_units e ON e.month_index = coalesce(s.month_index, m.month_index) AND e.account_id = coalesce(s.account_id, m.account_id)
    ),
    labelled AS (SELECT u.*, ${label.expr} AS group_value FROM units u ${label.joins} WHERE ${sqlAccountFilter(d, filter, 'u.account_id')})
    SELECT month_index, group_value,
           sum(start_mrr) AS starting_mrr,
           sum(start_mrr + expansion - contraction - churn + fx) AS ending_mrr,
           sum(expansion) AS expansion, sum(contraction) AS contraction, sum(churn) AS churn, sum(fx) AS fx,
           count(*) FILTER (WHERE in_cohort) AS starting_accounts,
           count(*) FILTER (WHERE in_cohort AND end_mrr > 0) AS retained_accounts,
           ${ratio(d, 'start_mrr + expansion - contraction - churn', 'start_mrr')} AS nrr,
           CASE WHEN sum(start_mrr) = 0 THEN NULL ELSE greatest(${ratio(d, 'start_mrr - contraction - churn', 'start_mrr')}, 0) END AS grr,
           ${d.sqlToFloat('count(*) FILTER (WHERE in_cohort AND end_mrr > 0)')} / nullif(count(*) FILTER (WHERE in_cohort), 0) AS logo_retention,
           ${d.sqlToFloat('max(start_mrr)')} / nullif(${d.sqlToFloat('sum(start_mrr)')}, 0) AS largest_account_share,
           ${d.sqlMedian('CASE WHEN in_cohort THEN start_mrr END')} AS median_start_mrr
    FROM labelled GROUP BY month_index, group_value ORDER BY month_index, group_value`;
}
