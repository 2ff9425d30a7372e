import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DuckDbDriver } from '../src/drivers/duckdb-driver.js';
import { LiveWorkspace } from '../src/store/live-workspace.js';
import { Workspace } from '../src/workspace/workspace.js';
import { ACCOUNT_MODEL_TABLES, ACCOUNT_SOURCE_TABLES, DEFAULT_STORE_FILE, META_TABLES } from '../src/store/store-schema.js';
import { fixtureDir, removeDir, type FileContent } from './helpers/fixture-dir.js';

/**
 * What keeps an ingested change small without changing what it computes: the tables kept per
 * account are written in the order of their accounts (so that one account's rows are found in one
 * row group), a small batch runs on one thread and gives the database its threads back, and a batch
 * writes the store's facts again but not its list of files.
 */

const TODAY = new Date('2026-07-01T00:00:00Z');

// The accounts come in the files in the reverse of their order (A3, A2, A1), so a store that
// kept the files' order would fail the order check below.
const files: Record<string, FileContent> = {
  'accounts.csv': [
    ['account_id', 'segment'],
    ['A3', 'smb'],
    ['A2', 'mid'],
    ['A1', 'smb'],
  ],
  'subscriptions.csv': [
    ['account_id', 'line_id', 'start_date', 'end_date', 'amount', 'interval', 'currency'],
    ['A3', 'L5', '2025-06-01', '', '300', 'monthly', 'USD'],
    ['A2', 'L3', '2025-03-01', '2026-03-01', '200', 'monthly', 'USD'],
    ['A1', 'L1', '2025-01-01', '', '100', 'monthly', 'USD'],
    ['A3', 'L4', '2025-02-01', '', '50', 'monthly', 'USD'],
    ['A1', 'L2', '2025-04-01', '', '25', 'monthly', 'USD'],
  ],
  'usage.csv': [
    ['account_id', 'product', 'month', 'amount', 'currency'],
    ['A3', 'api', '2026-05', '7', 'USD'],
    ['A1', 'api', '2026-05', '3', 'USD'],
  ],
};

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

/** Reads the store file on its own (the live workspace closed). */
async function readStore<T>(dir: string, f: (db: DuckDbDriver) => Promise<T>): Promise<T> {
  const db = await DuckDbDriver.open();
  try {
    await db.exec(`ATTACH ${db.dialect.quoteString(join(dir, DEFAULT_STORE_FILE))} AS s (READ_ONLY)`);
    return await f(db);
  } finally {
    db.close();
  }
}

/** Rows of a table that come after a row of a greater account, in the order they are stored. */
async function outOfOrder(db: DuckDbDriver, table: string): Promise<{ rows: number; back: number }> {
  const [r] = await db.query(`SELECT count(*) AS rows, count(*) FILTER (WHERE account_id < prev) AS back
    FROM (SELECT account_id, lag(account_id) OVER (ORDER BY rowid) AS prev FROM s.main.${table})`);
  return { rows: Number(r!['rows']), back: Number(r!['back']) };
}

describe('the store layout behind a small ingested change', () => {
  it('keeps every per-account table in the order of its accounts when it is built', async () => {
    const dir = fixtureDir(files);
    dirs.push(dir);
    const live = await LiveWorkspace.open({ data: dir, today: TODAY, signals: true });
    live.close();
    await readStore(dir, async (db) => {
      for (const t of [...ACCOUNT_SOURCE_TABLES, ...ACCOUNT_MODEL_TABLES]) {
        const o = await outOfOrder(db, t);
        expect(o.back, `${t}: a row stored after a row of a greater account`).toBe(0);
      }
      // The tables are not empty (an empty table is trivially in order): 5 lines, 2 usage charges, 3 accounts.
      expect((await outOfOrder(db, 'lines')).rows).toBe(5);
      expect((await outOfOrder(db, 'usage_charges')).rows).toBe(2);
      expect((await outOfOrder(db, 'accounts')).rows).toBe(3);
    });
  });

  it('keeps that order when it is built again with ingested rows, which go on top of the files', async () => {
    const dir = fixtureDir(files);
    dirs.push(dir);
    const live = await LiveWorkspace.open({ data: dir, today: TODAY, signals: true });
    try {
      // A0 comes before every account of the files: kept at the end of the tables until a rebuild.
      await live.apply({ source: 'subscriptions', rows: [{ account_id: 'A0', line_id: 'L0', start_date: '2025-05-01', amount: '10', interval: 'monthly', currency: 'USD' }] });
    } finally {
      live.close();
    }
    const ws = await Workspace.open({ data: dir, today: TODAY, signals: true, store: { rebuild: true } });
    try {
      expect(ws.summary.store?.action).toBe('rebuilt');
      expect(ws.summary.lines).toBe(6);
    } finally {
      ws.close();
    }
    await readStore(dir, async (db) => {
      for (const t of [...ACCOUNT_SOURCE_TABLES, ...ACCOUNT_MODEL_TABLES]) {
        const o = await outOfOrder(db, t);
        expect(o.back, `${t}: a row stored after a row of a greater account`).toBe(0);
      }
      expect((await outOfOrder(db, 'lines')).rows).toBe(6);
      const [first] = await db.query('SELECT account_id, line_id FROM s.main.lines ORDER BY rowid LIMIT 1');
      expect(first).toEqual({ account_id: 'A0', line_id: 'L0' });
    });
  });

  it('gives the database its threads back after a small batch, and writes its facts but not its files', async () => {
    const dir = fixtureDir(files);
    dirs.push(dir);
    const live = await LiveWorkspace.open({ data: dir, today: TODAY, signals: true });
    let filesBefore: unknown[];
    try {
      const threads = async (): Promise<string> => String((await live.workspace.query(`SELECT current_setting('threads') AS t`))[0]!['t']);
      const before = await threads();
      expect(Number(before)).toBeGreaterThanOrEqual(1);
      filesBefore = await live.workspace.query(`SELECT * FROM nrr_store.${META_TABLES.files} ORDER BY source`);
      expect(filesBefore.length).toBe(3);
      const r = await live.apply({ source: 'subscriptions', rows: [{ account_id: 'A2', line_id: 'L9', start_date: '2026-05-01', amount: '10', interval: 'monthly', currency: 'USD' }] });
      expect(r.accounts).toEqual(['A2']);
      expect(await threads()).toBe(before);
      // A refused batch (a date that is not one) gives them back too.
      await expect(live.apply({ source: 'subscriptions', rows: [{ account_id: 'A2', line_id: 'L10', start_date: 'soon', amount: '10', interval: 'monthly', currency: 'USD' }] })).rejects.toThrow();
      expect(await threads()).toBe(before);
      // 5 lines in the file + the ingested L9.
      expect(live.workspace.summary.lines).toBe(6);
    } finally {
      live.close();
    }
    await readStore(dir, async (db) => {
      expect(await db.query(`SELECT * FROM s.${META_TABLES.files} ORDER BY source`)).toEqual(filesBefore);
      const [m] = await db.query(`SELECT value FROM s.${META_TABLES.meta} WHERE key = 'facts'`);
      expect((JSON.parse(String(m!['value'])) as { lines: number }).lines).toBe(6);
    });
  });
});
