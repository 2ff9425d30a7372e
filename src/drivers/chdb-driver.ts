import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { CLICKHOUSE_SETTINGS, ClickHouseDialect } from '../engine/clickhouse-dialect.js';
import { NrrError } from '../errors.js';
import type { Row } from './driver.js';
import { ClickHouseStoreGenerations } from './clickhouse-store.js';
import { sqlCreateCopiedTable } from './clickhouse-tables.js';
import type { StoreWarehouse } from './store-warehouse.js';
import { takeLockFile } from './store-lock-file.js';
import type { CopiedColumn } from './warehouse-driver.js';

/** What the driver uses of chdb's session (installed apart, not a dependency: loaded when first needed). */
export interface ChdbSession {
  query(sql: string, format?: string): string;
  close(): void;
}
interface ChdbModule {
  Session: new (path?: string) => ChdbSession;
}

let shared: { session: ChdbSession; users: number; path: string | undefined } | null = null;

/**
 * chdb binds one engine per process: every driver shares one session, each in a database of its
 * own. The session closes when the last user releases it (releaseChdbSession). `path`: the folder
 * the engine keeps its databases in (a workspace store); without it, a temporary one.
 */
export function acquireChdbSession(path?: string): ChdbSession {
  if (shared !== null && shared.path !== path) {
    throw new NrrError(
      `ClickHouse embedded runs one engine per process, and this one already runs ${shared.path === undefined ? 'in memory' : `on ${shared.path}`}: close it before opening ${path === undefined ? 'one in memory' : path}`,
    );
  }
  if (shared === null) {
    let chdb: ChdbModule;
    try {
      chdb = createRequire(import.meta.url)('chdb') as ChdbModule;
    } catch {
      throw new NrrError(
        'ClickHouse embedded needs the package chdb, which is not installed (it is not installed with nrr): run `npm install chdb` (Linux or macOS, x64 or arm64), or use --store postgres://… or DuckDB (the default)',
      );
    }
    let session: ChdbSession;
    try {
      session = path === undefined ? new chdb.Session() : new chdb.Session(path);
    } catch (e) {
      throw new NrrError(`ClickHouse embedded cannot open ${path ?? 'a temporary folder'}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const settings = Object.entries(CLICKHOUSE_SETTINGS)
      .map(([k, v]) => `${k} = ${typeof v === 'number' ? v : `'${v}'`}`)
      .join(', ');
    session.query(`SET ${settings}`);
    shared = { session, users: 0, path };
  }
  shared.users++;
  return shared.session;
}

/** Where an embedded workspace store lives: the engine's folder and its lock file, under the data folder's `.nrr/`. */
export function chdbStorePaths(nrrFolder: string): { readonly engine: string; readonly lock: string } {
  return { engine: join(nrrFolder, 'clickhouse'), lock: join(nrrFolder, 'clickhouse.lock') };
}

/** The database that holds an embedded store's pointer to its current generation. */
const EMBEDDED_HOME = 'nrr';

/**
 * ClickHouse embedded in the process through chdb (for tests and single-node use). Its settings
 * are pinned on the session (CLICKHOUSE_SETTINGS). Without a store, the model's tables live in
 * memory, in a database of the driver's own, dropped when it closes. With one (`openStore`), the
 * engine keeps its databases in `.nrr/clickhouse/` of the data folder, on disk (MergeTree), in
 * generations (ClickHouseStoreGenerations); the process holds the folder for its whole life.
 */
export class ChdbDriver implements StoreWarehouse {
  readonly dialect: ClickHouseDialect;
  readonly storeLabel: string;
  readonly elsewhere = 'delete its folder (.nrr/clickhouse/ of the data folder)';
  private closed = false;
  private building: string | null = null;
  private readonly store: ClickHouseStoreGenerations | null;

  private constructor(
    private readonly session: ChdbSession,
    private database: string,
    /** A store's release of its lock file; null without a store. */
    private readonly release: (() => void) | null,
    label: string,
  ) {
    this.dialect = new ClickHouseDialect(release !== null);
    this.storeLabel = label;
    this.store = release === null ? null : new ClickHouseStoreGenerations(this, EMBEDDED_HOME, true);
  }

  static open(options: { readonly database?: string } = {}): Promise<ChdbDriver> {
    const database = options.database ?? `nrr_${randomBytes(6).toString('hex')}`;
    if (!/^[a-z_][a-z0-9_]*$/.test(database)) throw new NrrError(`database '${database}': expected lower-case letters, digits and '_'`);
    const session = acquireChdbSession();
    session.query(`CREATE DATABASE IF NOT EXISTS ${database}`);
    return Promise.resolve(new ChdbDriver(session, database, null, 'ClickHouse embedded'));
  }

  /**
   * Opens the workspace store kept in `nrrFolder` (the data folder's `.nrr/`). chdb lets one
   * process at a time open an engine's folder: the lock file `clickhouse.lock` beside it makes a
   * second process wait (while the holder lives) instead of failing, and is released at close.
   */
  static async openStore(nrrFolder: string): Promise<ChdbDriver> {
    const paths = chdbStorePaths(nrrFolder);
    mkdirSync(nrrFolder, { recursive: true });
    const release = await takeLockFile(paths.lock, `the ClickHouse store ${paths.engine}`);
    try {
      const session = acquireChdbSession(paths.engine);
      try {
        // The meta's tables are made without an engine: on disk, as the model's.
        session.query(`SET default_table_engine = 'MergeTree'`);
        session.query(`CREATE DATABASE IF NOT EXISTS ${EMBEDDED_HOME}`);
        const driver = new ChdbDriver(session, EMBEDDED_HOME, release, `ClickHouse embedded in ${paths.engine}`);
        driver.database = (await driver.generations.current()) ?? EMBEDDED_HOME;
        return driver;
      } catch (e) {
        releaseChdbSession();
        throw e;
      }
    } catch (e) {
      release();
      throw e;
    }
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
    await this.exec(sqlCreateCopiedTable(this.dialect, name, columns));
  }

  async insertRows(name: string, columns: readonly CopiedColumn[], rows: readonly (readonly unknown[])[]): Promise<void> {
    if (rows.length === 0) return;
    const q = this.dialect.quoteIdent.bind(this.dialect);
    // JSON text carries every value exactly: decimals and 64-bit integers arrive as strings.
    const lines = rows.map((r) => JSON.stringify(Object.fromEntries(columns.map((c, i) => [c.name, r[i] ?? null])))).join('\n');
    await this.exec(`INSERT INTO ${q(name)} (${columns.map((c) => q(c.name)).join(', ')}) FORMAT JSONEachRow\n${lines}`);
  }

  private get generations(): ClickHouseStoreGenerations {
    if (this.store === null) throw new Error('this ClickHouse connection keeps no workspace store');
    return this.store;
  }

  /** The store's tables: those of the generation the pointer names (and this driver works there from now on). */
  async storeTables(): Promise<string[]> {
    const current = await this.generations.current();
    this.database = current ?? EMBEDDED_HOME;
    if (current === null) return [];
    const rows = await this.query(`SELECT name FROM system.tables WHERE database = ${this.dialect.quoteString(current)} ORDER BY name`);
    return rows.map((r) => String(r['name']));
  }

  // The process holds the store's folder from openStore to close (chdb admits one process): no other writer can come.
  lockStore(): Promise<void> {
    return Promise.resolve();
  }

  unlockStore(): Promise<void> {
    return Promise.resolve();
  }

  async beginBuild(): Promise<void> {
    this.building = await this.generations.begin();
    this.database = this.building;
  }

  async publishBuild(): Promise<void> {
    if (this.building === null) throw new Error('no build to publish');
    await this.generations.publish(this.building);
    this.database = this.building;
    this.building = null;
  }

  async abandonBuild(): Promise<void> {
    const building = this.building;
    this.building = null;
    this.database = (await this.generations.current()) ?? EMBEDDED_HOME;
    if (building !== null) await this.generations.dropDatabase(building);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.store === null) this.session.query(`DROP DATABASE IF EXISTS ${this.database}`);
    } finally {
      releaseChdbSession();
      this.release?.();
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
