import type { Dialect } from '../engine/dialect.js';
import { SIGNAL_SOURCES, type SignalColumnSpec, type SignalColumnType, type SignalSourceName } from './signal-contract.js';
import { DATE_EXPECTED } from './validation-sql.js';
import { CONTROL_EXPECTED, ID_COLUMNS, sqlControlDetail, sqlHasControl, sqlIdAsWritten } from './value-rules-sql.js';

/**
 * Pure SQL builders for the signal files: the rules every column's type implies, checked over the raw
 * text table (`raw_<source>`), and the typed table (`signal_<source>`) later capabilities read.
 */

const blank = (c: string): string => `(${c} IS NULL OR trim(${c}) = '')`;

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
  if (synonyms.length === 0) return norm;
  return `CASE ${norm} ${synonyms.map(([from, to]) => `WHEN ${d.quoteString(from)} THEN ${d.quoteString(to)}`).join(' ')} ELSE ${norm} END`;
}

/** The parsed value of a raw text column, NULL when blank or not of its type. */
function parsed(d: Dialect, col: SignalColumnSpec, alias?: string, timeZone = 'UTC'): string {
  const c = alias === undefined ? d.quoteIdent(col.name) : `${alias}.${d.quoteIdent(col.name)}`;
  const t = `trim(${c})`;
  switch (col.type) {
    case 'text':
      return col.values ? enumValue(d, col, t) : t;
    case 'date':
      return d.sqlTryDate(c, timeZone);
    case 'month':
      return `CASE WHEN ${d.sqlRegexpMatches(t, '[0-9]{4}-[0-9]{2}')} THEN ${d.sqlTryDate(`${t} || '-01'`)} END`;
    case 'count':
      return `CASE WHEN ${d.sqlRegexpMatches(t, '[0-9]{1,18}')} THEN CAST(${t} AS BIGINT) END`;
    case 'amount':
      return d.sqlTryMoney(c);
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

interface Rule {
  readonly column: string;
  readonly when: string;
  /** SQL text expression for what was expected. */
  readonly expected: string;
  readonly severity: 'error' | 'warning';
}

function rules(d: Dialect, source: SignalSourceName, hasAccountsFile: boolean, reportingCurrency: string, timeZone: string): Rule[] {
  const spec = SIGNAL_SOURCES[source];
  const q = d.quoteIdent;
  const s = d.quoteString;
  const pv = (col: SignalColumnSpec, alias?: string): string => parsed(d, col, alias, timeZone);
  const out: Rule[] = [];
  for (const col of spec.columns) {
    const c = q(col.name);
    if (col.required) out.push({ column: col.name, when: blank(c), expected: s('a value (required)'), severity: 'error' });
    if (col.type !== 'text') {
      const bad =
        col.type === 'score'
          ? `(${pv(col)} IS NULL OR ${pv(col)} > 100)`
          : col.type === 'currency'
            ? `NOT ${d.sqlRegexpMatches(pv(col), '[A-Z]{3}')}`
            : `${pv(col)} IS NULL`;
      // A date says which part of it is wrong.
      const expected = col.type === 'date' ? `${s(EXPECTED.date)} || coalesce('; ' || (${d.sqlDateProblem(c)}), '')` : s(EXPECTED[col.type]);
      out.push({ column: col.name, when: `NOT ${blank(c)} AND ${bad}`, expected, severity: 'error' });
    }
    if (col.values) {
      const list = col.values.map((v) => s(v)).join(', ');
      out.push({
        column: col.name,
        when: `NOT ${blank(c)} AND ${pv(col)} NOT IN (${list})`,
        expected: s(`one of: ${col.values.join(', ')}${col.synonyms ? ` (or ${Object.keys(col.synonyms).join(', ')})` : ''}`),
        severity: 'error',
      });
    }
  }
  // Every column is read as text: none may hold a control character.
  for (const col of spec.columns) {
    const c = q(col.name);
    out.push({ column: col.name, when: sqlHasControl(d, c), expected: `${s(CONTROL_EXPECTED)} || '; ' || ${sqlControlDetail(d, c)}`, severity: 'error' });
  }
  for (const [a, b] of spec.ordered ?? []) {
    const ca = spec.columns.find((x) => x.name === a)!;
    const cb = spec.columns.find((x) => x.name === b)!;
    out.push({
      column: b,
      when: `${pv(cb)} < ${pv(ca)}`,
      expected: s(`a date on or after ${a}`),
      severity: 'error',
    });
  }
  if (spec.fxAt !== undefined) {
    // Converted at the rate in force on each day from fxAt on: the currency's first rate must be in
    // force by then. `__fx_first_month` is joined in by sqlSignalIssues.
    const currency = pv(currencyColumn(source));
    const at = pv(spec.columns.find((x) => x.name === spec.fxAt)!);
    out.push({
      column: 'currency',
      when: `${d.sqlRegexpMatches(currency, '[A-Z]{3}')} AND ${currency} <> ${s(reportingCurrency)} AND ${at} IS NOT NULL
        AND (__fx_first_month IS NULL OR __fx_first_month > ${d.sqlMonthIndex(at)})`,
      expected: s(`a rate in fx_rates for this currency in force at ${spec.fxAt} (reporting currency ${reportingCurrency})`),
      severity: 'error',
    });
  }
  // A repeated key names the row that came first.
  const allKeys = spec.key.map((k) => `NOT ${blank(q(k))}`).join(' AND ');
  out.push({
    column: spec.key.join(', '),
    when: `${allKeys} AND __first_row < __row`,
    expected: `${s(`a unique ${spec.key.join(' + ')} (first used on row `)} || __first_row || ')'`,
    severity: 'error',
  });
  if (hasAccountsFile) {
    out.push({
      column: 'account_id',
      when: `NOT ${blank('account_id')} AND NOT EXISTS (SELECT 1 FROM raw_accounts a WHERE trim(a.account_id) = trim(src.account_id))`,
      expected: s('an account listed in accounts'),
      severity: 'warning',
    });
  }
  return out;
}

/**
 * Rows of `validation_issues` for one signal file: one pass evaluates every rule on every row and
 * keeps only rows that break one (`signal_check`), then each rule's rows are listed from that.
 */
export function sqlSignalIssues(
  d: Dialect,
  source: SignalSourceName,
  file: string,
  hasAccountsFile: boolean,
  reportingCurrency: string,
  timeZone = 'UTC',
): string[] {
  const q = d.quoteIdent;
  const spec = SIGNAL_SOURCES[source];
  const keyCols = spec.key.map((k) => `trim(${q(k)})`);
  const keyJoin = spec.key.map((k, i) => `k.k${i} = trim(r.${q(k)})`).join(' AND ');
  const list = rules(d, source, hasAccountsFile, reportingCurrency, timeZone);
  const flags = list.map((r, i) => `coalesce(${r.when}, FALSE) AS rule_${i}`).join(',\n         ');
  const anyFlag = list.map((_r, i) => `rule_${i}`).join(' OR ');
  // Repeated keys are found by aggregation (cheaper than a window over every row); usually there
  // are none, and joining every row to an empty table costs next to nothing.
  const repeated = `CREATE OR REPLACE TEMP TABLE signal_repeated AS
    SELECT ${keyCols.map((k, i) => `${k} AS k${i}`).join(', ')}, min(__row) AS first_row FROM raw_${source} GROUP BY ALL HAVING count(*) > 1`;
  const fx =
    spec.fxAt === undefined
      ? { column: '', join: '' }
      : {
          column: ', fxb.first_month AS __fx_first_month',
          join: `LEFT JOIN fx_bounds fxb ON fxb.currency = ${parsed(d, currencyColumn(source), 'r', timeZone)}`,
        };
  const check = `CREATE OR REPLACE TEMP TABLE signal_check AS
    WITH src AS (SELECT r.*, k.first_row AS __first_row${fx.column} FROM raw_${source} r LEFT JOIN signal_repeated k ON ${keyJoin} ${fx.join}),
    flagged AS (SELECT *, ${flags} FROM src)
    SELECT * FROM flagged WHERE ${anyFlag}`;
  const selects = list.map((r, i) => {
    const asWritten = (c: string): string => (ID_COLUMNS.has(c) ? sqlIdAsWritten(d, c) : q(c));
    const value = r.column.includes(', ') ? spec.key.map((k) => `coalesce(${asWritten(k)}, '')`).join(` || ' + ' || `) : asWritten(r.column);
    return `SELECT ${d.quoteString(source)} AS source, ${d.quoteString(file)} AS file, __row AS row, ${d.quoteString(r.column)} AS "column", ${value} AS value, ${r.expected} AS expected, ${d.quoteString(r.severity)} AS severity FROM signal_check WHERE rule_${i}`;
  });
  return [repeated, check, `INSERT INTO validation_issues ${selects.join('\nUNION ALL\n')}`, 'DROP TABLE signal_check', 'DROP TABLE signal_repeated'];
}

/**
 * `signal_<source>`: typed, trimmed, enumerations in their contract value (synonyms resolved); rows
 * with an error left out. Weeks missing from product_usage are left missing: the account record
 * counts them as weeks of zeros (account-record-sql), so the rule holds as of any day.
 */
export function sqlSignalTable(d: Dialect, source: SignalSourceName, present: boolean, hasErrors: boolean, timeZone = 'UTC'): string {
  const spec = SIGNAL_SOURCES[source];
  const cols = spec.columns.map((c) => `CAST(${parsed(d, c, undefined, timeZone)} AS ${signalSqlType(d, c.type)}) AS ${d.quoteIdent(c.name)}`);
  if (!present) {
    const empty = spec.columns.map((c) => `CAST(NULL AS ${signalSqlType(d, c.type)}) AS ${d.quoteIdent(c.name)}`);
    return `CREATE OR REPLACE TABLE signal_${source} AS SELECT NULL::BIGINT AS row_no, ${empty.join(', ')} WHERE FALSE`;
  }
  const ok = hasErrors
    ? `WHERE NOT EXISTS (SELECT 1 FROM validation_issues v WHERE v.source = ${d.quoteString(source)} AND v.severity = 'error' AND v.row = __row)`
    : '';
  return `CREATE OR REPLACE TABLE signal_${source} AS SELECT __row AS row_no, ${cols.join(', ')} FROM raw_${source} ${ok}`;
}
