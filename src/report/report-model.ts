import { loadConfig } from '../config/config-file.js';
import { describePolicies } from '../config/policies.js';
import { monthText } from '../engine/months.js';
import type { Money } from '../money.js';
import { cohortTable, type CohortRow } from '../queries/cohort-queries.js';
import { annualise, metrics, metricsSeries, plausibleNrrRange, type Metrics } from '../queries/metrics-queries.js';
import type { OverlapSummary } from '../queries/plausibility-queries.js';
import { dateNotes, type ReadSummary, type Workspace } from '../workspace/workspace.js';
import { buildReportForecast, type ReportForecast } from './report-forecast.js';
import { chooseBenchmark, compareToBenchmark, type BenchmarkComparison, type BenchmarkMapping } from './benchmarks.js';
import { DEFAULT_THRESHOLDS, type Diagnostic } from './diagnostics.js';
import { reportDiagnostics, reportGroupings, trendMonths } from './report-diagnostics.js';

export interface SeriesPoint {
  readonly month: string;
  readonly t12m_nrr: number | null;
  readonly t12m_grr: number | null;
  readonly monthly_nrr: number | null;
  readonly monthly_grr: number | null;
}

export interface GroupRow extends Metrics {
  readonly benchmark: BenchmarkComparison | null;
}

export interface Report {
  readonly as_of: string;
  /** The reporting month is not over yet (`--allow-partial`): every figure ending in it is partial. */
  readonly partial: boolean;
  /** A partial month and a stale-looking export, said at the head of the report. */
  readonly date_notes: readonly string[];
  readonly read: ReadSummary;
  readonly policies: Record<string, string>;
  readonly headline: {
    readonly t12m: Metrics;
    readonly quarterly: Metrics;
    readonly monthly: Metrics;
    /** Monthly NRR compounded over twelve months. */
    readonly annualised_monthly_nrr: number | null;
  };
  /** Cohort bridge over the trailing twelve months: start → +expansion → −contraction → −churn (± FX) → end. */
  readonly bridge: { readonly starting_mrr: Money; readonly expansion: Money; readonly contraction: Money; readonly churn: Money; readonly fx: Money; readonly ending_mrr: Money };
  readonly series: readonly SeriesPoint[];
  readonly groups: readonly { readonly by: string; readonly rows: readonly GroupRow[] }[];
  readonly cohorts: { readonly granularity: string; readonly rows: readonly CohortRow[] };
  readonly diagnostics: readonly Diagnostic[];
  /** The rules behind the plausibility diagnostics, and what they found. */
  /** The forecast section (report-forecast.ts), when asked for (ReportOptions.forecast). */
  readonly forecast?: ReportForecast;
  readonly plausibility: {
    /** Groups (and headline cohorts) with fewer starting accounts than this are `small_group`. */
    readonly min_group_accounts: number;
    /** Plausible NRR per window, as fractions. */
    readonly nrr_ranges: readonly { readonly window: number; readonly low: number; readonly high: number }[];
    /** A drop in monthly NRR smaller than this (fraction) is not a drop. */
    readonly material_drop: number;
    readonly overlaps: OverlapSummary;
  };
}

/** The report's title: its month, marked when the month is not over. */
export function reportTitle(r: Report): string {
  return `Net revenue retention — as of ${r.as_of}${r.partial ? ` (partial month, to ${r.read.today})` : ''}`;
}

export interface ReportOptions {
  /** Extra groupings besides the defaults (ACV band, segment, product). */
  readonly by?: readonly string[];
  /** Months of trend to show (default 24). */
  readonly seriesMonths?: number;
  /** Which benchmark each group is compared with (the config's `benchmark:`); by ACV band otherwise. */
  readonly benchmarks?: BenchmarkMapping;
  /** Add the forecast section (the workspace opened with `signals: true`; otherwise the section says why it is missing). */
  readonly forecast?: boolean;
}

/**
 * Everything a CFO or RevOps lead wants on one screen, as data; renderers turn it into Markdown,
 * HTML or JSON.
 */
export async function buildReport(ws: Workspace, options: ReportOptions = {}): Promise<Report> {
  const asOf = ws.asOfMonth;
  const [t12m] = (await metrics(ws, { window: 12 })) as [Metrics];
  const [quarterly] = (await metrics(ws, { window: 3 })) as [Metrics];
  const [monthly] = (await metrics(ws, { window: 1 })) as [Metrics];

  const first = ws.firstMonth ?? asOf;
  const months = trendMonths(ws, options.seriesMonths ?? 24);
  const t12 = new Map((await metricsSeries(ws, { months, window: 12 })).map((m) => [m.month, m]));
  const mon = await metricsSeries(ws, { months, window: 1 });
  const monMap = new Map(mon.map((m) => [m.month, m]));
  const series: SeriesPoint[] = months.map((i) => {
    const k = monthText(i);
    return {
      month: k,
      t12m_nrr: i - 12 >= first ? (t12.get(k)?.nrr ?? null) : null,
      t12m_grr: i - 12 >= first ? (t12.get(k)?.grr ?? null) : null,
      monthly_nrr: monMap.get(k)?.nrr ?? null,
      monthly_grr: monMap.get(k)?.grr ?? null,
    };
  });

  const mapping = options.benchmarks ?? loadConfig(ws.summary.configFile ?? undefined).benchmark;
  const groups = [];
  const groupMetrics: { by: string; rows: Metrics[] }[] = [];
  for (const by of reportGroupings(ws, options.by)) {
    const rows = await metrics(ws, { window: 12, by });
    groupMetrics.push({ by, rows });
    groups.push({
      by,
      rows: rows.map((r) => {
        const b = r.nrr === null ? null : chooseBenchmark(by, r.group ?? '', r.median_acv, mapping);
        return { ...r, benchmark: b && r.nrr !== null ? { ...compareToBenchmark(r.nrr, b.key, r.nrr_plausible !== false), matched_by: b.matched_by } : null };
      }),
    });
  }
  const { diagnostics, overlaps } = await reportDiagnostics(ws, { headline: { t12m, quarterly, monthly }, monthly: mon, groups: groupMetrics });

  const grain = ws.policies.cohort_granularity;
  return {
    as_of: monthText(asOf),
    partial: ws.summary.partial,
    date_notes: dateNotes(ws.summary),
    read: ws.summary,
    policies: describePolicies(ws.policies),
    headline: {
      t12m,
      quarterly,
      monthly,
      annualised_monthly_nrr: monthly.nrr === null ? null : annualise(monthly.nrr),
    },
    bridge: {
      starting_mrr: t12m.starting_mrr,
      expansion: t12m.expansion,
      contraction: t12m.contraction,
      churn: t12m.churn,
      fx: t12m.fx,
      ending_mrr: t12m.ending_mrr,
    },
    series,
    groups,
    cohorts: { granularity: grain, rows: await cohortTable(ws, grain) },
    diagnostics,
    ...(options.forecast ? { forecast: await buildReportForecast(ws) } : {}),
    plausibility: {
      min_group_accounts: ws.policies.min_group_accounts,
      nrr_ranges: [1, 3, 6, 12].map((w) => {
        const [low, high] = plausibleNrrRange(w);
        return { window: w, low, high };
      }),
      material_drop: DEFAULT_THRESHOLDS.materialDrop,
      overlaps,
    },
  };
}

