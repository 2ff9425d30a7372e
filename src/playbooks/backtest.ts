import { snapshotDate } from '../accounts/account-records.js';
import { ACCOUNT_SCORES, defineRuleInputs, materializeAccountScores } from '../accounts/account-scores.js';
import { prepareForecastFields } from './forecast-rule-fields.js';
import Big from 'big.js';
import { monthIndex, monthText } from '../engine/months.js';
import { DEFAULT_RESAMPLES, DEFAULT_SEED, MIN_EVENTS, bootstrapIntervals, type BootstrapOptions, type Weights } from '../accounts/predictive-power.js';
import { Money } from '../money.js';
import { NrrError } from '../errors.js';
import { outcomesKnownThrough, type Workspace } from '../workspace/workspace.js';
import type { Playbook } from './playbook-config.js';
import { compileRule } from './rule-expression.js';

/**
 * `nrr playbooks backtest`: replays month-end snapshots, each seen as of its day, and asks of every
 * play: when it fired, what followed in the next 90 days (precision); of the churned, contracted or
 * expanded ARR, how much it had flagged beforehand, and how many days ahead (recall, lead time).
 * Outcomes use contracted MRR (lines in force, without usage), compared three month-ends later.
 * Every figure carries the number of cases behind it; lift carries a 95 % interval (percentile
 * bootstrap over accounts); below MIN_EVENTS fires followed by the target no verdict is drawn.
 */
export interface PlayBacktest {
  readonly playbook: string;
  /** What the play is meant to catch: expansion for expansion tasks, churn or contraction for the rest. */
  readonly target: 'expansion' | 'loss';
  /** Entries: the account was not in the play at the month-end before. */
  readonly fires: number;
  readonly followed_by_churn: number;
  readonly followed_by_contraction: number;
  readonly followed_by_expansion: number;
  /** Fires whose outcome is known (three month-ends later), and of them those followed by the target. */
  readonly fires_known: number;
  readonly hits: number;
  /** Fires followed by the target within 90 days ÷ fires with a known outcome. */
  readonly precision: number | null;
  /** Account-months with a known outcome, and of them those followed by the target. */
  readonly account_months: number;
  readonly target_cases: number;
  /** The target's rate over every account-month, for comparison. */
  readonly base_rate: number | null;
  /** Precision ÷ base rate, with its 95 % interval. */
  readonly lift: number | null;
  readonly lift_low: number | null;
  readonly lift_high: number | null;
  /** Whether there were at least MIN_EVENTS hits and target cases, so that a verdict may be drawn. */
  readonly judged: boolean;
  /** "fires before churn or contraction more often than the base rate", or "too few …". */
  readonly verdict: string;
  /** Target events (changes between month-ends) behind the recall. */
  readonly target_events: number;
  /** Target ARR (lost, or gained) the play had flagged in the 90 days before ÷ all target ARR. */
  readonly recall_arr: number | null;
  /** Exact, from the records' MRR (never summed as floats). */
  readonly target_arr: Money;
  readonly flagged_arr: Money;
  /** Median days from the first flag to the event, over flagged events. */
  readonly median_lead_days: number | null;
}

export interface Backtest {
  readonly from: string;
  readonly to: string;
  readonly snapshots: number;
  /** Hits below which no verdict is drawn. */
  readonly min_events: number;
  /** How the intervals were made. */
  readonly interval: { readonly method: string; readonly level: 0.95; readonly resamples: number; readonly seed: number };
  readonly plays: readonly PlayBacktest[];
}

const HORIZON = 3; // month-ends: about 90 days

/**
 * Replays the plays over month-ends from `from` to `to` (YYYY-MM; default the 12 months ending three
 * months before the reporting month, or before the last month an old export covers, so that every
 * outcome is known).
 */
export async function backtest(ws: Workspace, options: { from?: string; to?: string } & BootstrapOptions = {}): Promise<Backtest> {
  const resamples = options.resamples ?? DEFAULT_RESAMPLES;
  const seed = options.seed ?? DEFAULT_SEED;
  const known = outcomesKnownThrough(ws);
  const to = options.to ? monthIndex(options.to) : known - HORIZON;
  const from = options.from ? monthIndex(options.from) : to - 11;
  if (from > to) throw new NrrError(`--from ${monthText(from)} is after --to ${monthText(to)}`);
  if (to - from > 59) throw new NrrError('at most 60 months at a time');
  const months: number[] = [];
  for (let m = from; m <= Math.min(to + HORIZON, options.to ? ws.asOfMonth : known); m++) months.push(m);
  const dates = months.map((m) => snapshotDate(monthText(m)));
  // Every month-end's records and scores in one query; the plays' rules read them through rule_inputs.
  await materializeAccountScores(ws, { days: dates, change: false });
  await prepareForecastFields(ws, dates);
  await defineRuleInputs(ws);
  const d = ws.driver.dialect;
  const onDay = (date: string): string => `snapshot_date = CAST(${d.quoteString(date)} AS DATE)`;

  // Contracted MRR per account and month-end (0 when absent), from the records; accounts in the
  // order they first appear, month-end by month-end, by account_id.
  const mrr = new Map<string, number[]>();
  const exactMrr = new Map<string, Money[]>(); // the same, exact, for the ARR sums
  for (let i = 0; i < dates.length; i++) {
    for (const r of await ws.query(`SELECT account_id, mrr FROM ${ACCOUNT_SCORES} WHERE ${onDay(dates[i]!)} AND active ORDER BY account_id`)) {
      const id = String(r['account_id']);
      const m = Money.from(r['mrr']);
      const row = mrr.get(id) ?? new Array<number>(dates.length).fill(0);
      row[i] = m.toNumber();
      mrr.set(id, row);
      const exact = exactMrr.get(id) ?? new Array<Money>(dates.length).fill(Money.zero);
      exact[i] = m;
      exactMrr.set(id, exact);
    }
  }

  // Who is in each play at each replayed month-end.
  const plays = ws.scoring.playbooks;
  const inPlay: Set<string>[][] = plays.map(() => []);
  for (let i = 0; i <= to - from; i++) {
    for (const [k, p] of plays.entries()) {
      const rule = compileRule(p.when, d);
      const rows = await ws.query(`SELECT account_id FROM rule_inputs WHERE ${onDay(dates[i]!)} AND ${rule.sql}`);
      inPlay[k]!.push(new Set(rows.map((r) => String(r['account_id']))));
    }
  }

  const outcome = (row: number[], i: number): 'churn' | 'contraction' | 'expansion' | 'same' | null => {
    if (i + HORIZON >= dates.length) return null;
    const before = row[i]!;
    const after = row[i + HORIZON]!;
    if (before <= 0) return null;
    return after <= 0 ? 'churn' : after < before - 1e-9 ? 'contraction' : after > before + 1e-9 ? 'expansion' : 'same';
  };
  const hits = (o: ReturnType<typeof outcome>, target: 'expansion' | 'loss'): boolean =>
    target === 'expansion' ? o === 'expansion' : o === 'churn' || o === 'contraction';

  // Per account (the bootstrap's clusters): known fires, hits, account-months and target cases.
  const accounts = mrr.size;
  const perAccount = () => ({ known: new Float64Array(accounts), good: new Float64Array(accounts), months: new Float64Array(accounts), cases: new Float64Array(accounts) });
  const counts = plays.map(perAccount);
  const result = plays.map((p: Playbook, k): Omit<PlayBacktest, 'lift_low' | 'lift_high' | 'verdict'> => {
    const target = p.task.type === 'expansion' ? 'expansion' : 'loss';
    const c = counts[k]!;
    let fires = 0;
    const followed = { churn: 0, contraction: 0, expansion: 0 };
    for (let i = 0; i <= to - from; i++) {
      let a = -1;
      for (const [account, row] of mrr) {
        a++;
        const o = outcome(row, i);
        if (o === null) continue;
        c.months[a]!++;
        if (hits(o, target)) c.cases[a]!++;
        if (!inPlay[k]![i]!.has(account) || (i > 0 && inPlay[k]![i - 1]!.has(account))) continue;
        fires++;
        c.known[a]!++;
        if (o !== 'same') followed[o]++;
        if (hits(o, target)) c.good[a]!++;
      }
      // Entries whose outcome is not known yet still count as fires.
      for (const account of inPlay[k]![i]!) {
        const row = mrr.get(account);
        if (row && outcome(row, i) === null && !(i > 0 && inPlay[k]![i - 1]!.has(account))) fires++;
      }
    }
    // Recall: target events between consecutive month-ends, flagged if the account was in the play
    // at one of the three month-ends before the event.
    let targetArr = Money.zero;
    let targetEvents = 0;
    let flaggedArr = Money.zero;
    const leads: number[] = [];
    for (const [account, row] of mrr) {
      for (let j = 1; j < dates.length; j++) {
        const before = row[j - 1]!;
        const after = row[j]!;
        if (before <= 0) continue;
        const isTarget = target === 'expansion' ? after > before + 1e-9 : after < before - 1e-9;
        if (!isTarget) continue;
        // Only events that a replayed month-end could have flagged.
        const window = [j - 3, j - 2, j - 1].filter((i) => i >= 0 && i <= to - from);
        if (window.length === 0) continue;
        const exact = exactMrr.get(account)!;
        const change = exact[j]!.minus(exact[j - 1]!);
        const arr = (change.cmp(Money.zero) < 0 ? Money.zero.minus(change) : change).times(12);
        targetArr = targetArr.plus(arr);
        targetEvents++;
        const first = window.find((i) => inPlay[k]![i]!.has(account));
        if (first !== undefined) {
          flaggedArr = flaggedArr.plus(arr);
          leads.push(Math.round((Date.parse(dates[j]!) - Date.parse(dates[first]!)) / 86_400_000));
        }
      }
    }
    leads.sort((a, b) => a - b);
    const sum = (x: Float64Array): number => x.reduce((s, v) => s + v, 0);
    const [known, good, accountMonths, targetMonths] = [sum(c.known), sum(c.good), sum(c.months), sum(c.cases)];
    const precision = known > 0 ? good / known : null;
    const baseRate = accountMonths > 0 ? targetMonths / accountMonths : null;
    return {
      playbook: p.name,
      target,
      fires,
      followed_by_churn: followed.churn,
      followed_by_contraction: followed.contraction,
      followed_by_expansion: followed.expansion,
      fires_known: known,
      hits: good,
      precision,
      account_months: accountMonths,
      target_cases: targetMonths,
      base_rate: baseRate,
      lift: precision !== null && baseRate ? precision / baseRate : null,
      judged: good >= MIN_EVENTS && targetMonths >= MIN_EVENTS,
      target_events: targetEvents,
      recall_arr: targetArr.cmp(Money.zero) > 0 ? new Big(flaggedArr.value).div(targetArr.value).toNumber() : null,
      target_arr: targetArr,
      flagged_arr: flaggedArr,
      median_lead_days: leads.length > 0 ? leads[Math.floor((leads.length - 1) / 2)]! : null,
    };
  });
  // Lift on a resample: Σ w·hits ÷ Σ w·known fires, over Σ w·target cases ÷ Σ w·account-months.
  const weightedLift = (c: (typeof counts)[number], w: Weights): number | null => {
    let [known, good, months, cases] = [0, 0, 0, 0];
    for (let a = 0; a < w.length; a++) {
      known += w[a]! * c.known[a]!;
      good += w[a]! * c.good[a]!;
      months += w[a]! * c.months[a]!;
      cases += w[a]! * c.cases[a]!;
    }
    return known > 0 && cases > 0 ? good / known / (cases / months) : null;
  };
  const intervals = bootstrapIntervals(accounts, counts.map((c) => (w: Weights) => weightedLift(c, w)), { resamples, seed });
  const withIntervals: PlayBacktest[] = result.map((r, k) => {
    const { low, high } = intervals[k]!;
    const what = r.target === 'expansion' ? 'expansion' : 'churn or contraction';
    const verdict = !r.judged
      ? r.hits < MIN_EVENTS
        ? `too few fires followed by ${what} (${r.hits}) to judge`
        : `too few ${what} cases (${r.target_cases}) to judge`
      : low === null || high === null
        ? 'no interval: cannot judge'
        : low > 1
          ? `fires before ${what} more often than the base rate`
          : high < 1
            ? `fires before ${what} less often than the base rate`
            : 'not distinguishable from the base rate';
    return { ...r, lift_low: low, lift_high: high, verdict };
  });
  return {
    from: monthText(from),
    to: monthText(to),
    snapshots: to - from + 1,
    min_events: MIN_EVENTS,
    interval: { method: 'percentile bootstrap, accounts resampled with replacement', level: 0.95, resamples, seed },
    plays: withIntervals,
  };
}
