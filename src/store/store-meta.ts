import type { Driver } from '../drivers/driver.js';
import type { DataFacts } from '../workspace/data-facts.js';
import type { FileFingerprint } from './file-fingerprints.js';
import { META_DDL, META_TABLES, STORE_FORMAT, STORE_SCHEMA_VERSION } from './store-schema.js';

/** What a store says of itself. */
export interface StoreMeta {
  readonly schemaVersion: number;
  readonly modelKey: string;
  readonly facts: DataFacts;
  readonly files: readonly FileFingerprint[];
  readonly syncedAt: string;
}

/**
 * Reads the store attached as `catalog`; 'foreign' when the database is not a store (no marker),
 * so that a file nrr did not write is never taken for one.
 */
export async function readStoreMeta(driver: Driver, catalog: string): Promise<StoreMeta | 'foreign'> {
  const tables = await driver.query(
    `SELECT table_name FROM duckdb_tables() WHERE database_name = '${catalog}' AND schema_name = 'main' AND table_name IN ('${META_TABLES.meta}', '${META_TABLES.files}')`,
  );
  if (tables.length < 2) return 'foreign';
  const meta = new Map((await driver.query(`SELECT key, value FROM ${catalog}.${META_TABLES.meta}`)).map((r) => [String(r['key']), String(r['value'])]));
  if (meta.get('format') !== STORE_FORMAT) return 'foreign';
  const files = (await driver.query(`SELECT * FROM ${catalog}.${META_TABLES.files} ORDER BY source`)).map(
    (r): FileFingerprint => ({
      source: String(r['source']),
      file: String(r['file']),
      size: Number(r['size']),
      mtimeNs: String(r['mtime_ns']),
      sha256: String(r['sha256']),
    }),
  );
  const version = Number(meta.get('schema_version'));
  return {
    schemaVersion: version,
    modelKey: meta.get('model_key') ?? '',
    // A store of another version may hold facts of another shape: they are read only at this version.
    facts: version === STORE_SCHEMA_VERSION ? (JSON.parse(meta.get('facts') ?? 'null') as DataFacts) : (null as unknown as DataFacts),
    files,
    syncedAt: meta.get('synced_at') ?? '',
  };
}

/** Writes what a store says of itself (inside the transaction that changes its tables). */
export async function writeStoreMeta(
  driver: Driver,
  catalog: string,
  m: { readonly modelKey: string; readonly facts: DataFacts; readonly files: readonly FileFingerprint[] },
): Promise<void> {
  const d = driver.dialect;
  for (const sql of META_DDL) await driver.exec(sql.replace('IF NOT EXISTS ', `IF NOT EXISTS ${catalog}.`));
  const entries: [string, string][] = [
    ['format', STORE_FORMAT],
    ['schema_version', String(STORE_SCHEMA_VERSION)],
    ['model_key', m.modelKey],
    ['facts', JSON.stringify(m.facts)],
    ['synced_at', new Date().toISOString()],
  ];
  await driver.exec(`DELETE FROM ${catalog}.${META_TABLES.meta}`);
  await driver.exec(`INSERT INTO ${catalog}.${META_TABLES.meta} VALUES ${entries.map(([k, v]) => `(${d.quoteString(k)}, ${d.quoteString(v)})`).join(', ')}`);
  await driver.exec(`DELETE FROM ${catalog}.${META_TABLES.files}`);
  if (m.files.length > 0) {
    const rows = m.files.map((f) => `(${d.quoteString(f.source)}, ${d.quoteString(f.file)}, ${f.size}, ${d.quoteString(f.mtimeNs)}, ${d.quoteString(f.sha256)})`);
    await driver.exec(`INSERT INTO ${catalog}.${META_TABLES.files} VALUES ${rows.join(', ')}`);
  }
}

/**
 * Writes the facts of a store after an ingested change (inside its transaction): the rest of what
 * the store says of itself (its files, layout and model) is what it was, and is not written again.
 */
export async function writeStoreFacts(driver: Driver, catalog: string, facts: DataFacts): Promise<void> {
  const d = driver.dialect;
  await driver.exec(
    `UPDATE ${catalog}.${META_TABLES.meta} SET value = CASE key WHEN 'facts' THEN ${d.quoteString(JSON.stringify(facts))} ELSE ${d.quoteString(new Date().toISOString())} END
     WHERE key IN ('facts', 'synced_at')`,
  );
}
