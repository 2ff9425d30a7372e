import { DEFAULT_PRODUCT, SOURCES, type SourceName } from '../contract/data-contract.js';
import { SIGNAL_SOURCES, type SignalSourceName } from '../contract/signal-contract.js';
import { signalSqlType } from '../contract/signal-validation-sql.js';
import type { Dialect } from '../engine/dialect.js';
import { monthIndex } from '../engine/months.js';
import { NrrError } from '../errors.js';

/** The sources a change can be ingested into (FX rates change every account of a currency: edit the file and sync). */
export type IngestSource = Exclude<SourceName, 'fx_rates'> | SignalSourceName;

export const INGEST_SOURCES: readonly IngestSource[] = ['subscriptions', 'usage', 'accounts', ...(Object.keys(SIGNAL_SOURCES) as SignalSourceName[])];

export const isIngestSource = (s: string): s is IngestSource => (INGEST_SOURCES as readonly string[]).includes(s);

/**
 * How a source's rows are told apart: a row ingested with the key of a row already there replaces
 * it, and a withdrawal names the key of the row to remove. `table` is the typed table holding the
 * rows; `columns` are the key's columns there, with how a key given as contract text becomes one.
 */
export interface SourceKey {
  readonly table: string;
  /** The key as it is written in the data contract (what a withdrawal gives). */
  readonly given: readonly string[];
  readonly columns: readonly { readonly column: string; readonly type: string; readonly from: (v: string) => string | null }[];
}

const text = (v: string): string | null => (v.trim() === '' ? null : v.trim());

export function sourceKey(source: IngestSource, d: Dialect): SourceKey {
  if (source === 'subscriptions') return { table: 'lines', given: ['line_id'], columns: [{ column: 'line_id', type: 'VARCHAR', from: text }] };
  if (source === 'accounts') return { table: 'accounts', given: ['account_id'], columns: [{ column: 'account_id', type: 'VARCHAR', from: text }] };
  if (source === 'usage') {
    return {
      table: 'usage_charges',
      given: ['account_id', 'product', 'month'],
      columns: [
        { column: 'account_id', type: 'VARCHAR', from: text },
        { column: 'product', type: 'VARCHAR', from: (v) => text(v) ?? DEFAULT_PRODUCT },
        { column: 'month_index', type: 'INTEGER', from: (v) => (/^\d{4}-\d{2}$/.test(v.trim()) ? String(monthIndex(v.trim())) : null) },
      ],
    };
  }
  const spec = SIGNAL_SOURCES[source];
  return {
    table: `signal_${source}`,
    given: spec.key,
    columns: spec.key.map((k) => {
      const type = spec.columns.find((c) => c.name === k)!.type;
      const from = (v: string): string | null => {
        const t = v.trim();
        if (t === '') return null;
        if (type === 'month') return /^\d{4}-\d{2}$/.test(t) ? `${t}-01` : /^\d{4}-\d{2}-01$/.test(t) ? t : null;
        if (type === 'date') return /^\d{4}-\d{2}-\d{2}$/.test(t) ? t : null;
        return t;
      };
      return { column: k, type: signalSqlType(d, type), from };
    }),
  };
}

/** The contract's columns of a source (what an ingested row may hold), for messages. */
export function contractColumns(source: IngestSource): readonly string[] {
  if (source in SOURCES) {
    const spec = SOURCES[source as SourceName];
    return [...spec.columns, ...(spec.alternatives ?? [])].map((c) => c.name);
  }
  return SIGNAL_SOURCES[source as SignalSourceName].columns.map((c) => c.name);
}

/**
 * The typed keys of withdrawals, as a VALUES list of the key's columns; refuses a withdrawal whose
 * key is incomplete or not of the key's type, naming it.
 */
export function sqlWithdrawnKeys(key: SourceKey, withdraw: readonly Record<string, unknown>[], d: Dialect, where: string): string | null {
  if (withdraw.length === 0) return null;
  const rows = withdraw.map((w, i) => {
    const values = key.columns.map((c, j) => {
      const name = key.given[j]!;
      const raw = w[name];
      const v = raw === undefined || raw === null ? (c.column === 'product' ? '' : null) : String(raw);
      const typed = v === null ? null : c.from(v);
      if (typed === null) {
        throw new NrrError(`${where} withdraw item ${i + 1}: ${name} ${raw === undefined ? 'is missing' : `'${String(raw)}' is not valid`}: a withdrawal names the row's key (${key.given.join(', ')})`);
      }
      return `CAST(${d.quoteString(typed)} AS ${c.type})`;
    });
    return `(${values.join(', ')})`;
  });
  return `SELECT * FROM (VALUES ${rows.join(', ')}) AS k(${key.columns.map((c) => d.quoteIdent(c.column)).join(', ')})`;
}

/** `t`'s key equals one in `keys` (a relation with the key's columns). */
export function sqlKeyIn(key: SourceKey, t: string, keys: string): string {
  return `EXISTS (SELECT 1 FROM ${keys} k WHERE ${key.columns.map((c) => `k."${c.column}" = ${t}."${c.column}"`).join(' AND ')})`;
}

/** Most keys written into SQL as values (see sqlKeyValuesIn); more are matched through their table. */
export const MOST_KEY_VALUES = 1_000;

/**
 * `t`'s key is one of `keys` (each the key's columns as text, as the database prints them), written
 * out as values: the table is then read only where such keys can be (a filter on a column, not a
 * join), which for a few keys of a large table is most of the work saved. The first column's list
 * comes first so that its values alone already narrow the rows read.
 */
export function sqlKeyValuesIn(key: SourceKey, t: string, keys: readonly (readonly (string | null)[])[], d: Dialect): string {
  const complete = keys.filter((k) => k.every((v) => v !== null)) as (readonly string[])[];
  if (complete.length === 0) return 'FALSE';
  const value = (v: string, j: number): string => `CAST(${d.quoteString(v)} AS ${key.columns[j]!.type})`;
  const column = (j: number): string => `${t}.${d.quoteIdent(key.columns[j]!.column)}`;
  const first = `${column(0)} IN (${[...new Set(complete.map((k) => k[0]!))].map((v) => value(v, 0)).join(', ')})`;
  if (key.columns.length === 1) return first;
  const each = complete.map((k) => `(${k.map((v, j) => `${column(j)} = ${value(v, j)}`).join(' AND ')})`);
  return `(${first} AND (${each.join(' OR ')}))`;
}
