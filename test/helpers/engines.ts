import { randomBytes } from 'node:crypto';
import type { WarehouseDriver } from '../../src/drivers/warehouse-driver.js';
import { createRequire } from 'node:module';
import { ChdbDriver } from '../../src/drivers/chdb-driver.js';
import { ClickHouseServerDriver } from '../../src/drivers/clickhouse-server-driver.js';
import { PostgresDriver } from '../../src/drivers/postgres-driver.js';
import { openInWarehouse } from '../../src/workspace/warehouse-model.js';
import { Workspace, type OpenOptions } from '../../src/workspace/workspace.js';
import { startClickHouseHttp } from './clickhouse-http-server.js';
import { postgresBinaries, startPostgres, type PostgresServer } from './postgres-server.js';

/**
 * `clickhouse-http` is the client driver (`@clickhouse/client`, as for a ClickHouse server) talking
 * to a stand-in server that runs each query on embedded ClickHouse (test/helpers/clickhouse-http-server.ts).
 */
export const ENGINE_NAMES = ['duckdb', 'postgres', 'clickhouse', 'clickhouse-http'] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];

/**
 * The engines the conformance suite runs on: NRR_ENGINES, a comma list (default `duckdb`).
 * `NRR_ENGINES=duckdb,postgres,clickhouse,clickhouse-http npm test` runs it on all of them.
 */
export function enginesUnderTest(): EngineName[] {
  const names = (process.env['NRR_ENGINES'] ?? 'duckdb')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
  for (const n of names) {
    if (!(ENGINE_NAMES as readonly string[]).includes(n)) throw new Error(`NRR_ENGINES: unknown engine '${n}' (expected ${ENGINE_NAMES.join(', ')})`);
  }
  return [...new Set(names)] as EngineName[];
}

/** An engine as the suite uses it: `open` reads a data folder and builds its model on the engine. */
export interface Engine {
  readonly name: EngineName;
  /** Why the engine cannot run here (only outside CI: under CI=true a missing engine fails). */
  readonly unavailable: string | null;
  open(options: OpenOptions): Promise<Workspace>;
  /** A fresh connection to the engine, in a namespace of its own. */
  connect(): Promise<WarehouseDriver>;
  stop(): void;
}

const CI = process.env['CI'] === 'true';

function chdbInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve('chdb');
    return true;
  } catch {
    return false;
  }
}

/**
 * Why an engine cannot run on this machine, or null when it can. Outside CI the suite skips it,
 * saying so loudly; under CI=true a missing engine is a failure, never a skip.
 */
export function engineAvailability(name: EngineName): string | null {
  let why: string | null = null;
  if (name === 'postgres' && postgresBinaries() === null) why = 'PostgreSQL is not installed here (apt-get install postgresql)';
  if ((name === 'clickhouse' || name === 'clickhouse-http') && !chdbInstalled()) why = 'the package chdb is not installed (npm install chdb)';
  if (why === null) return null;
  if (CI) throw new Error(`engine ${name}: ${why}; under CI=true a missing engine is a failure`);
  process.stderr.write(`\n*** engine ${name} SKIPPED: ${why} ***\n\n`);
  return why;
}

/** Starts what the engine needs (a PostgreSQL server of its own; nothing for the embedded ones). */
export async function startEngine(name: EngineName): Promise<Engine> {
  switch (name) {
    case 'duckdb':
      return {
        name,
        unavailable: null,
        open: (options) => Workspace.open({ ...options, store: false }),
        connect: () => Promise.reject(new Error('DuckDB reads the files itself: nothing is copied into it')),
        stop: () => undefined,
      };
    case 'postgres': {
      const why = engineAvailability(name);
      if (why !== null) return unavailableEngine(name, why);
      const server: PostgresServer = await startPostgres();
      const connect = (): Promise<WarehouseDriver> => PostgresDriver.open({ url: server.url, schema: `t_${randomBytes(6).toString('hex')}` });
      return {
        name,
        unavailable: null,
        open: async (options) => openInWarehouse(options, await connect()),
        connect,
        stop: () => server.stop(),
      };
    }
    case 'clickhouse': {
      const why = engineAvailability(name);
      if (why !== null) return unavailableEngine(name, why);
      return {
        name,
        unavailable: null,
        open: async (options) => openInWarehouse(options, await ChdbDriver.open()),
        connect: () => ChdbDriver.open(),
        stop: () => undefined,
      };
    }
    case 'clickhouse-http': {
      const why = engineAvailability(name);
      if (why !== null) return unavailableEngine(name, why);
      const server = await startClickHouseHttp();
      const connect = (): Promise<WarehouseDriver> => ClickHouseServerDriver.open({ url: `${server.url}/t_${randomBytes(6).toString('hex')}` });
      return {
        name,
        unavailable: null,
        open: async (options) => openInWarehouse(options, await connect()),
        connect,
        stop: () => void server.stop(),
      };
    }
  }
}

/** An engine that cannot run here (engineAvailability said why, loudly). */
function unavailableEngine(name: EngineName, why: string): Engine {
  const fail = (): never => {
    throw new Error(`engine ${name} is unavailable: ${why}`);
  };
  return { name, unavailable: why, open: fail, connect: fail, stop: () => undefined };
}
