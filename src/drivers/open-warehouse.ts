import { NrrError } from '../errors.js';
import { ChdbDriver } from './chdb-driver.js';
import { ClickHouseServerDriver } from './clickhouse-server-driver.js';
import { PostgresDriver, redacted } from './postgres-driver.js';
import type { WarehouseDriver } from './warehouse-driver.js';

/** The warehouses `--store` takes, as its help and its errors name them. */
export const WAREHOUSE_URLS = [
  'postgres://user[:password]@host[:port]/database[?schema=name] (PostgreSQL; schema default nrr)',
  'clickhouse://user[:password]@host[:port]/database[?max_memory_usage=bytes] (a ClickHouse server over HTTP, port default 8123; database default nrr)',
  'clickhouse+https://user[:password]@host[:port]/database (the same over TLS, port default 8443)',
  'clickhouse://embedded (ClickHouse in the process, through the package chdb, installed apart)',
] as const;

/**
 * A connection to the warehouse a `--store` URL names. The model's tables are made in the
 * PostgreSQL schema given by `?schema=` (default `nrr`) or the ClickHouse server's database (default
 * `nrr`), replacing tables of the same names there; embedded ClickHouse keeps them in memory for the run.
 * `logged`: PostgreSQL tables that survive a server crash (a workspace store).
 */
export async function openWarehouse(url: string, options: { readonly logged?: boolean } = {}): Promise<WarehouseDriver> {
  if (isPostgresUrl(url)) {
    const u = new URL(url);
    const schema = u.searchParams.get('schema') ?? undefined;
    u.searchParams.delete('schema');
    return PostgresDriver.open({ url: u.toString(), logged: options.logged === true, ...(schema === undefined ? {} : { schema }) });
  }
  const scheme = schemeOf(url);
  if (url.toLowerCase() === 'clickhouse://embedded') return ChdbDriver.open();
  if (scheme === 'clickhouse' || scheme === 'clickhouse+http' || scheme === 'clickhouse+https') return ClickHouseServerDriver.open({ url });
  throw new NrrError(`--store ${redacted(url)}: expected one of\n  ${WAREHOUSE_URLS.join('\n  ')}\n(see docs/engines.md)`);
}

const schemeOf = (url: string): string | undefined => /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();

/** Whether a `--store` URL names a PostgreSQL server (the one warehouse that keeps a workspace store so far). */
export function isPostgresUrl(url: string): boolean {
  const scheme = schemeOf(url);
  return scheme === 'postgres' || scheme === 'postgresql';
}
