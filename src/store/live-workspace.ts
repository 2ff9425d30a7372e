import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DuckDbDriver } from '../drivers/duckdb-driver.js';
import { NrrError } from '../errors.js';
import { silentProgress } from '../workspace/progress.js';
import { Workspace, prepareOpen, type OpenOptions, type OpenSetup, type StoreUse } from '../workspace/workspace.js';
import { playsAfterApply, type LiveApplyResult } from '../playbooks/apply-plays.js';
import { applyBatch, type IngestBatch, type PreparedSteps } from './apply-batch.js';
import { PreparedChecks } from './prepared-checks.js';
import { compareFiles, statOf } from './file-fingerprints.js';
import { storePath } from './open-store.js';
import { readStoreMeta, type StoreMeta } from './store-meta.js';
import { STORE_CATALOG, STORE_SCHEMA_VERSION, STORE_WRITE_OPTIONS, modelKey } from './store-schema.js';
import { exposeStore, rebuildStore, storeSourceFiles, updateStore } from './sync-store.js';
import { processAlive } from '../process-alive.js';

/**
 * A workspace kept open on its store for as long as it lives (`nrr serve`, a program that ingests):
 * it holds the store for writing (one writer), applies ingested batches and changed files one at a
 * time, each in one transaction, and answers from the last committed state: a reader never waits
 * for a writer and never sees half of a change. `workspace` is the state to answer from; it is
 * replaced after every change (listeners are told).
 * @example
 * const live = await LiveWorkspace.open({ data: 'my-data', signals: true });
 * await live.apply({ source: 'tickets', rows: [{ ticket_id: 'T9', account_id: 'A1', opened_date: '2026-12-01', priority: 'high' }] });
 * const [m] = await metrics(live.workspace, { window: 12 });
 */
export class LiveWorkspace {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly listeners: ((ws: Workspace) => void)[] = [];
  private closed = false;
  /** Changes committed since it was opened, and the accounts of the latest ones (see changedSince). */
  private changes = 0;
  private readonly changeLog: { readonly change: number; readonly accounts: readonly string[] | null }[] = [];
  /** The contract's checks of small batches and their accounts' model, prepared once on the writer's connection (see PreparedSteps). */
  private readonly steps: PreparedSteps | null;

  private constructor(
    private readonly driver: DuckDbDriver,
    private readonly writer: DuckDbDriver,
    private readonly setup: OpenSetup,
    private readonly options: OpenOptions,
    private readonly path: string,
    private readonly server: boolean,
    prepareChecks: boolean,
    private meta: StoreMeta,
    private current: Workspace,
  ) {
    this.steps = prepareChecks ? { checks: new PreparedChecks(writer), model: new PreparedChecks(writer, 'nrr_model', false) } : null;
  }

  /**
   * `server`: the process keeps the store for its whole life (nrr serve) and says so beside it
   * (liveMarker), so that commands compute from the files at once instead of waiting for it.
   * `prepareChecks: false` checks every batch by the contract's statements as written, as a sync
   * does, and computes its accounts' model the same way, instead of by statements prepared once
   * per kind of batch (see PreparedSteps): the same outcome, slower.
   */
  static async open(options: OpenOptions, hold: { readonly server?: boolean; readonly prepareChecks?: boolean } = {}): Promise<LiveWorkspace> {
    const setup = prepareOpen(options);
    if (modelKey(setup.policies) !== modelKey(setup.configPolicies)) {
      throw new NrrError('a live workspace answers under the policies of its config: put the policy in the config instead of passing it as a flag');
    }
    const path = storePath(options.data, setup, options.store === false ? undefined : options.store?.path);
    mkdirSync(dirname(path), { recursive: true });
    const driver = await DuckDbDriver.open({ tempDirectory: join(dirname(path), 'spill') });
    try {
      const progress = options.progress ?? silentProgress;
      let use: StoreUse = { path, action: 'read', changed: [], accounts: null };
      if (!existsSync(path)) {
        await rebuildStore(driver, setup, options, path, progress, null);
        use = { path, action: 'rebuilt', changed: storeSourceFiles(setup, options.data).map((f) => f.source), accounts: null };
      }
      await attachForWriting(driver, path);
      let meta = await metaOf(driver, path);
      if (meta.schemaVersion !== STORE_SCHEMA_VERSION || meta.modelKey !== modelKey(setup.policies)) {
        await rebuildStore(driver, setup, options, path, progress, STORE_CATALOG);
        await driver.exec(`DETACH ${STORE_CATALOG}`);
        await attachForWriting(driver, path);
        meta = await metaOf(driver, path);
        use = { path, action: 'rebuilt', changed: storeSourceFiles(setup, options.data).map((f) => f.source), accounts: null };
      }
      // A change commits to the write-ahead log; the log is folded into the store's file when it
      // reaches this size (and when the workspace closes), not every 16 MB: folding rewrites the
      // row groups changed since the last time, a pause of a change that happens to cross it.
      await driver.exec(`SET checkpoint_threshold = '${CHECKPOINT_THRESHOLD}'`);
      if (hold.server) writeFileSync(liveMarker(path), JSON.stringify({ pid: process.pid, since: new Date().toISOString() }) + '\n');
      const writer = await driver.connect();
      const live = new LiveWorkspace(driver, writer, setup, options, path, hold.server === true, hold.prepareChecks !== false, meta, null as unknown as Workspace);
      const synced = await live.syncNow();
      if (synced.action !== 'read') use = synced;
      await exposeStore(driver, setup);
      live.current = Workspace.assemble(driver, setup, options, live.meta.facts, null, true, use);
      progress.done();
      return live;
    } catch (e) {
      driver.close();
      throw e;
    }
  }

  /** The workspace to answer from: the last committed state. */
  get workspace(): Workspace {
    return this.current;
  }

  /** How many changes have committed since it was opened (a change's number, for changedSince). */
  get changeCount(): number {
    return this.changes;
  }

  /**
   * The accounts changed by the changes after the `since`th: what a reader keeping something per
   * account computes again. Null when one of them may have changed any account (a sync of the
   * files, a rebuild) or is no longer remembered.
   */
  changedSince(since: number): readonly string[] | null {
    if (since === this.changes) return [];
    const later = this.changeLog.filter((c) => c.change > since);
    if (later.length !== this.changes - since || later.some((c) => c.accounts === null)) return null;
    return [...new Set(later.flatMap((c) => c.accounts!))];
  }

  /** Called with the new state after every change that committed. */
  onChange(listener: (ws: Workspace) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Ingests a batch (see IngestBatch): checked with the rules of the data contract, applied with
   * the recomputation of the accounts it touches in one transaction, or refused whole. Once it is
   * committed, the plays of the accounts it touched are evaluated again (`plays`, see apply-plays.ts).
   */
  apply(batch: IngestBatch): Promise<LiveApplyResult> {
    return this.serially(async () => {
      const { result, facts } = await applyBatch(this.writer, this.setup, this.options.data, this.meta, batch, this.steps);
      if (!result.already_applied) {
        this.meta = { ...this.meta, facts };
        this.publish({ path: this.path, action: 'updated', changed: [batch.source], accounts: result.accounts.length }, result.accounts);
      }
      return { ...result, plays: await playsAfterApply(this.current, result, batch) };
    });
  }

  /** Brings the store up to date with the files (only what changed is read); the new state when something changed. */
  sync(): Promise<StoreUse> {
    return this.serially(async () => {
      const use = await this.syncNow();
      if (use.action !== 'read') {
        await exposeStore(this.driver, this.setup);
        this.publish(use, null);
      }
      return use;
    });
  }

  /** Whether a file looks changed (size or time): cheap enough to ask every second. */
  async filesLookChanged(): Promise<boolean> {
    const changes = await compareFiles(storeSourceFiles(this.setup, this.options.data), this.meta.files, false);
    return changes.changed.length > 0;
  }

  /** The size and time of every file: when it is what it was at a failed sync, that sync is not tried again. */
  filesStamp(): string {
    return JSON.stringify(storeSourceFiles(this.setup, this.options.data).map((f) => [f.source, statOf(f.path)]));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.server) rmSync(liveMarker(this.path), { force: true });
    this.steps?.checks.close();
    this.steps?.model.close();
    this.writer.close();
    this.driver.close();
  }

  private async syncNow(): Promise<StoreUse> {
    const changes = await compareFiles(storeSourceFiles(this.setup, this.options.data), this.meta.files);
    // The prepared checks read the rates' file, and the prepared steps are bound to the tables as they are: prepared again after a change of the files.
    if (changes.changed.length > 0) {
      await this.steps?.checks.reset();
      await this.steps?.model.reset();
    }
    const r = await updateStore(this.writer, this.setup, this.options, this.meta, changes, silentProgress);
    if (r.outcome === 'rebuild') {
      // The new file replaces the store: it is attached again (reads wait for that moment only).
      await rebuildStore(this.writer, this.setup, this.options, this.path, silentProgress, STORE_CATALOG);
      await this.driver.exec(`DETACH ${STORE_CATALOG}`);
      await attachForWriting(this.driver, this.path);
      this.meta = await metaOf(this.driver, this.path);
      return { path: this.path, action: 'rebuilt', changed: storeSourceFiles(this.setup, this.options.data).map((f) => f.source), accounts: null };
    }
    if (r.outcome === 'unchanged') return { path: this.path, action: 'read', changed: [], accounts: null };
    this.meta = await metaOf(this.driver, this.path);
    return r.outcome === 'updated'
      ? { path: this.path, action: 'updated', changed: changes.changed, accounts: r.accounts }
      : { path: this.path, action: 'read', changed: [], accounts: null };
  }

  private publish(use: StoreUse, accounts: readonly string[] | null): void {
    this.changes += 1;
    this.changeLog.push({ change: this.changes, accounts });
    if (this.changeLog.length > CHANGES_REMEMBERED) this.changeLog.shift();
    this.current = Workspace.assemble(this.driver, this.setup, this.options, this.meta.facts, null, true, use);
    for (const l of this.listeners) l(this.current);
  }

  /** One change at a time, in the order asked. */
  private serially<T>(f: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new NrrError('the live workspace is closed'));
    const run = this.queue.then(f, f);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/** The size of the write-ahead log past which a live workspace folds it into the store's file. */
const CHECKPOINT_THRESHOLD = '256MB';

/** How many changes changedSince can look back over. */
const CHANGES_REMEMBERED = 1_000;

/** Beside a store a live workspace holds: which process holds it, so that a command does not wait for it. */
export const liveMarker = (path: string): string => `${path}.live`;

/** The process holding the store live (a server), if one is running. */
export function liveHolder(path: string): { pid: number; since: string } | null {
  try {
    const m = JSON.parse(readFileSync(liveMarker(path), 'utf8')) as { pid: number; since: string };
    return processAlive(m.pid) ? m : null;
  } catch {
    return null;
  }
}

async function attachForWriting(driver: DuckDbDriver, path: string): Promise<void> {
  for (let wait = 50, waited = 0; ; waited += wait, wait = Math.min(wait * 2, 1000)) {
    try {
      await driver.exec(`ATTACH ${driver.dialect.quoteString(path)} AS ${STORE_CATALOG} ${STORE_WRITE_OPTIONS}`);
      return;
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      if (!/lock/i.test(message)) throw new NrrError(`the workspace store ${path} cannot be opened (${message.split('\n')[0]})`);
      const holder = liveHolder(path);
      if (holder !== null) throw new NrrError(`the workspace store ${path} is held by nrr serve (process ${holder.pid}): send changes to its POST /api/ingest/<source>, or stop it`);
      if (waited > 30_000) throw new NrrError(`the workspace store ${path} is held by another process (another nrr serve?): stop it, or give this one its own store (store_file in the config)`);
      await sleep(wait);
    }
  }
}

async function metaOf(driver: DuckDbDriver, path: string): Promise<StoreMeta> {
  const meta = await readStoreMeta(driver, STORE_CATALOG);
  if (meta === 'foreign') throw new NrrError(`${path}: this database is not a workspace store that nrr wrote; it was left as it is`);
  if (meta.schemaVersion > STORE_SCHEMA_VERSION) throw new NrrError(`${path}: the store was written by a newer nrr (layout ${meta.schemaVersion}): upgrade nrr`);
  return meta;
}
