/** The source formats a data folder may hold. */
export type SourceFormat = 'csv' | 'parquet' | 'json';

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
   * CSV is read strictly: a row with too many or too few fields is an error, never skipped.
   */
  sqlReadAsText(path: string, format: SourceFormat, columns: readonly string[]): string;
  /** The column names of a Parquet or JSON file, as a query returning `column_name` (CSV headers are read by the loader). */
  sqlDescribe(path: string, format: Exclude<SourceFormat, 'csv'>): string;
  /** Text → money, NULL when it is not a plain decimal number. */
  sqlTryMoney(textExpr: string): string;
  /**
   * Text → money as a whole number of millionths (64-bit), NULL when it is not a plain decimal
   * of at most 12 digits before the point and 6 after. Most amounts fit, and whole numbers divide
   * exactly far faster than 128-bit decimals (see sqlDivideMicros).
   */
  sqlTryMicros(textExpr: string): string;
  /** Text → exchange rate, NULL when not a number. */
  sqlTryRate(textExpr: string): string;
  /** Text 'YYYY-MM-DD' → DATE, NULL when it is not a real calendar date. */
  sqlTryDate(textExpr: string): string;
  /** DATE → months since year 0 (year × 12 + month − 1): months become plain integers. */
  sqlMonthIndex(dateExpr: string): string;
  /** The day before a DATE. */
  sqlDayBefore(dateExpr: string): string;
  /** Month index → 'YYYY-MM'. */
  sqlMonthText(monthIndexExpr: string): string;
  /** Money ÷ integer without going through floating point (truncated at the money type's scale). */
  sqlDivideMoney(moneyExpr: string, intExpr: string): string;
  /** Millionths ÷ integer → money, exactly as sqlDivideMoney would give for the same value. */
  sqlDivideMicros(microsExpr: string, intExpr: string): string;
  /** Money × rate, back to the money type. */
  sqlMultiplyMoney(moneyExpr: string, rateExpr: string): string;
  sqlRegexpMatches(textExpr: string, pattern: string): string;
}
