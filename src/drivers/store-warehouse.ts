import type { WarehouseDriver } from './warehouse-driver.js';

/**
 * A warehouse that keeps a workspace store (docs/store.md): the model's tables and the store's
 * meta in a namespace of their own (a PostgreSQL schema), built in a namespace apart and swapped in
 * at once, so that a build killed half-way leaves the store as it was. What differs between
 * engines (how tables are listed, locked and moved) lives here, in the driver; the store's own
 * statements are plain SQL behind the dialect.
 */
export interface StoreWarehouse extends WarehouseDriver {
  /** Where the store lives, as messages show it (the URL without its password, and the namespace). */
  readonly storeLabel: string;
  /** The names of the tables and views in the store's namespace. */
  storeTables(): Promise<string[]>;
  /** Waits until no other process writes the store, and holds it until `unlockStore` (or the connection ends). */
  lockStore(): Promise<void>;
  unlockStore(): Promise<void>;
  /** From now on tables are made in an empty namespace apart (what a killed build left there is dropped). */
  beginBuild(): Promise<void>;
  /** In one transaction, replaces the store's tables and views of the build's names by the build's; works in the store again. */
  publishBuild(): Promise<void>;
  /** Drops the build's namespace and works in the store again. */
  abandonBuild(): Promise<void>;
}

/** Whether a warehouse can keep a workspace store. */
export function keepsStore(w: WarehouseDriver): w is StoreWarehouse {
  return typeof (w as Partial<StoreWarehouse>).publishBuild === 'function';
}
