import { sqlAccountFilter, type AccountFilter } from '../engine/account-filter.js';
import type { Granularity } from '../engine/grouping.js';
import { monthText } from '../engine/months.js';
import { NrrError } from '../errors.js';
import { Money } from '../money.js';
import type { Workspace } from '../workspace/workspace.js';
import { checkFilter } from './series-queries.js';

/** One account of a cohort: what it started with and what it has now. */
export interface CohortAccountRow {
  readonly account_id: string;
  /** The month of its first revenue. */
  readonly first_month: string;
  /** Its MRR at the end of the cohort's first period (the cohort table's base). */
  readonly starting_mrr: Money;
  /** Its MRR in the reporting month (0 when it has churned). */
  readonly mrr: Money;
  readonly active: boolean;
  readonly [attribute: string]: unknown;
}

/**
 * A cohort's period from its label: '2024-03' (month), '2024-Q1' (quarter) or '2024' (year), as
 * the cohort table names them; null when the label is none of these.
 */
export function cohortPeriod(label: string): { granularity: Granularity; first: number; months: number } | null {
  let m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(label);
  if (m) return { granularity: 'month', first: Number(m[1]) * 12 + Number(m[2]) - 1, months: 1 };
  m = /^(\d{4})-Q([1-4])$/.exec(label);
  if (m) return { granularity: 'quarter', first: Number(m[1]) * 12 + (Number(m[2]) - 1) * 3, months: 3 };
  m = /^(\d{4})$/.exec(label);
  if (m) return { granularity: 'year', first: Number(m[1]) * 12, months: 12 };
  return null;
}

/**
 * The accounts of one first-revenue cohort (the cell of the cohort table), largest start first.
 * @example await cohortAccounts(ws, '2024-Q1') // the accounts whose first revenue fell in 2024 Q1
 */
export async function cohortAccounts(ws: Workspace, cohort: string, where?: AccountFilter): Promise<CohortAccountRow[]> {
  checkFilter(ws, where);
  const p = cohortPeriod(cohort);
  if (p === null) throw new NrrError(`cohort: expected a month (2024-03), a quarter (2024-Q1) or a year (2024), got '${cohort}'`);
  const d = ws.driver.dialect;
  const base = Math.min(p.first + p.months - 1, ws.asOfMonth);
  const at = (alias: string, month: number): string =>
    `LEFT JOIN account_ranges ${alias} ON ${alias}.account_id = f.account_id AND ${alias}.from_month <= ${month} AND ${month} < ${alias}.to_month`;
  const attrs = ws.attributes.filter((a) => !['account_id', 'first_month', 'starting_mrr', 'mrr', 'active'].includes(a));
  const rows = await ws.query(
    `SELECT f.account_id, f.first_month, coalesce(s.mrr, 0) AS starting_mrr, coalesce(n.mrr, 0) AS mrr
            ${attrs.map((a, i) => `, CAST(a.${d.quoteIdent(a)} AS VARCHAR) AS attr_${i}`).join('')}
     FROM account_first_revenue f ${at('s', base)} ${at('n', ws.asOfMonth)}
     ${attrs.length > 0 ? 'LEFT JOIN accounts a ON a.account_id = f.account_id' : ''}
     WHERE f.first_month BETWEEN ${p.first} AND ${Math.min(p.first + p.months - 1, ws.asOfMonth)} AND ${sqlAccountFilter(d, where, 'f.account_id')}
     ORDER BY starting_mrr DESC, f.account_id`,
  );
  return rows.map((r) => {
    const mrr = Money.from(r['mrr']);
    return {
      account_id: String(r['account_id']),
      first_month: monthText(Number(r['first_month'])),
      starting_mrr: Money.from(r['starting_mrr']),
      mrr,
      active: mrr.cmp(Money.zero) > 0,
      ...Object.fromEntries(attrs.map((a, i) => [a, r[`attr_${i}`] ?? null])),
    };
  });
}
