import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLosslessNumber, stringify as stringifyLossless } from 'lossless-json';
import type { SourceName } from '../contract/data-contract.js';
import type { SignalSourceName } from '../contract/signal-contract.js';
import type { SourceFile } from '../contract/source-files.js';
import type { Driver } from '../drivers/driver.js';
import { NrrError } from '../errors.js';
import { readFiles } from '../workspace/build-from-files.js';
import { isRevenueSource, type DataFacts } from '../workspace/data-facts.js';
import { silentProgress } from '../workspace/progress.js';
import { ValidationError, type ValidationIssue } from '../workspace/validation-report.js';
import type { OpenSetup } from '../workspace/workspace.js';
import { contractColumns, isIngestSource, MOST_KEY_VALUES, sourceKey, sqlKeyIn, sqlKeyValuesIn, sqlWithdrawnKeys, type IngestSource, type SourceKey } from './ingest-keys.js';
import { writeStoreFacts, type StoreMeta } from './store-meta.js';
import { ACCOUNT_SOURCE_TABLES, META_TABLES, STORE_CATALOG } from './store-schema.js';
import { exposeStore, modelInputs, recomputeAccounts, resetSchema, writeAccounts } from './sync-store.js';
import { sqlContributions } from '../engine/ledger-model.js';
import { sqlAccountIn, USAGE_WEEKS, type AccountSet } from '../accounts/account-record-sql.js';
import { factsAfterBatch, factsBeforeBatch, type FactsChange } from './facts-after-batch.js';
import { withOneThread, withSmallPlans } from './small-plans.js';
import type { PreparedChecks } from './prepared-checks.js';
import { prepareModel } from './prepared-model.js';

/**
 * A change to ingest: rows in the data contract of one source (new rows, or rows replacing those
 * with the same key) and keys of rows to withdraw. A batch is applied whole or not at all.
 * @example { source: 'subscriptions', rows: [{ account_id: 'A1', line_id: 'L9', start_date: '2026-11-01', mrr: '120', currency: 'USD' }] }
 * @example { source: 'subscriptions', withdraw: [{ line_id: 'L9' }] }
 */
export interface IngestBatch {
  readonly source: string;
  readonly rows?: readonly Record<string, unknown>[];
  readonly withdraw?: readonly Record<string, unknown>[];
  /** Names the batch: a batch sent again with the same id is not applied twice. Default: a new id. */
  readonly batchId?: string;
}

export interface ApplyResult {
  readonly batch_id: string;
  readonly source: IngestSource;
  /** The batch was applied before (same batch_id): nothing changed. */
  readonly already_applied: boolean;
  /** Rows ingested, of which `replaced` took the place of a row with the same key. */
  readonly rows: number;
  readonly replaced: number;
  /** Rows removed by the batch's withdrawals (a key with no row removes nothing). */
  readonly withdrawn: number;
  /**
   * The accounts the batch changed (of its rows, and of the rows it replaced or withdrew): for
   * billing sources their ledger, movements and record were computed again; for signal sources
   * their record reads the new rows.
   */
  readonly accounts: readonly string[];
  readonly warnings: readonly ValidationIssue[];
  readonly warning_count: number;
}

/** Most items one batch may hold. */
export const MAX_BATCH_ITEMS = 10_000;

const ID = /^[A-Za-z0-9._:-]{1,100}$/;

/**
 * Applies a batch to the store attached read-write as STORE_CATALOG, through the writer
 * connection `w`: its rows are checked with the rules of the data contract (the same SQL as a
 * file), the accounts it touches are computed again, and everything is committed in one
 * transaction together with the batch itself (kept so that a later sync of the files, or a
 * rebuild, applies it again on top of them).
 */
export async function applyBatch(
  w: Driver,
  setup: OpenSetup,
  data: string,
  meta: StoreMeta,
  batch: IngestBatch,
  prepared: PreparedSteps | null = null,
): Promise<{ result: ApplyResult; facts: DataFacts }> {
  const checked = checkBatch(batch);
  // A batch of a few items runs on one thread (see withOneThread).
  return withOneThread(w, checked.rows.length + checked.withdraw.length <= SMALL_ACCOUNTS, () => applyChecked(w, setup, data, meta, checked, prepared));
}

/**
 * The steps of small batches that a live workspace runs by statements prepared once: the
 * contract's checks, and the changed accounts' model (see PreparedChecks, prepareModel).
 */
export interface PreparedSteps {
  readonly checks: PreparedChecks;
  readonly model: PreparedChecks;
}

async function applyChecked(w: Driver, setup: OpenSetup, data: string, meta: StoreMeta, checked: CheckedBatch, steps: PreparedSteps | null): Promise<{ result: ApplyResult; facts: DataFacts }> {
  const { source, rows, withdraw, batchId } = checked;
  const d = w.dialect;
  const s = STORE_CATALOG;
  const key = sourceKey(source, d);
  const where = `batch ${batchId} (${source})`;
  const [log] = await w.query(
    `SELECT count(*) FILTER (WHERE batch_id = ${d.quoteString(batchId)}) AS done, coalesce(max(seq), 0) AS seq FROM ${s}.${META_TABLES.ingested}`,
  );
  if (Number(log!['done']) > 0) {
    return { result: { batch_id: batchId, source, already_applied: true, rows: 0, replaced: 0, withdrawn: 0, accounts: [], warnings: [], warning_count: 0 }, facts: meta.facts };
  }
  const seqBase = Number(log!['seq']);
  const dir = mkdtempSync(join(tmpdir(), 'nrr-ingest-'));
  // A batch of a few rows is checked by statements prepared once (see PreparedChecks), in a scratch database of its own.
  const prepared = steps !== null && rows.length > 0 && rows.length <= SMALL_BATCH ? steps.checks : null;
  let checkedIn = 'memory.nrr_ingest';
  const typedNow = (): string => `${checkedIn}.${key.table}`;
  // The prepared statements name the file and the batch as the first batch of their kind did: the same path, and a label for the batch.
  const label = prepared ? `${PREPARED_LABEL} (${source})` : where;
  const named = (text: string): string => text.replaceAll(label, where);
  // The scratch schemas the change made, dropped at its end.
  const made = ['nrr_ingest'];
  try {
    await resetSchema(w, 'nrr_ingest');
    if (rows.length > 0) {
      const path = join(prepared?.folder ?? dir, `${source}.jsonl`);
      writeFileSync(path, rows.map((r) => jsonText(r)).join('\n') + '\n');
      const file: SourceFile<string> = { source, path, file: label, format: 'json' };
      const revenue = isRevenueSource(source);
      const files: Partial<Record<SourceName, SourceFile>> = {
        ...(revenue ? { [source]: file } : {}),
        ...(setup.files.fx_rates ? { fx_rates: setup.files.fx_rates } : {}),
      };
      const signals = revenue ? null : ({ [source]: file } as Partial<Record<SignalSourceName, SourceFile<SignalSourceName>>>);
      const read = (driver: Driver): Promise<unknown> => readFiles(driver, setup.policies, files, signals, { data, skipInvalid: false, copyTyped: prepared !== null }, silentProgress);
      try {
        if (prepared) {
          // Without the optimizer while the checks run as written (the first batch of a kind); prepared, they keep their plans.
          checkedIn = await prepared.run(batchKind(source, rows), async (driver, catalog) => {
            await withSmallPlans(w, true, () => read(driver));
            return `${catalog}.main`;
          });
        } else {
          await withSmallPlans(w, rows.length <= SMALL_BATCH, () => read(w));
        }
      } catch (e) {
        if (e instanceof ValidationError) {
          throw new ValidationError(
            e.issues.map((i) => ({ ...i, file: named(i.file) })),
            e.errorCount,
            { what: `the batch ${batchId}`, next: 'Fix the rows and send the batch again.' },
          );
        }
        if (e instanceof NrrError && prepared) throw new NrrError(named(e.message));
        throw e;
      }
      await w.exec('USE memory.main');
      await checkAttributes(w, source, typedNow());
      // An ingested row's place: minus its number in the log of ingested items (a file's rows count from 1).
      if (key.table !== 'accounts') await w.exec(`UPDATE ${typedNow()} SET row_no = -(${seqBase} + row_no)`);
    } else {
      await w.exec('USE memory.main');
      await w.exec(`CREATE TABLE ${typedNow()} AS SELECT * FROM ${s}.main.${key.table} WHERE FALSE`);
      await w.exec(`CREATE TABLE memory.nrr_ingest.validation_issues AS SELECT * FROM ${s}.main.validation_issues WHERE FALSE`);
    }
    const typed = typedNow();
    const keyList = key.columns.map((c) => d.quoteIdent(c.column)).join(', ');
    const withdrawn = sqlWithdrawnKeys(key, withdraw, d, where);
    // The batch's keys, over its few scratch rows alone: without the optimizer while the batch is small (see withSmallPlans).
    const fewRows = rows.length + withdraw.length <= SMALL_BATCH;
    const keyRows = await withSmallPlans(w, fewRows, async () => {
      await w.exec(`CREATE TABLE memory.nrr_ingest.withdrawn_keys AS ${withdrawn ?? `SELECT ${keyList} FROM ${typed} LIMIT 0`}`);
      await w.exec(`CREATE TABLE memory.nrr_ingest.batch_keys AS SELECT ${keyList} FROM ${typed} UNION SELECT * FROM memory.nrr_ingest.withdrawn_keys`);
      // The keys, written into the SQL while they are few (see sqlKeyValuesIn).
      return w.query(`SELECT ${key.columns.map((c) => `CAST(${d.quoteIdent(c.column)} AS VARCHAR) AS ${d.quoteIdent(c.column)}`).join(', ')} FROM memory.nrr_ingest.batch_keys`);
    });
    const keyValues = keyRows.map((r) => key.columns.map((c) => (r[c.column] === null ? null : String(r[c.column]))));
    const inBatch = (t: string): string => (keyValues.length > MOST_KEY_VALUES ? sqlKeyIn(key, t, 'memory.nrr_ingest.batch_keys') : sqlKeyValuesIn(key, t, keyValues, d));
    // The store's rows with the batch's keys (those it replaces or withdraws), read once: what it
    // counts, the accounts it changes, the facts of a signal and the usage weeks read them there.
    const hit = 'memory.nrr_ingest.store_rows';
    await w.exec(`CREATE TABLE ${hit} AS SELECT * FROM ${s}.main.${key.table} t WHERE ${inBatch('t')}`);
    const inRows = sqlKeyIn(key, 't', `(SELECT ${keyList} FROM ${typed})`);
    // The accounts the batch changes: those of its rows, and of the rows it replaces or withdraws (scratch rows alone: see withSmallPlans).
    const [counts, ...changedRows] = await withSmallPlans(w, fewRows, () => w.query(`SELECT NULL AS account_id, count(*) FILTER (WHERE ${inRows}) AS replaced,
        count(*) FILTER (WHERE ${sqlKeyIn(key, 't', 'memory.nrr_ingest.withdrawn_keys')} AND NOT ${inRows}) AS withdrawn, 0 AS o FROM ${hit} t
      UNION ALL (SELECT DISTINCT account_id, NULL, NULL, 1 FROM (SELECT account_id FROM ${typed} UNION ALL SELECT account_id FROM ${hit}) WHERE account_id IS NOT NULL)
      ORDER BY o, account_id`));
    const accounts = changedRows.map((r) => String(r['account_id']));
    const changed = changedSet(accounts);
    if (typeof changed === 'string') await w.exec(`CREATE TABLE ${changed} AS SELECT account_id FROM ${typed} UNION SELECT account_id FROM ${hit}`);
    const found = await batchWarnings(w, source, typed, `${checkedIn}.validation_issues`, meta, changed);
    const warnings = { ...found, list: found.list.map((i) => ({ ...i, file: named(i.file) })) };
    // A batch of a few accounts is computed on scratch tables of their rows alone, without the optimizer (see withSmallPlans).
    const small = accounts.length <= SMALL_ACCOUNTS && rows.length + withdraw.length <= SMALL_BATCH;
    // ... and, in a live workspace, by statements prepared once (see prepareModel).
    const model = isRevenueSource(source) && small && steps !== null && accounts.length > 0 ? await prepareModel(w, steps.model, setup, key, typed, accounts) : null;
    if (isRevenueSource(source) && model === null) {
      made.push('nrr_before', 'nrr_apply', 'nrr_recompute');
      // The changed accounts' rows as the store holds them, read once (each table only where their rows are) ...
      await resetSchema(w, 'nrr_before');
      for (const t of [...ACCOUNT_SOURCE_TABLES, 'usage_set_aside']) {
        await w.exec(`CREATE TABLE ${t} AS SELECT * FROM ${s}.main.${t} WHERE ${sqlAccountIn(d, 'account_id', changed)}`);
      }
      // ... and after the batch: less the rows it replaces or withdraws, with its rows.
      await resetSchema(w, 'nrr_apply');
      for (const t of ACCOUNT_SOURCE_TABLES) {
        const keep = t === key.table ? `WHERE NOT ${inBatch('t')}` : '';
        await w.exec(`CREATE TABLE ${t} AS SELECT * FROM memory.nrr_before.${t} t ${keep}`);
        if (t === key.table) await w.exec(`INSERT INTO ${t} BY NAME SELECT * FROM ${typed}`);
      }
      await withSmallPlans(w, small, async () => {
        await recomputeAccounts(w, setup, 'memory.nrr_apply', changed);
        // Their MRR contributions before the batch, for the facts.
        await w.exec('USE memory.nrr_before');
        await modelInputs(w);
        await w.exec(sqlContributions(d, setup.policies));
        await w.exec('USE memory.main');
      });
    }
    // The views the facts read the whole store through stay from one batch to the next (they read by name).
    const [views] = await w.query(`SELECT count(*) AS n FROM duckdb_views() WHERE database_name = 'memory' AND schema_name = 'nrr_view'`);
    if (Number(views!['n']) === 0) await exposeStore(w, setup, s, 'nrr_view');
    const change: FactsChange = model
      ? { kind: 'revenue', before: model.before, after: model.after }
      : isRevenueSource(source)
      ? {
          kind: 'revenue',
          before: { lines: 'memory.nrr_before.lines', usage: 'memory.nrr_before.usage_charges', contributions: 'memory.nrr_before.mrr_contributions' },
          after: { lines: 'memory.nrr_recompute.lines', usage: 'memory.nrr_recompute.usage_charges', contributions: 'memory.nrr_recompute.mrr_contributions' },
        }
      : { kind: 'signal', source: source as SignalSourceName, before: hit, after: typed };
    const before = model ? { change, revenue: model.gone, signalLatest: null, added: model.added } : await withSmallPlans(w, small && change.kind === 'revenue', () => factsBeforeBatch(w, change));
    // The weeks of usage rows the batch takes away and does not add back may leave the file.
    const goneWeeks =
      source === 'product_usage'
        ? (
            await w.query(`SELECT CAST(week AS VARCHAR) AS week FROM (SELECT week FROM ${hit} EXCEPT SELECT week FROM ${typed})`)
          ).map((r) => String(r['week']))
        : [];
    await w.exec('BEGIN TRANSACTION');
    try {
      if (model) {
        await writeAccounts(w, model.stage, changed, model.stage);
      } else if (isRevenueSource(source)) {
        await writeAccounts(w, 'memory.nrr_apply', changed);
      } else {
        await w.exec(`DELETE FROM ${s}.main.${key.table} t WHERE ${inBatch('t')}`);
        await w.exec(`INSERT INTO ${s}.main.${key.table} BY NAME SELECT * FROM ${typed}`);
        if (source === 'product_usage') await keepUsageWeeks(w, typed, goneWeeks);
      }
      await keepOverlay(w, key, typed);
      const log = [
        ...rows.map((r, i) => ({ op: 'upsert', row: jsonText(r), key: jsonText(Object.fromEntries(key.given.map((k) => [k, r[k] ?? null]))), item: i + 1 })),
        ...withdraw.map((k, i) => ({ op: 'withdraw', row: null, key: jsonText(k), item: rows.length + i + 1 })),
      ];
      const values = log.map(
        (l) => `(${seqBase + l.item}, ${d.quoteString(batchId)}, ${d.quoteString(source)}, ${l.item}, '${l.op}', ${d.quoteString(l.key)}, ${l.row === null ? 'NULL' : d.quoteString(l.row)}, now())`,
      );
      await w.exec(`INSERT INTO ${s}.${META_TABLES.ingested} VALUES ${values.join(', ')}`);
      await w.exec('USE memory.nrr_view');
      const facts = await factsAfterBatch(w, meta.facts, before, setup.policies.reporting_currency, small);
      await w.exec('USE memory.main');
      await writeStoreFacts(w, s, facts);
      await w.exec('COMMIT');
      return {
        result: {
          batch_id: batchId,
          source,
          already_applied: false,
          rows: rows.length,
          replaced: Number(counts!['replaced']),
          withdrawn: Number(counts!['withdrawn']),
          accounts,
          warnings: warnings.list,
          warning_count: warnings.count,
        },
        facts,
      };
    } catch (e) {
      await w.exec('ROLLBACK');
      throw e;
    }
  } finally {
    await w.exec('USE memory.main');
    for (const schema of made) await w.exec(`DROP SCHEMA IF EXISTS memory.${schema} CASCADE`);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The changed accounts as SQL reads them: their ids written out while they are few (each table is
 * then read only where their rows are), the scratch table of them otherwise.
 */
function changedSet(ids: readonly string[]): AccountSet {
  return ids.length <= 1_000 ? { ids } : 'memory.nrr_ingest.changed_accounts';
}

/** What the prepared checks call a batch in their statements; messages name the batch itself instead. */
const PREPARED_LABEL = 'the ingested batch';

/**
 * The kind of a batch, for the prepared checks: its source and the columns its rows give, as
 * written (the statements that read the rows depend on them).
 */
function batchKind(source: IngestSource, rows: readonly Record<string, unknown>[]): string {
  const columns = new Set<string>();
  for (const r of rows) for (const c of Object.keys(r)) columns.add(c);
  return JSON.stringify([source, ...columns]);
}

/** Batches up to this many rows are checked with DuckDB's optimizer off (see withSmallPlans), or by prepared statements in a live workspace. */
const SMALL_BATCH = 1_000;

/** ... and their accounts' model and facts computed without it, while they change at most this many accounts. */
const SMALL_ACCOUNTS = 100;

/**
 * Keeps the store's list of usage weeks (see USAGE_WEEKS) after a product usage batch: the weeks
 * it adds, less the weeks of rows it took away that no row has any more.
 */
async function keepUsageWeeks(w: Driver, typed: string, goneWeeks: readonly string[]): Promise<void> {
  const weeks = `${STORE_CATALOG}.main.${USAGE_WEEKS}`;
  await w.exec(`INSERT INTO ${weeks} SELECT DISTINCT week FROM ${typed} WHERE week NOT IN (SELECT week FROM ${weeks})`);
  if (goneWeeks.length === 0) return;
  const list = goneWeeks.map((x) => `DATE ${w.dialect.quoteString(x)}`).join(', ');
  await w.exec(`DELETE FROM ${weeks} WHERE week IN (${list}) AND week NOT IN (SELECT week FROM ${STORE_CATALOG}.main.signal_product_usage WHERE week IN (${list}))`);
}

/** JSON text of a row; numbers read losslessly (POST bodies) keep their digits. */
const jsonText = (value: unknown): string => stringifyLossless(value) ?? 'null';

/** The batch's shape, checked before anything is read: a known source, lists of objects, keys given. */
interface CheckedBatch {
  readonly source: IngestSource;
  readonly rows: Record<string, unknown>[];
  readonly withdraw: Record<string, unknown>[];
  readonly batchId: string;
}

function checkBatch(batch: IngestBatch): CheckedBatch {
  const { source } = batch;
  if (typeof source !== 'string' || !isIngestSource(source)) {
    throw new NrrError(`source: '${String(source)}' cannot take ingested rows: expected one of subscriptions, usage, accounts or a signal source (FX rates: edit fx_rates and sync)`);
  }
  const list = (name: string, v: unknown): Record<string, unknown>[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v)) throw new NrrError(`${name}: expected a list of objects`);
    v.forEach((item, i) => {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) throw new NrrError(`${name} item ${i + 1}: expected an object of column: value`);
    });
    return v as Record<string, unknown>[];
  };
  const rows = list('rows', batch.rows);
  const withdraw = list('withdraw', batch.withdraw);
  if (rows.length + withdraw.length === 0) throw new NrrError('the batch is empty: expected rows to ingest or keys to withdraw');
  if (rows.length + withdraw.length > MAX_BATCH_ITEMS) throw new NrrError(`the batch has ${rows.length + withdraw.length} items: at most ${MAX_BATCH_ITEMS} in one batch`);
  const batchId = batch.batchId ?? randomUUID();
  if (typeof batchId !== 'string' || !ID.test(batchId)) throw new NrrError(`batch id '${String(batchId)}': expected 1 to 100 letters, digits, '.', '_', ':' or '-'`);
  const known = new Set(contractColumns(source));
  rows.forEach((r, i) => {
    const lineId = r['line_id'];
    if (source === 'subscriptions' && !((typeof lineId === 'string' && lineId.trim() !== '') || typeof lineId === 'number' || isLosslessNumber(lineId))) {
      throw new NrrError(`batch ${batchId} (${source}) row ${i + 1}: line_id is missing: an ingested line needs its line_id, so that it can be corrected or withdrawn later`);
    }
    if (source !== 'accounts') {
      const unknown = Object.keys(r).filter((k) => !known.has(k.trim().toLowerCase()));
      if (unknown.length > 0) throw new NrrError(`batch ${batchId} (${source}) row ${i + 1}: ${unknown.map((k) => `'${k}'`).join(', ')}: not a column of ${source} (columns: ${[...known].join(', ')})`);
    }
  });
  return { source, rows, withdraw, batchId };
}

/** Accounts ingested may give the attributes the store has (or fewer), not new ones: a new attribute needs the file, and a sync. */
async function checkAttributes(w: Driver, source: IngestSource, typed: string): Promise<void> {
  if (source !== 'accounts') return;
  const cols = async (table: string): Promise<string[]> => {
    const [catalog, schema, name] = table.split('.');
    return (
      await w.query(`SELECT column_name FROM duckdb_columns() WHERE database_name = '${catalog}' AND schema_name = '${schema}' AND table_name = '${name}'`)
    ).map((r) => String(r['column_name']));
  };
  const kept = new Set(await cols(`${STORE_CATALOG}.main.accounts`));
  const extra = (await cols(typed)).filter((c) => !kept.has(c));
  if (extra.length > 0) {
    throw new NrrError(
      `accounts: ${extra.map((c) => `'${c}'`).join(', ')}: not an attribute of this workspace's accounts (${[...kept].filter((c) => c !== 'account_id').join(', ') || 'none'}); add the column to the accounts file and sync`,
    );
  }
}

/**
 * The batch's warnings: those of the contract's rules, and rows naming an account the accounts file
 * does not list (looked up among the accounts the batch changes, which hold every account of its rows).
 */
async function batchWarnings(
  w: Driver,
  source: IngestSource,
  typed: string,
  issues: string,
  meta: StoreMeta,
  changed: AccountSet,
): Promise<{ list: ValidationIssue[]; count: number }> {
  const parts = [`SELECT source, file, row, "column", value, expected FROM ${issues} WHERE severity = 'warning' AND source = '${source}'`];
  const hasAccounts = meta.facts.sources.some((x) => x.source === 'accounts' && x.file !== null);
  if (hasAccounts && source !== 'accounts') {
    parts.push(`SELECT '${source}', '', -row_no, 'account_id', account_id, 'an account listed in accounts (it will have no attributes)'
                FROM ${typed} t WHERE account_id IS NOT NULL AND account_id NOT IN (SELECT account_id FROM ${STORE_CATALOG}.main.accounts WHERE ${sqlAccountIn(w.dialect, 'account_id', changed)})`);
  }
  const all = await w.query(`SELECT * FROM (${parts.join(' UNION ALL ')}) ORDER BY row, "column"`);
  return {
    count: all.length,
    list: all.slice(0, 10).map((r) => ({
      source,
      file: String(r['file'] || `ingested ${source}`),
      row: Number(r['row']),
      column: String(r['column']),
      value: r['value'] === null ? null : String(r['value']),
      expected: String(r['expected']),
      severity: 'warning',
    })),
  };
}

/** The overlay of ingested rows and withdrawn keys, which a sync of the files or a rebuild applies again. */
export const overlayTable = (table: string): string => `nrr_overlay_${table}`;
export const withdrawnTable = (table: string): string => `nrr_withdrawn_${table}`;

async function keepOverlay(w: Driver, key: SourceKey, typed: string): Promise<void> {
  const s = STORE_CATALOG;
  const overlay = `${s}.main.${overlayTable(key.table)}`;
  const gone = `${s}.main.${withdrawnTable(key.table)}`;
  await w.exec(`CREATE TABLE IF NOT EXISTS ${overlay} AS SELECT * FROM ${s}.main.${key.table} WHERE FALSE`);
  await w.exec(`CREATE TABLE IF NOT EXISTS ${gone} AS SELECT * FROM memory.nrr_ingest.withdrawn_keys WHERE FALSE`);
  await w.exec(`DELETE FROM ${overlay} t WHERE ${sqlKeyIn(key, 't', 'memory.nrr_ingest.batch_keys')}`);
  await w.exec(`DELETE FROM ${gone} t WHERE ${sqlKeyIn(key, 't', 'memory.nrr_ingest.batch_keys')}`);
  await w.exec(`INSERT INTO ${overlay} BY NAME SELECT * FROM ${typed}`);
  await w.exec(`INSERT INTO ${gone} SELECT * FROM memory.nrr_ingest.withdrawn_keys`);
}

/**
 * Applies the ingested overlay kept in `catalog` to the typed tables of `schema` just read from the
 * files: rows with an ingested or withdrawn key are replaced by the ingested rows.
 */
export async function replayOverlay(w: Driver, catalog: string, schema: string): Promise<void> {
  const d = w.dialect;
  const tables = (
    await w.query(`SELECT table_name FROM duckdb_tables() WHERE database_name = '${catalog}' AND schema_name = 'main' AND table_name LIKE 'nrr\\_overlay\\_%' ESCAPE '\\'`)
  ).map((r) => String(r['table_name']).slice('nrr_overlay_'.length));
  for (const table of tables) {
    const source = (['subscriptions', 'usage', 'accounts'] as const).find((x) => sourceKey(x, d).table === table) ?? (table.replace(/^signal_/, '') as SignalSourceName);
    const key = sourceKey(source, d);
    const overlay = `${catalog}.main.${overlayTable(table)}`;
    const gone = `${catalog}.main.${withdrawnTable(table)}`;
    await w.exec(`DELETE FROM ${schema}.${table} t WHERE ${sqlKeyIn(key, 't', overlay)} OR ${sqlKeyIn(key, 't', gone)}`);
    await w.exec(`INSERT INTO ${schema}.${table} BY NAME SELECT * FROM ${overlay}`);
  }
}
