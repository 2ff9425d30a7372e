import type { AccountFilter } from '../engine/account-filter.js';
import { monthText } from '../engine/months.js';
import type { Workspace } from '../workspace/workspace.js';
import { metricsSeries } from './metrics-queries.js';

/** One month of the retention trend: T12M and monthly NRR/GRR, with the accounts each rate is of. */
export interface RetentionTrendPoint {
  readonly month: string;
  /** Null until twelve months of history lie before the month, or when no account paid at the start. */
  readonly t12m_nrr: number | null;
  readonly t12m_grr: number | null;
  /** Accounts paying twelve months before (the T12M rates' denominator); 0 when there is no T12M figure. */
  readonly t12m_starting_accounts: number;
  readonly monthly_nrr: number | null;
  readonly monthly_grr: number | null;
  /** Accounts paying at the end of the month before. */
  readonly monthly_starting_accounts: number;
}

export interface RetentionTrendQuery {
  /** The last month, as a month index (default: the reporting month). */
  readonly to?: number;
  /** Months of trend (default 24); it never starts before the second month with revenue. */
  readonly months?: number;
  /** Only the accounts whose attributes match (see AccountFilter). */
  readonly where?: AccountFilter;
}

/**
 * T12M and monthly NRR/GRR for each month of a range, in two queries (the report's trend, and the
 * dashboard's, filtered or not).
 * @example await retentionTrend(ws, { months: 24, where: { segment: 'smb' } })
 */
export async function retentionTrend(ws: Workspace, q: RetentionTrendQuery = {}): Promise<RetentionTrendPoint[]> {
  const to = q.to ?? ws.asOfMonth;
  const first = ws.firstMonth ?? to;
  const start = Math.max(first + 1, to - (q.months ?? 24) + 1);
  const months = Array.from({ length: Math.max(0, to - start + 1) }, (_, k) => start + k);
  const t12 = new Map((await metricsSeries(ws, { months, window: 12, where: q.where })).map((m) => [m.month, m]));
  const mon = new Map((await metricsSeries(ws, { months, window: 1, where: q.where })).map((m) => [m.month, m]));
  return months.map((i) => {
    const k = monthText(i);
    const annual = i - 12 >= first ? (t12.get(k) ?? null) : null;
    const monthly = mon.get(k) ?? null;
    return {
      month: k,
      t12m_nrr: annual?.nrr ?? null,
      t12m_grr: annual?.grr ?? null,
      t12m_starting_accounts: annual?.starting_accounts ?? 0,
      monthly_nrr: monthly?.nrr ?? null,
      monthly_grr: monthly?.grr ?? null,
      monthly_starting_accounts: monthly?.starting_accounts ?? 0,
    };
  });
}
