import { filterWords, hasFilter, type AccountFilter } from '../engine/account-filter.js';
import { monthEnd, monthIndex, monthText } from '../engine/months.js';
import { NrrError } from '../errors.js';
import { Money } from '../money.js';
import { filteredAccountIds } from '../queries/attribute-queries.js';
import type { Workspace } from '../workspace/workspace.js';
import { accountsAt, filesWithRows, loadAttribute, loadCommitted, loadForecastRows, loadMrrAt } from './forecast-data.js';
import { fitPredictor, type Predictor } from './forecast-model.js';
import type { ForecastRow } from './hazard-features.js';
import { column, quantile, simulateOutcomes, simulateRevenue, sumOutcomes, type SimAccount, type SimOutcomes, type SimTotals, type SumAccount } from './simulate-revenue.js';
import { DEFAULT_FORECAST_SEED, DEFAULT_HORIZON_DAYS, DEFAULT_SIMULATIONS, DOWNSIDE_COUNT, SIMULATION_BUDGET } from './forecast-defaults.js';

export { DEFAULT_FORECAST_SEED, DEFAULT_HORIZON_DAYS, DEFAULT_SIMULATIONS, DOWNSIDE_COUNT, SIMULATION_BUDGET };

export const MIN_DEFAULT_SIMULATIONS = 300;

/** The default number of simulated periods for this many accounts (SIMULATION_BUDGET). */
export function defaultSimulations(accounts: number): number {
  const fit = Math.ceil(SIMULATION_BUDGET / Math.max(1, accounts) / 50) * 50;
  return Math.max(MIN_DEFAULT_SIMULATIONS, Math.min(DEFAULT_SIMULATIONS, fit));
}

/**
 * The Monte Carlo error of P10 and P90 from S periods, as a share of the interval's half-width
 * (normal theory: the standard error of a 10 % quantile is √(0.1 × 0.9 ÷ S) ÷ φ(1.2816) standard
 * deviations, the half-width 1.2816 of them): 4 % at 1,000 periods, 6 % at 500.
 */
export function quantileError(simulations: number): number {
  return Math.sqrt(0.09 / simulations) / 0.17550 / 1.2816;
}
/** Month-ends of history the model is fitted on (the latest ones before T). */
export const DEFAULT_TRAINING_MONTHS = 24;
/**
 * At most about this many accounts' history trains the model: a larger company's accounts are
 * sampled (by a hash of their id, all their month-ends) so that memory and time stay bounded; the
 * forecast itself covers every account.
 */
export const TRAINING_ACCOUNTS = 3000;

export interface ForecastOptions {
  /** Days ahead, 30 to 180 (default 90); simulated in whole months (90 days = 3 months). */
  readonly horizonDays?: number;
  /** An account attribute to give the figures by as well. */
  readonly by?: string;
  /**
   * Only the accounts whose attributes match (AccountFilter): the model is still fitted on the whole
   * company's history and every account is simulated; the figures are summed over these accounts.
   */
  readonly where?: AccountFilter;
  readonly seed?: number;
  readonly simulations?: number;
  readonly trainingMonths?: number;
  /** Accounts whose history trains the model, at most (default TRAINING_ACCOUNTS); more are sampled. */
  readonly trainingAccounts?: number;
  /** T as a month (YYYY-MM), no later than the workspace's reporting month (default: that month). */
  readonly asOf?: string;
  /** Put reasons into words for only this many accounts, by expected loss (default: every account). */
  readonly explain?: number;
}

/** P10, P50, P90 of a figure (fractions for NRR and GRR). */
export interface Quantiles<T> {
  readonly p10: T;
  readonly p50: T;
  readonly p90: T;
}

export interface ForecastFigures {
  /** The group's value with --by; absent for the whole company. */
  readonly group?: string;
  /** Accounts with MRR at T (today's customers: the cohort whose forward NRR this is). */
  readonly account_count: number;
  readonly starting_mrr: Money;
  /** Starting MRR plus the committed layer: what the data already knows MRR will be at T + h. */
  readonly committed_mrr: Money;
  /** committed_mrr ÷ starting_mrr: the forecast if nothing but the committed changes happened. */
  readonly committed_nrr: number | null;
  readonly nrr: Quantiles<number | null>;
  readonly grr: Quantiles<number | null>;
  readonly ending_mrr: Quantiles<Money>;
  /** Means over the simulations, by the cohort's movements from T to T + h. */
  readonly expected_expansion: Money;
  readonly expected_contraction: Money;
  readonly expected_churn: Money;
  /** The T12M NRR that will be reported at the month-end T + h (see T12mForecast); absent when not computed. */
  readonly t12m?: T12mForecast;
}

/**
 * The trailing-twelve-month NRR the report will show at the month-end T + h (snapshot method, ledger
 * MRR): MRR at T + h of the accounts that had MRR 12 months before then, over their MRR then. The
 * cohort's MRR 12 months before T + h is history, as are the accounts of it that left by T (0 at
 * T + h: reactivation is not forecast); only the months from T to T + h are simulated.
 */
export interface T12mForecast {
  /** The month-end the T12M NRR is reported at (T + h). */
  readonly reported_at: string;
  /** The month-end 12 months before it, whose customers are the cohort. */
  readonly cohort_from: string;
  /** Accounts with MRR at `cohort_from`, and how many of them still had MRR at T. */
  readonly account_count: number;
  readonly accounts_at_as_of: number;
  /** Their MRR at `cohort_from` (the denominator). */
  readonly starting_mrr: Money;
  /** Their MRR at T (history: what is already known of the numerator's path). */
  readonly mrr_at_as_of: Money;
  /** The T12M NRR if only the committed changes happened. */
  readonly committed_nrr: number | null;
  readonly nrr: Quantiles<number | null>;
}

export interface AccountForecast {
  readonly account_id: string;
  readonly group: string | null;
  readonly mrr: Money;
  readonly committed_change: Money;
  /** Probability of churn, of at least one contraction, of at least one expansion before T + h. */
  readonly churn_probability: number;
  readonly contraction_probability: number;
  readonly expansion_probability: number;
  /** MRR × churn probability + MRR × contraction probability × the mean contraction fraction. */
  readonly expected_loss: Money;
  /** Why it may churn, in words (the inputs that raise its churn odds most). */
  readonly reasons: readonly string[];
  readonly expansion_reasons: readonly string[];
}

export interface Forecast extends ForecastFigures {
  /** T: the last day of the month the forecast looks from. */
  readonly as_of: string;
  readonly horizon_days: number;
  readonly horizon_months: number;
  /** T + h: the last day of the month the forward NRR is taken at. */
  readonly through: string;
  readonly method: Predictor['method'];
  readonly seed: number;
  readonly simulations: number;
  readonly training: Predictor['training'];
  readonly calibration: Predictor['calibration'];
  /** The common shock's spread per event kind (wider intervals where events vary more than chance). */
  readonly shock: { readonly churn: number; readonly contraction: number; readonly expansion: number };
  /** The factor the simulated spread around the P50 was scaled by, from the training months (Predictor.spread_scale). */
  readonly spread_scale: number;
  /** Which lines the committed layer read: `all` (from today: scheduled starts count) or those started by T. */
  readonly committed_lines: 'all' | 'started_by_as_of';
  readonly notes: readonly string[];
  /** With a filter: the condition, and how many accounts of the company's customers at T it keeps. */
  readonly filter?: ForecastFilter;
  readonly by?: { readonly attribute: string; readonly groups: readonly ForecastFigures[] };
  /** The accounts with the largest expected loss, with their reasons. */
  readonly downside: readonly AccountForecast[];
  /** Every account with MRR at T, by expected loss (largest first). */
  readonly accounts: readonly AccountForecast[];
}

/** The accounts a filtered forecast is of: the figures, groups and accounts are theirs alone. */
export interface ForecastFilter {
  readonly where: AccountFilter;
  /** Accounts with MRR at T that match (the figures' account_count), of every account with MRR at T. */
  readonly accounts: number;
  readonly company_accounts: number;
  /** In words: what the filtered figures are of, and that the model is the whole company's. */
  readonly note: string;
}

const money = (x: number): Money => Money.from(x.toFixed(2));
const ratio = (a: number, b: number): number | null => (b > 0 ? a / b : null);

/** The horizon in whole months: 90 days = 3 months. */
export function horizonMonths(days: number): number {
  if (!Number.isInteger(days) || days < 30 || days > 180) throw new NrrError(`--horizon: expected 30 to 180 days, got ${days}`);
  return Math.round(days / 30.4);
}

/** What one forecast needs, apart from the workspace: the accounts at T, the fitted predictor, the committed layer. */
export interface ForecastInput {
  readonly month: number;
  readonly horizonDays: number;
  readonly current: readonly ForecastRow[];
  readonly predictor: Predictor;
  readonly committed: ReadonlyMap<string, Money>;
  readonly byValues?: { readonly attribute: string; readonly values: ReadonlyMap<string, string> };
  readonly seed: number;
  readonly simulations: number;
  readonly committedLines: Forecast['committed_lines'];
  /** The share of accounts whose history trained the model (1: all). */
  readonly trainingShare?: number;
  /** Reasons are put into words for this many accounts, by expected loss (default: all; the rest get none). */
  readonly explain?: number;
  /** Each account's ledger MRR at the month-end 12 months before T + h (the T12M cohort); absent: no T12M figure. */
  readonly t12mStart?: ReadonlyMap<string, Money>;
  /** Only these accounts are counted (every account is still simulated, with the same draws); absent: all. */
  readonly filter?: { readonly where: AccountFilter; readonly accounts: ReadonlySet<string> };
  /** Notes said after the model's and the figures' own (what the caller knows of its inputs). */
  readonly notes?: readonly string[];
}

/**
 * What a forecast's figures take of the fitted model: plain values (no functions), so that they
 * cross to another thread and are kept beside a company's simulation (SimulatedCompany).
 */
export type ModelSummary = Pick<Predictor, 'method' | 'training' | 'calibration' | 'shock' | 'spread_scale' | 'notes'>;

/**
 * What a company's forecast leaves that no filter or grouping changes: the model's summary and every
 * account's simulated outcome. Any filter's or attribute's forecast from the same data is summed
 * from it (forecastHead) to the last digit of a forecast that fits and simulates again.
 */
export interface SimulatedCompany {
  readonly model: ModelSummary;
  readonly simulations: number;
  readonly outcomes: SimOutcomes;
  /** Notes said after the model's (ForecastInput.notes). */
  readonly notes: readonly string[];
}

/** A forecast without its account lists: what is summed from the outcomes. */
export type ForecastHead = Omit<Forecast, 'downside' | 'accounts'>;

/** What forecastHead reads besides the company's simulation: the inputs that say which accounts are counted, and how. */
export type HeadInput = Pick<ForecastInput, 'month' | 'horizonDays' | 'current' | 'committed' | 'byValues' | 'seed' | 'committedLines' | 'trainingShare' | 't12mStart' | 'filter'>;

/** The forecast from its inputs (no database): the simulation, the figures, the accounts. */
export function forecastFrom(input: ForecastInput): Forecast {
  return forecastAndCompany(input).forecast;
}

/**
 * forecastFrom, and with `keep` the company's simulation it summed (SimulatedCompany) for other
 * filters to reuse. Without, the outcomes are summed a block of periods at a time and not held.
 */
export function forecastAndCompany(input: ForecastInput, keep = false): { forecast: Forecast; company: SimulatedCompany | null } {
  const H = horizonMonths(input.horizonDays);
  const p = input.predictor;
  const kept = (id: string): boolean => input.filter === undefined || input.filter.accounts.has(id);
  const meanOf = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const accounts: AccountForecast[] = [];
  // Every account at T is simulated, whichever are counted (SimAccount.counted).
  const sim: SimAccount[] = input.current.map((r) => {
    const probs = new Float64Array(3 * H);
    let stay = 1;
    let noContraction = 1;
    let noExpansion = 1;
    for (let k = 0; k < H; k++) {
      const [c, o, e] = p.probabilities(r, k);
      probs[3 * k] = c;
      probs[3 * k + 1] = o;
      probs[3 * k + 2] = e;
      stay *= 1 - c;
      noContraction *= 1 - o;
      noExpansion *= 1 - e;
    }
    const sizeGroup = p.sizeGroup(r);
    const committed = input.committed.get(r.account_id) ?? Money.zero;
    const churnP = 1 - stay;
    const contractionP = 1 - noContraction;
    const loss = r.mrr * churnP + r.mrr * contractionP * meanOf(p.sizes[sizeGroup]!.contraction);
    if (kept(r.account_id)) accounts.push({
      account_id: r.account_id,
      group: r.group,
      mrr: Money.from(r.mrr_text),
      committed_change: committed,
      churn_probability: churnP,
      contraction_probability: contractionP,
      expansion_probability: 1 - noExpansion,
      expected_loss: money(loss),
      reasons: [],
      expansion_reasons: [],
    });
    return { start: r.mrr, committed: committed.toNumber(), group: -1, sizeGroup, probs };
  });
  const summary: CompanySummary = {
    model: { method: p.method, training: p.training, calibration: p.calibration, shock: p.shock, spread_scale: p.spread_scale, notes: p.notes },
    simulations: input.simulations,
    notes: input.notes ?? [],
  };
  const simInput = { accounts: sim, steps: H, sizes: p.sizes, shock: p.shock, simulations: input.simulations, seed: input.seed };
  const company: SimulatedCompany | null = keep ? { ...summary, outcomes: simulateOutcomes(simInput) } : null;
  const head = company
    ? forecastHead(input, company)
    : headFrom(input, summary, (summed, groups) => simulateRevenue({ ...simInput, accounts: sim.map((a, i) => ({ ...a, ...summed[i]! })), groups }));
  const rowById = new Map(input.current.map((r) => [r.account_id, r]));
  // By expected loss (exact money, rounded to the cent; compared as numbers, which is exact at that scale), then id.
  const lossOf = new Map(accounts.map((a) => [a, a.expected_loss.toNumber()]));
  accounts.sort((a, b) => lossOf.get(b)! - lossOf.get(a)! || (a.account_id < b.account_id ? -1 : a.account_id > b.account_id ? 1 : 0));
  const explain = input.explain ?? accounts.length;
  const withReasons = accounts.map((a, i) => {
    if (i >= explain) return a;
    const r = rowById.get(a.account_id)!;
    return { ...a, reasons: p.reasons(r), expansion_reasons: p.expansionReasons(r) };
  });
  return { forecast: { ...head, downside: withReasons.slice(0, DOWNSIDE_COUNT), accounts: withReasons }, company };
}

/**
 * The figures of a forecast, summed from a company's simulation over the accounts the filter keeps
 * and by the attribute's values: no fit and no simulation, so a server answers a filter at once once
 * the company's forecast is computed. The accounts' list is the company's, restricted to them (with
 * reasons for every account, each entry is the same in both).
 */
export function forecastHead(input: HeadInput, company: SimulatedCompany): ForecastHead {
  return headFrom(input, company, (summed, groups) => sumOutcomes(company.outcomes, summed, groups));
}

/** A SimulatedCompany without its outcomes. */
type CompanySummary = Omit<SimulatedCompany, 'outcomes'>;

/** The figures from the totals of the accounts counted (`totalsOf`, given which accounts are counted and in which group). */
function headFrom(input: HeadInput, company: CompanySummary, totalsOf: (summed: readonly SumAccount[], groups: number) => SimTotals): ForecastHead {
  const H = horizonMonths(input.horizonDays);
  const m = company.model;
  const kept = (id: string): boolean => input.filter === undefined || input.filter.accounts.has(id);
  // The accounts the figures are of.
  const members = input.filter === undefined ? input.current : input.current.filter((r) => kept(r.account_id));
  const groupNames = input.byValues ? [...new Set(members.map((r) => input.byValues!.values.get(r.account_id) ?? '(none)'))].sort() : [];
  const groupIndex = new Map(groupNames.map((g, i) => [g, i]));
  const summed: SumAccount[] = input.current.map((r) => {
    const counted = kept(r.account_id);
    return {
      start: r.mrr,
      group: input.byValues && counted ? groupIndex.get(input.byValues.values.get(r.account_id) ?? '(none)')! : -1,
      t12m: input.t12mStart?.has(r.account_id) ?? false,
      counted,
    };
  });
  const totals = totalsOf(summed, groupNames.length);
  const G = groupNames.length;
  const figures = (g: number, members: readonly ForecastRow[]): ForecastFigures => {
    const start = Money.sum(members.map((r) => r.mrr_text));
    const committedMrr = Money.sum([start, ...members.map((r) => input.committed.get(r.account_id) ?? Money.zero)]);
    const s0 = totals.start[g]!;
    const end = column(totals.end, G, g);
    const retained = column(totals.retained, G, g);
    // The simulated spread around the median, scaled to what the history showed (Predictor.spread_scale).
    const k = m.spread_scale;
    const at = (xs: Float64Array, level: number): number => {
      const mid = quantile(xs, 0.5);
      return Math.max(0, mid + k * (quantile(xs, level) - mid));
    };
    const q = (xs: Float64Array, f: (x: number) => number | null): Quantiles<number | null> => ({ p10: f(at(xs, 0.1)), p50: f(at(xs, 0.5)), p90: f(at(xs, 0.9)) });
    const mean = (xs: Float64Array): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    const t12m = (): T12mForecast | undefined => {
      if (!input.t12mStart) return undefined;
      const inGroup = (id: string): boolean => kept(id) && (g === 0 || (input.byValues?.values.get(id) ?? '(none)') === groupNames[g - 1]);
      const cohort = [...input.t12mStart].filter(([id]) => inGroup(id)).map(([, m]) => m);
      const cohortStart = Money.sum(cohort);
      const cohortCount = cohort.length;
      const stayed = members.filter((r) => input.t12mStart!.has(r.account_id));
      const atT = Money.sum(stayed.map((r) => r.mrr_text));
      const committedEnd = Money.sum([atT, ...stayed.map((r) => input.committed.get(r.account_id) ?? Money.zero)]);
      const denominator = cohortStart.toNumber();
      const ends = column(totals.t12mEnd, G, g);
      return {
        reported_at: monthEnd(input.month + H),
        cohort_from: monthEnd(input.month + H - 12),
        account_count: cohortCount,
        accounts_at_as_of: stayed.length,
        starting_mrr: cohortStart,
        mrr_at_as_of: atT,
        committed_nrr: ratio(committedEnd.toNumber(), denominator),
        nrr: { p10: ratio(at(ends, 0.1), denominator), p50: ratio(at(ends, 0.5), denominator), p90: ratio(at(ends, 0.9), denominator) },
      };
    };
    const t12mFigures = t12m();
    return {
      account_count: members.length,
      starting_mrr: start,
      committed_mrr: committedMrr,
      committed_nrr: start.isZero() ? null : committedMrr.toNumber() / start.toNumber(),
      nrr: q(end, (x) => ratio(x, s0)),
      grr: q(retained, (x) => { const r = ratio(x, s0); return r === null ? null : Math.min(1, r); }),
      ending_mrr: { p10: money(at(end, 0.1)), p50: money(at(end, 0.5)), p90: money(at(end, 0.9)) },
      expected_expansion: money(mean(column(totals.expansion, G, g))),
      expected_contraction: money(mean(column(totals.contraction, G, g))),
      expected_churn: money(mean(column(totals.churn, G, g))),
      ...(t12mFigures ? { t12m: t12mFigures } : {}),
    };
  };
  const figuresOfAll = figures(0, members);
  const filter = input.filter === undefined ? undefined : forecastFilter(input.filter.where, members.length, input.current.length, m.training.rows);
  const thin =
    members.length === 0
      ? [`no account with MRR at T matches ${filterWords(input.filter!.where)}: there is nothing to forecast (no data, not a forecast of zero)`]
      : members.length < 30
        ? [`only ${members.length} accounts with MRR at T${filter ? ` match ${filterWords(filter.where)}` : ''}: the figures are too noisy to trust`]
        : [];
  return {
    as_of: monthEnd(input.month),
    horizon_days: input.horizonDays,
    horizon_months: H,
    through: monthEnd(input.month + H),
    method: m.method,
    seed: input.seed,
    simulations: company.simulations,
    training: m.training,
    calibration: m.calibration,
    shock: { churn: m.shock[0], contraction: m.shock[1], expansion: m.shock[2] },
    spread_scale: m.spread_scale,
    committed_lines: input.committedLines,
    notes: [
      ...m.notes,
      ...thin,
      ...(input.trainingShare !== undefined && input.trainingShare < 1 ? [`the model was trained on a sample of ${Math.round(input.trainingShare * 100)} % of the accounts' history (every account is forecast)`] : []),
      ...company.notes,
    ],
    ...figuresOfAll,
    ...(filter ? { filter } : {}),
    ...(input.byValues ? { by: { attribute: input.byValues.attribute, groups: groupNames.map((g, i) => ({ group: g, ...figures(i + 1, members.filter((r) => (input.byValues!.values.get(r.account_id) ?? '(none)') === g)) })) } } : {}),
  };
}

/** What a filtered forecast is of, in words (ForecastFilter). */
function forecastFilter(where: AccountFilter, accounts: number, companyAccounts: number, trainingRows: number): ForecastFilter {
  return {
    where,
    accounts,
    company_accounts: companyAccounts,
    note:
      `the figures are of the ${accounts.toLocaleString('en-US')} of ${companyAccounts.toLocaleString('en-US')} accounts with MRR at T where ${filterWords(where)}; ` +
      `the model is fitted on the whole company's history (${trainingRows.toLocaleString('en-US')} account-months) and every account is simulated, so these accounts' figures are the same as their group's in a forecast by that attribute`,
  };
}

/**
 * Everything a forecast reads from the workspace, as plain values (no connection): what
 * `forecastFromData` fits and simulates. `loadForecastData` reads it; the two together are `forecast`.
 */
export interface ForecastData {
  readonly month: number;
  readonly horizonDays: number;
  /** Every account × month-end of the training months and of T (the model's rows). */
  readonly rows: readonly ForecastRow[];
  readonly filesWithRows: ReadonlySet<string>;
  readonly committed: ReadonlyMap<string, Money>;
  readonly t12mStart: ReadonlyMap<string, Money>;
  readonly byValues?: { readonly attribute: string; readonly values: ReadonlyMap<string, string> };
  /** The filter and the ids of the accounts it keeps (ForecastOptions.where). */
  readonly filter?: { readonly where: AccountFilter; readonly accounts: ReadonlySet<string> };
  readonly seed: number;
  /** As asked; undefined: the default for the accounts at T (defaultSimulations). */
  readonly simulations?: number;
  readonly committedLines: Forecast['committed_lines'];
  readonly trainingShare: number;
  /** The training window and account cap the rows were read with (ForecastOptions). */
  readonly trainingMonths: number;
  readonly trainingAccounts: number;
  readonly explain?: number;
  readonly nrrMethod: string;
}

/**
 * The accounts a forecast's options count and how they are grouped: the attribute's values (`by`)
 * and the ids the filter keeps (`where`). All that a filtered forecast reads beyond the company's.
 */
export async function loadForecastSelection(ws: Workspace, options: Pick<ForecastOptions, 'by' | 'where'>): Promise<Pick<ForecastData, 'byValues' | 'filter'>> {
  const byValues = options.by ? { attribute: options.by, values: await loadAttribute(ws, options.by) } : undefined;
  const filter = hasFilter(options.where) ? { where: options.where, accounts: new Set(await filteredAccountIds(ws, options.where)) } : undefined;
  return { ...(byValues ? { byValues } : {}), ...(filter ? { filter } : {}) };
}

/**
 * Reads what a forecast needs from the workspace (the SQL part of `forecast`). `reuse`: the data of
 * another forecast from the same month, whose model rows (the longest read) are taken as they are
 * when its training months and accounts were the same: forecasts at several horizons read them once.
 */
export async function loadForecastData(ws: Workspace, options: ForecastOptions = {}, reuse?: ForecastData): Promise<ForecastData> {
  const horizonDays = options.horizonDays ?? DEFAULT_HORIZON_DAYS;
  const H = horizonMonths(horizonDays);
  const M = options.asOf === undefined ? ws.asOfMonth : monthIndex(options.asOf);
  if (M > ws.asOfMonth) throw new NrrError(`as_of: ${options.asOf} is after the reporting month ${monthText(ws.asOfMonth)}`);
  const trainingMonths = options.trainingMonths ?? DEFAULT_TRAINING_MONTHS;
  const months: number[] = [];
  for (let m = Math.max(M - trainingMonths, ws.firstMonth ?? M); m <= M; m++) months.push(m);
  // A wrong --by is said before any work.
  const { byValues, filter } = await loadForecastSelection(ws, options);
  const cap = options.trainingAccounts ?? TRAINING_ACCOUNTS;
  const same = reuse !== undefined && reuse.month === M && reuse.trainingMonths === trainingMonths && reuse.trainingAccounts === cap;
  const count = same ? 0 : await accountsAt(ws, M);
  const share = same ? reuse.trainingShare : count > cap ? cap / count : 1;
  const rows = same ? reuse.rows : await loadForecastRows(ws, months, { fullMonth: M, share });
  if (!rows.some((r) => r.month === M)) throw new NrrError(`no accounts with MRR at the end of ${monthText(M)}: nothing to forecast`);
  const files = same ? reuse.filesWithRows : await filesWithRows(ws);
  // From the latest full month on, every line in the files is known today (scheduled starts count);
  // from an earlier month, only the lines started by then (the as-of rule of account records).
  const live = M >= ws.dates.lastFullMonth;
  const committed = await loadCommitted(ws, monthEnd(M), monthEnd(M + H), live ? null : monthEnd(M));
  const t12mStart = await loadMrrAt(ws, M + H - 12);
  return {
    month: M,
    horizonDays,
    rows,
    filesWithRows: files,
    committed,
    t12mStart,
    ...(byValues ? { byValues } : {}),
    ...(filter ? { filter } : {}),
    seed: options.seed ?? DEFAULT_FORECAST_SEED,
    ...(options.simulations === undefined ? {} : { simulations: options.simulations }),
    committedLines: live ? 'all' : 'started_by_as_of',
    trainingShare: share,
    trainingMonths,
    trainingAccounts: cap,
    ...(options.explain === undefined ? {} : { explain: options.explain }),
    nrrMethod: ws.policies.nrr_method,
  };
}

/** The forecast from what `loadForecastData` read (no database): the fit, the simulation, the figures. */
export function forecastFromData(data: ForecastData): Forecast {
  return forecastAndCompanyFromData(data).forecast;
}

/** forecastFromData, and with `keep` the company's simulation (SimulatedCompany) that other filters of the same data are summed from. */
export function forecastAndCompanyFromData(data: ForecastData, keep = false): { forecast: Forecast; company: SimulatedCompany | null } {
  const M = data.month;
  const H = horizonMonths(data.horizonDays);
  const current = currentRows(data);
  const predictor = fitPredictor(data.rows.filter((r) => r.month < M), data.filesWithRows, { horizonMonths: H });
  const simulations = data.simulations ?? defaultSimulations(current.length);
  const methodNote = [
    ...(data.nrrMethod === 'snapshot' ? [] : [`the T12M NRR is forecast by the snapshot method; this workspace reports NRR by the ${data.nrrMethod} method`]),
    ...(simulations < DEFAULT_SIMULATIONS && data.simulations === undefined
      ? [
          `${simulations} simulated periods for ${current.length.toLocaleString('en-US')} accounts (1,000 up to ${(SIMULATION_BUDGET / DEFAULT_SIMULATIONS).toLocaleString('en-US')} accounts): ` +
            `P10 and P90 carry a Monte Carlo error of about ${Math.round(quantileError(simulations) * 100)} % of the interval's half-width; --simulations 1000 for more`,
        ]
      : []),
  ];
  return forecastAndCompany({ ...headInput(data, current), predictor, simulations, explain: data.explain, notes: methodNote }, keep);
}

/** The accounts with MRR at T of the data (the forecast's accounts). */
export function currentRows(data: ForecastData): ForecastRow[] {
  const current = data.rows.filter((r) => r.month === data.month);
  if (current.length === 0) throw new NrrError(`no accounts with MRR at the end of ${monthText(data.month)}: nothing to forecast`);
  return current;
}

/**
 * The inputs forecastHead reads, from a forecast's data; `current` is currentRows(data), given when
 * already taken.
 */
export function headInput(data: ForecastData, current: readonly ForecastRow[] = currentRows(data)): HeadInput {
  return {
    month: data.month,
    horizonDays: data.horizonDays,
    current,
    committed: data.committed,
    byValues: data.byValues,
    seed: data.seed,
    committedLines: data.committedLines,
    trainingShare: data.trainingShare,
    t12mStart: data.t12mStart,
    ...(data.filter ? { filter: data.filter } : {}),
  };
}

/**
 * The NRR forecast as of the workspace's reporting month's end (T) for a horizon h: committed
 * changes, the hazard model's probabilities (fitted on the month-ends before T, calibrated on the
 * last of them), sizes by segment, and a seeded Monte Carlo (docs/forecast.md).
 * The workspace must be opened with `signals: true`.
 * @example const f = await forecast(ws, { horizonDays: 90 }); f.nrr.p50 // 1.02
 */
export async function forecast(ws: Workspace, options: ForecastOptions = {}): Promise<Forecast> {
  return forecastFromData(await loadForecastData(ws, options));
}
