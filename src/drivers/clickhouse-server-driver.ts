import type { ClickHouseClient, ClickHouseSettings } from '@clickhouse/client';
import { CLICKHOUSE_SETTINGS, ClickHouseDialect } from '../engine/clickhouse-dialect.js';
import { NrrError } from '../errors.js';
import { ClickHouseStoreGenerations } from './clickhouse-store.js';
import { sqlCreateCopiedTable } from './clickhouse-tables.js';
import { ClickHouseWriterLease } from './clickhouse-writer-lease.js';
import type { Row } from './driver.js';
import { redacted } from './postgres-driver.js';
import type { StoreWarehouse } from './store-warehouse.js';
import type { CopiedColumn } from './warehouse-driver.js';

/** The memory a query may use unless the URL says otherwise (`?max_memory_usage=BYTES`). */
const DEFAULT_MAX_MEMORY_USAGE = 10_000_000_000;

/** ClickHouse's code for a query that passed max_memory_usage. */
const MEMORY_LIMIT_EXCEEDED = '241';

/** How long one statement may take before the client gives up (building the model of a large company is one statement per table). */
const REQUEST_TIMEOUT_MS = 3_600_000;

/**
 * The settings sent with every statement. Over HTTP each request is a session of its own, so
 * nothing is `SET` once: the model's settings (CLICKHOUSE_SETTINGS) travel with every query, with
 * a memory limit, and large GROUP BYs and sorts spill to disk past half of it instead of failing.
 */
export function clickhouseServerSettings(maxMemoryUsage: number = DEFAULT_MAX_MEMORY_USAGE): Record<string, string | number> {
  return {
    ...CLICKHOUSE_SETTINGS,
    max_memory_usage: maxMemoryUsage,
    max_bytes_ratio_before_external_group_by: 0.5,
    max_bytes_ratio_before_external_sort: 0.5,
  };
}

/** Where a `clickhouse://` URL points, as the client takes it. */
export interface ClickHouseServerAddress {
  /** http(s)://host:port of the server's HTTP interface. */
  readonly endpoint: string;
  readonly username: string;
  readonly password: string;
  /** The database the model's tables are made in (made when missing). */
  readonly database: string;
  readonly maxMemoryUsage: number;
}

/**
 * Reads `clickhouse://user:password@host:8123/database` (HTTP) or `clickhouse+https://…:8443/…`
 * (TLS). The database defaults to `nrr`; `?max_memory_usage=BYTES` sets the memory limit.
 *
 * @example parseClickHouseUrl('clickhouse://nrr:pw@ch.internal:8123/analytics').endpoint // 'http://ch.internal:8123'
 */
export function parseClickHouseUrl(url: string): ClickHouseServerAddress {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new NrrError(`--store ${redacted(url)}: not a URL; expected clickhouse://user:password@host:8123/database`);
  }
  const scheme = u.protocol.replace(/:$/, '').toLowerCase();
  const secure = scheme === 'clickhouse+https';
  if (!secure && scheme !== 'clickhouse' && scheme !== 'clickhouse+http') {
    throw new NrrError(`--store ${redacted(url)}: expected clickhouse://, clickhouse+http:// or clickhouse+https://`);
  }
  if (u.hostname === '') throw new NrrError(`--store ${redacted(url)}: no host; expected clickhouse://user:password@host:8123/database`);
  const database = decodeURIComponent(u.pathname.replace(/^\/+|\/+$/g, '')) || 'nrr';
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(database)) {
    throw new NrrError(`--store ${redacted(url)}: database '${database}': expected letters, digits and '_'`);
  }
  let maxMemoryUsage = DEFAULT_MAX_MEMORY_USAGE;
  for (const [key, value] of u.searchParams) {
    if (key !== 'max_memory_usage') throw new NrrError(`--store ${redacted(url)}: unknown parameter '${key}' (expected max_memory_usage=BYTES)`);
    if (!/^[1-9][0-9]*$/.test(value)) throw new NrrError(`--store ${redacted(url)}: max_memory_usage '${value}': expected a whole number of bytes`);
    maxMemoryUsage = Number(value);
  }
  const port = u.port === '' ? (secure ? '8443' : '8123') : u.port;
  return {
    endpoint: `${secure ? 'https' : 'http'}://${u.hostname}:${port}`,
    username: decodeURIComponent(u.username) || 'default',
    password: decodeURIComponent(u.password),
    database,
    maxMemoryUsage,
  };
}

/**
 * A ClickHouse server or cluster node through the official client (`@clickhouse/client`, over
 * HTTP(S)). Without a store, the model's tables are made in the URL's database (made when
 * missing), in memory, replacing tables of the same names there. With one (`store: true`), they
 * are MergeTree tables of the store's generations beside it (ClickHouseStoreGenerations), and one
 * writer at a time holds the lease (ClickHouseWriterLease). Values leave as JSON with decimals
 * and 64-bit integers quoted.
 */
export class ClickHouseServerDriver implements StoreWarehouse {
  readonly dialect: ClickHouseDialect;
  readonly storeLabel: string;
  readonly elsewhere: string;
  private building: string | null = null;
  private readonly generations: ClickHouseStoreGenerations | null;
  private readonly lease: ClickHouseWriterLease | null;

  private constructor(
    private client: ClickHouseClient,
    private readonly make: (database: string) => ClickHouseClient,
    private readonly url: string,
    private readonly password: string,
    private database: string,
    store: boolean,
  ) {
    this.dialect = new ClickHouseDialect(store);
    this.storeLabel = `database ${database} of ${redacted(url)}`;
    this.elsewhere = `give another database in the URL (or drop the databases ${database} and ${database}__store_*)`;
    this.generations = store ? new ClickHouseStoreGenerations(this, database, false) : null;
    this.lease = store ? new ClickHouseWriterLease(this, database) : null;
  }

  /** `store`: keep a workspace store in the URL's database (tables on disk, in generations). */
  static async open(options: { readonly url: string; readonly store?: boolean }): Promise<ClickHouseServerDriver> {
    const address = parseClickHouseUrl(options.url);
    // Loaded when first used: commands that never meet ClickHouse do not pay for the client.
    const { createClient, ClickHouseLogLevel } = await import('@clickhouse/client');
    const settings = { ...clickhouseServerSettings(address.maxMemoryUsage), ...(options.store === true ? { default_table_engine: 'MergeTree' } : {}) };
    const make = (database: string): ClickHouseClient =>
      createClient({
        url: address.endpoint,
        username: address.username,
        password: address.password,
        database,
        application: 'nrr',
        request_timeout: REQUEST_TIMEOUT_MS,
        compression: { response: true },
        // Failures reach the user once, as nrr's message; the client's own log would repeat them with a stack.
        log: { level: ClickHouseLogLevel.OFF },
        clickhouse_settings: settings as ClickHouseSettings,
      });
    const admin = make('default');
    try {
      await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${address.database}` });
    } catch (e) {
      throw new NrrError(`cannot connect to ClickHouse at ${redacted(options.url)}: ${withoutSecret(message(e), address.password)}`);
    } finally {
      await admin.close();
    }
    return new ClickHouseServerDriver(make(address.database), make, options.url, address.password, address.database, options.store === true);
  }

  /** Works in `database` from now on (over HTTP the database is the client's: a client for it). */
  private use(database: string): void {
    if (database === this.database) return;
    const old = this.client;
    this.client = this.make(database);
    this.database = database;
    void old.close().catch(() => undefined);
  }

  private get store(): { generations: ClickHouseStoreGenerations; lease: ClickHouseWriterLease } {
    if (this.generations === null || this.lease === null) throw new Error('this ClickHouse connection keeps no workspace store');
    return { generations: this.generations, lease: this.lease };
  }

  /** The store's tables: those of the generation the pointer names (and this driver reads there from now on). */
  async storeTables(): Promise<string[]> {
    const current = await this.store.generations.current();
    this.use(current ?? this.store.generations.home);
    if (current === null) return [];
    const rows = await this.query(`SELECT name FROM system.tables WHERE database = ${this.dialect.quoteString(current)} ORDER BY name`);
    return rows.map((r) => String(r['name']));
  }

  lockStore(): Promise<void> {
    return this.store.lease.take();
  }

  unlockStore(): Promise<void> {
    return this.store.lease.release();
  }

  async beginBuild(): Promise<void> {
    this.building = await this.store.generations.begin();
    this.use(this.building);
  }

  async publishBuild(): Promise<void> {
    if (this.building === null) throw new Error('no build to publish');
    await this.store.generations.publish(this.building);
    this.building = null;
  }

  async abandonBuild(): Promise<void> {
    const building = this.building;
    this.building = null;
    this.use((await this.store.generations.current()) ?? this.store.generations.home);
    if (building !== null) await this.store.generations.dropDatabase(building);
  }

  /** The server's message, without the password should it ever carry it; the memory limit as the user's to raise. */
  private failure(e: unknown): Error {
    const text = withoutSecret(message(e), this.password);
    if ((e as { code?: unknown }).code === MEMORY_LIMIT_EXCEEDED) {
      return new NrrError(`ClickHouse at ${redacted(this.url)} ran out of the memory a query may use: ${text}\nraise it with ?max_memory_usage=BYTES in the URL (default ${DEFAULT_MAX_MEMORY_USAGE})`);
    }
    // The server's code is kept on the error (the store tells a name already taken from other failures by it).
    return e instanceof Error && text === e.message ? e : Object.assign(new Error(`ClickHouse at ${redacted(this.url)}: ${text}`), { code: (e as { code?: unknown }).code });
  }

  async exec(sql: string): Promise<void> {
    try {
      await this.client.command({ query: sql });
    } catch (e) {
      throw this.failure(e);
    }
  }

  async query(sql: string): Promise<Row[]> {
    try {
      const result = await this.client.query({ query: sql, format: 'JSONEachRow' });
      return await result.json<Row>();
    } catch (e) {
      throw this.failure(e);
    }
  }

  async createTable(name: string, columns: readonly CopiedColumn[]): Promise<void> {
    await this.exec(sqlCreateCopiedTable(this.dialect, name, columns));
  }

  async insertRows(name: string, columns: readonly CopiedColumn[], rows: readonly (readonly unknown[])[]): Promise<void> {
    if (rows.length === 0) return;
    // JSON text carries every value exactly: decimals and 64-bit integers arrive as strings.
    const values = rows.map((r) => Object.fromEntries(columns.map((c, i) => [c.name, r[i] ?? null])));
    try {
      await this.client.insert({ table: this.dialect.quoteIdent(name), values, format: 'JSONEachRow' });
    } catch (e) {
      throw this.failure(e);
    }
  }

  close(): void {
    void this.client.close().catch(() => undefined);
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function withoutSecret(text: string, secret: string): string {
  return secret === '' ? text : text.replaceAll(secret, '***');
}
