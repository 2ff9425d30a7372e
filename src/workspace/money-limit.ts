import type { Driver } from '../drivers/driver.js';
import { NrrError } from '../errors.js';

/**
 * Money is DECIMAL(38,12): 26 digits before the point. Totals are sums of sums (a month over every
 * account, a year over months, a report over years), so the monthly revenue of every line and usage
 * charge together must stay below 10^21: that leaves room for 100,000 months of it without overflow.
 */
export const MONTHLY_TOTAL_LIMIT = 1e21;

/**
 * Refuses data whose totals would overflow money, naming the accounts with the largest amounts,
 * before any total is taken (the engine would otherwise stop on an arithmetic overflow). The sums
 * here are magnitudes for the check only, never reported.
 */
export async function checkMoneyTotals(driver: Driver): Promise<void> {
  // The total alone is one scan of each table; the accounts are looked at only when it is too large.
  const [total] = await driver.query(`SELECT
      coalesce((SELECT sum(abs(CAST(mrr_start_rate AS DOUBLE))) FROM lines), 0)
      + coalesce((SELECT sum(abs(CAST(amount_local AS DOUBLE))) FROM usage_charges), 0) AS all_total`);
  if (Number(total?.['all_total'] ?? 0) < MONTHLY_TOTAL_LIMIT) return;
  const rows = await driver.query(`WITH amounts AS (
      SELECT account_id, abs(CAST(mrr_start_rate AS DOUBLE)) AS v FROM lines
      UNION ALL SELECT account_id, abs(CAST(amount_local AS DOUBLE)) FROM usage_charges),
    per_account AS (SELECT account_id, sum(v) AS total FROM amounts GROUP BY account_id)
    SELECT account_id, total, sum(total) OVER () AS all_total FROM per_account ORDER BY total DESC, account_id LIMIT 3`);
  const all = Number(rows[0]?.['all_total'] ?? 0);
  if (all < MONTHLY_TOTAL_LIMIT) return;
  const about = (v: unknown): string => Number(v).toExponential(1);
  const largest = rows.map((r) => `${String(r['account_id'])} (about ${about(r['total'])} a month)`).join(', ');
  throw new NrrError(
    `money totals would overflow: the monthly amounts of all lines and usage add up to about ${about(all)}, and totals are exact only below 10^21 a month; the largest accounts: ${largest}. Check these amounts (a misplaced decimal point?); see docs/data-contract.md`,
  );
}
