import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbDriver } from '../src/drivers/duckdb-driver.js';
import type { Driver } from '../src/drivers/driver.js';
import type { IngestBatch } from '../src/store/apply-batch.js';
import { LiveWorkspace } from '../src/store/live-workspace.js';
import { PreparedChecks } from '../src/store/prepared-checks.js';
import { fixtureDir, removeDir } from './helpers/fixture-dir.js';

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

  it('a question of what does not depend on the batch keeps the answer it had at that point of the steps; questions of the batch are asked again', async () => {
    const other = join(checks.folder, '..', `rates-${process.pid}.csv`);
    writeFileSync(other, 'code,rate\nEUR,2\n');
    const fixedSteps = async (d: Driver): Promise<string[]> => {
      // Made from no batch: kept from one run to the next. Nothing by that name was ever made: nothing to drop.
      await d.exec('DROP TABLE IF EXISTS never_made');
      await d.exec(`CREATE TABLE consts AS SELECT 1 AS x`);
      const [before] = await d.query('SELECT sum(x) AS s FROM consts');
      await d.exec('UPDATE consts SET x = x + 1');
      const [after] = await d.query('SELECT sum(x) AS s2 FROM consts');
      const columns = await d.query(`SELECT column_name FROM (DESCRIBE SELECT * FROM read_csv('${other}'))`);
      await d.exec(`CREATE TABLE rows_in AS SELECT a FROM read_csv('${join(checks.folder, 'rows.csv')}', header = true, columns = {'a': 'INTEGER'})`);
      const [sum] = await d.query('SELECT sum(a) AS s FROM rows_in');
      return [String(before!['s']), String(after!['s2']), columns.map((c) => String(c['column_name'])).join(','), String(sum!['s'])];
    };
    try {
      // As written, every run answers 1 before the UPDATE and 2 after it; the batch's sum follows its rows.
      for (const [values, sum] of [[[1, 2], '3'], [[5], '5'], [[4, 4, 4], '12']] as const) {
        batch(values);
        expect(await checks.run('fixed', fixedSteps)).toEqual(['1', '2', 'code,rate', sum]);
      }
      // Another file is read again once the recordings are forgotten (a sync of the files does that).
      writeFileSync(other, 'currency,rate\nEUR,2\n');
      await checks.reset();
      batch([6]);
      expect(await checks.run('fixed', fixedSteps)).toEqual(['1', '2', 'currency,rate', '6']);
      batch([7]);
      expect(await checks.run('fixed', fixedSteps)).toEqual(['1', '2', 'currency,rate', '7']);
    } finally {
      rmSync(other, { force: true });
    }
  });
});

/**
 * The rules are turned into messages only for the files with flagged rows (validation_issues is
 * filled by a statement of its own, run as written when a batch needs it): bad batches between good
 * ones are refused with the messages of the statements as written, and the good ones still apply.
 */
describe('prepared checks of good and bad batches in turn', () => {
  it('refuse each bad batch with the message of the checks as written, and apply the good ones', async () => {
    const files = {
      'subscriptions.csv': [
        ['account_id', 'line_id', 'start_date', 'end_date', 'amount', 'interval', 'currency'],
        ['A1', 'L1', '2025-01-01', '', '100', 'monthly', 'USD'],
      ],
      'accounts.csv': [['account_id', 'segment'], ['A1', 'smb'], ['A2', 'mid']],
    };
    const dirs = [fixtureDir(files), fixtureDir(files)];
    const today = new Date('2026-07-01T00:00:00Z');
    const prepared = await LiveWorkspace.open({ data: dirs[0]!, today });
    const asWritten = await LiveWorkspace.open({ data: dirs[1]!, today }, { prepareChecks: false });
    const line = (id: string, start: string, amount: string): IngestBatch => ({ source: 'subscriptions', batchId: `b-${id}`, rows: [{ account_id: 'A2', line_id: id, start_date: start, amount, interval: 'monthly', currency: 'USD' }] });
    const outcome = async (live: LiveWorkspace, b: IngestBatch): Promise<string> => {
      try {
        const r = await live.apply(b);
        return `applied ${r.rows} ${r.accounts.join(',')}`;
      } catch (e) {
        return `refused: ${e instanceof Error ? e.message : String(e)}`;
      }
    };
    try {
      const batches = [
        line('L2', '2025-02-01', '50'),
        line('L3', '2025-03-01', '60'),
        line('L4', '2025-13-01', '70'),
        line('L5', '2025-04-01', '80'),
        line('L6', '2025-05-01', 'ten'),
        line('L7', '2025-06-01', '90'),
      ];
      const got: string[] = [];
      for (const b of batches) {
        const a = await outcome(prepared, b);
        expect(a).toBe(await outcome(asWritten, b));
        got.push(a);
      }
      expect(got.filter((g) => g.startsWith('applied'))).toHaveLength(4);
      expect(got[2]).toMatch(/^refused: .*start_date.*2025-13-01/s);
      expect(got[4]).toMatch(/^refused: .*amount.*ten/s);
      const [n] = await prepared.workspace.query(`SELECT count(*) AS n FROM lines WHERE account_id = 'A2'`);
      expect(Number(n!['n'])).toBe(4);
    } finally {
      prepared.close();
      asWritten.close();
      for (const d of dirs) removeDir(d);
    }
  }, 120_000);
});
