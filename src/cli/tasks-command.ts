import { existsSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { findConfigFile, loadConfig } from '../config/config-file.js';
import { NrrError } from '../errors.js';
import { Money, stringifyJson } from '../money.js';
import { DEFAULT_PLAYBOOK_SETTINGS, statePath } from '../playbooks/playbook-settings.js';
import { PlaybookState, TASK_OUTCOMES, type TaskOutcome } from '../playbooks/playbook-state.js';
import { priorDueRange, summarizeTasks, summaryFigures, type TaskSummary } from '../playbooks/task-summary.js';
import { TASK_DUE, TASK_VIEW_STATUSES, viewTasks, type TaskDue, type TaskViewStatus } from '../playbooks/task-views.js';
import { ROW_FORMATS, formatRows, type RowFormat } from './output-format.js';
import { isCalendarDay, month, open, outOption, today } from './common-options.js';
import { writeOutput } from './standard-output.js';
import { whereOption, type WhereOptions } from './where-option.js';

interface StateOptions {
  data: string;
  config?: string;
  quiet?: boolean;
  out?: string;
  force?: boolean;
}

/**
 * The play state of a data folder, found through its config without reading the data. Listing
 * opens it read-only, so any number of readers work at once; each waits while a run writes.
 */
async function openState(o: StateOptions, readOnly: boolean): Promise<PlaybookState> {
  const config = loadConfig(findConfigFile(o.config, o.data));
  const path = statePath(o.data, config.playbook_settings ?? DEFAULT_PLAYBOOK_SETTINGS);
  if (!existsSync(path)) throw new NrrError(`no play state at ${path} yet: run \`nrr playbooks run --data ${o.data}\` first`);
  return PlaybookState.open(path, { readOnly });
}

const withStateOptions = (cmd: Command): Command =>
  cmd
    .option('-d, --data <dir>', 'data folder (its config says where the play state lives)', '.')
    .option('-c, --config <file>', 'workspace config (default: nrr.config.yaml in the data folder or the current folder)')
    .option('-q, --quiet', 'print only the rows (tasks reads no data files, so there is nothing else to hush)');

type ListOptions = StateOptions &
  WhereOptions & { owner?: string; status: TaskViewStatus | 'all'; due?: TaskDue; dueFrom?: string; dueTo?: string; playbook?: string; account?: string; summary?: boolean; compare?: boolean; format: RowFormat };

const COLUMNS = ['task_id', 'status', 'playbook', 'account_id', 'account_name', 'type', 'priority', 'owner', 'opened_on', 'due_date', 'overdue', 'snoozed_until', 'closed_on', 'outcome', 'note', 'why'];

/** `nrr tasks` and `nrr tasks done`. */
export function registerTasks(program: Command): void {
  const tasks = withStateOptions(program.command('tasks').description('tasks opened by `nrr playbooks run`: list them, or close one with its outcome'))
    .option('--owner <name>', "only this owner's tasks (case-insensitive)")
    .addOption(new Option('--status <status>', 'only tasks with this status (snoozed: open, but snoozed until after today)').choices([...TASK_VIEW_STATUSES, 'all']).default('open'))
    .addOption(new Option('--due <when>', 'overdue: open and due before today; week: open and due in the next seven days').choices([...TASK_DUE]))
    .option('--due-from <YYYY-MM>', 'only tasks due in this month or later', month)
    .option('--due-to <YYYY-MM>', 'only tasks due in this month or earlier', month)
    .option('--playbook <name>', 'only this play')
    .option('--account <id>', 'only this account')
    .option('--summary', 'instead of the list, what the tasks due in --due-from…--due-to came to: counts by status, outcomes, won saves and expansions, the accounts and their ARR')
    .option('--compare', 'with --summary: also the prior period (as many months, ending the month before --due-from) and the change')
    .addOption(whereOption())
    .addOption(new Option('-f, --format <format>', 'output format').choices([...ROW_FORMATS]).default('table'))
    .addOption(outOption())
    .option('--force', 'replace an -o file that nrr did not write')
    .addHelpText(
      'after',
      `
Statuses: open; snoozed (open, waiting until the day it was snoozed to); done (closed with an
outcome); exited (the account left the play first). Today is the clock's day, or NRR_TODAY.
The task list reads only the play state; --where also reads the accounts' attributes from the
workspace (synced first, as every command that reads the data).

--summary counts every status of the tasks due in the range (--owner, --playbook, --account and
--where narrow it): open, snoozed, done and exited, each a share of all; overdue, a share of the
open; each outcome, a share of the done; retained, the done save, risk and renewal tasks closed
as won (a share of those); expanded, the done expansion tasks closed as won; the accounts and
their ARR on the reporting day (it reads the workspace for it). Won is what the person closing
the task recorded, not a change measured in revenue. --compare adds the prior period and the
change; it needs --due-from and --due-to.

Examples:
  nrr tasks --data demo                               open tasks, newest first
  nrr tasks --data demo --owner "Maya Patel" --format csv
  nrr tasks --data demo --status all --account A0000042
  nrr tasks --data demo -q --format json -o tasks.json
  nrr tasks --data demo --due overdue --owner "Maya Patel"
  nrr tasks --data demo --status all --due-from 2026-07 --due-to 2026-09
  nrr tasks --data demo --where segment=enterprise --where region=EMEA
  nrr tasks --data demo --summary --due-from 2026-07 --due-to 2026-09 --compare
  nrr tasks done 17 --outcome won --note "signed 20 more seats" --data demo
  nrr tasks snooze 17 --until 2026-12-15 --data demo
  nrr tasks reassign 17 --to "Sam Lee" --data demo
  nrr tasks note 17 "called, renewal call booked for the 20th" --data demo`,
    )
    .action(async (o: ListOptions, cmd: Command) => {
      if (o.dueFrom !== undefined && o.dueTo !== undefined && o.dueFrom > o.dueTo) throw new NrrError(`--due-from ${o.dueFrom} is after --due-to ${o.dueTo}`);
      if (o.summary) return printSummary(o, cmd);
      if (o.compare) throw new NrrError('--compare goes with --summary (the list has no prior period)');
      // Before the first run there are no tasks: an empty list, and how to get some.
      const path = statePath(o.data, loadConfig(findConfigFile(o.config, o.data)).playbook_settings ?? DEFAULT_PLAYBOOK_SETTINGS);
      if (!existsSync(path)) {
        if (!o.quiet) process.stderr.write(`no tasks yet: no play state at ${path}; \`nrr playbooks run --data ${o.data}\` opens them\n`);
        await writeOutput(o, o.format === 'json' ? '[]\n' : o.format === 'table' ? `no tasks yet (no play state at ${path})\n` : formatRows([], COLUMNS, o.format));
        return;
      }
      const kept = await keptAccounts(o);
      const state = await openState(o, true);
      try {
        const day = today().toISOString().slice(0, 10);
        const list = viewTasks(await state.tasks({ owner: o.owner, playbook: o.playbook, account: o.account }), { status: o.status, due: o.due, dueFrom: o.dueFrom, dueTo: o.dueTo }, day).filter(
          (t) => kept === null || kept.has(t.account_id),
        );
        if (o.format === 'json') {
          await writeOutput(o, stringifyJson(list.map((t) => ({ ...t, reasons: JSON.parse(t.reasons) as unknown }))) + '\n');
          return;
        }
        const rows = list.map((t) => ({ ...t, task_id: t.task_id, status: t.status as string, why: why(t.reasons) }));
        if (o.format === 'table') for (const r of rows) r.why = r.why.length > 90 ? `${r.why.slice(0, 89)}…` : r.why;
        if (o.format === 'table' && rows.length === 0) await writeOutput(o, `no ${o.status === 'all' ? '' : `${o.status} `}tasks (state: ${state.path})\n`);
        else await writeOutput(o, formatRows(rows, o.format === 'table' ? COLUMNS.filter((c) => c !== 'note' && (c !== 'closed_on' || o.status !== 'open')) : COLUMNS, o.format));
      } finally {
        state.close();
      }
    });

  tasks
    .command('done')
    .description('close a task with its outcome (takes --data and --config like `nrr tasks`)')
    .argument('<id>', 'the task number')
    .addOption(new Option('--outcome <outcome>', 'won (expanded, saved, activated), lost, no-change, not-needed').choices([...TASK_OUTCOMES]).makeOptionMandatory())
    .option('--note <text>', 'what happened')
    .option('--on <date>', 'the day it closed, YYYY-MM-DD (default: today)')
    .addHelpText('after', `\nExamples:\n  nrr tasks done 17 --outcome won --note "signed 20 more seats" --data demo\n  nrr tasks done 3 --outcome not-needed --data demo`)
    .action(async (id: string, _: unknown, cmd: Command) => {
      // --data and --config belong to `nrr tasks`; they may be written before or after `done ID`.
      const o = cmd.optsWithGlobals<StateOptions & { outcome: TaskOutcome; note?: string; on?: string }>();
      const n = Number(id);
      if (!Number.isInteger(n) || n < 1) throw new NrrError(`task id: expected a task number such as 17, got '${id}'`);
      const on = o.on ?? today().toISOString().slice(0, 10);
      if (!isCalendarDay(on)) throw new NrrError(`--on: expected a date as YYYY-MM-DD, got '${on}'`);
      const state = await openState(o, false);
      try {
        const t = await state.closeTask(n, o.outcome, o.note, on);
        process.stdout.write(`task ${t.task_id} (${t.playbook}, ${t.account_name ?? t.account_id}) done on ${t.closed_on}: ${t.outcome}\n`);
      } finally {
        state.close();
      }
    });

  actionCommand(tasks, 'snooze', 'snooze an open task until a day: it is not open or overdue before then', (c) =>
    c.requiredOption('--until <date>', 'the day it comes back, YYYY-MM-DD').addHelpText('after', `\nExamples:\n  nrr tasks snooze 17 --until 2026-12-15 --data demo`),
  async (state, id, o, on) => {
    if (!isCalendarDay(String(o['until']))) throw new NrrError(`--until: expected a date as YYYY-MM-DD, got '${String(o['until'])}'`);
    const t = await state.snoozeTask(id, String(o['until']), on);
    return `task ${t.task_id} (${t.playbook}, ${t.account_name ?? t.account_id}) snoozed until ${t.snoozed_until}`;
  });
  actionCommand(tasks, 'reassign', 'give an open task to another owner', (c) =>
    c.requiredOption('--to <owner>', 'the new owner').addHelpText('after', `\nExamples:\n  nrr tasks reassign 17 --to "Sam Lee" --data demo`),
  async (state, id, o, on) => {
    const t = await state.reassignTask(id, String(o['to']), on);
    return `task ${t.task_id} (${t.playbook}, ${t.account_name ?? t.account_id}) is now ${t.owner}'s`;
  });
  actionCommand(tasks, 'note', 'add a dated line to a task\'s note', (c) =>
    c.argument('<text>', 'the note').addHelpText('after', `\nExamples:\n  nrr tasks note 17 "called, renewal call booked for the 20th" --data demo`),
  async (state, id, _o, on, args) => {
    const t = await state.noteTask(id, args[0] ?? '', on);
    return `task ${t.task_id} (${t.playbook}, ${t.account_name ?? t.account_id}): note added on ${on}`;
  });
}

/**
 * A subcommand of `nrr tasks` that changes one task: `nrr tasks NAME ID …`, with --on (default
 * today) and the --data and --config of `nrr tasks`.
 */
function actionCommand(
  tasks: Command,
  name: string,
  description: string,
  shape: (c: Command) => Command,
  act: (state: PlaybookState, id: number, o: Record<string, unknown>, on: string, args: string[]) => Promise<string>,
): void {
  const c = tasks.command(name).description(`${description} (takes --data and --config like \`nrr tasks\`)`).argument('<id>', 'the task number');
  shape(c)
    .option('--on <date>', 'the day it is done, YYYY-MM-DD (default: today)')
    .action(async (id: string, ...rest: unknown[]) => {
      const cmd = rest.at(-1) as Command;
      const args = rest.slice(0, -2).map(String);
      const o = cmd.optsWithGlobals<StateOptions & Record<string, unknown> & { on?: string }>();
      const n = Number(id);
      if (!Number.isInteger(n) || n < 1) throw new NrrError(`task id: expected a task number such as 17, got '${id}'`);
      const on = o.on ?? today().toISOString().slice(0, 10);
      if (!isCalendarDay(on)) throw new NrrError(`--on: expected a date as YYYY-MM-DD, got '${on}'`);
      const state = await openState(o, false);
      try {
        process.stdout.write(`${await act(state, n, o, on, args)}\n`);
      } finally {
        state.close();
      }
    });
}

/** The accounts a --where keeps, read from the workspace (null without one: tasks then read no data). */
async function keptAccounts(o: StateOptions & WhereOptions): Promise<Set<string> | null> {
  if (o.where === undefined) return null;
  const ws = await open({ data: o.data, config: o.config, quiet: true }, { signals: false });
  try {
    const { filteredAccountIds } = await import('../queries/attribute-queries.js');
    return new Set(await filteredAccountIds(ws, o.where));
  } finally {
    ws.close();
  }
}

/** The reasons of a task in one line. */
function why(reasons: string): string {
  const r = JSON.parse(reasons) as { values?: Record<string, unknown>; top_reasons?: string[] };
  const values = Object.entries(r.values ?? {}).map(([k, v]) => `${k} = ${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(3) : String(v)}`);
  return [...values, ...(r.top_reasons ?? []).slice(0, 1)].join('; ');
}

/**
 * `nrr tasks --summary [--compare]`: the summary of the tasks due in the range, as GET
 * /api/tasks/summary answers it. Tasks read as on today (as the list); the ARR is the reporting
 * day's, from the workspace.
 */
async function printSummary(o: ListOptions, cmd: Command): Promise<void> {
  for (const flag of ['status', 'due'] as const) {
    if (cmd.getOptionValueSource(flag) === 'cli') throw new NrrError(`--${flag}: --summary counts every status of the range; drop --${flag}`);
  }
  if (o.compare && (o.dueFrom === undefined || o.dueTo === undefined)) throw new NrrError('--compare needs --due-from and --due-to: the prior period is as many months, ending the month before --due-from');
  const path = statePath(o.data, loadConfig(findConfigFile(o.config, o.data)).playbook_settings ?? DEFAULT_PLAYBOOK_SETTINGS);
  const ws = await open({ data: o.data, config: o.config, quiet: true }, { signals: false });
  let asOf: string;
  let arr: Map<string, Money>;
  let kept: Set<string> | null = null;
  try {
    const [{ defaultSnapshot }, { billingRows }] = await Promise.all([import('../accounts/account-records.js'), import('../queries/billing-queries.js')]);
    asOf = defaultSnapshot(ws);
    arr = new Map((await billingRows(ws, asOf)).map((b) => [b.account_id, b.arr]));
    if (o.where !== undefined) {
      const { filteredAccountIds } = await import('../queries/attribute-queries.js');
      kept = new Set(await filteredAccountIds(ws, o.where));
    }
  } finally {
    ws.close();
  }
  // After the workspace: a data folder that is not one is refused before anything is said of tasks.
  const tasks = existsSync(path) ? await PlaybookState.using(path, { readOnly: true }, (s) => s.tasks({ owner: o.owner, playbook: o.playbook, account: o.account })) : [];
  if (!existsSync(path) && !o.quiet) process.stderr.write(`no tasks yet: no play state at ${path}; \`nrr playbooks run --data ${o.data}\` opens them\n`);
  const day = today().toISOString().slice(0, 10);
  const mine = tasks.filter((t) => kept === null || kept.has(t.account_id));
  const summary = (from: string | undefined, to: string | undefined): TaskSummary => summarizeTasks(viewTasks(mine, { status: 'all', dueFrom: from, dueTo: to }, day), arr, { from, to });
  const now = summary(o.dueFrom, o.dueTo);
  const range = o.compare ? priorDueRange(o.dueFrom!, o.dueTo!) : null;
  const prior = range ? summary(range.from, range.to) : null;
  if (o.format === 'json') {
    await writeOutput(o, stringifyJson({ as_of: day, arr_as_of: asOf, summary: now, ...(prior ? { prior } : {}) }) + '\n');
    return;
  }
  const before = prior ? summaryFigures(prior) : [];
  const rows = summaryFigures(now).map((f, i) => {
    if (!prior) return f;
    const p = before[i]!;
    const change = f.count instanceof Money ? f.count.minus(p.count as Money) : (f.count as number) - (p.count as number);
    return { ...f, prior_count: p.count, prior_of: p.of, prior_rate: p.rate, change, rate_change: f.rate === null || p.rate === null ? null : f.rate - p.rate };
  });
  const columns = ['figure', 'count', 'of', 'rate', ...(prior ? ['prior_count', 'prior_of', 'prior_rate', 'change', 'rate_change'] : [])];
  if (o.format === 'table' && !o.quiet) {
    const span = (s: TaskSummary): string => `${s.due_from ?? 'any month'}…${s.due_to ?? 'any month'}`;
    process.stderr.write(`tasks due ${span(now)}${prior ? `, prior period ${span(prior)}` : ''}; as on ${day}, ARR of ${asOf}\n`);
  }
  await writeOutput(o, formatRows(rows, columns, o.format));
}
