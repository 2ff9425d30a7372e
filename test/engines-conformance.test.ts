import Big from 'big.js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbDriver } from '../src/drivers/duckdb-driver.js';
import type { Driver } from '../src/drivers/driver.js';
import { Money, Workspace, metrics, metricsSeries, movements, mrrLedger, NrrError, type NrrMethod, type PolicyInput } from '../src/index.js';
import { monthIndex } from '../src/engine/months.js';
import { generateCompany } from '../src/generate/generate-company.js';
import type { OpenOptions } from '../src/workspace/workspace.js';
import { engineAvailability, enginesUnderTest, startEngine, type Engine, type EngineName } from './helpers/engines.js';
import { csv, fixtureDir, removeDir } from './helpers/fixture-dir.js';

/**
 * One suite, every engine (NRR_ENGINES, default duckdb): the model built on the engine gives the
 * same movements, ledger and metrics as DuckDB to the digit, and the hand-worked figures of the
 * golden data and the worked examples; the engine's NULLs and money arithmetic behave as the
 * model needs.
 */

const GOLDEN = 'test/fixtures/golden';
const TODAY = new Date('2025-06-15T00:00:00Z');

/** The policies the golden data is checked under elsewhere (test/golden.test.ts), each a model of its own. */
const POLICY_SETS: readonly PolicyInput[] = [
  {},
  { fx: 'monthly' },
  { snapshot: 'start' },
  { usage: 'exclude' },
  { reactivation_window_months: 1 },
  { fx: 'monthly', snapshot: 'start' },
];

/** Every figure of a workspace that the suite compares, as exact text. */
async function everything(ws: Workspace): Promise<unknown> {
  const months = Array.from({ length: 12 }, (_, i) => monthIndex(`2024-${String(i + 1).padStart(2, '0')}`));
  const out: Record<string, unknown> = {
    movements: (await movements(ws)).map((m) => ({ ...m, delta: m.delta.value, fx: m.fx.value, mrr_before: m.mrr_before.value, mrr_after: m.mrr_after.value })),
    ledger: (await mrrLedger(ws)).map((r) => `${r.account_id} ${r.month} ${r.mrr.value}`),
    ledgerByProduct: (await mrrLedger(ws, { byProduct: true })).map((r) => `${r.account_id} ${r.product} ${r.month} ${r.mrr.value}`),
  };
  // Each grouping's SQL once per method that has it; windows of one month and of eleven.
  const runs: [NrrMethod, string | undefined, number][] = [
    ...[undefined, 'segment', 'product', 'cohort', 'account'].flatMap((by) => [1, 11].map((w): [NrrMethod, string | undefined, number] => ['snapshot', by, w])),
    ...[undefined, 'segment', 'cohort'].map((by): [NrrMethod, string | undefined, number] => ['movements', by, 11]),
    ['average', undefined, 11],
    ['average', 'product', 3],
  ];
  for (const [method, by, window] of runs) {
    const rows = await metricsSeries(ws, { months, window, method, ...(by ? { by } : {}) });
    out[`${method} ${by ?? 'all'} ${window}`] = rows.map(plain);
  }
  return out;
}

/** Money as its exact text, everything else as it is. */
function plain(o: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v instanceof Money ? v.value : v]));
}

const open = (engine: Engine, policies: PolicyInput, data = GOLDEN, today = TODAY): Promise<Workspace> =>
  engine.open({ data, policies: { as_of: '2024-12', ...policies }, today } satisfies OpenOptions);

/** DuckDB's answers, computed once per data and question and shared by every engine's comparison. */
const referenceCache = new Map<string, Promise<unknown>>();

function referenceOf(key: string, f: () => Promise<unknown>): Promise<unknown> {
  let p = referenceCache.get(key);
  if (p === undefined) {
    p = f();
    referenceCache.set(key, p);
  }
  return p;
}

async function withWs<T>(engine: Engine, policies: PolicyInput, f: (ws: Workspace) => Promise<T>, data = GOLDEN, today = TODAY): Promise<T> {
  const ws = await open(engine, policies, data, today);
  try {
    return await f(ws);
  } finally {
    ws.close();
  }
}

/** NRR_ENGINE_RUNS=100 for a longer hunt on every engine. */
const RANDOM_RUNS = Number(process.env['NRR_ENGINE_RUNS'] ?? 4);

/**
 * Random contract lines (every interval, weeks included, discounts, open ends, amounts with up to
 * six decimals), EUR with random monthly rates, usage charges, and random model policies.
 */
const randomScenario = fc
  .record({
    lines: fc.array(
      fc.record({
        account: fc.constantFrom('A1', 'A2', 'A3', 'A4', 'A5'),
        product: fc.constantFrom('p1', 'p2'),
        start: fc.integer({ min: 0, max: 900 }),
        days: fc.option(fc.integer({ min: 1, max: 700 }), { nil: null }),
        amount: fc.tuple(fc.integer({ min: 0, max: 5_000_000 }), fc.integer({ min: 0, max: 999_999 })).map(([w, f]) => `${w}.${String(f).padStart(6, '0')}`),
        discount: fc.option(fc.integer({ min: 0, max: 100 }), { nil: null }),
        interval: fc.constantFrom('month', 'quarter', 'year', '3 months', '2 weeks', 'week'),
        currency: fc.constantFrom('USD', 'EUR'),
      }),
      { minLength: 1, maxLength: 12 },
    ),
    usage: fc.array(fc.record({ account: fc.constantFrom('A1', 'A2', 'A6'), month: fc.integer({ min: 0, max: 35 }), amount: fc.integer({ min: 1, max: 100_000 }) }), { maxLength: 4 }),
    rates: fc.array(fc.integer({ min: 500_000, max: 2_000_000 }), { minLength: 36, maxLength: 36 }),
    fx: fc.constantFrom('contract_start', 'monthly'),
    snapshot: fc.constantFrom('end', 'start'),
  })
  .map((r) => {
    const day = (offset: number): string => new Date(Date.UTC(2023, 0, 1) + offset * 86_400_000).toISOString().slice(0, 10);
    const month = (i: number): string => `${2023 + Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, '0')}`;
    const accounts = ['A1', 'A2', 'A3', 'A4', 'A5', 'A6'];
    return {
      policies: { fx: r.fx, snapshot: r.snapshot } as PolicyInput,
      files: {
        'subscriptions.csv': [
          ['account_id', 'line_id', 'product', 'start_date', 'end_date', 'amount', 'interval', 'discount', 'currency'],
          ...r.lines.map((l, i) => [l.account, `L${i}`, l.product, day(l.start), l.days === null ? '' : day(l.start + l.days), l.amount, l.interval, l.discount === null ? '' : String(Math.min(l.discount, Number(l.amount.split('.')[0]))), l.currency]),
        ],
        'accounts.csv': [['account_id', 'segment'], ...accounts.map((a, i) => [a, i % 2 === 0 ? 'smb' : 'enterprise'])],
        'usage.csv': [['account_id', 'product', 'month', 'amount', 'currency'], ...r.usage.map((u) => [u.account, 'api', month(u.month), String(u.amount), 'USD'])],
        // A rate with up to six decimals for each month of 2023–2025.
        'fx_rates.csv': [['currency', 'month', 'rate'], ...r.rates.map((x, i) => ['EUR', month(i), (x / 1_000_000).toFixed(6)])],
      },
    };
  });

const engines = enginesUnderTest();

describe.each(engines)('engine %s', (name: EngineName) => {
  const why = engineAvailability(name);
  let engine: Engine;
  let reference: Engine;
  beforeAll(async () => {
    engine = await startEngine(name);
    reference = await startEngine('duckdb');
  }, 120_000);
  afterAll(() => engine?.stop());

  describe.skipIf(why !== null)(`on ${name}${why ? ` (skipped: ${why})` : ''}`, () => {
    // On DuckDB itself these comparisons would compare a run with its twin: the other engines run them.
    it.skipIf(name === 'duckdb').each(POLICY_SETS.map((p) => [JSON.stringify(p), p] as const))('golden data under %s: every figure as DuckDB gives it', async (_label, policies) => {
      const expected = await referenceOf(`golden ${JSON.stringify(policies)}`, () => withWs(reference, policies, everything));
      const got = await withWs(engine, policies, everything);
      expect(got).toEqual(expected);
    }, 120_000);

    it('examples/acme (150 accounts, five currencies): movements and twelve months of metrics as DuckDB gives them', async () => {
      const months = Array.from({ length: 12 }, (_, i) => monthIndex('2025-01') + i);
      const run = (e: Engine): Promise<unknown> =>
        withWs(e, { as_of: '2025-12', fx: 'monthly' }, async (ws) => ({
          movements: (await movements(ws)).map((m) => plain(m)),
          snapshot: (await metricsSeries(ws, { months, window: 12, by: 'segment' })).map(plain),
          average: (await metricsSeries(ws, { months, window: 3, method: 'average' })).map(plain),
          byMovements: (await metricsSeries(ws, { months, window: 12, method: 'movements', by: 'cohort' })).map(plain),
        }), 'examples/acme', new Date('2026-01-15T00:00:00Z'));
      const got = await run(engine);
      expect(got).toEqual(await run(reference));
      expect((got as { movements: unknown[] }).movements.length).toBeGreaterThan(100);
    }, 120_000);

    describe('the demo company (300 accounts, 24 months, five currencies)', () => {
      let dir: string;
      beforeAll(async () => {
        dir = fixtureDir({});
        await generateCompany({ out: dir, accounts: 300, months: 24, seed: 7, end: '2025-12', force: true });
      }, 120_000);
      afterAll(() => removeDir(dir));

      it.each([{}, { fx: 'monthly' }] as const)('under %j: movements and a year of metrics by segment as DuckDB gives them', async (policies) => {
        const months = Array.from({ length: 12 }, (_, i) => monthIndex('2025-01') + i);
        const run = (e: Engine): Promise<unknown> =>
          withWs(e, { as_of: '2025-12', ...policies }, async (ws) => ({
            movements: (await movements(ws)).map((m) => plain(m)),
            bySegment: (await metricsSeries(ws, { months, window: 12, by: 'segment' })).map(plain),
            byProduct: (await metricsSeries(ws, { months, window: 3, by: 'product' })).map(plain),
          }), dir, new Date('2026-01-15T00:00:00Z'));
        const got = await run(engine);
        expect(got).toEqual(await run(reference));
        expect((got as { movements: unknown[] }).movements.length).toBeGreaterThan(300);
      }, 120_000);
    });

    it.skipIf(name === 'duckdb')('random data (fast-check): movements, ledger and metrics as DuckDB gives them', async () => {
      await fc.assert(
        fc.asyncProperty(randomScenario, async (sc) => {
          const dir = fixtureDir(sc.files);
          try {
            const months = Array.from({ length: 12 }, (_, i) => monthIndex('2024-01') + i);
            const run = (e: Engine): Promise<unknown> =>
              withWs(e, { as_of: '2024-12', ...sc.policies }, async (ws) => ({
                movements: (await movements(ws)).map((m) => plain(m)),
                ledger: (await mrrLedger(ws)).map((r) => plain(r)),
                snapshot: (await metricsSeries(ws, { months, window: 3 })).map(plain),
                byMovements: (await metricsSeries(ws, { months, window: 12, method: 'movements' })).map(plain),
              }), dir);
            expect(await run(engine)).toEqual(await run(reference));
          } finally {
            removeDir(dir);
          }
        }),
        { numRuns: RANDOM_RUNS },
      );
    }, 600_000);

    it('golden data, metrics 2024-12 over 11 months: the hand-checked cohort of January', async () => {
      await withWs(engine, {}, async (ws) => {
        const [m] = await metrics(ws, { month: '2024-12', window: 11 });
        // Cohort at the end of 2024-01: A1 1000, A2 900, A4 400, A5 300, A6 500, A7 1200, A10 100, A11 700.
        expect(m!.starting_mrr.value).toBe('5100');
        expect(m!.starting_accounts).toBe(8);
        // At the end of 2024-12: A1 1000, A2 900, A4 600, A5 300, A6 500, A7 1000, A10 100, A11 0.
        expect(m!.ending_mrr.value).toBe('4400');
        expect(m!.expansion.value).toBe('200'); // A4 400 → 600
        expect(m!.contraction.value).toBe('200'); // A7 1200 → 1000
        expect(m!.churn.value).toBe('700'); // A11
        expect(m!.nrr).toBe(4400 / 5100);
        expect(m!.grr).toBe(4200 / 5100); // Σ min(end, start) = 4200
        expect(m!.logo_retention).toBe(7 / 8);
        expect(m!.largest_account_share).toBe(1200 / 5100); // A7
        // Median starting MRR of 100, 300, 400, 500, 700, 900, 1000, 1200: (500 + 700) ÷ 2 = 600, × 12.
        expect(m!.median_acv?.value).toBe('7200');
      });
    });

    it('golden data with monthly FX: A9 (1000 EUR) moves by the rate alone in June', async () => {
      await withWs(engine, { fx: 'monthly' }, async (ws) => {
        const changes = await ws.query(`SELECT month_index, category, movement, fx FROM account_changes WHERE account_id = 'A9' ORDER BY month_index`);
        expect(changes.map((r) => [r['category'], Money.from(r['movement']).value, Money.from(r['fx']).value])).toEqual([
          ['new', '1100', '0'], // 1000 × 1.10
          ['fx', '0', '100'], // 1000 × (1.20 − 1.10)
        ]);
        const [q] = await metrics(ws, { month: '2024-06', window: 3 });
        expect(q!.starting_mrr.value).toBe('8000');
        expect(q!.fx.value).toBe('100');
        expect(q!.ending_mrr.value).toBe('8750'); // 8000 + 700 − 50 + 100
        expect(q!.nrr).toBe(8650 / 8000);
      });
    });

    describe('PRODUCT.md bridge over one month', () => {
      // Cohort at the end of 2024-01: E 400,000 + C 300,000 + K 20,000 + S 280,000 = 1,000,000.
      // In 2024-02: E +50,000, C −15,000, K churns (20,000), S unchanged, N new (100,000, outside NRR).
      let dir: string;
      beforeAll(() => {
        dir = fixtureDir({
          'subscriptions.csv': csv(
            'account_id,line_id,product,start_date,end_date,amount,interval,discount,currency',
            'E,E-1,platform,2024-01-01,2025-01-01,4800000,year,,',
            'E,E-2,platform,2024-02-01,2025-01-01,150000,quarter,,',
            'C,C-1,platform,2024-01-01,,285000,month,,',
            'C,C-2,insights,2024-01-01,2024-02-01,16000,month,1000,',
            'K,K-1,platform,2024-01-01,2024-02-01,20000,month,,',
            'S,S-1,platform,2023-06-01,,3360000,year,,',
            'N,N-1,platform,2024-02-01,,100000,month,,',
          ),
          'accounts.csv': csv('account_id,segment', 'E,enterprise', 'C,enterprise', 'K,mid-market', 'S,enterprise', 'N,smb'),
        });
      });
      afterAll(() => removeDir(dir));

      it('NRR 101.5 %, GRR 96.5 %, the same on DuckDB', async () => {
        const q = { month: '2024-02', window: 1 } as const;
        const got = await withWs(engine, { as_of: '2024-02' }, (ws) => metrics(ws, q), dir);
        const ref = await withWs(reference, { as_of: '2024-02' }, (ws) => metrics(ws, q), dir);
        expect(got.map(plain)).toEqual(ref.map(plain));
        expect(got[0]!.starting_mrr.value).toBe('1000000');
        expect(got[0]!.nrr).toBe(1_015_000 / 1_000_000); // 1,000,000 + 50,000 − 15,000 − 20,000
        expect(got[0]!.grr).toBe(965_000 / 1_000_000);
      });
    });

    describe('docs/definitions.md: one example, three methods', () => {
      let dir: string;
      beforeAll(() => {
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
      });
      afterAll(() => removeDir(dir));

      it('snapshot 1,700 ÷ 1,700, movements 1,800 ÷ 1,700, average as DuckDB', async () => {
        const run = (e: Engine): Promise<unknown[]> =>
          withWs(e, { as_of: '2024-06' }, async (ws) => {
            const out = [];
            for (const method of ['snapshot', 'movements', 'average'] as const) out.push(...(await metrics(ws, { month: '2024-06', window: 3, method })));
            return out.map((m) => plain(m));
          }, dir);
        const got = await run(engine);
        expect(got).toEqual(await run(reference));
        expect((got[0] as { nrr: number }).nrr).toBe(1); // 1700 ÷ 1700
        expect((got[1] as { nrr: number }).nrr).toBe(1800 / 1700);
      });
    });

    describe('NULL semantics', () => {
      let driver: Driver;
      beforeAll(async () => {
        driver = name === 'duckdb' ? await DuckDbDriver.open() : await engine.connect();
      });
      afterAll(() => driver?.close());

      it('lag() is NULL on the first row of its window, lead() on the last', async () => {
        const d = driver.dialect;
        const w = 'PARTITION BY k ORDER BY v';
        const rows = await driver.query(
          `SELECT v, ${d.sqlLag('v', w)} AS prev, ${d.sqlLead('v', w)} AS next
           FROM (SELECT 1 AS k, 10 AS v UNION ALL SELECT 1 AS k, 20 AS v UNION ALL SELECT 2 AS k, 30 AS v) t ORDER BY v`,
        );
        expect(rows.map((r) => [Number(r['v']), r['prev'] === null ? null : Number(r['prev']), r['next'] === null ? null : Number(r['next'])])).toEqual([
          [10, null, 20],
          [20, 10, null],
          [30, null, null],
        ]);
      });

      it('an unmatched LEFT JOIN column is NULL, not 0 or an empty text', async () => {
        const rows = await driver.query(
          `SELECT a.k, b.v, b.t FROM (SELECT 1 AS k UNION ALL SELECT 2 AS k) a
           LEFT JOIN (SELECT 1 AS k, 5 AS v, 'x' AS t) b ON a.k = b.k ORDER BY a.k`,
        );
        expect(rows.map((r) => [Number(r['k']), r['v'] === null ? null : Number(r['v']), r['t']])).toEqual([
          [1, 5, 'x'],
          [2, null, null],
        ]);
      });
    });

    describe('money arithmetic at the limits', () => {
      let driver: Driver;
      beforeAll(async () => {
        driver = name === 'duckdb' ? await DuckDbDriver.open() : await engine.connect();
      });
      afterAll(() => driver?.close());

      /** Money ÷ n truncated at 12 places, by big.js. */
      const divided = (m: string, n: number): string => new Big(m).div(n).round(12, Big.roundDown).toString();
      /** Money × rate rounded half away from zero at 12 places. */
      const multiplied = (m: string, r: string): string => new Big(m).times(r).round(12, Big.roundHalfUp).toString();

      it.each([
        ['1', 3],
        ['-1', 3],
        ['99999999999999.999999999999', 7], // above 10^14: where DuckDB's scaling splits whole and fraction
        ['-12345678901234567890123.45', 36],
        ['0.000000000001', 2],
      ])('%s ÷ %i is truncated at 12 places, exactly', async (m, n) => {
        const d = driver.dialect;
        const [row] = await driver.query(`SELECT ${d.sqlText(d.sqlDivideMoney(`CAST('${m}' AS ${d.moneyType})`, String(n)))} AS v`);
        expect(new Big(String(row!['v'])).toString()).toBe(divided(m, n));
      });

      it.each([
        ['1000', '1.1'],
        ['0.000000000005', '0.5'], // 2.5 × 10⁻¹²: half away from zero
        ['-0.000000000005', '0.5'],
        ['12345678901234567.123456789012', '1.2345678901'], // the exact product needs 22 places and 17 whole digits
        ['99999999999999999999.999999999999', '3.0000000001'],
      ])('%s × %s is rounded at 12 places, exactly (no silent wrap)', async (m, r) => {
        const d = driver.dialect;
        const rate = `CAST('${r}' AS ${d.moneyType})`;
        const [row] = await driver.query(`SELECT ${d.sqlText(d.sqlMultiplyMoney(`CAST('${m}' AS ${d.moneyType})`, rate))} AS v`);
        expect(new Big(String(row!['v'])).toString()).toBe(multiplied(m, r));
      });

      it.each([
        [['23355.834166666660', '23355.834166666672'], '23355.834166666666'], // no floating point in between
        [['1', '2', '3', '4'], '2.5'],
        [['-0.000000000001', '-0.000000000002'], '-0.000000000001'], // −1.5 × 10⁻¹² truncated toward zero
        [['7', '1', '5'], '5'],
      ])('the median of %j is %s, exactly', async (values, expected) => {
        const d = driver.dialect;
        const rows = values.map((v) => `SELECT CAST('${v}' AS ${d.moneyType}) AS x`).join(' UNION ALL ');
        const [row] = await driver.query(`SELECT ${d.sqlText(d.sqlMedian('x'))} AS m FROM (${rows}) t`);
        expect(new Big(String(row!['m'])).toString()).toBe(new Big(expected).toString());
      });

      it('monthly totals that could overflow money are refused before the model is built', async () => {
        const dir = fixtureDir({
          'subscriptions.csv': csv('account_id,start_date,amount', 'BIG,2024-01-01,9000000000000000000000', 'X,2024-01-01,100'),
        });
        try {
          await expect(engine.open({ data: dir, policies: { as_of: '2024-02' }, today: TODAY })).rejects.toThrow(NrrError);
          await expect(engine.open({ data: dir, policies: { as_of: '2024-02' }, today: TODAY })).rejects.toThrow(/money totals would overflow/);
        } finally {
          removeDir(dir);
        }
      });
    });
  });
});
