import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Money, Workspace, explainAccount, metrics, movements } from '../src/index.js';
import { renderHtml } from '../src/report/render-html.js';
import { renderMarkdown } from '../src/report/render-markdown.js';
import { buildReport } from '../src/report/report-model.js';
import { csv, fixtureDir, removeDir } from './helpers/fixture-dir.js';

/**
 * Usage rides on a contract (docs/definitions.md#usage): a usage charge is MRR only in a month in
 * which its account has a contract line in force, unless the account has no line at all; the rest
 * is set aside and reported. And every movement's cause: contract, usage, fx or mixed.
 *
 * A  1,000/month 2024-01-01 → 2024-04-15; usage 100 (02), 120 (03), 60 (04), 10 (05): the lines end
 *    in April (snapshot end), the April and May charges come after → churn of the whole 1,120.
 * B  500/month open; usage 40 in 03 → expansion then contraction, by usage.
 * U  no line at all; usage 30 (02), 50 (03) → new, expansion, churn, all usage.
 * E  1,000 EUR/month open; usage 100 EUR in 03; EUR 1.10 from 01, 1.20 from 03, 1.25 from 06.
 * P  200/month 2024-03-01 → 2024-05-01, 300/month from 2024-08-01; usage 25 (02, before the first
 *    line), 15 (06, between the contracts), 35 (09, during the second).
 * C  400/month open, an add-on 100/month from 2024-03-01, usage 50 in 03 → one expansion of 150, mixed.
 */
const FILES = {
  'subscriptions.csv': csv(
    'account_id,line_id,product,start_date,end_date,amount,interval,currency',
    'A,A-1,platform,2024-01-01,2024-04-15,1000,month,USD',
    'B,B-1,platform,2024-01-01,,500,month,USD',
    'E,E-1,platform,2024-01-01,,1000,month,EUR',
    'P,P-1,platform,2024-03-01,2024-05-01,200,month,USD',
    'P,P-2,platform,2024-08-01,,300,month,USD',
    'C,C-1,platform,2024-01-01,,400,month,USD',
    'C,C-2,addon,2024-03-01,,100,month,USD',
  ),
  'accounts.csv': csv('account_id,segment', 'A,x', 'B,x', 'U,x', 'E,x', 'P,x', 'C,x'),
  'usage.csv': csv(
    'account_id,product,month,amount,currency',
    'A,api,2024-02,100,USD',
    'A,api,2024-03,120,USD',
    'A,api,2024-04,60,USD',
    'A,api,2024-05,10,USD',
    'B,api,2024-03,40,USD',
    'U,api,2024-02,30,USD',
    'U,api,2024-03,50,USD',
    'E,api,2024-03,100,EUR',
    'P,api,2024-02,25,USD',
    'P,api,2024-06,15,USD',
    'P,api,2024-09,35,USD',
    'C,api,2024-03,50,USD',
  ),
  'fx_rates.csv': csv('currency,month,rate', 'EUR,2024-01,1.10', 'EUR,2024-03,1.20', 'EUR,2024-06,1.25'),
};

/** Every account_changes row (movements and FX-only months) as 'account month category cause movement usage fx'. */
async function changes(ws: Workspace): Promise<string[]> {
  const rows = [
    ...(await movements(ws)).map((m) => [m.account_id, m.month, m.category, m.cause, m.delta.value, m.usage_delta.value, m.fx.value]),
    ...(
      await ws.query(
        `SELECT account_id, month_index, CAST(fx AS VARCHAR) AS fx, cause, CAST(usage_movement AS VARCHAR) AS u FROM account_changes WHERE category = 'fx' AND month_index <= ${ws.asOfMonth}`,
      )
    ).map((r) => {
      const m = Number(r['month_index']);
      const month = `${Math.floor(m / 12)}-${String((m % 12) + 1).padStart(2, '0')}`;
      return [String(r['account_id']), month, 'fx', String(r['cause']), '0', Money.from(r['u']).value, Money.from(r['fx']).value];
    }),
  ];
  return rows.map((r) => r.join(' ')).sort();
}

// Accounts whose movements are the same under both FX policies (all in USD).
const USD_ACCOUNTS = [
  'A 2024-01 new contract 1000 0 0',
  'A 2024-02 expansion usage 100 100 0',
  'A 2024-03 expansion usage 20 20 0',
  'A 2024-04 churn mixed -1120 -120 0', // the lines end: churn of the whole MRR, the 60 and 10 set aside
  'B 2024-01 new contract 500 0 0',
  'B 2024-03 expansion usage 40 40 0',
  'B 2024-04 contraction usage -40 -40 0',
  'C 2024-01 new contract 400 0 0',
  'C 2024-03 expansion mixed 150 50 0',
  'C 2024-04 contraction usage -50 -50 0',
  'P 2024-03 new contract 200 0 0', // the 25 of 2024-02 came before the first line: set aside
  'P 2024-05 churn contract -200 0 0',
  'P 2024-08 reactivation contract 300 0 0', // the 15 of 2024-06 fell between the contracts: set aside
  'P 2024-09 expansion usage 35 35 0',
  'P 2024-10 contraction usage -35 -35 0',
  'U 2024-02 new usage 30 30 0', // no line at all: billed on usage alone
  'U 2024-03 expansion usage 20 20 0',
  'U 2024-04 churn usage -50 -50 0',
];

describe.each(['contract_start', 'monthly'] as const)('usage outside every contract line, fx %s', (fx) => {
  let dir: string;
  let ws: Workspace;
  beforeAll(async () => {
    dir = fixtureDir(FILES, 'nrr-usage-');
    ws = await Workspace.open({ data: dir, policies: { fx, as_of: '2024-10' }, today: new Date('2030-01-01T00:00:00Z') });
  });
  afterAll(() => {
    ws.close();
    removeDir(dir);
  });

  it('churn in the month the lines end with the whole MRR; usage counts only beside a line, or alone', async () => {
    const eur =
      fx === 'contract_start'
        ? [
            // E-1 at the 2024-01 rate, 1,100 for its whole life; the usage at its month's rate, 1.20.
            'E 2024-01 new contract 1100 0 0',
            'E 2024-03 expansion usage 120 120 0',
            'E 2024-04 contraction usage -120 -120 0',
          ]
        : [
            // 2024-03: the usage gained at the new rate (100 × 1.20) while 1,000 EUR is revalued (× 0.10).
            'E 2024-01 new contract 1100 0 0',
            'E 2024-03 expansion mixed 120 120 100',
            'E 2024-04 contraction usage -120 -120 0',
            'E 2024-06 fx fx 0 0 50', // 1,000 × (1.25 − 1.20): no movement
          ];
    expect(await changes(ws)).toEqual([...USD_ACCOUNTS, ...eur].sort());
  });

  it('reports the usage set aside: count, accounts and amount, as a warning and per account', async () => {
    expect(ws.summary.usageSetAside.charges).toBe(4);
    expect(ws.summary.usageSetAside.accounts).toBe(2);
    expect(ws.summary.usageSetAside.amount.value).toBe('110'); // 60 + 10 (A) + 25 + 15 (P)
    const warning = ws.summary.warnings.find((w) => w.source === 'usage');
    expect(warning?.expected).toContain('4 usage charge(s) of 2 account(s), 110.00 USD in all');
    const a = await explainAccount(ws, 'A');
    expect(a.usage_set_aside.map((u) => [u.row, u.month, u.amount.value])).toEqual([
      [3, '2024-04', '60'],
      [4, '2024-05', '10'],
    ]);
    expect(a.movements.find((m) => m.month === '2024-04')).toMatchObject({ category: 'churn', cause: 'mixed' });
    expect((await explainAccount(ws, 'U')).usage_set_aside).toEqual([]);
    if (fx === 'contract_start') {
      const report = await buildReport(ws);
      const said = '4 usage charge(s) of 2 account(s), 110.00 USD in all';
      expect(renderMarkdown(report)).toContain(said);
      expect(renderHtml(report)).toContain(said);
    }
  });

  it('the churn is in the bridge as churn, not as contraction', async () => {
    // Window 2024-03 → 2024-04: A is in the cohort with 1,120 and leaves with nothing.
    const [m] = await metrics(ws, { month: '2024-04', window: 1, by: 'account' }).then((rows) => rows.filter((r) => r.group === 'A'));
    expect(m!.churn.value).toBe('1120');
    expect(m!.contraction.value).toBe('0');
  });
});

describe('usage rule with snapshot: start', () => {
  let dir: string;
  let ws: Workspace;
  beforeAll(async () => {
    dir = fixtureDir(FILES, 'nrr-usage-');
    ws = await Workspace.open({ data: dir, policies: { snapshot: 'start', as_of: '2024-10' }, today: new Date('2030-01-01T00:00:00Z') });
  });
  afterAll(() => {
    ws.close();
    removeDir(dir);
  });

  it("A's line is in force on 1 April: April's usage counts, the churn moves to May with the whole MRR", async () => {
    const a = (await changes(ws)).filter((r) => r.startsWith('A '));
    expect(a).toEqual([
      'A 2024-01 new contract 1000 0 0',
      'A 2024-02 expansion usage 100 100 0',
      'A 2024-03 expansion usage 20 20 0',
      'A 2024-04 contraction usage -60 -60 0',
      'A 2024-05 churn mixed -1060 -60 0',
    ]);
    expect(ws.summary.usageSetAside.charges).toBe(3); // A's 10 in May, P's 25 and 15
    expect(ws.summary.usageSetAside.amount.value).toBe('50');
  });
});

describe("usage: exclude sets nothing aside (no usage is MRR)", () => {
  it('no warning, no usage movement', async () => {
    const dir = fixtureDir(FILES, 'nrr-usage-');
    const ws = await Workspace.open({ data: dir, policies: { usage: 'exclude', as_of: '2024-10' }, today: new Date('2030-01-01T00:00:00Z') });
    try {
      expect(ws.summary.usageSetAside.charges).toBe(0);
      expect(ws.summary.warnings.filter((w) => w.source === 'usage')).toEqual([]);
      const moves = await movements(ws);
      expect(moves.every((m) => m.cause === 'contract' && m.usage_delta.isZero())).toBe(true);
      expect(moves.find((m) => m.account_id === 'A' && m.category === 'churn')?.delta.value).toBe('-1000');
    } finally {
      ws.close();
      removeDir(dir);
    }
  });
});
