import { describe, expect, it } from 'vitest';
import { Money } from '../src/money.js';
import type { Task } from '../src/playbooks/playbook-state.js';
import { priorDueRange, summarizeTasks } from '../src/playbooks/task-summary.js';
import { viewTasks } from '../src/playbooks/task-views.js';

/** The summary of a due range (`nrr tasks --summary`, GET /api/tasks/summary) on tasks written here, with the figures worked out by hand. */
describe('the prior period of a due range', () => {
  it('is as many months, ending the month before the range starts; across a year end too', () => {
    expect(priorDueRange('2026-07', '2026-09')).toEqual({ from: '2026-04', to: '2026-06' });
    expect(priorDueRange('2026-01', '2026-01')).toEqual({ from: '2025-12', to: '2025-12' });
    expect(priorDueRange('2026-01', '2026-02')).toEqual({ from: '2025-11', to: '2025-12' });
    expect(priorDueRange('2026-12', '2027-02')).toEqual({ from: '2026-09', to: '2026-11' });
    expect(priorDueRange('2026-07', '2027-06')).toEqual({ from: '2025-07', to: '2026-06' });
    expect(priorDueRange('2025-03', '2027-02')).toEqual({ from: '2023-03', to: '2025-02' });
  });
});

let next = 0;
function task(over: Partial<Task> & Pick<Task, 'account_id' | 'due_date'>): Task {
  next++;
  return {
    task_id: next, playbook: 'p', account_name: null, type: 'save', priority: 'high', owner: 'Ann', opened_on: '2026-06-01', status: 'open',
    closed_on: null, outcome: null, note: null, config_version: 'v', reasons: '{}', run_key: 'r', snoozed_until: null, ...over,
  };
}

describe('summarizeTasks', () => {
  const DAY = '2026-07-15';
  const tasks = [
    task({ account_id: 'A', due_date: '2026-07-01' }), // open, overdue
    task({ account_id: 'A', due_date: '2026-07-20' }), // open, not yet due
    task({ account_id: 'B', due_date: '2026-07-02', snoozed_until: '2026-07-30' }), // snoozed: not overdue
    task({ account_id: 'B', due_date: '2026-07-05', status: 'done', outcome: 'won', type: 'save' }),
    task({ account_id: 'C', due_date: '2026-07-06', status: 'done', outcome: 'lost', type: 'risk' }),
    task({ account_id: 'C', due_date: '2026-07-07', status: 'done', outcome: 'won', type: 'expansion' }),
    task({ account_id: 'D', due_date: '2026-07-08', status: 'done', outcome: 'won', type: 'onboarding' }),
    task({ account_id: 'E', due_date: '2026-07-09', status: 'exited' }),
    task({ account_id: 'F', due_date: '2026-06-30', status: 'done', outcome: 'no-change', type: 'expansion' }), // June: outside
  ];
  const arr = new Map([['A', new Money('1200.10')], ['B', new Money('0.20')], ['C', new Money('99999999999.70')], ['F', new Money('5')]]);

  it('counts July by status, overdue among the open, outcomes among the done, won saves and expansions; ARR exactly', () => {
    const s = summarizeTasks(viewTasks(tasks, { status: 'all', dueFrom: '2026-07', dueTo: '2026-07' }, DAY), arr, { from: '2026-07', to: '2026-07' });
    expect(s.tasks).toBe(8);
    expect(s.statuses.open).toEqual({ count: 2, of: 8, rate: 0.25 });
    expect(s.statuses.snoozed).toEqual({ count: 1, of: 8, rate: 0.125 });
    expect(s.statuses.done).toEqual({ count: 4, of: 8, rate: 0.5 });
    expect(s.statuses.exited).toEqual({ count: 1, of: 8, rate: 0.125 });
    expect(s.overdue).toEqual({ count: 1, of: 2, rate: 0.5 });
    expect(s.outcomes).toEqual({ won: { count: 3, of: 4, rate: 0.75 }, lost: { count: 1, of: 4, rate: 0.25 }, 'no-change': { count: 0, of: 4, rate: 0 }, 'not-needed': { count: 0, of: 4, rate: 0 } });
    // Retained: done save/risk/renewal tasks (B save won, C risk lost); expanded: C's expansion won. D's onboarding is neither.
    expect(s.retained).toEqual({ count: 1, of: 2, rate: 0.5 });
    expect(s.expanded).toEqual({ count: 1, of: 1, rate: 1 });
    // A, B, C, D, E; D and E have no ARR on the day.
    expect(s.accounts).toBe(5);
    expect(s.arr.value).toBe('100000001200');
  });

  it('a range with no tasks has no rates (null), never 0 of 0 read as 0%', () => {
    const s = summarizeTasks(viewTasks(tasks, { status: 'all', dueFrom: '2025-01', dueTo: '2025-03' }, DAY), arr, { from: '2025-01', to: '2025-03' });
    expect([s.tasks, s.accounts, s.arr.isZero()]).toEqual([0, 0, true]);
    expect(s.statuses.done).toEqual({ count: 0, of: 0, rate: null });
    expect(s.retained.rate).toBeNull();
  });
});
