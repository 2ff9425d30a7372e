import { materializeAccountScores, readAccountScores } from '../accounts/account-scores.js';
import { monthEnd, monthText } from '../engine/months.js';
import { Money } from '../money.js';
import { mrrLedger } from './ledger-queries.js';
import type { Workspace } from '../workspace/workspace.js';

/** The table one account's month-end scores are written to (replaced on every call). */
const HISTORY_SCORES = 'account_history_scores';

/** An account at one month-end. */
export interface HistoryPoint {
  readonly month: string;
  /** The month's last day, the snapshot the figures are taken on. */
  readonly date: string;
  /** The ledger's MRR of the month, as `nrr mrr` and the revenue series count it; arr = mrr × 12. */
  readonly mrr: Money;
  readonly arr: Money;
  readonly active: boolean;
  /** 0–100 and red/yellow/green; null when the account has no score that day (not a customer, or no signals). */
  readonly health: number | null;
  readonly health_colour: string | null;
  readonly churn_risk: number | null;
  readonly expansion_readiness: number | null;
  readonly seats_purchased: number | null;
  readonly seats_active: number | null;
  /** Mean weekly active users over the complete weeks of the 30 days to the snapshot (product usage; docs/health.md). */
  readonly users_30d: number | null;
}

export interface AccountHistory {
  readonly account_id: string;
  readonly points: readonly HistoryPoint[];
  /** Which figures leave usage charges out (the usage policy), and the policy itself. */
  readonly usage_policy: 'include' | 'exclude';
  readonly excludes_usage: readonly string[];
  readonly note: string;
}

/**
 * An account's month-end health, risk, MRR, seats and usage over the last `months` months to the
 * reporting month, scored as the account page scores a day.
 * @example (await accountHistory(ws, 'A7', 12)).points.at(-1).health
 */
export async function accountHistory(ws: Workspace, id: string, months = 12): Promise<AccountHistory> {
  const first = Math.max(ws.asOfMonth - months + 1, ws.firstMonth ?? ws.asOfMonth);
  const days = Array.from({ length: ws.asOfMonth - first + 1 }, (_, k) => monthEnd(first + k));
  await materializeAccountScores(ws, { days, table: HISTORY_SCORES, accounts: { ids: [id] }, change: false });
  const scored = await readAccountScores(ws, { table: HISTORY_SCORES, accountId: id });
  const byDay = new Map(scored.map((s) => [s.record.snapshot_date, s]));
  const ledger = new Map((await mrrLedger(ws, { account: id })).map((l) => [l.month, l.mrr]));
  const points: HistoryPoint[] = days.flatMap((date, k) => {
    const s = byDay.get(date);
    if (!s) return [];
    const r = s.record;
    const mrr = ledger.get(monthText(first + k)) ?? Money.zero;
    return [
      {
        month: monthText(first + k),
        date,
        mrr,
        arr: mrr.times(12),
        active: !mrr.isZero(),
        health: s.health.score,
        health_colour: s.health.colour,
        churn_risk: s.risk.score,
        expansion_readiness: s.expansion.score,
        seats_purchased: r.seats_purchased,
        seats_active: r.seats_active,
        users_30d: r.users_30d,
      },
    ];
  });
  const exclude = ws.policies.usage === 'exclude';
  return {
    account_id: id,
    points,
    usage_policy: ws.policies.usage,
    excludes_usage: exclude ? ['mrr', 'arr'] : [],
    note: exclude
      ? 'MRR and ARR leave usage charges out (policy usage: exclude); users_30d counts product usage, not billing'
      : 'MRR and ARR include usage charges billed in the month (policy usage: include); users_30d counts product usage, not billing',
  };
}
