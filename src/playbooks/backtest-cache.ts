import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { STORE_CATALOG, META_TABLES, STORE_SCHEMA_VERSION } from '../store/store-schema.js';
import type { Workspace } from '../workspace/workspace.js';
import { backtest, type Backtest } from './backtest.js';

/**
 * The backtest replays a year of month-ends (seconds on a small company, minutes on a large one),
 * yet it changes only when the data, the plays or the day do. Its answer is kept beside the
 * workspace store, keyed by everything it reads: the store's state (its files, their facts and its
 * last change), the scoring and play rules, the policies and the day. A surface that finds the key
 * unchanged reads the answer instead of replaying; any change to one of them replays again.
 */

/** Bumped whenever the backtest's computation or answer changes: an older answer is not read. */
const BACKTEST_FORMAT = 1;

/** Where the answer is kept: beside the store. */
export const backtestCachePath = (storePath: string): string => `${storePath}.backtest.json`;

/** The JSON text of a backtest, as the API serves it (money as exact decimal text). */
export function backtestJson(b: Backtest): string {
  return JSON.stringify(b, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

/**
 * The key of the default backtest (the 12 month-ends whose outcomes are known) on this workspace's
 * state; null when it is not read from a store (then nothing is kept).
 */
export async function backtestKey(ws: Workspace): Promise<string | null> {
  if (ws.summary.store === null) return null;
  const meta = await ws.query(`SELECT key, value FROM ${STORE_CATALOG}.${META_TABLES.meta} ORDER BY key`);
  const files = await ws.query(`SELECT source, sha256, size FROM ${STORE_CATALOG}.${META_TABLES.files} ORDER BY source`);
  const [ingested] = await ws.query(`SELECT count(*) AS n, max(seq) AS last FROM ${STORE_CATALOG}.${META_TABLES.ingested}`);
  const state = {
    format: BACKTEST_FORMAT,
    store: STORE_SCHEMA_VERSION,
    meta,
    files,
    ingested,
    scoring: ws.scoring,
    policies: ws.policies,
    as_of: ws.asOfMonth,
    dates: ws.dates,
    latest: ws.summary.latestDate,
    signals: ws.signalSources,
  };
  return createHash('sha256').update(JSON.stringify(state, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).digest('hex');
}

/** The kept answer for `key`, or null when there is none or it is of another state. */
export function readKeptBacktest(storePath: string, key: string): string | null {
  const path = backtestCachePath(storePath);
  if (!existsSync(path)) return null;
  try {
    const kept = JSON.parse(readFileSync(path, 'utf8')) as { key?: unknown; backtest?: unknown };
    return kept.key === key && kept.backtest !== undefined ? JSON.stringify(kept.backtest) : null;
  } catch {
    return null; // a damaged file is computed again and replaced
  }
}

/** Keeps the answer for `key` (written whole, then renamed: a reader never sees half of it). */
export function keepBacktest(storePath: string, key: string, text: string): void {
  const path = backtestCachePath(storePath);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `{"key":${JSON.stringify(key)},"backtest":${text}}\n`);
  renameSync(tmp, path);
}

/** Keeps a default backtest computed elsewhere (`nrr playbooks backtest`) for the next reader; nothing without a store. */
export async function keepDefaultBacktest(ws: Workspace, b: Backtest): Promise<void> {
  const key = await backtestKey(ws);
  const store = ws.summary.store?.path;
  if (key === null || store === undefined) return;
  try {
    keepBacktest(store, key, backtestJson(b));
  } catch {
    // Only a later view replays again.
  }
}

/**
 * The default backtest's JSON text: the kept one when the workspace's state has not changed since
 * it was computed, else replayed (and kept, when the workspace reads a store).
 * @example const text = await storedBacktest(ws); // the same as backtestJson(await backtest(ws))
 */
export async function storedBacktest(ws: Workspace): Promise<{ text: string; kept: boolean }> {
  const key = await backtestKey(ws);
  const store = ws.summary.store?.path;
  if (key !== null && store !== undefined) {
    const kept = readKeptBacktest(store, key);
    if (kept !== null) return { text: kept, kept: true };
  }
  const text = backtestJson(await backtest(ws));
  if (key !== null && store !== undefined) {
    try {
      keepBacktest(store, key, text);
    } catch {
      // A store folder that cannot be written only means the next view replays again.
    }
  }
  return { text, kept: false };
}
