import type { Dialect, StoreDialect } from '../engine/dialect.js';
import type { WarehouseDriver } from './warehouse-driver.js';

/**
 * A warehouse that keeps a workspace store (docs/store.md): the model's tables and the store's
 * meta in a namespace of their own (a PostgreSQL schema, a ClickHouse database), built in a
 * namespace apart and swapped in at once, so that a build killed half-way leaves the store as it was. What differs between
 * engines (how tables are listed, locked and moved) lives here, in the driver; the store's own
 * statements are plain SQL behind the dialect.
 */
export interface StoreWarehouse extends WarehouseDriver {
  readonly dialect: Dialect & StoreDialect;
  /** Where the store lives, as messages show it (the URL without its password, and the namespace). */
  readonly storeLabel: string;
  /** How to start a store afresh elsewhere, as a refusal of a newer layout says it ("give another ?schema=…"). */
  readonly elsewhere: string;
  /** The names of the tables and views in the store's namespace. */
  storeTables(): Promise<string[]>;
  /** Waits until no other process writes the store, and holds it until `unlockStore` (or the connection ends). */
  lockStore(): Promise<void>;
  unlockStore(): Promise<void>;
  /** From now on tables are made in an empty namespace apart (what a killed build left there is dropped). */
  beginBuild(): Promise<void>;
  /** At once (one transaction, or one write), makes the build the store; works in the store again. */
  publishBuild(): Promise<void>;
  /** Drops the build's namespace and works in the store again. */
  abandonBuild(): Promise<void>;
}
