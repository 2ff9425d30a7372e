import { describe, expect, it } from 'vitest';
import { Money } from '../src/money.js';
import { formatMoney as engineFormat } from '../src/report/format.js';
import { compareDecimal, formatDecimal, formatMoney, formatMoneyCompact, multiplyDecimal, negateDecimal } from '../web/src/money-format.js';

/** The dashboard's money formatting (web/money-format.js), run without a browser. */
describe('dashboard money formatting from decimal text', () => {
  it('rounds to the cent half away from zero, with thousands separators, beyond what a float holds', () => {
    expect(formatMoney('1234567.123456789012')).toBe('$1,234,567.12');
    expect(formatMoney('0.005')).toBe('$0.01');
    expect(formatMoney('0.004999999999')).toBe('$0.00');
    expect(formatMoney('-1234.005')).toBe('-$1,234.01');
    expect(formatMoney('-0.004')).toBe('$0.00');
    expect(formatMoney('1000000')).toBe('$1,000,000.00');
    // 2^53 + 1: Number() would print 9,007,199,254,740,992.
    expect(formatMoney('9007199254740993.125')).toBe('$9,007,199,254,740,993.13');
    // A float rounds 1.005 down (1.00499999…); the decimal text does not.
    expect(formatMoney('1.005')).toBe('$1.01');
    expect(formatMoney('12.5', 'EUR')).toBe('€12.50');
    expect(formatMoney('12.5', 'GBP')).toBe('£12.50');
    expect(formatDecimal('-98765.4321', 2)).toBe('-98,765.43');
    expect(formatDecimal('5', 0)).toBe('5');
    expect(() => formatMoney('1e3')).toThrow(/not a decimal amount: 1e3/);
  });

  it('agrees with the engine’s own formatter (report/format.ts) on many amounts', () => {
    const amounts = ['0', '0.5', '0.994', '0.995', '-0.995', '999.999', '1234.5678', '-1234567.891', '100000000000.004', '83.333333333333', '-0.1'];
    for (const a of amounts) {
      const engine = engineFormat(new Money(a));
      const expected = engine.startsWith('-') ? (engine === '-0.00' ? '$0.00' : `-$${engine.slice(1)}`) : `$${engine}`;
      expect(formatMoney(a), a).toBe(expected);
    }
  });

  it('writes compact amounts as Intl would for ordinary values, and rounds up across units', () => {
    const intl = (n: number) => new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', notation: 'compact', maximumFractionDigits: 2 }).format(n);
    for (const a of ['7563412.5', '516067.82', '12', '999.5', '134690', '-18230', '2500000000', '1000']) {
      expect(formatMoneyCompact(a), a).toBe(intl(Number(a)));
    }
    expect(formatMoneyCompact('999999.999')).toBe('$1.00M');
    expect(formatMoneyCompact('999.999')).toBe('$1.00K');
    expect(formatMoneyCompact('-0.001')).toBe('$0.00');
  });

  it('multiplies, negates and compares exactly', () => {
    expect(multiplyDecimal('0.1', 12)).toBe('1.2'); // 0.1 * 12 = 1.2000000000000002 in floats
    expect(multiplyDecimal('1234567.123456789012', 12)).toBe('14814805.481481468144');
    expect(multiplyDecimal('-0.05', 12)).toBe('-0.60');
    expect(multiplyDecimal('0.05', -2)).toBe('-0.10');
    expect(negateDecimal('12.5')).toBe('-12.5');
    expect(negateDecimal('-12.5')).toBe('12.5');
    expect(negateDecimal('0')).toBe('0');
    expect(compareDecimal('0.30', '0.3')).toBe(0);
    expect(compareDecimal('10.01', '9.999')).toBe(1);
    expect(compareDecimal('-1', '0.5')).toBe(-1);
    expect(compareDecimal('9007199254740993', '9007199254740992')).toBe(1);
  });
});
