import Big from 'big.js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbDriver } from '../src/drivers/duckdb-driver.js';
import { Workspace, mrrLedger } from '../src/index.js';
import { Money, stringifyJson, stringifyJsonList } from '../src/money.js';
import { fixtureDir, removeDir } from './helpers/fixture-dir.js';

/**
 * Money is divided and converted on two paths: whole units of 10⁻¹² in 64 bits when the value fits
 * (amounts of 12 digits before the point and 6 after, MRR under 900,000), 128-bit decimals
 * otherwise. Both must give the quotient truncated, and the product rounded, at the 12th decimal.
 */

const B = Big();
B.DP = 12;
B.RM = B.roundDown;

/** The expected MRR: amount ÷ months, truncated at the 12th decimal. */
const truncated = (amount: string, months: number): string => new B(amount).div(months).toFixed(12);

describe('dividing money by the interval', () => {
  let driver: DuckDbDriver;
  beforeAll(async () => {
    driver = await DuckDbDriver.open();
  });
  afterAll(() => driver.close());

  it('the 64-bit lane and the 128-bit decimals agree with exact division, to the 12th decimal', async () => {
    const d = driver.dialect;
    // Millionths of any size that fits, and of amounts up to a few million (most inside the lane).
    const micros = fc.oneof(
      fc.bigInt({ min: -999_999_999_999_999_999n, max: 999_999_999_999_999_999n }),
      fc.bigInt({ min: -5_000_000_000_000n, max: 5_000_000_000_000n }),
    );
    const amountArb = fc.tuple(micros, fc.integer({ min: 1, max: 999 }));
    await fc.assert(
      fc.asyncProperty(fc.array(amountArb, { minLength: 1, maxLength: 50 }), async (cases) => {
        const values = cases.map(([m, n]) => `(${m}::BIGINT, ${n})`).join(', ');
        const rows = await driver.query(
          `SELECT m, n, CAST(${d.sqlDividePicos('m', 'n')} AS VARCHAR) AS picos,
                  CAST(${d.sqlDivideMoney(`CAST(CAST(m AS DECIMAL(32,0)) * 0.000001::DECIMAL(7,6) AS ${d.moneyType})`, 'n')} AS VARCHAR) AS slow
           FROM (VALUES ${values}) t(m, n)`,
        );
        for (const r of rows) {
          const amount = new Big(String(r['m'])).div(1_000_000).toFixed(6);
          const want = truncated(amount, Number(r['n']));
          expect(new B(String(r['slow'])).toFixed(12), `${amount} ÷ ${r['n']} (decimals)`).toBe(want);
          // The lane declines only what reaches 900,000.
          if (new Big(want).abs().gte(900_000)) expect(r['picos'], `${amount} ÷ ${r['n']} (64-bit)`).toBeNull();
          else expect(new Big(String(r['picos'])).div(1e12).toFixed(12), `${amount} ÷ ${r['n']} (64-bit)`).toBe(want);
        }
      }),
      { numRuns: 30 },
    );
  });

  it('the 64-bit lane multiplies by a rate exactly as the decimals do, rounding half up', async () => {
    const d = driver.dialect;
    const H = Big();
    H.DP = 12;
    H.RM = H.roundHalfUp;
    // Values to 900,000.00 in units of 10⁻¹²; rates with up to 10 decimals, small and large.
    const picosArb = fc.oneof(
      fc.bigInt({ min: 0n, max: 899_999_999_999_999_999n }),
      fc.constantFrom(0n, 1n, 4_999_999_999n, 5_000_000_000n, 899_999_999_999_999_999n),
    );
    const rateArb = fc.oneof(
      fc.bigInt({ min: 1n, max: 30_000_000_000n }),
      fc.bigInt({ min: 1n, max: 8_999_999_999_999_999_999n }),
      fc.constantFrom(1n, 5_000_000_000n, 10_000_000_000n, 1_500_000_000_000n),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(picosArb, rateArb), { minLength: 1, maxLength: 50 }), async (cases) => {
        const values = cases.map(([p, r]) => `(${p}::BIGINT, ${r}::HUGEINT)`).join(', ');
        const rows = await driver.query(
          `WITH t AS (SELECT p, CAST(CAST(r AS DECIMAL(38,0)) * 0.0000000001::DECIMAL(11,10) AS DECIMAL(24,10)) AS rate FROM (VALUES ${values}) v(p, r))
           SELECT p, CAST(rate AS VARCHAR) AS rate,
                  CAST(${d.sqlPicosToMoney(d.sqlMultiplyPicos('p', d.sqlRateE10('rate')))} AS VARCHAR) AS fast,
                  CAST(${d.sqlMultiplyMoney(d.sqlPicosToMoney('p'), 'rate')} AS VARCHAR) AS slow
           FROM t`,
        );
        for (const r of rows) {
          const exact = new H(String(r['p'])).div(1e12).times(String(r['rate']));
          const label = `${String(r['p'])}e-12 × ${String(r['rate'])}`;
          expect(new Big(String(r['slow'])).toFixed(12), label).toBe(exact.round(12, H.roundHalfUp).toFixed(12));
          // The lane declines only values whose product with the rate's whole part + 1 reaches 900,000.
          const bound = new Big(String(r['p'])).times(new Big(String(r['rate'])).round(0, Big.roundDown).plus(1));
          if (r['fast'] === null) expect(bound.gte(9e17), label).toBe(true);
          else expect(new Big(String(r['fast'])).toFixed(12), label).toBe(new Big(String(r['slow'])).toFixed(12));
        }
      }),
      { numRuns: 40 },
    );
  });

  it('reads millionths only from plain decimals that fit', async () => {
    const d = driver.dialect;
    const cases: Array<[string, string | null]> = [
      ['1200.5', '1200500000'],
      [' 0.000001 ', '1'],
      ['+7', '7000000'],
      ['-12.345678', '-12345678'],
      ['999999999999.999999', '999999999999999999'],
      ['1.0000001', null], // 7 decimals: the decimal path
      ['1000000000000', null], // 13 digits: the decimal path
      ['1e3', null],
      ['1,200', null],
      ['', null],
    ];
    for (const [text, want] of cases) {
      const [r] = await driver.query(`SELECT CAST(${d.sqlTryMicros(d.quoteString(text))} AS VARCHAR) AS m`);
      expect(r!['m'], `'${text}'`).toBe(want);
    }
  });

  it('a workspace gives the same MRR whichever path an amount takes', async () => {
    // Q1 and Q2 are the same 100.1234567 a quarter: Q2's 7th decimal sends it down the decimal
    // path, Q1 (100.123456) the millionths path. B has 13 digits before the point; M's MRR is over a
    // million.
    const dir = fixtureDir({
      'subscriptions.csv': [
        ['account_id', 'line_id', 'start_date', 'amount', 'interval', 'discount'],
        ['Q1', 'q1', '2024-01-01', '100.123456', 'quarter', '0.000001'],
        ['Q2', 'q2', '2024-01-01', '100.1234567', 'quarter', '0.0000007'],
        ['B', 'b', '2024-01-01', '1000000000000.01', '7 months', ''],
        ['M', 'm', '2024-01-01', '36000000.5', 'quarter', ''],
      ],
    });
    try {
      const ws = await Workspace.open({ data: dir, policies: { as_of: '2024-01' } });
      try {
        const mrr = new Map((await mrrLedger(ws)).map((r) => [r.account_id, r.mrr.value]));
        expect(new B(mrr.get('Q1')!).toFixed(12)).toBe(truncated('100.123455', 3)); // 33.374485000000
        expect(new B(mrr.get('Q2')!).toFixed(12)).toBe(truncated('100.123456', 3));
        expect(new B(mrr.get('B')!).toFixed(12)).toBe(truncated('1000000000000.01', 7)); // 142857142857.144285714285
        expect(new B(mrr.get('M')!).toFixed(12)).toBe(truncated('36000000.5', 3)); // above a million a month, on the millionths path
      } finally {
        ws.close();
      }
    } finally {
      removeDir(dir);
    }
  });
});

describe('stringifyJsonList', () => {
  it('gives the text of stringifyJson, in pieces, for any list (money, nested values, empty lists)', () => {
    const value = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.integer({ min: -1_000_000, max: 1_000_000 }).map((c) => Money.from((c / 100).toFixed(2))),
      fc.array(fc.integer(), { maxLength: 3 }),
    );
    fc.assert(
      fc.property(fc.array(fc.dictionary(fc.string({ maxLength: 6 }), value, { maxKeys: 4 }), { maxLength: 30 }), fc.integer({ min: 0, max: 4 }), fc.integer({ min: 1, max: 200 }), (list, indent, piece) => {
        const pieces = [...stringifyJsonList(list, indent, piece)];
        expect(pieces.join('')).toBe(stringifyJson(list, indent));
        // Pieces stay near the size asked (a piece ends after the item that reached it).
        expect(pieces.slice(0, -1).every((p) => p.length >= piece)).toBe(true);
      }),
    );
  });
});
