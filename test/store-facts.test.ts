import { afterEach, describe, expect, it } from 'vitest';
import { DuckDbDriver } from '../src/drivers/duckdb-driver.js';
import { stringifyJson } from '../src/money.js';
import { DashboardData } from '../src/serve/dashboard-data.js';
import { LiveWorkspace } from '../src/store/live-workspace.js';
import { Workspace } from '../src/workspace/workspace.js';
import { fixtureDir, removeDir, type FileContent } from './helpers/fixture-dir.js';

/**
 * After an ingested batch the store keeps the facts printed before every report (counts, first and
 * latest dates, currencies, products) and the list of usage weeks the account records read, without
 * reading every row again: each step here is checked against the same rows read from files.
 */

const TODAY = new Date('2026-07-01T00:00:00Z');

type Rows = (string | number | null)[][];

const start: Record<string, Rows> = {
  'subscriptions.csv': [
    ['account_id', 'line_id', 'start_date', 'end_date', 'amount', 'interval', 'currency'],
    ['A1', 'L1', '2025-01-01', '', '100', 'monthly', 'USD'],
    ['A2', 'L2', '2025-03-01', '2026-03-01', '200', 'monthly', 'USD'],
    ['A3', 'L3', '2025-06-01', '', '300', 'monthly', 'USD'],
  ],
  'fx_rates.csv': [
    ['currency', 'month', 'rate'],
    ['EUR', '2024-01', '1.1'],
  ],
  'product_usage.csv': [
    ['account_id', 'week', 'active_users'],
    ['A1', '2026-06-01', 4],
    ['A2', '2026-06-08', 5],
    ['A3', '2026-06-08', 6],
  ],
  'tickets.csv': [
    ['ticket_id', 'account_id', 'opened_date', 'closed_date', 'priority', 'escalated'],
    ['T1', 'A1', '2026-06-02', '', 'high', 'false'],
  ],
};

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

/** The facts and usage weeks of a workspace, comparable across the store and the files. */
async function factsOf(ws: Workspace): Promise<Record<string, unknown>> {
  const { accounts, lines, firstDate, lastDate, currencies, products, firstMonth, latestDate } = ws.summary;
  const weeks = (await ws.query('SELECT CAST(week AS VARCHAR) AS w FROM usage_weeks ORDER BY w')).map((r) => r['w']);
  return { accounts, lines, firstDate, lastDate, currencies, products, firstMonth, latestDate, weeks };
}

async function fromFiles(files: Record<string, Rows>): Promise<Record<string, unknown>> {
  const dir = fixtureDir(files as Record<string, FileContent>);
  dirs.push(dir);
  const ws = await Workspace.open({ data: dir, today: TODAY, signals: true, store: false });
  try {
    return await factsOf(ws);
  } finally {
    ws.close();
  }
}

describe('the facts a store keeps through ingested batches', () => {
  it('equal those read from the same rows, when a batch moves the first or latest date, a currency, a product or a usage week', async () => {
    const dir = fixtureDir(start as Record<string, FileContent>);
    dirs.push(dir);
    const files = structuredClone(start);
    const live = await LiveWorkspace.open({ data: dir, today: TODAY, signals: true });
    try {
      const step = async (batch: Parameters<LiveWorkspace['apply']>[0], edit: (f: Record<string, Rows>) => void): Promise<void> => {
        await live.apply(batch);
        edit(files);
        expect(await factsOf(live.workspace)).toEqual(await fromFiles(files));
      };
      expect(await factsOf(live.workspace)).toEqual(await fromFiles(files));
      // A line earlier than every other, in another currency and product: first date, first month, currencies, products move.
      const early = ['A4', 'L4', '2024-02-01', '', '50', 'monthly', 'EUR'];
      await step({ source: 'subscriptions', rows: [{ account_id: 'A4', line_id: 'L4', product: 'extra', start_date: '2024-02-01', amount: '50', interval: 'monthly', currency: 'EUR' }] }, (f) => {
        f['subscriptions.csv']![0] = ['account_id', 'line_id', 'start_date', 'end_date', 'amount', 'interval', 'currency', 'product'];
        for (const r of f['subscriptions.csv']!.slice(1)) r.push('');
        f['subscriptions.csv']!.push([...early, 'extra']);
      });
      // Withdrawn again: the first date, currency and product it held are read again from the other rows.
      await step({ source: 'subscriptions', withdraw: [{ line_id: 'L4' }] }, (f) => {
        f['subscriptions.csv'] = f['subscriptions.csv']!.filter((r) => r[1] !== 'L4');
      });
      // The line holding the last date ends earlier: the last date is read again.
      await step({ source: 'subscriptions', rows: [{ account_id: 'A2', line_id: 'L2', start_date: '2025-03-01', end_date: '2025-09-01', amount: '200', interval: 'monthly', currency: 'USD' }] }, (f) => {
        f['subscriptions.csv'] = f['subscriptions.csv']!.map((r) => (r[1] === 'L2' ? ['A2', 'L2', '2025-03-01', '2025-09-01', '200', 'monthly', 'USD', ''] : r));
      });
      // Two lines in EUR of other accounts, then one of them withdrawn: EUR is still held by the other and stays; its product goes.
      await step({ source: 'subscriptions', rows: [{ account_id: 'A5', line_id: 'L5', product: 'extra', start_date: '2025-02-01', amount: '70', interval: 'monthly', currency: 'EUR' }] }, (f) => {
        f['subscriptions.csv']!.push(['A5', 'L5', '2025-02-01', '', '70', 'monthly', 'EUR', 'extra']);
      });
      await step({ source: 'subscriptions', rows: [{ account_id: 'A6', line_id: 'L6', product: 'other', start_date: '2025-02-01', amount: '80', interval: 'monthly', currency: 'EUR' }] }, (f) => {
        f['subscriptions.csv']!.push(['A6', 'L6', '2025-02-01', '', '80', 'monthly', 'EUR', 'other']);
      });
      await step({ source: 'subscriptions', withdraw: [{ line_id: 'L5' }] }, (f) => {
        f['subscriptions.csv'] = f['subscriptions.csv']!.filter((r) => r[1] !== 'L5');
      });
      expect(live.workspace.summary.currencies).toContain('EUR');
      expect(live.workspace.summary.products).not.toContain('extra');
      // A usage row in a new, later week: the weeks and the latest date move.
      await step({ source: 'product_usage', rows: [{ account_id: 'A3', week: '2026-06-15', active_users: '7' }] }, (f) => {
        f['product_usage.csv']!.push(['A3', '2026-06-15', 7]);
      });
      // Replaced in the same week: the week stays.
      await step({ source: 'product_usage', rows: [{ account_id: 'A3', week: '2026-06-15', active_users: '9' }] }, (f) => {
        f['product_usage.csv'] = f['product_usage.csv']!.map((r) => (r[0] === 'A3' && r[1] === '2026-06-15' ? ['A3', '2026-06-15', 9] : r));
      });
      // Withdrawn: its week, held by no other row, leaves the list, and the latest date is read again.
      await step({ source: 'product_usage', withdraw: [{ account_id: 'A3', week: '2026-06-15' }] }, (f) => {
        f['product_usage.csv'] = f['product_usage.csv']!.filter((r) => !(r[0] === 'A3' && r[1] === '2026-06-15'));
      });
      // One of two rows of a week withdrawn: the week stays.
      await step({ source: 'product_usage', withdraw: [{ account_id: 'A2', week: '2026-06-08' }] }, (f) => {
        f['product_usage.csv'] = f['product_usage.csv']!.filter((r) => !(r[0] === 'A2' && r[1] === '2026-06-08'));
      });
      // A ticket opened after every other dated row: the latest date moves; withdrawn, it moves back.
      await step({ source: 'tickets', rows: [{ ticket_id: 'T2', account_id: 'A2', opened_date: '2026-06-20', priority: 'low', escalated: 'false' }] }, (f) => {
        f['tickets.csv']!.push(['T2', 'A2', '2026-06-20', '', 'low', 'false']);
      });
      await step({ source: 'tickets', withdraw: [{ ticket_id: 'T2' }] }, (f) => {
        f['tickets.csv'] = f['tickets.csv']!.filter((r) => r[0] !== 'T2');
      });
    } finally {
      live.close();
    }
  }, 120_000);
});

describe('the dashboard of a live workspace', () => {
  it('scores again only the accounts a batch changed, and its scores equal every account scored anew', async () => {
    const dir = fixtureDir(start as Record<string, FileContent>);
    dirs.push(dir);
    const live = await LiveWorkspace.open({ data: dir, today: TODAY, signals: true });
    try {
      const rows = async (data: DashboardData): Promise<unknown[]> => (await data.accounts()).map((r) => JSON.parse(stringifyJson(r)) as unknown);
      const first = new DashboardData(live.workspace, live);
      const before = await rows(first);
      expect(before.map((r) => (r as { account_id: string }).account_id)).toEqual(['A1', 'A3']);
      // A ticket escalated for A3 and a new customer A5: only they are scored again.
      await live.apply({ source: 'tickets', rows: [{ ticket_id: 'T7', account_id: 'A3', opened_date: '2026-06-25', priority: 'urgent', escalated: 'true' }] });
      await live.apply({ source: 'subscriptions', rows: [{ account_id: 'A5', line_id: 'L5', start_date: '2026-06-01', amount: '80', interval: 'monthly', currency: 'USD' }] });
      expect(live.changedSince(live.changeCount - 2)).toEqual(['A3', 'A5']);
      // Every connection's statements (the scores are computed on one of their own).
      const exec = DuckDbDriver.prototype.exec;
      const statements: string[] = [];
      DuckDbDriver.prototype.exec = function (this: DuckDbDriver, sql: string) {
        statements.push(sql);
        return exec.call(this, sql);
      };
      const carried = await rows(new DashboardData(live.workspace, live)).finally(() => (DuckDbDriver.prototype.exec = exec));
      const scoring = statements.filter((sql) => sql.includes('dashboard_scores'));
      expect(scoring.map((sql) => sql.slice(0, 40))).toEqual(['DELETE FROM dashboard_scores WHERE accou', 'INSERT INTO dashboard_scores BY NAME WIT']);
      expect(scoring[1]).toContain("IN ('A3', 'A5')");
      const anew = await rows(new DashboardData(live.workspace));
      expect(carried).toEqual(anew);
      expect(carried.map((r) => (r as { account_id: string }).account_id)).toEqual(['A1', 'A3', 'A5']);
      // The escalation moved A3's risk: the carried table is not the one from before the change.
      expect(carried.find((r) => (r as { account_id: string }).account_id === 'A3')).not.toEqual(before.find((r) => (r as { account_id: string }).account_id === 'A3'));
    } finally {
      live.close();
    }
  }, 120_000);
});

describe('the warnings and the usage set aside a store keeps through ingested batches', () => {
  it('equal those read from the same rows, after signal and revenue batches that add, change and remove set-aside usage', async () => {
    const begin: Record<string, Rows> = {
      'subscriptions.csv': [
        ['account_id', 'line_id', 'start_date', 'end_date', 'amount', 'interval', 'currency'],
        ['A1', 'L1', '2025-01-01', '', '100', 'monthly', 'USD'],
        ['A2', 'L2', '2025-03-01', '2026-03-01', '200', 'monthly', 'USD'],
        // Not in the accounts file: a warning of the files.
        ['A9', 'L9', '2025-06-01', '', '300', 'monthly', 'USD'],
      ],
      'accounts.csv': [
        ['account_id', 'segment'],
        ['A1', 'smb'],
        ['A2', 'mid'],
      ],
      // A2's charge of May 2026 falls after its only line ended: set aside.
      'usage.csv': [
        ['account_id', 'product', 'month', 'amount', 'currency'],
        ['A2', 'api', '2026-05', '10.25', 'USD'],
      ],
      'tickets.csv': [
        ['ticket_id', 'account_id', 'opened_date', 'closed_date', 'priority', 'escalated'],
        ['T1', 'A1', '2026-06-02', '', 'high', 'false'],
      ],
    };
    const dir = fixtureDir(begin as Record<string, FileContent>);
    dirs.push(dir);
    const files = structuredClone(begin);
    const summaryOf = (ws: Workspace): unknown => JSON.parse(stringifyJson({ warnings: ws.summary.warnings, count: ws.summary.warningCount, setAside: ws.summary.usageSetAside }));
    const expected = async (): Promise<unknown> => {
      const d = fixtureDir(files as Record<string, FileContent>);
      dirs.push(d);
      const ws = await Workspace.open({ data: d, today: TODAY, signals: true, store: false });
      try {
        return summaryOf(ws);
      } finally {
        ws.close();
      }
    };
    const live = await LiveWorkspace.open({ data: dir, today: TODAY, signals: true });
    try {
      const step = async (batch: Parameters<LiveWorkspace['apply']>[0], edit: (f: Record<string, Rows>) => void): Promise<void> => {
        await live.apply(batch);
        edit(files);
        expect(summaryOf(live.workspace)).toEqual(await expected());
      };
      const first = summaryOf(live.workspace) as { warnings: unknown[]; setAside: { charges: number } };
      expect(first.setAside.charges).toBe(1);
      expect(first.warnings.length).toBeGreaterThanOrEqual(2);
      expect(first).toEqual(await expected());
      // A ticket: the set-aside usage and the files' warnings stay as they were.
      await step({ source: 'tickets', rows: [{ ticket_id: 'T2', account_id: 'A2', opened_date: '2026-06-20', priority: 'low', escalated: 'false' }] }, (f) => {
        f['tickets.csv']!.push(['T2', 'A2', '2026-06-20', '', 'low', 'false']);
      });
      // A1's charge before its line starts: a second charge and account set aside.
      await step({ source: 'usage', rows: [{ account_id: 'A1', product: 'api', month: '2024-06', amount: '5.50', currency: 'USD' }] }, (f) => {
        f['usage.csv']!.push(['A1', 'api', '2024-06', '5.50', 'USD']);
      });
      // A2's line no longer ends: its charge counts again.
      await step({ source: 'subscriptions', rows: [{ account_id: 'A2', line_id: 'L2', start_date: '2025-03-01', amount: '200', interval: 'monthly', currency: 'USD' }] }, (f) => {
        f['subscriptions.csv'] = f['subscriptions.csv']!.map((r) => (r[1] === 'L2' ? ['A2', 'L2', '2025-03-01', '', '200', 'monthly', 'USD'] : r));
      });
      // The last set-aside charge withdrawn: no usage set aside, and no warning of it.
      await step({ source: 'usage', withdraw: [{ account_id: 'A1', product: 'api', month: '2024-06' }] }, (f) => {
        f['usage.csv'] = f['usage.csv']!.filter((r) => r[0] !== 'A1');
      });
      expect((summaryOf(live.workspace) as { setAside: { charges: number } }).setAside.charges).toBe(0);
      // A ticket again, with nothing set aside.
      await step({ source: 'tickets', withdraw: [{ ticket_id: 'T2' }] }, (f) => {
        f['tickets.csv'] = f['tickets.csv']!.filter((r) => r[0] !== 'T2');
      });
    } finally {
      live.close();
    }
  }, 120_000);
});
