import type { Dialect, NativeColumn, StoreDialect } from './dialect.js';
import { WarehouseDialect } from './warehouse-dialect.js';

const MONEY = 'NUMERIC(38,12)';
const RATE = 'NUMERIC(24,10)';

/**
 * PostgreSQL (tested on 15). Its quirks, each handled here:
 * - integer ÷ integer truncates toward zero, and NUMERIC ÷ rounds at a scale of its own choosing:
 *   money is divided with div() on units of 10⁻¹² (truncated, as DuckDB's money division is);
 * - no CREATE OR REPLACE TABLE: a table is dropped, then made again (UNLOGGED when the model is
 *   rebuilt from the files on every run; logged for a workspace store, whose unlogged tables a
 *   server crash would empty while its meta said they were complete);
 * - no median() and percentile_cont() takes floating point only: the exact median is the mean of
 *   the two middle values (percentile_disc, which keeps the type), truncated as DuckDB's is;
 * - no arg_max(): array_agg ordered by the key, first element;
 * - EXTRACT returns NUMERIC since version 14: month indexes are cast to INTEGER;
 * - no DOUBLE: DOUBLE PRECISION; no QUALIFY and no ASOF JOIN (the model uses neither).
 * The DuckDB fast lane of money (64-bit millionths) is not used: NUMERIC is exact and fast enough,
 * so those methods give NULL and the exact path is taken.
 */
export class PostgresDialect extends WarehouseDialect implements Dialect, StoreDialect {
  readonly name = 'postgres';
  readonly moneyType = MONEY;

  /** `logged`: tables that survive a server crash (a workspace store), not UNLOGGED ones. */
  constructor(private readonly logged = false) {
    super();
  }

  quoteIdent(name: string): string {
    return `"${name.replaceAll('"', '""')}"`;
  }

  quoteString(value: string): string {
    // standard_conforming_strings is on (the default since 9.1): a backslash is an ordinary character.
    return `'${value.replaceAll("'", "''")}'`;
  }

  sqlText(expr: string): string {
    return `CAST(${expr} AS TEXT)`;
  }

  sqlTryMicros(_textExpr: string): string {
    return 'CAST(NULL AS BIGINT)';
  }

  sqlNativeMicros(_expr: string, _native: NativeColumn): string {
    return 'CAST(NULL AS BIGINT)';
  }

  sqlMonthIndex(dateExpr: string): string {
    return `(CAST(EXTRACT(YEAR FROM ${dateExpr}) AS INTEGER) * 12 + CAST(EXTRACT(MONTH FROM ${dateExpr}) AS INTEGER) - 1)`;
  }

  sqlDayBefore(dateExpr: string): string {
    // DATE − INTEGER is a DATE (DATE − INTERVAL would be a TIMESTAMP).
    return `(${dateExpr} - 1)`;
  }

  sqlMonthText(monthIndexExpr: string): string {
    const m = `(${monthIndexExpr})`;
    return `(lpad(CAST(${m} / 12 AS TEXT), 4, '0') || '-' || lpad(CAST(${m} % 12 + 1 AS TEXT), 2, '0'))`;
  }

  sqlDivideMoney(moneyExpr: string, intExpr: string): string {
    // div() truncates toward zero; multiplying by 10⁻¹² is exact (NUMERIC products keep every digit).
    return `CAST(div(CAST(${moneyExpr} AS NUMERIC) * 1000000000000, ${intExpr}) * 0.000000000001 AS ${MONEY})`;
  }

  sqlMultiplyMoney(moneyExpr: string, rateExpr: string): string {
    // The product is exact; the cast rounds half away from zero at 12 places, as DuckDB's does.
    return `CAST((${moneyExpr}) * CAST(${rateExpr} AS ${RATE}) AS ${MONEY})`;
  }

  sqlDividePicos(_microsExpr: string, _intExpr: string): string {
    return 'CAST(NULL AS BIGINT)';
  }

  sqlRateE10(_rateExpr: string): string {
    return 'CAST(NULL AS BIGINT)';
  }

  sqlMultiplyPicos(_picosExpr: string, _rateE10Expr: string): string {
    return 'CAST(NULL AS BIGINT)';
  }

  sqlPicosToMoney(_picosExpr: string): string {
    return `CAST(NULL AS ${MONEY})`;
  }

  sqlRegexpMatches(textExpr: string, pattern: string): string {
    return `(${textExpr} ~ ${this.quoteString(`^(?:${pattern})$`)})`;
  }

  sqlColumnsOf(parts: readonly string[]): string {
    // to_regclass finds a table or view by the search path when no schema is given, NULL when none.
    const name = this.quoteString(parts.map((p) => this.quoteIdent(p)).join('.'));
    return `SELECT a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS column_type FROM pg_attribute a
      WHERE a.attrelid = to_regclass(${name}) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`;
  }

  sqlValueText(expr: string, columnType: string): string {
    // Dates and times printed whatever the server's DateStyle; NUMERIC's text has every digit.
    const t = columnType.toLowerCase();
    if (t === 'date') return `to_char(${expr}, 'YYYY-MM-DD')`;
    if (t.startsWith('timestamp') && t.includes('with time zone')) return `to_char(${expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
    if (t.startsWith('timestamp')) return `to_char(${expr}, 'YYYY-MM-DD"T"HH24:MI:SS.US')`;
    return `CAST(${expr} AS TEXT)`;
  }

  sqlToFloat(expr: string): string {
    // NUMERIC → float8 goes through the number's text: the nearest double.
    return `CAST(${expr} AS DOUBLE PRECISION)`;
  }

  sqlCreateTableAs(name: string, query: string): string {
    return `DROP TABLE IF EXISTS ${name} CASCADE; CREATE ${this.tableKind()}TABLE ${name} AS ${query}`;
  }

  /** `UNLOGGED ` or nothing, before TABLE. */
  sqlUpdateRows(table: string, assignments: string, where: string): string {
    return `UPDATE ${table} SET ${assignments} WHERE ${where}`;
  }

  tableKind(): string {
    return this.logged ? '' : 'UNLOGGED ';
  }

  sqlCreateViewAs(name: string, query: string): string {
    // CREATE OR REPLACE VIEW refuses a column whose type changes: drop and make it again.
    return `DROP VIEW IF EXISTS ${name} CASCADE; CREATE VIEW ${name} AS ${query}`;
  }

  sqlIntDiv(a: string, b: string): string {
    // INTEGER ÷ INTEGER truncates toward zero in PostgreSQL.
    return `((${a}) / (${b}))`;
  }

  sqlNullText(): string {
    return 'CAST(NULL AS TEXT)';
  }

  sqlMedian(moneyExpr: string): string {
    // The lower middle of x and the lower middle of −x (the upper middle of x); NULLs are ignored.
    const lower = `percentile_disc(0.5) WITHIN GROUP (ORDER BY ${moneyExpr})`;
    const upper = `-percentile_disc(0.5) WITHIN GROUP (ORDER BY -(${moneyExpr}))`;
    return `CAST(trunc((${lower} + ${upper}) * 0.5, 12) AS ${MONEY})`;
  }

  sqlBoolOr(expr: string): string {
    return `bool_or(${expr})`;
  }

  sqlArgMax(valueExpr: string, keyExpr: string): string {
    return `(array_agg(${valueExpr} ORDER BY ${keyExpr} DESC))[1]`;
  }

  sqlArgMin(valueExpr: string, keyExpr: string): string {
    return `(array_agg(${valueExpr} ORDER BY ${keyExpr}))[1]`;
  }

  sqlIntegerRows(values: readonly number[], name: string): string {
    return `SELECT unnest(CAST(ARRAY[${values.join(', ')}] AS INTEGER[])) AS ${name}`;
  }

  sqlSeries(fromExpr: string, toExpr: string): string {
    return `generate_series(${fromExpr}, (${toExpr}) - 1)`;
  }

  sqlLag(expr: string, window: string): string {
    return `lag(${expr}) OVER (${window})`;
  }

  sqlLead(expr: string, window: string): string {
    return `lead(${expr}) OVER (${window})`;
  }
}
