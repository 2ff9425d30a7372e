import type { Policies } from '../config/policies.js';
import type { AccountFilter } from '../engine/account-filter.js';
import { BUILT_IN_GROUPINGS, parseGrouping, type Grouping } from '../engine/grouping.js';
import { snapshotNeedsProductRanges, sqlMovementMetrics, sqlSnapshotMetrics } from '../engine/metrics-model.js';
import { monthIndex, monthText } from '../engine/months.js';
import { sqlSuspectOverlapsByGroup } from '../engine/plausibility-model.js';
import { NrrError } from '../errors.js';
import { Money } from '../money.js';
import type { Row } from '../drivers/driver.js';
import type { Workspace } from '../workspace/workspace.js';
import { checkFilter } from './series-queries.js';

export type NrrMethod = Policies['nrr_method'];

export interface Metrics {
  readonly month: string;
  readonly window: number;
  readonly method: NrrMethod;
  /** The group's value when sliced (`--by`); absent for the whole company. */
  readonly group?: string;
  readonly starting_mrr: Money;
  readonly ending_mrr: Money;
  readonly expansion: Money;
  readonly contraction: Money;
  readonly churn: Money;
  /** FX effect on the cohort's MRR, kept out of expansion and contraction (0 with FX at contract start). */
  readonly fx: Money;
  /** Fractions: 1.015 means 101.5 %. Null when the cohort is empty. */
  readonly nrr: number | null;
  readonly grr: number | null;
  readonly logo_retention: number | null;
  readonly starting_accounts: number;
  readonly retained_accounts: number;
  /** The largest single unit's share of starting MRR: how much one account drives the figure. */
  readonly largest_account_share: number | null;
  /** With the average method: the mean of the monthly NRRs before compounding. */
  readonly monthly_nrr_average?: number;
  /** With the average method: the fewest starting accounts behind any of the monthly ratios. */
  readonly smallest_monthly_cohort?: number;
  /**
   * Fewer starting accounts than the `min_group_accounts` policy (with the average method, in any
   * of the monthly cohorts): the figure is too noisy to trust.
   */
  readonly small_group: boolean;
  /** Whether NRR lies in the plausible range for its window (plausibleNrrRange); null without NRR. */
  readonly nrr_plausible: boolean | null;
  /** The median starting unit's MRR × 12: what the group is compared with an ACV benchmark by. */
  readonly median_acv: Money | null;
  /** Lines of cohort accounts that look like upgrades never ended (sqlSuspectOverlaps), and their MRR at the window's end. */
  readonly overlap_lines: number;
  readonly overlap_mrr: Money;
}

/**
 * The NRR a window can plausibly show, as fractions [low, high]: beyond it the figure more likely
 * says something about the data (lines never ended, a bad amount) than about customers.
 * Monthly 80 %–125 %, quarterly 70 %–150 %, half-year 60 %–175 %, trailing twelve months
 * 50 %–200 %; a window between two of these takes the wider one; beyond twelve months the
 * twelve-month range compounded (0.5^(W/12) to 2^(W/12)).
 * @example plausibleNrrRange(12) // [0.5, 2]
 */
export function plausibleNrrRange(window: number): readonly [number, number] {
  const table: readonly (readonly [number, number, number])[] = [
    [1, 0.8, 1.25],
    [3, 0.7, 1.5],
    [6, 0.6, 1.75],
    [12, 0.5, 2],
  ];
  const hit = table.find(([w]) => window <= w);
  return hit ? [hit[1], hit[2]] : [0.5 ** (window / 12), 2 ** (window / 12)];
}

/** Whether an NRR lies in its window's plausible range (bounds included); null when there is no NRR. */
export function isPlausibleNrr(nrr: number | null, window: number): boolean | null {
  if (nrr === null) return null;
  const [lo, hi] = plausibleNrrRange(window);
  return nrr >= lo && nrr <= hi;
}

export interface MetricsQuery {
  /** The window's last month, YYYY-MM; default the reporting month. */
  readonly month?: string;
  /** Window in months (1 = monthly, 3 = quarterly, 12 = trailing twelve months). */
  readonly window?: number;
  /** Account attribute, `account`, `product`, `acv_band`, `cohort`, `cohort_month|quarter|year`. */
  readonly by?: string;
  readonly method?: NrrMethod;
  /** Only the accounts whose attributes match (checked against the workspace's attributes). */
  readonly where?: AccountFilter;
}

/**
 * NRR, GRR, logo retention and the bridge amounts for one window, overall or per group.
 * @example const [m] = await metrics(ws, { month: '2024-12', window: 12 }); m.nrr // 1.084
 */
export async function metrics(ws: Workspace, q: MetricsQuery = {}): Promise<Metrics[]> {
  const month = q.month ? monthIndex(q.month) : ws.asOfMonth;
  return metricsSeries(ws, { ...q, months: [month] });
}

/** The same metrics for several months in one query (for trends). */
export async function metricsSeries(
  ws: Workspace,
  q: Omit<MetricsQuery, 'month'> & { months: readonly number[] },
): Promise<Metrics[]> {
  const window = q.window ?? 12;
  if (!Number.isInteger(window) || window < 1 || window > 120) {
    throw new NrrError(`window must be a whole number of months from 1 to 120, not ${window}`);
  }
  const method = q.method ?? ws.policies.nrr_method;
  const g = checkGrouping(ws, parseGrouping(q.by, ws.policies));
  if (q.months.length === 0) return [];
  checkFilter(ws, q.where);
  const rows = withOverlaps(await computeSeries(ws, q.months, window, method, g, q.where), await overlapsByGroup(ws, q.months, window, g, q.where));
  if (g.kind !== 'all') return rows;
  // The whole company has a row for every month asked for, even when its cohort is empty.
  const have = new Map(rows.map((r) => [r.month, r]));
  return q.months.map((m) => have.get(monthText(m)) ?? emptyMetrics(monthText(m), window, method));
}

type OverlapCounts = Map<string, { lines: number; mrr: Money }>;

async function overlapsByGroup(ws: Workspace, months: readonly number[], window: number, g: Grouping, where?: AccountFilter): Promise<OverlapCounts> {
  const rows = await ws.query(sqlSuspectOverlapsByGroup(ws.driver.dialect, ws.policies, months, window, g, undefined, where));
  return new Map(
    rows.map((r) => [
      `${monthText(Number(r['month_index']))}|${g.kind === 'all' ? '' : String(r['group_value'])}`,
      { lines: Number(r['overlap_lines']), mrr: Money.from(r['overlap_mrr']) },
    ]),
  );
}

function withOverlaps(rows: readonly Metrics[], overlaps: OverlapCounts): Metrics[] {
  return rows.map((m) => {
    const o = overlaps.get(`${m.month}|${m.group ?? ''}`);
    return o ? { ...m, overlap_lines: o.lines, overlap_mrr: o.mrr } : m;
  });
}

async function computeSeries(ws: Workspace, months: readonly number[], window: number, method: NrrMethod, g: Grouping, where?: AccountFilter): Promise<Metrics[]> {
  const d = ws.driver.dialect;
  if (method !== 'movements' && snapshotNeedsProductRanges(ws.policies, g)) await ws.ensureProductRanges();
  if (method === 'snapshot') {
    return (await ws.query(sqlSnapshotMetrics(d, ws.policies, months, window, g, 'auto', where))).map((r) => toMetrics(r, window, method, g, ws.policies));
  }
  if (method === 'movements') {
    if (g.kind === 'product') throw new NrrError('--by product needs the snapshot method (movements are per account)');
    return (await ws.query(sqlMovementMetrics(d, ws.policies, months, window, g, where))).map((r) => toMetrics(r, window, method, g, ws.policies));
  }
  return averageOfMonthly(ws, months, window, g, where);
}

/** Average method: the mean of the W monthly ratios, compounded over the window. */
async function averageOfMonthly(ws: Workspace, months: readonly number[], window: number, g: Grouping, where?: AccountFilter): Promise<Metrics[]> {
  const d = ws.driver.dialect;
  const base = (await ws.query(sqlSnapshotMetrics(d, ws.policies, months, window, g, 'auto', where))).map((r) => toMetrics(r, window, 'average', g, ws.policies));
  const monthlyMonths = [...new Set(months.flatMap((m) => Array.from({ length: window }, (_, k) => m - k)))];
  const monthly = (await ws.query(sqlSnapshotMetrics(d, ws.policies, monthlyMonths, 1, g, 'auto', where))).map((r) => toMetrics(r, 1, 'average', g, ws.policies));
  const byKey = new Map(monthly.map((m) => [`${m.month}|${m.group ?? ''}`, m]));
  return base.map((b) => {
    const end = monthIndex(b.month);
    const parts = Array.from({ length: window }, (_, k) => byKey.get(`${monthText(end - k)}|${b.group ?? ''}`)).filter(
      (m): m is Metrics => m !== undefined && m.nrr !== null,
    );
    const mean = (f: (m: Metrics) => number): number | null =>
      parts.length === 0 ? null : parts.reduce((s, m) => s + f(m), 0) / parts.length;
    const nrrMean = mean((m) => m.nrr ?? 0);
    const grrMean = mean((m) => m.grr ?? 0);
    const nrr = nrrMean === null ? null : nrrMean ** window;
    // Compounding multiplies the noise of every monthly ratio: the smallest monthly cohort decides.
    const smallest = Math.min(b.starting_accounts, ...parts.map((m) => m.starting_accounts));
    return {
      ...b,
      nrr,
      grr: grrMean === null ? null : grrMean ** window,
      ...(nrrMean === null ? {} : { monthly_nrr_average: nrrMean }),
      smallest_monthly_cohort: smallest,
      small_group: smallest < ws.policies.min_group_accounts,
      nrr_plausible: isPlausibleNrr(nrr, window),
    };
  });
}

function checkGrouping(ws: Workspace, g: Grouping): Grouping {
  if (g.kind === 'attribute' && !ws.attributes.includes(g.column)) {
    const known = [...ws.attributes, ...BUILT_IN_GROUPINGS];
    throw new NrrError(`unknown attribute '${g.column}' for --by; choose one of: ${known.join(', ')}`);
  }
  return g;
}

function toMetrics(r: Row, window: number, method: NrrMethod, g: Grouping, p: Policies): Metrics {
  const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
  const nrr = num(r['nrr']);
  const median = r['median_start_mrr'];
  return {
    month: monthText(Number(r['month_index'])),
    window,
    method,
    ...(g.kind === 'all' ? {} : { group: String(r['group_value']) }),
    starting_mrr: Money.from(r['starting_mrr']),
    ending_mrr: Money.from(r['ending_mrr']),
    expansion: Money.from(r['expansion']),
    contraction: Money.from(r['contraction']),
    churn: Money.from(r['churn']),
    fx: Money.from(r['fx']),
    nrr,
    grr: num(r['grr']),
    logo_retention: num(r['logo_retention']),
    starting_accounts: Number(r['starting_accounts']),
    retained_accounts: Number(r['retained_accounts']),
    largest_account_share: num(r['largest_account_share']),
    small_group: Number(r['starting_accounts']) < p.min_group_accounts,
    nrr_plausible: isPlausibleNrr(nrr, window),
    median_acv: median === null || median === undefined ? null : Money.from(median).times(12),
    overlap_lines: 0,
    overlap_mrr: Money.zero,
  };
}

/** The metrics of an empty cohort: no starting MRR, ratios undefined. */
export function emptyMetrics(month: string, window: number, method: NrrMethod): Metrics {
  return {
    month,
    window,
    method,
    starting_mrr: Money.zero,
    ending_mrr: Money.zero,
    expansion: Money.zero,
    contraction: Money.zero,
    churn: Money.zero,
    fx: Money.zero,
    nrr: null,
    grr: null,
    logo_retention: null,
    starting_accounts: 0,
    retained_accounts: 0,
    largest_account_share: null,
    // No account is fewer than any threshold (min_group_accounts is at least 1).
    small_group: true,
    nrr_plausible: null,
    median_acv: null,
    overlap_lines: 0,
    overlap_mrr: Money.zero,
  };
}

/** Monthly NRR compounded over twelve months: 1.015 → 1.1956. */
export function annualise(monthlyNrr: number): number {
  return monthlyNrr ** 12;
}

/**
 * NRR from bridge amounts, as in the textbook formula.
 * @example nrrFromBridge({ start: 1_000_000, expansion: 50_000, contraction: 15_000, churn: 20_000 }) // 1.015
 */
export function nrrFromBridge(b: { start: number; expansion: number; contraction: number; churn: number }): number {
  return (b.start + b.expansion - b.contraction - b.churn) / b.start;
}
