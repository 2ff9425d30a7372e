import { createHash } from 'node:crypto';
import type { SourceFile } from '../contract/source-files.js';
import { DuckDbDriver } from '../drivers/duckdb-driver.js';
import type { StoreWarehouse } from '../drivers/store-warehouse.js';
import { sqlContributions, sqlUsageSetAside } from '../engine/ledger-model.js';
import { readFiles } from '../workspace/build-from-files.js';
import { dataFacts } from '../workspace/data-facts.js';
import { silentProgress, type Progress } from '../workspace/progress.js';
import { buildModelInWarehouse } from '../workspace/warehouse-model.js';
import { Workspace, type OpenOptions, type OpenSetup, type StoreUse } from '../workspace/workspace.js';
import { compareFiles, fingerprintOf, type FileFingerprint } from './file-fingerprints.js';
import { StoreRefusal } from './open-store.js';
import { modelKey } from './store-schema.js';
import { WAREHOUSE_STORE_VERSION, readWarehouseMeta, stampFiles, writeWarehouseMeta, type WarehouseMeta } from './warehouse-store-meta.js';

/**
 * What a warehouse store's model was computed under: the policies that shape the model (as for a
 * DuckDB store) and whether invalid rows were set aside (a store built with --skip-invalid never
 * answers a run that would refuse them).
 */
export function warehouseModelKey(setup: OpenSetup, options: OpenOptions): string {
  const parts = { layout: WAREHOUSE_STORE_VERSION, model: modelKey(setup.policies), skipInvalid: options.skipInvalid === true };
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}

/**
 * Opens a data folder whose workspace store lives in a warehouse (docs/store.md, docs/engines.md):
 * when the files are those the store was built from (same name, size and modification time; where
 * those differ, the same SHA-256) and under the same policies, the model is read as it is, and no
 * file is read; otherwise DuckDB reads and checks the files, the model is built in the warehouse
 * in a namespace apart, and swapped in with the store's meta at once (one transaction, or one write). `store.sync`
 * false reads the store as it is; `store.rebuild` builds it whatever changed.
 */
export async function openWarehouseStore(setup: OpenSetup, options: OpenOptions, target: StoreWarehouse): Promise<Workspace> {
  const store = options.store === false || options.store === undefined ? {} : options.store;
  const progress = options.progress ?? silentProgress;
  const key = warehouseModelKey(setup, options);
  const files = Object.values(setup.files);
  const label = target.storeLabel;
  const isCurrent = (m: WarehouseMeta | null): m is WarehouseMeta => m !== null && m.schemaVersion === WAREHOUSE_STORE_VERSION && m.modelKey === key;
  try {
    let meta = refuseNewer(await readWarehouseMeta(target), target);
    if (store.sync === false) {
      if (meta === null) throw new StoreRefusal(`no workspace store in ${label} yet: run nrr sync --data ${options.data} --store URL (or leave out --no-sync)`);
      if (!isCurrent(meta)) throw new StoreRefusal(`the workspace store in ${label} cannot answer as it is (${whyNotCurrent(meta)}): run without --no-sync, or nrr sync`);
      return reader(target, setup, options, meta, { path: label, action: 'read', changed: [], accounts: null });
    }
    if (isCurrent(meta) && store.rebuild !== true && (await unchanged(target, files, meta))) {
      return reader(target, setup, options, meta, { path: label, action: 'read', changed: [], accounts: null });
    }
    await target.lockStore();
    try {
      // Another process may have brought it up to date while this one waited.
      meta = refuseNewer(await readWarehouseMeta(target), target);
      if (isCurrent(meta) && store.rebuild !== true && (await unchanged(target, files, meta))) {
        return reader(target, setup, options, meta, { path: label, action: 'read', changed: [], accounts: null });
      }
      const note = meta !== null && meta.schemaVersion !== WAREHOUSE_STORE_VERSION
        ? `the workspace store in ${label} had layout ${meta.schemaVersion}, this nrr writes layout ${WAREHOUSE_STORE_VERSION}: it was built again from the files`
        : null;
      const changed = meta === null ? files.map((f) => f.source) : (await compareFiles(files, meta.files)).changed;
      const built = await buildWarehouseStore(target, setup, options, key, (meta?.builds ?? 0) + 1, progress);
      const ws = await reader(target, setup, options, built, { path: label, action: 'rebuilt', changed: store.rebuild === true || note !== null || meta === null ? files.map((f) => f.source) : changed, accounts: null });
      return note === null ? ws : ws.withNote(note);
    } finally {
      await target.unlockStore();
    }
  } catch (e) {
    progress.done();
    target.close();
    throw e;
  }
}

/** A store of a newer layout is refused, never read as if it were this one's. */
function refuseNewer(meta: WarehouseMeta | null, target: StoreWarehouse): WarehouseMeta | null {
  if (meta !== null && meta.schemaVersion > WAREHOUSE_STORE_VERSION) {
    throw new StoreRefusal(
      `the workspace store in ${target.storeLabel} was written by a newer nrr (layout ${meta.schemaVersion}; this one reads ${WAREHOUSE_STORE_VERSION}): upgrade nrr, or ${target.elsewhere} to build it again from the files`,
    );
  }
  return meta;
}

function whyNotCurrent(meta: WarehouseMeta): string {
  return meta.schemaVersion !== WAREHOUSE_STORE_VERSION
    ? `it has layout ${meta.schemaVersion}, this nrr reads ${WAREHOUSE_STORE_VERSION}`
    : 'it was built under other policies (or with --skip-invalid given otherwise)';
}

/**
 * Whether the files are those the store was built from. A file touched but not changed (its
 * SHA-256 the same) only has its stamp updated.
 */
async function unchanged(target: StoreWarehouse, files: readonly SourceFile<string>[], meta: WarehouseMeta): Promise<boolean> {
  const changes = await compareFiles(files, meta.files);
  if (changes.changed.length > 0) return false;
  if (changes.touched.length > 0) await stampFiles(target, changes.touched);
  return true;
}

/**
 * Builds the store from every file: fingerprints first (a file changed while it is read shows at
 * the next sync), DuckDB reads and checks the files by the contract's rules and computes the facts
 * of the data, the typed tables are copied into the warehouse's build namespace, the model is
 * built there with the ledger per product, then the meta is written and the build swapped in.
 */
async function buildWarehouseStore(target: StoreWarehouse, setup: OpenSetup, options: OpenOptions, key: string, builds: number, progress: Progress): Promise<WarehouseMeta> {
  progress.step('fingerprinting files');
  const fingerprints: FileFingerprint[] = [];
  for (const f of Object.values(setup.files)) fingerprints.push(await fingerprintOf(f));
  const duck = await DuckDbDriver.open();
  try {
    const read = await readFiles(duck, setup.policies, setup.files, null, options, progress);
    // The facts read the contributions (first month) and the usage set aside, not the rest of the model.
    await duck.exec(sqlUsageSetAside(duck.dialect, setup.policies));
    await duck.exec(sqlContributions(duck.dialect, setup.policies));
    const facts = await dataFacts(duck, read.sources, setup.policies.reporting_currency);
    await target.beginBuild();
    try {
      await buildModelInWarehouse(duck, target, setup.policies, progress, true);
      const meta: WarehouseMeta = { schemaVersion: WAREHOUSE_STORE_VERSION, modelKey: key, facts, files: fingerprints, rejectsFile: read.rejectsFile, builds };
      await writeWarehouseMeta(target, meta);
      progress.step(`writing the store in ${target.storeLabel}`);
      await target.publishBuild();
      progress.done();
      return meta;
    } catch (e) {
      await target.abandonBuild().catch(() => undefined);
      throw e;
    }
  } finally {
    duck.close();
  }
}

async function reader(target: StoreWarehouse, setup: OpenSetup, options: OpenOptions, meta: WarehouseMeta, use: StoreUse): Promise<Workspace> {
  return Workspace.assemble(target, setup, options, meta.facts, meta.rejectsFile, true, use);
}
