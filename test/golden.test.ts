import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { Money, Workspace, metrics, movements, mrrLedger, NrrError, type Metrics, type MovementRow, type PolicyInput } from '../src/index.js';
import { csv, fixtureDir, removeDir } from './helpers/fixture-dir.js';

/**
 * The golden data set (test/fixtures/golden), checked by hand. Defaults unless a test says
 * otherwise: snapshot at the end of the month, FX at the rate in force when a line starts, usage
 * included. Contract dates: start inclusive, end exclusive.
 */
const GOLDEN = 'test/fixtures/golden';
const TODAY = new Date('2025-06-15T00:00:00Z');

/** The policies that shape the model: given in a config (not as flags) they are what the workspace store is built under. */
const MODEL_POLICIES = new Set(['snapshot', 'usage', 'fx', 'reporting_currency', 'reactivation_window_months', 'timezone']);
const copies: string[] = [];
afterAll(() => copies.forEach(removeDir));

/**
 * Opens the data under the policies, answered from the workspace store: the policies that shape
 * the model go in the config of a copy of the folder (flags that change the model would compute in
 * memory instead).
 */
function open(policies: PolicyInput = {}, data = GOLDEN): Promise<Workspace> {
  const model = Object.fromEntries(Object.entries(policies).filter(([k]) => MODEL_POLICIES.has(k)));
  const rest = Object.fromEntries(Object.entries(policies).filter(([k]) => !MODEL_POLICIES.has(k)));
  let dir = data;
  if (Object.keys(model).length > 0) {
    dir = mkdtempSync(join(tmpdir(), 'nrr-golden-'));
    copies.push(dir);
    cpSync(data, dir, { recursive: true, filter: (src) => !src.includes('.nrr') });
    writeFileSync(join(dir, 'nrr.config.yaml'), stringify({ policies: model }));
  }
  return Workspace.open({ data: dir, policies: { as_of: '2024-12', ...rest }, today: TODAY });
}

/** 'A6 2024-04 reactivation +500' */
const fmt = (m: MovementRow): string =>
  `${m.account_id} ${m.month} ${m.category} ${m.delta.value.startsWith('-') ? '' : '+'}${m.delta.value}`;

function sorted(xs: readonly string[]): string[] {
  return [...xs].sort();
}

async function withWorkspace<T>(policies: PolicyInput, f: (ws: Workspace) => Promise<T>, data = GOLDEN): Promise<T> {
  const ws = await open(policies, data);
  try {
    return await f(ws);
  } finally {
    ws.close();
  }
}

async function one(ws: Workspace, q: Parameters<typeof metrics>[1]): Promise<Metrics> {
  const rows = await metrics(ws, q);
  expect(rows).toHaveLength(1);
  return rows[0]!;
}

describe('golden data set, default policies', () => {
  let ws: Workspace;
  beforeAll(async () => {
    ws = await open();
  });
  afterAll(() => ws.close());

  it('reads every row and lists no warnings', () => {
    expect(ws.summary.sources.map((s) => [s.file, s.rows, s.rejected])).toEqual([
      ['subscriptions.csv', 18, 0],
      ['accounts.csv', 12, 0],
      ['usage.csv', 2, 0],
      ['fx_rates.csv', 2, 0],
    ]);
    expect(ws.summary.warningCount).toBe(0);
    expect(ws.summary.asOf).toBe('2024-12');
    expect(ws.policies.snapshot).toBe('end');
    expect(ws.policies.fx).toBe('contract_start');
    expect(ws.policies.usage).toBe('include');
  });

  it('has exactly the hand-checked movements', async () => {
    const got = (await movements(ws)).map(fmt);
    expect(sorted(got)).toEqual(
      sorted([
        'A1 2024-01 new +1000', // 12000 per year ÷ 12; 2024-01-01 → 2025-01-01 ends after as_of
        'A10 2024-01 new +100', // platform 100/month, open-ended
        'A10 2024-03 expansion +50', // usage 50 billed for 2024-03: 100 → 150
        'A10 2024-04 expansion +30', // usage 80 replaces 50: 150 → 180
        'A10 2024-05 contraction -80', // no usage in May: 180 → 100
        'A11 2024-01 new +700',
        'A11 2024-09 churn -700', // ends 2024-09-01 (exclusive): last month in force is August
        'A12 2024-07 new +800',
        'A2 2024-01 new +900', // (3000 − 300) per quarter ÷ 3; starts 01-15, in force at the end of January
        'A3 2024-02 new +2000', // 72000 ÷ 36 months
        'A3 2024-06 expansion +500', // seats line from 2024-06-15, in force at the end of June
        'A4 2024-01 new +400',
        'A4 2024-05 expansion +200', // basic 400 ends 05-01, pro 600 starts 05-01: one net movement
        'A5 2024-01 new +300', // term1 ends 04-10, term2 starts 04-20: both inside April, no churn
        'A6 2024-01 new +500',
        'A6 2024-03 churn -500', // term1 ends 03-25: nothing in force on 03-31
        'A6 2024-04 reactivation +500', // term2 from 04-05
        'A7 2024-01 new +1200', // core 1000 + analytics 200
        'A7 2024-07 contraction -200', // analytics ends 07-01; core goes on: contraction, not churn
        'A8 2024-02 new +250', // the January trial is 0: no MRR, so not new
        'A9 2024-03 new +1100', // 1000 EUR × 1.10 (rate of 2024-01, in force in March)
      ]),
    );
  });

  it('every movement chains mrr_before → mrr_after with no FX effect', async () => {
    for (const m of await movements(ws)) {
      expect(m.mrr_before.plus(m.delta).plus(m.fx).value, fmt(m)).toBe(m.mrr_after.value);
      expect(m.fx.value).toBe('0');
    }
  });

  it('metrics 2024-12 over 11 months: the cohort of January', async () => {
    const m = await one(ws, { month: '2024-12', window: 11 });
    // Cohort at the end of 2024-01: A1 1000, A2 900, A4 400, A5 300, A6 500, A7 1200, A10 100, A11 700.
    // (A3 starts in February, A8 is a zero trial in January, A9 and A12 start later.)
    expect(m.starting_mrr.value).toBe('5100'); // 1000+900+400+300+500+1200+100+700
    expect(m.starting_accounts).toBe(8);
    // At the end of 2024-12: A1 1000, A2 900, A4 600, A5 300, A6 500, A7 1000, A10 100, A11 0.
    expect(m.ending_mrr.value).toBe('4400'); // 1000+900+600+300+500+1000+100+0
    expect(m.expansion.value).toBe('200'); // A4 400 → 600 (A6 churned and came back at 500: unchanged)
    expect(m.contraction.value).toBe('200'); // A7 1200 → 1000
    expect(m.churn.value).toBe('700'); // A11
    expect(m.fx.value).toBe('0'); // FX at contract start: no FX effect
    expect(m.nrr).toBeCloseTo(4400 / 5100, 12);
    // GRR: Σ min(end, start) = 1000+900+400+300+500+1000+100+0 = 4200
    expect(m.grr).toBeCloseTo(4200 / 5100, 12);
    expect(m.retained_accounts).toBe(7);
    expect(m.logo_retention).toBeCloseTo(7 / 8, 12);
    // Largest single account at the start: A7's 1200.
    expect(m.largest_account_share).toBeCloseTo(1200 / 5100, 12);
    // The bridge closes: start + expansion − contraction − churn + fx = end.
    expect(m.starting_mrr.plus(m.expansion).minus(m.contraction).minus(m.churn).plus(m.fx).value).toBe(m.ending_mrr.value);
  });

  it('metrics by segment', async () => {
    const rows = await metrics(ws, { month: '2024-12', window: 11, by: 'segment' });
    const bySeg = Object.fromEntries(rows.map((r) => [r.group, r]));
    expect(Object.keys(bySeg).sort()).toEqual(['enterprise', 'mid-market', 'smb']);
    // enterprise: A1 1000 → 1000 (A3 is enterprise but not in the January cohort)
    expect([bySeg['enterprise']!.starting_mrr.value, bySeg['enterprise']!.ending_mrr.value]).toEqual(['1000', '1000']);
    expect(bySeg['enterprise']!.nrr).toBe(1);
    // mid-market: A2 900 + A7 1200 = 2100 → 900 + 1000 = 1900 (A9, A12 start later)
    expect([bySeg['mid-market']!.starting_mrr.value, bySeg['mid-market']!.ending_mrr.value]).toEqual(['2100', '1900']);
    expect(bySeg['mid-market']!.contraction.value).toBe('200'); // A7
    expect(bySeg['mid-market']!.nrr).toBeCloseTo(1900 / 2100, 12);
    // smb: A4 400 + A5 300 + A6 500 + A10 100 + A11 700 = 2000 → 600 + 300 + 500 + 100 + 0 = 1500
    expect([bySeg['smb']!.starting_mrr.value, bySeg['smb']!.ending_mrr.value]).toEqual(['2000', '1500']);
    expect(bySeg['smb']!.expansion.value).toBe('200'); // A4
    expect(bySeg['smb']!.churn.value).toBe('700'); // A11
    expect(bySeg['smb']!.starting_accounts).toBe(5);
    expect(bySeg['smb']!.retained_accounts).toBe(4);
    expect(bySeg['smb']!.grr).toBeCloseTo(1300 / 2000, 12); // 400+300+500+100+0
  });

  it('metrics by product: units are account × product', async () => {
    const rows = await metrics(ws, { month: '2024-12', window: 11, by: 'product' });
    const byProduct = Object.fromEntries(rows.map((r) => [r.group, r]));
    expect(Object.keys(byProduct).sort()).toEqual(['analytics', 'core', 'platform']);
    // core at 2024-01: A1 1000, A2 900, A4 400, A5 300, A6 500, A7 1000, A11 700 = 4800 (7 units)
    // core at 2024-12: 1000 + 900 + 600 + 300 + 500 + 1000 + 0 = 4300
    const core = byProduct['core']!;
    expect([core.starting_mrr.value, core.ending_mrr.value, core.expansion.value, core.contraction.value, core.churn.value]).toEqual(['4800', '4300', '200', '0', '700']);
    expect([core.starting_accounts, core.retained_accounts]).toEqual([7, 6]);
    // analytics: A7's 200 ends 2024-07-01: churn of the product (contraction for the account)
    const analytics = byProduct['analytics']!;
    expect([analytics.starting_mrr.value, analytics.ending_mrr.value, analytics.churn.value]).toEqual(['200', '0', '200']);
    expect(analytics.nrr).toBe(0);
    // platform: A10's base 100; the usage months are back to nothing by December
    const platform = byProduct['platform']!;
    expect([platform.starting_mrr.value, platform.ending_mrr.value]).toEqual(['100', '100']);
    expect(platform.nrr).toBe(1);
  });

  it("A2's open-ended quarterly line is 900 in every month of 2024", async () => {
    const rows = await mrrLedger(ws, { account: 'A2' });
    expect(rows.map((r) => r.month)).toEqual(Array.from({ length: 12 }, (_, i) => `2024-${String(i + 1).padStart(2, '0')}`));
    expect(new Set(rows.map((r) => r.mrr.value))).toEqual(new Set(['900'])); // (3000 − 300) ÷ 3
  });

  it('the ledger by product sums to the ledger by account', async () => {
    const byAccount = new Map((await mrrLedger(ws)).map((r) => [`${r.account_id}|${r.month}`, r.mrr.value]));
    const sums = new Map<string, Money>();
    for (const r of await mrrLedger(ws, { byProduct: true })) {
      const k = `${r.account_id}|${r.month}`;
      sums.set(k, (sums.get(k) ?? Money.zero).plus(r.mrr));
    }
    expect(new Map([...sums].map(([k, v]) => [k, v.value]))).toEqual(byAccount);
    // A7: core 1000 + analytics 200 until June, then core alone
    expect((await mrrLedger(ws, { account: 'A7', byProduct: true })).filter((r) => r.month === '2024-06').map((r) => [r.product, r.mrr.value])).toEqual([
      ['analytics', '200'],
      ['core', '1000'],
    ]);
  });

  it("the 'movements' method sums every account's non-new movements in (M−W, M]", async () => {
    const m = await one(ws, { month: '2024-12', window: 11, method: 'movements' });
    expect(m.method).toBe('movements');
    expect(m.starting_mrr.value).toBe('5100'); // the January cohort, as in the snapshot
    // Movements in 2024-02 … 2024-12 other than new, of every account (also those new in the window):
    // expansion + reactivation: A3 +500 (06), A4 +200 (05), A6 +500 reactivation (04), A10 +50 (03), +30 (04)
    expect(m.expansion.value).toBe('1280');
    // contraction: A7 200 (07), A10 80 (05)
    expect(m.contraction.value).toBe('280');
    // churn: A6 500 (03), A11 700 (09)
    expect(m.churn.value).toBe('1200');
    expect(m.ending_mrr.value).toBe('4900'); // 5100 + 1280 − 280 − 1200
    expect(m.nrr).toBeCloseTo(4900 / 5100, 12);
    expect(m.grr).toBeCloseTo((5100 - 280 - 1200) / 5100, 12); // 3620 / 5100
    expect([m.starting_accounts, m.retained_accounts]).toEqual([8, 7]);
    expect(m.logo_retention).toBeCloseTo(7 / 8, 12);
  });

  it("the 'movements' method is per account: not available by product", async () => {
    await expect(metrics(ws, { month: '2024-12', window: 11, method: 'movements', by: 'product' })).rejects.toThrow(/--by product needs the snapshot method/);
  });

  it("the 'average' method compounds the mean of the 11 monthly snapshot NRRs", async () => {
    const m = await one(ws, { month: '2024-12', window: 11, method: 'average' });
    // Company MRR by month (end of month): the cohort of M−1 and its MRR at M.
    const monthly: [number, number, number][] = [
      // [start of cohort at M−1, its end at M (NRR numerator), Σ min(end, start) (GRR numerator)]
      [5100, 5100, 5100], // Feb vs Jan: nothing changes for January's accounts (A3, A8 are new)
      [7350, 6900, 6850], // Mar vs Feb: cohort 5100 + A3 2000 + A8 250; A6 churns −500, A10 +50 usage
      [8000, 8030, 8000], // Apr vs Mar: 7350 − A6 500 + A9 1100 + A10 50; A10 150 → 180
      [8530, 8650, 8450], // May vs Apr: 8030 + A6 500 back; A4 +200, A10 180 → 100 (−80)
      [8650, 9150, 8650], // Jun vs May: A3 +500 seats
      [9150, 8950, 8950], // Jul vs Jun: A7 −200 (A12 new, not in the cohort)
      [9750, 9750, 9750], // Aug vs Jul: 8950 + A12 800; no change
      [9750, 9050, 9050], // Sep vs Aug: A11 churns −700
      [9050, 9050, 9050], // Oct
      [9050, 9050, 9050], // Nov
      [9050, 9050, 9050], // Dec
    ];
    const nrrMean = monthly.reduce((s, [a, b]) => s + b / a, 0) / 11;
    const grrMean = monthly.reduce((s, [a, , c]) => s + c / a, 0) / 11;
    expect(m.monthly_nrr_average).toBeCloseTo(nrrMean, 12);
    expect(m.nrr).toBeCloseTo(nrrMean ** 11, 12);
    expect(m.grr).toBeCloseTo(grrMean ** 11, 12);
    // The bridge amounts are the snapshot cohort's.
    expect([m.starting_mrr.value, m.ending_mrr.value, m.churn.value]).toEqual(['5100', '4400', '700']);
  });

  it('each monthly snapshot NRR matches the hand-computed ratios the average uses', async () => {
    const checks: [string, number][] = [
      ['2024-03', 6900 / 7350],
      ['2024-04', 8030 / 8000],
      ['2024-05', 8650 / 8530],
      ['2024-09', 9050 / 9750],
    ];
    for (const [month, nrr] of checks) expect((await one(ws, { month, window: 1 })).nrr, month).toBeCloseTo(nrr, 12);
  });
});

describe('golden data set, FX at each month', () => {
  it("A9 (1000 EUR) is 1100 in March–May and 1200 from June; June's change is FX, not a movement", async () => {
    await withWorkspace({ fx: 'monthly' }, async (ws) => {
      const ledger = await mrrLedger(ws, { account: 'A9' });
      expect(ledger.map((r) => [r.month, r.mrr.value])).toEqual([
        ['2024-03', '1100'], // 1000 × 1.10
        ['2024-04', '1100'],
        ['2024-05', '1100'],
        ...['06', '07', '08', '09', '10', '11', '12'].map((mm) => [`2024-${mm}`, '1200']), // 1000 × 1.20
      ]);
      expect((await movements(ws, { account: 'A9' })).map(fmt)).toEqual(['A9 2024-03 new +1100']);
      // The change in June is recorded apart, as an FX effect with no movement.
      const changes = await ws.query(
        `SELECT month_index, category, CAST(movement AS VARCHAR) AS movement, CAST(fx AS VARCHAR) AS fx FROM account_changes WHERE account_id = 'A9' ORDER BY month_index`,
      );
      expect(changes.map((r) => [r['category'], Number(r['movement']), Number(r['fx'])])).toEqual([
        ['new', 1100, 0],
        ['fx', 0, 100], // 1000 × (1.20 − 1.10)
      ]);
      // Nothing else in the data is in another currency: every other movement is unchanged.
      const others = (await movements(ws)).filter((m) => m.account_id !== 'A9');
      expect(others).toHaveLength(20);
    });
  });

  it('quarter to 2024-06: FX is its own bridge line and NRR is at constant currency', async () => {
    const monthly = await withWorkspace({ fx: 'monthly' }, (ws) => one(ws, { month: '2024-06', window: 3 }));
    const atStart = await withWorkspace({}, (ws) => one(ws, { month: '2024-06', window: 3 }));
    // Cohort at the end of March: A1 1000, A2 900, A3 2000, A4 400, A5 300, A7 1200, A8 250, A9 1100,
    // A10 150 (usage month), A11 700 = 8000 (A6 is at zero in March).
    expect(monthly.starting_mrr.value).toBe('8000');
    expect(monthly.starting_accounts).toBe(10);
    // June: A3 +500, A4 +200 expansion; A10 150 → 100 contraction 50; A9 1100 → 1200 by the rate alone.
    expect(monthly.expansion.value).toBe('700');
    expect(monthly.contraction.value).toBe('50');
    expect(monthly.churn.value).toBe('0');
    expect(monthly.fx.value).toBe('100'); // 1000 EUR × (1.20 − 1.10)
    expect(monthly.ending_mrr.value).toBe('8750'); // 8000 + 700 − 50 − 0 + 100
    // NRR at March's rates: (8000 + 700 − 50) ÷ 8000, the FX gain left out.
    expect(monthly.nrr).toBeCloseTo(8650 / 8000, 12);
    expect(monthly.grr).toBeCloseTo(7950 / 8000, 12); // 8000 − 50
    // With FX at contract start there is no FX line at all, and NRR is the same.
    expect(atStart.fx.value).toBe('0');
    expect(atStart.ending_mrr.value).toBe('8650');
    expect(atStart.nrr).toBe(monthly.nrr);
    expect(atStart.grr).toBe(monthly.grr);
  });
});

describe('golden data set, other policies', () => {
  it("snapshot 'start' moves mid-month starts to the next month", async () => {
    await withWorkspace({ snapshot: 'start' }, async (ws) => {
      // A2 starts 2024-01-15: not in force on 01-01, in force on 02-01.
      expect((await mrrLedger(ws, { account: 'A2' }))[0]).toMatchObject({ month: '2024-02' });
      expect((await movements(ws, { account: 'A2' })).map(fmt)).toEqual(['A2 2024-02 new +900']);
      // A3's 3-year line starts 02-10 → first in force on 03-01; the seats line from 06-15 → 07-01.
      expect((await movements(ws, { account: 'A3' })).map(fmt)).toEqual(['A3 2024-03 new +2000', 'A3 2024-07 expansion +500']);
      // Lines on the 1st count in the same months under both policies.
      expect((await movements(ws, { account: 'A1' })).map(fmt)).toEqual(['A1 2024-01 new +1000']);
      expect((await movements(ws, { account: 'A7' })).map(fmt)).toEqual(['A7 2024-01 new +1200', 'A7 2024-07 contraction -200']);
      // A6: term1 in force on the 1st of Jan–Mar (ends 03-25), term2 (04-05) first on 05-01.
      expect((await movements(ws, { account: 'A6' })).map(fmt)).toEqual(['A6 2024-01 new +500', 'A6 2024-04 churn -500', 'A6 2024-05 reactivation +500']);
      // A5: term1 ends 04-10 (last in force on 04-01), term2 from 04-20 first on 05-01: still no gap.
      expect((await movements(ws, { account: 'A5' })).map(fmt)).toEqual(['A5 2024-01 new +300']);
      // Usage counts in the month consumed under either snapshot (beside A10-base, in force all along).
      expect((await movements(ws, { account: 'A10' })).map(fmt)).toEqual([
        'A10 2024-01 new +100',
        'A10 2024-03 expansion +50',
        'A10 2024-04 expansion +30',
        'A10 2024-05 contraction -80',
      ]);
    });
  });

  it("usage 'exclude' removes A10's usage movements in March–May", async () => {
    await withWorkspace({ usage: 'exclude' }, async (ws) => {
      expect((await movements(ws, { account: 'A10' })).map(fmt)).toEqual(['A10 2024-01 new +100']);
      expect(new Set((await mrrLedger(ws, { account: 'A10' })).map((r) => r.mrr.value))).toEqual(new Set(['100']));
      // The 21 movements less A10's three usage movements; the others are unchanged.
      expect(await movements(ws)).toHaveLength(18);
    });
  });

  it('reactivation_window_months 0 is refused', async () => {
    await expect(open({ reactivation_window_months: 0 })).rejects.toThrow(NrrError);
    await expect(open({ reactivation_window_months: 0 })).rejects.toThrow(/reactivation_window_months/);
  });

  it("A6's one month at zero is within a window of 1: still a reactivation", async () => {
    // churn 2024-03, back 2024-04: one month (March) at zero; new only after MORE than N months.
    await withWorkspace({ reactivation_window_months: 1 }, async (ws) => {
      expect((await movements(ws, { account: 'A6' })).map(fmt)).toEqual(['A6 2024-01 new +500', 'A6 2024-03 churn -500', 'A6 2024-04 reactivation +500']);
    });
  });

  it('a window smaller than the gap turns the reactivation into new (docs/definitions.md example)', async () => {
    // Churns in 2024-02 (MRR 0 in 02 … 08: 7 months at zero), returns 2024-09.
    const dir = fixtureDir({
      'subscriptions.csv': csv(
        'account_id,line_id,start_date,end_date,amount',
        'R,R-1,2023-06-01,2024-02-01,400',
        'R,R-2,2024-09-01,,450',
        'S,S-1,2023-06-01,,100',
      ),
      'accounts.csv': csv('account_id,segment', 'R,smb', 'S,smb'),
    });
    try {
      const rMoves = (w: number | null): Promise<string[]> =>
        withWorkspace({ reactivation_window_months: w }, async (ws) => (await movements(ws, { account: 'R' })).map(fmt), dir);
      expect(await rMoves(null)).toEqual(['R 2023-06 new +400', 'R 2024-02 churn -400', 'R 2024-09 reactivation +450']);
      expect(await rMoves(7)).toEqual(['R 2023-06 new +400', 'R 2024-02 churn -400', 'R 2024-09 reactivation +450']);
      expect(await rMoves(6)).toEqual(['R 2023-06 new +400', 'R 2024-02 churn -400', 'R 2024-09 new +450']);
      expect(await rMoves(2)).toEqual(['R 2023-06 new +400', 'R 2024-02 churn -400', 'R 2024-09 new +450']);
      // A return counted as new keeps the account's original vintage.
      await withWorkspace(
        { reactivation_window_months: 2 },
        async (ws) => {
          const byCohort = await metrics(ws, { month: '2024-10', window: 1, by: 'cohort_month' });
          expect(byCohort.map((r) => [r.group, r.starting_mrr.value])).toEqual([['2023-06', '550']]); // R 450 + S 100
        },
        dir,
      );
    } finally {
      removeDir(dir);
    }
  });
});
