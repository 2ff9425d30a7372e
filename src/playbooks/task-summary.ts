import { monthIndex, monthText } from '../engine/months.js';
import { Money } from '../money.js';
import type { TASK_TYPES } from './playbook-config.js';
import { TASK_OUTCOMES, type TaskOutcome } from './playbook-state.js';
import { TASK_VIEW_STATUSES, type TaskView, type TaskViewStatus } from './task-views.js';

/**
 * What the tasks due in a range of months came to: how many are open, snoozed, done or exited (and
 * overdue), how the done ones were closed, and the ARR of the accounts they cover. Every rate
 * carries its count and what it is a share of, so that a rate over three tasks reads as such.
 */
export interface Rate {
  readonly count: number;
  /** What the count is a share of. */
  readonly of: number;
  /** count ÷ of; null when of is 0. */
  readonly rate: number | null;
}

export interface TaskSummary {
  /** The due months summed (either end null: open). */
  readonly due_from: string | null;
  readonly due_to: string | null;
  readonly tasks: number;
  /** Each status as the tasks read on the day; each a share of every task. */
  readonly statuses: Record<TaskViewStatus, Rate>;
  /** Open, not snoozed and due before the day: a share of the open tasks. */
  readonly overdue: Rate;
  /** The outcomes the done tasks were closed with: each a share of the done tasks. */
  readonly outcomes: Record<TaskOutcome, Rate>;
  /**
   * Done save, risk and renewal tasks closed as won (the account saved or renewed), a share of the
   * done tasks of those types; as the person closing the task recorded it, not measured from revenue.
   */
  readonly retained: Rate;
  /** Done expansion tasks closed as won (the account expanded), a share of the done expansion tasks. */
  readonly expanded: Rate;
  /** The accounts the tasks are for. */
  readonly accounts: number;
  /** Their ARR on the day the ARR is read (accounts without MRR then add nothing). */
  readonly arr: Money;
}

type TaskType = (typeof TASK_TYPES)[number];

/** The task types whose won outcome means the account stayed (saved, renewed), and the one that means it grew. */
const RETAIN_TYPES: readonly TaskType[] = ['save', 'risk', 'renewal'];
const EXPAND_TYPES: readonly TaskType[] = ['expansion'];

const rate = (count: number, of: number): Rate => ({ count, of, rate: of === 0 ? null : count / of });

/**
 * The prior period of a due range: as many months, ending the month before it starts.
 * @example priorDueRange('2026-01', '2026-02') // { from: '2025-11', to: '2025-12' }
 */
export function priorDueRange(from: string, to: string): { from: string; to: string } {
  const start = monthIndex(from);
  const n = monthIndex(to) - start + 1;
  return { from: monthText(start - n), to: monthText(start - 1) };
}

/**
 * The summary of tasks already narrowed to a due range (`viewTasks` with status all), with the ARR
 * of each account (`arr`; an account not in it adds nothing).
 * @example summarizeTasks(viewTasks(tasks, { status: 'all', dueFrom: '2026-07', dueTo: '2026-09' }, day), arr, { from: '2026-07', to: '2026-09' })
 */
export function summarizeTasks(tasks: readonly TaskView[], arr: ReadonlyMap<string, Money>, range: { from?: string; to?: string }): TaskSummary {
  const statusCount = (s: TaskViewStatus): number => tasks.filter((t) => t.status === s).length;
  const done = tasks.filter((t) => t.status === 'done');
  const wonOf = (types: readonly string[]): Rate => {
    const of = done.filter((t) => types.includes(t.type));
    return rate(of.filter((t) => t.outcome === 'won').length, of.length);
  };
  const accounts = [...new Set(tasks.map((t) => t.account_id))];
  return {
    due_from: range.from ?? null,
    due_to: range.to ?? null,
    tasks: tasks.length,
    statuses: Object.fromEntries(TASK_VIEW_STATUSES.map((s) => [s, rate(statusCount(s), tasks.length)])) as Record<TaskViewStatus, Rate>,
    overdue: rate(tasks.filter((t) => t.overdue).length, statusCount('open')),
    outcomes: Object.fromEntries(TASK_OUTCOMES.map((o) => [o, rate(done.filter((t) => t.outcome === o).length, done.length)])) as Record<TaskOutcome, Rate>,
    retained: wonOf(RETAIN_TYPES),
    expanded: wonOf(EXPAND_TYPES),
    accounts: accounts.length,
    arr: Money.sum(accounts.map((a) => arr.get(a) ?? Money.zero)),
  };
}

/** A summary's figures in order, each a count with what it is a share of: the rows `nrr tasks --summary` prints. */
export function summaryFigures(s: TaskSummary): { figure: string; count: number | Money; of: number | null; rate: number | null }[] {
  const r = (figure: string, x: Rate) => ({ figure, count: x.count, of: x.of, rate: x.rate });
  return [
    { figure: 'tasks', count: s.tasks, of: null, rate: null },
    ...TASK_VIEW_STATUSES.map((k) => r(k, s.statuses[k])),
    r('overdue', s.overdue),
    ...TASK_OUTCOMES.map((k) => r(`done ${k}`, s.outcomes[k])),
    r('retained', s.retained),
    r('expanded', s.expanded),
    { figure: 'accounts', count: s.accounts, of: null, rate: null },
    { figure: 'arr', count: s.arr, of: null, rate: null },
  ];
}
