import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { DuckDbDialect } from '../engine/duckdb-dialect.js';
import type { Driver, Row } from './driver.js';

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
    const instance = await DuckDBInstance.create(options.path ?? ':memory:', settings);
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
    await this.connection.run(sql);
  }

  async query(sql: string): Promise<Row[]> {
    const reader = await this.connection.runAndReadAll(sql);
    return reader.getRowObjectsJson() as Row[];
  }

  close(): void {
    this.connection.closeSync();
    if (!this.shared) this.instance.closeSync();
  }
}
