import { existsSync, mkdirSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Driver } from '../drivers/driver.js';
import { DuckDbDriver } from '../drivers/duckdb-driver.js';
import { NrrError } from '../errors.js';
import { silentProgress, type Progress } from '../workspace/progress.js';
import { ValidationError } from '../workspace/validation-report.js';
import { Workspace, type OpenOptions, type OpenSetup, type StoreUse } from '../workspace/workspace.js';
import { compareFiles } from './file-fingerprints.js';
import { readStoreMeta, type StoreMeta } from './store-meta.js';
import { DEFAULT_STORE_FILE, STORE_CATALOG, STORE_SCHEMA_VERSION, STORE_WRITE_OPTIONS, modelKey } from './store-schema.js';
import { liveHolder } from './live-workspace.js';
import { StoreUnavailable, exposeStore, rebuildStore, storeSourceFiles, updateStore } from './sync-store.js';

/** The store's path: `path` given, else `store_file` of the config, else .nrr/workspace.duckdb; relative to the data folder. */
export function storePath(data: string, setup: Pick<OpenSetup, 'storeFile'>, given?: string): string {
  const p = given ?? setup.storeFile ?? DEFAULT_STORE_FILE;
  return isAbsolute(p) ? p : resolve(join(data, p));
}

/** What the store itself refuses (not a store, a newer layout, --no-sync without one): said as it is. */
export class StoreRefusal extends NrrError {}

/**
 * How long a command waits for another process that is writing the store before it computes from
 * the files instead (NRR_STORE_WAIT_MS sets it, in milliseconds).
 */
export const WRITER_WAIT_MS = Number(process.env['NRR_STORE_WAIT_MS'] ?? 30_000);

/**
 * Opens a workspace from its store, bringing the store up to date with the files first. The store
 * is read through a read-only attachment, so any number of commands read it at once; a command that
 * finds files changed takes it read-write (one writer at a time), updates it in one transaction,
 * and reads it again. If another process holds it for writing (a server, a long sync) for longer
 * than WRITER_WAIT_MS, the command computes from the files and says so.
 */
export async function openStoredWorkspace(setup: OpenSetup, options: OpenOptions): Promise<Workspace> {
  const progress = options.progress ?? silentProgress;
  const store = options.store === false ? {} : (options.store ?? {});
  const path = storePath(options.data, setup, store.path);
  const key = modelKey(setup.policies);
  // Flags that change the model (--fx, --currency, …) ask for another model than the store's: computed from the files.
  if (key !== modelKey(setup.configPolicies)) return Workspace.open({ ...options, store: false });
  // What does not fit in memory spills beside the store, not into the current folder.
  const driver = await DuckDbDriver.open({ tempDirectory: join(dirname(path), 'spill') });
  try {
    if (existsSync(path)) {
      const attached = await attach(driver, path, true);
      if (attached === 'ok') {
        const meta = await checkedMeta(driver, path);
        const current = meta.schemaVersion === STORE_SCHEMA_VERSION && meta.modelKey === key;
        if (current && store.rebuild !== true && (store.sync === false || (await compareFiles(storeSourceFiles(setup, options.data), meta.files, false)).changed.length === 0)) {
          return await reader(driver, setup, options, meta, { path, action: 'read', changed: [], accounts: null });
        }
        if (store.sync === false) throw new StoreRefusal(notCurrent(path, meta, key));
        await driver.exec(`DETACH ${STORE_CATALOG}`);
      }
    } else if (store.sync === false) {
      throw new StoreRefusal(`no workspace store at ${path} yet: run nrr sync --data ${options.data} (or leave out --no-sync)`);
    }
    const use = await syncAsWriter(driver, setup, options, path, progress, store.rebuild === true);
    if (use === 'busy') {
      driver.close();
      const ws = await Workspace.open({ ...options, store: false });
      const holder = liveHolder(path);
      return ws.withNote(
        holder !== null
          ? `the workspace store ${path} is held by nrr serve (process ${holder.pid}), which keeps it up to date: these figures were computed from the files (the server's API answers from the store)`
          : `the workspace store ${path} is being written by another process (nrr sync): these figures were computed from the files`,
      );
    }
    const attached = await attach(driver, path, true);
    if (attached !== 'ok') throw new StoreRefusal(`the workspace store ${path} was taken by another process right after it was updated: run the command again`);
    return await reader(driver, setup, options, await checkedMeta(driver, path), use);
  } catch (e) {
    progress.done();
    driver.close();
    // The store keeps only files that pass every rule. Otherwise the files are read as without a
    // store: their errors are listed (or set aside with skipInvalid), and a command that does not
    // read the signal files still answers when only a signal file is wrong.
    if (e instanceof ValidationError || (e instanceof NrrError && !(e instanceof StoreRefusal))) return Workspace.open({ ...options, store: false });
    if (e instanceof StoreUnavailable) {
      const ws = await Workspace.open({ ...options, store: false });
      return ws.withNote(`${e.message}: these figures were computed from the files`);
    }
    throw e;
  }
}


/**
 * Takes the store read-write (waiting while another process holds it), then brings it up to date:
 * nothing to do, the stamps of touched files, the changed accounts, or a full build. The store is
 * left detached.
 */
async function syncAsWriter(driver: Driver, setup: OpenSetup, options: OpenOptions, path: string, progress: Progress, force: boolean): Promise<StoreUse | 'busy'> {
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (e) {
    throw new StoreUnavailable(`the workspace store cannot be written at ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const key = modelKey(setup.policies);
  const all = storeSourceFiles(setup, options.data).map((f) => f.source);
  const rebuilt: StoreUse = { path, action: 'rebuilt', changed: all, accounts: null };
  if (!existsSync(path)) {
    await rebuildStore(driver, setup, options, path, progress, null);
    progress.done();
    return rebuilt;
  }
  const deadline = Date.now() + WRITER_WAIT_MS;
  for (let wait = 50; (await attach(driver, path, false)) === 'busy'; wait = Math.min(wait * 2, 1000)) {
    // A server holds it for its whole life: no point waiting.
    if (Date.now() > deadline || liveHolder(path) !== null) return 'busy';
    progress.step('waiting for another process writing the workspace store');
    await sleep(wait);
  }
  try {
    const meta = await checkedMeta(driver, path);
    let use: StoreUse = { path, action: 'read', changed: [], accounts: null };
    if (force || meta.schemaVersion !== STORE_SCHEMA_VERSION || meta.modelKey !== key) {
      if (!force) progress.step(meta.schemaVersion !== STORE_SCHEMA_VERSION ? `the store has layout ${meta.schemaVersion}, this nrr writes ${STORE_SCHEMA_VERSION}: rebuilding it` : 'the policies changed: rebuilding the store');
      await rebuildStore(driver, setup, options, path, progress, STORE_CATALOG);
      use = rebuilt;
    } else {
      const changes = await compareFiles(storeSourceFiles(setup, options.data), meta.files);
      const r = await updateStore(driver, setup, options, meta, changes, progress);
      if (r.outcome === 'rebuild') {
        await rebuildStore(driver, setup, options, path, progress, STORE_CATALOG);
        use = rebuilt;
      } else if (r.outcome === 'updated') {
        use = { path, action: 'updated', changed: changes.changed, accounts: r.accounts };
      }
    }
    progress.done();
    return use;
  } finally {
    await driver.exec(`DETACH DATABASE IF EXISTS ${STORE_CATALOG}`);
  }
}

async function reader(driver: Driver, setup: OpenSetup, options: OpenOptions, meta: StoreMeta, use: StoreUse): Promise<Workspace> {
  await exposeStore(driver, setup);
  return Workspace.assemble(driver, setup, options, meta.facts, null, true, use);
}

/** Attaches the store; 'busy' when another process holds it in a way that excludes this one. */
async function attach(driver: Driver, path: string, readOnly: boolean): Promise<'ok' | 'busy'> {
  try {
    await driver.exec(`ATTACH ${driver.dialect.quoteString(path)} AS ${STORE_CATALOG} ${readOnly ? '(READ_ONLY)' : STORE_WRITE_OPTIONS}`);
    return 'ok';
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (/lock/i.test(message)) return 'busy';
    throw new StoreUnavailable(`the workspace store ${path} cannot be opened (${message.split('\n')[0]}; if it is damaged, delete it and it is built again)`);
  }
}

async function checkedMeta(driver: Driver, path: string): Promise<StoreMeta> {
  const meta = await readStoreMeta(driver, STORE_CATALOG);
  if (meta === 'foreign') {
    await driver.exec(`DETACH ${STORE_CATALOG}`);
    throw new StoreRefusal(`${path}: this database is not a workspace store that nrr wrote; it was left as it is. Move it away, or set store_file in the config to another path`);
  }
  if (meta.schemaVersion > STORE_SCHEMA_VERSION) {
    await driver.exec(`DETACH ${STORE_CATALOG}`);
    throw new StoreRefusal(`${path}: the store was written by a newer nrr (layout ${meta.schemaVersion}; this one reads ${STORE_SCHEMA_VERSION}): upgrade nrr, or delete the store to build it again from the files`);
  }
  return meta;
}

function notCurrent(path: string, meta: StoreMeta, key: string): string {
  const why = meta.schemaVersion !== STORE_SCHEMA_VERSION ? `it has layout ${meta.schemaVersion}, this nrr reads ${STORE_SCHEMA_VERSION}` : meta.modelKey !== key ? 'it was built under other policies' : 'the files changed';
  return `the workspace store ${path} cannot answer as it is (${why}): run without --no-sync, or nrr sync`;
}
