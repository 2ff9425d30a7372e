import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { defaultSnapshot, snapshotDate } from '../accounts/account-records.js';
import { NrrError } from '../errors.js';
import type { Workspace } from '../workspace/workspace.js';
import { deliverPending, type DeliveryOptions, type DeliverySummary } from './deliver-actions.js';
import { evaluatePlays, type Evaluation } from './dry-run.js';
import { decidePlays, readStateView } from './play-decisions.js';
import type { Playbook } from './playbook-config.js';
import { outboxPath, statePath } from './playbook-settings.js';
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
  /** What this invocation did, one entry per effect (empty when the run key was already recorded). */
  readonly effects: RunEffects;
}

/** The side effects of one invocation of a run: tasks opened and closed, deliveries made by destination. */
export interface RunEffects {
  readonly opened: readonly { readonly task_id: number; readonly playbook: string; readonly account_id: string; readonly owner: string }[];
  readonly closed: readonly { readonly task_id: number; readonly playbook: string; readonly account_id: string }[];
  /** Per destination: deliveries sent in this invocation; an outbox's are lines appended to its file. */
  readonly delivered: readonly { readonly destination: string; readonly type: string; readonly file: string | null; readonly count: number }[];
}

export interface RunOptions extends DeliveryOptions {
  /** The day to run for (YYYY-MM-DD, or YYYY-MM for its last day); default the workspace's live day (today, or a pinned day). */
  readonly asOf?: string;
  /** Default `<day>/<rules version>`; a scheduler may pass its own. */
  readonly runKey?: string;
  /** Deliver to destinations after recording (default true). */
  readonly deliver?: boolean;
}

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
  let tasks: Pick<RunEffects, 'opened' | 'closed'> = { opened: [], closed: [] };
  if (already) {
    plays = await PlaybookState.using(file, { readOnly: true }, (s) => summarise(s, ws.scoring.playbooks, runKey));
  } else {
    const evaluation = await evaluatePlays(ws, date);
    plays = await PlaybookState.using(file, {}, async (s) => {
      // Another run may have recorded this key, or a later day, since the look above.
      if (await s.hasRun(runKey)) already = true;
      else {
        forward(await s.lastRunDate());
        await s.transaction(() => record(s, ws, evaluation, runKey, null));
        tasks = await taskEffects(s, runKey);
      }
      return summarise(s, ws.scoring.playbooks, runKey);
    });
  }
  let deliveries: DeliverySummary | null = null;
  let delivered: RunEffects['delivered'] = [];
  if (options.deliver !== false) {
    const unsent = await PlaybookState.using(file, { readOnly: true }, async (s) => new Set((await s.unsent()).map((d) => `${d.event_id}\u0000${d.destination}`)));
    deliveries = await deliverPending(file, ws.scoring.playbookSettings, ws.dataDir, options);
    delivered = unsent.size === 0 ? [] : await PlaybookState.using(file, { readOnly: true }, (s) => deliveredNow(s, unsent, ws));
  }
  return { run_key: runKey, date, config_version: version, state_file: file, already_recorded: already, plays, deliveries, effects: { ...tasks, delivered } };
}

/**
 * The plays of a few accounts (those a change touched), evaluated and recorded as a run of their
 * own, with the state opened once (read-write) rather than for each step of a scheduled run: an
 * ingested change pays for it. The decisions are those `runPlaybooks` takes for these accounts,
 * from the state of these accounts only (no other account is computed, entered or exited; an
 * owner's daily budget still counts every account's tasks of the day); the
 * run's deliveries are sent as a run sends them, and only when the run fired some (older unsent
 * deliveries wait for the next scheduled run, or the next change that fires one).
 * @example const r = await runPlaysOfAccounts(ws, ['A0000042'], { date: '2026-07-01', runKey: '2026-07-01/v/apply-b1' })
 */
export async function runPlaysOfAccounts(
  ws: Workspace,
  accounts: readonly string[],
  options: DeliveryOptions & { readonly date: string; readonly runKey: string; readonly deliver?: boolean },
): Promise<{ readonly already_recorded: boolean; readonly effects: RunEffects }> {
  const { date, runKey } = options;
  const file = statePath(ws.dataDir, ws.scoring.playbookSettings);
  const evaluation = await evaluatePlays(ws, date, { accounts });
  const recorded = await PlaybookState.using(file, {}, async (s) => {
    if (await s.hasRun(runKey)) return null;
    const last = await s.lastRunDate();
    if (last !== null && last > date) throw new NrrError(`runs go forward in time: the last run recorded in ${file} was as of ${last}, after ${date}`);
    await s.transaction(() => record(s, ws, evaluation, runKey, accounts));
    const tasks = await taskEffects(s, runKey);
    const [queued] = await s.query(`SELECT count(*) AS n FROM play_deliveries d JOIN play_events e USING (event_id) WHERE e.run_key = ${sqlValue(runKey)}`);
    return { tasks, queued: Number(queued?.['n'] ?? 0) };
  });
  if (recorded === null) return { already_recorded: true, effects: { opened: [], closed: [], delivered: [] } };
  let delivered: RunEffects['delivered'] = [];
  if (recorded.queued > 0 && options.deliver !== false) {
    const unsent = await PlaybookState.using(file, { readOnly: true }, async (s) => new Set((await s.unsent()).map((d) => `${d.event_id}\u0000${d.destination}`)));
    await deliverPending(file, ws.scoring.playbookSettings, ws.dataDir, options);
    delivered = await PlaybookState.using(file, { readOnly: true }, (s) => deliveredNow(s, unsent, ws));
  }
  return { already_recorded: false, effects: { ...recorded.tasks, delivered } };
}

/** The tasks a run key opened, and those its exits closed. */
async function taskEffects(state: PlaybookState, runKey: string): Promise<Pick<RunEffects, 'opened' | 'closed'>> {
  const opened = await state.query(`SELECT task_id, playbook, account_id, owner FROM play_tasks WHERE run_key = ${sqlValue(runKey)} ORDER BY task_id`);
  const closed = await state.query(
    `SELECT e.task_id, e.playbook, e.account_id FROM play_events e JOIN play_tasks t USING (task_id)
     WHERE e.run_key = ${sqlValue(runKey)} AND e.kind = 'exit' AND t.status = 'exited' AND t.closed_on = e.on_date ORDER BY e.task_id`,
  );
  return {
    opened: opened.map((r) => ({ task_id: Number(r['task_id']), playbook: String(r['playbook']), account_id: String(r['account_id']), owner: String(r['owner']) })),
    closed: closed.map((r) => ({ task_id: Number(r['task_id']), playbook: String(r['playbook']), account_id: String(r['account_id']) })),
  };
}

/** Of the deliveries unsent before delivering, those sent now, counted by destination. */
async function deliveredNow(state: PlaybookState, unsent: ReadonlySet<string>, ws: Workspace): Promise<RunEffects['delivered']> {
  const counts = new Map<string, number>();
  for (const d of await state.deliveries()) {
    if (d.status === 'sent' && unsent.has(`${d.event_id}\u0000${d.destination}`)) counts.set(d.destination, (counts.get(d.destination) ?? 0) + 1);
  }
  const destinations = ws.scoring.playbookSettings.destinations;
  return [...counts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([destination, count]) => {
    const dest = destinations[destination];
    return { destination, type: dest?.type ?? 'unknown', file: dest?.type === 'outbox' ? outboxPath(ws.dataDir, dest.file) : null, count };
  });
}

const eventId = (runKey: string, kind: string, playbook: string, account: string): string =>
  createHash('sha256').update(`${runKey}\u0000${kind}\u0000${playbook}\u0000${account}`).digest('hex').slice(0, 20);

interface Rows {
  tasks: string[];
  members: string[];
  leave: string[];
  events: string[];
  deliveries: string[];
}

async function record(state: PlaybookState, ws: Workspace, e: Evaluation, runKey: string, accounts: readonly string[] | null): Promise<void> {
  const version = ws.scoring.playbookVersion;
  const date = e.date;
  const rows: Rows = { tasks: [], members: [], leave: [], events: [], deliveries: [] };
  const decisions = decidePlays(e, await readStateView(state, date, accounts), ws.scoring.playbookSettings.daily_budget_per_owner);
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

  let entered = 0;
  let exited = 0;
  let held = 0;
  for (const d of decisions) {
    const p = d.playbook;
    if (d.action === 'exit') {
      rows.leave.push(`(playbook = ${sqlValue(p.name)} AND account_id = ${sqlValue(d.account_id)})`);
      event('exit', p, d.account_id, d.task_id, { exit: d.why }, { ...common('exit', p, d.account_id), task_id: d.task_id, task_closed: d.closes, reasons: { exit: d.why } });
      exited++;
      continue;
    }
    if (d.action === 'already_open') continue;
    const entry = d.entry;
    const why = { trigger: p.when, values: entry.values, top_reasons: entry.reasons.slice(0, 3) };
    if (d.action !== 'enter') {
      event('held', p, entry.account_id, null, { ...why, held: d.held }, null);
      held++;
      continue;
    }
    const taskId = nextTask++;
    rows.tasks.push(
      `(${taskId}, ${sqlValue(p.name)}, ${sqlValue(entry.account_id)}, ${sqlValue(entry.name)}, ${sqlValue(p.task.type)}, ${sqlValue(p.task.priority)}, ${sqlValue(entry.owner)}, CAST(${sqlValue(date)} AS DATE), CAST(${sqlValue(entry.due_date)} AS DATE), 'open', NULL, NULL, NULL, ${sqlValue(version)}, ${sqlValue(JSON.stringify(why))}, ${sqlValue(runKey)})`,
    );
    rows.members.push(`(${sqlValue(p.name)}, ${sqlValue(entry.account_id)}, CAST(${sqlValue(date)} AS DATE), ${taskId})`);
    const task = { task_id: taskId, type: p.task.type, priority: p.task.priority, owner: entry.owner, tier: entry.tier, due_date: entry.due_date, status: 'open' };
    event('enter', p, entry.account_id, taskId, why, { ...common('enter', p, entry.account_id), task, reasons: why });
    entered++;
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
  await state.exec(
    `INSERT INTO play_runs VALUES (${sqlValue(runKey)}, CAST(${sqlValue(date)} AS DATE), ${sqlValue(version)}, current_timestamp, ${entered}, ${exited}, ${held})`,
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
