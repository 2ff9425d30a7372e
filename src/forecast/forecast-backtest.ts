import { rankingFigures } from '../accounts/predictive-power.js';
import { monthEnd, monthText } from '../engine/months.js';
import { NrrError } from '../errors.js';
import { outcomesKnownThrough, type Workspace } from '../workspace/workspace.js';
import { DEFAULT_FORECAST_SEED, DEFAULT_HORIZON_DAYS, DEFAULT_TRAINING_MONTHS, forecastFrom, horizonMonths } from './forecast.js';
import { DEFAULT_BACKTEST_MONTHS, DEFAULT_BACKTEST_SIMULATIONS } from './forecast-defaults.js';
import { filesWithRows, loadCommitted, loadForecastRows, loadOutcomes } from './forecast-data.js';
import { MIN_TRAINING_MONTHS, fitPredictor } from './forecast-model.js';
import type { ForecastRow } from './hazard-features.js';

export const BASELINES = ['last_period', 'trailing_3m', 'committed'] as const;
export type Baseline = (typeof BASELINES)[number];

export { DEFAULT_BACKTEST_MONTHS, DEFAULT_BACKTEST_SIMULATIONS };

/** One replayed month-end: what each method forecast for forward NRR, and what happened. */
export interface ReplayedMonth {
  readonly as_of: string;
  readonly through: string;
  readonly accounts: number;
  readonly actual_nrr: number;
  readonly actual_grr: number;
  readonly model: { readonly p10: number; readonly p50: number; readonly p90: number; readonly method: string };
  readonly model_grr_p50: number;
  readonly baselines: Readonly<Record<Baseline, number | null>>;
}

export interface ReliabilityRow {
  readonly bucket: string;
  readonly n: number;
  readonly churned: number;
  readonly mean_probability: number | null;
  readonly churn_rate: number | null;
}

export interface ForecastBacktest {
  readonly horizon_days: number;
  readonly horizon_months: number;
  readonly months: readonly ReplayedMonth[];
  readonly model: {
    /** Mean absolute error of the P50 of forward NRR, in percentage points. */
    readonly mae_points: number | null;
    readonly grr_mae_points: number | null;
    /** Share of the replayed month-ends whose actual NRR lay within P10–P90. */
    readonly coverage_80: number | null;
    readonly covered: number;
    /** 95 % Wilson interval of the coverage from `covered` of the replayed month-ends: how much a few months can say. */
    readonly coverage_80_low: number | null;
    readonly coverage_80_high: number | null;
    /** Account × month-end pairs behind the probability figures, and the churns among them. */
    readonly account_months: number;
    readonly churned: number;
    /** Brier score of the probability of churn before T + h. */
    readonly brier: number | null;
    /** The Brier score of a constant forecast at the observed churn rate, for comparison. */
    readonly brier_constant: number | null;
    readonly auc: number | null;
    readonly auc_low: number | null;
    readonly auc_high: number | null;
    readonly reliability: readonly ReliabilityRow[];
    /** Whether the churn rate never falls as the predicted probability rises (over buckets with 20+ accounts). */
    readonly reliability_monotone: boolean;
  };
  readonly baselines: Readonly<Record<Baseline, { readonly mae_points: number | null; readonly description: string }>>;
  /** The model's 80 % interval coverage (the same as `model.coverage_80`), where a reader of the backtest looks first. */
  readonly coverage_80: number | null;
  /** Plain sentences: where the model beats each baseline and where it does not, and the targets. */
  readonly verdicts: readonly string[];
}

const BUCKETS: readonly [string, number, number][] = [
  ['0–2 %', 0, 0.02],
  ['2–5 %', 0.02, 0.05],
  ['5–10 %', 0.05, 0.1],
  ['10–20 %', 0.1, 0.2],
  ['20–40 %', 0.2, 0.4],
  ['40–100 %', 0.4, 1.01],
];

/** One month's NRR from the rows at its start (their next-month movements): 1 + (expansion − contraction − churn) ÷ start. */
function monthlyNrr(rows: readonly ForecastRow[]): number | null {
  let start = 0;
  let change = 0;
  for (const r of rows) {
    start += r.mrr;
    if (r.next === 'churn') change -= r.mrr;
    else if (r.next === 'expansion') change += r.mrr * (r.next_fraction ?? 0);
    else if (r.next === 'contraction') change -= r.mrr * (r.next_fraction ?? 0);
  }
  return start > 0 ? 1 + change / start : null;
}

/** The 95 % Wilson score interval of a proportion k of n. @example wilson(22, 24) // [0.742, 0.977] */
export function wilson(k: number, n: number): [number, number] | null {
  if (n <= 0) return null;
  const z = 1.959964;
  const p = k / n;
  const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
  const half = (z / (1 + (z * z) / n)) * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

const mean = (xs: readonly number[]): number | null => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
const points = (x: number | null): string => (x === null ? '—' : `${x.toFixed(2)} points`);

/**
 * `nrr forecast backtest`: replays the month-ends of the last `months` months whose outcome over
 * the horizon is known; at each, fits on what was known then (rows whose next month was over by
 * T), forecasts, and compares with what happened, next to three baselines run in the same replay.
 * Features for every month-end come from one query.
 */
export async function forecastBacktest(
  ws: Workspace,
  options: { horizonDays?: number; months?: number; seed?: number; simulations?: number; trainingMonths?: number } = {},
): Promise<ForecastBacktest> {
  const horizonDays = options.horizonDays ?? DEFAULT_HORIZON_DAYS;
  const H = horizonMonths(horizonDays);
  const training = options.trainingMonths ?? DEFAULT_TRAINING_MONTHS;
  const months = options.months ?? DEFAULT_BACKTEST_MONTHS;
  if (!Number.isInteger(months) || months < 1 || months > 60) throw new NrrError(`--months: expected 1 to 60, got ${months}`);
  const first = ws.firstMonth ?? ws.asOfMonth;
  const lastT = outcomesKnownThrough(ws) - H;
  const firstT = Math.max(lastT - months + 1, first + MIN_TRAINING_MONTHS);
  if (firstT > lastT) {
    throw new NrrError(`too little history to backtest a ${horizonDays}-day forecast: it needs ${MIN_TRAINING_MONTHS} months of history before a month-end and ${H} after it (history ${monthText(first)} to ${monthText(outcomesKnownThrough(ws))})`);
  }
  const span: number[] = [];
  for (let m = Math.max(first, firstT - training); m <= lastT; m++) span.push(m);
  const rows = await loadForecastRows(ws, span);
  const byMonth = new Map<number, ForecastRow[]>();
  for (const r of rows) {
    if (!byMonth.has(r.month)) byMonth.set(r.month, []);
    byMonth.get(r.month)!.push(r);
  }
  const outcomeMonths: number[] = [];
  for (let m = Math.max(first, firstT - H); m <= lastT; m++) outcomeMonths.push(m);
  const outcomes = await loadOutcomes(ws, outcomeMonths, H);
  const files = await filesWithRows(ws);
  const nrrOf = (m: number): { nrr: number; grr: number } | null => {
    const list = outcomes.get(m) ?? [];
    const start = list.reduce((s, o) => s + o.start, 0);
    if (start <= 0) return null;
    return { nrr: list.reduce((s, o) => s + o.end, 0) / start, grr: list.reduce((s, o) => s + Math.min(o.end, o.start), 0) / start };
  };

  const replayed: ReplayedMonth[] = [];
  const probabilities: { p: number; churned: boolean; account: string }[] = [];
  for (let T = firstT; T <= lastT; T++) {
    const current = byMonth.get(T) ?? [];
    const actual = nrrOf(T);
    if (current.length === 0 || actual === null) continue;
    const past = rows.filter((r) => r.month < T && r.month >= T - training);
    const predictor = fitPredictor(past, files, { horizonMonths: H });
    const committed = await loadCommitted(ws, monthEnd(T), monthEnd(T + H), monthEnd(T));
    const f = forecastFrom({
      month: T,
      horizonDays,
      current,
      predictor,
      committed,
      seed: options.seed ?? DEFAULT_FORECAST_SEED,
      simulations: options.simulations ?? DEFAULT_BACKTEST_SIMULATIONS,
      committedLines: 'started_by_as_of',
    });
    const ended = new Map((outcomes.get(T) ?? []).map((o) => [o.account_id, o.end]));
    for (const a of f.accounts) probabilities.push({ p: a.churn_probability, churned: (ended.get(a.account_id) ?? 0) <= 0, account: a.account_id });
    const trailing = [T - 3, T - 2, T - 1].map((m) => monthlyNrr(byMonth.get(m) ?? [])).filter((x): x is number => x !== null);
    const last = nrrOf(T - H);
    replayed.push({
      as_of: f.as_of,
      through: f.through,
      accounts: current.length,
      actual_nrr: actual.nrr,
      actual_grr: actual.grr,
      model: { p10: f.nrr.p10 ?? Number.NaN, p50: f.nrr.p50 ?? Number.NaN, p90: f.nrr.p90 ?? Number.NaN, method: f.method },
      model_grr_p50: f.grr.p50 ?? Number.NaN,
      baselines: {
        last_period: last === null ? null : last.nrr,
        trailing_3m: trailing.length === 3 ? mean(trailing)! ** H : null,
        committed: f.committed_nrr,
      },
    });
  }
  const absErrors = (get: (r: ReplayedMonth) => number | null): number | null =>
    mean(replayed.flatMap((r) => { const v = get(r); return v === null || Number.isNaN(v) ? [] : [Math.abs(v - r.actual_nrr) * 100]; }));
  const modelMae = absErrors((r) => r.model.p50);
  const covered = replayed.filter((r) => r.actual_nrr >= r.model.p10 && r.actual_nrr <= r.model.p90).length;
  const churned = probabilities.filter((x) => x.churned).length;
  const rate = probabilities.length ? churned / probabilities.length : null;
  const brier = mean(probabilities.map((x) => (x.p - (x.churned ? 1 : 0)) ** 2));
  const brierConstant = rate === null ? null : rate * (1 - rate);
  const accountIds = new Map<string, number>();
  const ranking = rankingFigures(
    probabilities.map((x) => {
      if (!accountIds.has(x.account)) accountIds.set(x.account, accountIds.size);
      return { score: x.p, positive: x.churned, cluster: accountIds.get(x.account)! };
    }),
    { resamples: 200, seed: options.seed ?? DEFAULT_FORECAST_SEED },
  );
  const reliability: ReliabilityRow[] = BUCKETS.map(([bucket, lo, hi]) => {
    const inBucket = probabilities.filter((x) => x.p >= lo && x.p < hi);
    const c = inBucket.filter((x) => x.churned).length;
    return { bucket, n: inBucket.length, churned: c, mean_probability: mean(inBucket.map((x) => x.p)), churn_rate: inBucket.length ? c / inBucket.length : null };
  });
  const rates = reliability.filter((r) => r.n >= 20).map((r) => r.churn_rate!);
  const monotone = rates.every((x, i) => i === 0 || x >= rates[i - 1]!);
  const baselines = {
    last_period: { mae_points: absErrors((r) => r.baselines.last_period), description: `the NRR of the ${H} months before T, carried forward` },
    trailing_3m: { mae_points: absErrors((r) => r.baselines.trailing_3m), description: `the mean monthly NRR of the 3 months before T, compounded over ${H} months` },
    committed: { mae_points: absErrors((r) => r.baselines.committed), description: 'committed changes only: contract lines known at T, in force at T + h' },
  };
  const coverage = replayed.length ? covered / replayed.length : null;
  const coverageInterval = wilson(covered, replayed.length);
  const verdicts = [
    ...BASELINES.map((b) => {
      const m = baselines[b].mae_points;
      if (modelMae === null || m === null) return `no comparison with ${b}: too few replayed months`;
      return modelMae < m
        ? `the model beats ${b}: mean absolute error ${points(modelMae)} against ${points(m)}`
        : `the model does NOT beat ${b}: mean absolute error ${points(modelMae)} against ${points(m)}`;
    }),
    `the 80 % interval held the actual NRR in ${covered} of ${replayed.length} month-ends${coverage === null ? '' : ` (${Math.round(coverage * 100)} %; 95 % ${Math.round(coverageInterval![0] * 100)}–${Math.round(coverageInterval![1] * 100)} % from so few)`}` +
      (coverage !== null && (coverage < 0.7 || coverage > 0.9) ? `: outside 70–90 %, the intervals are ${coverage < 0.7 ? 'too narrow' : 'too wide'}` : ''),
    ranking.auc === null
      ? 'no AUC: the replay has no churn, or only churn'
      : `churn before T + h: AUC ${ranking.auc.toFixed(3)} (${ranking.auc_low?.toFixed(3)}–${ranking.auc_high?.toFixed(3)}) over ${probabilities.length} account-months with ${churned} churns` +
        (ranking.auc < 0.8 ? ': below the 0.80 target' : ''),
    monotone ? 'reliability: the churn rate rises with the predicted probability' : 'reliability: NOT monotone: a higher predicted probability does not always mean more churn',
  ];
  return {
    horizon_days: horizonDays,
    horizon_months: H,
    months: replayed,
    model: {
      mae_points: modelMae,
      grr_mae_points: mean(replayed.map((r) => Math.abs(r.model_grr_p50 - r.actual_grr) * 100)),
      coverage_80: coverage,
      covered,
      coverage_80_low: coverageInterval?.[0] ?? null,
      coverage_80_high: coverageInterval?.[1] ?? null,
      account_months: probabilities.length,
      churned,
      brier,
      brier_constant: brierConstant,
      auc: ranking.auc,
      auc_low: ranking.auc_low,
      auc_high: ranking.auc_high,
      reliability,
      reliability_monotone: monotone,
    },
    baselines,
    coverage_80: coverage,
    verdicts,
  };
}
