import { monthIndex, monthText } from '../engine/months.js';
import { Money } from '../money.js';
import type { TaskView } from '../playbooks/task-views.js';
import type { OwnerPeriod } from './book-period-queries.js';

/**
 * Renewals and books of business, from the accounts as the dashboard lists them (their scores on
 * the day) and the tasks as they read on the day. Pure: the callers read the rows.
 */

/** What these views read of an account (AccountRow has every field). */
export interface RenewalAccount {
  readonly account_id: string;
  readonly name: string | null;
  readonly segment: string | null;
  readonly arr: Money;
  readonly health: number | null;
  readonly health_colour: string | null;
  readonly churn_risk: number | null;
  readonly renewal_date: string | null;
  readonly days_to_renewal: number | null;
  readonly csm_owner: string | null;
}

/** A churn risk score from which an account counts as at risk (0–100; docs/health.md). */
export const AT_RISK_SCORE = 50;

/** What at risk means, in words (printed beside the figures). */
export const AT_RISK_RULE = `health red, or churn risk ${AT_RISK_SCORE} or more`;

/** At risk: health red, or a churn risk of AT_RISK_SCORE or more. Not scored is not at risk (the reason is said elsewhere). */
export function atRisk(a: RenewalAccount): boolean {
  return a.health_colour === 'red' || (a.churn_risk !== null && a.churn_risk >= AT_RISK_SCORE);
}

export interface RenewalRow {
  readonly account_id: string;
  readonly name: string | null;
  readonly renewal_date: string;
  readonly days_to_renewal: number | null;
  readonly arr: Money;
  readonly owner: string | null;
  readonly segment: string | null;
  /** Churn risk score 0–100, null when not scored. */
  readonly risk: number | null;
  /** Health score 0–100, null when not scored. */
  readonly health: number | null;
  readonly health_colour: string | null;
  /** From the 90-day forecast, null when there is none (yet, or it could not be fitted). */
  readonly churn_probability_90d: number | null;
  readonly at_risk: boolean;
  /** The ARR of an account at risk (atRisk), else 0. */
  readonly arr_at_risk: Money;
  /** ARR × churn_probability_90d: the ARR the forecast expects to lose; null without a probability. */
  readonly expected_arr_loss: Money | null;
}

export interface RenewalMonth {
  readonly month: string;
  readonly accounts: number;
  readonly arr: Money;
  readonly at_risk_accounts: number;
  readonly arr_at_risk: Money;
  /** Null when any renewal of the month has no probability. */
  readonly expected_arr_loss: Money | null;
}

const sum = (xs: readonly Money[]): Money => Money.sum(xs);

/**
 * The renewals (contract ends) in the months from `from` to `to` (YYYY-MM, inclusive), soonest first,
 * and a summary per month (every month of the range, empty ones too).
 * @example renewals(rows, { from: '2026-07', to: '2026-09' }, probs).by_month[0].arr_at_risk
 */
export function renewals(
  accounts: readonly RenewalAccount[],
  range: { from: string; to: string },
  probabilities: ReadonlyMap<string, number> | null,
): { rows: RenewalRow[]; by_month: RenewalMonth[] } {
  const lo = monthIndex(range.from);
  const hi = monthIndex(range.to);
  // YYYY-MM compares as text: no date parsing per account.
  const inRange = (d: string): boolean => d.slice(0, 7) >= range.from && d.slice(0, 7) <= range.to;
  const rows: RenewalRow[] = accounts
    .filter((a) => a.renewal_date !== null && inRange(a.renewal_date))
    .map((a) => {
      const p = probabilities?.get(a.account_id) ?? null;
      const risky = atRisk(a);
      return {
        account_id: a.account_id,
        name: a.name,
        renewal_date: a.renewal_date!,
        days_to_renewal: a.days_to_renewal,
        arr: a.arr,
        owner: a.csm_owner,
        segment: a.segment,
        risk: a.churn_risk,
        health: a.health,
        health_colour: a.health_colour,
        churn_probability_90d: p,
        at_risk: risky,
        arr_at_risk: risky ? a.arr : Money.zero,
        expected_arr_loss: p === null ? null : Money.from(a.arr.times(p).toFixed(2)),
      };
    })
    .sort((x, y) => (x.renewal_date < y.renewal_date ? -1 : x.renewal_date > y.renewal_date ? 1 : y.arr.cmp(x.arr) || (x.account_id < y.account_id ? -1 : 1)));
  const byMonth = new Map<string, RenewalRow[]>();
  for (const r of rows) {
    const k = r.renewal_date.slice(0, 7);
    const list = byMonth.get(k);
    if (list) list.push(r);
    else byMonth.set(k, [r]);
  }
  const by_month: RenewalMonth[] = [];
  for (let m = lo; m <= hi; m++) {
    const mine = byMonth.get(monthText(m)) ?? [];
    by_month.push({
      month: monthText(m),
      accounts: mine.length,
      arr: sum(mine.map((r) => r.arr)),
      at_risk_accounts: mine.filter((r) => r.at_risk).length,
      arr_at_risk: sum(mine.map((r) => r.arr_at_risk)),
      expected_arr_loss: mine.some((r) => r.expected_arr_loss === null) ? null : sum(mine.map((r) => r.expected_arr_loss!)),
    });
  }
  return { rows, by_month };
}

export interface BookRow {
  readonly owner: string;
  readonly accounts: number;
  readonly arr: Money;
  readonly at_risk_accounts: number;
  readonly arr_at_risk: Money;
  readonly open_tasks: number;
  readonly overdue_tasks: number;
  /** Renewals in the 90 days from the day (days_to_renewal 0–90). */
  readonly renewals_90d: number;
  readonly renewals_90d_arr: Money;
  /** With a period (ownerPeriods): its churn and expansion; owners with only those have 0 accounts. */
  readonly churned_accounts?: number;
  readonly churned_mrr?: Money;
  readonly expanded_accounts?: number;
  readonly expansion_mrr?: Money;
}

/**
 * The book of business per owner (the accounts' CSM owner; tasks by their owner, matched without
 * case): accounts, ARR, at-risk ARR, open and overdue tasks, renewals in the next 90 days. Largest
 * ARR first; `owner` keeps one owner's row. With `periods`, each row adds its owner's churn and
 * expansion in that period.
 */
export function books(accounts: readonly RenewalAccount[], tasks: readonly TaskView[], owner?: string, periods?: readonly OwnerPeriod[]): BookRow[] {
  const key = (o: string): string => o.toLowerCase();
  const by = new Map<string, { owner: string; accounts: RenewalAccount[]; open: number; overdue: number }>();
  const entry = (o: string) => {
    let e = by.get(key(o));
    if (!e) by.set(key(o), (e = { owner: o, accounts: [], open: 0, overdue: 0 }));
    return e;
  };
  for (const a of accounts) entry(a.csm_owner ?? '(none)').accounts.push(a);
  for (const t of tasks) {
    if (t.status !== 'open') continue;
    const e = entry(t.owner);
    e.open++;
    if (t.overdue) e.overdue++;
  }
  const period = new Map<string, OwnerPeriod>();
  for (const p of periods ?? []) {
    entry(p.owner);
    period.set(key(p.owner), p);
  }
  return [...by.values()]
    .filter((e) => owner === undefined || key(e.owner) === key(owner))
    .map((e) => {
      const soon = e.accounts.filter((a) => a.days_to_renewal !== null && a.days_to_renewal >= 0 && a.days_to_renewal <= 90);
      const risky = e.accounts.filter(atRisk);
      return {
        owner: e.owner,
        accounts: e.accounts.length,
        arr: sum(e.accounts.map((a) => a.arr)),
        at_risk_accounts: risky.length,
        arr_at_risk: sum(risky.map((a) => a.arr)),
        open_tasks: e.open,
        overdue_tasks: e.overdue,
        renewals_90d: soon.length,
        renewals_90d_arr: sum(soon.map((a) => a.arr)),
        ...(periods === undefined ? {} : periodOf(period.get(key(e.owner)))),
      };
    })
    .sort((x, y) => y.arr.cmp(x.arr) || x.owner.localeCompare(y.owner));
}

/** An owner's churn and expansion in the period (zeros when they had neither). */
function periodOf(p: OwnerPeriod | undefined): Pick<Required<BookRow>, 'churned_accounts' | 'churned_mrr' | 'expanded_accounts' | 'expansion_mrr'> {
  return { churned_accounts: p?.churned_accounts ?? 0, churned_mrr: p?.churned_mrr ?? Money.zero, expanded_accounts: p?.expanded_accounts ?? 0, expansion_mrr: p?.expansion_mrr ?? Money.zero };
}
