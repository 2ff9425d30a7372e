import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Row } from '../drivers/driver.js';
import { DuckDbDriver } from '../drivers/duckdb-driver.js';
import { NrrError } from '../errors.js';

/**
 * Play state in an embedded DuckDB file that outlives every run: who is in which play, the tasks
 * opened for them, every fired event with the rules' version and its reasons, and each event's
 * deliveries. Runs record everything of a run in one transaction, so a run that stops half-way
 * leaves nothing behind, and its run key makes running it again a no-op.
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
];

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
  ) {}

  /**
   * Opens (creating if needed) the state database.
   * @example const state = await PlaybookState.open('demo/.nrr/state.duckdb')
   */
  static async open(path: string): Promise<PlaybookState> {
    mkdirSync(dirname(path), { recursive: true });
    let db: DuckDbDriver;
    try {
      db = await DuckDbDriver.open({ path, threads: 1 });
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      if (/lock/i.test(msg)) throw new NrrError(`the playbook state ${path} is in use by another nrr process; try again when it has finished`);
      throw new NrrError(`cannot open the playbook state ${path}: ${msg.split('\n')[0]}`);
    }
    for (const sql of SCHEMA) await db.exec(sql);
    return new PlaybookState(db, path);
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
    const rows = await this.db.query(
      `SELECT task_id, playbook, account_id, account_name, type, priority, owner, CAST(opened_on AS VARCHAR) AS opened_on,
         CAST(due_date AS VARCHAR) AS due_date, status, CAST(closed_on AS VARCHAR) AS closed_on, outcome, note, config_version, reasons, run_key
       FROM play_tasks WHERE ${where.join(' AND ')} ORDER BY opened_on DESC, task_id DESC`,
    );
    return rows.map((r) => ({ ...r, task_id: Number(r['task_id']) }) as unknown as Task);
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

  async markDelivery(eventId: string, destination: string, result: { ok: boolean; attempts: number; error?: string }): Promise<void> {
    await this.db.exec(
      `UPDATE play_deliveries SET status = ${sqlValue(result.ok ? 'sent' : 'failed')}, attempts = attempts + ${result.attempts},
         last_error = ${sqlValue(result.error ?? null)}, delivered_at = ${result.ok ? 'current_timestamp' : 'NULL'}
       WHERE event_id = ${sqlValue(eventId)} AND destination = ${sqlValue(destination)}`,
    );
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
    this.db.close();
  }
}
