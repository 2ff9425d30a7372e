import { appendFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { DuckDbDialect } from '../engine/duckdb-dialect.js';
import type { Columns, Driver, Row } from './driver.js';

export interface DuckDbOptions {
  /** A database file, or ':memory:' (default). */
  path?: string;
  threads?: number;
  memoryLimit?: string;
  /** Where DuckDB spills what does not fit in memory (default: DuckDB's). */
  tempDirectory?: string;
  /** Open the file read-only: several processes may read it at once, none may write it meanwhile. */
  readOnly?: boolean;
}

/**
 * DuckDB's client is a CommonJS package of many files: loaded with require, Node does not scan each
 * of them for named exports as it does for an ES import, which halves what loading it costs every
 * command (about 0.2 s of CPU).
 */
const duckdb = createRequire(import.meta.url)('@duckdb/node-api') as typeof import('@duckdb/node-api');

/**
 * NRR_TRACE_SQL=1 prints every statement with its time in ms (and when it ended, in ms since the
 * process started) to standard error, NRR_TRACE_WIDTH characters of it (160). NRR_TRACE_FILE=path
 * instead appends each statement whole, as a JSON line {ms, cpu_ms, sql}, to that file (to replay
 * them); cpu_ms is the CPU the process took meanwhile (one statement at a time runs in a change).
 */
const TRACE_FILE = process.env['NRR_TRACE_FILE'];
const TRACE = process.env['NRR_TRACE_SQL'] === '1' || TRACE_FILE !== undefined;
const NRR_TRACE_WIDTH = Number(process.env['NRR_TRACE_WIDTH'] ?? 160);

/** The process's CPU time in ms (every thread, DuckDB's included), read when tracing. */
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
let cpuAtStart = 0;

function traceStart(): number {
  if (TRACE_FILE !== undefined) cpuAtStart = cpuMs();
  return performance.now();
}

function trace(started: number, sql: string): void {
  const ms = performance.now() - started;
  if (TRACE_FILE !== undefined) {
    // The CPU a statement took: on a busy machine its wall time says more about the others.
    appendFileSync(TRACE_FILE, `${JSON.stringify({ ms: Number(ms.toFixed(2)), cpu_ms: Number((cpuMs() - cpuAtStart).toFixed(2)), sql })}\n`);
  }
  else process.stderr.write(`[sql ${ms.toFixed(1).padStart(8)} ms at ${performance.now().toFixed(0).padStart(6)}] ${sql.replace(/\s+/g, ' ').slice(0, NRR_TRACE_WIDTH)}\n`);
}

/** A statement prepared once (see DuckDbDriver.prepare). */
export interface PreparedSql {
  run(): Promise<void>;
  query(): Promise<Row[]>;
}

/** Embedded DuckDB through @duckdb/node-api. */
export class DuckDbDriver implements Driver {
  readonly dialect = new DuckDbDialect();

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    /** A second connection to an instance another driver owns: closing it leaves the instance open. */
    private readonly shared = false,
  ) {}

  static async open(options: DuckDbOptions = {}): Promise<DuckDbDriver> {
    const settings: Record<string, string> = {};
    if (options.threads) settings['threads'] = String(options.threads);
    // NRR_MEMORY_LIMIT (e.g. 3GB) bounds every database a command opens; DuckDB spills past it.
    const memoryLimit = options.memoryLimit ?? process.env['NRR_MEMORY_LIMIT'];
    if (memoryLimit) settings['memory_limit'] = memoryLimit;
    if (options.tempDirectory) settings['temp_directory'] = options.tempDirectory;
    if (options.readOnly) settings['access_mode'] = 'READ_ONLY';
    const instance = await duckdb.DuckDBInstance.create(options.path ?? ':memory:', settings);
    const connection = await instance.connect();
    return new DuckDbDriver(instance, connection);
  }

  /**
   * Another connection to the same database. Each connection has its own transaction and settings
   * (a writer in a transaction, readers that keep seeing the last committed state).
   */
  async connect(): Promise<DuckDbDriver> {
    return new DuckDbDriver(this.instance, await this.instance.connect(), true);
  }

  async exec(sql: string): Promise<void> {
    const started = TRACE ? traceStart() : 0;
    await this.connection.run(sql);
    if (TRACE) trace(started, sql);
  }

  async query(sql: string): Promise<Row[]> {
    const started = TRACE ? traceStart() : 0;
    const reader = await this.connection.runAndReadAll(sql);
    const rows = reader.getRowObjectsJson() as Row[];
    if (TRACE) trace(started, sql);
    return rows;
  }

  async queryColumns(sql: string): Promise<Columns> {
    const started = TRACE ? traceStart() : 0;
    const reader = await this.connection.runAndReadAll(sql);
    const columns = reader.getColumnsObjectJson() as Columns;
    if (TRACE) trace(started, sql);
    return columns;
  }

  /**
   * Appends rows of text (or NULL) to an existing table of as many VARCHAR columns, through DuckDB's
   * appender: values arrive exactly as given, with no SQL to parse.
   */
  async appendText(table: string, rows: readonly (readonly (string | null)[])[]): Promise<void> {
    const appender = await this.connection.createAppender(table);
    try {
      for (const row of rows) {
        for (const v of row) {
          if (v === null) appender.appendNull();
          else appender.appendVarchar(v);
        }
        appender.endRow();
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
  }

  /**
   * A statement bound and planned once, to run many times: DuckDB binds it again only when a
   * database it reads or writes had a table or view created, changed or dropped since.
   */
  async prepare(sql: string): Promise<PreparedSql> {
    const statement = await this.connection.prepare(sql);
    return {
      run: async () => {
        const started = TRACE ? traceStart() : 0;
        await statement.run();
        if (TRACE) trace(started, `/* prepared */ ${sql}`);
      },
      query: async () => {
        const started = TRACE ? traceStart() : 0;
        const rows = (await statement.runAndReadAll()).getRowObjectsJson() as Row[];
        if (TRACE) trace(started, `/* prepared */ ${sql}`);
        return rows;
      },
    };
  }

  close(): void {
    this.connection.closeSync();
    if (!this.shared) this.instance.closeSync();
  }
}
