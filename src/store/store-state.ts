import { createHash } from 'node:crypto';
import type { Workspace } from '../workspace/workspace.js';
import { META_TABLES, STORE_CATALOG } from './store-schema.js';

/**
 * A key of the state a workspace's store is in: it changes with every write that changes what the
 * store holds (a sync that read a changed file, a rebuild, an ingested batch: each writes a new
 * `synced_at` in the transaction of its change) and with the model it was computed under. An answer
 * kept beside the store under this key is the answer of that state and of no other. Null for a
 * workspace computed from the files (nothing to key on).
 * @example const state = await storeState(ws); // '3f1c…' or null with --no-store
 */
export async function storeState(ws: Workspace): Promise<string | null> {
  if (!ws.summary.store?.path) return null;
  try {
    const meta = await ws.query(`SELECT key, value FROM ${STORE_CATALOG}.${META_TABLES.meta} WHERE key IN ('synced_at', 'model_key') ORDER BY key`);
    if (meta.length < 2) return null;
    return createHash('sha256')
      .update(JSON.stringify(meta.map((r) => [String(r['key']), String(r['value'])])))
      .digest('hex');
  } catch {
    return null;
  }
}
