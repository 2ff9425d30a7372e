/** The source formats a data folder may hold. */
export type SourceFormat = 'csv' | 'parquet' | 'json';

/** What a contract column holds: text to be parsed, a date, or an amount of money. */
export type ColumnKind = 'text' | 'date' | 'money' | 'rate';

/**
 * A column a typed file (Parquet) already holds in a type the engine can take as it is, with
 * nothing to parse: a calendar date, an exact decimal, or a whole number.
 */
export type NativeColumn =
  | { readonly type: 'date' }
  /** A timestamp without a zone (a wall-clock time) or with one (an instant). */
  | { readonly type: 'timestamp' }
  | { readonly type: 'timestamptz' }
  | { readonly type: 'decimal'; readonly precision: number; readonly scale: number }
  | { readonly type: 'integer' };

/**
 * What the model needs from a SQL engine. A dialect only turns intent into SQL text; it never
 * touches a connection. Engines that share SQL share a base; differences are these few methods.
 */
export interface Dialect {
  readonly name: string;
  /** Exact money: enough scale that a /12 or /36 normalisation is not rounded before output. */
  readonly moneyType: string;
  quoteIdent(name: string): string;
  quoteString(value: string): string;
  /**
   * A query returning the given columns of a source file as text, plus `__row` (1-based data row).
   * CSV is read strictly: a row with too many or too few fields is an error, never skipped. Its
   * fields are separated by `delimiter` (default ',').
   */
  sqlReadAsText(path: string, format: SourceFormat, columns: readonly string[], delimiter?: string): string;
  /**
   * The same for a Parquet file, except that the columns in `native` keep their own type: an
   * engine reads typed dates and decimals far faster than it parses their text.
   */
  sqlReadParquet(path: string, native: ReadonlySet<string>): string;
  /** The columns of a Parquet or JSON file, as a query returning `column_name` and `column_type` (CSV headers are read by the loader). */
  sqlDescribe(path: string, format: Exclude<SourceFormat, 'csv'>): string;
  /**
   * A file column's type, as `sqlDescribe` names it, when it holds `kind` exactly and can be
   * taken as it is; null when its text must be parsed instead (floating point, a decimal with
   * more places than money keeps, timestamps…), so that such values meet the same rules as text.
   */
  nativeColumn(columnType: string, kind: Exclude<ColumnKind, 'text'>): NativeColumn | null;
  /** Any value → its text, as shown in messages. */
  sqlText(expr: string): string;
  /** Text → money, NULL when it is not a plain decimal number. */
  sqlTryMoney(textExpr: string): string;
  /**
   * Text → money as a whole number of millionths (64-bit), NULL when it is not a plain decimal
   * of at most 12 digits before the point and 6 after. Most amounts fit, and whole numbers divide
   * exactly far faster than 128-bit decimals (see sqlDividePicos).
   */
  sqlTryMicros(textExpr: string): string;
  /** A native decimal or whole-number column → money. */
  sqlNativeMoney(expr: string): string;
  /** A native decimal or whole-number column → millionths as in sqlTryMicros, NULL when it does not fit. */
  sqlNativeMicros(expr: string, native: NativeColumn): string;
  /** Text → exchange rate, NULL when not a number. */
  sqlTryRate(textExpr: string): string;
  /** A native decimal or whole-number rate column → exchange rate, as sqlTryRate reads its text (NULL when it does not fit). */
  sqlNativeRate(expr: string): string;
  /**
   * Text 'YYYY-MM-DD', or a timestamp ('YYYY-MM-DD HH:MM[:SS[.f]]', 'T' or a blank between, with
   * or without an offset: 'Z', 'UTC', '±HH[:MM]') → DATE, NULL when it is not a real calendar date
   * and time. A timestamp with an offset is an instant: its date is the day it falls on in
   * `timeZone` (an IANA name, default UTC). One without is a wall-clock time: its date is its day.
   */
  sqlTryDate(textExpr: string, timeZone?: string): string;
  /** Trimmed text 'YYYY-MM' → DATE of the month's first day, NULL when it is not a real month (one pattern, one cast). */
  sqlTryMonth(trimmedExpr: string): string;
  /** A native date or timestamp column → DATE, as sqlTryDate reads its text. */
  sqlNativeDate(expr: string, native: NativeColumn, timeZone?: string): string;
  /**
   * Why a text is not a date as sqlTryDate reads it ('month 13 out of range', 'time of day 25:00
   * invalid', "unknown offset 'EST'"…), as a text expression; NULL when it is one.
   */
  sqlDateProblem(textExpr: string): string;
  /** DATE → months since year 0 (year × 12 + month − 1): months become plain integers. */
  sqlMonthIndex(dateExpr: string): string;
  /** The day before a DATE. */
  sqlDayBefore(dateExpr: string): string;
  /** Month index → 'YYYY-MM'. */
  sqlMonthText(monthIndexExpr: string): string;
  /** Money ÷ integer without going through floating point (truncated at the money type's scale). */
  sqlDivideMoney(moneyExpr: string, intExpr: string): string;
  /** Money × rate, back to the money type. */
  sqlMultiplyMoney(moneyExpr: string, rateExpr: string): string;
  // The fast lane of money arithmetic, in whole units of 10⁻¹² (the money type's scale) held in
  // 64 bits. Each returns NULL where its value would not fit, and the caller falls back to the
  // exact decimals (sqlDivideMoney, sqlMultiplyMoney), which give the same digits.
  /** Millionths ÷ integer → units of 10⁻¹², truncated as sqlDivideMoney truncates; NULL from 9 × 10¹⁷ (900,000.00). */
  sqlDividePicos(microsExpr: string, intExpr: string): string;
  /** A rate → whole units of 10⁻¹⁰ (the rate type's scale); NULL when negative or from 900,000,000. */
  sqlRateE10(rateExpr: string): string;
  /**
   * Units of 10⁻¹² × rate in units of 10⁻¹⁰ → units of 10⁻¹², rounded as sqlMultiplyMoney rounds;
   * for values ≥ 0, and NULL unless value × (whole part of the rate + 1) is under 900,000.00.
   */
  sqlMultiplyPicos(picosExpr: string, rateE10Expr: string): string;
  /** Units of 10⁻¹² → money. */
  sqlPicosToMoney(picosExpr: string): string;
  sqlRegexpMatches(textExpr: string, pattern: string): string;
  /** Whether a file column's type, as `sqlDescribe` names it, holds true/false values as they are. */
  isBooleanType(columnType: string): boolean;
  /** Whether it holds numbers as they are: whole, decimal or floating point. */
  isNumberType(columnType: string): boolean;
  /**
   * A 64-bit hash of the values (NULLs included), equal for equal values: a cheap first filter
   * for repeated keys, whose candidates are then compared exactly.
   */
  sqlHash(exprs: readonly string[]): string;
  /**
   * True when the text is all ASCII and neither starts nor ends with white space (blank, tab, line
   * feed, form feed, carriage return): a cheap test that an id is its own normal form. It may say
   * false of some such texts (those starting with any character below '!').
   */
  sqlIsPlainAscii(textExpr: string): string;
  // What the model's builders need of every engine beyond standard SQL.
  /** A number (money, a count) → the nearest floating-point value (for ratios and shares, never money). */
  sqlToFloat(expr: string): string;
  /** Makes table `name` from a query, replacing any table or view of that name. */
  sqlCreateTableAs(name: string, query: string): string;
  /** Makes view `name` over a query, replacing any view of that name. */
  sqlCreateViewAs(name: string, query: string): string;
  /** Whole-number division truncated toward zero (the model divides only numbers ≥ 0). */
  sqlIntDiv(a: string, b: string): string;
  /**
   * The columns of an existing table or view, named by its parts (`[table]`, `[schema, table]`,
   * `[database, schema, table]`; ClickHouse `[database, table]`), as a query returning
   * `column_name` and `column_type` in the table's order: no rows when there is no such table.
   */
  sqlColumnsOf(parts: readonly string[]): string;
  /**
   * A column of an existing table (of the type sqlColumnsOf names) as exact text that the
   * contract's rules read as they read a file's: decimals with every digit, dates as YYYY-MM-DD,
   * an instant with its offset.
   */
  sqlValueText(expr: string, columnType: string): string;
  /** A NULL of the text type (an untyped NULL cannot be unioned with text everywhere). */
  sqlNullText(): string;
  /** The exact median of money values (the mean of the middle two when their count is even), as money. */
  sqlMedian(moneyExpr: string): string;
  /** Whether any row of a group is true (an aggregate). */
  sqlBoolOr(expr: string): string;
  /** The value of the row with the largest key (an aggregate; keys are unique in each group). */
  sqlArgMax(valueExpr: string, keyExpr: string): string;
  /** The value of the row with the smallest key (an aggregate; among equal keys, any of them). */
  sqlArgMin(valueExpr: string, keyExpr: string): string;
  /** A query of one INTEGER column `name` holding the given values. */
  sqlIntegerRows(values: readonly number[], name: string): string;
  /** In a SELECT list: one row per whole number from `from` up to but not including `to`. */
  sqlSeries(fromExpr: string, toExpr: string): string;
  /** The previous row's value in the window (`PARTITION BY … ORDER BY …`), NULL on its first row. */
  sqlLag(expr: string, window: string): string;
  /** The next row's value in the window, NULL on its last row. */
  sqlLead(expr: string, window: string): string;
}

/** What a workspace store kept in a warehouse needs of its dialect beyond the model's SQL. */
export interface StoreDialect {
  /** Changes the rows of `table` matching `where` (one statement: all of them or none). */
  sqlUpdateRows(table: string, assignments: string, where: string): string;
}
