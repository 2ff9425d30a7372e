import type { Dialect, NativeColumn } from '../engine/dialect.js';
import { SIGNAL_SOURCES, type SignalColumnSpec, type SignalColumnType, type SignalSourceName } from './signal-contract.js';
import { DATE_EXPECTED } from './validation-sql.js';
import { CONTROL_EXPECTED, ID_COLUMNS, sqlControlDetail, sqlHasControl, sqlIdAsWritten, sqlOddId } from './value-rules-sql.js';

/**
 * Pure SQL builders for the signal files: the rules every column's type implies, checked in the one
 * pass over the file (`raw_<source>`) that also builds its typed table (`parsed_signal_<source>`,
 * which becomes `signal_<source>`, the table later capabilities read). A typed column of a Parquet
 * file is checked as it is; text is parsed once. Only rows that break a rule become messages.
 */

/** A signal column a typed file (Parquet) holds in a type that is taken as it is. */
export type SignalNative = NativeColumn | { readonly type: 'boolean' } | { readonly type: 'number' };

/** A signal file that was read: its name, for messages, and the columns it holds in their own type. */
export interface SignalRead {
  readonly file: string;
  readonly native: Readonly<Record<string, SignalNative>>;
}

/**
 * A file column's type (as sqlDescribe names it) that holds a column of `type` as it is; null when
 * its text is parsed instead. A month stays text: the contract writes it YYYY-MM.
 */
export function signalNativeColumn(d: Dialect, columnType: string, type: SignalColumnType): SignalNative | null {
  switch (type) {
    case 'date':
      return d.nativeColumn(columnType, 'date');
    case 'amount':
      return d.nativeColumn(columnType, 'money');
    case 'count': {
      const n = d.nativeColumn(columnType, 'money');
      return n?.type === 'integer' ? n : null;
    }
    case 'score':
      return d.isNumberType(columnType) ? { type: 'number' } : null;
    case 'boolean':
      return d.isBooleanType(columnType) ? { type: 'boolean' } : null;
    default:
      return null;
  }
}

/**
 * True when a column's own rule already refuses any text holding a control character: a value
 * that passes it is a date, a month, a number, a boolean, a currency code or one of the enumeration's
 * words (trim removes only spaces). The pass need not test such a column for control characters to
 * flag its row; the messages still test every rule, so they are the same.
 */
function refusesControl(col: SignalColumnSpec | undefined): boolean {
  return col !== undefined && (col.type !== 'text' || col.values !== undefined);
}

/** The largest count: 18 digits, as text allows. */
const COUNT_LIMIT = '999999999999999999';

/** The SQL type each column type becomes in the typed tables. */
export function signalSqlType(d: Dialect, type: SignalColumnType): string {
  const types: Record<SignalColumnType, string> = {
    text: 'VARCHAR',
    date: 'DATE',
    month: 'DATE',
    count: 'BIGINT',
    amount: d.moneyType,
    score: 'DOUBLE',
    boolean: 'BOOLEAN',
    currency: 'VARCHAR',
  };
  return types[type];
}

/** An enumeration's value: lower case, blanks and hyphens as underscores, then its synonyms. */
function enumValue(d: Dialect, col: SignalColumnSpec, t: string): string {
  const norm = `regexp_replace(lower(${t}), '[ -]+', '_', 'g')`;
  const synonyms = Object.entries(col.synonyms ?? {});
  const mapped =
    synonyms.length === 0
      ? norm
      : `CASE ${norm} ${synonyms.map(([from, to]) => `WHEN ${d.quoteString(from)} THEN ${d.quoteString(to)}`).join(' ')} ELSE ${norm} END`;
  // A value written as the contract writes it is itself: no pattern to apply.
  const exact = (col.values ?? []).filter((v) => col.synonyms?.[v] === undefined && v === v.toLowerCase() && !/[ -]/.test(v));
  return exact.length === 0 ? mapped : `CASE WHEN ${t} IN (${exact.map((v) => d.quoteString(v)).join(', ')}) THEN ${t} ELSE ${mapped} END`;
}

/** The value of a column of the file (`c`, its trimmed text `t`), parsed: NULL when blank or not of its type. */
function parsed(d: Dialect, col: SignalColumnSpec, c: string, native: SignalNative | undefined, timeZone: string, t = `trim(${c})`): string {
  if (native !== undefined) {
    switch (native.type) {
      case 'date':
      case 'timestamp':
      case 'timestamptz':
        return d.sqlNativeDate(c, native, timeZone);
      case 'decimal':
        return d.sqlNativeMoney(c);
      case 'integer':
        return col.type === 'count' ? `CASE WHEN ${c} >= 0 AND ${c} <= ${COUNT_LIMIT} THEN CAST(${c} AS BIGINT) END` : d.sqlNativeMoney(c);
      case 'number':
        return `CASE WHEN ${c} >= 0 THEN CAST(${c} AS DOUBLE) END`;
      case 'boolean':
        return c;
    }
  }
  switch (col.type) {
    case 'text':
      // An id is read in its normal form, already trimmed (load-sources).
      return col.values ? enumValue(d, col, t) : ID_COLUMNS.has(col.name) ? c : t;
    case 'date':
      return d.sqlTryDate(t, timeZone);
    case 'month':
      return d.sqlTryMonth(t);
    case 'count':
      return `CASE WHEN ${d.sqlRegexpMatches(t, '[0-9]{1,18}')} THEN CAST(${t} AS BIGINT) END`;
    case 'amount':
      return d.sqlTryMoney(t);
    case 'score':
      return `CASE WHEN ${d.sqlRegexpMatches(t, '[0-9]+(\\.[0-9]+)?')} THEN CAST(${t} AS DOUBLE) END`;
    case 'boolean':
      return `CASE WHEN lower(${t}) IN ('true', 'yes', 'y', '1', 't') THEN TRUE WHEN lower(${t}) IN ('false', 'no', 'n', '0', 'f') THEN FALSE END`;
    case 'currency':
      return `upper(${t})`;
  }
}

const EXPECTED: Record<SignalColumnType, string> = {
  text: 'text',
  date: DATE_EXPECTED,
  month: 'a month as YYYY-MM',
  count: 'a whole number, zero or more',
  amount: 'a plain number, zero or more, such as 1200.50 (no currency symbols or thousands separators)',
  score: 'a number from 0 to 100',
  boolean: 'true or false (or yes/no, 1/0)',
  currency: 'a three-letter ISO currency code',
};

/** The source's column of type currency (a source with fxAt has one). */
function currencyColumn(source: SignalSourceName): SignalColumnSpec {
  const col = SIGNAL_SOURCES[source].columns.find((x) => x.type === 'currency');
  if (col === undefined) throw new Error(`${source} converts money but has no currency column`);
  return col;
}

/** The name of a column's parsed value, beside the file's own columns. */
const parsedName = (d: Dialect, column: string): string => d.quoteIdent(`p_${column}`);

interface Rule {
  readonly column: string;
  /**
   * True when the row breaks the rule, over a row that holds the file's columns under their own
   * names, their parsed values (parsedName), `__fx_first_month`, `__known` and `__first_row`.
   */
  readonly when: string;
  /** SQL text expression for what was expected. */
  readonly expected: string;
  readonly severity: 'error' | 'warning';
  /** Control characters: one test of every text column at once finds the rows to look at. */
  readonly control?: true;
  /** Repeated keys: found after the pass, from the keys it hashed. */
  readonly repeat?: true;
}

/** How the rules read the columns of one file. */
class Columns {
  constructor(
    private readonly d: Dialect,
    private readonly read: SignalRead,
  ) {}

  native(col: string): SignalNative | undefined {
    return this.read.native[col];
  }

  /** True when the value is missing: NULL, or text of blanks. */
  blank(col: string): string {
    if (this.native(col)) return `(${this.ref(col)} IS NULL)`;
    const t = this.trimmed(col);
    return `(${t} IS NULL OR ${t} = '')`;
  }

  /** Text columns, other than ids, whose trimmed text the pass works out once, as `t_<column>`. */
  trims(columns: readonly string[]): string[] {
    return columns.filter((col) => !this.native(col) && !ID_COLUMNS.has(col));
  }

  /** A text column's trimmed text: `t_<column>` (see trims); an id is read trimmed (load-sources). */
  trimmed(col: string): string {
    return ID_COLUMNS.has(col) ? this.ref(col) : this.d.quoteIdent(`t_${col}`);
  }

  /** The `t_<column>` columns, worked out from the file's row `r`. */
  trimColumns(columns: readonly string[]): string {
    return this.trims(columns)
      .map((col) => `, trim(${this.ref(col, 'r')}) AS ${this.trimmed(col)}`)
      .join('');
  }

  ref(col: string, alias?: string): string {
    return alias === undefined ? this.d.quoteIdent(col) : `${alias}.${this.d.quoteIdent(col)}`;
  }

  /** The value as text, as written, for messages. */
  text(col: string): string {
    if (ID_COLUMNS.has(col)) return sqlIdAsWritten(this.d, col);
    return this.native(col) ? this.d.sqlText(this.ref(col)) : this.ref(col);
  }

  /** The value as a repeated key compares it: trimmed text, or the typed value itself; over the pass's row. */
  key(col: string): string {
    return this.native(col) ? this.ref(col) : this.trimmed(col);
  }

  /** The same, over the file's row `alias`. */
  rawKey(col: string, alias: string): string {
    const c = this.ref(col, alias);
    return this.native(col) || ID_COLUMNS.has(col) ? c : `trim(${c})`;
  }
}

function rules(d: Dialect, source: SignalSourceName, cols: Columns, hasAccountsFile: boolean, reportingCurrency: string): Rule[] {
  const spec = SIGNAL_SOURCES[source];
  const q = d.quoteIdent;
  const s = d.quoteString;
  const pv = (col: SignalColumnSpec): string => parsedName(d, col.name);
  const out: Rule[] = [];
  for (const col of spec.columns) {
    const blank = cols.blank(col.name);
    if (col.required) out.push({ column: col.name, when: blank, expected: s('a value (required)'), severity: 'error' });
    if (col.type !== 'text') {
      const bad =
        col.type === 'score'
          ? `(${pv(col)} IS NULL OR ${pv(col)} > 100)`
          : col.type === 'currency'
            ? // Most rows are in the reporting currency, a code (policies): the pattern is tried on the others.
              `CASE WHEN ${pv(col)} = ${s(reportingCurrency)} THEN FALSE ELSE NOT ${d.sqlRegexpMatches(pv(col), '[A-Z]{3}')} END`
            : `${pv(col)} IS NULL`;
      // A date says which part of it is wrong.
      const expected =
        col.type === 'date' ? `${s(EXPECTED.date)} || coalesce('; ' || (${d.sqlDateProblem(cols.native(col.name) ? cols.text(col.name) : q(col.name))}), '')` : s(EXPECTED[col.type]);
      out.push({ column: col.name, when: `NOT ${blank} AND ${bad}`, expected, severity: 'error' });
    }
    // Money keeps 12 places: a digit beyond them would be rounded away, so the value is refused (a
    // typed decimal has at most the places money keeps: its text is not looked at).
    if (col.type === 'amount' && !cols.native(col.name)) {
      out.push({
        column: col.name,
        when: `${pv(col)} IS NOT NULL AND ${d.sqlRegexpMatches(`trim(${q(col.name)})`, '[-+]?[0-9]*\\.[0-9]{12}[0-9]*[1-9][0-9]*')}`,
        expected: s('at most 12 places after the decimal point (money keeps 12)'),
        severity: 'error',
      });
    }
    if (col.values) {
      const list = col.values.map((v) => s(v)).join(', ');
      out.push({
        column: col.name,
        when: `NOT ${blank} AND ${pv(col)} NOT IN (${list})`,
        expected: s(`one of: ${col.values.join(', ')}${col.synonyms ? ` (or ${Object.keys(col.synonyms).join(', ')})` : ''}`),
        severity: 'error',
      });
    }
  }
  // No text column may hold a control character; a typed column holds no text.
  for (const col of spec.columns) {
    if (cols.native(col.name)) continue;
    const c = q(col.name);
    out.push({ column: col.name, when: sqlHasControl(d, c), expected: `${s(CONTROL_EXPECTED)} || '; ' || ${sqlControlDetail(d, c)}`, severity: 'error', control: true });
  }
  for (const [a, b] of spec.ordered ?? []) {
    const ca = spec.columns.find((x) => x.name === a)!;
    const cb = spec.columns.find((x) => x.name === b)!;
    out.push({ column: b, when: `${pv(cb)} < ${pv(ca)}`, expected: s(`a date on or after ${a}`), severity: 'error' });
  }
  if (spec.fxAt !== undefined) {
    // Converted at the rate in force on each day from fxAt on: the currency's first rate must be in
    // force by then.
    const currency = pv(currencyColumn(source));
    const at = pv(spec.columns.find((x) => x.name === spec.fxAt)!);
    out.push({
      column: 'currency',
      when: `CASE WHEN ${currency} = ${s(reportingCurrency)} THEN FALSE ELSE ${d.sqlRegexpMatches(currency, '[A-Z]{3}')} AND ${at} IS NOT NULL
        AND (__fx_first_month IS NULL OR __fx_first_month > ${d.sqlMonthIndex(at)}) END`,
      expected: s(`a rate in fx_rates for this currency in force at ${spec.fxAt} (reporting currency ${reportingCurrency})`),
      severity: 'error',
    });
  }
  // A repeated key names the row that came first.
  out.push({
    column: spec.key.join(', '),
    when: '__first_row IS NOT NULL',
    expected: `${s(`a unique ${spec.key.join(' + ')} (first used on row `)} || __first_row || ')'`,
    severity: 'error',
    repeat: true,
  });
  if (hasAccountsFile) {
    out.push({
      column: 'account_id',
      when: `NOT ${cols.blank('account_id')} AND NOT __known`,
      expected: s('an account listed in accounts'),
      severity: 'warning',
    });
  }
  return out;
}

/** What is needed to check one signal file. */
export interface SignalCheck {
  readonly d: Dialect;
  readonly source: SignalSourceName;
  readonly read: SignalRead;
  /** Whether an accounts file was given: then its ids are in `known_account_ids` (sqlKnownAccounts). */
  readonly hasAccountsFile: boolean;
  readonly reportingCurrency: string;
  readonly timeZone: string;
}

/** The joins that bring in, for a row of the file (`r`), its currency's first rate and whether its account is known. */
function lookups(c: SignalCheck, cols: Columns): { columns: string; joins: string } {
  const spec = SIGNAL_SOURCES[c.source];
  const d = c.d;
  const columns: string[] = [];
  const joins: string[] = [];
  if (spec.fxAt !== undefined) {
    const cur = currencyColumn(c.source);
    columns.push('fxb.first_month AS __fx_first_month');
    joins.push(`LEFT JOIN fx_bounds fxb ON fxb.currency = ${parsed(d, cur, cols.ref(cur.name, 'r'), cols.native(cur.name), c.timeZone)}`);
  }
  if (c.hasAccountsFile) {
    columns.push('ka.id IS NOT NULL AS __known', 'ka.control AS __known_control');
    joins.push(`LEFT JOIN known_account_ids ka ON ka.id = r.${d.quoteIdent('account_id')}`);
  }
  return { columns: columns.map((x) => `, ${x}`).join(''), joins: joins.join(' ') };
}

/**
 * The one pass over a signal file: `parsed_signal_<source>` holds per row its file row (`row_no`),
 * every column parsed into its type under its own name (as `signal_<source>` will hold it),
 * `__error` and `__warning` (the row breaks a rule of that severity, or spells an id otherwise:
 * sqlOddId) and `__key`, a hash of its key
 * for the repeated-key check (sqlSignalRepeats). The file's text is not copied.
 */
export function sqlSignalParse(c: SignalCheck): string {
  const { d, source } = c;
  const spec = SIGNAL_SOURCES[source];
  const cols = new Columns(d, c.read);
  const names = spec.columns.map((col) => col.name);
  const list = rules(d, source, cols, c.hasAccountsFile, c.reportingCurrency);
  const values = spec.columns.map(
    (col) =>
      `CAST(${parsed(d, col, d.quoteIdent(col.name), cols.native(col.name), c.timeZone, cols.trimmed(col.name))} AS ${signalSqlType(d, col.type)}) AS ${parsedName(d, col.name)}`,
  );
  // NULL counts as not broken: (a OR b) IS TRUE when a or b is.
  const any = (rs: readonly { when: string }[]): string => (rs.length === 0 ? 'FALSE' : `coalesce(${rs.map((r) => `(${r.when})`).join('\n        OR ')}, FALSE)`);
  // One pattern over every free-text column joined together finds a control character in any of them.
  // An account id listed in accounts was tested there, once (known_account_ids); a column whose own
  // rule refuses such a value needs no second test to flag its row (refusesControl).
  const knownId = c.hasAccountsFile && list.some((r) => r.control && r.column === 'account_id');
  const control = list.filter((r) => r.control && !(knownId && r.column === 'account_id') && !refusesControl(spec.columns.find((x) => x.name === r.column)));
  const controlWhen = [
    ...(control.length === 0 ? [] : [{ when: sqlHasControl(d, `concat(${control.map((r) => d.quoteIdent(r.column)).join(', ')})`) }]),
    ...(knownId ? [{ when: `CASE WHEN __known THEN __known_control ELSE ${sqlHasControl(d, d.quoteIdent('account_id'))} END` }] : []),
  ];
  const errors = [...list.filter((r) => r.severity === 'error' && !r.control && !r.repeat), ...controlWhen];
  const warnings = [...list.filter((r) => r.severity === 'warning'), { when: sqlOddId(d, names.filter((col) => ID_COLUMNS.has(col))) }];
  const keyNonBlank = spec.key.map((k) => `NOT ${cols.blank(k)}`).join(' AND ');
  const look = lookups(c, cols);
  return `CREATE OR REPLACE TABLE parsed_signal_${source} AS
    WITH trimmed AS (SELECT r.*${cols.trimColumns(names)}${look.columns} FROM raw_${source} r ${look.joins}),
    src AS (SELECT *, ${values.join(', ')} FROM trimmed)
    SELECT __row AS row_no, ${names.map((col) => `${parsedName(d, col)} AS ${d.quoteIdent(col)}`).join(', ')},
      ${any(errors)} AS __error,
      ${any(warnings)} AS __warning,
      CASE WHEN ${keyNonBlank} THEN ${d.sqlHash(spec.key.map((k) => cols.key(k)))} END AS __key
    FROM src`;
}

/**
 * Repeated keys, in two steps: `signal_candidates` keeps the hashes of keys found more than once
 * (from the parsed table; usually none), and only when it is not, the rows with
 * those hashes are read again to compare their keys exactly (`signal_first_<source>`: each later
 * row of a key and the row that used it first), and flagged.
 */
export function sqlSignalRepeats(c: SignalCheck): { candidates: string; exact: string[]; none: string } {
  const { d, source } = c;
  const spec = SIGNAL_SOURCES[source];
  const cols = new Columns(d, c.read);
  const keys = spec.key.map((k, i) => `${cols.rawKey(k, 'r')} AS k${i}`).join(', ');
  const on = spec.key.map((_k, i) => `f.k${i} = x.k${i}`).join(' AND ');
  return {
    // Sorting the hashes and comparing neighbours costs a fraction of a hash aggregate over them.
    candidates: `CREATE OR REPLACE TEMP TABLE signal_candidates AS
      SELECT DISTINCT __key FROM (SELECT __key, lag(__key) OVER (ORDER BY __key) AS __before FROM parsed_signal_${source} WHERE __key IS NOT NULL)
      WHERE __key = __before`,
    exact: [
      `CREATE OR REPLACE TEMP TABLE signal_first_${source} AS
        WITH x AS (SELECT r.__row, ${keys} FROM raw_${source} r
                   WHERE r.__row IN (SELECT row_no FROM parsed_signal_${source} WHERE __key IN (SELECT __key FROM signal_candidates))),
        f AS (SELECT ${spec.key.map((_k, i) => `k${i}`).join(', ')}, min(__row) AS first_row FROM x GROUP BY ALL HAVING count(*) > 1)
        SELECT x.__row AS row, f.first_row FROM x JOIN f ON ${on} WHERE x.__row > f.first_row`,
      `UPDATE parsed_signal_${source} p SET __error = TRUE FROM signal_first_${source} f WHERE p.row_no = f.row`,
    ],
    none: `CREATE OR REPLACE TEMP TABLE signal_first_${source} (row BIGINT, first_row BIGINT)`,
  };
}

/**
 * Rows of `validation_issues` for one signal file: only the rows the pass flagged are read again,
 * with their text for the messages, and checked rule by rule.
 */
export function sqlSignalIssues(c: SignalCheck): string {
  const { d, source } = c;
  const q = d.quoteIdent;
  const spec = SIGNAL_SOURCES[source];
  const cols = new Columns(d, c.read);
  const list = rules(d, source, cols, c.hasAccountsFile, c.reportingCurrency);
  const look = lookups(c, cols);
  const flagged = `WITH flagged AS MATERIALIZED (
      SELECT r.*${cols.trimColumns(spec.columns.map((col) => col.name))}, ${spec.columns.map((col) => `p.${q(col.name)} AS ${parsedName(d, col.name)}`).join(', ')}, sf.first_row AS __first_row${look.columns}
      FROM (SELECT * FROM parsed_signal_${source} WHERE __error OR __warning) p
      JOIN raw_${source} r ON r.__row = p.row_no
      LEFT JOIN signal_first_${source} sf ON sf.row = p.row_no ${look.joins})`;
  const selects = list.map((r) => {
    const value = r.column.includes(', ') ? spec.key.map((k) => `coalesce(${cols.text(k)}, '')`).join(` || ' + ' || `) : cols.text(r.column);
    return `SELECT ${d.quoteString(source)} AS source, ${d.quoteString(c.read.file)} AS file, __row AS row, ${d.quoteString(r.column)} AS "column", ${value} AS value, ${r.expected} AS expected, ${d.quoteString(r.severity)} AS severity FROM flagged WHERE coalesce(${r.when}, FALSE)`;
  });
  return `INSERT INTO validation_issues ${flagged}\n${selects.join('\nUNION ALL\n')}`;
}

/** The rows of the file the pass flagged (`row_no`). */
export function sqlSignalFlaggedRows(source: SignalSourceName): string {
  return `SELECT row_no FROM parsed_signal_${source} WHERE __error OR __warning`;
}

/**
 * The work tables of a signal file's checks, and its key hashes, once its issues are listed
 * (`copy`: the hashes are left out when the typed table is copied instead, see sqlSignalTable).
 */
export function sqlSignalCheckDone(source: SignalSourceName, copy = false): string[] {
  return [`DROP TABLE IF EXISTS signal_first_${source}`, 'DROP TABLE IF EXISTS signal_candidates', ...(copy ? [] : [`ALTER TABLE parsed_signal_${source} DROP COLUMN __key`])];
}

/**
 * `signal_<source>`: typed, trimmed, enumerations in their contract value (synonyms resolved); rows
 * with an error left out. It is `parsed_signal_<source>` itself (sqlSignalParse), its rows with an
 * error deleted and its checking columns dropped: no copy of the data. Weeks missing from
 * product_usage are left missing: the account record counts them as weeks of zeros
 * (account-record-sql), so the rule holds as of any day. (The time zone the dates were read in
 * applied in the pass.)
 */
export function sqlSignalTable(d: Dialect, source: SignalSourceName, present: boolean, hasErrors: boolean, _timeZone?: string, copy = false): string {
  const spec = SIGNAL_SOURCES[source];
  if (!present) {
    const empty = spec.columns.map((c) => `CAST(NULL AS ${signalSqlType(d, c.type)}) AS ${d.quoteIdent(c.name)}`);
    return `CREATE OR REPLACE TABLE signal_${source} AS SELECT NULL::BIGINT AS row_no, ${empty.join(', ')} WHERE FALSE`;
  }
  const t = `parsed_signal_${source}`;
  // A copy of a few rows creates, alters and drops nothing that exists (see copyTyped in ReadOptions).
  if (copy) return `CREATE OR REPLACE TABLE signal_${source} AS SELECT row_no, ${spec.columns.map((c) => d.quoteIdent(c.name)).join(', ')} FROM ${t} WHERE ${hasErrors ? 'NOT __error' : 'TRUE'}`;
  return [
    ...(hasErrors ? [`DELETE FROM ${t} WHERE __error`] : []),
    ...['__error', '__warning'].map((c) => `ALTER TABLE ${t} DROP COLUMN ${c}`),
    `DROP TABLE IF EXISTS signal_${source}`,
    `ALTER TABLE ${t} RENAME TO signal_${source}`,
  ].join(';\n');
}
