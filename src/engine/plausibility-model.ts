import type { Policies } from '../config/policies.js';
import type { Dialect } from './dialect.js';
import { sqlAccountFilter, type AccountFilter } from './account-filter.js';
import { sqlGroupLabel, type Grouping } from './grouping.js';

/** Months two lines must be in force together before their overlap looks like an upgrade never ended. */
export const OVERLAP_MIN_MONTHS = 3;

/**
 * Lines that look like an upgrade whose old line was never ended, one row per target month and
 * suspect (earlier) line. A line E is suspect at month M when a line L of the same account and
 * product
 * - starts on a later day than E (lines that start together are a bundle, not an upgrade),
 * - is worth at least as much a month as E (a smaller line beside a bigger one looks like an add-on),
 * - does not end on the same day as E (lines co-termed to one end date are seats added to a contract),
 * - and both are in force at M and have been together for at least `minMonths` months by then
 *   (M − L's first month + 1 ≥ minMonths).
 * `replaced_by` is the first such L and `end_at` its start date: the fix is to end E on that day.
 * Values are MRR at the rate in force when each line starts (`lines.mrr_start_rate`).
 */
export function sqlSuspectOverlaps(d: Dialect, months: readonly number[], minMonths: number = OVERLAP_MIN_MONTHS): string {
  // Only accounts with two or more lines of one product in force at M can hold a pair: finding
  // those by a hash count first keeps the self-join off the single-line majority.
  return `
    WITH target AS (${d.sqlIntegerRows(months, 'month_index')}),
    in_force AS (
      SELECT t.month_index, x.account_id, x.product, x.line_id, x.start_date, x.end_date, x.from_month, x.mrr_start_rate
      FROM target t JOIN lines x ON x.from_month <= t.month_index AND t.month_index < x.to_month
    ),
    shared AS (SELECT month_index, account_id, product FROM in_force GROUP BY month_index, account_id, product HAVING count(*) > 1),
    candidates AS (
      SELECT f.* FROM in_force f
      JOIN shared s ON s.month_index = f.month_index AND s.account_id = f.account_id AND s.product = f.product
    )
    SELECT e.month_index, e.account_id, e.product, e.line_id, e.mrr_start_rate AS mrr,
           ${d.sqlArgMin('l.line_id', 'l.start_date')} AS replaced_by, CAST(min(l.start_date) AS VARCHAR) AS end_at
    FROM candidates e
    JOIN candidates l ON l.month_index = e.month_index AND l.account_id = e.account_id AND l.product = e.product
      AND l.start_date > e.start_date
      AND l.mrr_start_rate >= e.mrr_start_rate
      AND (l.end_date IS NULL OR e.end_date IS NULL OR l.end_date <> e.end_date)
      AND e.month_index - l.from_month + 1 >= ${minMonths}
    GROUP BY e.month_index, e.account_id, e.product, e.line_id, e.mrr_start_rate`;
}

/**
 * Suspect lines per target month and group, counted among the window's starting cohort only (an
 * account that is new in the window does not move its NRR): `overlap_lines` and `overlap_mrr`,
 * the MRR that ending them would remove at M.
 */
export function sqlSuspectOverlapsByGroup(
  d: Dialect,
  p: Policies,
  months: readonly number[],
  window: number,
  g: Grouping,
  minMonths: number = OVERLAP_MIN_MONTHS,
  /** Only the accounts whose attributes match. */
  filter?: AccountFilter,
): string {
  const label = sqlGroupLabel(d, p, g);
  return `
    WITH suspects AS (${sqlSuspectOverlaps(d, months, minMonths)}),
    u AS (
      SELECT s.*, r.mrr AS start_mrr
      FROM suspects s JOIN account_ranges r
        ON r.account_id = s.account_id AND r.from_month <= s.month_index - ${window} AND s.month_index - ${window} < r.to_month
    ),
    labelled AS (SELECT u.month_index, u.mrr, ${label.expr} AS group_value FROM u ${label.joins} WHERE ${sqlAccountFilter(d, filter, 'u.account_id')})
    SELECT month_index, group_value, count(*) AS overlap_lines, sum(mrr) AS overlap_mrr
    FROM labelled GROUP BY month_index, group_value`;
}

/**
 * The accounts of one group (of the window's starting cohort) that moved its NRR most: starting and
 * ending MRR and the change, largest change either way first. Per account, so a product grouping
 * has none (an account's change is not one product's).
 */
export function sqlTopContributors(d: Dialect, p: Policies, month: number, window: number, g: Grouping, group: string | undefined, limit: number, filter?: AccountFilter): string {
  const label = sqlGroupLabel(d, p, g);
  const at = (m: number): string => `SELECT account_id, mrr FROM account_ranges WHERE from_month <= ${m} AND ${m} < to_month`;
  return `
    WITH s AS (${at(month - window)}), e AS (${at(month)}),
    u AS (SELECT s.account_id, s.mrr AS start_mrr, coalesce(e.mrr, 0) AS end_mrr FROM s LEFT JOIN e USING (account_id))
    SELECT u.account_id, u.start_mrr, u.end_mrr, u.end_mrr - u.start_mrr AS change
    FROM u ${label.joins}
    WHERE ${sqlAccountFilter(d, filter, 'u.account_id')}${group === undefined ? '' : ` AND ${label.expr} = ${d.quoteString(group)}`}
    ORDER BY abs(u.end_mrr - u.start_mrr) DESC, u.account_id
    LIMIT ${limit}`;
}
