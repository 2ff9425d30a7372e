import type pg from 'pg';
import { PostgresDialect } from '../engine/postgres-dialect.js';
import { NrrError } from '../errors.js';
import type { Row } from './driver.js';
import type { StoreWarehouse } from './store-warehouse.js';
import type { CopiedColumn } from './warehouse-driver.js';

export interface PostgresOptions {
  /** A connection URL: postgres://user:password@host:port/database. */
  readonly url: string;
  /**
   * The schema the model's tables are made in (made when missing; default `nrr`). Tables of that
   * name in it are replaced: give each workspace a schema of its own.
   */
  readonly schema?: string;
  /** Tables that survive a server crash (a workspace store); default UNLOGGED (the model is rebuilt on every run). */
  readonly logged?: boolean;
}

// Values leave PostgreSQL as the text it prints for NUMERIC and BIGINT (the client's default) and
// for DATE (the client's default would be a JavaScript Date at local midnight).
const DATE_OID = 1082;

/** The most parameters one statement may carry in PostgreSQL's protocol. */
const MAX_PARAMS = 65_535;

/** PostgreSQL's type for a column of one of DuckDB's typed tables. */
export function postgresType(duckdbType: string): string {
  const t = duckdbType.trim().toUpperCase();
  if (/^DECIMAL\(\d+,\s*\d+\)$/.test(t)) return t.replace('DECIMAL', 'NUMERIC');
  switch (t) {
    case 'VARCHAR':
      return 'TEXT';
    case 'TINYINT':
    case 'SMALLINT':
    case 'UTINYINT':
      return 'SMALLINT';
    case 'INTEGER':
    case 'USMALLINT':
      return 'INTEGER';
    case 'BIGINT':
    case 'UINTEGER':
      return 'BIGINT';
    case 'HUGEINT':
    case 'UBIGINT':
      return 'NUMERIC(39,0)';
    case 'DOUBLE':
    case 'FLOAT':
      return 'DOUBLE PRECISION';
    case 'DATE':
    case 'BOOLEAN':
      return t;
    case 'TIMESTAMP':
      return 'TIMESTAMP';
    case 'TIMESTAMP WITH TIME ZONE':
      return 'TIMESTAMPTZ';
    default:
      throw new NrrError(`a column of type ${duckdbType} cannot be copied into PostgreSQL yet`);
  }
}

/** PostgreSQL through the `pg` client: one connection, its search path set to the workspace's schema. */
export class PostgresDriver implements StoreWarehouse {
  readonly dialect: PostgresDialect;
  readonly storeLabel: string;
  readonly elsewhere = 'give another ?schema= (or drop that schema)';

  private constructor(
    private readonly client: pg.Client,
    readonly schema: string,
    private readonly url: string,
    logged: boolean,
  ) {
    this.dialect = new PostgresDialect(logged);
    this.storeLabel = `schema ${schema} of ${redacted(url)}`;
  }

  static async open(options: PostgresOptions): Promise<PostgresDriver> {
    const schema = options.schema ?? 'nrr';
    if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new NrrError(`schema '${schema}': expected lower-case letters, digits and '_'`);
    // Loaded when first used: commands that never meet PostgreSQL do not pay for the client.
    const { default: pgModule } = await import('pg');
    const types = {
      getTypeParser: (oid: number, format?: string) => (oid === DATE_OID ? (v: string) => v : pgModule.types.getTypeParser(oid, format as 'text')),
    };
    const client = new pgModule.Client({ connectionString: options.url, types });
    // A connection that drops later is reported by the query that needed it; without a listener
    // the client's 'error' event would end the process.
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (e) {
      throw new NrrError(`cannot connect to PostgreSQL at ${redacted(options.url)}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const driver = new PostgresDriver(client, schema, options.url, options.logged === true);
    // UTC, so that dates never shift; messages in English, whatever the server's locale.
    // No nested loops: PostgreSQL estimates one row for a CTE such as the overlap check's candidates
    // (5,212 at 20K accounts) and then compares every pair (27 million); the model's joins are all
    // analytic, and a join on inequalities alone still gets its nested loop (this only raises its cost).
    // No JIT: compiling a query took 4.3 of its 4.6 s, on queries that run once.
    await driver.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}; SET search_path TO ${schema}; SET TIME ZONE 'UTC'; SET enable_nestloop = off; SET jit = off`);
    return driver;
  }

  async exec(sql: string): Promise<void> {
    await this.send(sql);
  }

  async query(sql: string): Promise<Row[]> {
    const result = await this.send(sql);
    return result.rows as Row[];
  }

  /** Every statement goes through here: a failure of the server or the connection becomes a message for the user. */
  private async send<R extends pg.QueryResultRow = Row>(sql: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.client.query<R>(sql, values);
    } catch (e) {
      throw postgresFailure(e, this.url);
    }
  }

  async createTable(name: string, columns: readonly CopiedColumn[]): Promise<void> {
    const q = this.dialect.quoteIdent;
    const cols = columns.map((c) => `${q(c.name)} ${postgresType(c.duckdbType)}`).join(', ');
    await this.exec(`DROP TABLE IF EXISTS ${q(name)} CASCADE; CREATE ${this.dialect.tableKind()}TABLE ${q(name)} (${cols})`);
  }

  async insertRows(name: string, columns: readonly CopiedColumn[], rows: readonly (readonly unknown[])[]): Promise<void> {
    if (columns.length === 0) return;
    const q = this.dialect.quoteIdent;
    const perStatement = Math.max(1, Math.floor(MAX_PARAMS / columns.length));
    const list = columns.map((c) => q(c.name)).join(', ');
    for (let at = 0; at < rows.length; at += perStatement) {
      const chunk = rows.slice(at, at + perStatement);
      const values = chunk.map((_, i) => `(${columns.map((_c, j) => `$${i * columns.length + j + 1}`).join(', ')})`).join(', ');
      await this.send(`INSERT INTO ${q(name)} (${list}) VALUES ${values}`, chunk.flat());
    }
  }

  /** The schema a store is built in before it is swapped in. */
  private get buildSchema(): string {
    return `${this.schema}__building`;
  }

  async storeTables(): Promise<string[]> {
    return this.relationsOf(this.schema).then((r) => [...r.keys()]);
  }

  /** The tables and views of a schema, with their kind (pg_class.relkind: r table, v view…). */
  private async relationsOf(schema: string): Promise<Map<string, string>> {
    const rows = await this.send<{ relname: string; relkind: string }>(
      `SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'v', 'm', 'p') ORDER BY c.relname`,
      [schema],
    );
    return new Map(rows.rows.map((r) => [r.relname, r.relkind]));
  }

  // A session-level advisory lock on the store's name: released by unlockStore, or by the server
  // when the connection ends (a killed process included).
  async lockStore(): Promise<void> {
    await this.send(`SELECT pg_advisory_lock(hashtext($1))`, [`nrr-store:${this.schema}`]);
  }

  async unlockStore(): Promise<void> {
    await this.send(`SELECT pg_advisory_unlock(hashtext($1))`, [`nrr-store:${this.schema}`]);
  }

  async beginBuild(): Promise<void> {
    await this.exec(`DROP SCHEMA IF EXISTS ${this.buildSchema} CASCADE; CREATE SCHEMA ${this.buildSchema}; SET search_path TO ${this.buildSchema}`);
  }

  // PostgreSQL's DDL is transactional: the old tables are dropped and the new ones moved in by one
  // COMMIT; a reader waits on their locks and then sees the new ones. Views keep pointing at the
  // tables they were made over, wherever those move.
  async publishBuild(): Promise<void> {
    const q = this.dialect.quoteIdent;
    const kind = (k: string | undefined): string => (k === 'v' ? 'VIEW' : k === 'm' ? 'MATERIALIZED VIEW' : 'TABLE');
    await this.exec('BEGIN');
    try {
      const built = await this.relationsOf(this.buildSchema);
      for (const [name, k] of built) {
        const old = (await this.relationsOf(this.schema)).get(name);
        if (old !== undefined) await this.exec(`DROP ${kind(old)} IF EXISTS ${this.schema}.${q(name)} CASCADE`);
        await this.exec(`ALTER ${kind(k)} ${this.buildSchema}.${q(name)} SET SCHEMA ${this.schema}`);
      }
      await this.exec(`DROP SCHEMA ${this.buildSchema} CASCADE`);
      await this.exec('COMMIT');
    } catch (e) {
      await this.exec('ROLLBACK');
      throw e;
    } finally {
      await this.exec(`SET search_path TO ${this.schema}`);
    }
  }

  async abandonBuild(): Promise<void> {
    await this.exec(`SET search_path TO ${this.schema}; DROP SCHEMA IF EXISTS ${this.buildSchema} CASCADE`);
  }

  close(): void {
    void this.client.end().catch(() => undefined);
  }
}

/**
 * SQLSTATE classes that say something about the server or the user's rights, not about nrr's SQL:
 * 08 connection, 28 authorization, 3D database, 53 resources (disk, memory, connections),
 * 57 operator intervention (shutdown, cancel, statement timeout), 42501 privilege, 25006 read-only,
 * 40 a conflict with another transaction.
 */
const SERVER_STATES = /^(08|28|3D|53|57|40)|^42501$|^25006$/;

/**
 * A failed statement as the user should read it: a lost connection or a refusal by the server is
 * an NrrError naming the server (the store keeps its last complete state, so running again is
 * safe); anything else is left as it is (a fault of nrr's own SQL, reported as an internal error).
 */
export function postgresFailure(e: unknown, url: string): unknown {
  if (!(e instanceof Error)) return e;
  const code = (e as { code?: unknown }).code;
  const where = `PostgreSQL at ${redacted(url)}`;
  if (typeof code === 'string' && SERVER_STATES.test(code)) {
    return new NrrError(`${where} stopped the statement: ${e.message} (SQLSTATE ${code}); the workspace store keeps its last complete state, so run again once that is mended`, { cause: e });
  }
  const lost = typeof code === 'string' ? /^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EHOSTUNREACH)$/.test(code) : /Connection terminated|not queryable|connection.*(closed|ended)/i.test(e.message);
  if (lost) {
    return new NrrError(`lost the connection to ${where}: ${e.message}; the workspace store keeps its last complete state, so run again once the server is back`, { cause: e });
  }
  return e;
}

/** A URL as messages show it: without its password. */
export function redacted(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'the given URL';
  }
}
