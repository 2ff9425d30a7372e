import { ClickHouseDialect } from './clickhouse-dialect.js';

/** A table or view of the model as ClickHouse holds it once built: its columns with their types, or the view's query. */
export interface ModelTableDefinition {
  readonly name: string;
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  /** The view's SELECT, when the model makes a view rather than a table. */
  readonly viewQuery?: string;
  /** The database the view was built in, which its query names (ClickHouse qualifies a view's tables). */
  readonly builtIn?: string;
}

/** Where the DDL puts the model: a database, on one server or on every node of a cluster. */
export interface ClickHouseDdlTarget {
  readonly database: string;
  /** A cluster of the servers' `remote_servers`: tables ON CLUSTER, sharded and replicated. */
  readonly cluster?: string;
}

/**
 * Tables kept whole on every shard: small dimensions that per-account tables join to (exchange
 * rates, the accounts' attributes). Every other table with an `account_id` is sharded by it.
 */
const REPLICATED_DIMENSIONS = new Set(['accounts']);

/** The columns a table is sorted by on disk: its account, then its month, where it has them. */
function sortingKey(table: ModelTableDefinition): string[] {
  const names = new Set(table.columns.map((c) => c.name));
  return ['account_id', 'currency', 'month_index', 'from_month'].filter((c) => names.has(c));
}

/** Whether a table is spread over the shards by its accounts (true) or held whole by every shard. */
export function isShardedByAccount(table: ModelTableDefinition): boolean {
  return !REPLICATED_DIMENSIONS.has(table.name) && table.columns.some((c) => c.name === 'account_id');
}

/**
 * The DDL that makes the model's tables in `target`, from the tables as the model's builders made
 * them (read back from a ClickHouse that built the model: `modelTableDefinitions`). On one server:
 * MergeTree tables. On a cluster (`target.cluster`), every statement ON CLUSTER:
 * - per-account tables as `<name>_local`, ReplicatedMergeTree on each shard, under a Distributed
 *   table `<name>` sharded by `cityHash64(account_id)`: all rows of one account sit on one shard, so
 *   every per-account window (lag/lead by account and month) runs on that shard alone, and an
 *   aggregate over the Distributed table is computed per shard and merged by the node that asked;
 * - small dimensions (exchange rates, the accounts' attributes) as ReplicatedMergeTree held whole by
 *   every node, so joins to them stay local;
 * - the model's views over the Distributed tables.
 * Nullable sorting keys need `allow_nullable_key` (the copied tables keep every column Nullable).
 *
 * @example sqlModelTables(tables, { database: 'nrr', cluster: 'analytics' }) // ['CREATE DATABASE IF NOT EXISTS "nrr" ON CLUSTER "analytics"', …]
 */
export function sqlModelTables(tables: readonly ModelTableDefinition[], target: ClickHouseDdlTarget): string[] {
  const d = new ClickHouseDialect();
  const q = (name: string): string => d.quoteIdent(name);
  const db = q(target.database);
  const onCluster = target.cluster === undefined ? '' : ` ON CLUSTER ${q(target.cluster)}`;
  const out = [`CREATE DATABASE IF NOT EXISTS ${db}${onCluster}`];
  for (const table of tables.filter((t) => t.viewQuery === undefined)) {
    const columns = table.columns.map((c) => `${q(c.name)} ${c.type}`).join(', ');
    const key = sortingKey(table);
    const orderBy = key.length === 0 ? 'tuple()' : `(${key.map(q).join(', ')})`;
    const settings = key.length === 0 ? '' : ' SETTINGS allow_nullable_key = 1';
    if (target.cluster === undefined) {
      out.push(`CREATE TABLE IF NOT EXISTS ${db}.${q(table.name)} (${columns}) ENGINE = MergeTree ORDER BY ${orderBy}${settings}`);
    } else if (isShardedByAccount(table)) {
      const local = `${table.name}_local`;
      // {shard} and {replica} are each server's macros: one replica set per shard.
      const path = d.quoteString(`/clickhouse/tables/{shard}/${target.database}/${local}`);
      out.push(
        `CREATE TABLE IF NOT EXISTS ${db}.${q(local)}${onCluster} (${columns}) ENGINE = ReplicatedMergeTree(${path}, '{replica}') ORDER BY ${orderBy}${settings}`,
        // assumeNotNull: a sharding key must not be Nullable (no row of the model lacks its account).
        `CREATE TABLE IF NOT EXISTS ${db}.${q(table.name)}${onCluster} AS ${db}.${q(local)} ENGINE = Distributed(${d.quoteString(target.cluster)}, ${d.quoteString(target.database)}, ${d.quoteString(local)}, cityHash64(assumeNotNull(${q('account_id')})))`,
      );
    } else {
      // One replica set across every shard: each node holds the whole table.
      const path = d.quoteString(`/clickhouse/tables/all/${target.database}/${table.name}`);
      out.push(`CREATE TABLE IF NOT EXISTS ${db}.${q(table.name)}${onCluster} (${columns}) ENGINE = ReplicatedMergeTree(${path}, '{replica}') ORDER BY ${orderBy}${settings}`);
    }
  }
  for (const view of tables.filter((t) => t.viewQuery !== undefined)) {
    // `built`.table or built.table → the target's table (on a cluster, the Distributed one).
    const built = view.builtIn ?? target.database;
    const query = view.viewQuery!.replace(new RegExp(`(\`${built}\`|\\b${built})\\.`, 'g'), `${db}.`);
    out.push(`CREATE VIEW IF NOT EXISTS ${db}.${q(view.name)}${onCluster} AS ${query}`);
  }
  return out;
}

/**
 * The statements that copy a model built in `from` (a database of one server, e.g. by
 * `nrr metrics --store clickhouse://…/from`) into the tables `sqlModelTables` made: inserted into the
 * Distributed tables, each row goes to its account's shard.
 */
export function sqlFillModelTables(tables: readonly ModelTableDefinition[], from: string, target: ClickHouseDdlTarget): string[] {
  const d = new ClickHouseDialect();
  const q = (name: string): string => d.quoteIdent(name);
  return tables
    .filter((t) => t.viewQuery === undefined)
    .map((t) => {
      const list = t.columns.map((c) => q(c.name)).join(', ');
      return `INSERT INTO ${q(target.database)}.${q(t.name)} (${list}) SELECT ${list} FROM ${q(from)}.${q(t.name)}`;
    });
}
