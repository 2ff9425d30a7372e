import { createHash } from 'node:crypto';
import type { Policies } from '../config/policies.js';
import { SIGNAL_SOURCES, type SignalSourceName } from '../contract/signal-contract.js';

/**
 * The workspace store's layout (docs/store.md). The version changes whenever a table, a column or
 * the meaning of a value changes; a store of another version is rebuilt from the files (an older
 * one) or refused (a newer one), never read as if it were this one.
 */
export const STORE_SCHEMA_VERSION = 2;

/** The marker every store carries in `nrr_store_meta`: a file without it is not a store. */
export const STORE_FORMAT = 'nrr-workspace-store';

/** Where the store lives in the data folder unless the config (`store_file`) says otherwise. */
export const DEFAULT_STORE_FILE = '.nrr/workspace.duckdb';

/** The name the store is attached under; queries read it through views of the same names. */
export const STORE_CATALOG = 'nrr_store';

/**
 * The store's options when it is attached for writing: row groups of 16,384 rows instead of
 * DuckDB's 122,880. DuckDB skips a row group by the least and greatest account it holds, so
 * reading or replacing one account's rows (an ingested change, `nrr account`) reads an eighth as
 * many rows (docs/store.md); scans of whole tables take no longer. Rows written by a writer that
 * attached the store without it go in row groups of the default size.
 */
export const STORE_WRITE_OPTIONS = '(ROW_GROUP_SIZE 16384)';

/** The typed rows of every source, as the contract reads them (with `row_no`, the row in its file). */
export const SOURCE_TABLES = ['lines', 'usage_charges', 'accounts', 'fx_rates', 'fx_periods', 'fx_bounds', 'fx_month_rates'] as const;

export const signalTable = (s: SignalSourceName): string => `signal_${s}`;
export const SIGNAL_TABLES = (Object.keys(SIGNAL_SOURCES) as SignalSourceName[]).map(signalTable);

/**
 * The model, kept per account: every row belongs to one account and is recomputed, with the rest
 * of that account's rows, when a row of that account changes.
 */
export const ACCOUNT_MODEL_TABLES = ['usage_set_aside', 'product_ranges', 'account_changes', 'account_first_revenue'] as const;

/** The rows per account of the sources (what a change of an account replaces). */
export const ACCOUNT_SOURCE_TABLES = ['lines', 'usage_charges', 'accounts'] as const;

/** The store's own tables: what it is, what it was built from, and the changes ingested into it. */
export const META_TABLES = {
  meta: 'nrr_store_meta',
  files: 'nrr_store_files',
  ingested: 'nrr_ingested',
} as const;

export const META_DDL = [
  `CREATE TABLE IF NOT EXISTS ${META_TABLES.meta} (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS ${META_TABLES.files} (source VARCHAR PRIMARY KEY, file VARCHAR NOT NULL, size BIGINT NOT NULL,
     mtime_ns VARCHAR NOT NULL, sha256 VARCHAR NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS ${META_TABLES.ingested} (seq BIGINT PRIMARY KEY, batch_id VARCHAR NOT NULL, source VARCHAR NOT NULL,
     item INTEGER NOT NULL, op VARCHAR NOT NULL, key VARCHAR NOT NULL, row_json VARCHAR, received_at TIMESTAMP NOT NULL)`,
];

/** The policies that change what the store holds; the others only change how it is reported. */
const MODEL_POLICIES = ['snapshot', 'usage', 'fx', 'reporting_currency', 'reactivation_window_months', 'timezone'] as const;

/**
 * What the store's tables were computed under: its layout and the policies that shape the model.
 * A store built under other policies is rebuilt, never read as if they were the same.
 */
export function modelKey(p: Policies): string {
  const parts = { schema: STORE_SCHEMA_VERSION, ...Object.fromEntries(MODEL_POLICIES.map((k) => [k, p[k]])) };
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}
