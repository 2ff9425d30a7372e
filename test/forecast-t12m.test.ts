import { describe, expect, it } from 'vitest';
import { monthIndex } from '../src/engine/months.js';
import { forecastFrom, type ForecastInput } from '../src/forecast/forecast.js';
import type { Predictor } from '../src/forecast/forecast-model.js';
import type { ForecastRow } from '../src/forecast/hazard-features.js';
import { Money } from '../src/money.js';

const M = monthIndex('2026-06');

const row = (id: string, mrr: string): ForecastRow => ({
  month: M,
  account_id: id,
  mrr_text: mrr,
  mrr: Number(mrr),
  group: null,
  raw: {},
  sources: new Set(),
  next: null,
  next_fraction: null,
});

/** A predictor that says the same monthly [churn, contraction, expansion] probabilities for every account. */
function constant(p: [number, number, number]): Predictor {
  return {
    method: 'hazard_model',
    probabilities: () => p,
    reasons: () => [],
    expansionReasons: () => [],
    shock: [0, 0, 0],
    spread_scale: 1,
    sizes: [{ group: 'all', contraction: [0.5], expansion: [0.5] }],
    sizeGroup: () => 0,
    training: { months: 24, rows: 1000, churn: 50, contraction: 50, expansion: 50 },
    calibration: { method: 'none', months: 0, rows: 0 },
    notes: [],
  };
}

// Accounts at T: A 100, B 200, C 50 (new since the cohort month). D had MRR at the cohort month and
// left before T. MRR at the cohort month (T + 3 − 12): A 80, B 250, D 120; C none.
// Committed to T + 3: A +20, B −50, C +10.
const input = (p: [number, number, number]): ForecastInput => ({
  month: M,
  horizonDays: 90,
  current: [row('A', '100'), row('B', '200'), row('C', '50')],
  predictor: constant(p),
  committed: new Map([['A', Money.from('20')], ['B', Money.from('-50')], ['C', Money.from('10')]]),
  byValues: { attribute: 'segment', values: new Map([['A', 'x'], ['B', 'y'], ['C', 'x'], ['D', 'y']]) },
  seed: 1,
  simulations: 200,
  committedLines: 'all',
  t12mStart: new Map([['A', Money.from('80')], ['B', Money.from('250')], ['D', Money.from('120')]]),
});

describe('the T12M NRR reported at T + h', () => {
  it('equals the committed layer when every probability is zero (hand-worked)', () => {
    const f = forecastFrom(input([0, 0, 0]));
    const t = f.t12m!;
    expect(t.reported_at).toBe('2026-09-30');
    expect(t.cohort_from).toBe('2025-09-30');
    // Cohort: A, B, D with 80 + 250 + 120 = 450 at 2025-09; D left before T (0 at T + h).
    expect(t.account_count).toBe(3);
    expect(t.accounts_at_as_of).toBe(2);
    expect(t.starting_mrr.toString()).toBe('450');
    expect(t.mrr_at_as_of.toString()).toBe('300');
    // Numerator: A 100 + 20 = 120, B 200 − 50 = 150 → 270 ÷ 450 = 0.6, in every simulated period.
    expect(t.committed_nrr).toBeCloseTo(0.6, 12);
    expect(t.nrr.p10).toBeCloseTo(0.6, 12);
    expect(t.nrr.p50).toBeCloseTo(0.6, 12);
    expect(t.nrr.p90).toBeCloseTo(0.6, 12);
    // Forward NRR of today's customers differs: (120 + 150 + 60) ÷ 350.
    expect(f.nrr.p50).toBeCloseTo(330 / 350, 12);
    // By segment: x = A (and C, outside the cohort): 120 ÷ 80 = 1.5; y = B and D: 150 ÷ 370.
    const groups = Object.fromEntries(f.by!.groups.map((g) => [g.group, g.t12m!]));
    expect(groups['x']!.nrr.p50).toBeCloseTo(1.5, 12);
    expect(groups['x']!.account_count).toBe(1);
    expect(groups['y']!.nrr.p50).toBeCloseTo(150 / 370, 12);
    expect(groups['y']!.accounts_at_as_of).toBe(1);
  });

  it('with churn and contraction only, no simulated T12M NRR lies above the committed one', () => {
    const f = forecastFrom(input([0.1, 0.2, 0]));
    const t = f.t12m!;
    expect(t.nrr.p90!).toBeLessThanOrEqual(t.committed_nrr! + 1e-12);
    expect(t.nrr.p10!).toBeLessThan(t.committed_nrr!);
    expect(t.nrr.p10!).toBeLessThanOrEqual(t.nrr.p50!);
    expect(t.nrr.p50!).toBeLessThanOrEqual(t.nrr.p90!);
  });

  it('is absent when no cohort is given', () => {
    expect(forecastFrom({ ...input([0, 0, 0]), t12mStart: undefined }).t12m).toBeUndefined();
  });
});
