import { createHash } from 'node:crypto';
import { rename, unlink } from 'node:fs/promises';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pruneOldest } from '../store/answers-folder.js';
import { storeState } from '../store/store-state.js';
import type { Workspace } from '../workspace/workspace.js';
import { sqlAccountIn } from './account-record-sql.js';

/** Changes whenever the scores' columns or meaning change: a file of another version is never read. */
const KEPT_VERSION = 1;

/** At most this many scored days are kept (each holds a row per account: about 40 MB at 100,000 accounts). */
const MOST_KEPT = 6;

/**
 * The names restoreScores has made views of kept scores in this process: only these can be views,
 * so writing scores under any other name asks the database nothing (an ingested change's plays
 * score a few accounts into a table of their own).
 */
const restoredNames = new Set<string>();

/** Where one day's scores are kept and the store state they are of. */
export interface KeptScores {
  readonly file: string;
  readonly state: string;
}

/**
 * Where every account's scores on `day` are kept beside the store, while the store stays in the state
 * they were computed in (see storeState) under the same health, tier and currency settings: a sync
 * that changed the store or an ingested change gives another key, so scores of another state are
 * never read. Null without a DuckDB store file (figures computed from the files, a warehouse):
 * nothing to key on, nothing kept.
 */
export async function keptScores(ws: Workspace, day: string): Promise<KeptScores | null> {
  const path = ws.summary.store?.path;
  if (path === undefined || ws.driver.dialect.name !== 'duckdb') return null;
  const state = await storeState(ws);
  if (state === null) return null;
  const h = ws.scoring.health;
  const key = JSON.stringify({
    version: KEPT_VERSION,
    state,
    day,
    currency: ws.policies.reporting_currency,
    health: h,
    tiers: ws.scoring.tiers,
    segment: ws.attributes.includes(h.segment_attribute) ? h.segment_attribute : null,
  });
  return { file: join(dirname(path), 'answers', `scores-${createHash('sha256').update(key).digest('hex').slice(0, 32)}.duckdb`), state };
}

/**
 * Makes `table` read the kept scores when there are: true; false when none are kept, and the table
 * is left as it was. The kept file is attached read-only and `table` becomes a view of it: every
 * account's rows are not copied (a copy of 100,000 rows of scores costs about as much CPU as a
 * second; a view costs nothing until read, and one account's row is read from one block). With
 * `ids`, `table` is a table of those accounts' rows. A kept file that cannot be read (cut short,
 * damaged) counts as none. See writableScores before writing into `table`.
 */
export async function restoreScores(ws: Workspace, kept: KeptScores | null, table: string, ids?: readonly string[]): Promise<boolean> {
  if (kept === null || !existsSync(kept.file)) return false;
  const d = ws.driver.dialect;
  // One catalog per kept file, attached once per database and never written.
  const catalog = `nrr_kept_${createHash('sha256').update(kept.file).digest('hex').slice(0, 16)}`;
  try {
    await ws.driver.exec(`ATTACH IF NOT EXISTS ${d.quoteString(kept.file)} AS ${catalog} (READ_ONLY)`);
    if (ids !== undefined) {
      await dropView(ws, table);
      await ws.driver.exec(`CREATE OR REPLACE TABLE ${d.quoteIdent(table)} AS SELECT * FROM ${catalog}.scores WHERE ${sqlAccountIn(d, 'account_id', { ids })}`);
    } else {
      if ((await relationKind(ws, table)) === 'BASE TABLE') await ws.driver.exec(`DROP TABLE ${d.quoteIdent(table)}`);
      await ws.driver.exec(`CREATE OR REPLACE VIEW ${d.quoteIdent(table)} AS SELECT * FROM ${catalog}.scores`);
      restoredNames.add(table);
    }
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes `table` a table of its own when restoreScores made it a view of kept scores, with the same
 * rows (for the rows of changed accounts to be replaced in it); nothing otherwise.
 */
export async function writableScores(ws: Workspace, table: string): Promise<void> {
  if (!restoredNames.has(table) || (await relationKind(ws, table)) !== 'VIEW') return;
  const t = ws.driver.dialect.quoteIdent(table);
  const copy = ws.driver.dialect.quoteIdent(`${table}__copy`);
  await ws.driver.exec(`CREATE OR REPLACE TABLE ${copy} AS SELECT * FROM ${t}`);
  await ws.driver.exec(`DROP VIEW ${t}`);
  await ws.driver.exec(`ALTER TABLE ${copy} RENAME TO ${t}`);
}

/** Drops `table` when restoreScores made it a view, so that scores can be written under its name. */
export async function dropView(ws: Workspace, table: string): Promise<void> {
  if (restoredNames.has(table) && (await relationKind(ws, table)) === 'VIEW') await ws.driver.exec(`DROP VIEW ${ws.driver.dialect.quoteIdent(table)}`);
}

/** Whether `name` is a table or a view of the database's default schema, or neither (null). */
async function relationKind(ws: Workspace, name: string): Promise<'BASE TABLE' | 'VIEW' | null> {
  const d = ws.driver.dialect;
  const [r] = await ws.query(
    `SELECT table_type FROM information_schema.tables WHERE table_name = ${d.quoteString(name)} AND table_catalog = current_database() AND table_schema = current_schema()`,
  );
  const kind = r === undefined ? null : String(r['table_type']);
  return kind === 'BASE TABLE' || kind === 'VIEW' ? kind : null;
}

/**
 * Writes the scores in `table` beside the store for the next process (or server) on the same state to
 * read instead of scoring every account again: only when the store is still in the state `kept` was
 * read in (a live change committed meanwhile may have made them stale). Written to a temporary file
 * and renamed, so a reader finds a whole file or none. Best effort: a folder that cannot be written
 * only means the next run scores again.
 */
export async function keepScores(ws: Workspace, kept: KeptScores | null, table: string): Promise<void> {
  if (kept === null || (await storeState(ws)) !== kept.state) return;
  const d = ws.driver.dialect;
  const temp = `${kept.file}.${process.pid}.tmp`;
  const catalog = `nrr_keeping_${process.pid}`;
  try {
    mkdirSync(dirname(kept.file), { recursive: true });
    await unlink(temp).catch(() => undefined);
    await ws.driver.exec(`ATTACH ${d.quoteString(temp)} AS ${catalog}`);
    try {
      // Sorted by account: one account's rows are then read from one block.
      await ws.driver.exec(`CREATE TABLE ${catalog}.scores AS SELECT * FROM ${d.quoteIdent(table)} ORDER BY account_id`);
    } finally {
      await ws.driver.exec(`DETACH ${catalog}`);
    }
    await rename(temp, kept.file);
    await pruneOldest(dirname(kept.file), (n) => n.startsWith('scores-') && n.endsWith('.duckdb'), MOST_KEPT, MOST_KEPT);
  } catch {
    await unlink(temp).catch(() => undefined);
    await unlink(`${temp}.wal`).catch(() => undefined);
  }
}

/**
 * Every account's scores on `day` in `table`: read from the kept file when the store has not changed
 * since they were written, else computed by `compute` (which fills `table`) and kept.
 * @example await keptOrScored(ws, '2026-06-30', 'account_scores', () => materializeAccountScores(ws, { days: ['2026-06-30'] })); // 'kept' or 'computed'
 */
export async function keptOrScored(ws: Workspace, day: string, table: string, compute: () => Promise<void>): Promise<'kept' | 'computed'> {
  const kept = await keptScores(ws, day);
  if (await restoreScores(ws, kept, table)) return 'kept';
  await dropView(ws, table);
  await compute();
  await keepScores(ws, kept, table);
  return 'computed';
}
