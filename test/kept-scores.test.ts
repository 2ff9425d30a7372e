import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { materializeAccountScores, readAccountScores } from '../src/accounts/account-scores.js';
import { keptOrScored, keptScores, restoreScores } from '../src/accounts/kept-scores.js';
import { scoreAccounts } from '../src/accounts/account-records.js';
import { generateCompany } from '../src/generate/generate-company.js';
import { Workspace } from '../src/workspace/workspace.js';
import { createApp } from '../src/serve/api-app.js';

// Every account's scores on a day are kept beside the store and read back, instead of scoring every
// account again, while the store and the scoring settings are unchanged: the rows read back are
// those computed, field for field; a changed store or changed health settings score again.
const TODAY = new Date('2026-07-15T00:00:00Z');
const DAY = '2026-06-30';
let dir = '';

async function open(options: { store?: false } = {}): Promise<Workspace> {
  return Workspace.open({ data: dir, signals: true, today: TODAY, ...options });
}

/** Scores of every account on DAY: how they were had (kept or computed) and the rows read from their table. */
async function scored(table = 'kept_test_scores'): Promise<{ how: 'kept' | 'computed'; rows: unknown[] }> {
  const ws = await open();
  try {
    const how = await keptOrScored(ws, DAY, table, () => materializeAccountScores(ws, { days: [DAY], table }));
    return { how, rows: await readAccountScores(ws, { table, date: DAY }) };
  } finally {
    ws.close();
  }
}

/** The same rows computed from the files alone (no store, nothing kept). */
async function fromFiles(): Promise<unknown[]> {
  const ws = await open({ store: false });
  try {
    await materializeAccountScores(ws, { days: [DAY], table: 'fresh' });
    return await readAccountScores(ws, { table: 'fresh', date: DAY });
  } finally {
    ws.close();
  }
}

const keptFiles = (): string[] => (existsSync(join(dir, '.nrr', 'answers')) ? readdirSync(join(dir, '.nrr', 'answers')).filter((n) => n.startsWith('scores-')) : []);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nrr-kept-scores-'));
  await generateCompany({ out: dir, accounts: 250, months: 30, seed: 11, end: '2026-06', today: TODAY });
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('scores kept beside the store', () => {
  it('are computed once, then read back field for field while nothing changed', async () => {
    const first = await scored();
    expect(first.how).toBe('computed');
    expect(first.rows.length).toBeGreaterThan(100);
    expect(keptFiles()).toHaveLength(1);
    const again = await scored();
    expect(again.how).toBe('kept');
    expect(again.rows).toEqual(first.rows);
    expect(again.rows).toEqual(await fromFiles());
  }, 120_000);

  it('give one account the row a computation of that account alone gives', async () => {
    const ws = await open();
    try {
      const all = await scoreAccounts(ws, { asOf: DAY });
      const pick = all[Math.floor(all.length / 2)]!.record.account_id;
      const kept = await keptScores(ws, DAY);
      expect(await restoreScores(ws, kept, 'one_kept', [pick])).toBe(true);
      await materializeAccountScores(ws, { days: [DAY], table: 'one_fresh', accounts: { ids: [pick] } });
      const a = await readAccountScores(ws, { table: 'one_kept', date: DAY });
      expect(a.map((s) => s.record.account_id)).toEqual([pick]);
      expect(a).toEqual(await readAccountScores(ws, { table: 'one_fresh', date: DAY }));
    } finally {
      ws.close();
    }
  }, 120_000);

  it('become a table again when changed accounts are scored into them', async () => {
    const ws = await open();
    try {
      expect(await keptOrScored(ws, DAY, 'live_scores', () => Promise.reject(new Error('not kept')))).toBe('kept');
      const before = await readAccountScores(ws, { table: 'live_scores', date: DAY });
      const id = before[3]!.record.account_id;
      await ws.driver.exec(`DELETE FROM live_scores WHERE account_id = '${id}'`).then(
        () => expect.unreachable('a view of kept scores takes no DELETE'),
        () => undefined,
      );
      await materializeAccountScores(ws, { days: [DAY], table: 'live_scores', mode: 'insert', accounts: { ids: ['no-such-account'] } });
      await ws.driver.exec(`DELETE FROM live_scores WHERE account_id = '${id}'`);
      await materializeAccountScores(ws, { days: [DAY], table: 'live_scores', mode: 'insert', accounts: { ids: [id] } });
      expect(await readAccountScores(ws, { table: 'live_scores', date: DAY })).toEqual(before);
    } finally {
      ws.close();
    }
  }, 120_000);

  it('are read by a server started again: the same accounts page as the server that scored them', async () => {
    const serve = async (): Promise<unknown> => {
      const ws = await open();
      try {
        const app = createApp(ws);
        const res = await app.request('/api/accounts?sort=risk&limit=500');
        expect(res.status).toBe(200);
        const body = (await res.json()) as { rows: unknown[] };
        return body.rows.map((r) => ({ ...(r as object), churn_probability_90d: null, expansion_probability_90d: null }));
      } finally {
        ws.close();
      }
    };
    for (const f of keptFiles()) rmSync(join(dir, '.nrr', 'answers', f));
    const first = (await serve()) as { account_id: string; churn_risk: number | null }[];
    expect(keptFiles()).toHaveLength(1);
    expect(await serve()).toEqual(first);
    // What a server started again reads is the kept file: a risk written into it comes back.
    const file = join(dir, '.nrr', 'answers', keptFiles()[0]!);
    const db = await DuckDBInstance.create(file);
    const c = await db.connect();
    await c.run(`UPDATE scores SET churn_risk = 1.5 WHERE account_id = '${first[0]!.account_id}'`);
    c.closeSync();
    db.closeSync();
    const third = (await serve()) as typeof first;
    expect(third.find((r) => r.account_id === first[0]!.account_id)?.churn_risk).toBe(1.5);
  }, 240_000);

  it('are not read after the store changed, nor under other health settings, nor from a damaged file', async () => {
    await scored();
    const base = await scored();
    expect(base.how).toBe('kept');

    // A damaged kept file counts as none: the scores are computed again, and kept anew.
    for (const f of keptFiles()) writeFileSync(join(dir, '.nrr', 'answers', f), 'not a database');
    const damaged = await scored();
    expect(damaged.how).toBe('computed');
    expect(damaged.rows).toEqual(base.rows);
    expect((await scored()).how).toBe('kept');

    // Other health settings: another key.
    const config = join(dir, 'nrr.config.yaml');
    const text = readFileSync(config, 'utf8');
    writeFileSync(config, `${text}\nhealth:\n  compare_days: 60\n`);
    try {
      const other = await scored();
      expect(other.how).toBe('computed');
    } finally {
      writeFileSync(config, text);
    }
    expect((await scored()).how).toBe('kept');

    // A ticket appended: the sync writes a new store state, and every account is scored again.
    const header = readFileSync(join(dir, 'tickets.csv'), 'utf8').split('\n')[0]!.split(',');
    const id = (base.rows[0] as { record: { account_id: string } }).record.account_id;
    const row = header.map((c) => ({ ticket_id: 'T-kept-1', account_id: id, opened_date: '2026-06-20', priority: 'urgent', escalated: 'true' })[c] ?? '');
    appendFileSync(join(dir, 'tickets.csv'), `${row.join(',')}\n`);
    const after = await scored();
    expect(after.how).toBe('computed');
    expect(after.rows).toEqual(await fromFiles());
    expect(after.rows).not.toEqual(base.rows);
  }, 240_000);
});

describe("a server's warm-up", () => {
  it("computes the reporting month's and the prior period's metrics, overall and by segment, and keeps them beside the store", async () => {
    const { DashboardData } = await import('../src/serve/dashboard-data.js');
    const { metricsSeries } = await import('../src/queries/metrics-queries.js');
    const answers = join(dir, '.nrr', 'answers');
    const metricsFiles = (): string[] => (existsSync(answers) ? readdirSync(answers).filter((n) => n.startsWith('metrics-')) : []);
    for (const f of metricsFiles()) rmSync(join(answers, f));
    const ws = await open();
    try {
      await new DashboardData(ws).warmUp(0);
      const kept = metricsFiles().map((f) => JSON.parse(readFileSync(join(answers, f), 'utf8')) as { query: string; rows: Record<string, unknown>[] });
      const asked = kept.map((k) => JSON.parse(k.query) as { months: number[]; by: string | null; window: number });
      expect(asked.map((q) => `${q.months.join()}/${q.by}/${q.window}`).sort()).toEqual(
        [ws.asOfMonth, ws.asOfMonth - 12].flatMap((m) => [`${m}/null/12`, `${m}/segment/12`]).sort(),
      );
      // What is kept is what the engine computes, every digit.
      for (const [i, q] of asked.entries()) {
        const fresh = await metricsSeries(ws, { months: q.months, window: q.window, ...(q.by ? { by: q.by } : {}) });
        expect(kept[i]!.rows).toEqual(JSON.parse(JSON.stringify(fresh)));
      }
    } finally {
      ws.close();
    }
  }, 240_000);
});
