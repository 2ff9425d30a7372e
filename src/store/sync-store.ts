import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { SignalSourceName } from '../contract/signal-contract.js';
import { findSignalFiles, type SourceFile } from '../contract/source-files.js';
import type { Driver } from '../drivers/driver.js';
import { sqlAccountRanges } from '../engine/movements-model.js';
import { sqlAccountIn, sqlUsageWeeks, USAGE_WEEKS, type AccountSet } from '../accounts/account-record-sql.js';
import { sqlContributions } from '../engine/ledger-model.js';
import { buildModel, readFiles, type SourceMeta } from '../workspace/build-from-files.js';
import { dataFacts, isRevenueSource } from '../workspace/data-facts.js';
import { silentProgress, type Progress } from '../workspace/progress.js';
import type { OpenOptions, OpenSetup } from '../workspace/workspace.js';
import { fingerprintOf, type FileChanges, type FileFingerprint } from './file-fingerprints.js';
import { replayOverlay } from './apply-batch.js';
import { writeStoreMeta, type StoreMeta } from './store-meta.js';
import { ACCOUNT_MODEL_TABLES, ACCOUNT_SOURCE_TABLES, META_TABLES, STORE_CATALOG, STORE_WRITE_OPTIONS, modelKey, signalTable } from './store-schema.js';
import { processAlive } from '../process-alive.js';

/**
 * The memory DuckDB may take while it builds a store from every file (its default is 80 % of the
 * machine's): a build at a million accounts otherwise keeps every block it wrote cached, and
 * peaked above 5 GB. What does not fit spills to the folder beside the store (open-store.ts).
 */
export const BUILD_MEMORY_LIMIT = '3GB';

/** The store cannot be opened or written here (permissions, a read-only folder, a damaged file). */
export class StoreUnavailable extends Error {}

/** Every file a store reads: the revenue files and the signal files present. */
export function storeSourceFiles(setup: OpenSetup, data: string): SourceFile<string>[] {
  return [...Object.values(setup.files), ...Object.values(findSignalFiles(data))];
}

/** The names of the store's tables that queries read (not its own bookkeeping). */
export async function storeTables(driver: Driver, catalog: string): Promise<string[]> {
  const rows = await driver.query(
    `SELECT table_name FROM duckdb_tables() WHERE database_name = '${catalog}' AND schema_name = 'main' AND table_name NOT LIKE 'nrr\\_%' ESCAPE '\\' ORDER BY table_name`,
  );
  return rows.map((r) => String(r['table_name']));
}

/** The in-memory schema where readers see the store's tables (and make their own scratch tables). */
export const READ_SCHEMA = 'nrr_read';

/**
 * Makes the store attached as `catalog` readable under its tables' own names in `schema` of the
 * in-memory database (views), and adds the model's views over them. Every query of the engine then
 * runs on the store unchanged. The connection is left working in `schema` when it is READ_SCHEMA
 * (a reader), in memory.main otherwise. Readers are kept out of memory.main, which every schema
 * falls back to: a writer building its own `lines` must never find theirs.
 */
export async function exposeStore(driver: Driver, setup: OpenSetup, catalog = STORE_CATALOG, schema = READ_SCHEMA): Promise<void> {
  await driver.exec(`CREATE SCHEMA IF NOT EXISTS memory.${schema}`);
  for (const t of await storeTables(driver, catalog)) {
    await driver.exec(`CREATE OR REPLACE VIEW memory.${schema}.${t} AS SELECT * FROM ${catalog}.main.${t}`);
  }
  await driver.exec(`USE memory.${schema}`);
  await driver.exec(sqlContributions(driver.dialect, setup.policies));
  await driver.exec(sqlAccountRanges(driver.dialect));
  if (schema !== READ_SCHEMA) await driver.exec('USE memory.main');
}

/**
 * Builds a store from scratch: every file is read and checked into a new database file beside the
 * store, which replaces the store only once it is complete (a rename): a build that stops half-way
 * leaves the store as it was. Ingested changes kept in `from` (the old store, attached) are carried over.
 */
export async function rebuildStore(
  w: Driver,
  setup: OpenSetup,
  options: OpenOptions,
  path: string,
  progress: Progress,
  from: string | null,
): Promise<void> {
  const files = storeSourceFiles(setup, options.data);
  progress.step('fingerprinting files');
  const fingerprints: FileFingerprint[] = [];
  for (const f of files) fingerprints.push(await fingerprintOf(f));
  const tmp = `${path}.${process.pid}.building`;
  removeAbandonedBuilds(path);
  removeDatabase(tmp);
  const build = 'nrr_build';
  try {
    await w.exec(`ATTACH ${w.dialect.quoteString(tmp)} AS ${build} ${STORE_WRITE_OPTIONS}`);
  } catch (e) {
    throw new StoreUnavailable(`the workspace store cannot be written at ${path} (${(e instanceof Error ? e.message : String(e)).split('\n')[0]})`);
  }
  // Unless NRR_MEMORY_LIMIT bounds every database already: what does not fit spills beside the store.
  const limit = process.env['NRR_MEMORY_LIMIT'] === undefined ? BUILD_MEMORY_LIMIT : null;
  const limitBefore = limit === null ? null : String((await w.query(`SELECT current_setting('memory_limit') AS m`))[0]!['m']);
  if (limit !== null) await w.exec(`SET memory_limit = ${w.dialect.quoteString(limit)}`);
  try {
    await w.exec(`USE ${build}`);
    const read = await readFiles(w, setup.policies, setup.files, findSignalFiles(options.data), { ...options, skipInvalid: false, ordered: true }, progress);
    const overlay = from === null ? [] : await overlayTables(w, from);
    if (from !== null) {
      // Changes ingested into the old store stay on top of the files.
      for (const t of overlay) await w.exec(`CREATE TABLE ${build}.main.${t} AS SELECT * FROM ${from}.main.${t}`);
      await replayOverlay(w, build, `${build}.main`);
    }
    // Ingested rows were added at the end: back in the order of their accounts.
    if (overlay.length > 0) await sortByAccount(w, ACCOUNT_SOURCE_TABLES);
    await w.exec(sqlUsageWeeks());
    await buildModelOrdered(w, setup, build, progress);
    progress.step('writing the store');
    await w.exec(sqlContributions(w.dialect, setup.policies));
    const facts = await dataFacts(w, read.sources, setup.policies.reporting_currency);
    // The model's views are made again over the store by whoever reads it (exposeStore).
    await w.exec('DROP VIEW IF EXISTS account_ranges');
    await w.exec('DROP VIEW IF EXISTS mrr_contributions');
    await writeStoreMeta(w, build, { modelKey: modelKey(setup.policies), facts, files: fingerprints });
    if (from !== null && (await hasTable(w, from, META_TABLES.ingested))) {
      await w.exec(`INSERT INTO ${build}.${META_TABLES.ingested} SELECT * FROM ${from}.${META_TABLES.ingested}`);
    }
    await w.exec('USE memory.main');
    await w.exec(`CHECKPOINT ${build}`);
    await w.exec(`DETACH ${build}`);
    renameSync(tmp, path);
  } catch (e) {
    await w.exec('USE memory.main').catch(() => undefined);
    await w.exec(`DETACH DATABASE IF EXISTS ${build}`).catch(() => undefined);
    removeDatabase(tmp);
    throw e;
  } finally {
    if (limitBefore !== null) await w.exec(`SET memory_limit = ${w.dialect.quoteString(limitBefore)}`).catch(() => undefined);
  }
}

/**
 * The tables kept per account are written in the order of their accounts: DuckDB keeps the least
 * and greatest account of every row group, so that reading or replacing one account's rows (an
 * ingested change, `nrr account`, an account's page) reads only the row groups that hold them
 * instead of the whole table. Rows written later for a changed account go at the end, in row
 * groups of their own. The sources are parsed in that order (`ordered` in readFiles); the model is
 * built in memory, over the store's typed tables, and each of its tables written to the store
 * once, sorted (`build` is the catalog of the store being built, the connection works in it).
 */
async function buildModelOrdered(w: Driver, setup: OpenSetup, build: string, progress: Progress): Promise<void> {
  await resetSchema(w, 'nrr_model');
  try {
    for (const t of ['lines', 'usage_charges', 'fx_rates', 'fx_periods', 'fx_bounds', 'fx_month_rates']) {
      await w.exec(`CREATE VIEW ${t} AS SELECT * FROM ${build}.main.${t}`);
    }
    await buildModel(w, setup.policies, progress, true, true);
    for (const t of ACCOUNT_MODEL_TABLES) await w.exec(`CREATE TABLE ${build}.main.${t} AS SELECT * FROM memory.nrr_model.${t} ORDER BY account_id`);
  } finally {
    await w.exec(`USE ${build}`);
    await w.exec('DROP SCHEMA IF EXISTS memory.nrr_model CASCADE');
  }
}

/** Writes tables kept per account again in the order of their accounts (see buildModelOrdered). */
async function sortByAccount(w: Driver, tables: readonly string[]): Promise<void> {
  for (const t of tables) {
    await w.exec(`CREATE TABLE nrr_sorting AS SELECT * FROM ${t} ORDER BY account_id`);
    await w.exec(`DROP TABLE ${t}`);
    await w.exec(`ALTER TABLE nrr_sorting RENAME TO ${t}`);
  }
}

/** The tables of ingested rows and withdrawn keys a store keeps (see apply-batch.ts). */
async function overlayTables(w: Driver, catalog: string): Promise<string[]> {
  const rows = await w.query(
    `SELECT table_name FROM duckdb_tables() WHERE database_name = '${catalog}' AND schema_name = 'main' AND (table_name LIKE 'nrr\\_overlay\\_%' ESCAPE '\\' OR table_name LIKE 'nrr\\_withdrawn\\_%' ESCAPE '\\')`,
  );
  return rows.map((r) => String(r['table_name']));
}

async function hasTable(w: Driver, catalog: string, table: string): Promise<boolean> {
  const rows = await w.query(`SELECT 1 FROM duckdb_tables() WHERE database_name = '${catalog}' AND schema_name = 'main' AND table_name = '${table}'`);
  return rows.length > 0;
}

/** Removes what builds of processes that no longer run left beside the store (a build killed half-way). */
function removeAbandonedBuilds(path: string): void {
  const dir = dirname(path);
  const prefix = `${basename(path)}.`;
  for (const f of existsSync(dir) ? readdirSync(dir) : []) {
    const m = f.startsWith(prefix) ? /^(\d+)\.building(\.wal)?$/.exec(f.slice(prefix.length)) : null;
    if (m === null || processAlive(Number(m[1]))) continue;
    rmSync(join(dir, f), { force: true });
  }
}

/** Removes a database file and its write-ahead log, if there. */
export function removeDatabase(path: string): void {
  for (const p of [path, `${path}.wal`]) if (existsSync(p)) rmSync(p);
}

export type SyncOutcome = { readonly outcome: 'unchanged' | 'stamped' | 'rebuild' } | { readonly outcome: 'updated'; readonly accounts: number };

/**
 * Brings the store attached read-write as STORE_CATALOG up to date with the files that changed:
 * the revenue files and the changed signal files are read and checked again (the revenue files'
 * rules refer to one another), the accounts whose rows differ are found, and only their model is
 * computed again; everything is written in one transaction. 'rebuild' when the change cannot be
 * applied per account (FX rates, the accounts file's columns): the caller rebuilds.
 */
export async function updateStore(w: Driver, setup: OpenSetup, options: OpenOptions, meta: StoreMeta, changes: FileChanges, progress: Progress): Promise<SyncOutcome> {
  const s = STORE_CATALOG;
  const files = storeSourceFiles(setup, options.data);
  if (changes.changed.length === 0) {
    if (changes.touched.length === 0) return { outcome: 'unchanged' };
    await w.exec('BEGIN TRANSACTION');
    try {
      for (const t of changes.touched) {
        await w.exec(`UPDATE ${s}.${META_TABLES.files} SET size = ${t.size}, mtime_ns = ${w.dialect.quoteString(t.mtimeNs)} WHERE source = ${w.dialect.quoteString(t.source)}`);
      }
      await w.exec('COMMIT');
    } catch (e) {
      await w.exec('ROLLBACK');
      throw e;
    }
    return { outcome: 'stamped' };
  }
  if (changes.changed.includes('fx_rates')) return { outcome: 'rebuild' };
  progress.step('fingerprinting changed files');
  const fingerprints = new Map(meta.files.map((f) => [f.source, f]));
  for (const t of changes.touched) fingerprints.set(t.source, t);
  for (const source of changes.changed) fingerprints.delete(source);
  for (const f of files) if (changes.changed.includes(f.source)) fingerprints.set(f.source, await fingerprintOf(f));
  const changedSignals = changes.changed.filter((c) => !isRevenueSource(c)) as SignalSourceName[];
  const allSignals = findSignalFiles(options.data);
  const signalFiles = Object.fromEntries(changedSignals.filter((c) => allSignals[c] !== undefined).map((c) => [c, allSignals[c]]));
  await resetSchema(w, 'nrr_stage');
  try {
    const read = await readFiles(w, setup.policies, setup.files, signalFiles, { ...options, skipInvalid: false }, progress);
    await replayOverlay(w, s, 'memory.nrr_stage');
    if (changedSignals.includes('product_usage')) {
      await w.exec('USE memory.nrr_stage');
      await w.exec(sqlUsageWeeks());
    }
    const accountsNow = read.sources.find((x) => x.source === 'accounts');
    const accountsKept = meta.facts.sources.find((x) => x.source === 'accounts');
    if (JSON.stringify(accountsNow?.extraColumns ?? []) !== JSON.stringify(accountsKept?.extraColumns ?? [])) return { outcome: 'rebuild' };
    progress.step('finding the accounts that changed');
    const diffs = ACCOUNT_SOURCE_TABLES.map(
      (t) => `SELECT account_id FROM (SELECT * FROM memory.nrr_stage.${t} EXCEPT SELECT * FROM ${s}.main.${t})
              UNION ALL SELECT account_id FROM (SELECT * FROM ${s}.main.${t} EXCEPT SELECT * FROM memory.nrr_stage.${t})`,
    );
    await w.exec(`CREATE TABLE memory.nrr_stage.changed_accounts AS SELECT DISTINCT account_id FROM (${diffs.join(' UNION ALL ')})`);
    await recomputeAccounts(w, setup, 'memory.nrr_stage', 'memory.nrr_stage.changed_accounts', progress);
    const [count] = await w.query('SELECT count(*) AS n FROM memory.nrr_stage.changed_accounts');
    const sources: SourceMeta[] = [
      ...read.sources.filter((x) => isRevenueSource(x.source) || changedSignals.includes(x.source as SignalSourceName)),
      ...meta.facts.sources.filter((x) => !isRevenueSource(x.source) && !changedSignals.includes(x.source as SignalSourceName)),
    ];
    const ordered = orderSources(sources, meta.facts.sources, read.sources);
    await exposeStore(w, setup, s, 'nrr_view');
    progress.step('writing the store');
    await w.exec('BEGIN TRANSACTION');
    try {
      await writeAccounts(w, 'memory.nrr_stage', 'memory.nrr_stage.changed_accounts');
      const revalidated = [...ordered.filter((x) => isRevenueSource(x.source)).map((x) => x.source), ...changedSignals];
      await w.exec(`DELETE FROM ${s}.validation_issues WHERE source IN (${revalidated.map((x) => w.dialect.quoteString(x)).join(', ')})`);
      await w.exec(
        `INSERT INTO ${s}.validation_issues SELECT * FROM memory.nrr_stage.validation_issues WHERE source IN (${revalidated.map((x) => w.dialect.quoteString(x)).join(', ')})`,
      );
      for (const c of changedSignals) {
        await w.exec(`DELETE FROM ${s}.${signalTable(c)}`);
        await w.exec(`INSERT INTO ${s}.${signalTable(c)} SELECT * FROM memory.nrr_stage.${signalTable(c)}`);
      }
      if (changedSignals.includes('product_usage')) {
        await w.exec(`DELETE FROM ${s}.${USAGE_WEEKS}`);
        await w.exec(`INSERT INTO ${s}.${USAGE_WEEKS} SELECT * FROM memory.nrr_stage.${USAGE_WEEKS}`);
      }
      await w.exec('USE memory.nrr_view');
      const facts = await dataFacts(w, ordered, setup.policies.reporting_currency);
      await w.exec('USE memory.main');
      await writeStoreMeta(w, s, { modelKey: meta.modelKey, facts, files: [...fingerprints.values()] });
      await w.exec('COMMIT');
    } catch (e) {
      await w.exec('ROLLBACK');
      throw e;
    }
    return { outcome: 'updated', accounts: Number(count!['n']) };
  } finally {
    await w.exec('USE memory.main');
    await w.exec('DROP SCHEMA IF EXISTS memory.nrr_stage CASCADE');
    await w.exec('DROP SCHEMA IF EXISTS memory.nrr_recompute CASCADE');
    await w.exec('DROP SCHEMA IF EXISTS memory.nrr_view CASCADE');
  }
}

/** The sources in the order a full read lists them (revenue, then signals in the contract's order). */
function orderSources(sources: readonly SourceMeta[], ...orders: (readonly SourceMeta[])[]): SourceMeta[] {
  const order = orders.find((o) => o.length > 0)?.map((x) => x.source) ?? [];
  const rank = (x: SourceMeta): number => {
    const i = order.indexOf(x.source);
    return i < 0 ? order.length : i;
  };
  return [...sources].sort((a, b) => rank(a) - rank(b));
}

/** Drops and makes again an in-memory schema, and works in it. */
export async function resetSchema(w: Driver, schema: string): Promise<void> {
  await w.exec('USE memory.main');
  await w.exec(`DROP SCHEMA IF EXISTS memory.${schema} CASCADE`);
  await w.exec(`CREATE SCHEMA memory.${schema}`);
  await w.exec(`USE memory.${schema}`);
}

/**
 * The model of the accounts listed in `changed` (a relation with `account_id`), computed by the
 * same SQL as a full build over just their rows of `stage` (lines, usage charges) and the store's
 * FX tables, into memory.nrr_recompute.
 */
export async function recomputeAccounts(w: Driver, setup: OpenSetup, stage: string, changed: AccountSet, progress: Progress = silentProgress): Promise<void> {
  progress.step('computing the changed accounts');
  await resetSchema(w, 'nrr_recompute');
  for (const t of ['lines', 'usage_charges']) {
    await w.exec(`CREATE TABLE ${t} AS SELECT * FROM ${stage}.${t} WHERE ${sqlAccountIn(w.dialect, 'account_id', changed)}`);
  }
  await modelInputs(w);
  await buildModel(w, setup.policies, silentProgress, true);
  await w.exec('USE memory.main');
}

/** The store's FX tables, seen from the schema the connection works in (what the model reads beside lines and usage). */
export async function modelInputs(w: Driver): Promise<void> {
  for (const t of ['fx_rates', 'fx_periods', 'fx_bounds', 'fx_month_rates']) {
    await w.exec(`CREATE VIEW ${t} AS SELECT * FROM ${STORE_CATALOG}.main.${t}`);
  }
}

/**
 * Replaces, inside the caller's transaction, every row of the changed accounts: their source rows
 * from `stage` and their model from `model` (memory.nrr_recompute unless said).
 */
export async function writeAccounts(w: Driver, stage: string, changed: AccountSet, model = 'memory.nrr_recompute'): Promise<void> {
  const s = STORE_CATALOG;
  const inChanged = sqlAccountIn(w.dialect, 'account_id', changed);
  for (const t of ACCOUNT_SOURCE_TABLES) {
    await w.exec(`DELETE FROM ${s}.main.${t} WHERE ${inChanged}`);
    await w.exec(`INSERT INTO ${s}.main.${t} SELECT * FROM ${stage}.${t} WHERE ${inChanged}`);
  }
  for (const t of ACCOUNT_MODEL_TABLES) {
    await w.exec(`DELETE FROM ${s}.main.${t} WHERE ${inChanged}`);
    await w.exec(`INSERT INTO ${s}.main.${t} SELECT * FROM ${model}.${t}`);
  }
}
