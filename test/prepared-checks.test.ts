import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbDriver } from '../src/drivers/duckdb-driver.js';
import type { Driver } from '../src/drivers/driver.js';
import { PreparedChecks } from '../src/store/prepared-checks.js';

/**
 * Statements prepared with DuckDB's optimizer can rest on the rows their tables held when they were
 * prepared: a GROUP BY over a small range of integers becomes a perfect hash aggregate sized by that
 * range, and fails ("Perfect hash aggregate … exceeded total groups") on a later batch whose values
 * range wider. Such a batch is valid: it must be applied, not refused.
 */
describe('prepared checks', () => {
  let w: DuckDbDriver;
  let checks: PreparedChecks;
  beforeAll(async () => {
    w = await DuckDbDriver.open();
    checks = new PreparedChecks(w);
  });
  afterAll(() => {
    checks.close();
    w.close();
  });

  const batch = (values: readonly number[]): void => writeFileSync(join(checks.folder, 'rows.csv'), ['a', ...values.map(String)].join('\n') + '\n');
  const steps = async (d: Driver): Promise<string[]> => {
    await d.exec(`CREATE TABLE groups AS SELECT a FROM read_csv('${join(checks.folder, 'rows.csv')}', header = true, columns = {'a': 'INTEGER'})`);
    return (await d.query('SELECT a, count(*) AS n FROM groups GROUP BY a ORDER BY a')).map((r) => `${String(r['a'])}:${String(r['n'])}`);
  };

  it('a batch whose prepared plan fails on its rows runs again as written, with the answer of a first run', async () => {
    batch([0, 1, 2, 0]);
    expect(await checks.run('k', steps)).toEqual(['0:2', '1:1', '2:1']);
    // Prepared now, on tables holding 0..2; this batch's groups range over 0..4999.
    const wide = Array.from({ length: 20_000 }, (_, i) => i % 5000);
    batch(wide);
    const got = await checks.run('k', steps);
    expect(got).toHaveLength(5000);
    expect(got[0]).toBe('0:4');
    expect(got[4999]).toBe('4999:4');
    // And the next batch of the kind is answered too (prepared again, from these rows).
    batch([7, 7, 9]);
    expect(await checks.run('k', steps)).toEqual(['7:2', '9:1']);
  });
});
