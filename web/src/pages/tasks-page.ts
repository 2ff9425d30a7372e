// Tasks: the CS workspace's task list (mine, by owner, overdue, due this week, all), narrowed to a
// range of due months when one is chosen (due_from, due_to in the URL, as `nrr tasks --due-from
// --due-to`), under the range's summary (beside the prior period's with ?compare=1, as `nrr tasks
// --summary --compare`), with its actions written through the API (done with an outcome, snooze, reassign, note): the same state
// `nrr tasks` reads.
import { get, post, withQuery } from '../api-client.js';
import type { Task } from '../api-types.js';
import { compareCheckbox, filterBar, select } from '../controls.js';
import { FIRST_ROWS, table } from '../data-table.js';
import { byId, esc, pageRoot } from '../dom.js';
import { count } from '../format.js';
import { addMonths, monthRange, MONTH } from '../months.js';
import { currentSummary } from '../session.js';
import { taskDue, taskId, taskNotes, taskPlay } from '../task-fields.js';
import { taskSummaryTable, type TaskSummaryAnswer } from '../task-summary-table.js';
import { filterText, filters, hrefWithFilters, params, setParams } from '../url-state.js';
import { route } from '../router.js';

const ME_KEY = 'nrr-me';
const VIEWS = [
  ['mine', 'Mine'],
  ['overdue', 'Overdue'],
  ['week', 'Due this week'],
  ['owners', 'By owner'],
  ['all', 'All'],
] as const;
type View = (typeof VIEWS)[number][0];
const OUTCOMES = ['won', 'lost', 'no-change', 'not-needed'] as const;
const ACTIONS = {
  done: { label: 'Done', field: 'outcome' },
  snooze: { label: 'Snooze', field: 'until' },
  reassign: { label: 'Reassign', field: 'owner' },
  note: { label: 'Note', field: 'text' },
} as const;
type Action = keyof typeof ACTIONS;

/** What the last action did, shown once after the list reloads. */
let flash: string | null = null;

export async function tasksPage(): Promise<void> {
  const p = params();
  const me = localStorage.getItem(ME_KEY) ?? '';
  const view: View = VIEWS.find(([k]) => k === p.get('view'))?.[0] ?? (me ? 'mine' : 'all');
  const status = p.get('status') ?? 'open';
  const owner = view === 'mine' ? me : (p.get('owner') ?? '');
  const due = view === 'overdue' ? 'overdue' : view === 'week' ? 'week' : undefined;
  const account = p.get('account') ?? undefined;
  const range = dueRange(p);
  // The server keeps the tasks of the accounts that every attribute filter matches.
  const f = filters();
  // The summary counts every status of the range; the prior period needs both ends of it.
  const bounded = range.from !== undefined && range.to !== undefined;
  const compare = p.get('compare') === '1';
  const nobody = view === 'mine' && !me;
  const [res, sum] = await Promise.all([
    nobody ? { total: 0, rows: [] as Task[] } : get<{ total: number; rows: Task[] }>(withQuery('/api/tasks', { owner, status, due, account, due_from: range.from, due_to: range.to, ...f })),
    nobody ? null : get<TaskSummaryAnswer>(withQuery('/api/tasks/summary', { owner, account, due_from: range.from, due_to: range.to, compare: compare && bounded ? '1' : undefined, ...f })),
  ]);
  const rows = res.rows;
  const tabs = VIEWS.map(([k, label]) => `<a href="${esc(hrefWithFilters('/tasks', { view: k, due_from: range.from, due_to: range.to }))}" data-link class="tab${k === view ? ' active' : ''}"${k === view ? ' aria-current="page"' : ''}>${esc(label)}</a>`).join('');
  const message = flash;
  flash = null;
  pageRoot().innerHTML = `
    <h1>Tasks</h1>
    <div class="muted">${Object.keys(f).length ? `Only accounts with ${esc(filterText())}. ` : ''}<span data-due-range>${esc(rangeText(range))}</span>. Tasks opened by the plays (<code>nrr playbooks run</code>); what you do here is what <code>nrr tasks</code> reads.</div>
    ${message ? `<div class="notice" role="status" data-flash>${esc(message)}</div>` : ''}
    <nav class="tabs" aria-label="Task views">${tabs}</nav>
    ${filterBar()}
    <div class="controls">
      ${view === 'mine' ? `<form id="me-form" class="inline-form"><label>I am <input id="me" value="${esc(me)}" placeholder="owner name" required /></label><button type="submit">Show my tasks</button></form>` : `<label>Owner <input id="owner" type="search" value="${esc(owner)}" placeholder="any owner" /></label>`}
      ${select('status', [['open', 'open'], ['snoozed', 'snoozed'], ['done', 'done'], ['all', 'all']], status, 'Status')}
      ${select('due_from', [['', 'any'], ...range.choices.map((m) => [m, m] as const)], range.from ?? '', 'Due from')}
      ${select('due_to', [['', 'any'], ...range.choices.filter((m) => range.from === undefined || m >= range.from).map((m) => [m, m] as const)], range.to ?? '', 'Due to')}
      ${compareCheckbox(compare)}
      ${account ? `<span class="chip">account ${esc(account)}</span>` : ''}
    </div>
    ${sum ? summarySection(sum, compare, bounded) : ''}
    ${view === 'owners' ? ownersTable(rows) : tasksTable(rows, view)}`;
  if (view === 'mine') {
    byId<HTMLFormElement>('me-form').addEventListener('submit', (e) => {
      e.preventDefault();
      localStorage.setItem(ME_KEY, byId<HTMLInputElement>('me').value.trim());
      void route();
    });
  } else {
    const o = byId<HTMLInputElement>('owner');
    o.addEventListener('change', () => setParams({ owner: o.value }));
  }
  bindActions(rows);
}

interface DueRange {
  readonly from: string | undefined;
  readonly to: string | undefined;
  /** The months offered: a year before the reporting month to a year after it (tasks fall due ahead). */
  readonly choices: readonly string[];
}

/** The due months in the URL (either end open); a `to` before `from` is dropped. */
function dueRange(p: URLSearchParams): DueRange {
  const m = currentSummary().as_of_month;
  const choices = monthRange(addMonths(m, -12), addMonths(m, 12));
  const pick = (k: string): string | undefined => {
    const v = p.get(k) ?? '';
    return MONTH.test(v) ? v : undefined;
  };
  const from = pick('due_from');
  const to = pick('due_to');
  return { from, to: to !== undefined && from !== undefined && to < from ? undefined : to, choices };
}

function rangeText(r: DueRange): string {
  if (r.from === undefined && r.to === undefined) return 'Due any month';
  if (r.from === r.to) return `Due in ${r.from}`;
  return r.from === undefined ? `Due up to ${r.to}` : r.to === undefined ? `Due from ${r.from}` : `Due ${r.from} to ${r.to}`;
}

/** The summary of the range, above the list; the prior period beside it when compared. */
function summarySection(sum: TaskSummaryAnswer, compare: boolean, bounded: boolean): string {
  const note = compare && !bounded ? `<div class="notice muted" data-no-prior>No prior period: choose both ends of the due range (from and to) to compare with as many months before it.</div>` : '';
  return `<h2>Summary</h2>
    <div class="muted">Every status of the tasks due in the range (the views and the status picker narrow only the list). Retained and expanded: done tasks closed as won, as recorded when they were closed. ARR of the accounts on ${esc(sum.arr_as_of)}.</div>
    ${note}
    ${taskSummaryTable(sum.summary, sum.prior)}`;
}

function ownersTable(rows: readonly Task[]): string {
  const by = new Map<string, { open: number; overdue: number; week: number }>();
  for (const t of rows) {
    const o = by.get(t.owner) ?? { open: 0, overdue: 0, week: 0 };
    o.open++;
    if (t.overdue) o.overdue++;
    by.set(t.owner, o);
  }
  const list = [...by.entries()].map(([owner, c]) => ({ owner, ...c })).sort((a, b) => b.overdue - a.overdue || b.open - a.open || a.owner.localeCompare(b.owner));
  return table({
    id: 'task-owners', csvName: 'tasks-by-owner', rows: list, empty: 'No tasks.',
    rowHref: (r) => `/tasks?view=all&owner=${encodeURIComponent(r.owner)}`,
    columns: [
      { label: 'owner', html: (r) => `<a href="/tasks?view=all&owner=${encodeURIComponent(r.owner)}" data-link>${esc(r.owner)}</a>`, csv: (r) => r.owner },
      { label: 'tasks', num: true, html: (r) => `<span data-owner-tasks="${esc(r.owner)}">${count(r.open)}</span>`, csv: (r) => r.open },
      { label: 'overdue', num: true, html: (r) => (r.overdue ? `<span class="warn-text">${count(r.overdue)}</span>` : '0'), csv: (r) => r.overdue },
    ],
  });
}

function tasksTable(rows: readonly Task[], view: View): string {
  const actions = (t: Task) =>
    t.status === 'open' || t.status === 'snoozed'
      ? (Object.keys(ACTIONS) as Action[]).map((a) => `<button type="button" class="small-button" data-action="${a}" data-task="${taskId(t)}">${ACTIONS[a].label}</button>`).join(' ')
      : `<button type="button" class="small-button" data-action="note" data-task="${taskId(t)}">Note</button>`;
  return table({
    id: 'tasks', shown: FIRST_ROWS, csvName: `tasks-${view}`, rows, empty: view === 'mine' ? 'No open tasks for this owner (or enter your name above).' : 'No tasks here.',
    rowAttrs: (t) => ({ 'data-task-row': String(taskId(t)), ...(t.overdue ? { 'data-overdue': 'true' } : {}) }),
    columns: [
      { label: '#', num: true, html: (t) => String(taskId(t)), csv: (t) => taskId(t) },
      { label: 'account', html: (t) => `<a href="/accounts/${encodeURIComponent(t.account_id)}" data-link>${esc(t.account_id)}</a>`, csv: (t) => t.account_id },
      { label: 'play', html: (t) => esc(taskPlay(t)), csv: (t) => taskPlay(t) },
      { label: 'owner', html: (t) => esc(t.owner), csv: (t) => t.owner },
      { label: 'due', html: (t) => `${esc(taskDue(t))}${t.overdue ? ' <span class="pill red">overdue</span>' : ''}`, csv: (t) => taskDue(t) },
      { label: 'overdue', hidden: true, html: () => '', csv: (t) => Boolean(t.overdue) },
      { label: 'status', html: (t) => `<span data-status>${esc(t.status)}</span>${t.snoozed_until ? ` <span class="muted">until ${esc(t.snoozed_until)}</span>` : ''}`, csv: (t) => t.status },
      { label: 'outcome', html: (t) => esc(t.outcome ?? ''), csv: (t) => t.outcome },
      { label: 'notes', wrap: true, html: (t) => esc(taskNotes(t).join(' · ')), csv: (t) => taskNotes(t).join(' | ') },
      { label: 'actions', html: actions },
    ],
  });
}

/** The form of an action, in a row under the task's row. */
function actionForm(action: Action, id: number): string {
  const today = new Date();
  const week = new Date(today.getTime() + 7 * 86_400_000).toISOString().slice(0, 10);
  const field =
    action === 'done'
      ? `<label>Outcome <select name="outcome" required>${OUTCOMES.map((o) => `<option value="${o}">${o}</option>`).join('')}</select></label><label>Note <input name="note" placeholder="what happened (optional)" /></label>`
      : action === 'snooze'
        ? `<label>Until <input name="until" type="date" value="${week}" required /></label>`
        : action === 'reassign'
          ? `<label>New owner <input name="owner" required /></label>`
          : `<label>Note <input name="text" required /></label>`;
  return `<form class="inline-form" data-form="${action}" data-task="${id}" aria-label="${ACTIONS[action].label} task ${id}">${field}<button type="submit">${ACTIONS[action].label}</button><button type="button" data-cancel>Cancel</button><span class="form-error warn-text" role="alert"></span></form>`;
}

function bindActions(rows: readonly Task[]): void {
  const root = pageRoot();
  root.querySelectorAll<HTMLButtonElement>('button[data-action]').forEach((b) =>
    b.addEventListener('click', () => {
      root.querySelector('tr.action-row')?.remove();
      const action = b.dataset['action'] as Action;
      const id = Number(b.dataset['task']);
      const tr = b.closest('tr')!;
      const row = document.createElement('tr');
      row.className = 'action-row';
      row.innerHTML = `<td colspan="${tr.children.length}">${actionForm(action, id)}</td>`;
      tr.after(row);
      const form = row.querySelector('form')!;
      form.querySelector<HTMLElement>('input, select')?.focus();
      form.querySelector('[data-cancel]')!.addEventListener('click', () => {
        row.remove();
        b.focus();
      });
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        void submit(form, action, id, rows);
      });
    }),
  );
}

async function submit(form: HTMLFormElement, action: Action, id: number, rows: readonly Task[]): Promise<void> {
  const data = Object.fromEntries([...new FormData(form).entries()].map(([k, v]) => [k, String(v).trim()]).filter(([, v]) => v !== ''));
  const error = form.querySelector('.form-error')!;
  form.querySelectorAll('button').forEach((b) => (b.disabled = true));
  try {
    await post(`/api/tasks/${id}/${action}`, data);
    const t = rows.find((x) => taskId(x) === id);
    flash = `Task ${id}${t ? ` (${t.account_id}, ${taskPlay(t)})` : ''}: ${action === 'done' ? `done, ${data['outcome']}` : action === 'snooze' ? `snoozed until ${data['until']}` : action === 'reassign' ? `reassigned to ${data['owner']}` : 'note added'}.`;
    await route();
  } catch (e) {
    error.textContent = e instanceof Error ? e.message : String(e);
    form.querySelectorAll('button').forEach((b) => (b.disabled = false));
  }
}
