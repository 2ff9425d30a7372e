import Big from 'big.js';
import type { StripeRecurring } from './stripe-objects.js';

/**
 * Stripe amounts are integers in the currency's minor unit (cents); a few currencies have none
 * ("zero-decimal": 1 JPY is written 1) and a few have three places (1 KWD is written 1000). The
 * lists are Stripe's (docs.stripe.com/currencies).
 */
const ZERO_DECIMAL = new Set(['BIF', 'CLP', 'DJF', 'GNF', 'JPY', 'KMF', 'KRW', 'MGA', 'PYG', 'RWF', 'UGX', 'VND', 'VUV', 'XAF', 'XOF', 'XPF']);
const THREE_DECIMAL = new Set(['BHD', 'JOD', 'KWD', 'OMR', 'TND']);

/** Decimal places of a currency's minor unit in Stripe's API. */
export function currencyExponent(currency: string): number {
  const c = currency.toUpperCase();
  return ZERO_DECIMAL.has(c) ? 0 : THREE_DECIMAL.has(c) ? 3 : 2;
}

/**
 * A Stripe amount in minor units (an integer, or a decimal string such as `unit_amount_decimal`)
 * as an exact amount in major units.
 * @example fromMinor(1999, 'usd').toFixed() // '19.99'; fromMinor(500, 'jpy').toFixed() // '500'
 */
export function fromMinor(amount: number | string, currency: string): Big {
  if (typeof amount === 'number' && !Number.isSafeInteger(amount)) throw new Error(`not a whole number of minor units: ${amount}`);
  const exp = currencyExponent(currency);
  const b = new Big(amount);
  return exp === 0 ? b : b.div(exp === 2 ? 100 : 1000);
}

/** Money keeps 12 places: digits beyond are dropped, never rounded up (as the engine divides). */
export const MONEY_PLACES = 12;

export function truncate(b: Big): Big {
  return b.round(MONEY_PLACES, Big.roundDown);
}

/** Exact decimal text of a Big, without exponent notation. */
export function decimalText(b: Big): string {
  const t = b.toFixed();
  if (!t.includes('.')) return t === '-0' ? '0' : t;
  const s = t.replace(/0+$/, '').replace(/\.$/, '');
  return s === '-0' ? '0' : s;
}

/**
 * The monthly amount of an amount billed every `interval_count` `interval`s: a month is 1/12 of a
 * year, a week 12/52 of a month, a day 12/365 of a month. Truncated to 12 places.
 * @example monthly(new Big(1200), { interval: 'year' }) // 100
 */
export function monthly(amount: Big, r: Pick<StripeRecurring, 'interval' | 'interval_count'>): Big {
  const n = r.interval_count ?? 1;
  switch (r.interval) {
    case 'month':
      return truncate(amount.div(n));
    case 'year':
      return truncate(amount.div(12 * n));
    case 'week':
      return truncate(amount.times(52).div(12 * n));
    case 'day':
      return truncate(amount.times(365).div(12 * n));
  }
}

/** The moment one billing interval after `start` (calendar months and years, in UTC), for a `once` coupon's span. */
export function addInterval(start: number, r: Pick<StripeRecurring, 'interval' | 'interval_count'>): number {
  const n = r.interval_count ?? 1;
  if (r.interval === 'day' || r.interval === 'week') return start + n * (r.interval === 'day' ? 1 : 7) * 86_400;
  const d = new Date(start * 1000);
  const months = r.interval === 'month' ? n : 12 * n;
  const target = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, 1, d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()));
  // The same day of the month, or the month's last day when it has fewer (31 Jan + 1 month = 28 Feb), as Stripe bills.
  const last = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(d.getUTCDate(), last));
  return target.getTime() / 1000;
}
