import { Option, type Command } from 'commander';
import { DEFAULT_RESAMPLES, DEFAULT_SEED, MIN_EVENTS } from '../accounts/predictive-power.js';
import { stringifyJson } from '../money.js';
import { formatPercent } from '../report/format.js';
import type { PlayBacktest } from '../playbooks/backtest.js';
import { month, open, outOption, positiveInt, withDataOptions, type CommonOptions } from './common-options.js';
import { plural } from './plural-text.js';
import { runEffectLines } from './effect-lines.js';
import { writeOutput } from './standard-output.js';
import { ROW_FORMATS, formatRows, type RowFormat } from './output-format.js';

/** `nrr playbooks …`. */
export function registerPlaybooks(program: Command): void {
  const playbooks = program.command('playbooks').description('playbooks: rules that open the right task for the right owner (docs/playbooks.md)');
  withDataOptions(playbooks.command('dry-run').description('what `nrr playbooks run` would do now: who enters, who is already in, who waits (cooldown, yearly limit, budget), who leaves; nothing is opened or sent'), { asOfDate: true })
    .addOption(new Option('-f, --format <format>', 'output format').choices([...ROW_FORMATS]).default('table'))
    .addOption(outOption())
    .option('--limit <n>', 'at most this many rows per play and action in a table', positiveInt, 10)
    .addHelpText(
      'after',
      `
The dry run reads the play state (read-only) and decides as \`run\` does, with the same code: an
account matching a trigger is 'already_open' when it is in the play, 'held_by_cooldown' or
'held_by_yearly_limit' when it left too recently or entered too often, 'held_by_budget' when its
owner already has playbook_settings.daily_budget_per_owner new tasks that day, else 'enter'; a member
whose exit rule holds (or whose trigger no longer holds) has 'exit'. CSV and JSON give one row per
play and account with playbook, account_id and action.

Plays come from nrr.config.yaml (playbooks:) or the built-in ones; a trigger is a rule such as
  seat_utilisation > 0.8 and tier in (1, 2)
  days_to_renewal <= 60 and usage_trend_90d < -0.25

Examples:
  nrr playbooks dry-run --data demo
  nrr playbooks dry-run --data demo --format json
  nrr playbooks dry-run --data demo --as-of 2026-06-30 --format csv > plays.csv`,
    )
    .action(async (o: CommonOptions & { format: RowFormat; limit: number }) => {
      const ws = await open(o, { signals: true });
      try {
        const { dryRun, dryRunRows } = await import('../playbooks/dry-run.js');
        const run = await dryRun(ws, { asOf: o.asOf });
        const rows = dryRunRows(run);
        const cols = ['playbook', 'account_id', 'action', 'name', 'tier', 'owner', 'priority', 'due_date', 'task_id', 'reason', 'because'];
        if (o.format === 'json' || o.format === 'csv') {
          await writeOutput(o, formatRows(rows as never[], cols, o.format));
          return;
        }
        const out: string[] = [`Plays as of ${run.date} (dry run: nothing is opened or sent; state ${run.state_file ?? 'not created yet'})`];
        if (run.already_recorded) out.push(`A run for ${run.date} with these rules is already recorded: \`nrr playbooks run\` records nothing new today.`);
        for (const p of run.plays) {
          const mine = rows.filter((r) => r.playbook === p.playbook.name);
          const n = (a: string): number => mine.filter((r) => r.action === a).length;
          out.push(
            '',
            `${p.playbook.name}: ${plural(n('enter'), 'account')} would enter, ${n('already_open')} already open, ${n('held_by_budget')} held by budget, ${n('held_by_cooldown')} by cooldown, ${n('held_by_yearly_limit')} by yearly limit, ${n('exit')} would exit   when ${p.playbook.when}`,
          );
          for (const action of ['enter', 'held_by_budget', 'held_by_cooldown', 'held_by_yearly_limit', 'exit'] as const) {
            const list = mine.filter((r) => r.action === action);
            if (list.length === 0) continue;
            out.push(`  ${action}:`, formatRows(list.slice(0, o.limit) as never[], cols.filter((c) => c !== 'playbook' && c !== 'action'), o.format).trimEnd());
            if (list.length > o.limit) out.push(`  … and ${list.length - o.limit} more (--limit, or --format csv for all)`);
          }
        }
        await writeOutput(o, out.join('\n') + '\n');
      } finally {
        ws.close();
      }
    });

  withDataOptions(playbooks.command('run').description('open tasks for accounts entering a play, close them for those leaving, notify destinations'), {
    asOfDate: true,
  })
    .option('--run-key <key>', "the run's idempotency key (default: the day and the rules' version); a key already run records nothing")
    .option('--no-deliver', 'record tasks and events but send nothing (deliveries wait for the next run)')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['table', 'md', 'json']).default('table'))
    .addHelpText(
      'after',
      `
An account enters a play when its trigger holds and it is not in the play: a task opens for the
owner, and the play's destinations (notify:) are told. It stays in the play, with no second task,
until the exit rule holds (or, without one, the trigger stops holding); then its open task closes
as 'exited'. After leaving it waits cooldown_days before it can enter again, and enters at most
max_entries_per_year times. An owner gets at most playbook_settings.daily_budget_per_owner new
tasks a day, most urgent and largest ARR first; the rest wait for the next day.

State (tasks, members, fired events with the rules' version and reasons, deliveries) lives in
playbook_settings.state_file (default .nrr/state.duckdb in the data folder). A run is recorded in
one transaction: if it is stopped half-way, nothing is recorded and running it again does it all;
once recorded, running it again only delivers what is still unsent. Deliveries are sent with the
state closed (\`nrr tasks\` works meanwhile); a destination that times out or fails has its other
deliveries deferred to the next run, and a run delivers for at most
playbook_settings.delivery_time_limit_ms. Exit code 1 when a delivery failed or was deferred (the
next run tries it again).

Examples:
  nrr playbooks run --data demo
  nrr playbooks run --data demo --no-deliver --format json
  nrr tasks --data demo --owner "Maya Patel" --status open`,
    )
    .action(async (o: CommonOptions & { runKey?: string; deliver: boolean; format: 'table' | 'md' | 'json' }) => {
      const ws = await open(o, { signals: true });
      try {
        const { runPlaybooks } = await import('../playbooks/run-playbooks.js');
        const r = await runPlaybooks(ws, { asOf: o.asOf, runKey: o.runKey, deliver: o.deliver });
        if (o.format === 'json') process.stdout.write(stringifyJson(r) + '\n');
        else {
          process.stdout.write(
            `Run ${r.run_key} as of ${r.date}, rules version ${r.config_version}${r.already_recorded ? ' — already recorded: nothing new opened or closed' : ''}\n` +
              `State: ${r.state_file}\n\n`,
          );
          process.stdout.write(
            formatRows(
              r.plays.map((p) => ({ ...p })),
              ['playbook', 'entered', 'exited', 'held_cooldown', 'held_yearly_limit', 'held_budget', 'open_tasks'],
              o.format,
            ),
          );
          if (r.deliveries) {
            const d = r.deliveries;
            process.stdout.write(`\nDeliveries: ${d.sent} sent, ${d.failed} failed${d.deferred > 0 ? `, ${d.deferred} deferred to the next run` : ''}\n`);
          }
        }
        for (const line of runEffectLines(r, o.quiet ?? false)) process.stderr.write(`${line}\n`);
        for (const e of r.deliveries?.errors ?? []) process.stderr.write(`delivery failed: ${e}\n`);
        const unsent = (r.deliveries?.failed ?? 0) + (r.deliveries?.deferred ?? 0);
        if (unsent > 0) {
          process.stderr.write(`${unsent} deliveries not made; the next run tries them again\n`);
          process.exitCode = 1;
        }
      } finally {
        ws.close();
      }
    });

  withDataOptions(playbooks.command('backtest').description('replay month-ends: per play, fires, precision, recall of churned/expanded ARR, lead time'))
    .option('--from <YYYY-MM>', 'first month-end to replay (default: 12 months ending --to)', month)
    .option('--to <YYYY-MM>', 'last month-end to replay (default: three months before the reporting month)', month)
    .option('--resamples <n>', 'bootstrap resamples behind each 95 % interval', positiveInt, DEFAULT_RESAMPLES)
    .option('--seed <n>', 'seed of the bootstrap: the same seed gives the same intervals', positiveInt, DEFAULT_SEED)
    .addOption(new Option('-f, --format <format>', 'output format').choices(['table', 'md', 'json']).default('table'))
    .addHelpText(
      'after',
      `
Each month-end is seen as of its day. Precision: fires followed within 90 days by what the play is
for (churn or contraction; expansion for expansion plays), against the base rate over every
account-month. Recall: the churned, contracted or expanded ARR the play had flagged in the 90 days
before, and the median lead time. Every figure gives the cases behind it; lift has a 95 % interval
(percentile bootstrap over accounts); below ${MIN_EVENTS} hits no verdict is given.
The default replay is kept beside the workspace store: the dashboard's Playbooks page reads it
until the data, the plays or the day change.

Examples:
  nrr playbooks backtest --data demo
  nrr playbooks backtest --data demo --from 2025-06 --to 2026-06 --format json`,
    )
    .action(async (o: CommonOptions & { from?: string; to?: string; resamples: number; seed: number; format: 'table' | 'md' | 'json' }) => {
      const ws = await open(o, { signals: true });
      try {
        const [{ backtest }, { keepDefaultBacktest }] = await Promise.all([import('../playbooks/backtest.js'), import('../playbooks/backtest-cache.js')]);
        const b = await backtest(ws, { from: o.from, to: o.to, resamples: o.resamples, seed: o.seed });
        // The default replay is what the dashboard shows: kept beside the store, it opens at once there.
        if (o.from === undefined && o.to === undefined && o.resamples === DEFAULT_RESAMPLES && o.seed === DEFAULT_SEED) await keepDefaultBacktest(ws, b);
        if (o.format === 'json') {
          process.stdout.write(stringifyJson(b) + '\n');
          return;
        }
        const lift = (p: PlayBacktest): string =>
          p.lift === null ? '—' : `${p.lift.toFixed(1)}×${p.lift_low !== null && p.lift_high !== null ? ` (${p.lift_low.toFixed(1)}–${p.lift_high.toFixed(1)})` : ''}`;
        process.stdout.write(`Playbooks replayed over ${b.snapshots} month-ends, ${b.from} … ${b.to}; outcomes within 90 days.\n`);
        process.stdout.write(
          `Counts: hits are fires followed by what the play catches, of the fires whose outcome is known; cases are account-months followed by it. ` +
            `Lift: 95 % interval, ${b.interval.method} (${b.interval.resamples} resamples, seed ${b.interval.seed}). No verdict from fewer than ${b.min_events} hits.\n\n`,
        );
        process.stdout.write(
          formatRows(
            b.plays.map((p) => ({
              playbook: p.playbook,
              catches: p.target === 'loss' ? 'churn or contraction' : 'expansion',
              fires: p.fires,
              hits: `${p.hits} of ${p.fires_known}`,
              precision: formatPercent(p.precision),
              base_rate: `${formatPercent(p.base_rate)} (${p.target_cases} of ${p.account_months})`,
              'lift (95 %)': lift(p),
              recall_arr: `${formatPercent(p.recall_arr)} (${p.target_events} events)`,
              median_lead_days: p.median_lead_days,
              verdict: p.verdict,
            })),
            ['playbook', 'catches', 'fires', 'hits', 'precision', 'base_rate', 'lift (95 %)', 'recall_arr', 'median_lead_days', 'verdict'],
            o.format,
          ) + '\n',
        );
      } finally {
        ws.close();
      }
    });
}
