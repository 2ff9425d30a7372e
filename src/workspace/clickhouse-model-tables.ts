import type { Driver } from '../drivers/driver.js';
import type { ModelTableDefinition } from '../engine/clickhouse-cluster-ddl.js';
import { NrrError } from '../errors.js';

/**
 * The model's tables and views as the builders made them in a ClickHouse database (the driver's
 * current one), read back from `system.tables` and `system.columns`: tables first, then views (whose
 * queries name the tables of the database they were built in, `builtIn`).
 */
export async function modelTableDefinitions(driver: Driver): Promise<ModelTableDefinition[]> {
  if (driver.dialect.name !== 'clickhouse') throw new NrrError('the model’s tables can be read back from ClickHouse only (--store clickhouse://…)');
  const [db] = await driver.query('SELECT currentDatabase() AS db');
  const built = String(db?.['db']);
  const tables = await driver.query(
    `SELECT name, engine, as_select FROM system.tables WHERE database = currentDatabase() ORDER BY engine = 'View', metadata_modification_time, name`,
  );
  const columns = await driver.query(`SELECT table, name, type FROM system.columns WHERE database = currentDatabase() ORDER BY table, position`);
  return tables.map((t) => {
    const name = String(t['name']);
    const cols = columns.filter((c) => c['table'] === name).map((c) => ({ name: String(c['name']), type: String(c['type']) }));
    if (t['engine'] !== 'View') return { name, columns: cols };
    return { name, columns: cols, viewQuery: String(t['as_select']), builtIn: built };
  });
}
