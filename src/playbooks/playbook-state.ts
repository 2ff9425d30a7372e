import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, linkSync, mkdirSync, openSync, readSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { Row } from '../drivers/driver.js';
import { DuckDbDriver } from '../drivers/duckdb-driver.js';
import { NrrError } from '../errors.js';
import { processAlive } from '../process-alive.js';

/**
 * Play state in an embedded DuckDB file that outlives every run: who is in which play, the tasks
 * opened for them, every fired event with the rules' version and its reasons, and each event's
 * deliveries. Runs record everything of a run in one transaction, so a run that stops half-way
 * leaves nothing behind, and its run key makes running it again a no-op.
 *
 * DuckDB lets one process hold a file read-write, or several processes hold it read-only, never
 * both. So the state is opened only for short sessions (never across the network): readers open
 * it read-only, writers read-write, and each waits (with backoff, up to `waitMs`) while the other
 * kind holds it. The file carries a marker table (`nrr_state_meta`): a file that exists and is not
 * this database is refused, never replaced and never worked around in memory.
 */
export const TASK_STATUSES = ['open', 'done', 'exited'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export const TASK_OUTCOMES = ['won', 'lost', 'no-change', 'not-needed'] as const;
export type TaskOutcome = (typeof TASK_OUTCOMES)[number];

export interface Task {
  readonly task_id: number;
  readonly playbook: string;
  readonly account_id: string;
  readonly account_name: string | null;
  readonly type: string;
  readonly priority: string;
  readonly owner: string;
  readonly opened_on: string;
  readonly due_date: string;
  readonly status: TaskStatus;
  readonly closed_on: string | null;
  readonly outcome: string | null;
  readonly note: string | null;
  readonly config_version: string;
  /** Why it was opened: the trigger's values and the account's top reasons. */
  readonly reasons: string;
  readonly run_key: string;
  /** Set by a snooze (`snoozeTask`): the task waits until this day; null when never snoozed. */
  readonly snoozed_until: string | null;
}

/** What was done to a task by hand after it opened: snoozed, reassigned, noted (play_task_actions). */
export interface TaskAction {
  readonly task_id: number;
  readonly seq: number;
  readonly on_date: string;
  readonly action: 'snooze' | 'reassign' | 'note';
  /** The day snoozed to, the new owner, or the note's text. */
  readonly detail: string;
}

export interface PlayEvent {
  readonly event_id: string;
  readonly run_key: string;
  /** enter: a task was opened; exit: the account left the play; held: it qualified but waits (cooldown, yearly limit, budget). */
  readonly kind: 'enter' | 'exit' | 'held';
  readonly playbook: string;
  readonly account_id: string;
  readonly task_id: number | null;
  readonly on_date: string;
  readonly config_version: string;
  readonly reasons: string;
  /** The JSON a destination receives (enter and exit only). */
  readonly payload: string | null;
}

export interface Delivery {
  readonly event_id: string;
  readonly destination: string;
  readonly status: 'pending' | 'sent' | 'failed';
  readonly attempts: number;
  readonly last_error: string | null;
}

/** Version 3: what people did to tasks by hand (snooze, reassign, note), one row per action. */
const TASK_ACTIONS_TABLE = `CREATE TABLE IF NOT EXISTS play_task_actions (task_id INTEGER NOT NULL, seq INTEGER NOT NULL, on_date DATE NOT NULL,
     action VARCHAR NOT NULL, detail VARCHAR NOT NULL, recorded_at TIMESTAMP NOT NULL, PRIMARY KEY (task_id, seq))`;

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS play_runs (run_key VARCHAR PRIMARY KEY, as_of DATE NOT NULL, config_version VARCHAR NOT NULL,
     recorded_at TIMESTAMP NOT NULL, entered INTEGER NOT NULL, exited INTEGER NOT NULL, held INTEGER NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS play_members (playbook VARCHAR NOT NULL, account_id VARCHAR NOT NULL, entered_on DATE NOT NULL,
     task_id INTEGER, PRIMARY KEY (playbook, account_id))`,
  `CREATE TABLE IF NOT EXISTS play_tasks (task_id INTEGER PRIMARY KEY, playbook VARCHAR NOT NULL, account_id VARCHAR NOT NULL,
     account_name VARCHAR, type VARCHAR NOT NULL, priority VARCHAR NOT NULL, owner VARCHAR NOT NULL, opened_on DATE NOT NULL,
     due_date DATE NOT NULL, status VARCHAR NOT NULL, closed_on DATE, outcome VARCHAR, note VARCHAR,
     config_version VARCHAR NOT NULL, reasons VARCHAR NOT NULL, run_key VARCHAR NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS play_events (event_id VARCHAR PRIMARY KEY, run_key VARCHAR NOT NULL, kind VARCHAR NOT NULL,
     playbook VARCHAR NOT NULL, account_id VARCHAR NOT NULL, task_id INTEGER, on_date DATE NOT NULL,
     config_version VARCHAR NOT NULL, reasons VARCHAR NOT NULL, payload VARCHAR)`,
  `CREATE TABLE IF NOT EXISTS play_deliveries (event_id VARCHAR NOT NULL, destination VARCHAR NOT NULL, status VARCHAR NOT NULL,
     attempts INTEGER NOT NULL, last_error VARCHAR, delivered_at TIMESTAMP, PRIMARY KEY (event_id, destination))`,
  TASK_ACTIONS_TABLE,
];

/** What the marker table says; a state without one (version 1) is recognised by its tables. */
const FORMAT = 'nrr-playbook-state';
export const STATE_VERSION = 3;
const META = 'nrr_state_meta';
const V1_TABLES = ['play_runs', 'play_members', 'play_tasks', 'play_events', 'play_deliveries'];
/** From version 1: deliveries are claimed by the run sending them (see `claimUnsent`). */
const MIGRATIONS = [
  'ALTER TABLE play_deliveries ADD COLUMN IF NOT EXISTS claimed_by VARCHAR',
  'ALTER TABLE play_deliveries ADD COLUMN IF NOT EXISTS claimed_until_ms BIGINT',
  TASK_ACTIONS_TABLE,
];

/** How long an open waits while another process holds the state (default 30 s). */
export const STATE_WAIT_MS = 30_000;

export interface StateOpenOptions {
  /** Read only: several readers may hold the state at once (`nrr tasks`, the API). */
  readonly readOnly?: boolean;
  /** Waits this long for a process holding the state to let go (default `STATE_WAIT_MS`). */
  readonly waitMs?: number;
}

/** The result of sending one delivery. */
export interface DeliveryResult {
  readonly event_id: string;
  readonly destination: string;
  readonly ok: boolean;
  readonly attempts: number;
  readonly error?: string;
}

/** A value as a SQL literal: NULL, a number, or a quoted string. */
export function sqlValue(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`not a finite number: ${v}`);
    return String(v);
  }
  return `'${v.replaceAll("'", "''")}'`;
}

export class PlaybookState {
  private constructor(
    private readonly db: DuckDbDriver,
    readonly path: string,
    private readonly release: () => void,
  ) {}

  /**
   * Opens the state database; read-write opens create it when it does not exist.
   * @example const state = await PlaybookState.open('demo/.nrr/state.duckdb', { readOnly: true })
   */
  static async open(path: string, options: StateOpenOptions = {}): Promise<PlaybookState> {
    const readOnly = options.readOnly ?? false;
    const deadline = Date.now() + (options.waitMs ?? STATE_WAIT_MS);
    const release = await holdInProcess(path, readOnly, deadline, options.waitMs ?? STATE_WAIT_MS);
    try {
      if (!isDuckDbFile(path)) {
        if (readOnly) throw new NrrError(`no play state at ${path} yet: run \`nrr playbooks run\` first`);
        await createState(path);
      }
      const db = await openWaiting(path, readOnly, Math.max(0, deadline - Date.now()));
      try {
        await checkMarker(db, path, readOnly);
      } catch (e) {
        db.close();
        throw e;
      }
      return new PlaybookState(db, path, release);
    } catch (e) {
      release();
      throw e;
    }
  }

  /**
   * Opens the state, runs `f`, and closes it: the way to hold it no longer than needed.
   * @example const tasks = await PlaybookState.using(file, { readOnly: true }, (s) => s.tasks())
   */
  static async using<T>(path: string, options: StateOpenOptions, f: (state: PlaybookState) => Promise<T>): Promise<T> {
    const state = await PlaybookState.open(path, options);
    try {
      return await f(state);
    } finally {
      state.close();
    }
  }

  query(sql: string): Promise<Row[]> {
    return this.db.query(sql);
  }

  exec(sql: string): Promise<void> {
    return this.db.exec(sql);
  }

  /** Runs `f` in one transaction: all of it is recorded, or (when it throws) none of it. */
  async transaction<T>(f: () => Promise<T>): Promise<T> {
    await this.db.exec('BEGIN TRANSACTION');
    try {
      const out = await f();
      await this.db.exec('COMMIT');
      return out;
    } catch (e) {
      await this.db.exec('ROLLBACK');
      throw e;
    }
  }

  async hasRun(runKey: string): Promise<boolean> {
    return (await this.db.query(`SELECT 1 FROM play_runs WHERE run_key = ${sqlValue(runKey)}`)).length > 0;
  }

  /** The day of the latest recorded run, or null before the first. */
  async lastRunDate(): Promise<string | null> {
    const [last] = await this.db.query('SELECT CAST(max(as_of) AS VARCHAR) AS d FROM play_runs');
    return last?.['d'] ? String(last['d']) : null;
  }

  async members(): Promise<{ playbook: string; account_id: string; entered_on: string; task_id: number | null }[]> {
    const rows = await this.db.query('SELECT playbook, account_id, CAST(entered_on AS VARCHAR) AS entered_on, task_id FROM play_members');
    return rows.map((r) => ({
      playbook: String(r['playbook']),
      account_id: String(r['account_id']),
      entered_on: String(r['entered_on']),
      task_id: r['task_id'] === null ? null : Number(r['task_id']),
    }));
  }

  /**
   * Tasks, newest first, filtered by owner (case-insensitive), status, playbook or account.
   * @example await state.tasks({ owner: 'Cara', status: 'open' })
   */
  async tasks(filter: { id?: number; owner?: string; status?: TaskStatus; playbook?: string; account?: string } = {}): Promise<Task[]> {
    const where = ['TRUE'];
    if (filter.id !== undefined) where.push(`task_id = ${sqlValue(filter.id)}`);
    if (filter.owner) where.push(`lower(owner) = lower(${sqlValue(filter.owner)})`);
    if (filter.status) where.push(`status = ${sqlValue(filter.status)}`);
    if (filter.playbook) where.push(`playbook = ${sqlValue(filter.playbook)}`);
    if (filter.account) where.push(`account_id = ${sqlValue(filter.account)}`);
    // A state of version 2 opened read-only has no actions table yet: nothing was snoozed.
    const snoozes = (await this.hasActions())
      ? `(SELECT task_id, CAST(arg_max(detail, seq) AS VARCHAR) AS snoozed_until FROM play_task_actions WHERE action = 'snooze' GROUP BY task_id)`
      : '(SELECT NULL::INTEGER AS task_id, NULL::VARCHAR AS snoozed_until WHERE FALSE)';
    const rows = await this.db.query(
      `SELECT task_id, playbook, account_id, account_name, type, priority, owner, CAST(opened_on AS VARCHAR) AS opened_on,
         CAST(due_date AS VARCHAR) AS due_date, status, CAST(closed_on AS VARCHAR) AS closed_on, outcome, note, config_version, reasons, run_key,
         s.snoozed_until
       FROM play_tasks LEFT JOIN ${snoozes} s USING (task_id) WHERE ${where.join(' AND ')} ORDER BY opened_on DESC, task_id DESC`,
    );
    return rows.map((r) => ({ ...r, task_id: Number(r['task_id']), snoozed_until: r['snoozed_until'] ?? null }) as unknown as Task);
  }

  private actionsTable: boolean | null = null;

  private async hasActions(): Promise<boolean> {
    this.actionsTable ??= (await this.db.query("SELECT 1 FROM information_schema.tables WHERE table_schema = 'main' AND table_name = 'play_task_actions'")).length > 0;
    return this.actionsTable;
  }

  /** What was done to tasks by hand, oldest first (of one task, or of all). */
  async taskActions(taskId?: number): Promise<TaskAction[]> {
    if (!(await this.hasActions())) return [];
    const rows = await this.db.query(
      `SELECT task_id, seq, CAST(on_date AS VARCHAR) AS on_date, action, detail FROM play_task_actions
       ${taskId === undefined ? '' : `WHERE task_id = ${sqlValue(taskId)}`} ORDER BY task_id, seq`,
    );
    return rows.map((r) => ({ ...r, task_id: Number(r['task_id']), seq: Number(r['seq']) }) as unknown as TaskAction);
  }

  /** An open task, or an NrrError naming why it cannot be changed. */
  private async openTask(taskId: number, on: string): Promise<Task> {
    const [task] = await this.tasksById(taskId);
    if (!task) throw new NrrError(`no task ${taskId} in ${this.path}`);
    if (task.status !== 'open') throw new NrrError(`task ${taskId} is already ${task.status}${task.closed_on ? ` (since ${task.closed_on})` : ''}`);
    if (on < task.opened_on) throw new NrrError(`task ${taskId} opened on ${task.opened_on}; it cannot be changed on ${on}, before that`);
    return task;
  }

  /** Records one action on a task, with `change` (an UPDATE of the task) in the same transaction. */
  private async act(taskId: number, on: string, action: TaskAction['action'], detail: string, change?: string): Promise<Task> {
    await this.transaction(async () => {
      const [last] = await this.db.query(`SELECT coalesce(max(seq), 0) AS n FROM play_task_actions WHERE task_id = ${taskId}`);
      await this.db.exec(
        `INSERT INTO play_task_actions VALUES (${taskId}, ${Number(last?.['n'] ?? 0) + 1}, CAST(${sqlValue(on)} AS DATE), ${sqlValue(action)}, ${sqlValue(detail)}, current_timestamp)`,
      );
      if (change) await this.db.exec(`UPDATE play_tasks SET ${change} WHERE task_id = ${taskId}`);
    });
    return (await this.tasksById(taskId))[0]!;
  }

  /**
   * Snoozes an open task until a day after `on`: it is not shown as open or overdue before then
   * (see taskView). Snoozing again replaces the day; a day not after `on` is refused.
   */
  async snoozeTask(taskId: number, until: string, on: string): Promise<Task> {
    await this.openTask(taskId, on);
    if (until <= on) throw new NrrError(`task ${taskId}: snooze until ${until}? expected a day after ${on}`);
    return this.act(taskId, on, 'snooze', until);
  }

  /** Gives an open task to another owner; to the owner it has, it changes nothing (a retried request is harmless). */
  async reassignTask(taskId: number, owner: string, on: string): Promise<Task> {
    const task = await this.openTask(taskId, on);
    const name = owner.trim();
    if (name === '') throw new NrrError(`task ${taskId}: the new owner is empty`);
    if (name === task.owner) return task;
    return this.act(taskId, on, 'reassign', name, `owner = ${sqlValue(name)}`);
  }

  /** Adds a dated line to a task's note (any task, open or closed). */
  async noteTask(taskId: number, text: string, on: string): Promise<Task> {
    const [task] = await this.tasksById(taskId);
    if (!task) throw new NrrError(`no task ${taskId} in ${this.path}`);
    const line = text.trim();
    if (line === '') throw new NrrError(`task ${taskId}: the note is empty`);
    const dated = `${on}: ${line}`;
    return this.act(taskId, on, 'note', line, `note = CASE WHEN note IS NULL OR note = '' THEN ${sqlValue(dated)} ELSE note || chr(10) || ${sqlValue(dated)} END`);
  }

  /** Fired events, newest first (`limit` of them). */
  async events(filter: { playbook?: string; account?: string; limit?: number } = {}): Promise<PlayEvent[]> {
    const where = ['TRUE'];
    if (filter.playbook) where.push(`playbook = ${sqlValue(filter.playbook)}`);
    if (filter.account) where.push(`account_id = ${sqlValue(filter.account)}`);
    const rows = await this.db.query(
      `SELECT event_id, run_key, kind, playbook, account_id, task_id, CAST(on_date AS VARCHAR) AS on_date, config_version, reasons, payload
       FROM play_events WHERE ${where.join(' AND ')} ORDER BY on_date DESC, event_id LIMIT ${Math.max(1, Math.floor(filter.limit ?? 1000))}`,
    );
    return rows.map((r) => ({ ...r, task_id: r['task_id'] === null ? null : Number(r['task_id']) }) as unknown as PlayEvent);
  }

  /** Deliveries not yet sent (pending, or failed on an earlier run), oldest first. */
  async unsent(): Promise<(Delivery & { payload: string })[]> {
    const rows = await this.db.query(
      `SELECT d.event_id, d.destination, d.status, d.attempts, d.last_error, e.payload
       FROM play_deliveries d JOIN play_events e USING (event_id)
       WHERE d.status <> 'sent' ORDER BY e.on_date, d.event_id, d.destination`,
    );
    return rows.map((r) => ({ ...r, attempts: Number(r['attempts']) }) as unknown as Delivery & { payload: string });
  }

  async deliveries(): Promise<Delivery[]> {
    const rows = await this.db.query('SELECT event_id, destination, status, attempts, last_error FROM play_deliveries ORDER BY event_id, destination');
    return rows.map((r) => ({ ...r, attempts: Number(r['attempts']) }) as unknown as Delivery);
  }

  /**
   * Claims every unsent delivery that no live run has claimed, for `leaseMs`, and returns them
   * oldest first. A claim of a run that has died (its process is gone, or the lease ran out) is
   * taken over, so two runs at once never send the same delivery and a killed run's deliveries
   * are sent by the next one.
   */
  async claimUnsent(claimer: string, leaseMs: number): Promise<(Delivery & { payload: string })[]> {
    return this.transaction(async () => {
      const now = Date.now();
      const held = await this.db.query(
        "SELECT DISTINCT claimed_by FROM play_deliveries WHERE status <> 'sent' AND claimed_by IS NOT NULL",
      );
      const dead = held.map((r) => String(r['claimed_by'])).filter((c) => c !== claimer && !claimerAlive(c));
      const free = [`claimed_by IS NULL`, `claimed_until_ms < ${now}`, `claimed_by = ${sqlValue(claimer)}`, ...dead.map((c) => `claimed_by = ${sqlValue(c)}`)];
      await this.db.exec(
        `UPDATE play_deliveries SET claimed_by = ${sqlValue(claimer)}, claimed_until_ms = ${now + leaseMs}
         WHERE status <> 'sent' AND (${free.join(' OR ')})`,
      );
      const rows = await this.db.query(
        `SELECT d.event_id, d.destination, d.status, d.attempts, d.last_error, e.payload
         FROM play_deliveries d JOIN play_events e USING (event_id)
         WHERE d.claimed_by = ${sqlValue(claimer)} AND d.status <> 'sent' ORDER BY e.on_date, d.event_id, d.destination`,
      );
      return rows.map((r) => ({ ...r, attempts: Number(r['attempts']) }) as unknown as Delivery & { payload: string });
    });
  }

  /** Records what sending did, in one short transaction, and lets go of those claims. */
  async recordDeliveries(results: readonly DeliveryResult[]): Promise<void> {
    if (results.length === 0) return;
    await this.transaction(async () => {
      for (const r of results) {
        await this.db.exec(
          `UPDATE play_deliveries SET status = ${sqlValue(r.ok ? 'sent' : 'failed')}, attempts = attempts + ${r.attempts},
             last_error = ${sqlValue(r.error ?? null)}, delivered_at = ${r.ok ? 'current_timestamp' : 'NULL'}, claimed_by = NULL, claimed_until_ms = NULL
           WHERE event_id = ${sqlValue(r.event_id)} AND destination = ${sqlValue(r.destination)}`,
        );
      }
    });
  }

  /** Lets go of this run's remaining claims (deliveries deferred to the next run). */
  async releaseClaims(claimer: string): Promise<void> {
    await this.db.exec(`UPDATE play_deliveries SET claimed_by = NULL, claimed_until_ms = NULL WHERE claimed_by = ${sqlValue(claimer)}`);
  }

  /**
   * Closes an open task with its outcome. The account stays in the play until it leaves it, so a
   * closed task is not opened again while the reason for it holds.
   */
  async closeTask(taskId: number, outcome: TaskOutcome, note: string | undefined, on: string): Promise<Task> {
    const [task] = await this.tasksById(taskId);
    if (!task) throw new NrrError(`no task ${taskId} in ${this.path}`);
    if (task.status !== 'open') throw new NrrError(`task ${taskId} is already ${task.status}${task.closed_on ? ` (since ${task.closed_on})` : ''}`);
    if (on < task.opened_on) throw new NrrError(`task ${taskId} opened on ${task.opened_on}; it cannot be done on ${on}, before that`);
    await this.db.exec(
      `UPDATE play_tasks SET status = 'done', closed_on = CAST(${sqlValue(on)} AS DATE), outcome = ${sqlValue(outcome)}, note = ${sqlValue(note ?? null)}
       WHERE task_id = ${taskId}`,
    );
    return (await this.tasksById(taskId))[0]!;
  }

  private tasksById(taskId: number): Promise<Task[]> {
    return this.tasks({ id: taskId });
  }

  close(): void {
    try {
      this.db.close();
    } finally {
      this.release();
    }
  }
}

/**
 * This process's sessions on each state file. DuckDB's lock on the file keeps other processes out,
 * not a second session of this process (which would open the file again, unguarded): so within a
 * process a writer waits for every other session, and a reader for a writer (nrr serve records an
 * ingested change's plays while a run after a sync may be recording its own).
 */
const SESSIONS = new Map<string, { readers: number; writer: boolean }>();

async function holdInProcess(path: string, readOnly: boolean, deadline: number, waitMs: number): Promise<() => void> {
  const key = resolve(path);
  let pause = 5;
  for (;;) {
    const held = SESSIONS.get(key) ?? { readers: 0, writer: false };
    if (!held.writer && (readOnly || held.readers === 0)) {
      if (readOnly) held.readers++;
      else held.writer = true;
      SESSIONS.set(key, held);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        if (readOnly) held.readers--;
        else held.writer = false;
        if (!held.writer && held.readers === 0) SESSIONS.delete(key);
      };
    }
    if (Date.now() >= deadline) throw new NrrError(`the playbook state ${path} stayed in use in this process for ${waitMs >= 1000 ? `${Math.round(waitMs / 1000)} s` : `${waitMs} ms`}; try again when it has finished`);
    await new Promise((r) => setTimeout(r, pause));
    pause = Math.min(pause * 2, 100);
  }
}

/** A run's claim name: host, process id and a random part (two runs in one process differ). */
export function newClaimer(): string {
  return `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`;
}

/** False when the claim's process is known to be gone (same host, no such process). */
function claimerAlive(claimer: string): boolean {
  const [host, pid] = claimer.split('/');
  if (host !== hostname()) return true;
  return processAlive(Number(pid));
}

/**
 * True when `path` is a DuckDB file, false when nothing is there; anything else (a folder, a
 * device, a file of other content) is refused, since it is not ours to overwrite.
 */
function isDuckDbFile(path: string): boolean {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new NrrError(`the playbook state ${path} is not a regular file (${st.isDirectory() ? 'a folder' : 'a device, pipe or socket'}): playbook_settings.state_file must name a database file of its own (default .nrr/state.duckdb)`);
    size = st.size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    if (e instanceof NrrError) throw e;
    throw new NrrError(`cannot read the playbook state ${path}: ${(e as Error).message}`);
  }
  // A DuckDB file has "DUCK" at bytes 8-11 (after a checksum).
  const head = Buffer.alloc(12);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, 12, 0);
  } finally {
    closeSync(fd);
  }
  if (size < 12 || head.subarray(8, 12).toString('latin1') !== 'DUCK') {
    throw new NrrError(
      `the playbook state ${path} is not a play state database (${size === 0 ? 'it is empty' : 'it is not a DuckDB file'}); nothing was changed. ` +
        'Point playbook_settings.state_file at a file of its own, or move this file away',
    );
  }
  return true;
}

/**
 * Creates the database under a temporary name and links it into place, so `path` is never a
 * half-made state (a run killed while creating it leaves only the temporary file) and a state
 * created at the same time by another run is kept.
 */
async function createState(path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  const prefix = `${basename(path)}.creating-`;
  for (const f of readdirSync(dirname(path))) {
    if (f.startsWith(prefix) && !processAlive(Number(f.slice(prefix.length).split('-')[0]))) rmSync(join(dirname(path), f), { force: true });
  }
  const tmp = `${path}.creating-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    const db = await DuckDbDriver.open({ path: tmp, threads: 1 });
    try {
      for (const sql of SCHEMA) await db.exec(sql);
      for (const sql of MIGRATIONS) await db.exec(sql);
      await db.exec(`CREATE TABLE ${META} (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)`);
      await db.exec(`INSERT INTO ${META} VALUES ('format', '${FORMAT}'), ('version', '${STATE_VERSION}')`);
      await db.exec('CHECKPOINT');
    } finally {
      db.close();
    }
    try {
      linkSync(tmp, path);
    } catch (e) {
      // EEXIST: another run created it first, and theirs is kept. Without hard links, rename.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' && !existsSync(path)) renameSync(tmp, path);
    }
  } catch (e) {
    throw new NrrError(`cannot create the playbook state ${path}: ${(e as Error).message.split('\n')[0]}`);
  } finally {
    rmSync(tmp, { force: true });
    rmSync(`${tmp}.wal`, { force: true });
  }
}

const LOCKED = /Could not set lock|Conflicting lock/i;

/** Opens the file, waiting with backoff while another process holds it in the other mode. */
async function openWaiting(path: string, readOnly: boolean, waitMs: number): Promise<DuckDbDriver> {
  const deadline = Date.now() + waitMs;
  let pause = 10;
  for (;;) {
    try {
      return await DuckDbDriver.open({ path, threads: 1, readOnly });
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      if (!LOCKED.test(msg)) throw new NrrError(`cannot open the playbook state ${path}: ${msg.split('\n')[0]}`);
      if (Date.now() >= deadline) {
        throw new NrrError(`the playbook state ${path} stayed in use by another nrr process for ${Math.round(waitMs / 1000)} s; try again when it has finished`);
      }
      await new Promise((r) => setTimeout(r, pause * (0.5 + Math.random())));
      pause = Math.min(pause * 2, 250);
    }
  }
}

/** Refuses a DuckDB file that is not the play state; brings an older state up to date. */
async function checkMarker(db: DuckDbDriver, path: string, readOnly: boolean): Promise<void> {
  const tables = new Set((await db.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'")).map((r) => String(r['table_name'])));
  let version = 1;
  if (tables.has(META)) {
    const meta = new Map((await db.query(`SELECT key, value FROM ${META}`)).map((r) => [String(r['key']), String(r['value'])]));
    if (meta.get('format') !== FORMAT) throw notState(path, `its ${META} says '${meta.get('format') ?? ''}'`);
    version = Number(meta.get('version'));
    if (!(version >= 1)) throw notState(path, `its ${META} has no version`);
    if (version > STATE_VERSION) throw new NrrError(`the playbook state ${path} was written by a newer nrr (state version ${version}; this one reads up to ${STATE_VERSION}): upgrade nrr`);
  } else if (!V1_TABLES.every((t) => tables.has(t))) {
    throw notState(path, tables.size === 0 ? 'the database is empty' : `it holds ${[...tables].sort().slice(0, 5).join(', ')}${tables.size > 5 ? ', …' : ''}`);
  }
  if (version === STATE_VERSION || readOnly) return;
  await db.exec('BEGIN TRANSACTION');
  try {
    for (const sql of MIGRATIONS) await db.exec(sql);
    await db.exec(`CREATE TABLE IF NOT EXISTS ${META} (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)`);
    await db.exec(`INSERT OR REPLACE INTO ${META} VALUES ('format', '${FORMAT}'), ('version', '${STATE_VERSION}')`);
    await db.exec('COMMIT');
  } catch (e) {
    await db.exec('ROLLBACK');
    throw e;
  }
}

function notState(path: string, why: string): NrrError {
  return new NrrError(
    `the playbook state ${path} is a DuckDB database but not nrr's play state (${why}; no ${META} marker); nothing was changed. ` +
      'Point playbook_settings.state_file at a file of its own, or move this file away',
  );
}
