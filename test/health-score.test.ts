import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/config/config-file.js';
import { DEFAULT_TIERS, tierOf } from '../src/accounts/tiering.js';
import { churnRisk, expansionReadiness, type ScoreInputs } from '../src/accounts/risk-scores.js';
import { lift, rocAuc } from '../src/accounts/predictive-power.js';
import { DEFAULT_HEALTH, resolveHealthConfig, type HealthConfig } from '../src/health/health-config.js';
import { bandPoints, colourOf, compareHealth, scoreHealth } from '../src/health/health-score.js';

const config = (over: Partial<HealthConfig> = {}): HealthConfig => ({ ...resolveHealthConfig(undefined), ...over });

describe('bands: all points at healthy or beyond, none at at_risk or beyond, linear between', () => {
  const higherIsBetter = { healthy: 0.7, at_risk: 0.3, weight: 20, group: 'g' };
  const lowerIsBetter = { healthy: 30, at_risk: 120, weight: 10, group: 'g' };
  it.each([
    [0.9, 20, 'healthy'],
    [0.7, 20, 'healthy'],
    [0.5, 10, 'between'], // (0.5 − 0.3) ÷ 0.4 = 0.5 of 20
    [0.4, 5, 'between'], // 0.25 of 20
    [0.3, 0, 'at_risk'],
    [0.1, 0, 'at_risk'],
  ])('higher is better: %s → %s points (%s)', (value, points, band) => {
    const r = bandPoints(value, higherIsBetter);
    expect(r.points).toBeCloseTo(points, 10);
    expect(r.band).toBe(band);
  });
  it.each([
    [10, 10, 'healthy'],
    [30, 10, 'healthy'],
    [75, 5, 'between'], // (75 − 120) ÷ (30 − 120) = 0.5 of 10
    [102, 2, 'between'], // 18 ÷ 90 = 0.2 of 10
    [120, 0, 'at_risk'],
    [400, 0, 'at_risk'],
  ])('lower is better: %s days → %s points (%s)', (value, points, band) => {
    const r = bandPoints(value, lowerIsBetter);
    expect(r.points).toBeCloseTo(points, 10);
    expect(r.band).toBe(band);
  });
});

describe('the default health definition, measure by measure', () => {
  // Each value and its hand-computed points under DEFAULT_HEALTH.
  const record = {
    usage_trend_90d: -0.15, // half-way from 0 to −0.3 → 12.5 of 25
    seat_utilisation: 0.525, // (0.525 − 0.35) ÷ 0.35 = 0.5 → 7.5 of 15
    feature_breadth: 1, // ≥ 0.67 → 5 of 5
    qbr_completion_12m: 0.65, // (0.65 − 0.4) ÷ 0.5 = 0.5 → 7.5 of 15
    days_since_sponsor_engaged: 120, // at_risk → 0 of 10
    sponsor_changes_12m: 1, // half-way 0 → 2 → 2.5 of 5
    escalations_90d: 0, // healthy → 10 of 10
    ticket_trend_90d: 0.2, // (0.2 − 1) ÷ (0 − 1) = 0.8 → 4 of 5
    activation_achieved: 1, // → 10 of 10
  };
  it('scores each measure and the total', () => {
    const s = scoreHealth(record, config(), null);
    const points = Object.fromEntries(s.measures.map((m) => [m.measure, m.points]));
    const expected = {
      usage_trend_90d: 12.5,
      seat_utilisation: 7.5,
      feature_breadth: 5,
      qbr_completion_12m: 7.5,
      days_since_sponsor_engaged: 0,
      sponsor_changes_12m: 2.5,
      escalations_90d: 10,
      ticket_trend_90d: 4,
      activation_achieved: 10,
    };
    expect(Object.keys(points)).toEqual(Object.keys(expected));
    for (const [m, p] of Object.entries(expected)) expect(points[m], m).toBeCloseTo(p, 10);
    // 12.5 + 7.5 + 5 + 7.5 + 0 + 2.5 + 10 + 4 + 10 = 59 of 100
    expect(s.score).toBeCloseTo(59, 10);
    expect(s.colour).toBe('yellow');
    expect(s.missing).toEqual([]);
    expect(s.groups['product']!.points).toBeCloseTo(25, 10);
    expect(s.groups['product']!.weight).toBe(45);
    expect(s.groups['relationship']!.points).toBeCloseTo(10, 10);
    expect(s.definition).toBe('default');
  });

  it('colours: green from 70, yellow from 40, red below', () => {
    const c = config();
    expect([colourOf(70, c), colourOf(69.99, c), colourOf(40, c), colourOf(39.99, c)]).toEqual(['green', 'yellow', 'yellow', 'red']);
  });
});

describe('missing data policies', () => {
  const def = { missing: 'reweight' as const, measures: { usage_trend_90d: { healthy: 0, at_risk: -0.5, weight: 30, group: 'p' }, escalations_90d: { healthy: 0, at_risk: 4, weight: 10, group: 's' } } };
  const record = { usage_trend_90d: null, escalations_90d: 1 }; // escalations: 3 ÷ 4 → 7.5 of 10
  it('reweight leaves the measure out and scales the rest to 100', () => {
    const s = scoreHealth(record, config({ default: def }), null);
    expect(s.score).toBeCloseTo(75, 10); // 7.5 ÷ 10
    expect(s.missing).toEqual(['usage_trend_90d']);
    expect(s.measures[0]).toMatchObject({ measure: 'usage_trend_90d', value: null, band: 'missing', points: null });
  });
  it('zero scores it as no points', () => {
    expect(scoreHealth(record, config({ default: { ...def, missing: 'zero' } }), null).score).toBeCloseTo(18.75, 10); // 7.5 ÷ 40
  });
  it('neutral scores it as half its weight', () => {
    expect(scoreHealth(record, config({ default: { ...def, missing: 'neutral' } }), null).score).toBeCloseTo(56.25, 10); // (15 + 7.5) ÷ 40
  });
  it('a missing_value is scored in its place', () => {
    const withValue = { ...def, measures: { ...def.measures, usage_trend_90d: { ...def.measures.usage_trend_90d, missing_value: -0.25 } } };
    const s = scoreHealth(record, config({ default: withValue }), null);
    expect(s.score).toBeCloseTo(56.25, 10); // −0.25 is half-way: 15 + 7.5 of 40
    expect(s.measures[0]).toMatchObject({ value: null, scored: -0.25, band: 'missing', points: 15 });
  });
  it('every measure missing gives no score rather than a made-up one', () => {
    const s = scoreHealth({}, config({ default: def }), null);
    expect(s.score).toBeNull();
    expect(s.colour).toBeNull();
  });
});

describe('segment definitions and changes', () => {
  it("uses a segment's own definition, and the default for the others", () => {
    const c = config({ segments: { 'self-serve': { missing: 'reweight', measures: { usage_trend_90d: { healthy: 0.1, at_risk: -0.2, weight: 1, group: 'p' } } } } });
    const rec = { usage_trend_90d: -0.05, escalations_90d: 0 };
    const own = scoreHealth(rec, c, 'self-serve');
    expect(own.definition).toBe('self-serve');
    expect(own.score).toBeCloseTo(50, 10); // (−0.05 + 0.2) ÷ 0.3
    expect(scoreHealth(rec, c, 'enterprise').definition).toBe('default');
  });

  it('says which measures moved the score since the previous snapshot', () => {
    const c = config();
    const before = scoreHealth({ usage_trend_90d: 0, escalations_90d: 0, activation_achieved: 1 }, c, null);
    const after = scoreHealth({ usage_trend_90d: -0.3, escalations_90d: 1, activation_achieved: 1 }, c, null);
    const change = compareHealth(before, after);
    // Of 45 points present: before 45/45 = 100; after 0 + 5 + 10 = 15/45 = 33.3.
    expect(change.from).toBeCloseTo(100, 10);
    expect(change.to).toBeCloseTo(33.333, 2);
    expect(change.movers.map((m) => m.measure)).toEqual(['usage_trend_90d', 'escalations_90d']);
    expect(change.movers[0]!.delta).toBeCloseTo((-25 * 100) / 45, 10);
    expect(change.movers[1]).toMatchObject({ from: 0, to: 1 });
  });
});

describe('config errors name the file, line and key', () => {
  const bad = (yaml: string): string => {
    try {
      parseConfigText(yaml, 'nrr.config.yaml');
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error('expected an error');
  };
  it('an unknown measure', () => {
    expect(bad('version: 1\nhealth:\n  default:\n    measures:\n      happiness: { healthy: 1, at_risk: 0, weight: 5 }\n')).toContain('nrr.config.yaml:5: health.default.measures: Unrecognized key: "happiness"');
  });
  it('bands that do not differ', () => {
    expect(bad('health:\n  default:\n    measures:\n      seat_utilisation: { healthy: 0.5, at_risk: 0.5, weight: 5 }\n')).toContain('health.default.measures.seat_utilisation.at_risk: healthy and at_risk must differ');
  });
  it('yellow at or above green', () => {
    expect(bad('health:\n  green: 50\n  yellow: 60\n')).toContain('nrr.config.yaml:3: health.yellow: yellow must be below green');
  });
  it('a missing policy that does not exist', () => {
    expect(bad('health:\n  default:\n    missing: ignore\n    measures:\n      seat_utilisation: { healthy: 0.8, at_risk: 0.4, weight: 5 }\n')).toContain('health.default.missing');
  });
  it('tiers whose last tier has conditions', () => {
    expect(bad('tiers:\n  - name: Big\n    when: [{ min_arr: 100000 }]\n')).toContain('tiers.0.when: the last tier takes every other account: give it no conditions');
  });
  it('a valid health section and tiers are read', () => {
    const c = parseConfigText(
      'health:\n  green: 80\n  default:\n    missing: zero\n    measures:\n      seat_utilisation: { healthy: 0.8, at_risk: 0.4, weight: 5, group: product }\ntiers:\n  - { name: Key, when: [{ min_arr: 50000 }] }\n  - { name: Rest }\n',
      'x.yaml',
    );
    expect(resolveHealthConfig(c.health)).toMatchObject({ green: 80, yellow: 40, default: { missing: 'zero' } });
    expect(c.tiers).toEqual([{ name: 'Key', when: [{ min_arr: 50000 }] }, { name: 'Rest', when: [] }]);
    expect(resolveHealthConfig(undefined).default).toEqual(DEFAULT_HEALTH);
  });
});

describe('tiering', () => {
  it.each([
    [150_000, 0, 'Tier 1'],
    [60_000, 55, 'Tier 1'], // 50K+ and ready to expand
    [60_000, 10, 'Tier 2'],
    [10_000, 50, 'Tier 2'], // small but ready to expand
    [10_000, 49, 'Tier 3'],
  ])('ARR %s, readiness %s → %s', (arr, readiness, tier) => {
    expect(tierOf(DEFAULT_TIERS, arr, readiness)).toBe(tier);
  });
});

describe('risk and readiness reasons in words', () => {
  const quiet: ScoreInputs = {
    usage_trend_90d: 0,
    usage_trend_30d: 0,
    seat_utilisation: 0.7,
    months_above_80: 0,
    days_to_renewal: 150,
    days_since_sponsor_left: null,
    days_since_sponsor_engaged: 10,
    sponsor_present: true,
    reviews_missed_180d: 0,
    escalations_90d: 0,
    activation_achieved: 1,
    activation_due: '2024-01-01',
    mrr_change_90d: 0,
    headcount_change_12m: 0,
    days_since_funding: null,
    last_funding_round: null,
    adjacent_users_30d: 0,
    open_expansion_opportunities: 0,
    monthly_terms: false,
  };
  it('a quiet account has no risk and no readiness', () => {
    expect(churnRisk(quiet)).toEqual({ score: 0, level: 'low', reasons: [] });
    expect(expansionReadiness(quiet)).toEqual({ score: 0, level: 'low', reasons: [] });
  });
  it('usage decline before a renewal, a departed sponsor', () => {
    const r = churnRisk({ ...quiet, usage_trend_90d: -0.41, days_to_renewal: 54, sponsor_present: false, days_since_sponsor_left: 38 });
    expect(r.reasons.map((x) => x.text)).toEqual(['usage −41 % against the prior 90 days, renewal in 54 days', 'executive sponsor left 38 days ago, no successor']);
    expect(r.reasons[0]!.points).toBeCloseTo(24.6, 10); // 60 × 0.41
    expect(r.score).toBeCloseTo(44.6, 10);
    expect(r.level).toBe('high');
  });
  it('halves the points while a committed renewal is more than 180 days off, and says so', () => {
    const r = churnRisk({ ...quiet, escalations_90d: 2, days_to_renewal: 300 });
    expect(r.score).toBe(8); // (4 + 6 × 2) ÷ 2
    expect(r.note).toBe('points halved: renewal not for 300 days');
  });
  it('monthly contracts carry their own small risk', () => {
    expect(churnRisk({ ...quiet, monthly_terms: true, days_to_renewal: null }).reasons).toEqual([{ points: 6, text: 'monthly contract: it can end any month' }]);
  });
  it('seat utilisation above 80 %, headcount growth and funding point to expansion', () => {
    const r = expansionReadiness({ ...quiet, seat_utilisation: 0.92, months_above_80: 2, headcount_change_12m: 0.18, days_since_funding: 64, last_funding_round: 'series_b' });
    expect(r.reasons.map((x) => x.text)).toEqual(['seat utilisation 92 % for 2 months', 'raised series_b 64 days ago', 'headcount +18 % in 12 months']);
    // 25 + 5 + 40 × 0.12 = 34.8; 20; 10 + 40 × 0.08 = 13.2
    expect(r.score).toBeCloseTo(68, 10);
  });
});

describe('ROC AUC and lift', () => {
  it('rank the positives: perfect, chance and inverted orders', () => {
    const p = (score: number, positive: boolean) => ({ score, positive });
    expect(rocAuc([p(1, false), p(2, false), p(3, true), p(4, true)])).toBe(1);
    expect(rocAuc([p(1, true), p(2, true), p(3, false), p(4, false)])).toBe(0);
    // Pairs (pos, neg): (3,1) win, (3,4) lose, (2,1) win, (2,4) lose → 2 of 4; a tie counts half.
    expect(rocAuc([p(1, false), p(2, true), p(3, true), p(4, false)])).toBe(0.5);
    expect(rocAuc([p(1, true), p(1, false)])).toBe(0.5);
    expect(rocAuc([p(1, true)])).toBeNull();
  });
  it('lift: the top 10 % positive rate over the base rate', () => {
    // 20 cases, 4 positive (base 0.2); the top 2 by score are both positive → 1 ÷ 0.2 = 5.
    const pts = Array.from({ length: 20 }, (_, i) => ({ score: i, positive: i >= 18 || i === 3 || i === 7 }));
    expect(lift(pts)).toBe(5);
    expect(lift(pts, 0.5)).toBeCloseTo(1, 10); // the top 10 (scores 10–19) hold 2 positives: 0.2 ÷ 0.2
  });
});
