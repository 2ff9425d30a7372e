// What the tasks due in a range came to (GET /api/tasks/summary): counts by status, overdue among
// the open, outcomes of the done, won saves and expansions, the accounts and their ARR; beside the
// prior period's and the change when the page compares. Every rate shows its count and what it is a
// share of, so that 100% of one task reads as one task.
import { table } from './data-table.js';
import { esc } from './dom.js';
import { count, money, pct, signedCount, signedMoney } from './format.js';
import { amountChange } from './movement-totals.js';

export interface TaskRate {
  readonly count: number;
  readonly of: number;
  readonly rate: number | null;
}

const STATUSES = ['open', 'snoozed', 'done', 'exited'] as const;
const OUTCOMES = ['won', 'lost', 'no-change', 'not-needed'] as const;

export interface TaskSummary {
  readonly due_from: string | null;
  readonly due_to: string | null;
  readonly tasks: number;
  readonly statuses: Record<(typeof STATUSES)[number], TaskRate>;
  readonly overdue: TaskRate;
  readonly outcomes: Record<(typeof OUTCOMES)[number], TaskRate>;
  readonly retained: TaskRate;
  readonly expanded: TaskRate;
  readonly accounts: number;
  /** Decimal text. */
  readonly arr: string;
}

/** GET /api/tasks/summary. */
export interface TaskSummaryAnswer {
  readonly as_of: string;
  readonly arr_as_of: string;
  readonly summary: TaskSummary;
  readonly prior?: TaskSummary;
}

/** One line of the table: a count (or ARR), and a rate with what it is a share of. */
interface Figure {
  readonly key: string;
  readonly label: string;
  readonly of?: string;
  readonly pick: (s: TaskSummary) => { count: number } | { arr: string };
  readonly rate?: (s: TaskSummary) => TaskRate;
}

const FIGURES: readonly Figure[] = [
  { key: 'tasks', label: 'Tasks', pick: (s) => ({ count: s.tasks }) },
  ...STATUSES.map((k): Figure => ({ key: k, label: k[0]!.toUpperCase() + k.slice(1), of: 'of all', pick: (s) => ({ count: s.statuses[k].count }), rate: (s) => s.statuses[k] })),
  { key: 'overdue', label: 'Overdue', of: 'of open', pick: (s) => ({ count: s.overdue.count }), rate: (s) => s.overdue },
  ...OUTCOMES.map((k): Figure => ({ key: `done-${k}`, label: `Done, ${k}`, of: 'of done', pick: (s) => ({ count: s.outcomes[k].count }), rate: (s) => s.outcomes[k] })),
  { key: 'retained', label: 'Retained (save, risk, renewal won)', of: 'of those done', pick: (s) => ({ count: s.retained.count }), rate: (s) => s.retained },
  { key: 'expanded', label: 'Expanded (expansion won)', of: 'of those done', pick: (s) => ({ count: s.expanded.count }), rate: (s) => s.expanded },
  { key: 'accounts', label: 'Accounts', pick: (s) => ({ count: s.accounts }) },
  { key: 'arr', label: 'ARR of the accounts', pick: (s) => ({ arr: s.arr }) },
];

const value = (v: { count: number } | { arr: string }): string => ('arr' in v ? money(v.arr) : count(v.count));
const exact = (v: { count: number } | { arr: string }): string | number => ('arr' in v ? v.arr : v.count);
const rateText = (r: TaskRate | undefined): string => (r === undefined ? '' : `${pct(r.rate)} <span class="muted">of ${count(r.of)}</span>`);

/** A rate's change in percentage points, with its sign: "+4.2 pts"; "—" when either is undefined. */
export function pointsChange(now: number | null, before: number | null): string {
  if (now === null || before === null) return '—';
  const d = (now - before) * 100;
  return `${d > 0 ? '+' : ''}${d.toFixed(1)} pts`;
}

/**
 * The summary table; with `prior`, its figures and the change. Each figure's row carries
 * data-figure, each cell a data- attribute naming it (the browser test reads them).
 */
export function taskSummaryTable(now: TaskSummary, prior: TaskSummary | undefined): string {
  type Row = Figure;
  const span = (s: TaskSummary): string => (s.due_from !== null && s.due_from === s.due_to ? s.due_from : `${s.due_from ?? 'any'}…${s.due_to ?? 'any'}`);
  const compared = prior
    ? [
        { label: `prior ${span(prior)}`, num: true, html: (f: Row) => `<span data-prior-count>${value(f.pick(prior))}</span>`, csv: (f: Row) => exact(f.pick(prior)) },
        { label: 'prior rate', num: true, html: (f: Row) => `<span data-prior-rate>${rateText(f.rate?.(prior))}</span>`, csv: (f: Row) => f.rate?.(prior).rate ?? null },
        {
          label: 'change',
          num: true,
          html: (f: Row) => {
            const [a, b] = [f.pick(now), f.pick(prior)];
            return `<span data-change>${'arr' in a && 'arr' in b ? signedMoney(amountChange(a.arr, b.arr)) : signedCount((a as { count: number }).count - (b as { count: number }).count)}</span>`;
          },
          csv: (f: Row) => {
            const [a, b] = [f.pick(now), f.pick(prior)];
            return 'arr' in a && 'arr' in b ? amountChange(a.arr, b.arr) : (a as { count: number }).count - (b as { count: number }).count;
          },
        },
        { label: 'rate change', num: true, html: (f: Row) => `<span data-rate-change>${f.rate ? pointsChange(f.rate(now).rate, f.rate(prior).rate) : ''}</span>`, csv: (f: Row) => (f.rate ? rateDiff(f.rate(now).rate, f.rate(prior).rate) : null) },
      ]
    : [];
  return table({
    id: 'task-summary',
    csvName: `tasks-summary-${span(now)}`,
    rows: FIGURES,
    rowAttrs: (f) => ({ 'data-figure': f.key }),
    columns: [
      { label: 'figure', html: (f) => esc(f.label), csv: (f) => f.key },
      { label: span(now), num: true, html: (f) => `<span data-now-count>${value(f.pick(now))}</span>`, csv: (f) => exact(f.pick(now)) },
      { label: 'rate', num: true, html: (f) => `<span data-now-rate>${rateText(f.rate?.(now))}</span>${f.of ? ` <span class="muted">(${esc(f.of)})</span>` : ''}`, csv: (f) => f.rate?.(now).rate ?? null },
      { label: 'of', hidden: true, html: () => '', csv: (f) => f.rate?.(now).of ?? null },
      ...compared,
    ],
  });
}

function rateDiff(now: number | null, before: number | null): number | null {
  return now === null || before === null ? null : now - before;
}
