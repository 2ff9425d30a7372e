import type { Policies } from '../config/policies.js';
import { OPEN_END } from '../contract/data-contract.js';
import type { Dialect } from './dialect.js';

/**
 * Exchange rates as pure SQL over the typed table `fx_rates` (currency, month_index, rate): a
 * rate is in force from its month until the next row for its currency.
 */

/** `fx_periods`: ranges of each currency's rate, [from_month, to_month); the reporting currency is 1 for ever. */
export function sqlFxPeriods(d: Dialect, p: Policies): string {
  return d.sqlCreateTableAs(
    'fx_periods',
    `SELECT currency, month_index AS from_month,
           coalesce(${d.sqlLead('month_index', 'PARTITION BY currency ORDER BY month_index')}, ${OPEN_END}) AS to_month,
           rate
    FROM fx_rates WHERE currency <> ${d.quoteString(p.reporting_currency)}
    UNION ALL
    SELECT ${d.quoteString(p.reporting_currency)}, 0, ${OPEN_END}, 1`,
  );
}

/**
 * The two small tables that look a rate up by equality, which costs far less than a range join
 * of millions of rows against the periods:
 * - `fx_bounds`: per currency, the first month with a rate, and the last rate row (in force from
 *   `last_month` on, for ever);
 * - `fx_month_rates`: the rate of every month from the first to the month before the last row.
 * Needs `fx_rates` and `fx_periods`.
 */
export function sqlFxLookups(d: Dialect, p: Policies): string[] {
  return [
    d.sqlCreateTableAs(
      'fx_bounds',
      `SELECT b.*, ${d.sqlRateE10('b.last_rate')} AS last_rate_e10 FROM (
         SELECT currency, min(month_index) AS first_month, max(month_index) AS last_month, ${d.sqlArgMax('rate', 'month_index')} AS last_rate
         FROM fx_rates GROUP BY currency) b`,
    ),
    d.sqlCreateTableAs(
      'fx_month_rates',
      `SELECT currency, ${d.sqlSeries('from_month', 'to_month')} AS month_index, rate, ${d.sqlRateE10('rate')} AS rate_e10
       FROM fx_periods WHERE to_month < ${OPEN_END} AND currency <> ${d.quoteString(p.reporting_currency)}`,
    ),
  ];
}

/**
 * The rate in force for a currency in a month, by the lookups of sqlFxLookups: `joins` go in the
 * FROM clause (named after `alias`), `rate` is NULL when the currency has no rate yet, and 1 for
 * the reporting currency; `rateE10` is the same rate for Dialect.sqlMultiplyPicos.
 */
export function sqlRateAt(
  d: Dialect,
  p: Policies,
  alias: string,
  currencyExpr: string,
  monthExpr: string,
): { readonly joins: string; readonly rate: string; readonly rateE10: string } {
  const b = `${alias}_fxb`;
  const m = `${alias}_fxm`;
  return {
    joins: `LEFT JOIN fx_bounds ${b} ON ${b}.currency = ${currencyExpr}
            LEFT JOIN fx_month_rates ${m} ON ${m}.currency = ${currencyExpr} AND ${m}.month_index = ${monthExpr}`,
    rate: `CASE WHEN ${currencyExpr} = ${d.quoteString(p.reporting_currency)} THEN 1
                WHEN ${monthExpr} >= ${b}.last_month THEN ${b}.last_rate
                ELSE ${m}.rate END`,
    rateE10: `CASE WHEN ${currencyExpr} = ${d.quoteString(p.reporting_currency)} THEN 10000000000
                   WHEN ${monthExpr} >= ${b}.last_month THEN ${b}.last_rate_e10
                   ELSE ${m}.rate_e10 END`,
  };
}
