import type { StoreWarehouse } from '../drivers/store-warehouse.js';
import type { DataFacts } from '../workspace/data-facts.js';
import type { FileFingerprint } from './file-fingerprints.js';
import { META_TABLES } from './store-schema.js';

/**
 * The layout of a workspace store in a warehouse (docs/store.md): the model's tables, the ledger per
 * product, and `nrr_store_meta` and `nrr_store_files`. It changes whenever a table, a column or the
 * meaning of a value changes; a store of an older layout is built again, a newer one refused.
 */
export const WAREHOUSE_STORE_VERSION = 1;

/** The marker of a store in a warehouse: a schema without it holds no store. */
export const WAREHOUSE_STORE_FORMAT = 'nrr-warehouse-store';

/** What a warehouse store says of itself. */
export interface WarehouseMeta {
  readonly schemaVersion: number;
  readonly modelKey: string;
  readonly facts: DataFacts;
  /** The revenue files it was built from. */
  readonly files: readonly FileFingerprint[];
  readonly rejectsFile: string | null;
  /** How many times it was built from the files (a sync that finds nothing changed builds nothing). */
  readonly builds: number;
}

const DDL = [
  `CREATE TABLE ${META_TABLES.meta} (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)`,
  `CREATE TABLE ${META_TABLES.files} (source VARCHAR PRIMARY KEY, file VARCHAR NOT NULL, size BIGINT NOT NULL, mtime_ns VARCHAR NOT NULL, sha256 VARCHAR NOT NULL)`,
];

/** Reads the store's meta; null when the namespace holds no store (a schema of earlier runs without one included). */
export async function readWarehouseMeta(w: StoreWarehouse): Promise<WarehouseMeta | null> {
  const tables = new Set(await w.storeTables());
  if (!tables.has(META_TABLES.meta) || !tables.has(META_TABLES.files)) return null;
  const meta = new Map((await w.query(`SELECT key, value FROM ${META_TABLES.meta}`)).map((r) => [String(r['key']), String(r['value'])]));
  if (meta.get('format') !== WAREHOUSE_STORE_FORMAT) return null;
  const version = Number(meta.get('schema_version'));
  const files = (await w.query(`SELECT source, file, size, mtime_ns, sha256 FROM ${META_TABLES.files} ORDER BY source`)).map(
    (r): FileFingerprint => ({ source: String(r['source']), file: String(r['file']), size: Number(r['size']), mtimeNs: String(r['mtime_ns']), sha256: String(r['sha256']) }),
  );
  const rejects = meta.get('rejects_file');
  return {
    schemaVersion: version,
    modelKey: meta.get('model_key') ?? '',
    // A store of another layout may hold facts of another shape: they are read only at this one.
    facts: version === WAREHOUSE_STORE_VERSION ? (JSON.parse(meta.get('facts') ?? 'null') as DataFacts) : (null as unknown as DataFacts),
    files,
    rejectsFile: rejects === undefined || rejects === '' ? null : rejects,
    builds: Number(meta.get('builds') ?? 0),
  };
}

/** Writes the meta into the build's namespace (the connection works there), before it is swapped in. */
export async function writeWarehouseMeta(w: StoreWarehouse, m: WarehouseMeta): Promise<void> {
  const d = w.dialect;
  for (const sql of DDL) await w.exec(sql);
  const entries: [string, string][] = [
    ['format', WAREHOUSE_STORE_FORMAT],
    ['schema_version', String(m.schemaVersion)],
    ['model_key', m.modelKey],
    ['facts', JSON.stringify(m.facts)],
    ['rejects_file', m.rejectsFile ?? ''],
    ['builds', String(m.builds)],
    ['built_at', new Date().toISOString()],
  ];
  await w.exec(`INSERT INTO ${META_TABLES.meta} (key, value) VALUES ${entries.map(([k, v]) => `(${d.quoteString(k)}, ${d.quoteString(v)})`).join(', ')}`);
  if (m.files.length > 0) {
    const rows = m.files.map((f) => `(${d.quoteString(f.source)}, ${d.quoteString(f.file)}, ${f.size}, ${d.quoteString(f.mtimeNs)}, ${d.quoteString(f.sha256)})`);
    await w.exec(`INSERT INTO ${META_TABLES.files} (source, file, size, mtime_ns, sha256) VALUES ${rows.join(', ')}`);
  }
}

/** The new stamps of files touched but not changed (the same SHA-256): one statement, so atomic. */
export async function stampFiles(w: StoreWarehouse, touched: readonly FileFingerprint[]): Promise<void> {
  const d = w.dialect;
  const sizes = touched.map((t) => `WHEN ${d.quoteString(t.source)} THEN ${t.size}`).join(' ');
  const times = touched.map((t) => `WHEN ${d.quoteString(t.source)} THEN ${d.quoteString(t.mtimeNs)}`).join(' ');
  await w.exec(
    d.sqlUpdateRows(META_TABLES.files, `size = CASE source ${sizes} END, mtime_ns = CASE source ${times} END`, `source IN (${touched.map((t) => d.quoteString(t.source)).join(', ')})`),
  );
}
