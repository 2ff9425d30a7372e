import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Money } from '../money.js';
import { storeState } from '../store/store-state.js';
import { pruneOldest } from '../store/answers-folder.js';
import type { Workspace } from '../workspace/workspace.js';
import { metricsSeries, type Metrics, type MetricsQuery } from './metrics-queries.js';

/** Changes whenever a kept answer's shape or meaning changes: a file of another version is never read. */
const CACHE_VERSION = 1;

/** The amounts of a Metrics row: kept as exact decimal text, read back as Money. */
const MONEY_FIELDS = ['starting_mrr', 'ending_mrr', 'expansion', 'contraction', 'churn', 'fx', 'overlap_mrr'] as const satisfies readonly (keyof Metrics)[];

type SeriesQuery = Omit<MetricsQuery, 'month'> & { months: readonly number[] };

interface CacheFile {
  readonly state: string;
  /** The question, whole: the file's name is a hash of it, and a file answering another is never read. */
  readonly query: string;
  readonly rows: readonly Record<string, unknown>[];
}

/**
 * `metricsSeries`, answered from a file kept beside the store while the store is in the state it
 * was computed in (see storeState): a sync that changed the store or an ingested change makes it
 * computed again. The rows read back are those computed, to the digit (amounts as decimal text).
 * Without a store (`--no-store`, or figures computed from the files because the store was busy),
 * it is `metricsSeries` itself.
 * @example const rows = await cachedMetricsSeries(ws, { months: [ws.asOfMonth], window: 12, by: 'segment' });
 */
export async function cachedMetricsSeries(ws: Workspace, q: SeriesQuery): Promise<Metrics[]> {
  const path = ws.summary.store?.path;
  const state = path === undefined ? null : await storeState(ws);
  if (path === undefined || state === null) return metricsSeries(ws, q);
  const query = JSON.stringify({
    version: CACHE_VERSION,
    policies: ws.policies,
    months: q.months,
    window: q.window ?? null,
    by: q.by ?? null,
    method: q.method ?? null,
    where: q.where ?? null,
  });
  const file = join(dirname(path), 'answers', `metrics-${createHash('sha256').update(query).digest('hex').slice(0, 32)}.json`);
  const kept = await readKept(file, state, query);
  if (kept !== null) return kept;
  const rows = await metricsSeries(ws, q);
  // A live workspace (nrr serve) may commit a change while this computes: kept only for the state it began in, unchanged.
  if ((await storeState(ws)) === state) await keep(file, { state, query, rows: rows as unknown as Record<string, unknown>[] });
  return rows;
}

async function readKept(file: string, state: string, query: string): Promise<Metrics[] | null> {
  try {
    const kept = JSON.parse(await readFile(file, 'utf8')) as CacheFile;
    if (kept.state !== state || kept.query !== query || !Array.isArray(kept.rows)) return null;
    return kept.rows.map(revive);
  } catch {
    // Missing, cut short or not of this shape: computed again (and written anew).
    return null;
  }
}

function revive(row: Record<string, unknown>): Metrics {
  const out: Record<string, unknown> = { ...row };
  for (const k of MONEY_FIELDS) out[k] = new Money(String(row[k]));
  out['median_acv'] = row['median_acv'] === null ? null : new Money(String(row['median_acv']));
  return out as unknown as Metrics;
}

/** Best effort: a store folder that cannot be written only means the next run computes again. */
async function keep(file: string, body: CacheFile): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    await mkdir(dirname(file), { recursive: true });
    // Money's toJSON is its exact decimal text.
    await writeFile(temp, JSON.stringify(body));
    await rename(temp, file);
    await pruneOldest(dirname(file), (n) => n.startsWith('metrics-') && n.endsWith('.json'), MOST_KEPT, Math.floor(MOST_KEPT * 0.8));
  } catch {
    // Not kept.
  }
}

/** At most this many answers are kept (one per question asked: a dashboard's filters make many); past it, the oldest go down to four fifths. */
const MOST_KEPT = 1_000;

