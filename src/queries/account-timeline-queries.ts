import type { SignalSourceName } from '../contract/signal-contract.js';
import { monthEnd } from '../engine/months.js';
import type { PlayEvent, Task, TaskAction } from '../playbooks/playbook-state.js';
import type { Workspace } from '../workspace/workspace.js';

/** One event of an account's life, newest first in a timeline. */
export interface TimelineEvent {
  /** YYYY-MM-DD. */
  readonly date: string;
  readonly kind: 'revenue' | 'ticket' | 'meeting' | 'contact' | 'milestone' | 'opportunity' | 'funding' | 'play' | 'task';
  readonly title: string;
  readonly detail: string | null;
  /** The file and data row it was read from (null for plays, tasks and revenue movements, which are computed). */
  readonly file: string | null;
  readonly row: number | null;
}

/** The SQL of one signal source's events for an account, up to `day`, or null when the source was not read. */
function signalEvents(ws: Workspace, source: SignalSourceName, id: string, day: string): string | null {
  if (!ws.signalSources.includes(source)) return null;
  const d = ws.driver.dialect;
  const q = d.quoteString;
  const t = (e: string): string => `CAST(${e} AS VARCHAR)`;
  const upTo = (col: string): string => `${col} IS NOT NULL AND ${col} <= CAST(${q(day)} AS DATE)`;
  const from = `FROM signal_${source} WHERE account_id = ${q(id)}`;
  const sel = (date: string, kind: string, title: string, detail: string, where: string): string =>
    `SELECT ${t(date)} AS date, '${kind}' AS kind, ${title} AS title, ${detail} AS detail, '${source}' AS source, row_no ${from} AND ${where}`;
  switch (source) {
    case 'tickets':
      return sel('opened_date', 'ticket', `'ticket ' || ticket_id || ' opened (' || coalesce(priority, 'no priority') || CASE WHEN escalated THEN ', escalated' ELSE '' END || ')'`, `CASE WHEN closed_date IS NULL OR closed_date > CAST(${q(day)} AS DATE) THEN 'still open' ELSE 'closed on ' || ${t('closed_date')} END`, upTo('opened_date'));
    case 'meetings':
      return sel('scheduled_date', 'meeting', `coalesce(type, 'meeting') || ' ' || coalesce(status, '')`, `'meeting ' || meeting_id`, upTo('scheduled_date'));
    case 'contacts':
      return [
        sel('start_date', 'contact', `coalesce(name, contact_id) || ' (' || coalesce(role, 'contact') || ') joined'`, `CASE WHEN last_engaged IS NULL THEN NULL ELSE 'last engaged ' || ${t('last_engaged')} END`, upTo('start_date')),
        sel('end_date', 'contact', `coalesce(name, contact_id) || ' (' || coalesce(role, 'contact') || ') left'`, 'NULL', upTo('end_date')),
      ].join(' UNION ALL ');
    case 'onboarding':
      return [
        sel('achieved_date', 'milestone', `milestone || ' reached'`, `CASE WHEN target_date IS NULL THEN NULL ELSE 'target ' || ${t('target_date')} END`, upTo('achieved_date')),
        sel('target_date', 'milestone', `milestone || ' due, not reached'`, 'NULL', `${upTo('target_date')} AND (achieved_date IS NULL OR achieved_date > CAST(${q(day)} AS DATE))`),
      ].join(' UNION ALL ');
    case 'opportunities':
      return [
        sel('created_date', 'opportunity', `coalesce(type, '') || ' opportunity ' || opportunity_id || ' opened'`, `coalesce(${t('amount')} || ' ' || currency, 'no amount') || ', sourced by ' || coalesce(sourced_by, 'unknown')`, upTo('created_date')),
        sel('close_date', 'opportunity', `coalesce(type, '') || ' opportunity ' || opportunity_id || ' ' || coalesce(stage, 'closed')`, `coalesce(${t('amount')} || ' ' || currency, 'no amount')`, `${upTo('close_date')} AND stage IN ('won', 'lost')`),
      ].join(' UNION ALL ');
    case 'enrichment':
      return sel('date', 'funding', `'funding round ' || funding_round`, `coalesce(${t('funding_amount')}, 'amount not given')`, `${upTo('date')} AND funding_round IS NOT NULL AND funding_round <> ''`);
    default:
      return null;
  }
}

/**
 * An account's timeline up to `day`: revenue movements (dated at their month's end), tickets,
 * meetings, sponsors and contacts, milestones, opportunities, funding, and the plays and tasks of
 * the play state (passed in: the state is its own database). Newest first.
 * @example (await accountTimeline(ws, 'A7', '2026-06-30', state))[0] // { date, kind, title, detail, file, row }
 */
export async function accountTimeline(
  ws: Workspace,
  id: string,
  day: string,
  plays: { tasks: readonly Task[]; events: readonly PlayEvent[]; actions: readonly TaskAction[] },
): Promise<TimelineEvent[]> {
  const d = ws.driver.dialect;
  const parts = (['tickets', 'meetings', 'contacts', 'onboarding', 'opportunities', 'enrichment'] as const).map((s) => signalEvents(ws, s, id, day)).filter((s): s is string => s !== null);
  const fileOf = new Map(ws.summary.sources.map((s) => [s.source as string, s.file]));
  const signals = parts.length === 0 ? [] : await ws.query(`SELECT * FROM (${parts.join(' UNION ALL ')}) ORDER BY date DESC`);
  const moves = await ws.query(
    `SELECT month_index, category, movement, mrr_before, mrr_after, cause FROM account_changes
     WHERE account_id = ${d.quoteString(id)} AND category <> 'fx' ORDER BY month_index`,
  );
  const events: TimelineEvent[] = [
    ...signals.map((r) => ({
      date: String(r['date']),
      kind: r['kind'] as TimelineEvent['kind'],
      title: String(r['title']),
      detail: r['detail'] === null || r['detail'] === undefined ? null : String(r['detail']),
      file: fileOf.get(String(r['source'])) ?? null,
      row: Number(r['row_no']),
    })),
    ...moves
      .map((r) => ({ r, date: monthEnd(Number(r['month_index'])) }))
      .filter(({ date }) => date <= day)
      .map(({ r, date }) => ({
        date,
        kind: 'revenue' as const,
        title: `${String(r['category'])} ${String(r['movement']).startsWith('-') ? '' : '+'}${trim(r['movement'])} MRR`,
        detail: `MRR ${trim(r['mrr_before'])} → ${trim(r['mrr_after'])} (${String(r['cause'])})`,
        file: null,
        row: null,
      })),
    ...plays.tasks.flatMap((t) => [
      { date: t.opened_on, kind: 'task' as const, title: `${t.playbook}: ${t.type} task ${t.task_id} opened for ${t.owner}`, detail: `due ${t.due_date}, priority ${t.priority}`, file: null, row: null },
      ...(t.closed_on ? [{ date: t.closed_on, kind: 'task' as const, title: `task ${t.task_id} ${t.status}${t.outcome ? `: ${t.outcome}` : ''}`, detail: t.note, file: null, row: null }] : []),
    ]),
    ...plays.actions.map((a) => ({
      date: a.on_date,
      kind: 'task' as const,
      title: a.action === 'snooze' ? `task ${a.task_id} snoozed until ${a.detail}` : a.action === 'reassign' ? `task ${a.task_id} reassigned to ${a.detail}` : `note on task ${a.task_id}`,
      detail: a.action === 'note' ? a.detail : null,
      file: null,
      row: null,
    })),
    ...plays.events
      .filter((e) => e.kind !== 'held')
      .map((e) => ({ date: e.on_date, kind: 'play' as const, title: `${e.kind === 'enter' ? 'entered' : 'left'} play ${e.playbook}`, detail: null, file: null, row: null })),
  ];
  return events.filter((e) => e.date <= day).sort((x, y) => y.date.localeCompare(x.date) || x.kind.localeCompare(y.kind));
}

/** A decimal from the database without trailing zeros. */
function trim(v: unknown): string {
  const s = String(v);
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}
