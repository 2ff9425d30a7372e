import { sqlAccountRecordsQuery } from '../accounts/account-record-sql.js';
import type { Dialect } from '../engine/dialect.js';
import { monthEnd } from '../engine/months.js';

/**
 * The raw columns of the account record that the hazard model reads (account-record-sql.ts), as of
 * each month-end: every leading indicator, the renewal and the billing facts.
 */
export const RECORD_FEATURES = [
  'days_to_renewal',
  'monthly_terms',
  'customer_since',
  'seat_utilisation',
  'months_above_80',
  'users_30d',
  'usage_trend_90d',
  'usage_trend_30d',
  'feature_breadth',
  'activation_achieved',
  'qbr_completion_12m',
  'reviews_missed_180d',
  'sponsor_present',
  'days_since_sponsor_engaged',
  'sponsor_changes_12m',
  'tickets_90d',
  'escalations_90d',
  'ticket_trend_90d',
  'open_tickets',
  'headcount_change_12m',
  'open_expansion_opportunities',
  'mrr_change_90d',
  'days_since_funding',
  'signal_sources',
] as const;

/**
 * `forecast_months(m)` (month indexes) and `forecast_snapshots(snapshot_date)` (their last days):
 * the month-ends that features and outcomes are computed for, in one query.
 */
export function sqlForecastMonths(d: Dialect, months: readonly number[]): string[] {
  const values = (xs: readonly string[]): string => xs.map((x) => `(${x})`).join(', ');
  return [
    `CREATE OR REPLACE TEMP TABLE forecast_months AS SELECT CAST(m AS INTEGER) AS m FROM (VALUES ${values(months.map(String))}) v(m)`,
    `CREATE OR REPLACE TEMP TABLE forecast_snapshots AS SELECT CAST(x AS DATE) AS snapshot_date FROM (VALUES ${values(months.map((m) => d.quoteString(monthEnd(m))))}) v(x)`,
  ];
}

/**
 * `forecast_rows`: one row per account × month-end (months in the relation `forecast_months(m)`, a
 * month index) at which the account had MRR in the ledger: its ledger MRR, its record as of the
 * month's last day (from what was known on that day: the as-of rules of account records), its group
 * value, and what happened to it in the next month (`next_category` churn / contraction / expansion
 * or NULL, with the MRR before and after). A row's outcome is read only by a caller that knows the
 * next month was over when the forecast was made: the features never look past their own day.
 */
export function sqlForecastRows(
  d: Dialect,
  reportingCurrency: string,
  groupAttribute: string | null,
  /** A relation with an `account_id` column: only these accounts' rows (null: every account). */
  accounts: string | null = null,
  /** Add the rows to an existing `forecast_rows` instead of replacing it. */
  append = false,
): string {
  const q = d.quoteIdent;
  const records = sqlAccountRecordsQuery(d, reportingCurrency, { attributes: groupAttribute ? [groupAttribute] : [], snapshots: 'forecast_snapshots', accounts });
  return `${append ? 'INSERT INTO forecast_rows' : 'CREATE OR REPLACE TEMP TABLE forecast_rows AS'}
  WITH rec AS (${records}),
  ledger AS (
    SELECT s.m AS month_index, r.account_id, r.mrr AS ledger_mrr
    FROM forecast_months s JOIN account_ranges r ON r.from_month <= s.m AND s.m < r.to_month
    ${accounts ? `WHERE r.account_id IN (SELECT account_id FROM ${accounts})` : ''}
  ),
  next_change AS (
    SELECT account_id, month_index, category, mrr_before, mrr_after FROM account_changes
    WHERE category IN ('churn', 'contraction', 'expansion')
  ),
  final AS (
    SELECT l.month_index, l.account_id, l.ledger_mrr,
      ${groupAttribute ? `CAST(rec.${q(groupAttribute)} AS VARCHAR)` : 'CAST(NULL AS VARCHAR)'} AS group_value,
      ${RECORD_FEATURES.filter((f) => f !== 'customer_since' && f !== 'signal_sources').map((f) => `rec.${f}`).join(', ')},
      ${d.sqlMonthIndex('rec.snapshot_date')} - ${d.sqlMonthIndex('rec.customer_since')} AS tenure_months,
      rec.signal_sources,
      n.category AS next_category, n.mrr_before AS next_mrr_before, n.mrr_after AS next_mrr_after
    FROM ledger l
    JOIN rec ON rec.account_id = l.account_id AND ${d.sqlMonthIndex('rec.snapshot_date')} = l.month_index
    LEFT JOIN next_change n ON n.account_id = l.account_id AND n.month_index = l.month_index + 1
  )
  SELECT * FROM final`;
}

/** `forecast_sample`: a share (0–1) of the accounts, chosen by a hash of their id (the same on every run). */
export function sqlSampleAccounts(d: Dialect, share: number): string {
  return `CREATE OR REPLACE TEMP TABLE forecast_sample AS
    SELECT DISTINCT account_id FROM account_ranges WHERE ${d.sqlHash(['account_id'])} % 1000000 < ${Math.round(share * 1_000_000)}`;
}

/**
 * `forecast_outcomes`: for each month in `forecast_months` and each account with ledger MRR then,
 * its MRR `horizonMonths` later (0 when it had none): what the backtest compares a forecast with.
 */
export function sqlForecastOutcomes(horizonMonths: number): string {
  return `CREATE OR REPLACE TEMP TABLE forecast_outcomes AS
    SELECT s.m AS month_index, r.account_id, r.mrr AS mrr_start, coalesce(e.mrr, 0) AS mrr_end
    FROM forecast_months s
    JOIN account_ranges r ON r.from_month <= s.m AND s.m < r.to_month
    LEFT JOIN account_ranges e ON e.account_id = r.account_id AND e.from_month <= s.m + ${horizonMonths} AND s.m + ${horizonMonths} < e.to_month`;
}

/**
 * The committed layer per account: contract MRR known on day `known` (lines started by then; every
 * line when the forecast is made from today, so that scheduled starts count) in force at `at`
 * (T + horizon), against that in force on `from` (T). A product with no known line starting after
 * `from` keeps its MRR on `from`: an end date without a known successor is a renewal, which the
 * hazard model judges, not a committed churn.
 */
export function sqlCommittedChanges(d: Dialect, from: string, at: string, known: string | null): string {
  const day = (x: string): string => `CAST(${d.quoteString(x)} AS DATE)`;
  const inForce = (x: string): string => `l.start_date <= ${day(x)} AND (l.end_date IS NULL OR l.end_date > ${day(x)})`;
  return `WITH k AS (SELECT * FROM lines l WHERE ${known === null ? 'TRUE' : `l.start_date <= ${day(known)}`}),
  per_product AS (
    SELECT l.account_id, l.product,
      coalesce(sum(l.mrr_start_rate) FILTER (WHERE ${inForce(from)}), 0) AS mrr_from,
      coalesce(sum(l.mrr_start_rate) FILTER (WHERE ${inForce(at)}), 0) AS mrr_at,
      bool_or(l.start_date > ${day(from)} AND l.start_date <= ${day(at)}) AS scheduled
    FROM k l GROUP BY l.account_id, l.product
  )
  SELECT account_id, sum(CASE WHEN scheduled THEN mrr_at ELSE mrr_from END) - sum(mrr_from) AS committed_change
  FROM per_product GROUP BY account_id HAVING sum(CASE WHEN scheduled THEN mrr_at ELSE mrr_from END) <> sum(mrr_from)`;
}
