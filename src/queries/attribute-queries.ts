import { sqlAccountFilter, type AccountFilter } from '../engine/account-filter.js';
import type { Workspace } from '../workspace/workspace.js';
import { checkFilter } from './series-queries.js';

/** Attributes with at most this many distinct values are offered as they are. */
export const MOST_CATEGORIES = 50;

/**
 * An account attribute the figures can be filtered and grouped by:
 * - `categorical`: at most MOST_CATEGORIES distinct values, each offered;
 * - `date`: more values, nearly all dates: offered by year (the filter `signup_date=2024`);
 * - `number`: more values, nearly all numbers: offered in ranges (the filter `icp_fit=40..60`).
 * Free text with more values (names, ids) is not offered.
 */
export interface AttributeChoice {
  readonly name: string;
  readonly kind: 'categorical' | 'date' | 'number';
  /** Values (or buckets) with the number of accounts of the accounts file holding each; `(none)` for empty. */
  readonly values: readonly { readonly value: string; readonly accounts: number }[];
}

/** The share of non-empty values that must read as dates (or numbers) for an attribute to be bucketed as such. */
const TYPED_SHARE = 0.95;

/**
 * The attributes of the accounts a page can offer as filters and groups, with their values.
 * @example (await attributeChoices(ws)).find((a) => a.name === 'segment').values // [{ value: 'smb', accounts: 1234 }, …]
 */
export async function attributeChoices(ws: Workspace): Promise<AttributeChoice[]> {
  const d = ws.driver.dialect;
  const attrs = ws.attributes.filter((a) => a !== 'name');
  if (attrs.length === 0) return [];
  const col = (a: string): string => `CAST(${d.quoteIdent(a)} AS VARCHAR)`;
  const [profile] = await ws.query(
    `SELECT ${attrs
      .map(
        (a, i) =>
          `count(DISTINCT ${col(a)}) AS n${i}, count(${col(a)}) FILTER (WHERE ${col(a)} <> '') AS filled${i},
           count(*) FILTER (WHERE TRY_CAST(${col(a)} AS DATE) IS NOT NULL) AS dates${i},
           count(*) FILTER (WHERE TRY_CAST(${col(a)} AS DOUBLE) IS NOT NULL) AS numbers${i},
           min(TRY_CAST(${col(a)} AS DOUBLE)) AS lo${i}, max(TRY_CAST(${col(a)} AS DOUBLE)) AS hi${i}`,
      )
      .join(', ')} FROM accounts`,
  );
  const out: AttributeChoice[] = [];
  for (const [i, a] of attrs.entries()) {
    const p = (k: string): number => Number(profile?.[`${k}${i}`] ?? 0);
    const label = (expr: string): string => `coalesce(nullif(${expr}, ''), '(none)')`;
    const counted = async (expr: string): Promise<{ value: string; accounts: number }[]> =>
      (await ws.query(`SELECT ${expr} AS value, count(*) AS accounts FROM accounts GROUP BY 1 ORDER BY accounts DESC, value`)).map((r) => ({
        value: String(r['value']),
        accounts: Number(r['accounts']),
      }));
    if (p('n') <= MOST_CATEGORIES) {
      out.push({ name: a, kind: 'categorical', values: await counted(label(col(a))) });
    } else if (p('dates') >= TYPED_SHARE * p('filled')) {
      out.push({ name: a, kind: 'date', values: await counted(label(`CAST(year(TRY_CAST(${col(a)} AS DATE)) AS VARCHAR)`)) });
    } else if (p('numbers') >= TYPED_SHARE * p('filled')) {
      const edges = niceEdges(p('lo'), p('hi'));
      const bucket = edges
        .slice(0, -1)
        .map((lo, k) => `WHEN TRY_CAST(${col(a)} AS DOUBLE) < ${edges[k + 1]} THEN '${lo}..${edges[k + 1]}'`)
        .join(' ');
      const values = await counted(`CASE WHEN TRY_CAST(${col(a)} AS DOUBLE) IS NULL THEN '(none)' ${bucket} ELSE '${edges.at(-1)}..' END`);
      out.push({ name: a, kind: 'number', values: values.sort((x, y) => bucketStart(x.value) - bucketStart(y.value)) });
    }
  }
  return out;
}

const bucketStart = (v: string): number => (v === '(none)' ? Number.POSITIVE_INFINITY : Number(v.split('..')[0]));

/**
 * Round bucket edges covering [lo, hi]: about five buckets of a width of 1, 2 or 5 × 10^k; the
 * last edge is above hi, so every value falls in a bucket `a..b` (a included, b excluded).
 * @example niceEdges(3, 97) // [0, 20, 40, 60, 80, 100]
 */
export function niceEdges(lo: number, hi: number): number[] {
  const raw = Math.max((hi - lo) / 5, 1e-9);
  const pow = 10 ** Math.floor(Math.log10(raw));
  const width = [1, 2, 5, 10].map((m) => m * pow).find((w) => w >= raw)!;
  const start = Math.floor(lo / width) * width;
  const edges: number[] = [];
  for (let e = start; edges.length === 0 || edges.at(-1)! <= hi; e += width) edges.push(Number(e.toPrecision(12)));
  return edges;
}

/** The ids of the accounts a filter keeps. */
export async function filteredAccountIds(ws: Workspace, where: AccountFilter): Promise<string[]> {
  checkFilter(ws, where);
  const rows = await ws.query(`SELECT account_id FROM accounts WHERE ${sqlAccountFilter(ws.driver.dialect, where, 'account_id')}`);
  return rows.map((r) => String(r['account_id']));
}

/**
 * When a filter keeps no account, a sentence saying so and why: each condition that alone matches
 * nothing is named, with the values that attribute does have (a typo reads as a typo, not as a
 * company of zeros); null when some account passes.
 * @example await unmatchedFilterNote(ws, { segment: 'enterprize' }) // "no account matches segment=enterprize (segment has: smb, …)"
 */
export async function unmatchedFilterNote(ws: Workspace, where: AccountFilter): Promise<string | null> {
  checkFilter(ws, where);
  const d = ws.driver.dialect;
  const entries = Object.entries(where);
  const [counts] = await ws.query(
    `SELECT count(*) FILTER (WHERE ${sqlAccountFilter(d, where, 'account_id')}) AS all_of,
       ${entries.map(([k, v], i) => `count(*) FILTER (WHERE ${sqlAccountFilter(d, { [k]: v }, 'account_id')}) AS one${i}`).join(', ')}
     FROM accounts`,
  );
  if (Number(counts?.['all_of'] ?? 0) > 0) return null;
  const shown = entries.map(([k, v]) => `${k}=${v}`).join(' and ');
  const empty = entries.filter((_, i) => Number(counts?.[`one${i}`] ?? 0) === 0);
  if (empty.length === 0) return `no account matches ${shown} together (each matches some accounts alone): every figure is of no accounts`;
  const notes: string[] = [];
  for (const [k] of empty) {
    const values = await ws.query(
      `SELECT coalesce(nullif(CAST(${d.quoteIdent(k)} AS VARCHAR), ''), '(none)') AS value, count(*) AS n FROM accounts GROUP BY 1 ORDER BY n DESC, value LIMIT 11`,
    );
    const listed = values.slice(0, 10).map((r) => String(r['value']));
    notes.push(`${k} has ${listed.join(', ')}${values.length > 10 ? ', …' : ''}`);
  }
  return `no account matches ${shown}: every figure is of no accounts (${notes.join('; ')})`;
}
