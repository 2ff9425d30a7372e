import type { Dialect, NativeColumn, StoreDialect } from './dialect.js';
import { WarehouseDialect } from './warehouse-dialect.js';

const MONEY = 'Decimal(38,12)';

/**
 * The session settings the model needs of ClickHouse, pinned on every connection:
 * - join_use_nulls: an unmatched LEFT JOIN column is NULL, not its type's default (0, '');
 * - session_timezone UTC: dates never shift with the server's zone;
 * - cast_keep_nullable: CAST keeps NULL (it would otherwise fail on a NULL cast to a plain type);
 * - decimals and 64-bit integers leave as JSON text, never as lossy JSON numbers;
 * - tables made by CREATE … AS SELECT live in memory (the model is rebuilt from the files);
 * - precise_float_parsing: a number's text becomes the nearest double (see sqlToFloat);
 * - prefer_column_name_to_alias: `sum(x) AS x` beside `sum(x + y)` reads the column x, as
 *   standard SQL does (ClickHouse would read the alias there and refuse an aggregate in another).
 */
export const CLICKHOUSE_SETTINGS: Readonly<Record<string, string | number>> = {
  join_use_nulls: 1,
  session_timezone: 'UTC',
  cast_keep_nullable: 1,
  output_format_json_quote_decimals: 1,
  output_format_json_quote_64bit_integers: 1,
  default_table_engine: 'Memory',
  union_default_mode: 'ALL',
  prefer_column_name_to_alias: 1,
  precise_float_parsing: 1,
};

/**
 * ClickHouse (tested on 26.7 through chdb). Its quirks, each handled here:
 * - `//` starts a comment, not an integer division: intDiv(), which truncates toward zero;
 * - lag() and lead() give the type's default (0) past the window's edge, not NULL: lagInFrame and
 *   leadInFrame over a nullable value and the whole partition as the frame;
 * - median() is approximate (a sample): the exact median is taken from the sorted values;
 * - Decimal × Decimal adds the scales (12 + 10 = 22 places) and Decimal(38,…) overflows silently
 *   past 38 digits: money × rate is worked out in Decimal256 and rounded back to 12 places;
 *   sums stay in 128 bits, which the money limit (workspace/money-limit.ts, checked before the
 *   model is built) keeps far from their overflow;
 * - a cast to a narrower Decimal truncates: round() first where the model rounds;
 * - a NULL must be of a Nullable type (NULL::String fails): Nullable(String);
 * - no bool_or(): max() of the condition; no generate_series: arrayJoin(range(…)).
 */
export class ClickHouseDialect extends WarehouseDialect implements Dialect, StoreDialect {
  readonly name = 'clickhouse';
  readonly moneyType = MONEY;

  /**
   * `persistent`: the model's tables are MergeTree tables on disk (a workspace store), not tables
   * in memory (the model rebuilt on every run).
   */
  constructor(private readonly persistent = false) {
    super();
  }

  /** The engine of every table the model makes. */
  tableEngine(): string {
    return this.persistent ? 'MergeTree ORDER BY tuple()' : 'Memory';
  }

  sqlUpdateRows(table: string, assignments: string, where: string): string {
    // No lightweight UPDATE on a plain MergeTree table: a mutation, waited for; it rewrites each part it touches at once.
    return `ALTER TABLE ${table} UPDATE ${assignments} WHERE ${where} SETTINGS mutations_sync = 2`;
  }

  quoteIdent(name: string): string {
    return `"${name.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
  }

  quoteString(value: string): string {
    // A backslash escapes in ClickHouse's string literals.
    return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
  }

  sqlText(expr: string): string {
    return `toString(${expr})`;
  }

  sqlTryMicros(_textExpr: string): string {
    return 'CAST(NULL AS Nullable(Int64))';
  }

  sqlNativeMicros(_expr: string, _native: NativeColumn): string {
    return 'CAST(NULL AS Nullable(Int64))';
  }

  sqlMonthIndex(dateExpr: string): string {
    return `(toInt32(toYear(${dateExpr})) * 12 + toInt32(toMonth(${dateExpr})) - 1)`;
  }

  sqlDayBefore(dateExpr: string): string {
    return `(${dateExpr} - 1)`;
  }

  sqlMonthText(monthIndexExpr: string): string {
    const m = `(${monthIndexExpr})`;
    return `concat(leftPad(toString(intDiv(${m}, 12)), 4, '0'), '-', leftPad(toString(${m} % 12 + 1), 2, '0'))`;
  }

  sqlDivideMoney(moneyExpr: string, intExpr: string): string {
    // Whole units of 10⁻¹² in 256 bits, divided with intDiv (truncated toward zero), scaled back exactly.
    const units = `toInt256(toDecimal256(${moneyExpr}, 12) * 1000000000000)`;
    return `CAST(toDecimal256(intDiv(${units}, ${intExpr}), 0) * toDecimal256('0.000000000001', 12) AS ${MONEY})`;
  }

  sqlMultiplyMoney(moneyExpr: string, rateExpr: string): string {
    // Decimal256 holds the 22-place product of any money and rate; round() is half away from zero.
    return `CAST(round(toDecimal256(${moneyExpr}, 12) * toDecimal256(${rateExpr}, 10), 12) AS ${MONEY})`;
  }

  sqlDividePicos(_microsExpr: string, _intExpr: string): string {
    return 'CAST(NULL AS Nullable(Int64))';
  }

  sqlRateE10(_rateExpr: string): string {
    return 'CAST(NULL AS Nullable(Int64))';
  }

  sqlMultiplyPicos(_picosExpr: string, _rateE10Expr: string): string {
    return 'CAST(NULL AS Nullable(Int64))';
  }

  sqlPicosToMoney(_picosExpr: string): string {
    return `CAST(NULL AS Nullable(${MONEY}))`;
  }

  sqlRegexpMatches(textExpr: string, pattern: string): string {
    return `match(${textExpr}, ${this.quoteString(`^(?:${pattern})$`)})`;
  }

  sqlColumnsOf(parts: readonly string[]): string {
    // ClickHouse has databases, no schemas: [database, table] or [table] in the current database.
    if (parts.length > 2) return 'SELECT 1 AS column_name, 1 AS column_type WHERE 0';
    const [table, database] = [...parts].reverse().map((p) => this.quoteString(p));
    return `SELECT name AS column_name, type AS column_type FROM system.columns
      WHERE database = ${database ?? 'currentDatabase()'} AND table = ${table} ORDER BY position`;
  }

  sqlValueText(expr: string, columnType: string): string {
    // A DateTime is an instant: printed in UTC with 'Z' (toString would print its zone's wall clock without one).
    if (/^(Nullable\()?DateTime/.test(columnType)) return `concat(toString(toTimeZone(${expr}, 'UTC')), 'Z')`;
    return `toString(${expr})`;
  }

  sqlToFloat(expr: string): string {
    // Decimal → Float64 is not the nearest double (it divides by a power of ten in floating point);
    // the decimal's text read with precise_float_parsing is.
    return `toFloat64(toString(${expr}))`;
  }

  sqlCreateTableAs(name: string, query: string): string {
    return `CREATE OR REPLACE TABLE ${name} ENGINE = ${this.tableEngine()} AS ${query}`;
  }

  sqlCreateViewAs(name: string, query: string): string {
    return `CREATE OR REPLACE VIEW ${name} AS ${query}`;
  }

  sqlIntDiv(a: string, b: string): string {
    return `intDiv(${a}, ${b})`;
  }

  sqlNullText(): string {
    return 'CAST(NULL AS Nullable(String))';
  }

  sqlMedian(moneyExpr: string): string {
    // groupArray leaves NULLs out; the mean of the two middle values is truncated at 12 places, as DuckDB's.
    const sorted = `arraySort(groupArray(${moneyExpr}))`;
    const lower = `arrayElement(${sorted}, intDiv(length(${sorted}) + 1, 2))`;
    const upper = `arrayElement(${sorted}, intDiv(length(${sorted}), 2) + 1)`;
    return `if(length(${sorted}) = 0, NULL, CAST((toDecimal256(${lower}, 12) + toDecimal256(${upper}, 12)) * toDecimal256('0.5', 1) AS ${MONEY}))`;
  }

  sqlBoolOr(expr: string): string {
    return `max(${expr})`;
  }

  sqlArgMax(valueExpr: string, keyExpr: string): string {
    return `argMax(${valueExpr}, ${keyExpr})`;
  }

  sqlArgMin(valueExpr: string, keyExpr: string): string {
    return `argMin(${valueExpr}, ${keyExpr})`;
  }

  sqlIntegerRows(values: readonly number[], name: string): string {
    return `SELECT arrayJoin(CAST([${values.join(', ')}] AS Array(Int32))) AS ${name}`;
  }

  sqlSeries(fromExpr: string, toExpr: string): string {
    return `arrayJoin(range(toInt32(assumeNotNull(${fromExpr})), toInt32(assumeNotNull(${toExpr}))))`;
  }

  sqlLag(expr: string, window: string): string {
    return `lagInFrame(toNullable(${expr})) OVER (${window} ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)`;
  }

  sqlLead(expr: string, window: string): string {
    return `leadInFrame(toNullable(${expr})) OVER (${window} ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)`;
  }
}
