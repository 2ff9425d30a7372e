import { FORECAST_PROBABILITIES, sqlForecastProbabilitiesTable } from '../accounts/account-scores.js';
import { monthEnd, monthIndex } from '../engine/months.js';
import type { Workspace } from '../workspace/workspace.js';
import { DEFAULT_HORIZON_DAYS, DEFAULT_TRAINING_MONTHS, TRAINING_ACCOUNTS, horizonMonths } from './forecast.js';
import { accountsAt, filesWithRows, loadForecastRows } from './forecast-data.js';
import { fitPredictor, MIN_CHURN_EVENTS, MIN_TRAINING_MONTHS, type Predictor } from './forecast-model.js';
import { readCachedProbabilities, writeCachedProbabilities } from './probability-cache.js';

/** One account's probabilities over the 90 days after a month-end; null when the model could not be fitted. */
export interface AccountProbability {
  readonly churn_probability_90d: number | null;
  readonly expansion_probability_90d: number | null;
}

/**
 * The forecast model's 90-day probabilities for every account with MRR at one month-end: the same
 * fit and the same numbers as `nrr forecast --as-of` that month (its `churn_probability` and
 * `expansion_probability`), fitted once for all accounts.
 */
export interface AccountProbabilities {
  /** The month-end the probabilities look from (the last one on or before the day asked about). */
  readonly as_of: string;
  readonly method: Predictor['method'] | null;
  /** Why there are no probabilities (too little history for the hazard model), or null. */
  readonly not_fitted: string | null;
  /** Only accounts with MRR at `as_of`; an account not here has none (null, never 0). */
  readonly accounts: ReadonlyMap<string, AccountProbability>;
}

/** Null probabilities: what an account without a fitted model or without MRR at the month-end gets. */
export const NO_PROBABILITY: AccountProbability = { churn_probability_90d: null, expansion_probability_90d: null };

/** The month-end a day's probabilities look from: the last one on or before it, no later than the reporting month. */
export function probabilityMonth(ws: Workspace, day: string): number {
  const month = monthIndex(day.slice(0, 7));
  const atEnd = monthEnd(month) === day ? month : month - 1;
  return Math.min(atEnd, ws.asOfMonth);
}

const cache = new WeakMap<Workspace, Map<number, Promise<AccountProbabilities>>>();

/**
 * Every account's 90-day churn and expansion probabilities as of the last month-end on or before
 * `day` (YYYY-MM-DD): one fit of the forecast's hazard model, kept per workspace and month-end, so a
 * list, a page and a playbook run of the same day share it. When the history is too thin for the
 * hazard model (it would fall back to segment rates) every value is null and `not_fitted` says why.
 * The workspace must be opened with `signals: true`.
 */
export function accountProbabilities(ws: Workspace, day: string): Promise<AccountProbabilities> {
  const M = probabilityMonth(ws, day);
  let byMonth = cache.get(ws);
  if (!byMonth) cache.set(ws, (byMonth = new Map()));
  let hit = byMonth.get(M);
  if (!hit) {
    hit = computeProbabilities(ws, M);
    byMonth.set(M, hit);
    hit.catch(() => byMonth.delete(M));
  }
  return hit;
}

/** The month's probabilities as kept next to the store when it has not changed since, else fitted (and kept). */
async function computeProbabilities(ws: Workspace, M: number): Promise<AccountProbabilities> {
  const cached = await readCachedProbabilities(ws, M);
  if (cached) return cached;
  const fitted = await fitProbabilities(ws, M);
  await writeCachedProbabilities(ws, M, fitted);
  return fitted;
}

async function fitProbabilities(ws: Workspace, M: number): Promise<AccountProbabilities> {
  const H = horizonMonths(DEFAULT_HORIZON_DAYS);
  const as_of = monthEnd(M);
  const months: number[] = [];
  for (let m = Math.max(M - DEFAULT_TRAINING_MONTHS, ws.firstMonth ?? M); m <= M; m++) months.push(m);
  const count = await accountsAt(ws, M);
  if (count === 0) return { as_of, method: null, not_fitted: `no accounts with MRR at ${as_of}`, accounts: new Map() };
  const share = count > TRAINING_ACCOUNTS ? TRAINING_ACCOUNTS / count : 1;
  const rows = await loadForecastRows(ws, months, { fullMonth: M, share });
  const predictor = fitPredictor(rows.filter((r) => r.month < M), await filesWithRows(ws), { horizonMonths: H });
  if (predictor.method !== 'hazard_model')
    return {
      as_of,
      method: predictor.method,
      not_fitted:
        `thin history (${predictor.training.months} months, ${predictor.training.churn} churn events; ` +
        `the model needs ${MIN_TRAINING_MONTHS} months and ${MIN_CHURN_EVENTS} churn events); \`nrr forecast\` shows segment × time-to-renewal rates instead`,
      accounts: new Map(),
    };
  const accounts = new Map<string, AccountProbability>();
  for (const r of rows) {
    if (r.month !== M) continue;
    let stay = 1;
    let noExpansion = 1;
    for (let k = 0; k < H; k++) {
      const [c, , e] = predictor.probabilities(r, k);
      stay *= 1 - c;
      noExpansion *= 1 - e;
    }
    accounts.set(r.account_id, { churn_probability_90d: 1 - stay, expansion_probability_90d: 1 - noExpansion });
  }
  return { as_of, method: predictor.method, not_fitted: null, accounts };
}

/**
 * Writes each day's probabilities into the table play rules read (FORECAST_PROBABILITIES, one row
 * per account with MRR at the day's month-end), once per day; days already there are left alone.
 * Nothing is written for a day whose model could not be fitted: its rules see unknown values.
 */
export async function writeRuleProbabilities(ws: Workspace, days: readonly string[]): Promise<void> {
  const d = ws.driver.dialect;
  await ws.driver.exec(sqlForecastProbabilitiesTable());
  const day = (x: string): string => `CAST(${d.quoteString(x)} AS DATE)`;
  const present = new Set(
    (await ws.query(`SELECT DISTINCT CAST(snapshot_date AS VARCHAR) AS d FROM ${FORECAST_PROBABILITIES} WHERE snapshot_date IN (${days.map(day).join(', ')})`)).map((r) => String(r['d'])),
  );
  const num = (x: number | null): string => (x === null || !Number.isFinite(x) ? 'NULL' : String(x));
  for (const date of new Set(days)) {
    if (present.has(date)) continue;
    const p = await accountProbabilities(ws, date);
    const rows = [...p.accounts].map(([id, v]) => `(${day(date)}, ${d.quoteString(id)}, ${num(v.churn_probability_90d)}, ${num(v.expansion_probability_90d)})`);
    for (let i = 0; i < rows.length; i += 5000) {
      await ws.driver.exec(`INSERT INTO ${FORECAST_PROBABILITIES} VALUES ${rows.slice(i, i + 5000).join(', ')}`);
    }
  }
}
