import { Option, type Command } from 'commander';
import { stringifyJson } from '../money.js';
import { backtest } from '../playbooks/backtest.js';
import { dryRun } from '../playbooks/dry-run.js';
import { month, open, withDataOptions, type CommonOptions } from './common-options.js';
import { ROW_FORMATS, formatRows, type RowFormat } from './output-format.js';

/** `nrr playbooks …`. */
export function registerPlaybooks(program: Command): void {
  const playbooks = program.command('playbooks').description('playbooks: rules that open the right task for the right owner (docs/playbooks.md)');
  withDataOptions(playbooks.command('dry-run').description('who would enter each play on a day, and why; nothing is opened or sent'), { asOfDate: true })
    .addOption(new Option('-f, --format <format>', 'output format').choices([...ROW_FORMATS]).default('table'))
    .option('--limit <n>', 'at most this many accounts per play in a table', (v) => Number(v), 10)
    .addHelpText(
      'after',
      `
Plays come from nrr.config.yaml (playbooks:) or the built-in ones; a trigger is a rule such as
  seat_utilisation > 0.8 and tier in (1, 2)
  days_to_renewal <= 60 and usage_trend_90d < -0.25

Examples:
  nrr playbooks dry-run --data demo
  nrr playbooks dry-run --data demo --as-of 2026-06-30 --format csv > entering.csv`,
    )
    .action(async (o: CommonOptions & { format: RowFormat; limit: number }) => {
      const ws = await open(o, { signals: true });
      try {
        const run = await dryRun(ws, { asOf: o.asOf });
        const all = run.plays.flatMap((p) => p.entering);
        const cols = ['playbook', 'account_id', 'name', 'tier', 'owner', 'task_type', 'priority', 'due_date', 'because', 'top_reason'];
        if (o.format === 'json') {
          process.stdout.write(stringifyJson(run) + '\n');
        } else if (o.format === 'csv') {
          process.stdout.write(formatRows(all as never[], cols, 'csv'));
        } else {
          process.stdout.write(`Plays as of ${run.date} (dry run: nothing is opened or sent)\n\n`);
          for (const p of run.plays) {
            process.stdout.write(`${p.playbook.name}: ${p.entering.length} account${p.entering.length === 1 ? '' : 's'} would enter   when ${p.playbook.when}\n`);
            if (p.entering.length > 0) {
              process.stdout.write(formatRows(p.entering.slice(0, o.limit) as never[], cols.filter((c) => c !== 'playbook' && c !== 'task_type'), o.format) + '\n');
              if (p.entering.length > o.limit) process.stdout.write(`… and ${p.entering.length - o.limit} more (--limit, or --format csv for all)\n`);
            }
            process.stdout.write('\n');
          }
        }
      } finally {
        ws.close();
      }
    });

  withDataOptions(playbooks.command('backtest').description('replay month-ends: per play, fires, precision, recall of churned/expanded ARR, lead time'))
    .option('--from <YYYY-MM>', 'first month-end to replay (default: 12 months ending --to)', month)
    .option('--to <YYYY-MM>', 'last month-end to replay (default: three months before the reporting month)', month)
    .addOption(new Option('-f, --format <format>', 'output format').choices(['table', 'md', 'json']).default('table'))
    .addHelpText(
      'after',
      `
Each month-end is seen as of its day. Precision: fires followed within 90 days by what the play is
for (churn or contraction; expansion for expansion plays), against the base rate over every
account-month. Recall: the churned, contracted or expanded ARR the play had flagged in the 90 days
before, and the median lead time.

Examples:
  nrr playbooks backtest --data demo
  nrr playbooks backtest --data demo --from 2025-06 --to 2026-06 --format json`,
    )
    .action(async (o: CommonOptions & { from?: string; to?: string; format: 'table' | 'md' | 'json' }) => {
      const ws = await open(o, { signals: true });
      try {
        const b = await backtest(ws, { from: o.from, to: o.to });
        if (o.format === 'json') {
          process.stdout.write(stringifyJson(b) + '\n');
          return;
        }
        const pct = (x: number | null): string => (x === null ? '—' : `${(x * 100).toFixed(1)} %`);
        process.stdout.write(`Playbooks replayed over ${b.snapshots} month-ends, ${b.from} … ${b.to}; outcomes within 90 days.\n\n`);
        process.stdout.write(
          formatRows(
            b.plays.map((p) => ({
              playbook: p.playbook,
              catches: p.target === 'loss' ? 'churn or contraction' : 'expansion',
              fires: p.fires,
              precision: pct(p.precision),
              base_rate: pct(p.base_rate),
              lift: p.precision !== null && p.base_rate ? `${(p.precision / p.base_rate).toFixed(1)}×` : '—',
              recall_arr: pct(p.recall_arr),
              median_lead_days: p.median_lead_days,
            })),
            ['playbook', 'catches', 'fires', 'precision', 'base_rate', 'lift', 'recall_arr', 'median_lead_days'],
            o.format,
          ) + '\n',
        );
      } finally {
        ws.close();
      }
    });
}
