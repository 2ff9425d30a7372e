import { createHash } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { monthText } from '../engine/months.js';
import { META_TABLES, STORE_CATALOG } from '../store/store-schema.js';
import type { Workspace } from '../workspace/workspace.js';
import type { AccountProbabilities, AccountProbability } from './account-probabilities.js';
import { modelGroupAttribute } from './forecast-data.js';

/** Changes whenever the fit or the probabilities it gives change: a file of another version is never read. */
const CACHE_VERSION = 1;

interface CacheFile {
  readonly key: string;
  readonly as_of: string;
  readonly method: AccountProbabilities['method'];
  readonly not_fitted: string | null;
  /** account_id, churn, expansion: numbers as JSON writes them, which read back to the same doubles. */
  readonly accounts: readonly (readonly [string, number | null, number | null])[];
}

/**
 * What the probabilities of month M depend on: the store's state (every sync or ingested change
 * writes a new `synced_at`), the model it was computed under, the month, and the attribute the
 * model tells groups apart by. Null without a store file (nothing to key on: no cache).
 */
async function cacheKey(ws: Workspace, month: number): Promise<{ key: string; file: string } | null> {
  const store = ws.summary.store;
  if (!store?.path) return null;
  try {
    const meta = await ws.query(`SELECT key, value FROM ${STORE_CATALOG}.${META_TABLES.meta} WHERE key IN ('synced_at', 'model_key') ORDER BY key`);
    const parts = { version: CACHE_VERSION, meta: meta.map((r) => [String(r['key']), String(r['value'])]), month, group: modelGroupAttribute(ws) };
    if (parts.meta.length < 2) return null;
    return { key: createHash('sha256').update(JSON.stringify(parts)).digest('hex'), file: join(dirname(store.path), `probabilities-${monthText(month)}.json`) };
  } catch {
    return null;
  }
}

/** The probabilities of month M as last fitted, when the store has not changed since; null otherwise. */
export async function readCachedProbabilities(ws: Workspace, month: number): Promise<AccountProbabilities | null> {
  const k = await cacheKey(ws, month);
  if (!k) return null;
  try {
    const cached = JSON.parse(await readFile(k.file, 'utf8')) as CacheFile;
    if (cached.key !== k.key) return null;
    const accounts = new Map<string, AccountProbability>(cached.accounts.map(([id, c, e]) => [id, { churn_probability_90d: c, expansion_probability_90d: e }]));
    return { as_of: cached.as_of, method: cached.method, not_fitted: cached.not_fitted, accounts };
  } catch {
    // Missing, cut short or not of this shape: fitted again (and written anew).
    return null;
  }
}

/**
 * Keeps the probabilities of month M next to the store, for the next run to read instead of fitting
 * again. Best effort: a store folder that cannot be written only means the next run fits again.
 */
export async function writeCachedProbabilities(ws: Workspace, month: number, p: AccountProbabilities): Promise<void> {
  const k = await cacheKey(ws, month);
  if (!k) return;
  const body: CacheFile = {
    key: k.key,
    as_of: p.as_of,
    method: p.method,
    not_fitted: p.not_fitted,
    accounts: [...p.accounts].map(([id, v]) => [id, v.churn_probability_90d, v.expansion_probability_90d]),
  };
  const temp = `${k.file}.${process.pid}.tmp`;
  try {
    await writeFile(temp, JSON.stringify(body));
    await rename(temp, k.file);
  } catch {
    // Not kept: the next run fits again.
  }
}
