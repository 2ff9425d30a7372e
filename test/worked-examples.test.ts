import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Workspace, annualise, metrics, movements, nrrFromBridge, type Metrics, type NrrMethod } from '../src/index.js';
import { csv, fixtureDir, removeDir } from './helpers/fixture-dir.js';

/** The worked examples of ../shared/docs/PRODUCT.md and docs/definitions.md. */

const pct = (x: number): string => (x * 100).toFixed(1);

describe('PRODUCT.md: the textbook bridge', () => {
  it('$1M start, $50K expansion, $15K contraction, $20K churn → NRR 101.5%, annualised ≈ 119.6%', () => {
    const nrr = nrrFromBridge({ start: 1_000_000, expansion: 50_000, contraction: 15_000, churn: 20_000 });
    expect(nrr).toBeCloseTo(1.015, 12); // (1000 + 50 − 15 − 20) ÷ 1000
    expect(pct(nrr)).toBe('101.5');
    expect(annualise(nrr)).toBeCloseTo(1.015 ** 12, 12);
    expect(pct(annualise(nrr))).toBe('119.6'); // 1.015¹² = 1.19562
  });

  it.each([
    [0.99, '88.6'], // 0.99¹² = 0.88638
    [1.01, '112.7'], // 1.01¹² = 1.12683
    [1.02, '126.8'], // 1.02¹² = 1.26824
    [1.03, '142.6'], // 1.03¹² = 1.42576
  ])('monthly NRR %s compounds to %s%% a year', (monthly, yearly) => {
    expect(pct(annualise(monthly))).toBe(yearly);
  });
});

describe('PRODUCT.md: the same bridge through the engine, over one month', () => {
  // Cohort at the end of 2024-01: E 400,000 + C 300,000 + K 20,000 + S 280,000 = 1,000,000.
  // In 2024-02: E +50,000 (a quarterly add-on, 150,000 ÷ 3), C −15,000 (one of its lines ends),
  // K churns (20,000), S unchanged, and N is a new logo (100,000), left out of NRR.
  let dir: string;
  let ws: Workspace;
  beforeAll(async () => {
    dir = fixtureDir({
      'subscriptions.csv': csv(
        'account_id,line_id,product,start_date,end_date,amount,interval,discount,currency',
        'E,E-1,platform,2024-01-01,2025-01-01,4800000,year,,', // 4.8M a year = 400,000 a month
        'E,E-2,platform,2024-02-01,2025-01-01,150000,quarter,,', // +50,000 a month
        'C,C-1,platform,2024-01-01,,285000,month,,',
        'C,C-2,insights,2024-01-01,2024-02-01,16000,month,1000,', // 15,000 after discount; ends → contraction
        'K,K-1,platform,2024-01-01,2024-02-01,20000,month,,', // churn
        'S,S-1,platform,2023-06-01,,3360000,year,,', // 280,000 a month
        'N,N-1,platform,2024-02-01,,100000,month,,', // new logo
      ),
      'accounts.csv': csv('account_id,segment', 'E,enterprise', 'C,enterprise', 'K,mid-market', 'S,enterprise', 'N,smb'),
    });
    ws = await Workspace.open({ data: dir, policies: { as_of: '2024-02' } });
  });
  afterAll(() => {
    ws.close();
    removeDir(dir);
  });

  it('the movements of 2024-02 are the bridge amounts', async () => {
    const feb = (await movements(ws)).filter((m) => m.month === '2024-02').map((m) => [m.account_id, m.category, m.delta.value]);
    expect(feb).toEqual([
      ['C', 'contraction', '-15000'],
      ['E', 'expansion', '50000'],
      ['K', 'churn', '-20000'],
      ['N', 'new', '100000'],
    ]);
  });

  it.each<NrrMethod>(['snapshot', 'movements', 'average'])("engine NRR for 2024-02 is 1.015 with the '%s' method", async (method) => {
    const rows = await metrics(ws, { month: '2024-02', window: 1, method });
    expect(rows).toHaveLength(1);
    const m: Metrics = rows[0]!;
    expect(m.starting_mrr.value).toBe('1000000');
    expect(m.expansion.value).toBe('50000');
    expect(m.contraction.value).toBe('15000');
    expect(m.churn.value).toBe('20000');
    expect(m.ending_mrr.value).toBe('1015000'); // N's 100,000 is not in the cohort
    expect(m.nrr).toBeCloseTo(1.015, 12);
    expect(pct(m.nrr!)).toBe('101.5');
    expect(pct(annualise(m.nrr!))).toBe('119.6');
    expect(m.grr).toBeCloseTo(0.965, 12); // (1,000,000 − 15,000 − 20,000) ÷ 1,000,000
    expect(m.logo_retention).toBeCloseTo(3 / 4, 12);
    // The engine's NRR is the textbook formula over its own bridge.
    expect(
      nrrFromBridge({
        start: m.starting_mrr.toNumber(),
        expansion: m.expansion.toNumber(),
        contraction: m.contraction.toNumber(),
        churn: m.churn.toNumber(),
      }),
    ).toBeCloseTo(m.nrr!, 12);
  });
});

describe('docs/definitions.md: one example, three methods', () => {
  // Quarter ending 2024-06 (W = 3; the cohort is the accounts at 2024-03):
  //   A 1000 → 1200 from April; B 500, churns in April, returns at 300 in June; C 200 flat;
  //   D a new logo at 400 in May, 500 in June.
  let dir: string;
  let ws: Workspace;
  beforeAll(async () => {
    dir = fixtureDir({
      'subscriptions.csv': csv(
        'account_id,line_id,start_date,end_date,amount',
        'A,A-1,2024-01-01,,1000',
        'A,A-2,2024-04-01,,200',
        'B,B-1,2024-01-01,2024-04-01,500',
        'B,B-2,2024-06-01,,300',
        'C,C-1,2024-01-01,,200',
        'D,D-1,2024-05-01,,400',
        'D,D-2,2024-06-01,,100',
      ),
      'accounts.csv': csv('account_id', 'A', 'B', 'C', 'D'),
    });
    ws = await Workspace.open({ data: dir, policies: { as_of: '2024-06' } });
  });
  afterAll(() => {
    ws.close();
    removeDir(dir);
  });

  const q = async (method: NrrMethod): Promise<Metrics> => (await metrics(ws, { month: '2024-06', window: 3, method }))[0]!;

  it('snapshot: 1,700 ÷ 1,700 = 100.0%, GRR 88.2%', async () => {
    const m = await q('snapshot');
    expect([m.starting_mrr.value, m.ending_mrr.value, m.expansion.value, m.contraction.value, m.churn.value]).toEqual(['1700', '1700', '200', '200', '0']);
    expect(pct(m.nrr!)).toBe('100.0');
    expect(m.grr).toBeCloseTo(1500 / 1700, 12); // min: A 1000 + B 300 + C 200
    expect(pct(m.grr!)).toBe('88.2');
  });

  it('movements: 1,800 ÷ 1,700 = 105.9%, GRR 70.6%', async () => {
    const m = await q('movements');
    // expansion: A +200, B's reactivation +300, D's expansion +100; churn: B 500
    expect([m.starting_mrr.value, m.expansion.value, m.contraction.value, m.churn.value]).toEqual(['1700', '600', '0', '500']);
    expect(m.nrr).toBeCloseTo(1800 / 1700, 12);
    expect(pct(m.nrr!)).toBe('105.9');
    expect(m.grr).toBeCloseTo(1200 / 1700, 12);
    expect(pct(m.grr!)).toBe('70.6');
  });

  it('average: monthly 82.4%, 100.0%, 105.6%; mean 95.97%; 0.9597³ = 88.4%, GRR 73.4%', async () => {
    const m = await q('average');
    // April: cohort of March 1700 → A 1200 + C 200 = 1400; May: 1400 → 1400; June: 1800 (A, C, D) → 1900.
    const mean = (1400 / 1700 + 1 + 1900 / 1800) / 3;
    expect(m.monthly_nrr_average).toBeCloseTo(mean, 12);
    expect((m.monthly_nrr_average! * 100).toFixed(2)).toBe('95.97');
    expect(m.nrr).toBeCloseTo(mean ** 3, 12);
    expect(pct(m.nrr!)).toBe('88.4');
    // GRR: April 1200/1700 (A counts 1000), May and June 1.
    expect(m.grr).toBeCloseTo(((1200 / 1700 + 1 + 1) / 3) ** 3, 12);
    expect(pct(m.grr!)).toBe('73.4');
  });
});
