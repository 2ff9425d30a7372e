import { SOURCES, type SourceName } from '../contract/data-contract.js';
import type { SourceTable, SourceTables } from '../config/warehouse-config.js';
import type { Driver } from '../drivers/driver.js';
import { DuckDbDriver } from '../drivers/duckdb-driver.js';
import { columnsOf, copyAsText, type TableColumn } from '../drivers/table-text.js';
import { NrrError } from '../errors.js';
import { loadRaw, makeRaw, type LoadedSource } from './load-sources.js';

/** The database that holds the tables of the config's `warehouse.tables`. */
export interface TableDatabase {
  readonly driver: Driver;
  /** As messages name it: 'PostgreSQL', 'the DuckDB file billing.duckdb'… */
  readonly label: string;
  /** A table's name as the config gives it (split at its dots) → the parts that name it in `driver`. */
  readonly parts: (name: readonly string[]) => readonly string[];
  /**
   * The schema the model's tables are made in (PostgreSQL's `?schema=`), whose tables of the
   * model's names are replaced: a source's table may not lie there.
   */
  readonly modelSchema?: string;
}

/**
 * The columns that name a row of each source in messages (a table's rows have no line numbers):
 * the first list whose columns the table has all of.
 */
const ROW_KEYS: Record<SourceName, readonly (readonly string[])[]> = {
  subscriptions: [['account_id', 'line_id'], ['account_id', 'product', 'start_date'], ['account_id', 'start_date']],
  accounts: [['account_id']],
  usage: [['account_id', 'product', 'month'], ['account_id', 'month']],
  fx_rates: [['currency', 'month']],
};

/**
 * Makes `raw_<source>` of each source from its table in the warehouse, as loadRawSources does from
 * files: the same columns, every value as exact text, so that the same rules give the same
 * messages. A table's rows are numbered in the order of their key columns (then of every column),
 * and `__key` names each row by its key columns. A source without a table is absent, as a missing
 * optional file is.
 */
export async function loadRawTables(driver: Driver, tables: SourceTables, db: TableDatabase): Promise<Record<SourceName, LoadedSource>> {
  if (!(driver instanceof DuckDbDriver)) throw new Error('the tables of a warehouse are checked by DuckDB');
  const out = {} as Record<SourceName, LoadedSource>;
  for (const spec of Object.values(SOURCES)) {
    const full = { ...spec, columns: [...spec.columns, ...(spec.alternatives ?? [])] };
    const t = tables[spec.name];
    out[spec.name] = t === undefined ? await loadRaw(driver, full, undefined) : await loadTable(driver, full, t, db);
  }
  return out;
}

async function loadTable(duck: DuckDbDriver, spec: (typeof SOURCES)[SourceName], t: SourceTable, db: TableDatabase): Promise<LoadedSource> {
  const where = `warehouse.tables.${spec.name}`;
  const parts = db.parts(t.table.split('.'));
  if (db.modelSchema !== undefined && (parts.length < 2 || parts[parts.length - 2] === db.modelSchema)) {
    throw new NrrError(
      `${t.table} (${where} in the config): the table must be named with its schema, and not lie in the schema '${db.modelSchema}' where nrr makes the model's tables (lines, accounts, fx_rates…, replacing tables of those names); give --store another ?schema=`,
    );
  }
  const columns = await columnsOf(db.driver, parts);
  if (columns.length === 0) {
    throw new NrrError(`${t.table}: no table or view of that name in ${db.label} (${where} in the config); name it with its schema, as analytics.billing_lines`);
  }
  const staged = stagedColumns(t, columns, where);
  const d = duck.dialect;
  const staging = `staged_${spec.name}`;
  await copyAsText(db.driver, parts, staged, duck, staging);
  const names = staged.map((c) => c.as);
  const named = (c: string): string | undefined => names.find((n) => n.toLowerCase() === c);
  const key = (ROW_KEYS[spec.name].find((k) => k.every((c) => named(c) !== undefined)) ?? []).map((c) => ({ c, at: named(c)! }));
  const order = [...key.map((k) => d.quoteIdent(k.at)), ...names.filter((n) => !key.some((k) => k.at === n)).map((n) => d.quoteIdent(n))];
  const keyText =
    key.length === 0
      ? 'NULL::VARCHAR'
      : `concat_ws(', ', ${key.map((k) => `${d.quoteString(`${k.c} `)} || coalesce('''' || ${d.quoteIdent(k.at)} || '''', '(empty)')`).join(', ')})`;
  const read = (): string => `SELECT *, row_number() OVER (ORDER BY ${order.join(', ')}) AS __row, ${keyText} AS __key FROM ${staging}`;
  try {
    return await makeRaw(duck, spec, {
      label: t.table,
      columns: names,
      types: null,
      read,
      relation: 'table',
      keyed: true,
      failure: (e) => `${t.table}: cannot be read from ${db.label}: ${e instanceof Error ? e.message : String(e)}`,
      jsonPath: null,
    });
  } finally {
    await duck.exec(`DROP TABLE IF EXISTS ${staging}`);
  }
}

/**
 * The table's columns under the names the contract reads: a column the config renames takes its
 * contract name (a column of the table already called so is then left out); the others keep theirs.
 */
function stagedColumns(t: SourceTable, columns: readonly TableColumn[], where: string): { column: TableColumn; as: string }[] {
  const renamed = new Map<string, string>();
  for (const [contract, actual] of Object.entries(t.columns)) {
    if (actual === undefined) continue;
    const found = columns.find((c) => c.name === actual) ?? columns.find((c) => c.name.toLowerCase() === actual.toLowerCase());
    if (found === undefined) {
      throw new NrrError(
        `${t.table}: no column '${actual}' (${where}.columns.${contract} in the config); the table's columns: ${columns.map((c) => c.name).join(', ')}`,
      );
    }
    renamed.set(found.name, contract);
  }
  const contractNames = new Set(renamed.values());
  return columns.flatMap((c) => {
    const as = renamed.get(c.name);
    if (as !== undefined) return [{ column: c, as }];
    return contractNames.has(c.name.toLowerCase()) ? [] : [{ column: c, as: c.name }];
  });
}
