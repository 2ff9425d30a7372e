import { sqlAccountFilter, type AccountFilter } from '../engine/account-filter.js';
import { sqlPeriodLabel, type Granularity } from '../engine/grouping.js';
import { Money } from '../money.js';
import type { Workspace } from '../workspace/workspace.js';
import { checkFilter } from './series-queries.js';

export interface CohortRow {
  /** First-revenue period: '2024-03', '2024-Q1' or '2024'. */
  readonly cohort: string;
  readonly accounts: number;
  /** The cohort's MRR at the end of its first period. */
  readonly starting_mrr: Money;
  /** Revenue retention at the end of period k after the first (index 0 = 1.0), up to the reporting month. */
  readonly retention: readonly (number | null)[];
  /** Share of the cohort's accounts with MRR at the end of each period. */
  readonly logo_retention: readonly number[];
  /** Fewer accounts than the `min_group_accounts` policy: its retention is too noisy to trust. */
  readonly small_group: boolean;
}

const PERIOD_MONTHS: Record<Granularity, number> = { month: 1, quarter: 3, year: 12 };

/**
 * Cohort table: accounts grouped by the period of their first revenue; each cell is the cohort's
 * MRR at the end of period k ÷ its MRR at the end of its first period.
 * @example (await cohortTable(ws, 'quarter'))[0].retention[4] // a year on
 */
export async function cohortTable(
  ws: Workspace,
  granularity: Granularity = ws.policies.cohort_granularity,
  /** Only the accounts whose attributes match. */
  where?: AccountFilter,
  /** The last month read, as a month index (default: the reporting month): the table as it stood then. */
  through: number = ws.asOfMonth,
): Promise<CohortRow[]> {
  checkFilter(ws, where);
  const d = ws.driver.dialect;
  const g = PERIOD_MONTHS[granularity];
  const rows = await ws.query(`
    WITH acc AS (SELECT account_id, first_month // ${g} AS p, first_month FROM account_first_revenue WHERE first_month <= ${through} AND ${sqlAccountFilter(d, where, 'account_id')}),
    cells AS (
      SELECT a.account_id, a.p, a.first_month, k, (a.p + k) * ${g} + ${g - 1} AS at_month
      FROM acc a, range(0, (${through} // ${g}) - a.p + 1) AS t(k)
      WHERE (a.p + k) * ${g} + ${g - 1} <= ${through} OR k = 0
    ),
    valued AS (
      SELECT c.p, c.k, c.account_id, coalesce(r.mrr, 0) AS mrr
      FROM cells c LEFT JOIN account_ranges r
        ON r.account_id = c.account_id AND r.from_month <= least(c.at_month, ${through}) AND least(c.at_month, ${through}) < r.to_month
    )
    SELECT ${sqlPeriodLabel(d, granularity, `p * ${g}`)} AS cohort, p, k, count(*) AS accounts,
           count(*) FILTER (WHERE mrr > 0) AS active, sum(mrr) AS mrr
    FROM valued GROUP BY ALL ORDER BY p, k`);
  const out = new Map<string, { accounts: number; start: Money; retention: (number | null)[]; logos: number[] }>();
  for (const r of rows) {
    const cohort = String(r['cohort']);
    const mrr = Money.from(r['mrr']);
    let c = out.get(cohort);
    if (!c) {
      c = { accounts: Number(r['accounts']), start: mrr, retention: [], logos: [] };
      out.set(cohort, c);
    }
    c.retention.push(c.start.isZero() ? null : mrr.toNumber() / c.start.toNumber());
    c.logos.push(Number(r['active']) / c.accounts);
  }
  return [...out].map(([cohort, c]) => ({
    cohort,
    accounts: c.accounts,
    starting_mrr: c.start,
    retention: c.retention,
    logo_retention: c.logos,
    small_group: c.accounts < ws.policies.min_group_accounts,
  }));
}
