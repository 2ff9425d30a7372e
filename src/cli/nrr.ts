#!/usr/bin/env node
import { existsSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { NrrError } from '../errors.js';
import { checkFullMonth, dayText, monthIndex, monthText } from '../engine/months.js';
import { Money, stringifyJson } from '../money.js';
import type { Metrics } from '../queries/metrics-queries.js';
import { formatMoney, formatPercent } from '../report/format.js';
import { ValidationError } from '../workspace/validation-report.js';
import type { Workspace } from '../workspace/workspace.js';
import { ROW_FORMATS, formatRows, type RowFormat } from './output-format.js';
import { month, open, outOption, positiveInt, today, type CommonOptions, withDataOptions, withWorkspace } from './common-options.js';
import { registerAccounts } from './accounts-command.js';
import { registerGenerate } from './generate-command.js';
import { registerPlaybooks } from './playbooks-command.js';
import { registerTasks } from './tasks-command.js';
import { ensurePortFree, registerServe, servePort, serveWorkspace } from './serve-command.js';
import { spinnerProgress } from './spinner-progress.js';
import { DEFAULT_SEED } from '../generate/seed.js';
import { registerInit } from './init-command.js';
import { registerValidate } from './validate-command.js';
import { registerStripeLive } from './stripe-live-command.js';
import { registerSync } from './sync-command.js';
import { registerIngest } from './ingest-command.js';
import { registerStripe } from './stripe-command.js';
import { registerForecast } from './forecast-command.js';
import { registerWarehouseStore } from './warehouse-store-option.js';
import { registerWarehouse } from './warehouse-command.js';
import { registerMrr } from './mrr-command.js';
import { registerCsViews } from './cs-commands.js';
import { whereOption, type WhereOptions } from './where-option.js';
import { guardStandardStreams, OutputError, reportOutputError, writeOutput } from './standard-output.js';

const formatOption = (def: string, choices: readonly string[]): Option =>
  new Option('-f, --format <format>', 'output format').choices([...choices]).default(def);

const metricColumns = [
  'month',
  'window',
  'starting_mrr',
  'ending_mrr',
  'expansion',
  'contraction',
  'churn',
  'fx',
  'nrr',
  'grr',
  'logo_retention',
  'starting_accounts',
  'retained_accounts',
  'small_group',
  'nrr_plausible',
  'median_acv',
  'overlap_lines',
  'overlap_mrr',
] as const;

/** The metrics that are ratios: fractions in CSV and JSON, percentages in a table. */
const RATIO_COLUMNS = ['nrr', 'grr', 'logo_retention'] as const;

/** Metrics as JSON: one object, or one per group carrying the group's value under the `--by` name. */
function metricsJson(rows: readonly Metrics[], by: string | undefined): string {
  if (!by) return stringifyJson(rows[0] ?? null) + '\n';
  return stringifyJson(rows.map((r) => ({ [by]: r.group, ...r }))) + '\n';
}

type ReportOptions = CommonOptions & { by?: string[]; method?: 'snapshot'; format: 'md' | 'json' | 'html'; out?: string; forecast?: boolean };

async function runReport(o: ReportOptions): Promise<void> {
  // The forecast section reads the signal files.
  await withWorkspace(o, (ws) => writeReport(ws, o), o.forecast === true);
}

/** The report of an open workspace, to standard output or --out. */
async function writeReport(ws: Workspace, o: ReportOptions): Promise<void> {
  const [{ buildReport }, { renderHtml }, { renderMarkdown }] = await Promise.all([
    import('../report/report-model.js'),
    import('../report/render-html.js'),
    import('../report/render-markdown.js'),
  ]);
  const report = await buildReport(ws, { by: o.by, forecast: o.forecast === true });
  const text = o.format === 'json' ? stringifyJson(report) + '\n' : o.format === 'html' ? renderHtml(report) : renderMarkdown(report);
  await writeOutput(o, text);
}

export function buildProgram(): Command {
  const program = new Command('nrr')
    .description(
      'Net revenue retention you can trust: contract lines → MRR ledger → movements → NRR/GRR by any slice.\n' +
        'Reads a data folder (subscriptions, accounts, usage, fx_rates as CSV, Parquet or JSON) and computes on embedded DuckDB.',
    )
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Start here:
  nrr init my-data                                      a workspace for your own exports
  nrr validate --data my-data                           every file checked, row by row
  nrr demo                                              or: the demo company and its report

Examples:
  nrr report --data demo                                the one-screen report (Markdown)
  nrr report --data demo --format html -o r.html
  nrr metrics --data demo --month 2025-12 --window 12 --by segment
  nrr movements --data demo --format csv > movements.csv
  nrr explain A0000042 --data demo                      MRR history and the lines behind each movement

Conventions (docs/cli.md): -d/--data, -f/--format, -q/--quiet, -o/--out, --as-of on every command
that takes them; rows print as a table unless --format asks for csv, json or md; tables show money
to the cent and ratios as percentages (112.4%), CSV and JSON give every digit and ratios as fractions.

Policies (end/start-of-month snapshot, usage, FX, reactivation window, NRR method) come from
nrr.config.yaml or the flags; every report prints the ones it used. See docs/definitions.md.`,
    );

  // A new user's first two commands come first in --help.
  registerInit(program);
  registerValidate(program);
  registerSync(program);
  registerIngest(program);

  registerMrr(program);

  withDataOptions(
    program
      .command('movements')
      .description('one row per account-month with a movement: new, expansion, contraction, churn, reactivation'),
  )
    .option('--account <id>', 'only this account')
    .addOption(new Option('--category <category>', 'only this category').choices(['new', 'expansion', 'reactivation', 'contraction', 'churn']))
    .addOption(whereOption())
    .addHelpText('after', `\nExamples:\n  nrr movements --data demo --category churn\n  nrr movements --data demo --account A0000042 --format json\n  nrr movements --data demo --category churn --where segment=smb`)
    .addOption(formatOption('table', ROW_FORMATS))
    .addOption(outOption())
    .action(async (o: CommonOptions & WhereOptions & { account?: string; category?: 'new'; format: RowFormat }) =>
      withWorkspace(o, async (ws) => {
        const [{ filteredAccountIds }, { movements }] = await Promise.all([import('../queries/attribute-queries.js'), import('../queries/ledger-queries.js')]);
        const kept = o.where === undefined ? null : new Set(await filteredAccountIds(ws, o.where));
        const rows = (await movements(ws, { account: o.account, category: o.category })).filter((r) => kept === null || kept.has(r.account_id));
        const cols = ['account_id', 'month', 'category', 'cause', 'mrr_before', 'mrr_after', 'delta', 'usage_delta', 'fx'];
        await writeOutput(o, formatRows(rows as unknown as Record<string, never>[], cols, o.format));
      }),
    );

  withDataOptions(
    program
      .command('metrics')
      .description('NRR, GRR, logo retention and the bridge for a window ending in a month')
      .addHelpText(
        'after',
        `
The cohort is the accounts with MRR at the end of month M−W. NRR = their MRR at the end of M ÷ at
the end of M−W (snapshot). A table shows ratios as percentages (101.5%); CSV and JSON as
fractions (1.015).
  --by takes an account attribute (a column of accounts), or account, product, acv_band,
  cohort, cohort_month, cohort_quarter, cohort_year.
An answer is kept beside the workspace store (.nrr/answers) and read back while the store is
unchanged; any sync that changes it, or ingested change, makes it computed again (docs/store.md).

Examples:
  nrr metrics --data demo
  nrr metrics --data demo --month 2025-12 --window 3 --by segment
  nrr metrics --data demo --from 2025-01 --window 12 --format csv > nrr-trend.csv
  nrr metrics --data demo --format json`,
      ),
  )
    .option('-m, --month <YYYY-MM>', 'last month of the window (default: the reporting month)', month)
    .option('--from <YYYY-MM>', 'a time series: one result per month from this month to --month', month)
    .option('-w, --window <months>', 'window in months: 1 monthly, 3 quarterly, 12 trailing twelve months', positiveInt, 12)
    .option('--by <attribute>', 'one result per group')
    .addOption(new Option('--method <method>', 'NRR method').choices(['snapshot', 'movements', 'average']))
    .addOption(whereOption())
    .addOption(formatOption('table', ROW_FORMATS))
    .addOption(outOption())
    .action(async (o: CommonOptions & WhereOptions & { month?: string; from?: string; window: number; by?: string; method?: 'snapshot'; format: RowFormat }) => {
      // A month that is not over is refused before any file is read.
      if (o.month) checkFullMonth(monthIndex(o.month), dayText(today()), o.allowPartial ?? false, '--month');
      await withWorkspace(o, async (ws) => {
        const [{ cachedMetricsSeries }, { metricsWarnings }, { partialNote }] = await Promise.all([
          import('../queries/metrics-cache.js'),
          import('../report/diagnostics.js'),
          import('../workspace/workspace.js'),
        ]);
        const to = o.month ? monthIndex(o.month) : ws.asOfMonth;
        const from = o.from ? monthIndex(o.from) : to;
        if (from > to) throw new NrrError(`--from ${o.from} is after the window's last month ${monthText(to)}`);
        const months = Array.from({ length: to - from + 1 }, (_, k) => from + k);
        // Every result says whether its month is over; a partial one is also named on stderr and in a column.
        const rows = (await cachedMetricsSeries(ws, { months, window: o.window, by: o.by, method: o.method, where: o.where })).map((r) => ({
          ...r,
          partial: monthIndex(r.month) > ws.dates.lastFullMonth,
        }));
        const partial = rows.some((r) => r.partial);
        if (partial && ws.asOfMonth <= ws.dates.lastFullMonth) process.stderr.write(`warning: ${partialNote(monthText(to), ws.dates.today)}\n`);
        for (const w of metricsWarnings(rows, o.method ?? ws.policies.nrr_method, ws.policies.min_group_accounts, o.by)) process.stderr.write(`warning: ${w}\n`);
        if (o.format === 'json') {
          await writeOutput(o, o.from ? stringifyJson(o.by ? rows.map((r) => ({ [o.by!]: r.group, ...r })) : rows) + '\n' : metricsJson(rows, o.by));
        } else {
          const cols = [...(o.by ? ['group'] : []), ...metricColumns, ...(partial ? ['partial'] : [])];
          // People read ratios as percentages; CSV keeps the fractions.
          const shown = o.format === 'csv' ? rows : rows.map((r) => ({ ...r, ...Object.fromEntries(RATIO_COLUMNS.map((c) => [c, formatPercent(r[c], 1)])) }));
          await writeOutput(o, formatRows(shown as unknown as Record<string, never>[], cols, o.format));
        }
      });
    });

  withDataOptions(program.command('report').description('the one-screen NRR report: headline, bridge, trend, groups vs benchmarks, cohorts, diagnostics'))
    .option('--by <attribute...>', 'extra groupings besides ACV band, segment and product')
    .addOption(new Option('--method <method>', 'NRR method').choices(['snapshot', 'movements', 'average']))
    .addOption(formatOption('md', ['md', 'json', 'html']))
    .option('-o, --out <file>', 'write to a file instead of standard output')
    .option('--no-forecast', 'leave out the forecast section (it reads the signal files and fits the forecast model: docs/forecast.md)')
    .addHelpText(
      'after',
      `
Examples:
  nrr report --data demo
  nrr report --data demo --no-forecast
  nrr report --data demo --by region --format html -o report.html
  nrr report --data demo --as-of 2025-12 --format json > report.json`,
    )
    .action(runReport);

  withDataOptions(
    program
      .command('demo')
      .description('the demo company: generated into a folder on first use (3,000 accounts, 48 months), then its report')
      .option('--accounts <n>', 'accounts in the demo company', positiveInt, 3000)
      .option('--seed <n>', 'random seed of the demo company', positiveInt, DEFAULT_SEED)
      .option('--by <attribute...>', 'extra groupings besides ACV band, segment and product')
      .addOption(new Option('--method <method>', 'NRR method').choices(['snapshot', 'movements', 'average']))
      .addOption(formatOption('md', ['md', 'json', 'html']))
      .option('-o, --out <file>', 'write the report to a file instead of standard output')
      .option('--serve', 'then run the plays for the reporting day and serve the dashboard')
      .option('-p, --port <port>', 'with --serve: port to listen on', positiveInt),
  )
    .addHelpText(
      'after',
      '\nThe data folder (--data, default demo) is generated when it is missing or was made for another month or size.\n' +
        'A folder holding data files that nrr did not write (your own subscriptions.csv, …) is refused and left as it is;\n' +
        '--force generates over them.\n\nExamples:\n  nrr demo                                   the demo company (into demo/) and its report\n  nrr demo --serve                           then its plays and its dashboard; npm start is nrr demo --data demo --serve\n  nrr demo --data small-demo --accounts 300 --format html -o demo.html',
    )
    .action(async (o: ReportOptions & { accounts: number; seed: number; serve?: boolean; port?: number }) => {
      const dir = o.data === '.' ? 'demo' : o.data;
      if (o.serve && existsSync(dir)) {
        const { port, host } = servePort({ ...o, data: dir });
        await ensurePortFree(port, host);
      } else if (o.serve) await ensurePortFree(o.port ?? 4317, '127.0.0.1');
      const progress = spinnerProgress();
      const started = performance.now();
      const { ensureDemo } = await import('../generate/demo-folder.js');
      const made = await ensureDemo(dir, { accounts: o.accounts, seed: o.seed, today: today(), onProgress: (l) => progress.step(l), force: o.force }).finally(() => progress.done());
      if (made && !o.quiet) {
        process.stderr.write(`generated the demo company (${made.accounts.toLocaleString('en-US')} accounts, ${made.firstMonth} → ${made.lastMonth}) into ${dir} in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
      }
      if (!o.serve) {
        await runReport({ ...o, data: dir });
        return;
      }
      // One workspace, with the signal files the dashboard needs, for the report and the server.
      const ws = await open({ ...o, data: dir }, { signals: true });
      try {
        await writeReport(ws, o);
      } catch (e) {
        ws.close();
        throw e;
      }
      await serveWorkspace({ ...o, data: dir }, true, ws);
    });

  withDataOptions(program.command('cohorts').description('cohort table: revenue retention by period of first revenue × periods since'))
    .addOption(new Option('-g, --granularity <period>', 'cohort period').choices(['month', 'quarter', 'year']))
    .addOption(whereOption())
    .addHelpText('after', `\nExamples:\n  nrr cohorts --data demo --granularity quarter\n  nrr cohorts --data demo --granularity year --format csv -o cohorts.csv\n  nrr cohorts --data demo --where segment=enterprise`)
    .addOption(formatOption('table', ROW_FORMATS))
    .addOption(outOption())
    .action(async (o: CommonOptions & WhereOptions & { granularity?: 'month' | 'quarter' | 'year'; format: RowFormat }) =>
      withWorkspace(o, async (ws) => {
        const { cohortTable } = await import('../queries/cohort-queries.js');
        const rows = await cohortTable(ws, o.granularity, o.where);
        if (o.format === 'json') {
          await writeOutput(o, stringifyJson(rows) + '\n');
          return;
        }
        const width = Math.max(0, ...rows.map((c) => c.retention.length));
        const cols = ['cohort', 'accounts', 'small_group', 'starting_mrr', ...Array.from({ length: width }, (_, k) => `+${k}`)];
        const flat = rows.map((c) => ({
          cohort: c.cohort,
          accounts: c.accounts,
          small_group: c.small_group,
          starting_mrr: c.starting_mrr,
          ...Object.fromEntries(c.retention.map((v, k) => [`+${k}`, o.format === 'csv' ? v : formatPercent(v, 1)])),
        }));
        await writeOutput(o, formatRows(flat as unknown as Record<string, never>[], cols, o.format));
      }),
    );

  withDataOptions(program.command('explain').description("an account's MRR history, its movements and the lines behind each").argument('<account>', 'account_id'))
    .addOption(formatOption('table', ['table', 'json']))
    .addOption(outOption())
    .addHelpText(
      'after',
      `
Examples:
  nrr explain A0000042 --data demo
  nrr explain A0000042 --data demo --as-of 2025-12 --format json`,
    )
    .action(async (account: string, o: CommonOptions & { format: 'table' | 'json' }) =>
      withWorkspace(o, async (ws) => {
        const { explainAccount } = await import('../queries/explain-queries.js');
        const x = await explainAccount(ws, account);
        if (o.format === 'json') {
          await writeOutput(o, stringifyJson(x) + '\n');
          return;
        }
        const out: string[] = [`Account ${x.account_id}${Object.keys(x.attributes).length ? ` — ${Object.entries(x.attributes).map(([k, v]) => `${k}: ${v ?? '—'}`).join(', ')}` : ''}`, '', 'Source lines'];
        out.push(
          formatRows(
            x.lines.map((l) => ({ ...l, months: l.first_month ? `${l.first_month} → ${l.last_month}` : 'never in force at a snapshot' })) as unknown as Record<string, never>[],
            ['id', 'row', 'product', 'currency', 'months', 'mrr_local', 'mrr'],
            'table',
          ),
        );
        if (x.usage_set_aside.length > 0) {
          out.push(
            'Usage set aside (not MRR: no contract line of the account in force in its month)',
            formatRows(x.usage_set_aside as unknown as Record<string, never>[], ['row', 'product', 'month', 'currency', 'amount_local', 'amount'], 'table'),
          );
        }
        out.push('Movements and their causes');
        for (const m of x.movements) {
          out.push(
            `  ${m.month}  ${m.category.padEnd(12)} ${m.cause.padEnd(8)} ${formatMoney(m.mrr_before)} → ${formatMoney(m.mrr_after)} (${m.delta.cmp(Money.zero) > 0 ? '+' : ''}${formatMoney(m.delta)}${m.fx.isZero() ? '' : `, FX ${formatMoney(m.fx)}`})`,
          );
          for (const l of m.lines) out.push(`      ${l.effect === 'started' ? '+' : '−'} ${l.id} (${l.product}) ${l.effect} ${formatMoney(l.mrr)}/month`);
        }
        out.push('', 'MRR history');
        out.push(formatRows(x.history as unknown as Record<string, never>[], ['month', 'mrr'], 'table'));
        await writeOutput(o, out.join('\n') + '\n');
      }),
    );

  registerAccounts(program);
  registerPlaybooks(program);
  registerTasks(program);
  registerCsViews(program);
  registerStripeLive(program);
  registerServe(program);
  registerForecast(program);
  registerGenerate(program);
  registerStripe(program);
  registerWarehouseStore(program);
  registerWarehouse(program);
  return program;
}

/** Runs the CLI; user errors are printed without a stack trace. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().exitOverride().parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    if (e instanceof OutputError) return reportOutputError(e);
    if (e instanceof ValidationError) {
      process.stderr.write(`error: ${e.message}\n`);
      return 2;
    }
    if (e instanceof NrrError) {
      process.stderr.write(`error: ${e.message}\n`);
      return 1;
    }
    process.stderr.write(`internal error: ${e instanceof Error ? (process.env['NRR_DEBUG'] ? e.stack : e.message) : String(e)}\n`);
    return 70;
  }
}

const script = process.argv[1];
if (script !== undefined && existsSync(script) && realpathSync(script) === fileURLToPath(import.meta.url)) {
  guardStandardStreams();
  main(process.argv.slice(2)).then((code) => {
    // A command may have set a non-zero exit code of its own (e.g. failed deliveries).
    if (code !== 0 || process.exitCode === undefined) process.exitCode = code;
  });
}
