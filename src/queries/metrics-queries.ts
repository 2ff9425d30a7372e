import type { Policies } from '../config/policies.js';
import { BUILT_IN_GROUPINGS, parseGrouping, type Grouping } from '../engine/grouping.js';
import { snapshotNeedsProductRanges, sqlMovementMetrics, sqlSnapshotMetrics } from '../engine/metrics-model.js';
import { monthIndex, monthText } from '../engine/months.js';
import { NrrError } from '../errors.js';
import { Money } from '../money.js';
import type { Row } from '../drivers/driver.js';
import type { Workspace } from '../workspace/workspace.js';

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
}

export interface MetricsQuery {
  /** The window's last month, YYYY-MM; default the reporting month. */
  readonly month?: string;
  /** Window in months (1 = monthly, 3 = quarterly, 12 = trailing twelve months). */
  readonly window?: number;
  /** Account attribute, `account`, `product`, `acv_band`, `cohort`, `cohort_month|quarter|year`. */
  readonly by?: string;
  readonly method?: NrrMethod;
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
  const rows = await computeSeries(ws, q.months, window, method, g);
  if (g.kind !== 'all') return rows;
  // The whole company has a row for every month asked for, even when its cohort is empty.
  const have = new Map(rows.map((r) => [r.month, r]));
  return q.months.map((m) => have.get(monthText(m)) ?? emptyMetrics(monthText(m), window, method));
}

async function computeSeries(ws: Workspace, months: readonly number[], window: number, method: NrrMethod, g: Grouping): Promise<Metrics[]> {
  const d = ws.driver.dialect;
  if (method !== 'movements' && snapshotNeedsProductRanges(ws.policies, g)) await ws.ensureProductRanges();
  if (method === 'snapshot') {
    return (await ws.query(sqlSnapshotMetrics(d, ws.policies, months, window, g))).map((r) => toMetrics(r, window, method, g));
  }
  if (method === 'movements') {
    if (g.kind === 'product') throw new NrrError('--by product needs the snapshot method (movements are per account)');
    return (await ws.query(sqlMovementMetrics(d, ws.policies, months, window, g))).map((r) => toMetrics(r, window, method, g));
  }
  return averageOfMonthly(ws, months, window, g);
}

/** Average method: the mean of the W monthly ratios, compounded over the window. */
async function averageOfMonthly(ws: Workspace, months: readonly number[], window: number, g: Grouping): Promise<Metrics[]> {
  const d = ws.driver.dialect;
  const base = (await ws.query(sqlSnapshotMetrics(d, ws.policies, months, window, g))).map((r) => toMetrics(r, window, 'average', g));
  const monthlyMonths = [...new Set(months.flatMap((m) => Array.from({ length: window }, (_, k) => m - k)))];
  const monthly = (await ws.query(sqlSnapshotMetrics(d, ws.policies, monthlyMonths, 1, g))).map((r) => toMetrics(r, 1, 'average', g));
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
    return {
      ...b,
      nrr: nrrMean === null ? null : nrrMean ** window,
      grr: grrMean === null ? null : grrMean ** window,
      ...(nrrMean === null ? {} : { monthly_nrr_average: nrrMean }),
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

function toMetrics(r: Row, window: number, method: NrrMethod, g: Grouping): Metrics {
  const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
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
    nrr: num(r['nrr']),
    grr: num(r['grr']),
    logo_retention: num(r['logo_retention']),
    starting_accounts: Number(r['starting_accounts']),
    retained_accounts: Number(r['retained_accounts']),
    largest_account_share: num(r['largest_account_share']),
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
