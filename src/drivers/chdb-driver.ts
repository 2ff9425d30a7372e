import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { CLICKHOUSE_SETTINGS, ClickHouseDialect } from '../engine/clickhouse-dialect.js';
import { NrrError } from '../errors.js';
import type { Row } from './driver.js';
import { sqlCreateMemoryTable } from './clickhouse-tables.js';
import type { CopiedColumn, WarehouseDriver } from './warehouse-driver.js';

/** What the driver uses of chdb's session (installed apart, not a dependency: loaded when first needed). */
export interface ChdbSession {
  query(sql: string, format?: string): string;
  close(): void;
}
interface ChdbModule {
  Session: new (path?: string) => ChdbSession;
}

let shared: { session: ChdbSession; users: number } | null = null;

/**
 * chdb binds one engine per process: every driver shares one session, each in a database of its
 * own. The session closes when the last user releases it (releaseChdbSession).
 */
export function acquireChdbSession(): ChdbSession {
  if (shared === null) {
    let chdb: ChdbModule;
    try {
      chdb = createRequire(import.meta.url)('chdb') as ChdbModule;
    } catch {
      throw new NrrError(
        'ClickHouse embedded needs the package chdb, which is not installed (it is not installed with nrr): run `npm install chdb` (Linux or macOS, x64 or arm64), or use --store postgres://… or DuckDB (the default)',
      );
    }
    const session = new chdb.Session();
    const settings = Object.entries(CLICKHOUSE_SETTINGS)
      .map(([k, v]) => `${k} = ${typeof v === 'number' ? v : `'${v}'`}`)
      .join(', ');
    session.query(`SET ${settings}`);
    shared = { session, users: 0 };
  }
  shared.users++;
  return shared.session;
}

/**
 * ClickHouse embedded in the process through chdb (for tests and single-node use). Its settings
 * are pinned on the session (CLICKHOUSE_SETTINGS); the model's tables live in memory, in the
 * driver's database.
 */
export class ChdbDriver implements WarehouseDriver {
  readonly dialect = new ClickHouseDialect();
  private closed = false;

  private constructor(
    private readonly session: ChdbSession,
    readonly database: string,
  ) {}

  static open(options: { readonly database?: string } = {}): Promise<ChdbDriver> {
    const database = options.database ?? `nrr_${randomBytes(6).toString('hex')}`;
    if (!/^[a-z_][a-z0-9_]*$/.test(database)) throw new NrrError(`database '${database}': expected lower-case letters, digits and '_'`);
    const session = acquireChdbSession();
    session.query(`CREATE DATABASE IF NOT EXISTS ${database}`);
    return Promise.resolve(new ChdbDriver(session, database));
  }

  /** Runs in this driver's database: chdb's calls are synchronous, so nothing runs between USE and the statement. */
  private run(sql: string, format: string): string {
    if (this.closed) throw new Error('the ClickHouse connection is closed');
    this.session.query(`USE ${this.database}`);
    return this.session.query(sql, format);
  }

  exec(sql: string): Promise<void> {
    try {
      this.run(sql, 'Null');
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }

  query(sql: string): Promise<Row[]> {
    try {
      const text = this.run(sql, 'JSONEachRow');
      const rows = text
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Row);
      return Promise.resolve(rows);
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }

  async createTable(name: string, columns: readonly CopiedColumn[]): Promise<void> {
    await this.exec(sqlCreateMemoryTable(this.dialect, name, columns));
  }

  async insertRows(name: string, columns: readonly CopiedColumn[], rows: readonly (readonly unknown[])[]): Promise<void> {
    if (rows.length === 0) return;
    const q = this.dialect.quoteIdent.bind(this.dialect);
    // JSON text carries every value exactly: decimals and 64-bit integers arrive as strings.
    const lines = rows.map((r) => JSON.stringify(Object.fromEntries(columns.map((c, i) => [c.name, r[i] ?? null])))).join('\n');
    await this.exec(`INSERT INTO ${q(name)} (${columns.map((c) => q(c.name)).join(', ')}) FORMAT JSONEachRow\n${lines}`);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.session.query(`DROP DATABASE IF EXISTS ${this.database}`);
    } finally {
      releaseChdbSession();
    }
  }
}

/** One user of the shared session is done with it; the last closes it. */
export function releaseChdbSession(): void {
  if (shared !== null && --shared.users === 0) {
    shared.session.close();
    shared = null;
  }
}
