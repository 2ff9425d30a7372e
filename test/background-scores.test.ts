import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { materializeAccountScores } from '../src/accounts/account-scores.js';
import { generateCompany } from '../src/generate/generate-company.js';
import { scoreInRanges } from '../src/serve/background-scores.js';
import { DashboardData } from '../src/serve/dashboard-data.js';
import { Workspace } from '../src/workspace/workspace.js';

// The server scores every account in ranges of accounts, yielding to the pages' reads before each:
// the table it writes is, row for row, the one a single statement over every account writes.
const TODAY = new Date('2026-07-15T00:00:00Z');
const DAY = '2026-06-30';
let dir = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nrr-background-scores-'));
  await generateCompany({ out: dir, accounts: 300, months: 30, seed: 11, end: '2026-06', today: TODAY });
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('scores computed in ranges of accounts', () => {
  it('equal the scores of every account computed at once, and yield before every range', async () => {
    const ws = await Workspace.open({ data: dir, signals: true, today: TODAY });
    try {
      await materializeAccountScores(ws, { days: [DAY], table: 'whole_scores' });
      let yields = 0;
      await scoreInRanges(ws, { day: DAY, table: 'ranged_scores', chunk: 37, yieldTo: async () => void yields++ });
      const [{ n }] = (await ws.query('SELECT count(DISTINCT account_id) AS n FROM lines')) as [{ n: number }];
      expect(Number(n)).toBeGreaterThan(200);
      expect(yields).toBe(Math.ceil(Number(n) / 37));
      const count = async (sql: string): Promise<number> => Number((await ws.query(`SELECT count(*) AS n FROM (${sql})`))[0]!['n']);
      expect(await count('SELECT * FROM ranged_scores')).toBe(await count('SELECT * FROM whole_scores'));
      expect(await count('SELECT * FROM ranged_scores')).toBeGreaterThan(200);
      // Every column of every row, both ways.
      expect(await count('SELECT * FROM ranged_scores EXCEPT ALL SELECT * FROM whole_scores')).toBe(0);
      expect(await count('SELECT * FROM whole_scores EXCEPT ALL SELECT * FROM ranged_scores')).toBe(0);
    } finally {
      ws.close();
    }
  }, 240_000);

  it('wait, before each range, for every page read queued, those queued while it waits included', async () => {
    const ws = await Workspace.open({ data: dir, signals: true, today: TODAY });
    try {
      const data = new DashboardData(ws);
      const order: string[] = [];
      let release: () => void = () => undefined;
      const first = data.serial(() => new Promise<void>((r) => (release = r)).then(() => void order.push('first read')));
      let second: Promise<void> | null = null;
      await scoreInRanges(ws, {
        day: DAY,
        table: 'yielding_scores',
        chunk: 100,
        yieldTo: async () => {
          const idle = data.pagesIdle();
          if (second === null) {
            // A page's next read is asked while the scoring waits for its first: it goes first too,
            // however long it runs (a macrotask later here, so a wait for the first read alone would not cover it).
            second = data.serial(() => new Promise<void>((r) => setTimeout(r, 20)).then(() => void order.push('second read')));
            release();
          }
          await idle;
          order.push('range');
        },
      });
      await Promise.all([first, second]);
      expect(order.slice(0, 3)).toEqual(['first read', 'second read', 'range']);
      const [{ lines }] = (await ws.query('SELECT count(DISTINCT account_id) AS lines FROM lines')) as [{ lines: number }];
      expect(order.filter((o) => o === 'range').length).toBe(Math.ceil(Number(lines) / 100));
      const [{ scored }] = (await ws.query('SELECT count(DISTINCT account_id) AS scored FROM yielding_scores')) as [{ scored: number }];
      expect(Number(scored)).toBe(Number(lines));
    } finally {
      ws.close();
    }
  }, 240_000);
});
