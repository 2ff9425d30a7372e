import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Driver, Row } from '../drivers/driver.js';
import type { DuckDbDriver, PreparedSql } from '../drivers/duckdb-driver.js';
import { NrrError } from '../errors.js';
import { withSmallPlans } from './small-plans.js';

/**
 * Runs the same steps (the contract's checks of a small ingested batch) change after change with
 * every statement bound and planned once. DuckDB takes far longer to bind and plan the contract's
 * long statements than to run them over a few rows, and binds a prepared statement again whenever a
 * table or view of a database it reads was created or dropped since. So the steps run in a
 * scratch database of their own (attached in memory, one per kind of batch; its temporary tables
 * too): the first time as written (recording them), and after that each `CREATE TABLE t AS q` as
 * a prepared `DELETE FROM t` and `INSERT INTO t q`, each `DROP` of such a table as a `DELETE`, a
 * view already made as nothing, every other statement prepared by its text. What does not depend
 * on the batch (the rates, parsed from their file) is made once and kept. The tables then hold what
 * the statements as written would have made: the same queries over tables of the same columns.
 *
 * A run whose statements differ from the recording in a way that would create, change or drop
 * something (another table, another definition) starts again as written in a fresh scratch
 * database, which is recorded instead; a statement of another text that only reads or changes rows
 * runs as written. Statements that ask the files what they hold (DESCRIBE) always run as written.
 */
export class PreparedChecks {
  private readonly recordings = new Map<string, Recording>();
  private attached = 0;
  /** Where the batches' rows are written for the steps to read: one path, as the prepared statements name it. */
  readonly folder = mkdtempSync(join(tmpdir(), 'nrr-ingest-'));

  /**
   * `prefix` names its scratch databases (`<prefix>_<n>`): one per set of steps kept apart,
   * `nrr_checks` or `nrr_model`. `optimize: false` prepares the statements with DuckDB's optimizer
   * off: an optimised plan may rest on the statistics of the rows its tables held when it was
   * prepared (a perfect hash aggregate sized by the range of a column), which a later batch's
   * rows break.
   */
  constructor(
    private readonly w: DuckDbDriver,
    private readonly prefix: 'nrr_checks' | 'nrr_model' = 'nrr_checks',
    private readonly optimize = true,
  ) {}

  /**
   * Runs `steps` in the scratch database of `kind` (its name is given to them; they write to it
   * with unqualified names) and returns what they return. The scratch tables keep what they made
   * until the next run of the same kind.
   */
  async run<T>(kind: string, steps: (driver: Driver, catalog: string) => Promise<T>): Promise<T> {
    const known = this.recordings.get(kind);
    // Prepared at the second run of a kind (a process that applies one batch prepares nothing).
    if (known?.complete && known.prepared === null) known.prepared = await withSmallPlans(this.w, !this.optimize, () => prepareAll(this.w, known));
    if (known?.prepared) {
      await this.w.exec(`USE ${known.catalog}.main`);
      const replay = new Replay(this.w, known);
      try {
        return await steps(replay, known.catalog);
      } catch (e) {
        // A refusal of the batch (its rows, its file) keeps the recording. Anything else is a
        // statement that failed as prepared (an optimised plan can rest on the rows it was prepared
        // with): the recording is forgotten and the batch runs again as written, below, so that a
        // valid batch is never refused for how it was planned. A run that left the recording
        // starts again as written too, whatever the steps made of that.
        if (!replay.diverged && e instanceof NrrError) throw e;
      }
    }
    if (known) await this.forget(kind);
    return this.record(kind, steps);
  }

  /** Forgets every recording (after the files or the store's tables changed under them). */
  async reset(): Promise<void> {
    for (const kind of [...this.recordings.keys()]) await this.forget(kind);
  }

  /** Removes the folder of rows (the scratch databases go with the connection). */
  close(): void {
    rmSync(this.folder, { recursive: true, force: true });
  }

  private async record<T>(kind: string, steps: (driver: Driver, catalog: string) => Promise<T>): Promise<T> {
    if (this.recordings.size >= MOST_KINDS) await this.forget(this.recordings.keys().next().value!);
    const catalog = `${this.prefix}_${++this.attached}`;
    await this.w.exec(`ATTACH ':memory:' AS ${catalog}`);
    const recording: Recording = { catalog, statements: [], tables: new Set(), views: new Set(), constant: new Set(), folder: this.folder, replayable: true, complete: false, prepared: null };
    this.recordings.set(kind, recording);
    await this.w.exec(`USE ${catalog}.main`);
    let result: T;
    try {
      result = await steps(new Recorder(this.w, recording), catalog);
    } catch (e) {
      await this.forget(kind);
      throw e;
    }
    // A recording that cannot be replayed keeps its tables for the caller to read; the next run of its kind records again.
    recording.complete = recording.replayable;
    return result;
  }

  private async forget(kind: string): Promise<void> {
    const r = this.recordings.get(kind);
    if (!r) return;
    this.recordings.delete(kind);
    await this.w.exec('USE memory.main');
    await this.w.exec(`DETACH DATABASE IF EXISTS ${r.catalog}`);
  }
}

/** Kinds of batches kept at once (a kind: a source and the columns its rows give). */
const MOST_KINDS = 16;

interface Recording {
  readonly catalog: string;
  /** Every statement as run the first time, in order. */
  readonly statements: Step[];
  /** The tables and views the steps made. */
  readonly tables: Set<string>;
  readonly views: Set<string>;
  /**
   * Those of them whose rows do not depend on the batch (the rates, parsed from their file): made
   * once, when recorded, and kept as they are. The files other than the batch's change only with a
   * sync, which forgets every recording.
   */
  readonly constant: Set<string>;
  /** The folder of the batches' rows: a statement naming it reads the batch. */
  readonly folder: string;
  /** False once a step did something a replay cannot repeat (ALTER, a table made twice...). */
  replayable: boolean;
  /** Recorded whole, and replayable. */
  complete: boolean;
  /** By text: what runs in its place. Null until prepared. */
  prepared: Map<string, PreparedStep> | null;
}

type Step = (
  | { readonly kind: 'create'; readonly sql: string; readonly table: string; readonly query: string | null; readonly columns: string | null; readonly temporary: boolean }
  | { readonly kind: 'view'; readonly sql: string; readonly view: string }
  | { readonly kind: 'drop'; readonly sql: string; readonly name: string }
  | { readonly kind: 'rows'; readonly sql: string }
  | { readonly kind: 'answer'; readonly sql: string; rows?: readonly Row[] }
) & { constant?: boolean };

type PreparedStep =
  | { readonly kind: 'statements'; readonly statements: readonly PreparedSql[] }
  | { readonly kind: 'answer'; readonly rows: readonly Row[] }
  | { readonly kind: 'nothing' }
  | { readonly kind: 'as-written' };

const CREATE_TABLE_AS = /^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(TEMP\s+|TEMPORARY\s+)?TABLE\s+([A-Za-z_][A-Za-z0-9_]*)\s+AS\s+([\s\S]+)$/i;
const CREATE_TABLE_OF = /^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(TEMP\s+|TEMPORARY\s+)?TABLE\s+([A-Za-z_][A-Za-z0-9_]*)\s*(\([^;]*\))\s*$/i;
const CREATE_VIEW = /^\s*CREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s+([A-Za-z_][A-Za-z0-9_]*)\s+AS\s/i;
const DROP = /^\s*DROP\s+(?:TABLE|VIEW)\s+(?:IF\s+EXISTS\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*$/i;
/** Statements that create, change or drop something, or change the connection: never prepared. */
const OTHER = /^\s*(?:CREATE|DROP|ALTER|ATTACH|DETACH|USE|SET|RESET|PRAGMA|BEGIN|COMMIT|ROLLBACK|CHECKPOINT|COPY|EXPORT|IMPORT|INSTALL|LOAD|CALL)\b/i;
/** Statements whose answer is fixed when they are bound (what a file holds): always run as written. */
const ASKS_FILES = /\bDESCRIBE\b|read_json_auto\s*\(/i;
/**
 * Questions whose answer is kept from the recording when they read nothing of the batch (only the
 * constant tables, or the shape of a file other than the batch's): the rates and their file change
 * only with a sync, which forgets every recording.
 */
const FIXED_ANSWER = /^\s*(?:SELECT|WITH)\b/i;
/** ... unless they ask for something that changes by itself. */
const VOLATILE = /\b(?:now|current_date|current_timestamp|today|random|uuid|gen_random_uuid|nextval|currval)\b/i;
/** A query of no rows (the columns of a table, none of its rows). */
const NO_ROWS = /\bLIMIT\s+0\s*$/i;
const IF_EXISTS = /\bIF\s+EXISTS\b/i;
/** The table a statement that changes rows writes to. */
const WRITES = /^\s*(?:UPDATE|INSERT\s+INTO|DELETE\s+FROM)\s+([A-Za-z_][A-Za-z0-9_]*)/i;

function classify(sql: string): Step | { readonly kind: 'other' } | { readonly kind: 'as-written' } {
  const create = CREATE_TABLE_AS.exec(sql);
  // A temporary table is made in the scratch database like the others (where its replays find it).
  if (create) return { kind: 'create', sql, table: create[2]!.toLowerCase(), query: create[3]!, columns: null, temporary: create[1] !== undefined };
  const empty = CREATE_TABLE_OF.exec(sql);
  if (empty) return { kind: 'create', sql, table: empty[2]!.toLowerCase(), query: null, columns: empty[3]!, temporary: empty[1] !== undefined };
  const view = CREATE_VIEW.exec(sql);
  if (view) return { kind: 'view', sql, view: view[1]!.toLowerCase() };
  const drop = DROP.exec(sql);
  if (drop) return { kind: 'drop', sql, name: drop[1]!.toLowerCase() };
  if (OTHER.test(sql)) return { kind: 'other' };
  if (ASKS_FILES.test(sql)) return { kind: 'as-written' };
  return { kind: 'rows', sql };
}

/** The first run: every statement as written, noted. */
class Recorder implements Driver {
  readonly dialect;
  constructor(
    private readonly w: DuckDbDriver,
    private readonly r: Recording,
  ) {
    this.dialect = w.dialect;
  }

  async exec(sql: string): Promise<void> {
    const step = this.note(sql);
    // A table the steps made and then drop is kept (emptied), so that a replay can fill it again;
    // once the recording cannot be replayed, everything runs as written.
    if (!this.r.replayable) await this.w.exec(sql);
    else if (step?.kind === 'drop' && this.r.constant.has(step.name)) return;
    else if (step?.kind === 'drop' && this.r.tables.has(step.name)) await this.w.exec(`DELETE FROM ${step.name}`);
    else if (step?.kind === 'drop' && this.r.views.has(step.name)) return;
    else if (step?.kind === 'create' && step.temporary) await this.w.exec(`CREATE OR REPLACE TABLE ${step.table} ${step.query === null ? step.columns : `AS ${step.query}`}`);
    else await this.w.exec(sql);
  }

  async query(sql: string): Promise<Row[]> {
    const step = this.note(sql, true);
    const rows = await this.w.query(sql);
    // Kept as the statement answered at this point of the steps, which every run as written repeats.
    if (step?.kind === 'answer') step.rows = rows.map((row) => ({ ...row }));
    return rows;
  }

  close(): void {}

  private note(sql: string, asked = false): Step | null {
    const step = classify(sql);
    // A question whose answer cannot change from one batch to the next: answered once, when prepared (see FIXED_ANSWER).
    if (asked && (step.kind === 'rows' || step.kind === 'as-written') && FIXED_ANSWER.test(sql) && !VOLATILE.test(sql) && !this.readsBatch(sql)) {
      const answer: Step = { kind: 'answer', sql };
      this.r.statements.push(answer);
      return answer;
    }
    if (step.kind === 'other') {
      this.r.replayable = false;
      return null;
    }
    if (step.kind === 'as-written') return null;
    const r = this.r;
    const fixed = !this.readsBatch(sql);
    if (step.kind === 'create' || step.kind === 'view') {
      const name = step.kind === 'create' ? step.table : step.view;
      if (r.tables.has(name) || r.views.has(name)) r.replayable = false;
      (step.kind === 'create' ? r.tables : r.views).add(name);
      if (fixed) r.constant.add(name);
      step.constant = fixed;
    } else if (step.kind === 'drop') {
      step.constant = r.constant.has(step.name);
    } else {
      const target = WRITES.exec(sql)?.[1]?.toLowerCase();
      if (target !== undefined && r.constant.has(target)) {
        // A constant table changed by what the batch holds would not be what its statements make: not replayed.
        if (!fixed) r.replayable = false;
        step.constant = fixed;
      }
    }
    r.statements.push(step);
    return step;
  }

  /** Whether a statement reads the batch: its file, or a table or view made from it (or something outside the scratch database: the store, memory, another scratch database). */
  private readsBatch(sql: string): boolean {
    if (sql.includes(this.r.folder) || /\b(?:nrr_store|memory|nrr_checks_\d+|nrr_model_\d+)\s*\./i.test(sql)) return true;
    const words = new Set(sql.toLowerCase().match(/[a-z_][a-z0-9_]*/g) ?? []);
    for (const name of [...this.r.tables, ...this.r.views]) if (!this.r.constant.has(name) && words.has(name)) return true;
    return false;
  }
}

/** Prepares what each recorded statement becomes in a replay, in the scratch database as the recording left it. */
async function prepareAll(w: DuckDbDriver, r: Recording): Promise<Map<string, PreparedStep>> {
  const out = new Map<string, PreparedStep>();
  const views = r.views;
  await w.exec(`USE ${r.catalog}.main`);
  for (const step of r.statements) {
    if (out.has(step.sql)) continue;
    if (step.constant === true) {
      out.set(step.sql, { kind: 'nothing' });
      continue;
    }
    switch (step.kind) {
      case 'create':
        out.set(step.sql, {
          kind: 'statements',
          // A table made empty with the columns of another (`AS SELECT … LIMIT 0`) is only emptied: inserting no row is still a statement to run.
          statements: [await w.prepare(`DELETE FROM ${step.table}`), ...(step.query === null || NO_ROWS.test(step.query) ? [] : [await w.prepare(`INSERT INTO ${step.table} ${step.query}`)])],
        });
        break;
      case 'answer': {
        // Asked more than once with different answers (something the steps wrote in between): asked each time, prepared.
        const answers = new Set(r.statements.filter((x) => x.kind === 'answer' && x.sql === step.sql).map((x) => JSON.stringify((x as { rows?: readonly Row[] }).rows ?? null)));
        out.set(step.sql, step.rows !== undefined && answers.size === 1 ? { kind: 'answer', rows: step.rows } : ASKS_FILES.test(step.sql) ? { kind: 'as-written' } : { kind: 'statements', statements: [await w.prepare(step.sql)] });
        break;
      }
      case 'view':
        out.set(step.sql, { kind: 'nothing' });
        break;
      case 'drop':
        // A drop IF EXISTS of what the steps never made: nothing to drop (only the steps make anything in the scratch database).
        out.set(
          step.sql,
          r.tables.has(step.name) ? { kind: 'statements', statements: [await w.prepare(`DELETE FROM ${step.name}`)] } : views.has(step.name) || IF_EXISTS.test(step.sql) ? { kind: 'nothing' } : { kind: 'as-written' },
        );
        break;
      case 'rows':
        out.set(step.sql, { kind: 'statements', statements: [await w.prepare(step.sql)] });
        break;
    }
  }
  return out;
}

/** A replay left the recording: it runs again as written, recorded afresh. */
class Diverged extends Error {}

/** The steps' driver in a replay: each statement as prepared from the recording. */
class Replay implements Driver {
  readonly dialect;
  /** A statement left the recording (the steps may have turned that into an error of their own). */
  diverged = false;
  constructor(
    private readonly w: DuckDbDriver,
    private readonly r: Recording,
  ) {
    this.dialect = w.dialect;
  }

  async exec(sql: string): Promise<void> {
    const p = this.r.prepared!.get(sql);
    if (p === undefined) return this.unknown(sql);
    if (p.kind === 'as-written') return this.w.exec(sql);
    if (p.kind === 'answer') this.diverge();
    if (p.kind === 'statements') for (const s of p.statements) await s.run();
  }

  async query(sql: string): Promise<Row[]> {
    const p = this.r.prepared!.get(sql);
    if (p?.kind === 'answer') return p.rows.map((row) => ({ ...row }));
    if (p?.kind === 'statements' && p.statements.length === 1) return p.statements[0]!.query();
    if ((p !== undefined && p.kind !== 'as-written') || !['rows', 'as-written'].includes(classify(sql).kind)) this.diverge();
    return this.w.query(sql);
  }

  private diverge(): never {
    this.diverged = true;
    throw new Diverged();
  }

  close(): void {}

  private async unknown(sql: string): Promise<void> {
    const step = classify(sql);
    // Rows only: as written. A drop of what does not exist: nothing to do.
    if (step.kind === 'rows' || step.kind === 'as-written') return this.w.exec(sql);
    if (step.kind === 'drop' && /\bIF\s+EXISTS\b/i.test(sql) && !this.r.tables.has(step.name) && !this.r.views.has(step.name)) return;
    this.diverge();
  }
}
