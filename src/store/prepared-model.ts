import type { Driver } from '../drivers/driver.js';
import { sqlContributions } from '../engine/ledger-model.js';
import { sqlAccountIn } from '../accounts/account-record-sql.js';
import { buildModel } from '../workspace/build-from-files.js';
import { revenueFactsOf, sqlRevenueFacts, type RevenueFacts, type RevenueRelations } from '../workspace/data-facts.js';
import { silentProgress } from '../workspace/progress.js';
import type { OpenSetup } from '../workspace/workspace.js';
import { sqlKeyIn, type SourceKey } from './ingest-keys.js';
import type { PreparedChecks } from './prepared-checks.js';
import { withSmallPlans } from './small-plans.js';
import { ACCOUNT_SOURCE_TABLES, STORE_CATALOG } from './store-schema.js';
import { modelInputs } from './sync-store.js';

/** What a small revenue batch's model left for the store's writes and the facts. */
export interface PreparedModel {
  /** The changed accounts' source rows after the batch and their model, under the store's table names. */
  readonly stage: string;
  /** Their lines, usage charges and MRR contributions before the batch and after it, and the facts of those rows. */
  readonly before: RevenueRelations;
  readonly after: RevenueRelations;
  readonly gone: RevenueFacts;
  readonly added: RevenueFacts;
}

/** The changed accounts' rows before the batch: those of the store's tables kept per account that the model and the facts read. */
const BEFORE_TABLES = [...ACCOUNT_SOURCE_TABLES, 'usage_set_aside'] as const;

/**
 * The model of the accounts a small revenue batch changes (usage set aside, ledger, movements,
 * first revenue) and the facts of their rows before and after it, by the same SQL as a full build,
 * run change after change by statements bound and planned once (`steps`, see PreparedChecks): in
 * one scratch database their rows as the store holds them, in another those rows less the ones the
 * batch replaces or withdraws, with its rows (`typed`; the keys in memory.nrr_ingest.batch_keys),
 * and their model. The statements' text names neither the accounts nor the keys, so it is the same
 * for every batch; only the copy of the accounts' rows from the store writes their ids out (DuckDB
 * then reads each table only where their rows are), and it runs as written.
 */
export async function prepareModel(w: Driver, steps: PreparedChecks, setup: OpenSetup, key: SourceKey, typed: string, accounts: readonly string[]): Promise<PreparedModel> {
  const d = w.dialect;
  const s = STORE_CATALOG;
  const inChanged = sqlAccountIn(d, 'account_id', { ids: accounts });
  const relations = (catalog: string): RevenueRelations => ({ lines: `${catalog}.main.lines`, usage: `${catalog}.main.usage_charges`, contributions: `${catalog}.main.mrr_contributions` });
  const facts = async (driver: Driver, catalog: string): Promise<RevenueFacts> => revenueFactsOf((await driver.query(sqlRevenueFacts(relations(catalog))))[0]!);
  let before = '';
  const gone = await steps.run('before', async (driver, catalog) => {
    before = catalog;
    for (const t of BEFORE_TABLES) {
      // Made once with the store's columns, emptied at every replay (LIMIT 0: without the optimizer, WHERE FALSE would read the whole table) ...
      await driver.exec(`CREATE TABLE ${t} AS SELECT * FROM ${s}.main.${t} LIMIT 0`);
      // ... and filled with the accounts' rows, their ids written out (not through the steps: the text changes with them).
      await w.exec(`INSERT INTO ${catalog}.main.${t} SELECT * FROM ${s}.main.${t} WHERE ${inChanged}`);
    }
    return withSmallPlans(w, true, async () => {
      await modelInputs(driver);
      await driver.exec(sqlContributions(d, setup.policies));
      return facts(driver, catalog);
    });
  });
  // The batch's rows are read from where its checks left them: a kind of its own for each place.
  let stage = '';
  let after = '';
  const added = await steps.run(`after ${key.table} ${typed} ${before}`, async (driver, catalog) => {
    stage = `${catalog}.main`;
    after = catalog;
    for (const t of ACCOUNT_SOURCE_TABLES) {
      const keep = t === key.table ? ` WHERE NOT ${sqlKeyIn(key, 't', 'memory.nrr_ingest.batch_keys')}` : '';
      await driver.exec(`CREATE TABLE ${t} AS SELECT * FROM ${before}.main.${t} t${keep}`);
      if (t === key.table) await driver.exec(`INSERT INTO ${t} BY NAME SELECT * FROM ${typed}`);
    }
    return withSmallPlans(w, true, async () => {
      await modelInputs(driver);
      await buildModel(driver, setup.policies, silentProgress, true);
      return facts(driver, catalog);
    });
  });
  await w.exec('USE memory.main');
  return { stage, before: relations(before), after: relations(after), gone, added };
}
