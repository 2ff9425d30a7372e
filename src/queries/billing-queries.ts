import { Money } from '../money.js';
import type { Workspace } from '../workspace/workspace.js';

/**
 * What renewals and books need of every customer on a day, from the contract lines alone: MRR,
 * ARR, the renewal date (the latest end of its lines of terms longer than a month in force) and
 * owner and segment. The same definitions as the account records (account-record-sql.ts, `billing`),
 * without the signals: it answers in a second at 100,000 accounts where scoring them takes minutes.
 */
export interface BillingRow {
  readonly account_id: string;
  readonly name: string | null;
  readonly segment: string | null;
  readonly csm_owner: string | null;
  readonly mrr: Money;
  readonly arr: Money;
  readonly renewal_date: string | null;
  readonly days_to_renewal: number | null;
}

/** Every account with MRR on `day` (YYYY-MM-DD). */
export async function billingRows(ws: Workspace, day: string): Promise<BillingRow[]> {
  const d = ws.driver.dialect;
  const at = `CAST(${d.quoteString(day)} AS DATE)`;
  const inForce = `start_date <= ${at} AND (end_date IS NULL OR end_date > ${at})`;
  const owner = ['csm_owner', 'csm', 'owner'].filter((a) => ws.attributes.includes(a));
  const attr = (a: string | undefined): string => (a === undefined ? 'NULL' : `CAST(a.${d.quoteIdent(a)} AS VARCHAR)`);
  const rows = await ws.query(`
    WITH valued AS (
      SELECT l.account_id, l.start_date, l.end_date, l.interval_months, l.mrr_start_rate AS mrr,
        CASE WHEN l.amount IS NOT NULL AND l.interval_weeks IS NULL AND l.interval_months > 0 AND 12 % l.interval_months = 0 AND l.mrr_start_rate = l.mrr_local
             THEN CAST((l.amount - coalesce(l.discount, 0)) * (12 // l.interval_months) AS ${d.moneyType})
             WHEN l.amount IS NOT NULL AND l.interval_weeks > 0 AND 52 % l.interval_weeks = 0 AND l.mrr_start_rate = l.mrr_local
             THEN CAST((l.amount - coalesce(l.discount, 0)) * (52 // l.interval_weeks) AS ${d.moneyType})
             ELSE l.mrr_start_rate * 12 END AS arr
      FROM lines l WHERE l.start_date <= ${at} AND (l.end_date IS NULL OR l.end_date > ${at})
    ),
    billing AS (
      SELECT account_id, sum(mrr) AS mrr, sum(arr) AS arr, max(end_date) FILTER (WHERE interval_months > 1) AS contract_end
      FROM valued WHERE ${inForce} GROUP BY account_id HAVING sum(mrr) > 0
    )
    SELECT b.account_id, b.mrr, b.arr, CAST(b.contract_end AS VARCHAR) AS renewal_date,
           CASE WHEN b.contract_end IS NOT NULL THEN date_diff('day', ${at}, b.contract_end) END AS days_to_renewal,
           ${attr(ws.attributes.includes('name') ? 'name' : undefined)} AS name, ${attr(ws.attributes.includes('segment') ? 'segment' : undefined)} AS segment,
           ${owner.length === 0 ? 'NULL' : `coalesce(${owner.map((o) => attr(o)).join(', ')})`} AS csm_owner
    FROM billing b LEFT JOIN accounts a ON a.account_id = b.account_id`);
  const text = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
  return rows.map((r) => ({
    account_id: String(r['account_id']),
    name: text(r['name']),
    segment: text(r['segment']),
    csm_owner: text(r['csm_owner']),
    mrr: Money.from(r['mrr']),
    arr: Money.from(r['arr']),
    renewal_date: text(r['renewal_date']),
    days_to_renewal: r['days_to_renewal'] === null || r['days_to_renewal'] === undefined ? null : Number(r['days_to_renewal']),
  }));
}
