import type { Dialect } from './dialect.js';

/**
 * A filter on account attributes: every entry must hold (AND); the accounts that pass are those
 * the figures are computed over. A value is matched by its form:
 * - `(none)`: the attribute is empty;
 * - `lo..hi`: a number from lo (included) to hi (excluded); either side may be left out (`..100`);
 * - `YYYY` or `YYYY-MM`: the value itself, or a date in that year or month (`signup_date=2024`);
 * - anything else: the value exactly (case-sensitive, as in the file).
 */
export type AccountFilter = Readonly<Record<string, string>>;

const RANGE = /^(-?\d+(?:\.\d+)?)?\.\.(-?\d+(?:\.\d+)?)?$/;
const PERIOD = /^\d{4}(-(0[1-9]|1[0-2]))?$/;

/** Whether a filter asks for anything. */
export function hasFilter(f: AccountFilter | undefined): f is AccountFilter {
  return f !== undefined && Object.keys(f).length > 0;
}

/** A filter in words: `segment=enterprise and region=EMEA`. */
export const filterWords = (where: AccountFilter): string => Object.entries(where).map(([k, v]) => `${k}=${v}`).join(' and ');

/** The SQL condition one attribute's value meets (on the `accounts` table's columns). */
function sqlCondition(d: Dialect, attribute: string, value: string): string {
  const col = `CAST(${d.quoteIdent(attribute)} AS VARCHAR)`;
  if (value === '(none)') return `(${col} IS NULL OR ${col} = '')`;
  const range = RANGE.exec(value);
  if (range && (range[1] !== undefined || range[2] !== undefined)) {
    const n = `TRY_CAST(${col} AS DOUBLE)`;
    return [`${n} IS NOT NULL`, ...(range[1] !== undefined ? [`${n} >= ${range[1]}`] : []), ...(range[2] !== undefined ? [`${n} < ${range[2]}`] : [])].join(' AND ');
  }
  if (PERIOD.test(value)) return `(${col} = ${d.quoteString(value)} OR starts_with(${col}, ${d.quoteString(`${value}-`)}))`;
  return `${col} = ${d.quoteString(value)}`;
}

/**
 * `column IN (the accounts that pass)`, or TRUE without a filter. Attribute names must have been
 * checked against the workspace's attributes (checkFilter) before: they are quoted, not trusted.
 * @example sqlAccountFilter(d, { segment: 'smb' }, 'c.account_id') // c.account_id IN (SELECT account_id FROM accounts WHERE …)
 */
export function sqlAccountFilter(d: Dialect, filter: AccountFilter | undefined, column: string): string {
  if (!hasFilter(filter)) return 'TRUE';
  const conditions = Object.entries(filter).map(([k, v]) => sqlCondition(d, k, v));
  return `${column} IN (SELECT account_id FROM accounts WHERE ${conditions.join(' AND ')})`;
}
