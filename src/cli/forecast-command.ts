import { Option, type Command } from 'commander';
import { NrrError } from '../errors.js';
import { filterWords } from '../engine/account-filter.js';
import type { ForecastBacktest } from '../forecast/forecast-backtest.js';
import type { Forecast, ForecastFigures } from '../forecast/forecast.js';
import {
  DEFAULT_BACKTEST_MONTHS,
  DEFAULT_BACKTEST_SIMULATIONS,
  DEFAULT_FORECAST_SEED,
  DEFAULT_HORIZON_DAYS,
  DEFAULT_SIMULATIONS,
  DOWNSIDE_COUNT,
  SIMULATION_BUDGET,
} from '../forecast/forecast-defaults.js';
import { Money, stringifyJson } from '../money.js';
import { formatPercent } from '../report/format.js';
import { open, outOption, positiveInt, withDataOptions, withWorkspace, type CommonOptions } from './common-options.js';
import { ROW_FORMATS, formatRows, type RowFormat } from './output-format.js';
import { writeOutput } from './standard-output.js';
import { whereOption, type WhereOptions } from './where-option.js';

interface ForecastCliOptions extends CommonOptions, WhereOptions {
  horizon: number;
  by?: string;
  seed: number;
  simulations?: number;
  limit?: number;
  format: RowFormat;
}

const pct = (x: number | null): string => (x === null ? '—' : formatPercent(x));

/** One row per figure set (the company or the accounts --where keeps, then each group): the P10/P50/P90 and the expected movements. */
function figureRows(f: Forecast): Record<string, string | number | null | Money>[] {
  const row = (x: ForecastFigures, group: string): Record<string, string | number | null | Money> => ({
    group,
    accounts: x.account_count,
    starting_mrr: x.starting_mrr,
    committed_mrr: x.committed_mrr,
    nrr_p10: x.nrr.p10,
    nrr_p50: x.nrr.p50,
    nrr_p90: x.nrr.p90,
    grr_p10: x.grr.p10,
    grr_p50: x.grr.p50,
    grr_p90: x.grr.p90,
    ending_mrr_p50: x.ending_mrr.p50,
    expected_expansion: x.expected_expansion,
    expected_contraction: x.expected_contraction,
    expected_churn: x.expected_churn,
    t12m_nrr_p10: x.t12m?.nrr.p10 ?? null,
    t12m_nrr_p50: x.t12m?.nrr.p50 ?? null,
    t12m_nrr_p90: x.t12m?.nrr.p90 ?? null,
  });
  // The first row is of the accounts the forecast is of: all of them, or those --where keeps.
  return [row(f, f.filter ? filterWords(f.filter.where) : 'all'), ...(f.by?.groups.map((g) => row(g, `${f.by!.attribute}=${g.group}`)) ?? [])];
}
const FIGURE_COLUMNS = ['group', 'accounts', 'starting_mrr', 'committed_mrr', 'nrr_p10', 'nrr_p50', 'nrr_p90', 'grr_p10', 'grr_p50', 'grr_p90', 'ending_mrr_p50', 'expected_expansion', 'expected_contraction', 'expected_churn', 't12m_nrr_p10', 't12m_nrr_p50', 't12m_nrr_p90'];

/** The T12M NRR line: what the report will show at T + h. */
function t12mLine(f: Forecast): string[] {
  const t = f.t12m;
  if (!t) return [];
  return [
    `T12M NRR reported at ${t.reported_at}: P50 ${pct(t.nrr.p50)} (80 % interval ${pct(t.nrr.p10)} – ${pct(t.nrr.p90)}); committed changes alone: ${pct(t.committed_nrr)} ` +
      `(the ${t.account_count} customers of ${t.cohort_from}, ${t.accounts_at_as_of} of them still customers at ${f.as_of}).`,
  ];
}

function forecastText(f: Forecast, format: 'table' | 'md'): string {
  const h = format === 'md' ? '## ' : '';
  const lines = [
    `${h}Forecast from ${f.as_of} to ${f.through} (${f.horizon_days} days, ${f.horizon_months} months)`,
    '',
    ...(f.filter ? [`Only the accounts where ${filterWords(f.filter.where)}: ${f.filter.note}.`] : []),
    `Forward NRR of today's ${f.account_count} customers${f.filter ? ` where ${filterWords(f.filter.where)}` : ''}: P50 ${pct(f.nrr.p50)} (80 % interval ${pct(f.nrr.p10)} – ${pct(f.nrr.p90)}); ` +
      `GRR P50 ${pct(f.grr.p50)} (${pct(f.grr.p10)} – ${pct(f.grr.p90)}); committed changes alone: ${pct(f.committed_nrr)}.`,
    ...t12mLine(f),
    `Method: ${f.method === 'hazard_model' ? 'hazard model' : 'segment × time-to-renewal rates (thin history)'} fitted on ${f.training.months} month-ends ` +
      `(${f.training.rows} account-months: ${f.training.churn} churns, ${f.training.contraction} contractions, ${f.training.expansion} expansions), ` +
      `calibration ${f.calibration.method}; ${f.simulations} simulations, seed ${f.seed}.`,
    ...f.notes.map((n) => `Note: ${n}`),
    '',
    formatRows(figureRows(f), FIGURE_COLUMNS, format).trimEnd(),
    '',
    `${h}Largest expected losses`,
    '',
    formatRows(
      f.downside.map((a) => ({ account_id: a.account_id, group: a.group, mrr: a.mrr, churn_probability: a.churn_probability, expansion_probability: a.expansion_probability, expected_loss: a.expected_loss, reasons: a.reasons.join('; ') })),
      ['account_id', 'group', 'mrr', 'churn_probability', 'expansion_probability', 'expected_loss', 'reasons'],
      format,
    ).trimEnd(),
  ];
  return lines.join('\n') + '\n';
}

function backtestText(b: ForecastBacktest, format: RowFormat): string {
  if (format === 'csv') {
    return formatRows(
      b.months.map((m) => ({ as_of: m.as_of, through: m.through, accounts: m.accounts, actual_nrr: m.actual_nrr, model_p10: m.model.p10, model_p50: m.model.p50, model_p90: m.model.p90, ...m.baselines })),
      ['as_of', 'through', 'accounts', 'actual_nrr', 'model_p10', 'model_p50', 'model_p90', 'last_period', 'trailing_3m', 'committed'],
      'csv',
    );
  }
  const f = format === 'md' ? 'md' : 'table';
  const h = format === 'md' ? '## ' : '';
  const n = (x: number | null, d = 2): string => (x === null ? '—' : x.toFixed(d));
  const m = b.model;
  return [
    `${h}Backtest of the ${b.horizon_days}-day forward NRR over ${b.months.length} month-ends`,
    '',
    formatRows(
      [
        { method: 'model (P50)', mae_points: n(m.mae_points), coverage_80: m.coverage_80 === null ? '—' : `${m.covered} of ${b.months.length} (${Math.round(m.coverage_80 * 100)} %)` },
        ...(['last_period', 'trailing_3m', 'committed'] as const).map((k) => ({ method: k, mae_points: n(b.baselines[k].mae_points), coverage_80: '—' })),
      ],
      ['method', 'mae_points', 'coverage_80'],
      f,
    ).trimEnd(),
    '',
    `Churn before T + h: ${m.account_months} account-months, ${m.churned} churns; AUC ${n(m.auc, 3)} (95 % ${n(m.auc_low, 3)}–${n(m.auc_high, 3)}); Brier ${n(m.brier, 4)} (a constant rate: ${n(m.brier_constant, 4)}).`,
    '',
    formatRows(m.reliability.map((r) => ({ ...r })), ['bucket', 'n', 'churned', 'mean_probability', 'churn_rate'], f).trimEnd(),
    '',
    ...b.verdicts.map((v) => `- ${v}`),
    '',
    formatRows(
      b.months.map((x) => ({ as_of: x.as_of, actual_nrr: x.actual_nrr, model_p10: x.model.p10, model_p50: x.model.p50, model_p90: x.model.p90, ...x.baselines })),
      ['as_of', 'actual_nrr', 'model_p10', 'model_p50', 'model_p90', 'last_period', 'trailing_3m', 'committed'],
      f,
    ).trimEnd(),
  ].join('\n') + '\n';
}

/**
 * A subcommand's options, taking the flags that the parent command (which has the same ones:
 * --data, --horizon, -f…) parsed from the command line: commander gives a flag to the parent when
 * both define it.
 */
function withParentFlags<T>(cmd: Command): T {
  const out: Record<string, unknown> = { ...cmd.opts() };
  const parent = cmd.parent;
  if (parent) {
    for (const [k, v] of Object.entries(parent.opts())) {
      const given = parent.getOptionValueSource(k) === 'cli' || parent.getOptionValueSource(k) === 'env';
      if (given && cmd.getOptionValueSource(k) !== 'cli' && cmd.options.some((x) => x.attributeName() === k)) out[k] = v;
    }
  }
  return out as T;
}

const horizonOption = (): Option =>
  new Option('--horizon <days>', 'days ahead, 30 to 180 (simulated in whole months: 90 days = 3 months)').argParser((v) => {
    const n = positiveInt(v);
    if (n < 30 || n > 180) throw new NrrError(`--horizon: expected 30 to 180 days, got ${n}`);
    return n;
  }).default(DEFAULT_HORIZON_DAYS);

/** `nrr forecast` and `nrr forecast backtest`. */
export function registerForecast(program: Command): void {
  const cmd = withDataOptions(program.command('forecast').description("forward NRR and GRR of today's customers over the next 30–180 days, with P10/P50/P90, expected movements and the accounts behind the downside"), { asOfDate: true })
    .addOption(horizonOption())
    .option('--by <attribute>', 'the figures by an account attribute as well (segment, region, csm_owner…)')
    .addOption(whereOption())
    .option('--seed <n>', 'seed of the simulation: the same seed gives the same numbers', positiveInt, DEFAULT_FORECAST_SEED)
    .option('--simulations <n>', `simulated periods behind the intervals (default: ${DEFAULT_SIMULATIONS.toLocaleString('en-US')}, fewer above ${(SIMULATION_BUDGET / DEFAULT_SIMULATIONS).toLocaleString('en-US')} accounts)`, positiveInt)
    .option('--limit <n>', 'JSON: at most this many accounts in `accounts` (default: all)', positiveInt)
    .addOption(new Option('-f, --format <format>', 'output format (csv: one row per figure set)').choices([...ROW_FORMATS]).default('table'))
    .addOption(outOption())
    .addHelpText(
      'after',
      `
Three layers: committed changes the contract lines already show, monthly probabilities of churn,
contraction and expansion from a hazard model fitted on the workspace's own history (as-of rules of
account records: no leakage), and sizes of contraction and expansion by segment; a seeded Monte Carlo
gives the intervals. With thin history it falls back to segment × time-to-renewal rates and says so.
--where keeps the figures, groups and accounts of the matching accounts only: the model is still
fitted on the whole company's history and every account simulated, so the figures equal that
value's group in a forecast --by the same attribute (same seed).
See docs/forecast.md; check it with \`nrr forecast backtest\`.

Examples:
  nrr forecast --data demo
  nrr forecast --data demo --horizon 60 --by segment
  nrr forecast --data demo --where segment=enterprise     the enterprise accounts' figures
  nrr forecast --data demo --as-of 2026-06-30 --format json --limit 50 -o forecast.json`,
    )
    .action(async (o: ForecastCliOptions) =>
      withWorkspace(o, async (ws) => {
        // Reasons are put into words only for the accounts shown.
        const explain = o.format === 'json' ? o.limit : DOWNSIDE_COUNT;
        const { forecast } = await import('../forecast/forecast.js');
        const f = await forecast(ws, { horizonDays: o.horizon, by: o.by, where: o.where, seed: o.seed, simulations: o.simulations, explain });
        for (const n of f.notes) process.stderr.write(`warning: ${n}\n`);
        const text =
          o.format === 'json'
            ? stringifyJson(o.limit ? { ...f, accounts: f.accounts.slice(0, o.limit) } : f) + '\n'
            : o.format === 'csv'
              ? formatRows(figureRows(f), FIGURE_COLUMNS, 'csv')
              : forecastText(f, o.format);
        await writeOutput(o, text);
      }, true),
    );

  withDataOptions(cmd.command('backtest').description('replay past month-ends: fit on what was known then, forecast, compare with what happened and with three baselines'), { asOfDate: true })
    .addOption(horizonOption())
    .option('--months <n>', 'month-ends to replay (the latest whose outcome is known)', positiveInt, DEFAULT_BACKTEST_MONTHS)
    .option('--seed <n>', 'seed of the simulations', positiveInt, DEFAULT_FORECAST_SEED)
    .option('--simulations <n>', 'simulated periods per replayed month-end', positiveInt, DEFAULT_BACKTEST_SIMULATIONS)
    .addOption(new Option('-f, --format <format>', 'output format (csv: one row per replayed month-end)').choices([...ROW_FORMATS]).default('table'))
    .addOption(outOption())
    .addHelpText(
      'after',
      `
Baselines, run in the same replay: last_period (the NRR of the previous horizon carried forward),
trailing_3m (mean monthly NRR of the last three months, compounded: Baremetrics' method) and committed
(committed changes only: ChartMogul's method). MAE is in NRR points; coverage_80 is the share of
month-ends whose actual NRR fell within the P10–P90 interval.

Examples:
  nrr forecast backtest --data demo --months 6
  nrr forecast backtest --data demo --months 3 --horizon 60 --format json`,
    )
    .action(async (_o: unknown, self: Command) => {
      const o = withParentFlags<CommonOptions & { horizon: number; months: number; seed: number; simulations: number; format: RowFormat }>(self);
      const ws = await open(o, { signals: true });
      try {
        const { forecastBacktest } = await import('../forecast/forecast-backtest.js');
        const b = await forecastBacktest(ws, { horizonDays: o.horizon, months: o.months, seed: o.seed, simulations: o.simulations });
        await writeOutput(o, o.format === 'json' ? stringifyJson(b) + '\n' : backtestText(b, o.format));
      } finally {
        ws.close();
      }
    });
}
