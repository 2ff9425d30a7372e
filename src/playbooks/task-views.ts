import type { Task } from './playbook-state.js';

/**
 * How a task reads on a given day. In the state a snoozed task is still `open`; on a day before its
 * snooze ends it reads `snoozed`, and only an open task that is not snoozed can be overdue.
 */
export const TASK_VIEW_STATUSES = ['open', 'snoozed', 'done', 'exited'] as const;
export type TaskViewStatus = (typeof TASK_VIEW_STATUSES)[number];
export const TASK_DUE = ['overdue', 'week'] as const;
export type TaskDue = (typeof TASK_DUE)[number];

export interface TaskView extends Omit<Task, 'status'> {
  /** The task's number (task_id). */
  readonly id: number;
  /** The play that opened it (playbook). */
  readonly play: string;
  /** The day it is due (due_date). */
  readonly due: string;
  readonly status: TaskViewStatus;
  /** Open, not snoozed, and due before the day. */
  readonly overdue: boolean;
  /** The task's note: one dated line per note added (note). */
  readonly notes: string | null;
}

export interface TaskFilter {
  /** Case-insensitive. */
  readonly owner?: string;
  readonly status?: TaskViewStatus | 'all';
  /** overdue: open and due before the day; week: open and due in the seven days from the day. */
  readonly due?: TaskDue;
  /** Only tasks due in this month or later (YYYY-MM). */
  readonly dueFrom?: string;
  /** Only tasks due in this month or earlier (YYYY-MM). */
  readonly dueTo?: string;
  readonly playbook?: string;
  readonly account?: string;
}

/** `day` + n days, as YYYY-MM-DD. */
function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
}

/**
 * A task as it reads on `day`.
 * @example taskView(task, '2026-06-30').overdue // true when open, not snoozed and due before 2026-06-30
 */
export function taskView(t: Task, day: string): TaskView {
  const snoozed = t.status === 'open' && t.snoozed_until !== null && t.snoozed_until > day;
  const status: TaskViewStatus = snoozed ? 'snoozed' : t.status;
  return { ...t, id: t.task_id, play: t.playbook, due: t.due_date, status, overdue: status === 'open' && t.due_date < day, notes: t.note };
}

/**
 * The tasks a filter keeps, as they read on `day` (default status: open).
 * @example viewTasks(tasks, { status: 'all', dueFrom: '2026-07', dueTo: '2026-08' }, '2026-07-22') // due in July or August
 */
export function viewTasks(tasks: readonly Task[], filter: TaskFilter, day: string): TaskView[] {
  const owner = filter.owner?.toLowerCase();
  const status = filter.status ?? 'open';
  const weekEnd = addDays(day, 6);
  return tasks
    .map((t) => taskView(t, day))
    .filter(
      (t) =>
        (owner === undefined || t.owner.toLowerCase() === owner) &&
        (status === 'all' || t.status === status) &&
        (filter.playbook === undefined || t.playbook === filter.playbook) &&
        (filter.account === undefined || t.account_id === filter.account) &&
        (filter.dueFrom === undefined || t.due.slice(0, 7) >= filter.dueFrom) &&
        (filter.dueTo === undefined || t.due.slice(0, 7) <= filter.dueTo) &&
        (filter.due === undefined || (filter.due === 'overdue' ? t.overdue : t.status === 'open' && t.due >= day && t.due <= weekEnd)),
    );
}
