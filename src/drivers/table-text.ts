import type { Driver } from './driver.js';
import type { DuckDbDriver } from './duckdb-driver.js';

/** A column of an existing table, with its type as its engine names it. */
export interface TableColumn {
  readonly name: string;
  readonly type: string;
}

/** The columns of a table or view of `db` named by its parts (see Dialect.sqlColumnsOf); empty when there is none. */
export async function columnsOf(db: Driver, parts: readonly string[]): Promise<TableColumn[]> {
  const rows = await db.query(db.dialect.sqlColumnsOf(parts));
  return rows.map((r) => ({ name: String(r['column_name']), type: String(r['column_type']) }));
}

/** Rows appended to DuckDB per batch. */
const BATCH_ROWS = 50_000;

/**
 * Copies columns of a table of `from` into a new table `into` of DuckDB, every value as the exact
 * text its engine prints (Dialect.sqlValueText), renamed as `as` says: decimals never pass through
 * a floating-point number. When `from` is DuckDB itself (a database file attached to it), the copy
 * is one statement.
 */
export async function copyAsText(
  from: Driver,
  parts: readonly string[],
  columns: readonly { readonly column: TableColumn; readonly as: string }[],
  duck: DuckDbDriver,
  into: string,
): Promise<void> {
  const s = from.dialect;
  const table = parts.map((p) => s.quoteIdent(p)).join('.');
  const select = columns.map((c) => `${s.sqlValueText(s.quoteIdent(c.column.name), c.column.type)} AS ${s.quoteIdent(c.as)}`).join(', ');
  const d = duck.dialect;
  if (from === duck) {
    await duck.exec(`CREATE OR REPLACE TABLE ${into} AS SELECT ${select} FROM ${table}`);
    return;
  }
  await duck.exec(`CREATE OR REPLACE TABLE ${into} (${columns.map((c) => `${d.quoteIdent(c.as)} VARCHAR`).join(', ')})`);
  const rows = await from.query(`SELECT ${select} FROM ${table}`);
  for (let at = 0; at < rows.length; at += BATCH_ROWS) {
    const batch = rows.slice(at, at + BATCH_ROWS).map((r) => columns.map((c) => text(r[c.as])));
    await duck.appendText(into, batch);
  }
}

const text = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
