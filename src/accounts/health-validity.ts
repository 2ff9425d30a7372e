import { monthText } from '../engine/months.js';
import { NrrError } from '../errors.js';
import type { Colour } from '../health/health-score.js';
import type { Workspace } from '../workspace/workspace.js';
import { sqlRecordOutcomes } from './account-record-sql.js';
import { buildAccountRecords, readAccountRecords, scoreRecords, snapshotDate } from './account-records.js';
import { lift, rocAuc } from './predictive-power.js';

/**
 * `nrr health validate`: do the scores predict? Over monthly snapshots of history, each account's
 * scores as of the snapshot (from what was known then) are set against what happened to its
 * contracted MRR in the following 90 days: churned (none left) or contracted (less left).
 */
export interface OutcomeRates {
  readonly group: string;
  /** Account-snapshots in the group. */
  readonly n: number;
  readonly churn_rate: number | null;
  readonly contraction_rate: number | null;
  /** Churn or contraction. */
  readonly loss_rate: number | null;
}

export interface CalibrationRow {
  readonly bucket: string;
  readonly n: number;
  readonly mean_risk: number | null;
  readonly churn_rate: number | null;
  readonly loss_rate: number | null;
}

export interface ScoreValidity {
  readonly score: 'health' | 'risk';
  readonly auc_churn: number | null;
  readonly auc_loss: number | null;
  /** Loss rate of the top 10 % by score ÷ the overall loss rate. */
  readonly lift_top_decile: number | null;
}

export interface ValidityReport {
  readonly snapshots: readonly string[];
  readonly horizon_days: number;
  readonly overall: OutcomeRates;
  readonly by_colour: readonly OutcomeRates[];
  /** Red accounts' churn rate ÷ green accounts'. */
  readonly red_to_green_churn: number | null;
  readonly by_tier: readonly OutcomeRates[];
  readonly scores: readonly ScoreValidity[];
  readonly calibration: readonly CalibrationRow[];
}

interface Observation {
  readonly colour: Colour | null;
  readonly tier: string;
  readonly health: number | null;
  readonly risk: number;
  readonly churned: boolean;
  readonly contracted: boolean;
}

function rates(group: string, obs: readonly Observation[]): OutcomeRates {
  const n = obs.length;
  const r = (f: (o: Observation) => boolean): number | null => (n === 0 ? null : obs.filter(f).length / n);
  return { group, n, churn_rate: r((o) => o.churned), contraction_rate: r((o) => o.contracted), loss_rate: r((o) => o.churned || o.contracted) };
}

/**
 * The validity report over `months` monthly snapshots, the last one `horizonDays` before the
 * reporting month's end so that every outcome is known.
 */
export async function healthValidity(ws: Workspace, options: { months?: number; horizonDays?: number } = {}): Promise<ValidityReport> {
  const months = options.months ?? 12;
  const horizon = options.horizonDays ?? 90;
  if (!Number.isInteger(months) || months < 1 || months > 60) throw new NrrError(`--months: expected 1 to 60, got ${months}`);
  const lastMonth = ws.asOfMonth - Math.ceil(horizon / 30);
  const dates: string[] = [];
  for (let m = lastMonth - months + 1; m <= lastMonth; m++) dates.push(snapshotDate(monthText(m)));
  await buildAccountRecords(ws, dates);
  await ws.driver.exec(sqlRecordOutcomes(horizon));
  // One snapshot at a time: only the compact observations are kept, not every record.
  const obs: Observation[] = [];
  for (const date of dates) {
    const outcomes = new Map(
      (await ws.query(`SELECT account_id, mrr, mrr_after FROM record_outcomes WHERE snapshot_date = CAST('${date}' AS DATE)`)).map((r) => [
        String(r['account_id']),
        { before: Number(r['mrr']), after: Number(r['mrr_after']) },
      ]),
    );
    for (const s of scoreRecords(ws, await readAccountRecords(ws, { date, activeOnly: true }))) {
      const o = outcomes.get(s.record.account_id);
      if (!o) continue;
      obs.push({
        colour: s.health.colour,
        tier: s.tier,
        health: s.health.score,
        risk: s.risk.score,
        churned: o.after <= 0,
        contracted: o.after > 0 && o.after < o.before - 1e-9,
      });
    }
  }
  if (obs.length === 0) throw new NrrError('no accounts with revenue in the snapshots: the data has too little history for a validity report');
  const colours: Colour[] = ['green', 'yellow', 'red'];
  const byColour = colours.map((c) => rates(c, obs.filter((o) => o.colour === c)));
  const green = byColour[0]!.churn_rate;
  const red = byColour[2]!.churn_rate;
  const tiers = [...new Set(ws.scoring.tiers.map((t) => t.name))];
  const withHealth = obs.filter((o) => o.health !== null);
  const scoreValidity = (score: 'health' | 'risk', list: readonly Observation[], value: (o: Observation) => number): ScoreValidity => ({
    score,
    auc_churn: rocAuc(list.map((o) => ({ score: value(o), positive: o.churned }))),
    auc_loss: rocAuc(list.map((o) => ({ score: value(o), positive: o.churned || o.contracted }))),
    lift_top_decile: lift(list.map((o) => ({ score: value(o), positive: o.churned || o.contracted }))),
  });
  const buckets: [string, number, number][] = [
    ['0–9', 0, 10],
    ['10–19', 10, 20],
    ['20–29', 20, 30],
    ['30–39', 30, 40],
    ['40–59', 40, 60],
    ['60–100', 60, 101],
  ];
  return {
    snapshots: dates,
    horizon_days: horizon,
    overall: rates('all', obs),
    by_colour: byColour,
    red_to_green_churn: red !== null && green ? red / green : null,
    by_tier: tiers.map((t) => rates(t, obs.filter((o) => o.tier === t))),
    scores: [scoreValidity('health', withHealth, (o) => -(o.health ?? 0)), scoreValidity('risk', obs, (o) => o.risk)],
    calibration: buckets.map(([bucket, lo, hi]) => {
      const inBucket = obs.filter((o) => o.risk >= lo && o.risk < hi);
      const r = rates(bucket, inBucket);
      return {
        bucket,
        n: r.n,
        mean_risk: inBucket.length ? inBucket.reduce((s, o) => s + o.risk, 0) / inBucket.length : null,
        churn_rate: r.churn_rate,
        loss_rate: r.loss_rate,
      };
    }),
  };
}
