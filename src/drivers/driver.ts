import type { Dialect } from '../engine/dialect.js';

/** A row as it leaves the database: DECIMAL and BIGINT arrive as strings, never as lossy floats. */
export type Row = Record<string, unknown>;

/** Runs SQL. The engine depends on this interface; a driver never builds model SQL itself. */
export interface Driver {
  readonly dialect: Dialect;
  exec(sql: string): Promise<void>;
  query(sql: string): Promise<Row[]>;
  /** Another connection to the same database, with a transaction of its own (when the engine has several). */
  connect?(): Promise<Driver>;
  close(): void;
}
