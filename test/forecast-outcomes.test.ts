import { describe, expect, it } from 'vitest';
import { Random } from '../src/generate/random.js';
import { simulateOutcomes, simulateRevenue, sumOutcomes, type SimAccount, type SimTotals } from '../src/forecast/simulate-revenue.js';

/** 1,000 accounts (not a multiple of 32: the last word of each period is partly used) with varied odds and sizes. */
function company(n: number): SimAccount[] {
  const rng = new Random(5, 3);
  return Array.from({ length: n }, (_, i) => {
    const probs = new Float64Array(9);
    for (let k = 0; k < 9; k++) probs[k] = rng.uniform() * 0.15;
    return { start: Math.round(rng.uniform() * 5000) / 100, committed: i % 7 === 0 ? -10 : 0, group: -1, sizeGroup: i % 2, probs };
  });
}
const sizes = [
  { contraction: [0.1, 0.25, 1.5], expansion: [0.2, 0.05] },
  { contraction: [0.3], expansion: [0.5, 1] },
];
const base = { steps: 3, sizes, shock: [0.2, 0.1, 0.3] as const, simulations: 120, seed: 9 };
const col = (t: SimTotals, G: number, g: number, k: keyof SimTotals): number[] => [...t[k]].filter((_, j) => k === 'start' || j % G === g);

describe("a simulation's outcomes, summed over some accounts", () => {
  it("give a subset's totals exactly as its group's in a run by groups, and the company's as simulateRevenue does", () => {
    const accounts = company(1000);
    const outcomes = simulateOutcomes({ ...base, accounts });
    // Every third account, counted alone, and as group 0 of a run by groups (the rest group 1).
    const inA = (i: number): boolean => i % 3 === 0;
    const filtered = sumOutcomes(outcomes, accounts.map((a, i) => ({ ...a, counted: inA(i) })), 0);
    const grouped = sumOutcomes(outcomes, accounts.map((a, i) => ({ ...a, group: inA(i) ? 0 : 1 })), 2);
    for (const k of ['end', 'retained', 'expansion', 'contraction', 'churn', 't12mEnd'] as const) expect(col(filtered, 1, 0, k)).toEqual(col(grouped, 3, 1, k));
    expect(filtered.start[0]).toBe(grouped.start[1]);
    // Simulated and summed a block of periods at a time (simulateRevenue: 120 periods are 3 blocks),
    // the totals are the same to the last digit; each period's movements add up: end − start = expansion − contraction − churn.
    const whole = simulateRevenue({ ...base, accounts, groups: 0 });
    const once = sumOutcomes(outcomes, accounts, 0);
    for (const k of ['end', 'retained', 'expansion', 'contraction', 'churn', 't12mEnd'] as const) expect([...once[k]]).toEqual([...whole[k]]);
    whole.end.forEach((end, s) => expect(end - whole.start[0]!).toBeCloseTo(whole.expansion[s]! - whole.contraction[s]! - whole.churn[s]!, 6));
    // Some accounts moved and most did not, in every period (the sparse form is exercised both ways).
    const moved = outcomes.offsets[1]! - outcomes.offsets[0]!;
    expect(moved).toBeGreaterThan(0);
    expect(moved).toBeLessThan(1000);
  });

  it('an account that moves never ends at its start plus committed; one with no odds always does', () => {
    const still: SimAccount = { start: 100, committed: 25.5, group: -1, sizeGroup: 0, probs: new Float64Array(9) };
    const churns: SimAccount = { start: 40, committed: 0, group: -1, sizeGroup: 0, probs: Float64Array.from([1, 0, 0, 0, 0, 0, 0, 0, 0]) };
    const o = simulateOutcomes({ ...base, shock: [0, 0, 0], accounts: [still, churns] });
    expect([...o.first]).toEqual([125.5, 40]);
    // Only the churned account is kept, at 0, in each of the 120 periods.
    expect(o.mrr.length).toBe(120);
    expect([...new Set(o.mrr)]).toEqual([0]);
    const t = sumOutcomes(o, [still, churns], 0);
    expect([...new Set(t.end)]).toEqual([125.5]);
    expect([...new Set(t.churn)]).toEqual([40]);
    expect([...new Set(t.expansion)]).toEqual([25.5]);
  });
});
