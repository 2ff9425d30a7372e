import type { Dialect } from '../engine/dialect.js';

/** A row as it leaves the database: DECIMAL and BIGINT arrive as strings, never as lossy floats. */
export type Row = Record<string, unknown>;

/** A result by column: each column's values in row order, as `query` gives them in rows. */
export type Columns = Record<string, unknown[]>;

/** Runs SQL. The engine depends on this interface; a driver never builds model SQL itself. */
export interface Driver {
  readonly dialect: Dialect;
  exec(sql: string): Promise<void>;
  query(sql: string): Promise<Row[]>;
  /** The result by column: for many rows, cheaper than an object per row (see readColumns). */
  queryColumns?(sql: string): Promise<Columns>;
  /** Another connection to the same database, with a transaction of its own (when the engine has several). */
  connect?(): Promise<Driver>;
  close(): void;
}

/** A query's result by column, from a driver that reads columns, or else from its rows. */
export async function readColumns(driver: Driver, sql: string): Promise<Columns> {
  if (driver.queryColumns) return driver.queryColumns(sql);
  const rows = await driver.query(sql);
  const out: Columns = {};
  for (const key of rows.length ? Object.keys(rows[0]!) : []) out[key] = rows.map((r) => r[key]);
  return out;
}
