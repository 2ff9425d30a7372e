import { sqlAccountFilter, type AccountFilter } from '../engine/account-filter.js';
import { Money } from '../money.js';
import type { Workspace } from '../workspace/workspace.js';
import { checkFilter } from './series-queries.js';

/** What an owner's accounts did in a period of months: who churned, who expanded, and by how much MRR. */
export interface OwnerPeriod {
  readonly owner: string;
  /** Accounts with a churn movement in the period. */
  readonly churned_accounts: number;
  /** The MRR those churn movements took away, as a positive amount. */
  readonly churned_mrr: Money;
  /** Accounts with an expansion movement in the period. */
  readonly expanded_accounts: number;
  /** The MRR the expansion movements added. */
  readonly expansion_mrr: Money;
}

/** The account attributes that name the book's owner, in the order billingRows reads them. */
export const BOOK_OWNER_COLUMNS = ['csm_owner', 'csm', 'owner'] as const;

/**
 * Churn and expansion per owner (the accounts' CSM owner, as the book lists them; '(none)' without
 * one) in the months `from`…`to` (month indexes, both included), from the movements the bridge
 * adds up. Owners without either movement are left out.
 * @example await ownerPeriods(ws, { from: monthIndex('2026-01'), to: monthIndex('2026-03') })
 */
export async function ownerPeriods(ws: Workspace, q: { readonly from: number; readonly to: number; readonly where?: AccountFilter }): Promise<OwnerPeriod[]> {
  checkFilter(ws, q.where);
  const d = ws.driver.dialect;
  const owners = BOOK_OWNER_COLUMNS.filter((a) => ws.attributes.includes(a));
  const owner = owners.length === 0 ? 'NULL' : `coalesce(${owners.map((o) => `CAST(a.${d.quoteIdent(o)} AS VARCHAR)`).join(', ')})`;
  const rows = await ws.query(`
    WITH period_movements AS (
      SELECT c.account_id, c.category, c.movement
      FROM account_changes c
      WHERE c.category IN ('churn', 'expansion') AND c.month_index BETWEEN ${q.from} AND ${q.to} AND ${sqlAccountFilter(d, q.where, 'c.account_id')}
    ),
    owner_period_final AS (
      SELECT ${owner} AS owner,
             count(DISTINCT m.account_id) FILTER (WHERE m.category = 'churn') AS churned_accounts,
             coalesce(sum(-m.movement) FILTER (WHERE m.category = 'churn'), 0) AS churned_mrr,
             count(DISTINCT m.account_id) FILTER (WHERE m.category = 'expansion') AS expanded_accounts,
             coalesce(sum(m.movement) FILTER (WHERE m.category = 'expansion'), 0) AS expansion_mrr
      FROM period_movements m ${owners.length > 0 ? 'LEFT JOIN accounts a ON a.account_id = m.account_id' : ''}
      GROUP BY 1
    )
    SELECT * FROM owner_period_final`);
  return rows.map((r) => ({
    owner: r['owner'] === null || r['owner'] === undefined ? '(none)' : String(r['owner']),
    churned_accounts: Number(r['churned_accounts']),
    churned_mrr: Money.from(r['churned_mrr']),
    expanded_accounts: Number(r['expanded_accounts']),
    expansion_mrr: Money.from(r['expansion_mrr']),
  }));
}
