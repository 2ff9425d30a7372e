import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Money } from '../src/money.js';

describe('Money.sum', () => {
  it('is exactly the chain of plus, for any amounts with up to 12 decimals (property)', () => {
    const amount = fc
      .tuple(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), fc.integer({ min: 0, max: 12 }))
      .map(([units, scale]) => {
        const negative = units < 0n;
        const digits = (negative ? -units : units).toString().padStart(scale + 1, '0');
        const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
        return negative ? `-${text}` : text;
      });
    fc.assert(
      fc.property(fc.array(amount, { maxLength: 40 }), (texts) => {
        const chained = texts.reduce((s, t) => s.plus(Money.from(t)), Money.zero);
        expect(Money.sum(texts).value).toBe(chained.value);
        expect(Money.sum(texts.map((t) => Money.from(t))).value).toBe(chained.value);
      }),
    );
  });

  it('adds what a float would not: 0.1 + 0.2 is 0.3, and nothing is 0', () => {
    expect(Money.sum(['0.1', '0.2']).value).toBe('0.3');
    expect(Money.sum(['123456789012345678.000000000001', '0.000000000002']).value).toBe('123456789012345678.000000000003');
    expect(Money.sum([]).value).toBe('0');
  });
});
