import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { defaultSnapshot, snapshotDate } from '../accounts/account-records.js';
import { NrrError } from '../errors.js';
import type { Workspace } from '../workspace/workspace.js';
import { deliverPending, type DeliveryOptions, type DeliverySummary } from './deliver-actions.js';
import { evaluatePlays, type Evaluation, type PlayEntry } from './dry-run.js';
import type { Playbook } from './playbook-config.js';
import { statePath } from './playbook-settings.js';
import { PlaybookState, sqlValue } from './playbook-state.js';

/**
 * `nrr playbooks run`: evaluates every play on a day and records, in one transaction of the play
 * state, who enters (a task opens), who leaves (the open task closes as `exited`), and who qualifies
 * but waits (cooldown, yearly limit, owner's daily budget). Then it delivers the fired events to
 * the plays' destinations, with the state closed while it sends (see deliver-actions). A run key
 * (default: the day and the rules' version) makes a run idempotent: running it again records
 * nothing and only delivers what is still unsent. The plays are evaluated before the state is
 * opened for writing, so the state is held only for the recording transaction.
 */
export interface PlayRunSummary {
  readonly playbook: string;
  readonly entered: number;
  readonly exited: number;
  readonly held_cooldown: number;
  readonly held_yearly_limit: number;
  readonly held_budget: number;
  /** Open tasks of the play after the run. */
  readonly open_tasks: number;
}

export interface RunResult {
  readonly run_key: string;
  readonly date: string;
  readonly config_version: string;
  readonly state_file: string;
  /** True when this run key had been recorded before: nothing new was recorded. */
  readonly already_recorded: boolean;
  readonly plays: readonly PlayRunSummary[];
  readonly deliveries: DeliverySummary | null;
}

export interface RunOptions extends DeliveryOptions {
  /** The day to run for (YYYY-MM-DD, or YYYY-MM for its last day); default the workspace's live day (today, or a pinned day). */
  readonly asOf?: string;
  /** Default `<day>/<rules version>`; a scheduler may pass its own. */
  readonly runKey?: string;
  /** Deliver to destinations after recording (default true). */
  readonly deliver?: boolean;
}

const PRIORITY_RANK: Record<string, number> = { urgent: 0, high: 1, normal: 2, low: 3 };
const DIGITAL = 'digital sequence';

/**
 * Runs the plays for a day.
 * @example const r = await runPlaybooks(ws, { asOf: '2026-10-31' }); r.plays[0].entered
 */
export async function runPlaybooks(ws: Workspace, options: RunOptions = {}): Promise<RunResult> {
  const date = options.asOf ? snapshotDate(options.asOf) : defaultSnapshot(ws);
  const version = ws.scoring.playbookVersion;
  const runKey = options.runKey ?? `${date}/${version}`;
  const file = statePath(ws.dataDir, ws.scoring.playbookSettings);
  const forward = (last: string | null): void => {
    if (last !== null && last > date) throw new NrrError(`runs go forward in time: the last run recorded in ${file} was as of ${last}, after ${date}`);
  };
  // A quick read-only look first: the plays are evaluated with the state closed.
  let already = false;
  if (existsSync(file)) {
    already = await PlaybookState.using(file, { readOnly: true }, async (s) => {
      if (await s.hasRun(runKey)) return true;
      forward(await s.lastRunDate());
      return false;
    });
  }
  let plays: PlayRunSummary[];
  if (already) {
    plays = await PlaybookState.using(file, { readOnly: true }, (s) => summarise(s, ws.scoring.playbooks, runKey));
  } else {
    const evaluation = await evaluatePlays(ws, date);
    plays = await PlaybookState.using(file, {}, async (s) => {
      // Another run may have recorded this key, or a later day, since the look above.
      if (await s.hasRun(runKey)) already = true;
      else {
        forward(await s.lastRunDate());
        await s.transaction(() => record(s, ws, evaluation, runKey));
      }
      return summarise(s, ws.scoring.playbooks, runKey);
    });
  }
  const deliveries = options.deliver === false ? null : await deliverPending(file, ws.scoring.playbookSettings, ws.dataDir, options);
  return { run_key: runKey, date, config_version: version, state_file: file, already_recorded: already, plays, deliveries };
}

const key = (playbook: string, account: string): string => `${playbook}\u0000${account}`;
const eventId = (runKey: string, kind: string, playbook: string, account: string): string =>
  createHash('sha256').update(`${runKey}\u0000${kind}\u0000${playbook}\u0000${account}`).digest('hex').slice(0, 20);

interface Rows {
  tasks: string[];
  members: string[];
  leave: string[];
  events: string[];
  deliveries: string[];
}

async function record(state: PlaybookState, ws: Workspace, e: Evaluation, runKey: string): Promise<void> {
  const version = ws.scoring.playbookVersion;
  const budget = ws.scoring.playbookSettings.daily_budget_per_owner;
  const date = e.date;
  const rows: Rows = { tasks: [], members: [], leave: [], events: [], deliveries: [] };
  const members = new Map((await state.members()).map((m) => [key(m.playbook, m.account_id), m]));
  const openTasks = new Set(
    (await state.query("SELECT playbook, account_id FROM play_tasks WHERE status = 'open'")).map((r) => key(String(r['playbook']), String(r['account_id']))),
  );
  const lastExit = new Map(
    (await state.query("SELECT playbook, account_id, CAST(max(on_date) AS VARCHAR) AS d FROM play_events WHERE kind = 'exit' GROUP BY ALL")).map((r) => [
      key(String(r['playbook']), String(r['account_id'])),
      String(r['d']),
    ]),
  );
  const yearAgo = new Date(Date.parse(date) - 365 * 86_400_000).toISOString().slice(0, 10);
  const entriesInYear = new Map(
    (
      await state.query(
        `SELECT playbook, account_id, count(*) AS n FROM play_events WHERE kind = 'enter' AND on_date > CAST(${sqlValue(yearAgo)} AS DATE) GROUP BY ALL`,
      )
    ).map((r) => [key(String(r['playbook']), String(r['account_id'])), Number(r['n'])]),
  );
  const openedToday = new Map(
    (await state.query(`SELECT owner, count(*) AS n FROM play_tasks WHERE opened_on = CAST(${sqlValue(date)} AS DATE) GROUP BY owner`)).map((r) => [
      String(r['owner']),
      Number(r['n']),
    ]),
  );
  const [maxId] = await state.query('SELECT coalesce(max(task_id), 0) AS n FROM play_tasks');
  let nextTask = Number(maxId?.['n'] ?? 0) + 1;

  const event = (kind: 'enter' | 'exit' | 'held', p: Playbook, account: string, taskId: number | null, reasons: unknown, payload: unknown): void => {
    const id = eventId(runKey, kind, p.name, account);
    const full = payload === null ? null : JSON.stringify({ event_id: id, ...(payload as object) });
    rows.events.push(
      `(${sqlValue(id)}, ${sqlValue(runKey)}, ${sqlValue(kind)}, ${sqlValue(p.name)}, ${sqlValue(account)}, ${sqlValue(taskId)}, CAST(${sqlValue(date)} AS DATE), ${sqlValue(version)}, ${sqlValue(JSON.stringify(reasons))}, ${sqlValue(full)})`,
    );
    if (full !== null) for (const d of p.notify) rows.deliveries.push(`(${sqlValue(id)}, ${sqlValue(d)}, 'pending', 0, NULL, NULL, NULL, NULL)`);
  };
  const common = (kind: string, p: Playbook, account: string) => ({
    kind,
    run_key: runKey,
    as_of: date,
    playbook: p.name,
    config_version: version,
    account: { account_id: account, ...(e.inputs.get(account) ?? {}) },
  });

  // Who leaves: members whose play's exit rule holds, whose trigger no longer holds (no exit rule),
  // or who are no longer customers.
  const counts = new Map(ws.scoring.playbooks.map((p) => [p.name, { entered: 0, exited: 0, cooldown: 0, limit: 0, budget: 0 }]));
  for (const play of e.plays) {
    const p = play.playbook;
    const matching = new Set(play.entering.map((x) => x.account_id));
    for (const m of members.values()) {
      if (m.playbook !== p.name) continue;
      const present = e.inputs.has(m.account_id);
      const leaves = !present || (play.exiting ? play.exiting.has(m.account_id) : !matching.has(m.account_id));
      if (!leaves) continue;
      const why = !present ? `not a customer on ${date}` : play.exiting ? `exit rule holds: ${p.exit}` : `trigger no longer holds: ${p.when}`;
      rows.leave.push(`(playbook = ${sqlValue(p.name)} AND account_id = ${sqlValue(m.account_id)})`);
      const closes = m.task_id !== null && openTasks.has(key(p.name, m.account_id));
      event('exit', p, m.account_id, m.task_id, { exit: why }, { ...common('exit', p, m.account_id), task_id: m.task_id, task_closed: closes, reasons: { exit: why } });
      if (closes) openTasks.delete(key(p.name, m.account_id));
      members.delete(key(p.name, m.account_id));
      counts.get(p.name)!.exited++;
    }
  }

  // Who enters: matching, not in the play, no open task; then cooldown, yearly limit and budget.
  const candidates: { p: Playbook; order: number; entry: PlayEntry }[] = [];
  e.plays.forEach((play, order) => {
    for (const entry of play.entering) {
      const k = key(play.playbook.name, entry.account_id);
      if (!members.has(k) && !openTasks.has(k)) candidates.push({ p: play.playbook, order, entry });
    }
  });
  candidates.sort(
    (a, b) =>
      PRIORITY_RANK[a.p.task.priority]! - PRIORITY_RANK[b.p.task.priority]! ||
      b.entry.arr - a.entry.arr ||
      a.order - b.order ||
      (a.entry.account_id < b.entry.account_id ? -1 : 1),
  );
  for (const { p, entry } of candidates) {
    const k = key(p.name, entry.account_id);
    const c = counts.get(p.name)!;
    const why = { trigger: p.when, values: entry.values, top_reasons: entry.reasons.slice(0, 3) };
    const exitedOn = lastExit.get(k);
    if (exitedOn && Date.parse(date) < Date.parse(exitedOn) + p.cooldown_days * 86_400_000) {
      event('held', p, entry.account_id, null, { ...why, held: `cooldown: left the play on ${exitedOn}, ${p.cooldown_days} days` }, null);
      c.cooldown++;
      continue;
    }
    if ((entriesInYear.get(k) ?? 0) >= p.max_entries_per_year) {
      event('held', p, entry.account_id, null, { ...why, held: `entered ${p.max_entries_per_year} times in the last 365 days` }, null);
      c.limit++;
      continue;
    }
    const today = openedToday.get(entry.owner) ?? 0;
    if (entry.owner !== DIGITAL && today >= budget) {
      event('held', p, entry.account_id, null, { ...why, held: `${entry.owner} already has ${budget} new tasks today` }, null);
      c.budget++;
      continue;
    }
    openedToday.set(entry.owner, today + 1);
    const taskId = nextTask++;
    rows.tasks.push(
      `(${taskId}, ${sqlValue(p.name)}, ${sqlValue(entry.account_id)}, ${sqlValue(entry.name)}, ${sqlValue(p.task.type)}, ${sqlValue(p.task.priority)}, ${sqlValue(entry.owner)}, CAST(${sqlValue(date)} AS DATE), CAST(${sqlValue(entry.due_date)} AS DATE), 'open', NULL, NULL, NULL, ${sqlValue(version)}, ${sqlValue(JSON.stringify(why))}, ${sqlValue(runKey)})`,
    );
    rows.members.push(`(${sqlValue(p.name)}, ${sqlValue(entry.account_id)}, CAST(${sqlValue(date)} AS DATE), ${taskId})`);
    const task = { task_id: taskId, type: p.task.type, priority: p.task.priority, owner: entry.owner, tier: entry.tier, due_date: entry.due_date, status: 'open' };
    event('enter', p, entry.account_id, taskId, why, { ...common('enter', p, entry.account_id), task, reasons: why });
    c.entered++;
  }

  for (let i = 0; i < rows.leave.length; i += 500) {
    const part = rows.leave.slice(i, i + 500).join(' OR ');
    await state.exec(
      `UPDATE play_tasks SET status = 'exited', closed_on = CAST(${sqlValue(date)} AS DATE) WHERE status = 'open' AND (${part})`,
    );
    await state.exec(`DELETE FROM play_members WHERE ${part}`);
  }
  await insert(state, 'play_tasks', rows.tasks);
  await insert(state, 'play_members', rows.members);
  await insert(state, 'play_events', rows.events);
  await insert(state, 'play_deliveries', rows.deliveries);
  const total = (f: 'entered' | 'exited') => [...counts.values()].reduce((s, c) => s + c[f], 0);
  const held = [...counts.values()].reduce((s, c) => s + c.cooldown + c.limit + c.budget, 0);
  await state.exec(
    `INSERT INTO play_runs VALUES (${sqlValue(runKey)}, CAST(${sqlValue(date)} AS DATE), ${sqlValue(version)}, current_timestamp, ${total('entered')}, ${total('exited')}, ${held})`,
  );
}

async function insert(state: PlaybookState, table: string, values: readonly string[]): Promise<void> {
  for (let i = 0; i < values.length; i += 1000) await state.exec(`INSERT INTO ${table} VALUES ${values.slice(i, i + 1000).join(', ')}`);
}

/** Per play: what the run recorded, and the open tasks now. */
async function summarise(state: PlaybookState, playbooks: readonly Playbook[], runKey: string): Promise<PlayRunSummary[]> {
  const rows = await state.query(
    `SELECT playbook,
       count(*) FILTER (WHERE kind = 'enter') AS entered, count(*) FILTER (WHERE kind = 'exit') AS exited,
       count(*) FILTER (WHERE kind = 'held' AND json_extract_string(reasons, '$.held') LIKE 'cooldown%') AS cooldown,
       count(*) FILTER (WHERE kind = 'held' AND json_extract_string(reasons, '$.held') LIKE 'entered %') AS yearly,
       count(*) FILTER (WHERE kind = 'held' AND json_extract_string(reasons, '$.held') LIKE '% new tasks today') AS budget
     FROM play_events WHERE run_key = ${sqlValue(runKey)} GROUP BY playbook`,
  );
  const open = new Map(
    (await state.query("SELECT playbook, count(*) AS n FROM play_tasks WHERE status = 'open' GROUP BY playbook")).map((r) => [String(r['playbook']), Number(r['n'])]),
  );
  const byName = new Map(rows.map((r) => [String(r['playbook']), r]));
  return playbooks.map((p) => {
    const r = byName.get(p.name);
    const n = (k: string): number => Number(r?.[k] ?? 0);
    return {
      playbook: p.name,
      entered: n('entered'),
      exited: n('exited'),
      held_cooldown: n('cooldown'),
      held_yearly_limit: n('yearly'),
      held_budget: n('budget'),
      open_tasks: open.get(p.name) ?? 0,
    };
  });
}
