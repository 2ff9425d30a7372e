import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import type { Policies } from '../config/policies.js';
import { NrrError } from '../errors.js';
import type { TableDatabase } from './load-tables.js';
import { copyTable, type WarehouseDriver } from '../drivers/warehouse-driver.js';
import type { Driver } from '../drivers/driver.js';
import { DuckDbDriver } from '../drivers/duckdb-driver.js';
import { PostgresDriver } from '../drivers/postgres-driver.js';
import { sqlFxLookups, sqlFxPeriods } from '../engine/fx-model.js';
import { buildModel } from './build-from-files.js';
import { silentProgress, type Progress } from './progress.js';
import { Workspace, type OpenOptions } from './workspace.js';

/**
 * The typed tables the model starts from, as DuckDB leaves them once the files are read and
 * checked: each line with its months in force and its MRR (in its own currency and at its start
 * rate), the usage charges, the exchange rates and the accounts with their attributes.
 */
export const COPIED_TABLES = ['lines', 'usage_charges', 'fx_rates', 'accounts'] as const;

/**
 * Copies the typed tables from `from` (DuckDB, after readFiles) into the warehouse and builds the
 * model there with the same builders: exchange-rate periods and lookups, usage set aside,
 * contributions, movements, account ranges and first revenue.
 */
export async function buildModelInWarehouse(
  from: Driver,
  to: WarehouseDriver,
  policies: Policies,
  progress: Progress = silentProgress,
  /** Also keep the ledger per account and product (a store does; otherwise built when first asked for). */
  productRanges = false,
): Promise<void> {
  progress.step(`copying the typed tables into ${to.dialect.name}`);
  for (const table of COPIED_TABLES) await copyTable(from, to, table);
  await to.exec(sqlFxPeriods(to.dialect, policies));
  for (const sql of sqlFxLookups(to.dialect, policies)) await to.exec(sql);
  await buildModel(to, policies, progress, productRanges);
}

/** Warehouses as messages name them. */
const WAREHOUSE_LABELS: Readonly<Record<string, string>> = { postgres: 'PostgreSQL', clickhouse: 'ClickHouse' };

/** The name a DuckDB database file is attached under, read-only, to read its tables. */
const ATTACHED = 'nrr_tables';

/**
 * Opens a workspace whose sources are tables of a DuckDB database file (the config's
 * `warehouse.tables`), attached read-only to an in-memory DuckDB that checks them and computes the
 * model. A table is named `table` (schema main) or `schema.table`.
 */
export async function openOverDuckDbFile(options: OpenOptions, path: string): Promise<Workspace> {
  if (!existsSync(path)) throw new NrrError(`duckdb:${path}: no such database file`);
  const duck = await DuckDbDriver.open();
  try {
    await duck.exec(`ATTACH ${duck.dialect.quoteString(path)} AS ${ATTACHED} (READ_ONLY)`);
  } catch (e) {
    duck.close();
    throw new NrrError(`duckdb:${path}: cannot be opened as a DuckDB database file: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  }
  try {
    const tablesIn: TableDatabase = {
      driver: duck,
      label: `the DuckDB file ${basename(path)}`,
      parts: (name) => (name.length === 1 ? [ATTACHED, 'main', ...name] : [ATTACHED, ...name.slice(-2)]),
    };
    return await Workspace.open({ ...options, driver: duck, store: false, tablesIn });
  } catch (e) {
    duck.close();
    throw e;
  }
}

/**
 * Opens a data folder with its model computed in a warehouse: DuckDB reads and checks the files
 * (in memory, with the same rules and messages as ever, and the summary's facts of the data), then
 * the model is built in `target`, whose workspace is returned: every query of the model (metrics,
 * movements, ledger…) runs there. Closing the workspace closes `target`.
 */
export async function openInWarehouse(options: OpenOptions, target: WarehouseDriver): Promise<Workspace> {
  const duck = await DuckDbDriver.open();
  try {
    const tablesIn: TableDatabase = {
      driver: target,
      label: WAREHOUSE_LABELS[target.dialect.name] ?? target.dialect.name,
      parts: (name) => name,
      ...(target instanceof PostgresDriver ? { modelSchema: target.schema } : {}),
    };
    const ws = await Workspace.open({ ...options, driver: duck, store: false, tablesIn });
    await buildModelInWarehouse(duck, target, ws.policies, options.progress ?? silentProgress);
    return ws.through(target);
  } catch (e) {
    target.close();
    throw e;
  } finally {
    duck.close();
  }
}
