import type { Dialect, NativeColumn } from '../engine/dialect.js';
import { sqlFxLookups, sqlFxPeriods, sqlRateAt } from '../engine/fx-model.js';
import { sqlLineMonths, sqlLineValues } from '../engine/ledger-model.js';
import type { Policies } from '../config/policies.js';
import { SIGNAL_SOURCES } from './signal-contract.js';
import { DEFAULT_PRODUCT, SOURCES, type SourceName, type SubscriptionForm } from './data-contract.js';
import { CONTROL_EXPECTED, ID_COLUMNS, sqlControlDetail, sqlHasControl, sqlIdAsWritten, sqlOddId } from './value-rules-sql.js';

/**
 * Pure SQL builders that turn the raw tables (`raw_<source>`: every value as text, except the
 * typed dates and money of a Parquet file, plus `__row`) into parsed tables, the list of problems
 * (`validation_issues`) and the typed tables the model reads.
 */

interface Rule {
  readonly column: string;
  /** True when the row breaks the rule; evaluated over `parsed_<source>`. */
  readonly when: string;
  readonly expected: string;
  /** A text expression over the raw row that says what exactly is wrong, appended to `expected` when not NULL. */
  readonly detail?: string;
  readonly severity?: 'error' | 'warning';
  /** A control character in a text column: the pass tests every text column at once. */
  readonly control?: true;
}

/** What a date column expects; sqlDateProblem says which part of a value is wrong. */
export const DATE_EXPECTED = 'a date as YYYY-MM-DD (a time and offset may follow, as in 2024-03-05T14:30:00Z)';

/** A source file that was read: its name, for messages, and the columns it holds in their own type. */
export interface SourceRead {
  readonly file: string;
  readonly native: Readonly<Record<string, NativeColumn>>;
  /** The file's own column names; they say which form a subscriptions file uses. */
  readonly columns?: readonly string[];
}

/** The form of a subscriptions file: `mrr` when it has that column (load-sources refuses two forms). */
export function subscriptionForm(read: SourceRead | undefined): SubscriptionForm {
  return read?.columns?.some((c) => c.trim().toLowerCase() === 'mrr') ? 'mrr' : 'amount';
}

/** Columns of the contract, other than dates and money, whose value is read as a word, a code or a number. */
const PARSED_TEXT_COLUMNS: ReadonlySet<string> = new Set(['interval', 'currency', 'month']);

/**
 * True when a column's own rule already refuses any text holding a control character: a date, an
 * amount, an interval, a currency code, a month or a rate that passes it holds none (trim removes
 * only spaces). The pass need not test such a column for control characters to flag its row; the
 * messages still test every rule, so they are the same.
 */
function refusesControl(source: SourceName, column: string): boolean {
  const spec = SOURCES[source];
  const col = [...spec.columns, ...(spec.alternatives ?? [])].find((c) => c.name === column);
  return col !== undefined && (col.kind !== 'text' || PARSED_TEXT_COLUMNS.has(column));
}

/** The weekly price → MRR factor, 52 ÷ 12 = 13 ÷ 3: an amount per N weeks is × 13 ÷ (3 N) a month. */
const WEEK_NUMERATOR = 13;
const WEEK_DENOMINATOR = 3;
/** Millionths below this × 13 still fit 64 bits; larger weekly amounts take the exact 128-bit lane. */
const WEEK_MICROS_LIMIT = '700000000000000000';
/** A weekly amount × 13 must still fit money (26 digits before the point); a larger one is refused. */
const WEEK_AMOUNT_LIMIT = '1000000000000000000000000';

/** Which source files the data folder holds: rules that compare files depend on it. */
export type SourceFiles = Partial<Record<SourceName, SourceRead>>;

/** Reads the columns of a raw table: text is parsed; a typed column (see load-sources) is taken as it is. */
interface ColumnReader {
  /** True when the value is missing: NULL, or text of blanks. */
  blank(c: string): string;
  date(c: string): string;
  money(c: string): string;
  micros(c: string): string;
  rate(c: string): string;
  /** The value as text, for messages. */
  text(c: string): string;
}

const textBlank = (c: string): string => `(${c} IS NULL OR trim(${c}) = '')`;

function columnReader(d: Dialect, read: SourceRead | undefined, timeZone = 'UTC'): ColumnReader {
  const native = read?.native ?? {};
  // `s.amount` and `"amount"` name the column `amount`.
  const of = (c: string): NativeColumn | undefined => native[c.replace(/^.*\./, '').replaceAll('"', '')];
  const isMoney = (n: NativeColumn | undefined): n is NativeColumn => n?.type === 'decimal' || n?.type === 'integer';
  return {
    blank: (c) => (of(c) ? `(${c} IS NULL)` : textBlank(c)),
    date: (c) => {
      const n = of(c);
      return n && !isMoney(n) ? d.sqlNativeDate(c, n, timeZone) : d.sqlTryDate(c, timeZone);
    },
    money: (c) => (isMoney(of(c)) ? d.sqlNativeMoney(c) : d.sqlTryMoney(c)),
    micros: (c) => {
      const n = of(c);
      return isMoney(n) ? d.sqlNativeMicros(c, n) : d.sqlTryMicros(c);
    },
    rate: (c) => (isMoney(of(c)) ? d.sqlNativeRate(c) : d.sqlTryRate(c)),
    text: (c) => (of(c) ? d.sqlText(c) : c),
  };
}

/**
 * Keys that occur more than once, with the first row that used each: a hash aggregate rather
 * than a window over every row, since duplicates are rare and the table may hold millions of rows.
 */
function sqlDuplicateKeys(table: string, keys: (alias: string) => readonly string[], where: string): string {
  const k = keys('r').map((e, i) => `${e} AS k${i}`).join(', ');
  return `SELECT ${k}, min(r.__row) AS first_row FROM ${table} r WHERE ${where} GROUP BY ALL HAVING count(*) > 1`;
}

/** `LEFT JOIN` of a source row (`alias`) to its duplicate keys, as `dup`. */
function joinDuplicates(table: string, alias: string, keys: (alias: string) => readonly string[], where = 'TRUE'): string {
  const on = keys(alias).map((e, i) => `dup.k${i} = ${e}`).join(' AND ');
  return `LEFT JOIN (${sqlDuplicateKeys(table, keys, where)}) dup ON ${on}`;
}

/** The parsed columns of `parsed_subscriptions`; with the ledger's, they become `lines` (sqlTypedTables). */
const SUBSCRIPTION_COLUMNS = [
  'p_start', 'p_end', 'p_amount', 'p_discount', 'p_interval', 'p_weeks', 'p_currency', 'p_product', 'p_account',
  'p_line_id', 'p_line_given', 'p_first_row', 'p_known_account', 'p_fx_first_month',
] as const;

/** The columns of `parsed_subscriptions` that `lines` keeps, in their order there (sqlTypedTables renames them). */
const LINE_COLUMNS = [
  '__row', 'p_start', 'p_end', 'p_amount', 'p_discount', 'p_interval', 'p_weeks', 'p_currency', 'p_product', 'p_account',
  'p_line_id', 'p_from_month', 'p_to_month', 'p_mrr_local', 'p_mrr_start_rate',
] as const;

/** Columns of `parsed_subscriptions` that only serve the checks: dropped when it becomes `lines`. */
const SUBSCRIPTION_CHECK_COLUMNS = ['p_line_given', 'p_first_row', 'p_known_account', 'p_fx_first_month', 'p_flagged'] as const;

/**
 * Duplicate line ids, found once the lines are parsed: a hash aggregate over the parsed ids,
 * already trimmed and in memory, instead of a second read of the file before the parse. Only
 * given ids count (a blank id is the row's own 'row N'). A later use of an id is flagged and
 * names the row that used it first; the first use is left as it is.
 */
function sqlFlagDuplicateLineIds(): string {
  return `UPDATE parsed_subscriptions p SET p_first_row = dup.first_row, p_flagged = TRUE
    FROM (SELECT p_line_id AS line_id, min(__row) AS first_row FROM parsed_subscriptions
          WHERE p_line_given GROUP BY p_line_id HAVING count(*) > 1) dup
    WHERE p.p_line_given AND p.p_line_id = dup.line_id AND p.__row > dup.first_row`;
}

/**
 * `parsed_<source>`: per row, its file row (`__row`), the parsed values (`p_*`) and `p_flagged`,
 * true when the row breaks any rule or spells an id otherwise (sqlOddId). The raw text is not copied: problems are rare, so the
 * validation issues join the raw row back only for flagged rows. Subscription rows also carry
 * what the ledger needs of them (months in force, MRR in their own currency and at their start
 * rate): `lines` is this table once the rows with errors are gone. So the typed rates
 * (`fx_rates`, `fx_periods` and the lookups of engine/fx-model.ts) are made here, before the lines.
 * Duplicate line ids are flagged after the parse (sqlFlagDuplicateLineIds). `ordered` writes the
 * subscriptions in the order of their accounts (a store keeps `lines` so: see sync-store.ts).
 */
export function sqlParsedTables(d: Dialect, p: Policies, files: SourceFiles, ordered = false): string[] {
  const q = d.quoteIdent;
  const blank = textBlank;
  const mi = (e: string): string => d.sqlMonthIndex(e);
  const monthToDate = (c: string): string => d.sqlTryMonth(`trim(${c})`);
  const currency = (c: string): string => `CASE WHEN ${blank(c)} THEN ${d.quoteString(p.reporting_currency)} ELSE upper(trim(${c})) END`;
  const product = (c: string): string => `CASE WHEN ${blank(c)} THEN ${d.quoteString(DEFAULT_PRODUCT)} ELSE trim(${c}) END`;
  const iv = `lower(trim(${q('interval')}))`;
  const all = rules(d, p, files);
  const subs = columnReader(d, files.subscriptions, p.timezone);
  const usage = columnReader(d, files.usage, p.timezone);
  const mrrForm = subscriptionForm(files.subscriptions) === 'mrr';
  const value = mrrForm ? 'mrr' : 'amount';
  /**
   * Every rule of the source, as one condition over the parsed columns (NULL counts as not broken:
   * (a OR b) IS TRUE when a or b is). One pattern over every free-text column joined together finds a
   * control character in any of them (a column whose own rule refuses one needs no second test).
   */
  const flagged = (source: SourceName): string => {
    // An account id listed in accounts was tested there, once (known_account_ids).
    const knownId = files.accounts !== undefined && (source === 'subscriptions' || source === 'usage');
    const control = all[source].filter((r) => r.control && !(knownId && r.column === 'account_id') && !refusesControl(source, r.column));
    const others = all[source].filter((r) => !r.control).map((r) => r.when);
    const knownControl = all[source].some((r) => r.control && r.column === 'account_id') && knownId
      ? [`CASE WHEN p_known_account THEN p_known_control ELSE ${sqlHasControl(d, 'account_id')} END`]
      : [];
    const whens = [...others, ...knownControl, ...(control.length === 0 ? [] : [sqlHasControl(d, `concat(${control.map((r) => d.quoteIdent(r.column)).join(', ')})`)])];
    return whens.length === 0 ? 'FALSE' : `coalesce(${whens.map((w) => `(${w})`).join('\n         OR ')}, FALSE)`;
  };
  /** Rows that spell an id otherwise are flagged too, for the near-duplicate warning (sqlNearDuplicateIds). */
  const oddIds = (source: SourceName): string =>
    `(${sqlOddId(d, SOURCES[source].columns.map((c) => c.name).filter((c) => ID_COLUMNS.has(c)))})`;
  /**
   * Whether a row's account id is listed in accounts, and whether that id holds a control character
   * (tested once per id: see flagged): a join to the distinct ids, so it cannot repeat the row. An
   * id is read in its normal form, already trimmed (load-sources).
   */
  const known =
    files.accounts === undefined
      ? { columns: 'TRUE AS p_known_account, NULL::BOOLEAN AS p_known_control,', join: (): string => '' }
      : {
          columns: 'ka.id IS NOT NULL AS p_known_account, ka.control AS p_known_control,',
          join: (id: string): string => `LEFT JOIN known_account_ids ka ON ka.id = ${id}`,
        };
  /**
   * Parses in a first step, checks the rules over the parsed values in a second, keeps only the
   * parsed columns; `ledger` adds what the revenue ledger needs of each row, worked out in the same pass.
   */
  const table = (source: SourceName, parse: string, keep: readonly string[], ledger?: { ctes: string; last: string; columns: string }): string =>
    `CREATE OR REPLACE TABLE parsed_${source} AS
     WITH src AS (${parse}), checked AS (SELECT *, ${flagged(source)} OR ${oddIds(source)} AS p_flagged FROM src)${ledger ? `, ${ledger.ctes}` : ''}
     SELECT __row, ${keep.join(', ')}, p_flagged${ledger ? `, ${ledger.columns} FROM ${ledger.last}` : ' FROM checked'}${ordered && source === 'subscriptions' ? ' ORDER BY p_account' : ''}`;
  // Each line's months and values, for the ledger: parsed rows are lines once the rows with errors are gone.
  const months = sqlLineMonths(d, p, 'c.p_start', 'c.p_end');
  const startRate = sqlRateAt(d, p, 'c', 'c.p_currency', mi('c.p_start'));
  // A weekly price is × 13 ÷ (3 N) a month: the amounts are multiplied (exactly) before the division.
  const perWeek = (e: string): string =>
    `CASE WHEN p_weeks IS NULL THEN ${e} WHEN abs(${e}) < ${WEEK_AMOUNT_LIMIT} THEN ${e} * ${WEEK_NUMERATOR} END`;
  const values = sqlLineValues(
    d,
    {
      amount: `(${perWeek('p_amount')})`,
      discount: `(${perWeek('p_discount')})`,
      netMicros: `(CASE WHEN p_weeks IS NULL THEN p_net_micros WHEN abs(p_net_micros) < ${WEEK_MICROS_LIMIT} THEN p_net_micros * ${WEEK_NUMERATOR} END)`,
      interval: `coalesce(${WEEK_DENOMINATOR} * p_weeks, p_interval)`,
      rate: startRate.rate,
      rateE10: startRate.rateE10,
    },
    { relation: `checked c ${startRate.joins}`, alias: 'c' },
    `, ${months.first} AS p_from_month, ${months.end} AS p_to_month`,
  );
  const lineLedger = { ctes: values.ctes, last: values.last, columns: `p_from_month, p_to_month, ${values.columns}` };
  const fxKeys = (a: string): string[] => [`upper(trim(${a}.currency))`, `trim(${a}.month)`];
  // An id is read in its normal form, already trimmed (load-sources).
  const accountKeys = (a: string): string[] => [`${a}.account_id`];
  return [
    ...(files.accounts === undefined ? [] : [sqlKnownAccounts(d)]),
    table(
      'fx_rates',
      `SELECT f.*,
         ${currency('currency')} AS p_currency,
         ${monthToDate('month')} IS NOT NULL AS p_month_ok,
         ${mi(monthToDate('month'))} AS p_month,
         ${columnReader(d, files.fx_rates).rate('rate')} AS p_rate,
         dup.first_row AS p_first_row
       FROM raw_fx_rates f ${joinDuplicates('raw_fx_rates', 'f', fxKeys)}`,
      ['p_currency', 'p_month_ok', 'p_month', 'p_rate', 'p_first_row'],
    ),
    // The rates are typed before the other files are parsed: each line is valued as it is read.
    // Every rule of fx_rates is an error, so a flagged row is a row with an error.
    `CREATE OR REPLACE TABLE fx_rates AS SELECT p_currency AS currency, p_month AS month_index, p_rate AS rate
     FROM parsed_fx_rates WHERE NOT p_flagged`,
    sqlFxPeriods(d, p),
    ...sqlFxLookups(d, p),
    table(
      'subscriptions',
      `SELECT s.*,
         ${subs.date('start_date')} AS p_start,
         ${subs.date('end_date')} AS p_end,
         ${subs.money(value)} AS p_amount,
         ${subs.money('discount')} AS p_discount,
         ${subs.micros(value)} - CASE WHEN ${subs.blank('discount')} THEN 0 ELSE ${subs.micros('discount')} END AS p_net_micros,
         ${mrrForm ? '1' : `CASE WHEN ${q('interval')} = 'month' THEN 1
              WHEN ${q('interval')} = 'year' THEN 12
              WHEN ${q('interval')} = 'quarter' THEN 3
              WHEN ${blank(q('interval'))} THEN 1
              WHEN ${iv} IN ('month', 'monthly') THEN 1
              WHEN ${iv} IN ('quarter', 'quarterly') THEN 3
              WHEN ${iv} IN ('year', 'yearly', 'annual', 'annually') THEN 12
              WHEN ${d.sqlRegexpMatches(iv, '[0-9]{1,3} *months?')} THEN NULLIF(TRY_CAST(regexp_extract(${iv}, '[0-9]+') AS INTEGER), 0)
              -- A weekly term covers its whole months, at least one (the account record reads terms in months).
              WHEN ${iv} IN ('week', 'weekly') THEN 1
              WHEN ${d.sqlRegexpMatches(iv, '[0-9]{1,3} *weeks?')} THEN CASE WHEN TRY_CAST(regexp_extract(${iv}, '[0-9]+') AS INTEGER) > 0 THEN greatest(1, TRY_CAST(regexp_extract(${iv}, '[0-9]+') AS INTEGER) * 12 // 52) END
         END`} AS p_interval,
         ${mrrForm ? 'NULL::INTEGER' : `CASE WHEN ${q('interval')} IN ('month', 'year', 'quarter') THEN NULL
              WHEN ${iv} IN ('week', 'weekly') THEN 1
              WHEN ${d.sqlRegexpMatches(iv, '[0-9]{1,3} *weeks?')} THEN NULLIF(TRY_CAST(regexp_extract(${iv}, '[0-9]+') AS INTEGER), 0)
         END`} AS p_weeks,
         ${currency('currency')} AS p_currency,
         ${product('product')} AS p_product,
         s.t_account AS p_account,
         CASE WHEN s.t_line IS NULL OR s.t_line = '' THEN 'row ' || s.__row ELSE s.t_line END AS p_line_id,
         coalesce(s.t_line <> '', FALSE) AS p_line_given,
         NULL::BIGINT AS p_first_row,
         ${known.columns}
         fxf.first_month AS p_fx_first_month
       FROM (SELECT *, account_id AS t_account, line_id AS t_line FROM raw_subscriptions) s
       LEFT JOIN (SELECT currency AS fx_currency, first_month FROM fx_bounds) fxf ON fxf.fx_currency = ${currency('s.currency')}
       ${known.join('s.t_account')}`,
      SUBSCRIPTION_COLUMNS,
      lineLedger,
    ),
    sqlFlagDuplicateLineIds(),
    table(
      'usage',
      `SELECT u.*,
         ${monthToDate('month')} IS NOT NULL AS p_month_ok,
         ${mi(monthToDate('month'))} AS p_month,
         ${usage.money('amount')} AS p_amount,
         ${currency('currency')} AS p_currency,
         ${product('product')} AS p_product,
         u.account_id AS p_account,
         ${known.columns}
         fxf.first_month AS p_fx_first_month
       FROM raw_usage u
       LEFT JOIN (SELECT currency AS fx_currency, first_month FROM fx_bounds) fxf ON fxf.fx_currency = ${currency('u.currency')}
       ${known.join('u.account_id')}`,
      ['p_month_ok', 'p_month', 'p_amount', 'p_currency', 'p_product', 'p_account', 'p_known_account', 'p_fx_first_month'],
    ),
    table(
      'accounts',
      `SELECT a.*, dup.first_row AS p_first_row
       FROM raw_accounts a ${joinDuplicates('raw_accounts', 'a', accountKeys, `NOT ${blank('r.account_id')}`)}`,
      ['p_first_row'],
    ),
  ];
}

function rules(d: Dialect, p: Policies, files: SourceFiles): Record<SourceName, Rule[]> {
  const hasAccountsFile = files.accounts !== undefined;
  const blank = textBlank;
  const subsBlank = columnReader(d, files.subscriptions).blank;
  const fxBlank = columnReader(d, files.fx_rates).blank;
  const mrrForm = subscriptionForm(files.subscriptions) === 'mrr';
  const value = mrrForm ? 'mrr' : 'amount';
  const dateDetail = (c: string): string => d.sqlDateProblem(columnReader(d, files.subscriptions).text(d.quoteIdent(c)));
  const rep = d.quoteString(p.reporting_currency);
  // The reporting currency is a code (policies) and most rows are in it: the pattern is tried on
  // the others only (a CASE, since both sides of an OR are worked out for every row).
  const isoCode = (c: string): string => `CASE WHEN ${c} = ${rep} THEN FALSE ELSE NOT ${d.sqlRegexpMatches(c, '[A-Z]{3}')} END`;
  const rateMissing = (monthExpr: string): string =>
    `CASE WHEN p_currency = ${rep} THEN FALSE ELSE ${d.sqlRegexpMatches('p_currency', '[A-Z]{3}')} AND (p_fx_first_month IS NULL OR p_fx_first_month > ${monthExpr}) END`;
  const money = (read: SourceRead | undefined, c: string, pc: string, required: boolean): Rule[] => {
    const blank = columnReader(d, read).blank;
    // A typed decimal has at most the places money keeps (load-sources): its text is not looked at.
    const typed = read?.native[c] !== undefined;
    return [
    ...(required ? [{ column: c, when: blank(c), expected: 'a value (required)' }] : []),
    {
      column: c,
      when: `NOT ${blank(c)} AND ${pc} IS NULL`,
      expected: 'a plain number such as 1200.50 (no currency symbols or thousands separators)',
      detail: decimalComma(c),
    },
    { column: c, when: `${pc} < 0`, expected: 'zero or more' },
    // Money keeps 12 places: a digit beyond them would be rounded away, so the value is refused.
    ...(typed
      ? []
      : [
          {
            column: c,
            when: `${pc} IS NOT NULL AND ${d.sqlRegexpMatches(`trim(${d.quoteIdent(c)})`, '[-+]?[0-9]*\\.[0-9]{12}[0-9]*[1-9][0-9]*')}`,
            expected: 'at most 12 places after the decimal point (money keeps 12)',
          },
        ]),
    ];
  };
  // Semicolon-separated exports often write decimals with a comma: say so, with the value to write.
  // Three digits after the comma ('1,200') may be a thousands separator: no guess then.
  const decimalComma = (c: string): string => {
    const t = `trim(${d.sqlText(d.quoteIdent(c))})`;
    return `CASE WHEN ${d.sqlRegexpMatches(t, '[0-9]+,([0-9]{1,2}|[0-9]{4,6})')} THEN 'a decimal comma: write ' || replace(${t}, ',', '.') END`;
  };
  const month = (c: string): Rule[] => [
    { column: c, when: blank(c), expected: 'a value (required)' },
    { column: c, when: `NOT ${blank(c)} AND NOT p_month_ok`, expected: 'a month as YYYY-MM' },
  ];
  // An id is read in its normal form, already trimmed (load-sources).
  const idBlank = `(account_id IS NULL OR account_id = '')`;
  const accountId: Rule = { column: 'account_id', when: idBlank, expected: 'a non-empty account id' };
  const unknownAccount: Rule = {
    column: 'account_id',
    severity: 'warning',
    when: hasAccountsFile
      ? `NOT ${idBlank} AND NOT p_known_account`
      : 'FALSE',
    expected: 'an account listed in accounts (it will have no attributes)',
  };
  const out: Record<SourceName, Rule[]> = {
    subscriptions: [
      accountId,
      unknownAccount,
      { column: 'start_date', when: subsBlank('start_date'), expected: 'a value (required)' },
      { column: 'start_date', when: `NOT ${subsBlank('start_date')} AND p_start IS NULL`, expected: DATE_EXPECTED, detail: dateDetail('start_date') },
      {
        column: 'end_date',
        when: `NOT ${subsBlank('end_date')} AND p_end IS NULL`,
        expected: `${DATE_EXPECTED}, or empty for open-ended`,
        detail: dateDetail('end_date'),
      },
      { column: 'end_date', when: 'p_end < p_start', expected: 'a date on or after start_date (end is exclusive)' },
      ...money(files.subscriptions, value, 'p_amount', true),
      ...(mrrForm
        ? []
        : [
            { column: 'interval', when: 'p_interval IS NULL', expected: "month, quarter, year, week, 'N months' or 'N weeks'" },
            { column: 'amount', when: `p_weeks IS NOT NULL AND abs(p_amount) >= ${WEEK_AMOUNT_LIMIT}`, expected: 'less than 10^24 for a price per week' },
          ]),
      ...money(files.subscriptions, 'discount', 'p_discount', false),
      mrrForm
        ? { column: 'discount', when: 'p_discount > p_amount', expected: 'no more than mrr (with mrr, discount is monthly)' }
        : { column: 'discount', when: 'p_discount > p_amount', expected: 'no more than amount (discount is per interval)' },
      { column: 'currency', when: isoCode('p_currency'), expected: 'a three-letter ISO currency code' },
      {
        column: 'currency',
        when: `p_start IS NOT NULL AND ${rateMissing(d.sqlMonthIndex('p_start'))}`,
        expected: `a rate in fx_rates for this currency in force at start_date (reporting currency ${p.reporting_currency})`,
      },
      { column: 'line_id', when: 'p_first_row IS NOT NULL AND p_first_row < __row', expected: 'a unique line_id (first used on row ' },
    ],
    accounts: [
      accountId,
      { column: 'account_id', when: `NOT ${idBlank} AND p_first_row < __row`, expected: 'a unique account_id (first listed on row ' },
    ],
    usage: [
      accountId,
      unknownAccount,
      ...month('month'),
      ...money(files.usage, 'amount', 'p_amount', true),
      { column: 'currency', when: isoCode('p_currency'), expected: 'a three-letter ISO currency code' },
      { column: 'currency', when: `p_month_ok AND ${rateMissing('p_month')}`, expected: `a rate in fx_rates for this currency in force in that month (reporting currency ${p.reporting_currency})` },
    ],
    fx_rates: [
      { column: 'currency', when: blank('currency'), expected: 'a value (required)' },
      { column: 'currency', when: `NOT ${blank('currency')} AND ${isoCode('p_currency')}`, expected: 'a three-letter ISO currency code' },
      ...month('month'),
      { column: 'rate', when: fxBlank('rate'), expected: 'a value (required)' },
      { column: 'rate', when: `NOT ${fxBlank('rate')} AND (p_rate IS NULL OR p_rate <= 0)`, expected: 'a positive number' },
      { column: 'rate', when: `p_currency = ${rep} AND p_rate <> 1`, expected: `1 (${p.reporting_currency} is the reporting currency)` },
      { column: 'month', when: 'p_first_row < __row', expected: 'one rate per currency and month (first given on row ' },
    ],
  };
  for (const source of Object.keys(out) as SourceName[]) out[source].push(...controlRules(d, source, files[source]));
  return out;
}

/**
 * No control character in any text column of the file: its contract columns and, for accounts, its
 * attributes. Typed columns of a Parquet file hold no text.
 */
function controlRules(d: Dialect, source: SourceName, read: SourceRead | undefined): Rule[] {
  if (read === undefined) return [];
  const spec = SOURCES[source];
  const contract = [...spec.columns, ...(spec.alternatives ?? [])].map((c) => c.name);
  const given = new Set((read.columns ?? []).map((c) => c.trim().toLowerCase()));
  const extra = spec.extraColumnsAreAttributes ? (read.columns ?? []).filter((c) => !contract.includes(c.trim().toLowerCase())) : [];
  const text = [...contract.filter((c) => given.has(c) && read.native[c] === undefined), ...extra];
  return text.map((c) => {
    const q = d.quoteIdent(c);
    return { column: c, when: sqlHasControl(d, q), expected: CONTROL_EXPECTED, detail: sqlControlDetail(d, q), control: true as const };
  });
}

/**
 * `validation_issues`: one row per broken rule per row, with the file's own row number. Only
 * flagged rows are checked rule by rule, with their raw text joined back for the message; the
 * files of `flagged` alone, when given (a file without a flagged row has no issue: its rules need
 * not run at all).
 */
export function sqlValidationIssues(d: Dialect, p: Policies, files: SourceFiles, flagged?: ReadonlySet<string>): string[] {
  const q = d.quoteIdent;
  const ctes: string[] = [];
  const selects: string[] = [];
  const all = rules(d, p, files);
  for (const [source, list] of Object.entries(all) as [SourceName, Rule[]][]) {
    const read = files[source];
    if (read === undefined || (flagged !== undefined && !flagged.has(source))) continue;
    const file = read.file;
    const columns = columnReader(d, read);
    ctes.push(
      `flagged_${source} AS MATERIALIZED (SELECT * FROM parsed_${source} p JOIN raw_${source} r USING (__row) WHERE p.p_flagged)`,
    );
    for (const r of list) {
      // Duplicates name the row that came first; a detail says what exactly is wrong.
      const expected = r.expected.endsWith('row ')
        ? `${d.quoteString(r.expected)} || p_first_row || ')'`
        : r.detail === undefined
          ? d.quoteString(r.expected)
          : `${d.quoteString(r.expected)} || coalesce('; ' || (${r.detail}), '')`;
      selects.push(
        `SELECT ${d.quoteString(source)} AS source, ${d.quoteString(file)} AS file, __row AS row, ${d.quoteString(r.column)} AS "column", ${ID_COLUMNS.has(r.column) ? sqlIdAsWritten(d, r.column) : columns.text(q(r.column))} AS value, ${expected} AS expected, ${d.quoteString(r.severity ?? 'error')} AS severity FROM flagged_${source} AS src WHERE coalesce(${r.when}, FALSE)`,
      );
    }
  }
  // Made empty, then filled when a file has flagged rows: the statement that makes it is the same whichever they are.
  const make = `CREATE OR REPLACE TABLE validation_issues (source VARCHAR, file VARCHAR, row BIGINT, "column" VARCHAR, value VARCHAR, expected VARCHAR, severity VARCHAR)`;
  return selects.length > 0 ? [make, `INSERT INTO validation_issues WITH ${ctes.join(',\n')}\n${selects.join('\nUNION ALL\n')}`] : [make];
}

/**
 * `known_account_ids`: the ids of the accounts file, read once for every file that names accounts
 * (the rule that an account is listed in accounts), and whether each holds a control character:
 * a file's rows with a listed id need not be tested one by one.
 */
export function sqlKnownAccounts(d: Dialect): string {
  return `CREATE OR REPLACE TEMP TABLE known_account_ids AS
    SELECT id, ${sqlHasControl(d, 'id')} AS control FROM (SELECT DISTINCT account_id AS id FROM raw_accounts WHERE account_id IS NOT NULL)`;
}

/** The parsed tables are only needed until the typed tables exist (a signal file's becomes its typed table). */
export function sqlDropParsed(): string[] {
  const signals = Object.keys(SIGNAL_SOURCES).map((s) => `parsed_signal_${s}`);
  return ['parsed_fx_rates', 'parsed_subscriptions', 'parsed_usage', 'parsed_accounts', ...signals, 'known_account_ids'].map(
    (t) => `DROP TABLE IF EXISTS ${t}`,
  );
}

/**
 * The typed tables the model reads, leaving out every row that has an error. `fx_rates` was typed
 * before the lines were parsed (sqlParsedTables). `lines` is `parsed_subscriptions` itself: its
 * rows with errors deleted, the checking columns dropped, the rest renamed (no copy of the data).
 * `ordered` writes the tables kept per account in the order of their accounts (a store's, see
 * sqlParsedTables), so that they are never written once more only to sort them.
 */
export function sqlTypedTables(d: Dialect, attributeColumns: readonly string[], hasErrors: boolean, copy = false, ordered = false): string[] {
  const errorRows = (source: SourceName): string =>
    `SELECT v.row FROM validation_issues v WHERE v.source = '${source}' AND v.severity = 'error'`;
  const ok = (source: SourceName): string => (hasErrors ? `__row NOT IN (${errorRows(source)})` : 'TRUE');
  const attrs = attributeColumns.map((c) => `, ${d.quoteIdent(c)}`).join('');
  const byAccount = ordered ? ' ORDER BY account_id' : '';
  const renames: Record<string, string> = {
    __row: 'row_no',
    p_line_id: 'line_id',
    p_account: 'account_id',
    p_product: 'product',
    p_start: 'start_date',
    p_end: 'end_date',
    p_amount: 'amount',
    p_discount: 'discount',
    p_interval: 'interval_months',
    p_weeks: 'interval_weeks',
    p_currency: 'currency',
    p_mrr_local: 'mrr_local',
    p_from_month: 'from_month',
    p_to_month: 'to_month',
    p_mrr_start_rate: 'mrr_start_rate',
  };
  // Renaming keeps the rows where they are (a file of millions of lines is not copied); a copy
  // creates, alters and drops nothing that already exists (see copyTyped in ReadOptions).
  const lines = copy
    ? [`CREATE OR REPLACE TABLE lines AS SELECT ${LINE_COLUMNS.map((c) => `${c} AS ${renames[c]}`).join(', ')} FROM parsed_subscriptions WHERE ${ok('subscriptions')}${byAccount}`]
    : [
        ...(hasErrors ? [`DELETE FROM parsed_subscriptions WHERE __row IN (${errorRows('subscriptions')})`] : []),
        ...SUBSCRIPTION_CHECK_COLUMNS.map((c) => `ALTER TABLE parsed_subscriptions DROP COLUMN ${c}`),
        ...Object.entries(renames).map(([from, to]) => `ALTER TABLE parsed_subscriptions RENAME COLUMN ${from} TO ${to}`),
        'DROP TABLE IF EXISTS lines',
        'ALTER TABLE parsed_subscriptions RENAME TO lines',
      ];
  return [
    ...lines,
    `CREATE OR REPLACE TABLE usage_charges AS SELECT
       __row AS row_no, p_account AS account_id, p_product AS product, p_month AS month_index,
       CAST(p_amount AS ${d.moneyType}) AS amount_local, p_currency AS currency
     FROM parsed_usage WHERE ${ok('usage')}${byAccount}`,
    `CREATE OR REPLACE TABLE accounts AS SELECT account_id${attrs}
     FROM raw_accounts WHERE ${ok('accounts')}${byAccount}`,
  ];
}
