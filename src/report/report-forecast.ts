import { NrrError } from '../errors.js';
import { DOWNSIDE_COUNT, forecast, type Forecast } from '../forecast/forecast.js';
import type { Workspace } from '../workspace/workspace.js';
import { formatMoney, formatPercent } from './format.js';

/** The report's forecast section: the forecast without its every-account list, or why there is none. */
export interface ReportForecast {
  /** Null when not computed; `reason` says why. */
  readonly forecast: Omit<Forecast, 'accounts'> | null;
  readonly reason: string | null;
}

/**
 * The forecast for the report (90 days from the reporting month, docs/forecast.md), reasons worded
 * for the downside accounts only. Without the signal files, or with nothing to forecast, the
 * section says why instead of failing the report.
 */
export async function buildReportForecast(ws: Workspace): Promise<ReportForecast> {
  const [t] = await ws.query(`SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'signal_seats'`);
  if (Number(t!['n']) === 0) return { forecast: null, reason: 'the signal files were not read (the forecast needs them)' };
  try {
    // Every account's line is `nrr forecast`'s; the report keeps the downside.
    const f: Omit<Forecast, 'accounts'> & { accounts?: Forecast['accounts'] } = { ...(await forecast(ws, { explain: DOWNSIDE_COUNT })) };
    delete f.accounts;
    return { forecast: f, reason: null };
  } catch (e) {
    if (e instanceof NrrError) return { forecast: null, reason: e.message };
    throw e;
  }
}

const pct = (x: number | null): string => formatPercent(x);
const range = (q: { readonly p10: number | null; readonly p90: number | null }): string => `${pct(q.p10)} – ${pct(q.p90)}`;

/** The section's sentences, plain text (each renderer escapes them its own way). */
export function forecastSentences(r: ReportForecast): string[] {
  const f = r.forecast;
  if (!f) return [`No forecast: ${r.reason ?? 'not computed'}.`];
  const method =
    f.method === 'hazard_model'
      ? `hazard model fitted on ${f.training.months} month-ends (${f.training.rows} account-months: ${f.training.churn} churns, ${f.training.contraction} contractions, ${f.training.expansion} expansions), calibrated (${f.calibration.method})`
      : `segment × time-to-renewal rates, not the hazard model: the history is too thin (${f.training.months} month-ends, ${f.training.churn} churns), so the interval is wider`;
  return [
    `Forward NRR of today's ${f.account_count} customers from ${f.as_of} to ${f.through}: P50 ${pct(f.nrr.p50)} (80 % interval ${range(f.nrr)}); GRR P50 ${pct(f.grr.p50)} (${range(f.grr)}); committed changes alone: ${pct(f.committed_nrr)}.`,
    ...(f.t12m
      ? [`T12M NRR to be reported at ${f.t12m.reported_at}: P50 ${pct(f.t12m.nrr.p50)} (80 % interval ${range(f.t12m.nrr)}); ${f.t12m.account_count} customers of ${f.t12m.cohort_from}, ${f.t12m.accounts_at_as_of} still customers at ${f.as_of}.`]
      : []),
    `Expected to ${f.through}: expansion ${formatMoney(f.expected_expansion)}, contraction ${formatMoney(f.expected_contraction)}, churn ${formatMoney(f.expected_churn)}; ending MRR P50 ${formatMoney(f.ending_mrr.p50)}.`,
    `Method: ${method}; ${f.simulations} simulations, seed ${f.seed}. Check it on your history with nrr forecast backtest.`,
    ...f.notes.map((n) => `Note: ${n}.`),
  ];
}

/** The downside accounts as table rows: account, MRR, churn probability, expected loss, reasons. */
export const FORECAST_DOWNSIDE_HEAD = ['Account', 'MRR', 'Churn probability (90 days)', 'Expected loss', 'Why'] as const;
export function forecastDownsideRows(r: ReportForecast): string[][] {
  return (r.forecast?.downside ?? []).map((a) => [a.account_id, formatMoney(a.mrr), formatPercent(a.churn_probability, 0), formatMoney(a.expected_loss), a.reasons.join('; ') || '—']);
}
