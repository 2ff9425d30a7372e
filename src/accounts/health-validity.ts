import { monthText } from '../engine/months.js';
import { NrrError } from '../errors.js';
import type { Colour } from '../health/health-score.js';
import { outcomesKnownThrough, type Workspace } from '../workspace/workspace.js';
import { sqlRecordOutcomes } from './account-record-sql.js';
import { snapshotDate } from './account-records.js';
import { ACCOUNT_SCORES, materializeAccountScores } from './account-scores.js';
import { DEFAULT_RESAMPLES, DEFAULT_SEED, MIN_EVENTS, rankingFigures, rankingVerdict, type BootstrapOptions, type RankingFigures } from './predictive-power.js';

/**
 * `nrr health validate`: do the scores predict? Over monthly snapshots of history, each account's
 * scores as of the snapshot (from what was known then) are set against what happened to its
 * contracted MRR in the following 90 days: churned (none left) or contracted (less left).
 *
 * Every figure carries the number of cases behind it; AUC and lift carry a 95 % interval from the
 * cluster bootstrap (accounts resampled, since one account is seen at many snapshots); no verdict
 * is drawn from fewer than MIN_EVENTS cases. Only account-snapshots that were scored count towards
 * a score's figures: an account with no signal data is "not scored", and counting it as a 0 risk
 * (a block of ties at the bottom, nearly all without churn) made any score look predictive.
 */
export interface OutcomeRates {
  readonly group: string;
  /** Account-snapshots in the group. */
  readonly n: number;
  /** Of them: churned, contracted, either (the cases behind the rates). */
  readonly churned: number;
  readonly contracted: number;
  readonly lost: number;
  readonly churn_rate: number | null;
  readonly contraction_rate: number | null;
  /** Churn or contraction. */
  readonly loss_rate: number | null;
}

export interface CalibrationRow {
  readonly bucket: string;
  readonly n: number;
  readonly churned: number;
  readonly lost: number;
  readonly mean_risk: number | null;
  readonly churn_rate: number | null;
  readonly loss_rate: number | null;
}

/** One score against one outcome: AUC and top-decile lift with counts, intervals and a verdict. */
export interface ScoreValidity extends RankingFigures {
  readonly score: 'health' | 'risk';
  readonly outcome: 'churn' | 'churn_or_contraction';
  /** "ranks churn better than chance", or "too few churn cases (3) to judge", … */
  readonly verdict: string;
}

/** Red against green: only when both have account-snapshots, with the counts. */
export interface ColourComparison {
  readonly red: { readonly n: number; readonly churned: number };
  readonly green: { readonly n: number; readonly churned: number };
  /** Red's churn rate ÷ green's; null when a group is empty or green never churned. */
  readonly ratio: number | null;
  readonly verdict: string;
}

export interface ValidityReport {
  readonly snapshots: readonly string[];
  readonly horizon_days: number;
  /** Cases below which no verdict is drawn. */
  readonly min_events: number;
  /** How the intervals were made. */
  readonly interval: { readonly method: string; readonly level: 0.95; readonly resamples: number; readonly seed: number };
  readonly overall: OutcomeRates;
  /** Account-snapshots left out of a score's figures because the account had no signal data then. */
  readonly not_scored: { readonly health: number; readonly risk: number };
  readonly by_colour: readonly OutcomeRates[];
  /** Red accounts' churn rate ÷ green accounts' (the same as `colours.ratio`). */
  readonly red_to_green_churn: number | null;
  readonly colours: ColourComparison;
  readonly by_tier: readonly OutcomeRates[];
  readonly scores: readonly ScoreValidity[];
  readonly calibration: readonly CalibrationRow[];
}

interface Observation {
  readonly account: number;
  readonly colour: Colour | null;
  readonly tier: string;
  readonly health: number | null;
  readonly risk: number | null;
  readonly churned: boolean;
  readonly contracted: boolean;
}

function rates(group: string, obs: readonly Observation[]): OutcomeRates {
  const n = obs.length;
  const churned = obs.filter((o) => o.churned).length;
  const contracted = obs.filter((o) => o.contracted).length;
  const r = (k: number): number | null => (n === 0 ? null : k / n);
  return { group, n, churned, contracted, lost: churned + contracted, churn_rate: r(churned), contraction_rate: r(contracted), loss_rate: r(churned + contracted) };
}

/** Red against green, said only as far as the counts allow. */
export function compareColours(red: OutcomeRates, green: OutcomeRates): ColourComparison {
  const counts = `red ${red.churned} of ${red.n}, green ${green.churned} of ${green.n}`;
  const base = { red: { n: red.n, churned: red.churned }, green: { n: green.n, churned: green.churned } };
  const missing = [red.n === 0 ? 'red' : null, green.n === 0 ? 'green' : null].filter((x) => x !== null);
  if (missing.length > 0) return { ...base, ratio: null, verdict: `no comparison of red with green: no ${missing.join(' or ')} accounts` };
  const ratio = green.churned > 0 ? red.churned / red.n / (green.churned / green.n) : null;
  const cases = red.churned + green.churned;
  if (cases < MIN_EVENTS) return { ...base, ratio, verdict: `too few churn cases among red and green accounts (${cases}) to compare them (${counts})` };
  if (ratio === null) return { ...base, ratio, verdict: `red accounts churned, green ones never did (${counts})` };
  return { ...base, ratio, verdict: `red accounts churned ${ratio.toFixed(1)}× as often as green ones (${counts})` };
}

/**
 * The validity report over `months` monthly snapshots, the last one `horizonDays` before the
 * reporting month's end (or, for an old export, before the last month its data covers) so that every
 * outcome is known.
 */
export async function healthValidity(
  ws: Workspace,
  options: { months?: number; horizonDays?: number } & BootstrapOptions = {},
): Promise<ValidityReport> {
  const months = options.months ?? 12;
  const horizon = options.horizonDays ?? 90;
  const resamples = options.resamples ?? DEFAULT_RESAMPLES;
  const seed = options.seed ?? DEFAULT_SEED;
  if (!Number.isInteger(months) || months < 1 || months > 60) throw new NrrError(`--months: expected 1 to 60, got ${months}`);
  const lastMonth = outcomesKnownThrough(ws) - Math.ceil(horizon / 30);
  const dates: string[] = [];
  for (let m = lastMonth - months + 1; m <= lastMonth; m++) dates.push(snapshotDate(monthText(m)));
  // Every snapshot's records and scores in one query; only the compact observations come to JavaScript.
  await materializeAccountScores(ws, { days: dates, change: false });
  await ws.driver.exec(sqlRecordOutcomes(horizon, ACCOUNT_SCORES));
  const obs: Observation[] = [];
  const accountIndex = new Map<string, number>();
  const rows = await ws.query(
    `SELECT s.account_id, s.health_colour, s.tier, s.health_score, s.churn_risk, o.mrr, o.mrr_after
     FROM ${ACCOUNT_SCORES} s JOIN record_outcomes o ON o.snapshot_date = s.snapshot_date AND o.account_id = s.account_id
     WHERE s.active ORDER BY s.snapshot_date, s.account_id`,
  );
  for (const r of rows) {
    const id = String(r['account_id']);
    let account = accountIndex.get(id);
    if (account === undefined) accountIndex.set(id, (account = accountIndex.size));
    const before = Number(r['mrr']);
    const after = Number(r['mrr_after']);
    obs.push({
      account,
      colour: (r['health_colour'] ?? null) as Colour | null,
      tier: String(r['tier']),
      health: r['health_score'] === null ? null : Number(r['health_score']),
      risk: r['churn_risk'] === null ? null : Number(r['churn_risk']),
      churned: after <= 0,
      contracted: after > 0 && after < before - 1e-9,
    });
  }
  if (obs.length === 0) throw new NrrError('no accounts with revenue in the snapshots: the data has too little history for a validity report');
  const colours: Colour[] = ['green', 'yellow', 'red'];
  const byColour = colours.map((c) => rates(c, obs.filter((o) => o.colour === c)));
  const colourComparison = compareColours(byColour[2]!, byColour[0]!);
  const tiers = [...new Set(ws.scoring.tiers.map((t) => t.name))];
  const withHealth = obs.filter((o) => o.health !== null);
  const withRisk = obs.filter((o) => o.risk !== null);
  const outcomes = [
    ['churn', 'churn', (o: Observation) => o.churned],
    ['churn_or_contraction', 'churn or contraction', (o: Observation) => o.churned || o.contracted],
  ] as const;
  const scoreValidity = (score: 'health' | 'risk', list: readonly Observation[], value: (o: Observation) => number): ScoreValidity[] =>
    outcomes.map(([outcome, words, positive]) => {
      const figures = rankingFigures(
        list.map((o) => ({ score: value(o), positive: positive(o), cluster: o.account })),
        { resamples, seed },
      );
      return { score, outcome, ...figures, verdict: rankingVerdict(figures, words) };
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
    min_events: MIN_EVENTS,
    interval: { method: 'percentile bootstrap, accounts resampled with replacement', level: 0.95, resamples, seed },
    overall: rates('all', obs),
    not_scored: { health: obs.length - withHealth.length, risk: obs.length - withRisk.length },
    // Account-snapshots without a colour (not scored) get a row of their own, so the rows add up.
    by_colour: obs.some((o) => o.colour === null) ? [...byColour, rates('not scored', obs.filter((o) => o.colour === null))] : byColour,
    red_to_green_churn: colourComparison.ratio,
    colours: colourComparison,
    by_tier: tiers.map((t) => rates(t, obs.filter((o) => o.tier === t))),
    scores: [...scoreValidity('health', withHealth, (o) => -o.health!), ...scoreValidity('risk', withRisk, (o) => o.risk!)],
    calibration: buckets.map(([bucket, lo, hi]) => {
      const inBucket = withRisk.filter((o) => o.risk! >= lo && o.risk! < hi);
      const r = rates(bucket, inBucket);
      return {
        bucket,
        n: r.n,
        churned: r.churned,
        lost: r.lost,
        mean_risk: inBucket.length ? inBucket.reduce((s, o) => s + o.risk!, 0) / inBucket.length : null,
        churn_rate: r.churn_rate,
        loss_rate: r.loss_rate,
      };
    }),
  };
}
