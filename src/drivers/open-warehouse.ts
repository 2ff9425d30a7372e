import { NrrError } from '../errors.js';
import { PostgresDriver, redacted } from './postgres-driver.js';
import type { StoreWarehouse } from './store-warehouse.js';
import type { WarehouseDriver } from './warehouse-driver.js';

/** The warehouses `--store` takes, as its help and its errors name them. */
export const WAREHOUSE_URLS = [
  'postgres://user[:password]@host[:port]/database[?schema=name] (PostgreSQL; schema default nrr)',
  'clickhouse://user[:password]@host[:port]/database[?max_memory_usage=bytes] (a ClickHouse server over HTTP, port default 8123; database default nrr)',
  'clickhouse+https://user[:password]@host[:port]/database (the same over TLS, port default 8443)',
  'clickhouse://embedded (ClickHouse in the process, through the package chdb, installed apart; a store is kept in .nrr/clickhouse/)',
] as const;

/**
 * A connection to the warehouse a `--store` URL names. The model's tables are made in the
 * PostgreSQL schema given by `?schema=` (default `nrr`) or the ClickHouse server's database (default
 * `nrr`), replacing tables of the same names there; embedded ClickHouse keeps them in memory for the run.
 */
export async function openWarehouse(url: string): Promise<WarehouseDriver> {
  if (isPostgresUrl(url)) return PostgresDriver.open({ ...postgresTarget(url), logged: false });
  // The ClickHouse drivers are loaded by the runs that use them.
  if (isEmbeddedClickHouse(url)) return (await import('./chdb-driver.js')).ChdbDriver.open();
  if (isClickHouseServerUrl(url)) return (await import('./clickhouse-server-driver.js')).ClickHouseServerDriver.open({ url });
  throw unknownWarehouse(url);
}

/**
 * A connection to the warehouse a `--store` URL names, to keep a workspace store there
 * (docs/store.md): PostgreSQL's logged tables in the URL's schema; a ClickHouse server's MergeTree
 * tables beside the URL's database; embedded ClickHouse on disk in `nrrFolder` (the data folder's
 * `.nrr/`), which this process then holds until it closes the connection.
 */
export async function openStoreWarehouse(url: string, nrrFolder: string): Promise<StoreWarehouse> {
  if (isPostgresUrl(url)) return PostgresDriver.open({ ...postgresTarget(url), logged: true });
  if (isEmbeddedClickHouse(url)) return (await import('./chdb-driver.js')).ChdbDriver.openStore(nrrFolder);
  if (isClickHouseServerUrl(url)) return (await import('./clickhouse-server-driver.js')).ClickHouseServerDriver.open({ url, store: true });
  throw unknownWarehouse(url);
}

function postgresTarget(url: string): { url: string; schema?: string } {
  const u = new URL(url);
  const schema = u.searchParams.get('schema') ?? undefined;
  u.searchParams.delete('schema');
  return { url: u.toString(), ...(schema === undefined ? {} : { schema }) };
}

function unknownWarehouse(url: string): NrrError {
  return new NrrError(`--store ${redacted(url)}: expected one of\n  ${WAREHOUSE_URLS.join('\n  ')}\n(see docs/engines.md)`);
}

const isEmbeddedClickHouse = (url: string): boolean => url.toLowerCase() === 'clickhouse://embedded';

function isClickHouseServerUrl(url: string): boolean {
  const scheme = schemeOf(url);
  return scheme === 'clickhouse' || scheme === 'clickhouse+http' || scheme === 'clickhouse+https';
}

const schemeOf = (url: string): string | undefined => /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();

/** Whether a `--store` URL names a PostgreSQL server. */
export function isPostgresUrl(url: string): boolean {
  const scheme = schemeOf(url);
  return scheme === 'postgres' || scheme === 'postgresql';
}

/** Whether a `--store` URL names a warehouse that can keep a workspace store: PostgreSQL or ClickHouse, embedded or a server. */
export function keepsStoreUrl(url: string): boolean {
  return isPostgresUrl(url) || isEmbeddedClickHouse(url) || isClickHouseServerUrl(url);
}
