import type { Driver } from './driver.js';

/** A column of a table copied into a warehouse, with its type as DuckDB names it. */
export interface CopiedColumn {
  readonly name: string;
  /** DuckDB's name of the type: VARCHAR, INTEGER, BIGINT, DECIMAL(p,s), DATE, BOOLEAN, DOUBLE… */
  readonly duckdbType: string;
}

/**
 * A driver for an engine that holds the model but does not read the contract files itself
 * (PostgreSQL, ClickHouse): DuckDB's typed tables are copied into it first.
 */
export interface WarehouseDriver extends Driver {
  /** Makes an empty table (replacing one of that name) with the engine's type for each column. */
  createTable(name: string, columns: readonly CopiedColumn[]): Promise<void>;
  /**
   * Adds rows, each a list of values in the order of `columns`: text, numbers as exact text
   * (DECIMAL, BIGINT), integers, booleans, dates as 'YYYY-MM-DD', or null.
   */
  insertRows(name: string, columns: readonly CopiedColumn[], rows: readonly (readonly unknown[])[]): Promise<void>;
}

/** Rows copied per batch: bounded memory, and few round trips. */
const BATCH_ROWS = 20_000;

/**
 * Copies a table of `from` (DuckDB) into `to`, in batches in the table's own order. Values leave
 * DuckDB as exact text (DECIMAL, BIGINT) and enter the warehouse as parameters: nothing passes
 * through a floating-point number.
 */
export async function copyTable(from: Driver, to: WarehouseDriver, table: string): Promise<number> {
  const described = await from.query(`SELECT column_name, column_type FROM (DESCRIBE ${table})`);
  const columns = described.map((r) => ({ name: String(r['column_name']), duckdbType: String(r['column_type']) }));
  await to.createTable(table, columns);
  const [count] = await from.query(`SELECT count(*) AS n FROM ${table}`);
  const total = Number(count?.['n'] ?? 0);
  const list = columns.map((c) => from.dialect.quoteIdent(c.name)).join(', ');
  for (let offset = 0; offset < total; offset += BATCH_ROWS) {
    const rows = await from.query(`SELECT ${list} FROM ${table} ORDER BY rowid LIMIT ${BATCH_ROWS} OFFSET ${offset}`);
    await to.insertRows(table, columns, rows.map((r) => columns.map((c) => r[c.name] ?? null)));
  }
  return total;
}
