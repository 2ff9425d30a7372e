import type { ColumnKind, Dialect, NativeColumn, SourceFormat } from './dialect.js';

const MONEY = 'DECIMAL(38,12)';
const RATE = 'DECIMAL(24,10)';
const RATE_SCALE = 10;
const RATE_WHOLE_DIGITS = 14;
/** Digits of money before and after the point. */
const MONEY_WHOLE_DIGITS = 26;
const MONEY_SCALE = 12;
/** The fast lane's bound, in units of 10⁻¹²: 900,000.00 (see sqlDividePicos). */
const PICOS_LIMIT = 900_000_000_000_000_000;
/** 'YYYY-MM-DD'. */
const DATE_TEXT = '[0-9]{4}-[0-9]{2}-[0-9]{2}';
/** That day at a time: 'T' or a blank, HH:MM, optional seconds and fraction (a valid time of day). */
const TIME_TEXT = '[T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]{1,9})?)?';
/** An offset from UTC as exports write it: 'Z', 'UTC', 'GMT', '±HH', '±HHMM', '±HH:MM' (up to ±14:59). */
const OFFSET_TEXT = ' ?(Z|z|UTC|GMT|[+-](0[0-9]|1[0-4])(:?[0-5][0-9])?)';
/** Timestamp types a Parquet file may hold, without and with a zone. */
const TIMESTAMP_TYPES = new Set(['TIMESTAMP', 'TIMESTAMP_S', 'TIMESTAMP_MS', 'TIMESTAMP_NS', 'DATETIME']);
const TIMESTAMPTZ_TYPES = new Set(['TIMESTAMP WITH TIME ZONE', 'TIMESTAMPTZ']);
/** Whole-number types every value of which fits money. */
const INTEGER_TYPES = new Set(['TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT']);
/** Floating-point types (a score may be one; money never is). */
const NUMBER_TYPES = new Set(['FLOAT', 'DOUBLE', 'REAL']);

/**
 * A timestamp with an offset (matching TIME_TEXT and OFFSET_TEXT) as DuckDB's cast reads it:
 * 'YYYY-MM-DD HH:MM:SS[.f]±HH[:MM]'. The cast alone refuses '14:30Z', 'z' and a blank before the offset.
 */
const instantText = (t: string): string => {
  const part = (name: string): string =>
    `regexp_extract(${t}, '^(.{10})[T ]([0-9]{2}:[0-9]{2})(:[0-9]{2}(?:\\.[0-9]+)?)? ?(.*)$', ['d', 'hm', 's', 'o']).${name}`;
  return `${part('d')} || ' ' || ${part('hm')} || CASE WHEN ${part('s')} = '' THEN ':00' ELSE ${part('s')} END
    || CASE WHEN upper(${part('o')}) IN ('Z', 'UTC', 'GMT') THEN '+00' ELSE ${part('o')} END`;
};

/** A DECIMAL(18,6) value → its millionths as BIGINT, with 64-bit arithmetic only. */
const micros18 = (v: string): string => `CAST(trunc(${v}) AS BIGINT) * 1000000 + CAST((${v} - trunc(${v})) * 1000000 AS BIGINT)`;

/** DuckDB, the embedded default. */
export class DuckDbDialect implements Dialect {
  readonly name = 'duckdb';
  readonly moneyType = MONEY;

  quoteIdent(name: string): string {
    return `"${name.replaceAll('"', '""')}"`;
  }

  quoteString(value: string): string {
    return `'${value.replaceAll("'", "''")}'`;
  }

  sqlReadAsText(path: string, format: SourceFormat, columns: readonly string[], delimiter = ','): string {
    const p = this.quoteString(path);
    const asText = `{${columns.map((c) => `${this.quoteString(c)}: 'VARCHAR'`).join(', ')}}`;
    switch (format) {
      case 'csv':
        // No sniffing: the sniffer may read a ragged file as one column or skip bad rows.
        return `SELECT *, row_number() OVER () AS __row FROM read_csv(${p}, header = true, auto_detect = false, columns = ${asText}, delim = ${this.quoteString(delimiter)}, quote = '"', escape = '"', strict_mode = true, null_padding = false)`;
      case 'json':
        // Declared VARCHAR, a JSON number keeps its text and a string loses its quotes.
        return `SELECT *, row_number() OVER () AS __row FROM read_json(${p}, columns = ${asText})`;
      case 'parquet':
        return this.sqlReadParquet(path, new Set());
    }
  }

  sqlReadParquet(path: string, native: ReadonlySet<string>): string {
    const p = this.quoteString(path);
    const keep = [...native].map((c) => this.quoteString(c)).join(', ');
    const others = native.size === 0 ? `c <> 'file_row_number'` : `c <> 'file_row_number' AND c NOT IN (${keep})`;
    const typed = native.size === 0 ? '' : `COLUMNS(c -> c IN (${keep})), `;
    return `SELECT ${typed}COLUMNS(c -> ${others})::VARCHAR, file_row_number + 1 AS __row FROM read_parquet(${p}, file_row_number = true)`;
  }

  sqlDescribe(path: string, format: Exclude<SourceFormat, 'csv'>): string {
    const p = this.quoteString(path);
    return `SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM ${format === 'json' ? `read_json_auto(${p})` : `read_parquet(${p})`})`;
  }

  nativeColumn(columnType: string, kind: Exclude<ColumnKind, 'text'>): NativeColumn | null {
    const t = columnType.trim().toUpperCase();
    if (kind === 'date') {
      if (t === 'DATE') return { type: 'date' };
      if (TIMESTAMP_TYPES.has(t)) return { type: 'timestamp' };
      return TIMESTAMPTZ_TYPES.has(t) ? { type: 'timestamptz' } : null;
    }
    if (INTEGER_TYPES.has(t)) return { type: 'integer' };
    const m = /^DECIMAL\((\d+),\s*(\d+)\)$/.exec(t);
    if (!m) return null;
    const precision = Number(m[1]);
    const scale = Number(m[2]);
    if (kind === 'rate') return scale <= RATE_SCALE && precision - scale <= RATE_WHOLE_DIGITS ? { type: 'decimal', precision, scale } : null;
    // More places than money keeps would be rounded by the cast: such values go through their text.
    return scale <= MONEY_SCALE && precision - scale <= MONEY_WHOLE_DIGITS ? { type: 'decimal', precision, scale } : null;
  }

  sqlText(expr: string): string {
    return `CAST(${expr} AS VARCHAR)`;
  }

  sqlTryMoney(textExpr: string): string {
    // Only plain decimals: '1e3', '1,200' or '$5' are rejected rather than guessed at. Text to
    // DECIMAL(38,…) is slow in DuckDB, so amounts that fit DECIMAL(18,6) take that path first.
    const t = `trim(${textExpr})`;
    return `CASE WHEN regexp_full_match(${t}, '[-+]?[0-9]{1,12}(\\.[0-9]{1,6})?') THEN CAST(TRY_CAST(${t} AS DECIMAL(18,6)) AS ${MONEY})
                 WHEN regexp_full_match(${t}, '[-+]?[0-9]+(\\.[0-9]+)?') THEN TRY_CAST(${t} AS ${MONEY}) END`;
  }

  sqlTryMicros(textExpr: string): string {
    // DECIMAL(18,6) holds the value exactly; its whole and fractional parts become 64-bit integers
    // without the 128-bit arithmetic a DECIMAL(38,…) → BIGINT cast would need.
    const t = `trim(${textExpr})`;
    return `CASE WHEN regexp_full_match(${t}, '[-+]?[0-9]{1,12}(\\.[0-9]{1,6})?') THEN ${micros18(`TRY_CAST(${t} AS DECIMAL(18,6))`)} END`;
  }

  sqlNativeMoney(expr: string): string {
    return `CAST(${expr} AS ${MONEY})`;
  }

  sqlNativeMicros(expr: string, native: NativeColumn): string {
    // Within 12 digits before the point and 6 after, as for text; a DECIMAL(18,6) holds it exactly.
    const small = `abs(${expr}) < 1000000000000`;
    switch (native.type) {
      case 'integer':
        return `CASE WHEN ${small} THEN CAST(${expr} AS BIGINT) * 1000000 END`;
      case 'decimal':
        if (native.scale > 6) return 'NULL::BIGINT';
        return native.precision - native.scale <= 12
          ? micros18(`CAST(${expr} AS DECIMAL(18,6))`)
          : `CASE WHEN ${small} THEN ${micros18(`CAST(${expr} AS DECIMAL(18,6))`)} END`;
      case 'date':
      case 'timestamp':
      case 'timestamptz':
        throw new Error('a date is not money');
    }
  }

  sqlTryRate(textExpr: string): string {
    return `CASE WHEN regexp_full_match(trim(${textExpr}), '[-+]?[0-9]+(\\.[0-9]+)?') THEN TRY_CAST(trim(${textExpr}) AS ${RATE}) END`;
  }

  sqlNativeRate(expr: string): string {
    // A whole number may not fit the rate's 14 digits: NULL then, as for its text.
    return `TRY_CAST(${expr} AS ${RATE})`;
  }

  sqlTryDate(textExpr: string, timeZone = 'UTC'): string {
    // Plain dates first: most files hold nothing else. The time of day is checked by the pattern
    // (DuckDB's cast would take '24:00' as the next day and '+25:00' as an offset).
    const t = `trim(${textExpr})`;
    return `CASE WHEN regexp_full_match(${t}, '${DATE_TEXT}') THEN TRY_CAST(${t} AS DATE)
                 WHEN regexp_full_match(${t}, '${DATE_TEXT}${TIME_TEXT}') THEN TRY_CAST(left(${t}, 10) AS DATE)
                 WHEN regexp_full_match(${t}, '${DATE_TEXT}${TIME_TEXT}${OFFSET_TEXT}')
                   THEN CAST(timezone(${this.quoteString(timeZone)}, TRY_CAST(${instantText(t)} AS TIMESTAMPTZ)) AS DATE) END`;
  }

  sqlTryMonth(trimmedExpr: string): string {
    const t = trimmedExpr;
    return `CASE WHEN regexp_full_match(${t}, '[0-9]{4}-[0-9]{2}') THEN TRY_CAST(${t} || '-01' AS DATE) END`;
  }

  sqlNativeDate(expr: string, native: NativeColumn, timeZone = 'UTC'): string {
    switch (native.type) {
      case 'date':
        return expr;
      case 'timestamp':
        return `CAST(${expr} AS DATE)`;
      case 'timestamptz':
        return `CAST(timezone(${this.quoteString(timeZone)}, ${expr}) AS DATE)`;
      default:
        throw new Error('money is not a date');
    }
  }

  sqlDateProblem(textExpr: string): string {
    // Only rows already found wrong are diagnosed, so this need not be fast.
    const t = `trim(${textExpr})`;
    const time = `regexp_extract(${t}, '^.{10}[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\\.[0-9]{1,9})?)?(.*)$', `;
    const part = (i: number): string => `${time}${i})`;
    const hhmm = `${part(1)} || ':' || ${part(2)} || CASE WHEN ${part(3)} <> '' THEN ':' || ${part(3)} ELSE '' END`;
    return `CASE
      WHEN NOT regexp_full_match(${t}, '[0-9]{4}-[0-9]{2}-[0-9]{2}(.*)') THEN 'not in the form YYYY-MM-DD'
      WHEN TRY_CAST(substr(${t}, 6, 2) AS INTEGER) NOT BETWEEN 1 AND 12 THEN 'month ' || substr(${t}, 6, 2) || ' out of range'
      WHEN TRY_CAST(left(${t}, 10) AS DATE) IS NULL THEN 'day ' || substr(${t}, 9, 2) || ' out of range for ' || left(${t}, 7)
      WHEN length(${t}) = 10 THEN NULL
      WHEN NOT regexp_matches(${t}, '^.{10}[T ][0-9]{2}:[0-9]{2}') THEN 'time of day ''' || substr(${t}, 11) || ''' not as HH:MM or HH:MM:SS'
      WHEN TRY_CAST(${part(1)} AS INTEGER) > 23 OR TRY_CAST(${part(2)} AS INTEGER) > 59 OR coalesce(TRY_CAST(${part(3)} AS INTEGER), 0) > 59
        THEN 'time of day ' || ${hhmm} || ' invalid'
      WHEN ${part(4)} <> '' AND NOT regexp_full_match(${part(4)}, '${OFFSET_TEXT}')
        THEN 'unknown offset ''' || trim(${part(4)}) || ''' (expected Z, UTC or ±HH:MM)'
    END`;
  }

  sqlMonthIndex(dateExpr: string): string {
    return `(year(${dateExpr}) * 12 + month(${dateExpr}) - 1)`;
  }

  sqlDayBefore(dateExpr: string): string {
    return `CAST(${dateExpr} - INTERVAL 1 DAY AS DATE)`;
  }

  sqlMonthText(monthIndexExpr: string): string {
    return `printf('%04d-%02d', (${monthIndexExpr}) // 12, (${monthIndexExpr}) % 12 + 1)`;
  }

  sqlDivideMoney(moneyExpr: string, intExpr: string): string {
    // DuckDB divides DECIMALs as DOUBLE; integer division on scaled HUGEINTs stays exact.
    // Scaling by 10¹² stays within DECIMAL(38,12) below 10¹⁴; larger amounts are scaled as whole
    // and fractional parts, in 128-bit integers (up to 10²⁶ × 10¹² < 2¹²⁷).
    const m = `(${moneyExpr})`;
    const picos = `CASE WHEN abs(${m}) < 100000000000000 THEN CAST(${m} * 1000000000000 AS HUGEINT)
      ELSE CAST(trunc(${m}) AS HUGEINT) * 1000000000000 + CAST((${m} - trunc(${m})) * 1000000000000 AS HUGEINT) END`;
    return `CAST(CAST((${picos}) // (${intExpr}) AS DECIMAL(38,0)) * 0.000000000001::DECIMAL(13,12) AS ${MONEY})`;
  }

  sqlMultiplyMoney(moneyExpr: string, rateExpr: string): string {
    // Most values are in the reporting currency (rate 1): skip the 128-bit rescale for them.
    // DECIMAL(38,12) × DECIMAL(24,10) is DECIMAL(38,22), which holds products below 10¹⁶ only (beyond,
    // DuckDB stops on an overflow): larger ones are the whole part × rate (exact at 10 places) plus
    // the fraction × rate rounded at 12, which is the product rounded at 12 (both parts share its sign).
    const m = `(${moneyExpr})`;
    const r = `CAST(${rateExpr} AS ${RATE})`;
    const large = `CAST(CAST(trunc(${m}) AS DECIMAL(38,0)) * ${r} AS ${MONEY}) + CAST((${m} - trunc(${m})) * ${r} AS ${MONEY})`;
    return `CASE WHEN (${rateExpr}) = 1 THEN CAST(${moneyExpr} AS ${MONEY})
                 WHEN abs(CAST(${m} AS DOUBLE) * CAST(${rateExpr} AS DOUBLE)) < 1e15 THEN CAST(${m} * ${r} AS ${MONEY})
                 ELSE ${large} END`;
  }

  sqlDividePicos(microsExpr: string, intExpr: string): string {
    // m ÷ n in units of 10⁻¹² is q × 10⁶ + s, with q = m // n and s = (m % n) × 10⁶ // n: both
    // truncate toward zero, so this is the division truncated at the 12th decimal, in 64 bits
    // while q is under 9 × 10¹¹.
    const m = `(${microsExpr})`;
    const n = `(${intExpr})`;
    return `CASE WHEN abs(${m} // ${n}) < ${PICOS_LIMIT / 1_000_000} THEN (${m} // ${n}) * 1000000 + ((${m} % ${n}) * 1000000) // ${n} END`;
  }

  sqlRateE10(rateExpr: string): string {
    const r = `(${rateExpr})`;
    return `CASE WHEN ${r} >= 0 AND ${r} < 900000000 THEN CAST(${r} * 10000000000 AS BIGINT) END`;
  }

  sqlMultiplyPicos(picosExpr: string, rateE10Expr: string): string {
    // p × r ÷ 10¹⁰, rounded half up, in 64 bits. With r = rh·10¹⁰ + rl, p = ph·10¹⁰ + pl and
    // pl = a1·10⁵ + a0: p·r ÷ 10¹⁰ = p·rh + ph·rl + (a1·rl·10⁵ + a0·rl) ÷ 10¹⁰, where x = a1·rl
    // and y = a0·rl are under 10¹⁵, so x·10⁵ + y is split as x // 10⁵ and z = (x % 10⁵)·10⁵ + y.
    // Every product stays under 9 × 10¹⁸, and the result under 9 × 10¹⁷, while p·(rh + 1) < 9 × 10¹⁷; beyond, NULL.
    const p = `(${picosExpr})`;
    const r = `(${rateE10Expr})`;
    const e10 = '10000000000';
    const rh = `(${r} // ${e10})`;
    const rl = `(${r} % ${e10})`;
    const ph = `(${p} // ${e10})`;
    const pl = `(${p} % ${e10})`;
    const x = `((${pl} // 100000) * ${rl})`;
    const y = `((${pl} % 100000) * ${rl})`;
    const z = `((${x} % 100000) * 100000 + ${y})`;
    const fits = `${p} >= 0 AND ${r} >= 0 AND ${p} < ${PICOS_LIMIT} // (${rh} + 1)`;
    return `CASE WHEN ${fits} THEN ${p} * ${rh} + ${ph} * ${rl} + ${x} // 100000 + ${z} // ${e10} + CASE WHEN ${z} % ${e10} >= 5000000000 THEN 1 ELSE 0 END END`;
  }

  sqlPicosToMoney(picosExpr: string): string {
    return `CAST(CAST(${picosExpr} AS DECIMAL(18,0)) * 0.000000000001::DECIMAL(13,12) AS ${MONEY})`;
  }

  sqlRegexpMatches(textExpr: string, pattern: string): string {
    return `regexp_full_match(${textExpr}, ${this.quoteString(pattern)})`;
  }

  isBooleanType(columnType: string): boolean {
    return columnType.trim().toUpperCase() === 'BOOLEAN';
  }

  isNumberType(columnType: string): boolean {
    const t = columnType.trim().toUpperCase();
    return INTEGER_TYPES.has(t) || NUMBER_TYPES.has(t) || /^DECIMAL\(\d+,\s*\d+\)$/.test(t);
  }

  sqlHash(exprs: readonly string[]): string {
    return `hash(${exprs.join(', ')})`;
  }

  sqlIsPlainAscii(textExpr: string): string {
    // Bytes = characters only when every character is a single byte; a first byte from '!' on is
    // no white space; the last one is compared with each white space character. Each is far
    // cheaper than a pattern or trim().
    const t = textExpr;
    const ends = [' ', 'chr(9)', 'chr(10)', 'chr(12)', 'chr(13)'].map((c) => `ends_with(${t}, ${c === ' ' ? "' '" : c})`).join(' OR ');
    return `(strlen(${t}) = length(${t}) AND ${t} >= '!' AND NOT (${ends}))`;
  }

  sqlColumnsOf(parts: readonly string[]): string {
    const [table, schema, catalog] = [...parts].reverse().map((p) => this.quoteString(p));
    return `SELECT column_name, data_type AS column_type FROM information_schema.columns
      WHERE table_catalog = ${catalog ?? 'current_database()'} AND table_schema = ${schema ?? 'current_schema()'} AND table_name = ${table}
      ORDER BY ordinal_position`;
  }

  sqlValueText(expr: string, _columnType: string): string {
    // A TIMESTAMPTZ prints with its offset; a DECIMAL with every place.
    return `CAST(${expr} AS VARCHAR)`;
  }

  sqlToFloat(expr: string): string {
    return `CAST(${expr} AS DOUBLE)`;
  }

  sqlCreateTableAs(name: string, query: string): string {
    return `CREATE OR REPLACE TABLE ${name} AS ${query}`;
  }

  sqlCreateViewAs(name: string, query: string): string {
    return `CREATE OR REPLACE VIEW ${name} AS ${query}`;
  }

  sqlIntDiv(a: string, b: string): string {
    return `(${a}) // (${b})`;
  }

  sqlNullText(): string {
    return 'NULL::VARCHAR';
  }

  sqlMedian(moneyExpr: string): string {
    // median() of DECIMALs interpolates in floating point (23355.834166666660 and …672 give
    // …664): the two middle values are taken as they are and their mean truncated exactly.
    return this.sqlDivideMoney(`quantile_disc(${moneyExpr}, 0.5) - quantile_disc(-(${moneyExpr}), 0.5)`, '2');
  }

  sqlBoolOr(expr: string): string {
    return `bool_or(${expr})`;
  }

  sqlArgMax(valueExpr: string, keyExpr: string): string {
    return `arg_max(${valueExpr}, ${keyExpr})`;
  }

  sqlArgMin(valueExpr: string, keyExpr: string): string {
    return `arg_min(${valueExpr}, ${keyExpr})`;
  }

  sqlIntegerRows(values: readonly number[], name: string): string {
    return `SELECT unnest([${values.join(', ')}]::INTEGER[]) AS ${name}`;
  }

  sqlSeries(fromExpr: string, toExpr: string): string {
    return `unnest(range(${fromExpr}, ${toExpr}))`;
  }

  sqlLag(expr: string, window: string): string {
    return `lag(${expr}) OVER (${window})`;
  }

  sqlLead(expr: string, window: string): string {
    return `lead(${expr}) OVER (${window})`;
  }
}
