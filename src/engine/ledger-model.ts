import type { Policies } from '../config/policies.js';
import { OPEN_END } from '../contract/data-contract.js';
import type { Dialect } from './dialect.js';

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

/** Ranges of each currency's rate: [from_month, to_month); the reporting currency is 1 for ever. */
export function sqlFxPeriods(d: Dialect, p: Policies): string {
  return `CREATE OR REPLACE TABLE fx_periods AS
    SELECT currency, month_index AS from_month,
           coalesce(lead(month_index) OVER (PARTITION BY currency ORDER BY month_index), ${OPEN_END}) AS to_month,
           rate
    FROM fx_rates WHERE currency <> ${d.quoteString(p.reporting_currency)}
    UNION ALL
    SELECT ${d.quoteString(p.reporting_currency)}, 0, ${OPEN_END}, 1`;
}

/**
 * `mrr_contributions`: one row per line or usage charge (`source` and its `row_no` in its file)
 * with the months it counts in and its monthly value. Only what the model reads is kept: the
 * line's id, currency and local value are in `lines` and `usage_charges`, by row. `ckey` is the currency the value is held in: with FX at contract start the value
 * is converted once and held in the reporting currency; with monthly FX it stays in its own
 * currency and is converted month by month.
 */
export function sqlContributions(d: Dialect, p: Policies): string[] {
  const m = sqlLineMonths(d, p, 'l.start_date', 'l.end_date');
  const rep = d.quoteString(p.reporting_currency);
  // With FX at contract start a value is converted once, at the rate in force in its start month,
  // and held in the reporting currency; with monthly FX it stays in its own currency.
  const startRate = p.fx === 'contract_start';
  const lineStart = d.sqlMonthIndex('l.start_date');
  const convert = (alias: string): { ckey: string; value: (v: string) => string } =>
    startRate
      ? { ckey: rep, value: (v) => d.sqlMultiplyMoney(v, `${alias}_fx.rate`) }
      : { ckey: `${alias}.currency`, value: (v) => v };
  // Rates are looked up once per currency and month that occurs, then joined on equality: a
  // range join of every line against every rate period costs far more.
  const rateJoin = (alias: string, monthExpr: string): string =>
    startRate ? `LEFT JOIN start_rates ${alias}_fx ON ${alias}_fx.currency = ${alias}.currency AND ${alias}_fx.month_index = ${monthExpr}` : '';
  // (A table of its own: as a CTE of the statement below it costs twice as much.)
  const rates = `CREATE OR REPLACE TABLE start_rates AS
      SELECT k.currency, k.month_index, f.rate
      FROM (SELECT DISTINCT currency, ${lineStart} AS month_index FROM lines l
            UNION SELECT DISTINCT currency, month_index FROM usage_charges) k
      JOIN fx_periods f ON f.currency = k.currency AND f.from_month <= k.month_index AND k.month_index < f.to_month`;
  const lineValue = convert('l');
  const usageValue = convert('u');
  const usage =
    p.usage === 'include'
      ? `UNION ALL
    SELECT 'usage', u.row_no, u.account_id, u.product, ${usageValue.ckey},
           u.month_index, u.month_index + 1, ${usageValue.value('u.amount_local')}
    FROM usage_charges u ${rateJoin('u', 'u.month_index')}`
      : '';
  const contributions = `CREATE OR REPLACE TABLE mrr_contributions AS
    SELECT * FROM (
      SELECT 'line' AS source, l.row_no, l.account_id, l.product,
             ${lineValue.ckey} AS ckey, ${m.first} AS from_month, ${m.end} AS to_month,
             ${lineValue.value('l.mrr_local')} AS value
      FROM lines l ${rateJoin('l', lineStart)}
      ${usage}
    ) WHERE from_month < to_month`;
  return startRate ? [rates, contributions] : [contributions];
}

/**
 * Levels over month ranges for the given keys, from the contributions' start and end events:
 * each key's level is the running sum of its deltas.
 */
function sqlLevelRanges(keys: readonly string[]): string {
  const k = keys.join(', ');
  return `
    WITH events AS (
      SELECT ${k}, from_month AS month_index, value AS delta FROM mrr_contributions
      UNION ALL
      SELECT ${k}, to_month, -value FROM mrr_contributions WHERE to_month < ${OPEN_END}
    ), by_month AS (
      SELECT ${k}, month_index, sum(delta) AS delta FROM events GROUP BY ALL
    ), levels AS (
      SELECT ${k}, month_index AS from_month,
             coalesce(lead(month_index) OVER w, ${OPEN_END}) AS to_month,
             sum(delta) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS level
      FROM by_month
      WINDOW w AS (PARTITION BY ${k} ORDER BY month_index)
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
export function sqlProductRanges(): string {
  return `CREATE OR REPLACE TABLE product_ranges AS ${sqlLevelRanges(['account_id', 'product', 'ckey'])}`;
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
  const source = perProduct ? 'product_ranges' : `(${sqlLevelRanges(['account_id', 'ckey'])})`;
  return `CREATE OR REPLACE TABLE mrr_pieces AS
    SELECT r.account_id, ${perProduct ? 'r.product' : 'NULL::VARCHAR'} AS product, r.ckey,
           greatest(r.from_month, f.from_month) AS from_month,
           least(r.to_month, f.to_month) AS to_month,
           r.level, f.rate, ${d.sqlMultiplyMoney('r.level', 'f.rate')} AS value
    FROM ${source} r JOIN fx_periods f
      ON f.currency = r.ckey AND f.from_month < r.to_month AND r.from_month < f.to_month`;
}
