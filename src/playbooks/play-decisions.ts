import type { PlayEntry, Evaluation } from './dry-run.js';
import type { Playbook } from './playbook-config.js';
import { type PlaybookState, sqlValue } from './playbook-state.js';

/**
 * What a run of the plays does on a day, decided from the evaluation of the day and the play state
 * as it stands: who leaves, who enters, who is already in, who waits (cooldown, yearly limit, owner's
 * daily budget). `nrr playbooks run` records these decisions; `nrr playbooks dry-run` prints them.
 * One function decides for both, so that the dry run says what the run does.
 */
export const ENTRY_ACTIONS = ['enter', 'already_open', 'held_by_cooldown', 'held_by_yearly_limit', 'held_by_budget'] as const;
export type EntryAction = (typeof ENTRY_ACTIONS)[number];
export type PlayAction = EntryAction | 'exit';

export interface ExitDecision {
  readonly action: 'exit';
  readonly playbook: Playbook;
  readonly account_id: string;
  readonly task_id: number | null;
  /** Whether an open task closes as `exited`. */
  readonly closes: boolean;
  readonly why: string;
}

export interface EntryDecision {
  readonly action: EntryAction;
  readonly playbook: Playbook;
  readonly entry: PlayEntry;
  /** The open task of an account already in the play. */
  readonly task_id: number | null;
  /** Why an entry waits (held_by_*), as recorded in the held event. */
  readonly held: string | null;
}

export type PlayDecision = ExitDecision | EntryDecision;

/** The play state a run decides from (empty before the first run). */
export interface StateView {
  /** Members by play and account, with their task. */
  readonly members: ReadonlyMap<string, { readonly playbook: string; readonly account_id: string; readonly task_id: number | null }>;
  /** Open tasks by play and account, with their id. */
  readonly openTasks: ReadonlyMap<string, number>;
  /** The last day each play and account left the play. */
  readonly lastExit: ReadonlyMap<string, string>;
  /** Entries in the 365 days before the run's day, by play and account. */
  readonly entriesInYear: ReadonlyMap<string, number>;
  /** Tasks already opened on the run's day, by owner. */
  readonly openedToday: ReadonlyMap<string, number>;
}

export const EMPTY_STATE_VIEW: StateView = { members: new Map(), openTasks: new Map(), lastExit: new Map(), entriesInYear: new Map(), openedToday: new Map() };

export const playKey = (playbook: string, account: string): string => `${playbook}\u0000${account}`;

const PRIORITY_RANK: Record<string, number> = { urgent: 0, high: 1, normal: 2, low: 3 };
export const DIGITAL_OWNER = 'digital sequence';

/**
 * Reads what a run decides from, for a run on `date`; works on a state opened read-only. With
 * `accounts`, the view holds only those accounts' memberships, tasks, exits and entries (what a
 * run for those accounts decides from); the tasks opened on the day by each owner are counted over
 * every account, since an owner's daily budget is shared by all of them.
 */
export async function readStateView(state: PlaybookState, date: string, accounts: readonly string[] | null = null): Promise<StateView> {
  const only = accounts === null ? 'TRUE' : accounts.length === 0 ? 'FALSE' : `account_id IN (${accounts.map((a) => sqlValue(a)).join(', ')})`;
  const members = new Map(
    (await state.query(`SELECT playbook, account_id, task_id FROM play_members WHERE ${only}`)).map((r) => {
      const m = { playbook: String(r['playbook']), account_id: String(r['account_id']), task_id: r['task_id'] === null ? null : Number(r['task_id']) };
      return [playKey(m.playbook, m.account_id), m];
    }),
  );
  const openTasks = new Map(
    (await state.query(`SELECT playbook, account_id, task_id FROM play_tasks WHERE status = 'open' AND ${only}`)).map((r) => [
      playKey(String(r['playbook']), String(r['account_id'])),
      Number(r['task_id']),
    ]),
  );
  const lastExit = new Map(
    (await state.query(`SELECT playbook, account_id, CAST(max(on_date) AS VARCHAR) AS d FROM play_events WHERE kind = 'exit' AND ${only} GROUP BY ALL`)).map((r) => [
      playKey(String(r['playbook']), String(r['account_id'])),
      String(r['d']),
    ]),
  );
  const yearAgo = new Date(Date.parse(date) - 365 * 86_400_000).toISOString().slice(0, 10);
  const entriesInYear = new Map(
    (
      await state.query(
        `SELECT playbook, account_id, count(*) AS n FROM play_events WHERE kind = 'enter' AND on_date > CAST(${sqlValue(yearAgo)} AS DATE) AND ${only} GROUP BY ALL`,
      )
    ).map((r) => [playKey(String(r['playbook']), String(r['account_id'])), Number(r['n'])]),
  );
  const openedToday = new Map(
    (await state.query(`SELECT owner, count(*) AS n FROM play_tasks WHERE opened_on = CAST(${sqlValue(date)} AS DATE) GROUP BY owner`)).map((r) => [
      String(r['owner']),
      Number(r['n']),
    ]),
  );
  return { members, openTasks, lastExit, entriesInYear, openedToday };
}

/**
 * The decisions of a run: exits first (members whose exit rule holds, whose trigger no longer
 * holds without an exit rule, or who are no longer customers), then, for every account matching a
 * trigger, most urgent and largest ARR first: already open, held by cooldown, by yearly limit, by the
 * owner's daily budget, or enter. Pure: the view is not changed.
 */
export function decidePlays(e: Evaluation, view: StateView, dailyBudgetPerOwner: number): PlayDecision[] {
  const out: PlayDecision[] = [];
  const members = new Map(view.members);
  const openTasks = new Map(view.openTasks);
  for (const play of e.plays) {
    const p = play.playbook;
    const matching = new Set(play.entering.map((x) => x.account_id));
    for (const m of [...members.values()]) {
      if (m.playbook !== p.name) continue;
      const present = e.inputs.has(m.account_id);
      const leaves = !present || (play.exiting ? play.exiting.has(m.account_id) : !matching.has(m.account_id));
      if (!leaves) continue;
      const why = !present ? `not a customer on ${e.date}` : play.exiting ? `exit rule holds: ${p.exit}` : `trigger no longer holds: ${p.when}`;
      const k = playKey(p.name, m.account_id);
      const closes = m.task_id !== null && openTasks.has(k);
      out.push({ action: 'exit', playbook: p, account_id: m.account_id, task_id: m.task_id, closes, why });
      openTasks.delete(k);
      members.delete(k);
    }
  }

  const candidates: { p: Playbook; order: number; entry: PlayEntry }[] = [];
  e.plays.forEach((play, order) => {
    for (const entry of play.entering) {
      const k = playKey(play.playbook.name, entry.account_id);
      if (members.has(k) || openTasks.has(k)) {
        out.push({ action: 'already_open', playbook: play.playbook, entry, task_id: openTasks.get(k) ?? members.get(k)?.task_id ?? null, held: null });
      } else candidates.push({ p: play.playbook, order, entry });
    }
  });
  candidates.sort(
    (a, b) =>
      PRIORITY_RANK[a.p.task.priority]! - PRIORITY_RANK[b.p.task.priority]! ||
      b.entry.arr - a.entry.arr ||
      a.order - b.order ||
      (a.entry.account_id < b.entry.account_id ? -1 : 1),
  );
  const openedToday = new Map(view.openedToday);
  const date = e.date;
  for (const { p, entry } of candidates) {
    const k = playKey(p.name, entry.account_id);
    const held = (action: EntryAction, why: string): void => void out.push({ action, playbook: p, entry, task_id: null, held: why });
    const exitedOn = view.lastExit.get(k);
    if (exitedOn && Date.parse(date) < Date.parse(exitedOn) + p.cooldown_days * 86_400_000) {
      held('held_by_cooldown', `cooldown: left the play on ${exitedOn}, ${p.cooldown_days} days`);
      continue;
    }
    if ((view.entriesInYear.get(k) ?? 0) >= p.max_entries_per_year) {
      held('held_by_yearly_limit', `entered ${p.max_entries_per_year} times in the last 365 days`);
      continue;
    }
    const today = openedToday.get(entry.owner) ?? 0;
    if (entry.owner !== DIGITAL_OWNER && today >= dailyBudgetPerOwner) {
      held('held_by_budget', `${entry.owner} already has ${dailyBudgetPerOwner} new tasks today`);
      continue;
    }
    openedToday.set(entry.owner, today + 1);
    out.push({ action: 'enter', playbook: p, entry, task_id: null, held: null });
  }
  return out;
}
