import type { Policies } from '../config/policies.js';
import { OPEN_END } from '../contract/data-contract.js';
import type { Dialect } from './dialect.js';
import { sqlRateAt } from './fx-model.js';

/**
 * The revenue ledger, as pure SQL over the typed tables `lines`, `usage_charges` and `fx_rates`.
 *
 * MRR is piecewise constant: it changes only when a line starts or ends, a usage month begins or
 * ends, or (with monthly FX) a rate changes. So the ledger is kept as ranges of months
 * [from_month, to_month) with a constant level, never as one row per account × month.
 * Months are integers (year × 12 + month − 1).
 */

/** The months a line is in force at each month's snapshot, as [first, end) month indexes. */
export function sqlLineMonths(d: Dialect, p: Policies, start: string, end: string): { first: string; end: string } {
  if (p.snapshot === 'end') {
    // In force on the last day of M: start ≤ last day of M < end ⇔ month(start) ≤ M < month(end).
    return { first: d.sqlMonthIndex(start), end: `coalesce(${d.sqlMonthIndex(end)}, ${OPEN_END})` };
  }
  // In force on the first day of M: start ≤ first day of M < end ⇔ month(start − 1 day) < M ≤ month(end − 1 day).
  return {
    first: `${d.sqlMonthIndex(d.sqlDayBefore(start))} + 1`,
    end: `coalesce(${d.sqlMonthIndex(d.sqlDayBefore(end))} + 1, ${OPEN_END})`,
  };
}

/**
 * A contract line's MRR in its own currency and at the rate in force in its start month, as the
 * steps of a query over `from` (a relation, named `alias`, with the parsed values named below;
 * `extra` adds columns over it, and the rest of the relation is left out): `ctes` to append
 * to a WITH clause, the last of them named `last`, whose `columns` give p_mrr_local and
 * p_mrr_start_rate. MRR is (amount − discount) ÷ months in the interval, exact to the money
 * type's scale. Lines under 900,000 a month take the dialect's 64-bit lane (sqlDividePicos,
 * sqlMultiplyPicos); the rest 128-bit decimals. Both give the same digits.
 */
export function sqlLineValues(
  d: Dialect,
  v: { readonly amount: string; readonly discount: string; readonly netMicros: string; readonly interval: string; readonly rate: string; readonly rateE10: string },
  from: { readonly relation: string; readonly alias: string },
  extra: string,
): { readonly ctes: string; readonly last: string; readonly columns: string } {
  const net = `${v.amount} - coalesce(${v.discount}, 0)`;
  const exact = `CASE WHEN ${v.interval} = 1 THEN ${net} ELSE ${d.sqlDivideMoney(net, v.interval)} END`;
  return {
    ctes: `line_picos AS (
       SELECT ${from.alias}.*, ${d.sqlDividePicos(v.netMicros, v.interval)} AS p_mrr_picos, ${v.rate} AS p_start_rate,
              ${v.rateE10} AS p_start_rate_e10${extra}
       FROM ${from.relation}
     ), line_values AS (
       SELECT *,
              CASE WHEN p_mrr_picos IS NOT NULL THEN ${d.sqlPicosToMoney('p_mrr_picos')} ELSE ${exact} END AS p_mrr_local,
              ${d.sqlMultiplyPicos('p_mrr_picos', 'p_start_rate_e10')} AS p_start_picos
       FROM line_picos
     )`,
    last: 'line_values',
    columns: `p_mrr_local,
       CASE WHEN p_start_rate = 1 THEN p_mrr_local
            WHEN p_start_picos IS NOT NULL THEN ${d.sqlPicosToMoney('p_start_picos')}
            ELSE ${d.sqlMultiplyMoney('p_mrr_local', 'p_start_rate')} END AS p_mrr_start_rate`,
  };
}

/**
 * `usage_set_aside`: the usage charges that are not MRR because their month is outside every
 * contract line of their account. A usage charge is MRR only in a month in which its account has
 * a contract line in force at the month's snapshot (whatever the line's amount); an account with
 * no line at all is billed on usage alone and keeps all its usage. So a final charge for use in
 * the month a contract ends, or after it, cannot turn the account's churn into a contraction
 * followed by a small churn; usage before the first line or between two contracts is set aside
 * too. One row per charge, with its value in the reporting currency at its month's rate; empty
 * with `usage: exclude` (then no usage is MRR). Needs `lines`, `usage_charges` and the FX lookups.
 * @example SELECT count(*), sum(amount) FROM usage_set_aside  -- what the ReadSummary reports
 */
export function sqlUsageSetAside(d: Dialect, p: Policies): string {
  const rate = sqlRateAt(d, p, 'u', 'u.currency', 'u.month_index');
  // One hash join on the account and a flag per charge: cheaper than a correlated range lookup.
  // Columns are named: ClickHouse names `u.row_no` so when another relation of the query has a row_no.
  return d.sqlCreateTableAs(
    'usage_set_aside',
    `WITH outside AS (
      SELECT u.row_no FROM usage_charges u JOIN lines l ON l.account_id = u.account_id
      WHERE ${p.usage === 'include' ? 'TRUE' : 'FALSE'}
      GROUP BY u.row_no
      HAVING NOT ${d.sqlBoolOr('l.from_month <= u.month_index AND u.month_index < l.to_month')}
    )
    SELECT u.row_no AS row_no, u.account_id AS account_id, u.product AS product, u.month_index AS month_index,
           u.currency AS currency, u.amount_local AS amount_local, ${d.sqlMultiplyMoney('u.amount_local', rate.rate)} AS amount
    FROM usage_charges u JOIN outside o ON o.row_no = u.row_no ${rate.joins}`,
  );
}

/**
 * `mrr_contributions`: one row per line or usage charge (`source` and its `row_no` in its file)
 * with the months it counts in and its monthly value. A view: each line's months and values are
 * worked out as it is parsed and kept in `lines` (from_month, to_month, mrr_local,
 * mrr_start_rate). `ckey` is the currency the value is held in: with FX at contract start a value
 * is converted once, at the rate in force in its start month, and held in the reporting currency;
 * with monthly FX it stays in its own currency and is converted month by month. Usage charges in
 * `usage_set_aside` (sqlUsageSetAside) are left out.
 */
export function sqlContributions(d: Dialect, p: Policies): string {
  const rep = d.quoteString(p.reporting_currency);
  const startRate = p.fx === 'contract_start';
  const rate = sqlRateAt(d, p, 'u', 'u.currency', 'u.month_index');
  const usage =
    p.usage === 'include'
      ? `UNION ALL
    SELECT 'usage', u.row_no, u.account_id, u.product, ${startRate ? rep : 'u.currency'},
           u.month_index, u.month_index + 1, ${startRate ? d.sqlMultiplyMoney('u.amount_local', rate.rate) : 'u.amount_local'}
    FROM usage_charges u ${startRate ? rate.joins : ''}
    WHERE u.row_no NOT IN (SELECT s.row_no FROM usage_set_aside s)`
      : '';
  return d.sqlCreateViewAs(
    'mrr_contributions',
    `SELECT 'line' AS source, row_no, account_id, product, ${startRate ? rep : 'currency'} AS ckey, from_month, to_month,
           ${startRate ? 'mrr_start_rate' : 'mrr_local'} AS value
    FROM lines WHERE from_month < to_month
    ${usage}`,
  );
}

/**
 * Levels over month ranges for the given keys, from the contributions' start and end events:
 * each key's level is the running sum of its deltas.
 */
function sqlLevelRanges(d: Dialect, keys: readonly string[]): string {
  const k = keys.join(', ');
  const w = `PARTITION BY ${k} ORDER BY month_index`;
  return `
    WITH events AS (
      SELECT ${k}, from_month AS month_index, value AS delta FROM mrr_contributions
      UNION ALL
      SELECT ${k}, to_month, -value FROM mrr_contributions WHERE to_month < ${OPEN_END}
    ), by_month AS (
      SELECT ${k}, month_index, sum(delta) AS delta FROM events GROUP BY ${k}, month_index
    ), levels AS (
      SELECT ${k}, month_index AS from_month,
             coalesce(${d.sqlLead('month_index', w)}, ${OPEN_END}) AS to_month,
             sum(delta) OVER (${w} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS level
      FROM by_month
    )
    SELECT * FROM levels WHERE level <> 0`;
}

/**
 * With monthly FX the movements are worked out per product and currency, so `product_ranges` is
 * built with the ledger; otherwise only per-product questions need it and it is built on first use
 * (Workspace.ensureProductRanges).
 */
export function movementsNeedProductRanges(p: Policies): boolean {
  return p.fx === 'monthly';
}

/** `product_ranges`: account × product × currency key → level over [from_month, to_month). */
export function sqlProductRanges(d: Dialect): string {
  return d.sqlCreateTableAs('product_ranges', sqlLevelRanges(d, ['account_id', 'product', 'ckey']));
}

/**
 * `mrr_pieces`: ranges split where the rate changes, with the level, the rate and the value in
 * reporting currency. With monthly FX they are per account × product × currency key: values are
 * converted at the finest grain the ledger keeps, so every total (account, product, group) sums
 * the same rounded values. With FX at contract start every value is already in the reporting
 * currency (rate 1, nothing is rounded), so account × currency ranges give the same sums faster.
 */
export function sqlMrrPieces(d: Dialect, p: Policies): string {
  const perProduct = p.fx === 'monthly';
  const source = perProduct ? 'product_ranges' : `(${sqlLevelRanges(d, ['account_id', 'ckey'])})`;
  return d.sqlCreateTableAs(
    'mrr_pieces',
    `SELECT r.account_id, ${perProduct ? 'r.product' : d.sqlNullText()} AS product, r.ckey,
           greatest(r.from_month, f.from_month) AS from_month,
           least(r.to_month, f.to_month) AS to_month,
           r.level, f.rate, ${d.sqlMultiplyMoney('r.level', 'f.rate')} AS value
    FROM ${source} r JOIN fx_periods f
      ON f.currency = r.ckey AND f.from_month < r.to_month AND r.from_month < f.to_month`,
  );
}
