import Big from 'big.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FIRST_ROWS, csvText, table } from '../web/src/data-table.js';
import { toCsv } from '../web/src/csv.js';
import { addDecimals, divideDecimal, ratioOf } from '../web/src/money-format.js';
import { addMonths, monthRange, monthsBetween } from '../web/src/months.js';
import { periodFigures } from '../web/src/revenue-series.js';
import type { SeriesRow } from '../web/src/api-types.js';
import { atRiskMoney, scoresNotice } from '../web/src/scores-status.js';
import { amountChange } from '../web/src/movement-totals.js';

/** The dashboard's pure helpers (web/src), run without a browser. */
const decimal = fc
  .tuple(fc.boolean(), fc.bigInt({ min: 0n, max: 10n ** 20n }), fc.integer({ min: 0, max: 12 }))
  .map(([neg, units, scale]) => {
    const s = units.toString().padStart(scale + 1, '0');
    return `${neg && units !== 0n ? '-' : ''}${scale ? `${s.slice(0, -scale)}.${s.slice(-scale)}` : s}`;
  });

describe('exact decimal arithmetic for derived figures', () => {
  it('a period’s change against the prior is the exact difference, digit for digit', () => {
    expect(amountChange('730', '50')).toBe('680');
    expect(amountChange('-80', '0')).toBe('-80');
    fc.assert(
      fc.property(decimal, decimal, (a, b) => {
        expect(new Big(amountChange(a, b)).eq(new Big(a).minus(b))).toBe(true);
      }),
    );
  });

  it('adds like big.js, digit for digit', () => {
    fc.assert(
      fc.property(fc.array(decimal, { maxLength: 12 }), (xs) => {
        expect(new Big(addDecimals(xs)).eq(xs.reduce((s, x) => s.plus(x), new Big(0)))).toBe(true);
      }),
    );
    expect(addDecimals(['0.1', '0.2'])).toBe('0.3'); // 0.30000000000000004 in floats
    expect(addDecimals([])).toBe('0');
    expect(addDecimals(['-1.5', '1.25'])).toBe('-0.25');
  });

  it('divides to the cent half away from zero, like big.js ROUND_HALF_UP', () => {
    fc.assert(
      fc.property(decimal, fc.integer({ min: 1, max: 100_000 }), fc.boolean(), (x, n, neg) => {
        const d = neg ? -n : n;
        expect(divideDecimal(x, d, 2)).toBe(new Big(x).div(d).round(2, Big.roundHalfUp).toFixed(2));
      }),
    );
    // ARPA: $10 over 3 customers = $3.33; $1,000.005 over 1 = $1,000.01 (a float says 1000.00).
    expect(divideDecimal('10', 3)).toBe('3.33');
    expect(divideDecimal('1000.005', 1)).toBe('1000.01');
    expect(() => divideDecimal('1', 0)).toThrow(/non-zero/);
  });

  it('takes ratios from exact amounts (null over zero)', () => {
    fc.assert(
      fc.property(decimal, decimal, (a, b) => {
        const r = ratioOf(a, b);
        if (new Big(b).eq(0)) {
          expect(r).toBeNull();
        } else {
          const want = new Big(a).div(b).toNumber();
          expect(Math.abs(r! - want)).toBeLessThanOrEqual(Math.max(1e-9, Math.abs(want) * 1e-9));
        }
      }),
    );
    expect(ratioOf('45', '35')).toBeCloseTo(9 / 7, 12);
  });
});

describe('period figures from the company series', () => {
  const row = (month: string, mrr: string, customers: number, m: Partial<Record<'new' | 'expansion' | 'reactivation' | 'contraction' | 'churn' | 'net_new', string>>): SeriesRow => ({
    month, mrr, arr: new Big(mrr).times(12).toString(), customers,
    new: m.new ?? '0', expansion: m.expansion ?? '0', reactivation: m.reactivation ?? '0', contraction: m.contraction ?? '0', churn: m.churn ?? '0', net_new: m.net_new ?? '0',
  });
  const rows = [
    row('2026-01', '100', 2, { new: '100', net_new: '100' }),
    row('2026-02', '130', 3, { new: '20', expansion: '15', contraction: '5', net_new: '30' }),
    row('2026-03', '110', 2, { reactivation: '10', churn: '30', net_new: '-20' }),
  ];

  it('sums a range and derives ARPA and quick ratio (hand-worked)', () => {
    const f = periodFigures(rows, '2026-02', '2026-03')!;
    // End of March: MRR 110, ARR 1,320, 2 customers → ARPA 55.00.
    expect([f.mrr, f.arr, f.customers, f.arpa, f.months]).toEqual(['110', '1320', 2, '55.00', 2]);
    // Feb + Mar: new 20, expansion 15, reactivation 10, contraction 5, churn 30, net new 30 − 20 = 10.
    expect([f.new, f.expansion, f.reactivation, f.contraction, f.churn, f.net_new]).toEqual(['20', '15', '10', '5', '30', '10']);
    // Quick ratio: (20 + 15 + 10) ÷ (5 + 30) = 45 / 35 = 1.2857…
    expect(f.quick_ratio).toBeCloseTo(45 / 35, 12);
  });

  it('says no quick ratio without losses, and nothing outside the series', () => {
    expect(periodFigures(rows, '2026-01', '2026-01')!.quick_ratio).toBeNull();
    expect(periodFigures(rows, '2025-01', '2025-06')).toBeNull();
  });
});

describe('CSV and months', () => {
  it('quotes what needs quoting and keeps the text as given', () => {
    expect(toCsv(['account', 'amount'], [['A,1', '1234567.123456789012'], ['say "hi"', '-0.5']])).toBe(
      'account,amount\r\n"A,1",1234567.123456789012\r\n"say ""hi""",-0.5\r\n',
    );
  });
  it('counts months across years', () => {
    expect(addMonths('2025-11', 3)).toBe('2026-02');
    expect(addMonths('2026-01', -1)).toBe('2025-12');
    expect(monthRange('2025-11', '2026-02')).toEqual(['2025-11', '2025-12', '2026-01', '2026-02']);
    expect(monthRange('2026-02', '2026-01')).toEqual([]);
    expect(monthsBetween('2024-12', '2026-02')).toBe(14);
  });
});

describe('a long table', () => {
  it('draws its first rows and a "Show all" button, and its CSV still has every row', async () => {
    const rows = Array.from({ length: FIRST_ROWS + 7 }, (_, i) => ({ id: `A${i}`, mrr: `${i}.10` }));
    const html = table({ id: 't', csvName: 't', rows, shown: FIRST_ROWS, columns: [{ label: 'id', html: (r) => r.id, csv: (r) => r.id }, { label: 'mrr', html: (r) => r.mrr, csv: (r) => r.mrr }] });
    expect(html.match(/<tr>/g)!.length - 1).toBe(FIRST_ROWS); // less the header row
    expect(html).toContain(`data-rows="${rows.length}"`);
    expect(html).toContain(`data-show-all="t"`);
    expect(html).toContain(`<td class="">A${FIRST_ROWS - 1}</td>`);
    expect(html).not.toContain(`<td class="">A${FIRST_ROWS}</td>`);
    const csv = (await csvText('t'))!.trim().split(/\r?\n/);
    expect(csv.length).toBe(rows.length + 1);
    expect(csv.at(-1)).toBe(`A${rows.length - 1},${rows.length - 1}.10`);
    // A short one has no button.
    expect(table({ id: 's', csvName: 's', rows: rows.slice(0, 3), shown: FIRST_ROWS, columns: [{ label: 'id', html: (r) => r.id }] })).not.toContain('data-show-all');
  });
});

describe('at-risk figures while every account is being scored', () => {
  it('say "scoring…" and the server’s note, never $0.00, until the scores are ready', () => {
    const computing = { status: 'computing' as const, note: 'every account is being scored: risk, health and at-risk ARR follow when it is done' };
    const ready = { status: 'ready' as const, note: null };
    expect(atRiskMoney(computing, '0')).toBe('<span class="muted" data-not-known>scoring…</span>');
    expect(atRiskMoney(computing, '0', true)).not.toMatch(/\$|0\.00/);
    expect(scoresNotice(computing)).toContain('Not known yet: every account is being scored: risk, health and at-risk ARR follow when it is done.');
    expect(scoresNotice(ready)).toBe('');
    expect(scoresNotice(undefined)).toBe('');
  });
});
