import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { wilson } from '../src/forecast/forecast-backtest.js';
import { moneyWeightedSizes } from '../src/forecast/forecast-model.js';
import { applyPlatt, fitHazard, fitPlatt, predictRow, solveSpd } from '../src/forecast/hazard-model.js';
import { column, quantile, simulateRevenue, type SimAccount } from '../src/forecast/simulate-revenue.js';

/** Rows of (x, class) repeated as given: [x, class, count]. */
function data(cells: readonly [number, number, number][]) {
  const rows = cells.flatMap(([x, y, n]) => Array.from({ length: n }, () => [x, y] as const));
  return {
    x: Float64Array.from(rows.flatMap(([x]) => [1, x])),
    y: Uint8Array.from(rows.map(([, y]) => y)),
    w: new Float64Array(rows.length).fill(1),
    width: 2,
  };
}

describe('the hazard model (multinomial logistic regression)', () => {
  it('matches a hand-worked example: with one binary input and no penalty the fit reproduces each group’s class shares', () => {
    // x = 0: 6 none, 2 churn, 1 contraction, 1 expansion. x = 1: 4 none, 4 churn, 1 contraction, 1 expansion.
    // Saturated model, so the MLE gives the observed shares:
    //   intercepts: churn ln(2/6) = −1.0986, contraction ln(1/6) = −1.7918, expansion ln(1/6) = −1.7918
    //   slopes:     churn ln(4/4) − ln(2/6) = 1.0986, contraction ln(1/4) − ln(1/6) = 0.4055, expansion 0.4055
    const d = data([[0, 0, 6], [0, 1, 2], [0, 2, 1], [0, 3, 1], [1, 0, 4], [1, 1, 4], [1, 2, 1], [1, 3, 1]]);
    const m = fitHazard(d, { lambda: 1e-9 });
    expect(m.converged).toBe(true);
    const expected = [[-1.0986, 1.0986], [-1.7918, 0.4055], [-1.7918, 0.4055]];
    m.coef.forEach((c, k) => {
      expect(c[0]).toBeCloseTo(expected[k]![0]!, 3);
      expect(c[1]).toBeCloseTo(expected[k]![1]!, 3);
    });
    // Probabilities at x = 1: none 0.4, churn 0.4, contraction 0.1, expansion 0.1.
    const p = predictRow(m, [1, 1]);
    expect(p[0]).toBeCloseTo(0.4, 4);
    expect(p[1]).toBeCloseTo(0.4, 4);
    expect(p[2]).toBeCloseTo(0.1, 4);
  });

  it('the penalty pulls slopes towards zero but never the intercept', () => {
    const d = data([[0, 0, 6], [0, 1, 2], [0, 2, 1], [0, 3, 1], [1, 0, 4], [1, 1, 4], [1, 2, 1], [1, 3, 1]]);
    const loose = fitHazard(d, { lambda: 1e-9 });
    const tight = fitHazard(d, { lambda: 1e6 });
    expect(Math.abs(tight.coef[0]![1]!)).toBeLessThan(0.001);
    expect(Math.abs(tight.coef[0]![1]!)).toBeLessThan(Math.abs(loose.coef[0]![1]!));
    // With the slope gone, the intercept gives the pooled share: churn 6 of 20 against none 10 → ln(0.6).
    expect(tight.coef[0]![0]).toBeCloseTo(Math.log(6 / 10), 2);
  });

  it('probabilities are positive and add up to 1, whatever the coefficients', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -30, max: 30, noNaN: true }), { minLength: 6, maxLength: 6 }), fc.double({ min: -5, max: 5, noNaN: true }), (c, x) => {
        const p = predictRow({ coef: [Float64Array.from(c.slice(0, 2)), Float64Array.from(c.slice(2, 4)), Float64Array.from(c.slice(4, 6))], iterations: 0, converged: true }, [1, x]);
        expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
        for (const v of p) expect(v).toBeGreaterThanOrEqual(0);
      }),
    );
  });

  it('solves a small positive definite system (worked: [[4,2],[2,3]] x = [2,1] → x = [0.5, 0])', () => {
    const x = solveSpd(Float64Array.from([4, 2, 2, 3]), Float64Array.from([2, 1]), 2);
    expect(x[0]).toBeCloseTo(0.5, 12);
    expect(x[1]).toBeCloseTo(0, 12);
  });

  it('Platt scaling leaves calibrated probabilities alone and corrects over-confident ones', () => {
    // Probabilities 0.1 and 0.3, each right on average (10 rows each: 1 and 3 events).
    const p = [...Array(10).fill(0.1), ...Array(10).fill(0.3)];
    const y = [true, ...Array(9).fill(false), true, true, true, ...Array(7).fill(false)];
    const c = fitPlatt(p, y, p.map(() => 1));
    expect(applyPlatt(c, 0.1)).toBeCloseTo(0.1, 2);
    expect(applyPlatt(c, 0.3)).toBeCloseTo(0.3, 2);
    // The same events said with 0.01 and 0.6: the calibrated values come back to 0.1 and 0.3.
    const over = fitPlatt(p.map((v) => (v === 0.1 ? 0.01 : 0.6)), y, p.map(() => 1));
    expect(applyPlatt(over, 0.01)).toBeCloseTo(0.1, 2);
    expect(applyPlatt(over, 0.6)).toBeCloseTo(0.3, 2);
  });
});

const account = (start: number, committed: number, probs: number[], group = -1): SimAccount => ({ start, committed, group, sizeGroup: 0, probs: Float64Array.from(probs) });
const sizes = [{ contraction: [0.2, 0.5], expansion: [0.1, 0.3] }];

describe('the simulation', () => {
  it('equals the committed layer when every probability is zero, in every simulated period', () => {
    // Start 100 + 200 = 300; committed +50 on the first, −200 (the whole) on the second → end 150, NRR 0.5.
    const t = simulateRevenue({ accounts: [account(100, 50, [0, 0, 0, 0, 0, 0]), account(200, -200, [0, 0, 0, 0, 0, 0])], steps: 2, sizes, shock: [0.3, 0.3, 0.3], groups: 0, simulations: 50, seed: 7 });
    for (const v of column(t.end, 0, 0)) expect(v).toBe(150);
    // GRR: min(150, 100) + min(0, 200) = 100 of 300.
    for (const v of column(t.retained, 0, 0)) expect(v).toBe(100);
    expect(quantile(column(t.end, 0, 0), 0.5) / t.start[0]!).toBe(0.5);
  });

  it('a certain churn ends every simulated period at zero', () => {
    const t = simulateRevenue({ accounts: [account(100, 0, [1, 0, 0])], steps: 1, sizes, shock: [0, 0, 0], groups: 0, simulations: 20, seed: 1 });
    expect([...t.end]).toEqual(Array(20).fill(0));
    expect([...t.churn]).toEqual(Array(20).fill(100));
  });

  it('draws events at their probabilities month by month (worked: churn 10 %, contraction 20 % a month over 3 months)', () => {
    // P(churn by month 3) = 1 − 0.9³ = 0.271 (a contraction does not stop a later churn); P(no event at all) = 0.7³ = 0.343.
    const n = 20_000;
    const t = simulateRevenue({ accounts: [account(100, 0, [0.1, 0.2, 0, 0.1, 0.2, 0, 0.1, 0.2, 0])], steps: 3, sizes: [{ contraction: [0.5], expansion: [] }], shock: [0, 0, 0], groups: 0, simulations: n, seed: 11 });
    const ends = [...column(t.end, 0, 0)];
    const se = (p: number): number => Math.sqrt((p * (1 - p)) / n);
    expect(Math.abs(ends.filter((v) => v === 0).length / n - 0.271)).toBeLessThan(4 * se(0.271));
    expect(Math.abs(ends.filter((v) => v === 100).length / n - 0.343)).toBeLessThan(4 * se(0.343));
    // Two contractions and no churn: 3 orders × 0.2² × 0.7 = 0.084.
    expect(Math.abs(ends.filter((v) => v === 25).length / n - 0.084)).toBeLessThan(4 * se(0.084));
  });

  it('the same seed gives the same numbers; another seed other numbers', () => {
    const input = { accounts: [account(100, 0, [0.1, 0.2, 0.3, 0.1, 0.2, 0.3]), account(50, 0, [0.05, 0.1, 0.4, 0.05, 0.1, 0.4])], steps: 2, sizes, shock: [0.2, 0.2, 0.2] as [number, number, number], groups: 0, simulations: 200 };
    const a = simulateRevenue({ ...input, seed: 3 });
    const b = simulateRevenue({ ...input, seed: 3 });
    const c = simulateRevenue({ ...input, seed: 4 });
    expect([...a.end]).toEqual([...b.end]);
    expect([...a.end]).not.toEqual([...c.end]);
  });

  it('start + expansion − contraction − churn = end in every simulated period and group (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ start: fc.integer({ min: 1, max: 10_000 }), p: fc.array(fc.double({ min: 0, max: 0.3, noNaN: true }), { minLength: 6, maxLength: 6 }), g: fc.integer({ min: 0, max: 1 }) }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 1000 }),
        (list, seed) => {
          const t = simulateRevenue({ accounts: list.map((a) => account(a.start, 0, a.p, a.g)), steps: 2, sizes, shock: [0.1, 0.1, 0.1], groups: 2, simulations: 10, seed });
          for (let s = 0; s < 10; s++) {
            for (let g = 0; g < 3; g++) {
              const at = s * 3 + g;
              expect(t.start[g]! + t.expansion[at]! - t.contraction[at]! - t.churn[at]!).toBeCloseTo(t.end[at]!, 6);
              expect(t.retained[at]!).toBeLessThanOrEqual(t.start[g]! + 1e-9);
            }
            // Groups add up to the company.
            expect(t.end[s * 3 + 1]! + t.end[s * 3 + 2]!).toBeCloseTo(t.end[s * 3]!, 6);
          }
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('the size model', () => {
  it('draws fractions in proportion to the MRR they moved from', () => {
    // 100 of MRR moved by 10 %, 300 by 50 %: of 200 draws, 50 are 0.1 and 150 are 0.5; the mean
    // (100 × 0.1 + 300 × 0.5) ÷ 400 = 0.4 is the money-weighted fraction.
    const draws = moneyWeightedSizes([{ mrr: 100, fraction: 0.1 }, { mrr: 300, fraction: 0.5 }]);
    expect(draws.length).toBe(200);
    expect(draws.filter((x) => x === 0.1).length).toBe(50);
    expect(draws.reduce((a, b) => a + b, 0) / draws.length).toBeCloseTo(0.4, 12);
  });
});

describe('the coverage interval of the backtest', () => {
  it('is the 95 % Wilson interval (worked: 22 of 24 → 0.7415–0.9768) and always holds the share itself', () => {
    // centre = (p + z²/2n) ÷ (1 + z²/n) = (0.91667 + 0.08003) ÷ 1.16006 = 0.85918;
    // half = z ÷ 1.16006 × √(p(1 − p)/n + z²/4n²) = 1.68953 × √(0.0031829 + 0.0016673) = 0.11767.
    const [lo, hi] = wilson(22, 24)!;
    expect(lo).toBeCloseTo(0.7415, 4);
    expect(hi).toBeCloseTo(0.9768, 4);
    expect(wilson(0, 0)).toBeNull();
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 500 }), fc.double({ min: 0, max: 1, noNaN: true }), (n, f) => {
        const k = Math.round(f * n);
        const [a, b] = wilson(k, n)!;
        expect(a).toBeGreaterThanOrEqual(0);
        expect(b).toBeLessThanOrEqual(1);
        expect(a).toBeLessThanOrEqual(k / n + 1e-12);
        expect(b).toBeGreaterThanOrEqual(k / n - 1e-12);
      }),
    );
  });
});
