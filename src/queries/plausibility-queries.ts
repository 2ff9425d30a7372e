import { sqlAccountFilter, type AccountFilter } from '../engine/account-filter.js';
import { parseGrouping } from '../engine/grouping.js';
import { monthIndex, monthText } from '../engine/months.js';
import { OVERLAP_MIN_MONTHS, sqlSuspectOverlaps, sqlTopContributors } from '../engine/plausibility-model.js';
import { Money } from '../money.js';
import type { Workspace } from '../workspace/workspace.js';

/** One line that looks like an upgrade never ended, and the fix. */
export interface SuspectLine {
  readonly account_id: string;
  readonly product: string;
  readonly line_id: string;
  /** Its MRR at the rate in force when it started. */
  readonly mrr: Money;
  /** The later line that looks like its replacement, and the day to end this one. */
  readonly replaced_by: string;
  readonly end_at: string;
}

export interface OverlapSummary {
  readonly month: string;
  /** Months two lines must have been in force together to be suspect. */
  readonly min_months: number;
  readonly lines: number;
  readonly accounts: number;
  /** MRR of the suspect lines in force at the month, and its share of all MRR then. */
  readonly mrr: Money;
  readonly share_of_mrr: number | null;
  /** The largest few, to check by hand. */
  readonly examples: readonly SuspectLine[];
}

/**
 * Lines in force at a month that look like upgrades whose old line was never ended (see
 * sqlSuspectOverlaps for the rule): how many, how much MRR, and the largest few.
 * @example (await suspectOverlaps(ws)).lines // 12
 */
export async function suspectOverlaps(ws: Workspace, q: { month?: string; examples?: number; where?: AccountFilter } = {}): Promise<OverlapSummary> {
  const month = q.month ? monthIndex(q.month) : ws.asOfMonth;
  const d = ws.driver.dialect;
  // With a filter: the lines of the accounts it keeps, and their share of those accounts' MRR.
  const rows = await ws.query(`SELECT * FROM (${sqlSuspectOverlaps(d, [month])}) o WHERE ${sqlAccountFilter(d, q.where, 'o.account_id')} ORDER BY mrr DESC, account_id, line_id`);
  const [total] = await ws.query(`SELECT sum(mrr) AS mrr FROM account_ranges WHERE from_month <= ${month} AND ${month} < to_month AND ${sqlAccountFilter(d, q.where, 'account_id')}`);
  const lines: SuspectLine[] = rows.map((r) => ({
    account_id: String(r['account_id']),
    product: String(r['product']),
    line_id: String(r['line_id']),
    mrr: Money.from(r['mrr']),
    replaced_by: String(r['replaced_by']),
    end_at: String(r['end_at']),
  }));
  const mrr = Money.sum(lines.map((l) => l.mrr));
  const all = Money.from(total?.['mrr']);
  return {
    month: monthText(month),
    min_months: OVERLAP_MIN_MONTHS,
    lines: lines.length,
    accounts: new Set(lines.map((l) => l.account_id)).size,
    mrr,
    share_of_mrr: all.isZero() ? null : mrr.toNumber() / all.toNumber(),
    examples: lines.slice(0, q.examples ?? 5),
  };
}

/** An account's part in a window's change of MRR. */
export interface Contributor {
  readonly account_id: string;
  readonly starting_mrr: Money;
  readonly ending_mrr: Money;
  readonly change: Money;
}

/**
 * The accounts of the window's starting cohort (in one group when `by` and `group` are given) whose
 * MRR changed most, either way: who drives an NRR. Empty for `--by product` (changes are per account).
 */
export async function topContributors(
  ws: Workspace,
  q: { month?: string; window: number; by?: string; group?: string; limit?: number; where?: AccountFilter },
): Promise<Contributor[]> {
  const g = parseGrouping(q.by, ws.policies);
  if (g.kind === 'product') return [];
  const month = q.month ? monthIndex(q.month) : ws.asOfMonth;
  const rows = await ws.query(sqlTopContributors(ws.driver.dialect, ws.policies, month, q.window, g, g.kind === 'all' ? undefined : q.group, q.limit ?? 5, q.where));
  return rows.map((r) => ({
    account_id: String(r['account_id']),
    starting_mrr: Money.from(r['start_mrr']),
    ending_mrr: Money.from(r['end_mrr']),
    change: Money.from(r['change']),
  }));
}
