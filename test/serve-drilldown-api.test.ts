import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Big from 'big.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Workspace, cohortTable, metrics } from '../src/index.js';
import { niceEdges } from '../src/queries/attribute-queries.js';
import { createApp } from '../src/serve/api-app.js';
import { fixtureDir, removeDir } from './helpers/fixture-dir.js';

/**
 * The routes behind the dashboard's drill-downs and filters, on the golden data set (hand-checked
 * movements in test/golden.test.ts): every number opens the rows behind it.
 */
const TODAY = new Date('2025-06-15T00:00:00Z');
let dir: string;
let ws: Workspace;
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nrr-drill-'));
  cpSync('test/fixtures/golden', dir, { recursive: true, filter: (s) => !s.includes('.nrr') });
  ws = await Workspace.open({ data: dir, policies: { as_of: '2024-12' }, today: TODAY });
  app = createApp(ws);
});
afterAll(() => {
  ws?.close();
  removeDir(dir);
});

async function get(path: string): Promise<{ status: number; body: Record<string, unknown> & Record<string, unknown>[] }> {
  const res = await app.request(path);
  return { status: res.status, body: (await res.json()) as never };
}

describe('GET /api/attributes', () => {
  it('offers each categorical attribute with its values and account counts (names left out)', async () => {
    const { status, body } = await get('/api/attributes');
    expect(status).toBe(200);
    expect(body.map((a) => a['name'])).toEqual(['segment', 'region', 'owner']);
    // accounts.csv: enterprise A1 A3; mid-market A2 A7 A9 A12; smb A4 A5 A6 A8 A10 A11.
    expect(body[0]).toEqual({
      name: 'segment',
      kind: 'categorical',
      values: [
        { value: 'smb', accounts: 6 },
        { value: 'mid-market', accounts: 4 },
        { value: 'enterprise', accounts: 2 },
      ],
    });
  });

  it('buckets an attribute of many dates by year and one of many numbers in round ranges', async () => {
    const n = 60;
    const day = (i: number): string => new Date(Date.UTC(2023, 0, 1) + i * 9 * 86_400_000).toISOString().slice(0, 10);
    const d = fixtureDir({
      'subscriptions.csv': [['account_id', 'start_date', 'amount', 'interval'], ...Array.from({ length: n }, (_, i) => [`X${i}`, '2024-01-01', 100, 'month'])],
      'accounts.csv': [['account_id', 'plan', 'signup_date', 'score'], ...Array.from({ length: n }, (_, i) => [`X${i}`, i % 2 ? 'pro' : 'basic', day(i), i])],
    });
    const w = await Workspace.open({ data: d, store: false, policies: { as_of: '2024-12' }, today: TODAY });
    try {
      const body = (await (await createApp(w).request('/api/attributes')).json()) as { name: string; kind: string; values: unknown[] }[];
      // Day 9·i from 2023-01-01: i = 0…40 fall in 2023 (day 360 = 2023-12-27), i = 41…59 in 2024.
      expect(body).toEqual([
        { name: 'plan', kind: 'categorical', values: [{ value: 'basic', accounts: 30 }, { value: 'pro', accounts: 30 }] },
        { name: 'signup_date', kind: 'date', values: [{ value: '2023', accounts: 41 }, { value: '2024', accounts: 19 }] },
        // 0…59 in fifths of about 12, rounded up to 20: 0..20, 20..40, 40..60.
        { name: 'score', kind: 'number', values: [{ value: '0..20', accounts: 20 }, { value: '20..40', accounts: 20 }, { value: '40..60', accounts: 20 }] },
      ]);
      // A bucket is a filter: the accounts of 2024 and those scored 20..40.
      const app2 = createApp(w);
      const series = async (q: string) => ((await (await app2.request(`/api/series?from=2024-12&${q}`)).json()) as { customers: number }[])[0]!.customers;
      expect([await series('signup_date=2024'), await series('score=20..40'), await series('score=20..40&plan=pro')]).toEqual([19, 20, 10]);
    } finally {
      w.close();
      removeDir(d);
    }
  });

  it('round bucket edges always cover the range', () => {
    expect(niceEdges(3, 97)).toEqual([0, 20, 40, 60, 80, 100]);
    for (const [lo, hi] of [[0, 1], [-5, 5], [12.5, 12.5], [1, 1_000_000]] as const) {
      const e = niceEdges(lo, hi);
      expect(e[0]!).toBeLessThanOrEqual(lo);
      expect(e.at(-1)!).toBeGreaterThan(hi);
      expect(e.length).toBeLessThanOrEqual(12);
    }
  });
});

describe('GET /api/movements as a drill-down', () => {
  it('a month and a category: who churned in March 2024, with the account’s attributes', async () => {
    const { body } = await get('/api/movements?month=2024-03&category=churn');
    expect(body).toEqual({
      from: '2024-03',
      to: '2024-03',
      total: 1,
      rows: [
        {
          account_id: 'A6',
          month: '2024-03',
          category: 'churn',
          amount: '-500',
          mrr_before: '500',
          mrr_after: '0',
          delta: '-500',
          fx: '0',
          cause: 'contract',
          usage_delta: '0',
          name: 'Foxtrot',
          segment: 'smb',
          region: 'APAC',
          owner: 'eli',
        },
      ],
      totals: {
        new: { amount: '1100', accounts: 1, movements: 1 },
        expansion: { amount: '50', accounts: 1, movements: 1 },
        reactivation: { amount: '0', accounts: 0, movements: 0 },
        contraction: { amount: '0', accounts: 0, movements: 0 },
        // Every category's totals whatever `category` lists: March is A9 new, A6 churn, A10 expansion.
        churn: { amount: '-500', accounts: 1, movements: 1 },
        net_new: { amount: '650', accounts: 3, movements: 3, customers: 0 },
      },
    });
  });

  it('a whole month, largest first; the rows add up to the month of the series', async () => {
    const { body } = await get('/api/movements?month=2024-03');
    // March: A9 new +1100, A6 churn −500, A10 usage expansion +50: net 650, the series' net_new.
    expect((body['rows'] as Record<string, string>[]).map((r) => `${r['account_id']} ${r['category']} ${r['amount']}`)).toEqual(['A9 new 1100', 'A6 churn -500', 'A10 expansion 50']);
    const [march] = (await get('/api/series?from=2024-03&to=2024-03')).body as unknown as { net_new: string }[];
    const sum = (body['rows'] as Record<string, string>[]).reduce((s, r) => s.plus(r['amount']!), new Big(0));
    expect(sum.toFixed()).toBe(march!.net_new);
  });

  it('takes attribute filters and a range', async () => {
    const smb = await get('/api/movements?month=2024-03&segment=smb');
    expect((smb.body['rows'] as Record<string, string>[]).map((r) => r['account_id'])).toEqual(['A6', 'A10']);
    const range = await get('/api/movements?from=2024-01&to=2024-12&category=contraction&region=EMEA');
    // EMEA: A1, A5, A7, A9; the only contraction among them is A7's add-on ending in July.
    expect((range.body['rows'] as Record<string, string>[]).map((r) => `${r['account_id']} ${r['month']} ${r['amount']}`)).toEqual(['A7 2024-07 -200']);
    expect((await get('/api/movements?month=2024-03&from=2024-01')).status).toBe(400);
    expect((await get('/api/movements?month=2024-03&plan=x')).body).toEqual({ error: 'unknown parameter plan' });
  });
});

describe('GET /api/movements?compare=1: a range beside the prior period', () => {
  const zero = { amount: '0', accounts: 0, movements: 0 };
  it('April–June 2024 beside January–March, hand-checked from the golden movements', async () => {
    const { body } = await get('/api/movements?from=2024-04&to=2024-06&compare=1');
    // April–June: A10 +30, A4 +200, A3 +500 expansions; A6 comes back (+500); A10 −80 of usage.
    expect(body['totals']).toEqual({
      new: zero,
      expansion: { amount: '730', accounts: 3, movements: 3 },
      reactivation: { amount: '500', accounts: 1, movements: 1 },
      contraction: { amount: '-80', accounts: 1, movements: 1 },
      churn: zero,
      net_new: { amount: '1150', accounts: 4, movements: 5, customers: 1 },
    });
    // January–March: 11 accounts join (8,450), A10 +50 of usage, A6 churns (−500).
    expect(body['prior']).toEqual({
      from: '2024-01',
      to: '2024-03',
      starts_before_data: false,
      totals: {
        new: { amount: '8450', accounts: 11, movements: 11 },
        expansion: { amount: '50', accounts: 1, movements: 1 },
        reactivation: zero,
        contraction: zero,
        churn: { amount: '-500', accounts: 1, movements: 1 },
        net_new: { amount: '8000', accounts: 11, movements: 13, customers: 10 },
      },
    });
  });

  it('net new customers is the change in customers: the series’ customers at either end', async () => {
    const { body } = await get('/api/movements?from=2024-04&to=2024-12&compare=1');
    const series = (await get('/api/series?from=2024-01&to=2024-12')).body as unknown as { month: string; customers: number }[];
    const customers = (m: string) => series.find((r) => r.month === m)!.customers;
    const totals = body['totals'] as { net_new: { customers: number } };
    expect(totals.net_new.customers).toBe(customers('2024-12') - customers('2024-03'));
  });

  it('says when the prior period is all or partly before the data, and keeps filters', async () => {
    expect((await get('/api/movements?from=2024-01&to=2024-03&compare=1')).body['prior']).toBeNull();
    const partial = (await get('/api/movements?from=2024-02&to=2024-04&compare=1')).body['prior'] as { from: string; to: string; starts_before_data: boolean; totals: { new: { amount: string } } };
    expect([partial.from, partial.to, partial.starts_before_data, partial.totals.new.amount]).toEqual(['2023-11', '2024-01', true, '5100']);
    // SMB in March (A6 churn, A10 expansion) beside February (A8 joins, SMB).
    const smb = (await get('/api/movements?month=2024-03&segment=smb&compare=1')).body as unknown as { totals: { net_new: { amount: string } }; prior: { totals: { net_new: { amount: string } } } };
    expect([smb.totals.net_new.amount, smb.prior.totals.net_new.amount]).toEqual(['-450', '250']);
    // Without compare=1 there is no prior at all.
    expect('prior' in (await get('/api/movements?month=2024-03')).body).toBe(false);
  });
});

describe('GET /api/explain', () => {
  it('one month: the movement, the lines behind it and those in force, with file and row', async () => {
    const { status, body } = await get('/api/explain?account=A7&month=2024-07');
    expect(status).toBe(200);
    expect(body['mrr']).toBe('1000');
    expect(body['movements']).toMatchObject([{ category: 'contraction', delta: '-200', lines: [{ id: 'A7-addon', effect: 'ended', product: 'analytics', mrr: '200' }] }]);
    // subscriptions.csv rows 11 and 12 (data rows, header not counted): A7-core goes on, A7-addon ended.
    expect((body['lines'] as Record<string, unknown>[]).map((l) => [l['id'], l['file'], l['row'], l['first_month'], l['last_month']])).toEqual([
      ['A7-addon', 'subscriptions.csv', 12, '2024-01', '2024-06'],
      ['A7-core', 'subscriptions.csv', 11, '2024-01', 'open-ended'],
    ]);
  });

  it('without a month, the whole history; an unknown account is a 404 naming the closest', async () => {
    const all = await get('/api/explain?account=A10');
    expect((all.body['movements'] as unknown[]).length).toBe(4);
    expect((all.body['lines'] as Record<string, unknown>[]).map((l) => `${l['id']} ${l['file']}`)).toEqual(['A10-base subscriptions.csv', 'usage row 1 usage.csv', 'usage row 2 usage.csv']);
    const none = await get('/api/explain?account=A99');
    expect(none.status).toBe(404);
    expect(none.body['error']).toMatch(/account 'A99' has no lines in the data; closest: /);
    expect((await get('/api/explain')).status).toBe(400);
  });
});

describe('cohorts: filters and the accounts of a cell', () => {
  it('GET /api/cohorts/:cohort/accounts lists the cohort’s accounts; they add up to its row', async () => {
    const table = await cohortTable(ws, 'quarter');
    for (const row of table) {
      const { body } = await get(`/api/cohorts/${row.cohort}/accounts`);
      expect(body['total'], row.cohort).toBe(row.accounts);
      const rows = body['rows'] as Record<string, string>[];
      expect(rows.reduce((s, r) => s.plus(r['starting_mrr']!), new Big(0)).toFixed(), row.cohort).toBe(row.starting_mrr.value);
    }
    // 2024-Q1: first revenue in January (8 accounts), February (A3, A8) or March (A9); A6 churned in March,
    // so it starts the cohort at 0 (the cohort's base is the end of its first quarter).
    const q1 = (await get('/api/cohorts/2024-Q1/accounts')).body;
    expect(q1['total']).toBe(11);
    expect((q1['rows'] as Record<string, unknown>[])[0]).toMatchObject({ account_id: 'A3', first_month: '2024-02', starting_mrr: '2000', mrr: '2500', active: true, segment: 'enterprise' });
    expect((q1['rows'] as Record<string, unknown>[]).find((r) => r['account_id'] === 'A11')).toMatchObject({ starting_mrr: '700', mrr: '0', active: false });
    const smb = (await get('/api/cohorts/2024-Q1/accounts?segment=smb')).body;
    expect((smb['rows'] as Record<string, unknown>[]).map((r) => r['account_id']).sort()).toEqual(['A10', 'A11', 'A4', 'A5', 'A6', 'A8']);
    expect((await get('/api/cohorts/2024-13/accounts')).status).toBe(400);
  });

  it('GET /api/cohorts and /api/metrics take the same filters: a filter equals the group of --by', async () => {
    const cohorts = (await get('/api/cohorts?granularity=quarter&segment=smb')).body;
    expect((cohorts['rows'] as Record<string, unknown>[])[0]).toMatchObject({ cohort: '2024-Q1', accounts: 6 });
    const [bySegment] = [(await metrics(ws, { month: '2024-12', window: 11, by: 'segment' })).find((m) => m.group === 'smb')!];
    const filtered = (await get('/api/metrics?month=2024-12&window=11&segment=smb')).body as unknown as Record<string, unknown>[];
    expect(filtered).toHaveLength(1);
    for (const k of ['starting_mrr', 'ending_mrr', 'expansion', 'contraction', 'churn', 'starting_accounts', 'retained_accounts', 'nrr']) {
      expect(filtered[0]![k], k).toEqual(JSON.parse(JSON.stringify(bySegment![k as keyof typeof bySegment])));
    }
  });

  it('GET /api/accounts takes any attribute as a filter', async () => {
    const { body } = await get('/api/accounts?region=EMEA&limit=100');
    // EMEA: A1, A5, A7, A9; A1 and A5 end on 2025-01-01, so all four are customers on 2024-12-31.
    expect((body['rows'] as Record<string, unknown>[]).map((r) => r['account_id']).sort()).toEqual(['A1', 'A5', 'A7', 'A9']);
  });
});

describe('GET /api/trend and the cohorts of an earlier month', () => {
  it('unfiltered, the trend is the report’s; filtered, each month equals metrics by the attribute, with its starting accounts', async () => {
    const all = (await get('/api/trend?to=2024-12&months=12')).body as unknown as Record<string, unknown>[];
    const report = (await get('/api/report')).body as unknown as { series: Record<string, unknown>[] };
    const tail = report.series.slice(-all.length);
    expect(all.map((p) => [p['month'], p['t12m_nrr'], p['t12m_grr'], p['monthly_nrr'], p['monthly_grr']])).toEqual(tail.map((p) => [p['month'], p['t12m_nrr'], p['t12m_grr'], p['monthly_nrr'], p['monthly_grr']]));

    const smb = (await get('/api/trend?to=2024-12&months=12&segment=smb')).body as unknown as Record<string, unknown>[];
    expect(smb.map((p) => p['month'])).toEqual(all.map((p) => p['month']));
    let monthlyWithData = 0;
    for (const p of smb) {
      const month = String(p['month']);
      const [m] = (await metrics(ws, { month, window: 1, by: 'segment' })).filter((x) => x.group === 'smb');
      expect([p['monthly_nrr'], p['monthly_grr'], p['monthly_starting_accounts']], month).toEqual(m ? [m.nrr, m.grr, m.starting_accounts] : [null, null, 0]);
      if (p['monthly_nrr'] !== null) monthlyWithData++;
      // The golden data set begins in 2024: no month has twelve months of history before it.
      expect([p['t12m_nrr'], p['t12m_starting_accounts']]).toEqual([null, 0]);
    }
    expect(monthlyWithData).toBeGreaterThan(3);
    // The filter changes the figures: smb is not the company.
    expect(smb.map((p) => p['monthly_nrr'])).not.toEqual(all.map((p) => p['monthly_nrr']));
  });

  it('GET /api/cohorts?month= is the cohort table of a workspace reporting that month', async () => {
    const earlier = await Workspace.open({ data: dir, policies: { as_of: '2024-06' }, today: TODAY, store: false });
    try {
      const expected = JSON.parse(JSON.stringify(await cohortTable(earlier, 'month'))) as unknown;
      const { body } = await get('/api/cohorts?granularity=month&month=2024-06');
      expect(body['month']).toBe('2024-06');
      expect(body['rows']).toEqual(expected);
      expect(body['rows']).not.toEqual((await get('/api/cohorts?granularity=month')).body['rows']);
    } finally {
      earlier.close();
    }
    expect((await get('/api/cohorts?month=2025-03')).status).toBe(400);
  });
});
