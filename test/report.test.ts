import { describe, expect, it } from 'vitest';
import { compareToBenchmark, benchmarkFor } from '../src/report/benchmarks.js';
import {
  DEFAULT_THRESHOLDS,
  diagnoseConcentration,
  diagnoseConsecutiveDrops,
  diagnoseSmallGroups,
  diagnoseWeakGrr,
} from '../src/report/diagnostics.js';
import { formatMoney, formatPercent } from '../src/report/format.js';
import { Money, stringifyJson } from '../src/money.js';
import { emptyMetrics, type Metrics } from '../src/queries/metrics-queries.js';

const m = (over: Partial<Metrics>): Metrics => ({ ...emptyMetrics('2024-12', 12, 'snapshot'), ...over });

describe('benchmarks', () => {
  it('map group names to the published bands', () => {
    expect(benchmarkFor('Enterprise (≥ $100K)')?.key).toBe('enterprise');
    expect(benchmarkFor('mid-market')?.key).toBe('mid-market');
    expect(benchmarkFor('SMB (< $25K)')?.key).toBe('smb');
    expect(benchmarkFor('self-serve')?.key).toBe('product-led');
    expect(benchmarkFor('usage-based')?.key).toBe('usage-based');
    expect(benchmarkFor('EMEA')).toBeUndefined();
  });

  it('place an NRR against median and top quartile', () => {
    expect(compareToBenchmark(1.25, 'enterprise').standing).toBe('top quartile');
    expect(compareToBenchmark(1.17, 'enterprise').standing).toBe('above median');
    expect(compareToBenchmark(1.12, 'enterprise').standing).toBe('median');
    expect(compareToBenchmark(1.05, 'enterprise').standing).toBe('below median');
    expect(compareToBenchmark(0.95, 'smb').standing).toBe('median');
  });
});

describe('diagnostics', () => {
  it('flag NRR propped up by expansion over weak GRR, and only then', () => {
    expect(diagnoseWeakGrr(m({ nrr: 1.08, grr: 0.8 }), DEFAULT_THRESHOLDS)).toHaveLength(1);
    expect(diagnoseWeakGrr(m({ nrr: 1.08, grr: 0.9 }), DEFAULT_THRESHOLDS)).toHaveLength(0);
    expect(diagnoseWeakGrr(m({ nrr: 0.95, grr: 0.8 }), DEFAULT_THRESHOLDS)).toHaveLength(0);
  });

  it('flag expansion concentrated in a few accounts or one owner', () => {
    const accounts = [m({ group: 'big', expansion: new Money('9000') }), ...Array.from({ length: 9 }, (_, i) => m({ group: `a${i}`, expansion: new Money('100') }))];
    const d = diagnoseConcentration(accounts, [m({ group: 'dana', expansion: new Money('9500') }), m({ group: 'eli', expansion: new Money('400') })], 'owner', DEFAULT_THRESHOLDS);
    expect(d.map((x) => x.id)).toEqual(['expansion_concentrated_accounts', 'expansion_concentrated_owner']);
    expect(d[1]!.message).toContain('dana');
    const even = Array.from({ length: 20 }, (_, i) => m({ group: `a${i}`, expansion: new Money('100') }));
    expect(diagnoseConcentration(even, undefined, undefined, DEFAULT_THRESHOLDS)).toEqual([]);
  });

  it('flag two consecutive monthly drops ending now', () => {
    const s = (xs: number[]): Metrics[] => xs.map((nrr, i) => m({ month: `2024-0${i + 1}`, nrr }));
    expect(diagnoseConsecutiveDrops(s([1.02, 1.01, 1.0]))).toHaveLength(1);
    expect(diagnoseConsecutiveDrops(s([1.02, 1.01, 1.015]))).toHaveLength(0);
    expect(diagnoseConsecutiveDrops(s([1.0, 1.01, 1.0]))).toHaveLength(0);
  });

  it('flag groups too small, or resting on one account', () => {
    const d = diagnoseSmallGroups('segment', [m({ group: 'tiny', starting_accounts: 3 }), m({ group: 'whale', starting_accounts: 80, largest_account_share: 0.4 }), m({ group: 'fine', starting_accounts: 80, largest_account_share: 0.05 })], DEFAULT_THRESHOLDS);
    expect(d.map((x) => x.message.split(':')[0])).toEqual(["segment 'tiny'", "segment 'whale'"]);
  });
});

describe('money output', () => {
  it('rounds half-up to cents for people only', () => {
    expect(formatMoney(new Money('1234567.005'))).toBe('1,234,567.01');
    expect(formatMoney(new Money('-83.333333333333'))).toBe('-83.33');
    expect(formatPercent(1.015)).toBe('101.5%');
    expect(formatPercent(null)).toBe('—');
  });

  it('writes every digit to JSON, beyond what a double holds', () => {
    const big = '123456789012345678.123456789012';
    expect(stringifyJson({ a: new Money(big), b: [new Money('0.100')] }, 0)).toBe(`{"a":${big},"b":[0.1]}`);
  });
});
