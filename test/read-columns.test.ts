import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readColumns, type Driver } from '../src/drivers/driver.js';
import { DuckDbDriver } from '../src/drivers/duckdb-driver.js';

// A result read by column holds, column by column, exactly what the rows hold: DECIMAL and BIGINT
// as exact text, lists as arrays, NULL as null, in row order.
describe('readColumns', () => {
  let driver: DuckDbDriver;
  beforeAll(async () => {
    driver = await DuckDbDriver.open();
  });
  afterAll(() => driver.close());

  const sql = `SELECT * FROM (VALUES
      (1, 'A1', CAST('123456789012345678.123456789012' AS DECIMAL(38,12)), CAST(9007199254740993 AS BIGINT), ['seats', 'tickets'], 0.25),
      (2, 'A2', NULL, NULL, NULL, NULL)) v(n, id, mrr, big, sources, share)
    ORDER BY n`;

  it('gives each column the values of the rows, exactly', async () => {
    const columns = await readColumns(driver, sql);
    expect(columns).toEqual({
      n: [1, 2],
      id: ['A1', 'A2'],
      mrr: ['123456789012345678.123456789012', null],
      big: ['9007199254740993', null],
      sources: [['seats', 'tickets'], null],
      share: ['0.25', null],
    });
    const rows = await driver.query(sql);
    for (const key of Object.keys(columns)) expect(columns[key]).toEqual(rows.map((r) => r[key]));
  });

  it('reads through the rows for a driver that has no column reader', async () => {
    const rowsOnly: Driver = { dialect: driver.dialect, exec: (s) => driver.exec(s), query: (s) => driver.query(s), close: () => undefined };
    expect(await readColumns(rowsOnly, sql)).toEqual(await readColumns(driver, sql));
    expect(await readColumns(rowsOnly, 'SELECT 1 AS n WHERE FALSE')).toEqual({});
  });
});
