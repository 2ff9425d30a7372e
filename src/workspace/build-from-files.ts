import type { Policies } from '../config/policies.js';
import type { SourceName } from '../contract/data-contract.js';
import type { SignalSourceName } from '../contract/signal-contract.js';
import { sqlSignalTable } from '../contract/signal-validation-sql.js';
import type { SourceFile } from '../contract/source-files.js';
import { sqlDropParsed, sqlTypedTables } from '../contract/validation-sql.js';
import type { Driver } from '../drivers/driver.js';
import { movementsNeedProductRanges, sqlContributions, sqlMrrPieces, sqlProductRanges, sqlUsageSetAside } from '../engine/ledger-model.js';
import { sqlAccountChanges, sqlAccountFirstRevenue, sqlAccountRanges } from '../engine/movements-model.js';
import { checkMoneyTotals } from './money-limit.js';
import { checkUnchanged, loadRawSignalSources, loadRawSources, sqlDropRaw, type LoadedSource } from './load-sources.js';
import { loadRawTables, type TableDatabase } from './load-tables.js';
import type { Progress } from './progress.js';
import type { SourceTables } from '../config/warehouse-config.js';
import { countRows, validate } from './validate-sources.js';

/** What a run read of one source: its file (null when absent), its rows and its columns. */
export interface SourceMeta {
  readonly source: SourceName | SignalSourceName;
  /** The file's name as messages show it; null when the data folder has none. */
  readonly file: string | null;
  readonly rows: number;
  /** Rows set aside for an error (only with skipInvalid). */
  readonly rejected: number;
  readonly columns: readonly string[];
  /** Columns outside the contract: the attributes of accounts, ignored elsewhere. */
  readonly extraColumns: readonly string[];
}

export interface FilesRead {
  /** Every revenue source, then every signal source read, in the contract's order. */
  readonly sources: readonly SourceMeta[];
  readonly errors: number;
  readonly rejectsFile: string | null;
}

export interface ReadOptions {
  readonly data: string;
  readonly skipInvalid?: boolean;
  readonly rejectsFile?: string;
  readonly force?: boolean;
  readonly maxListedErrors?: number;
  /**
   * Make `lines` as a copy of the parsed subscriptions instead of renaming them (see
   * sqlTypedTables): for a few rows checked by prepared statements, which a rename would make
   * DuckDB bind again.
   */
  readonly copyTyped?: boolean;
  /**
   * Make the tables kept per account (`lines`, `usage_charges`, `accounts`) in the order of their
   * accounts, as a store keeps them (see sync-store.ts): sorted as they are made, not written again.
   */
  readonly ordered?: boolean;
}

/**
 * Reads the revenue files and the given signal files, checks them against the data contract and
 * leaves the typed tables (`lines`, `usage_charges`, `fx_rates` and its lookups, `accounts`,
 * `signal_<source>`, `validation_issues`) in the database the driver writes to. Refuses on an
 * error unless invalid rows are set aside.
 */
export async function readFiles(
  driver: Driver,
  policies: Policies,
  files: Partial<Record<SourceName, SourceFile>>,
  signalFiles: Partial<Record<SignalSourceName, SourceFile<SignalSourceName>>> | null,
  options: ReadOptions,
  progress: Progress,
  /** Read these tables of a database instead of the files (the config's `warehouse.tables`). */
  tables: { readonly map: SourceTables; readonly db: TableDatabase } | null = null,
): Promise<FilesRead> {
  progress.step(tables === null ? 'reading files' : `reading tables in ${tables.db.label}`);
  const loaded = tables === null ? await loadRawSources(driver, files) : await loadRawTables(driver, tables.map, tables.db);
  const signals = signalFiles ? await loadRawSignalSources(driver, signalFiles) : null;
  const all: LoadedSource<SourceName | SignalSourceName>[] = [...Object.values(loaded), ...Object.values(signals ?? {})];
  progress.step('validating');
  const issues = await validate(driver, policies, loaded, signals, all, options, options.copyTyped === true, options.ordered === true);
  progress.step('building the MRR ledger');
  for (const sql of sqlTypedTables(driver.dialect, loaded.accounts.extraColumns, issues.errors > 0, options.copyTyped === true, options.ordered === true)) {
    await driver.exec(sql);
  }
  await checkMoneyTotals(driver);
  for (const s of Object.values(signals ?? {})) {
    await driver.exec(sqlSignalTable(driver.dialect, s.source, s.file !== undefined, issues.errors > 0, policies.timezone, options.copyTyped === true));
  }
  const counts = new Map((await countRows(driver, all)).map((c) => [c.source, c]));
  checkUnchanged(all);
  // Text copies of the input are only needed until the typed tables exist: free their memory.
  for (const sql of sqlDropParsed()) await driver.exec(sql);
  for (const s of all) await driver.exec(sqlDropRaw(s));
  return {
    sources: all.map((s) => ({
      source: s.source,
      file: s.file ?? null,
      rows: counts.get(s.source)?.rows ?? 0,
      rejected: counts.get(s.source)?.rejected ?? 0,
      columns: s.columns,
      extraColumns: s.extraColumns,
    })),
    errors: issues.errors,
    rejectsFile: issues.rejectsFile,
  };
}

/**
 * The revenue model over the typed tables: usage set aside, contributions, movements per account
 * and month, account ranges and first revenue. `productRanges` also keeps the ledger per account
 * and product (a store keeps it; in memory it is built when first asked for). `keepContributions`
 * makes `mrr_contributions` a table instead of a view (a store's full build: see sync-store.ts).
 */
export async function buildModel(driver: Driver, p: Policies, progress: Progress, productRanges = false, keepContributions = false): Promise<void> {
  const d = driver.dialect;
  await driver.exec(sqlUsageSetAside(d, p));
  await driver.exec(sqlContributions(d, p));
  if (keepContributions) {
    // Each of the ledger and the movements reads the contributions twice (starts and ends): a
    // full build works them out (usage valued at its rate) once instead of four times.
    await driver.exec('CREATE TABLE nrr_contribution_rows AS SELECT * FROM mrr_contributions');
    await driver.exec('DROP VIEW mrr_contributions');
    await driver.exec('ALTER TABLE nrr_contribution_rows RENAME TO mrr_contributions');
  }
  const pieces = movementsNeedProductRanges(p);
  if (pieces || productRanges) await driver.exec(sqlProductRanges(d));
  progress.step('computing movements');
  if (pieces) await driver.exec(sqlMrrPieces(d, p));
  await driver.exec(sqlAccountChanges(d, p));
  if (pieces) await driver.exec('DROP TABLE mrr_pieces');
  await driver.exec(sqlAccountRanges(d));
  await driver.exec(sqlAccountFirstRevenue(d));
}
