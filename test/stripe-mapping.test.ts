import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Big from 'big.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addStripeObject, emptyStripeObjects, readStripeObjects, type StripeObjects, type StripePrice } from '../src/stripe/stripe-objects.js';
import { dayOf, mapStripe, mapStripeCustomer, priceAmount } from '../src/stripe/stripe-mapping.js';
import { fromMinor, monthly } from '../src/stripe/stripe-money.js';
import { PROFILES } from '../src/stripe/stripe-profiles.js';

const CORPUS = join(process.cwd(), 'test/fixtures/stripe/corpus');
const NOW = Date.UTC(2026, 6, 15) / 1000;
const t = (day: string): number => Date.parse(`${day}T00:00:00Z`) / 1000;

const price = (id: string, unit: number, extra: Partial<StripePrice> = {}): StripePrice => ({
  id,
  object: 'price',
  currency: 'usd',
  product: 'prod_x',
  unit_amount: unit,
  unit_amount_decimal: String(unit),
  recurring: { interval: 'month', interval_count: 1, usage_type: 'licensed' },
  livemode: true,
  ...extra,
});

/** A customer with one active subscription of one item, built in memory. */
function oneSubscription(o: { customer?: string; price: StripePrice; quantity?: number; start?: string; discounts?: unknown[]; metadata?: Record<string, string> }): StripeObjects {
  const objects = emptyStripeObjects();
  const cus = o.customer ?? 'cus_1';
  addStripeObject(objects, { id: cus, object: 'customer', livemode: true, name: 'One', metadata: o.metadata ?? {} });
  addStripeObject(objects, {
    id: `sub_${cus}`,
    object: 'subscription',
    customer: cus,
    status: 'active',
    livemode: true,
    currency: o.price.currency,
    start_date: t(o.start ?? '2026-01-01'),
    created: t(o.start ?? '2026-01-01'),
    discounts: o.discounts ?? [],
    items: { object: 'list', data: [{ id: `si_${cus}`, object: 'subscription_item', created: t(o.start ?? '2026-01-01'), price: o.price, quantity: o.quantity ?? 1, current_period_start: t('2026-07-01'), current_period_end: t('2026-08-01') }] },
  });
  return objects;
}

describe('money from Stripe minor units', () => {
  it('divides exactly by the currency exponent: cents, zero-decimal and three-decimal currencies', () => {
    expect(fromMinor(1999, 'usd').toFixed()).toBe('19.99');
    expect(fromMinor(12000, 'JPY').toFixed()).toBe('12000');
    expect(fromMinor(1234, 'kwd').toFixed()).toBe('1.234');
    expect(fromMinor('0.5', 'usd').toFixed()).toBe('0.005');
    expect(() => fromMinor(1.5, 'usd')).toThrow(/not a whole number/);
  });

  it('normalises every interval to a month: year ÷ 12, week × 52 ÷ 12, day × 365 ÷ 12, truncated to 12 places', () => {
    expect(monthly(new Big(1200), { interval: 'year' }).toFixed()).toBe('100');
    expect(monthly(new Big(300), { interval: 'month', interval_count: 3 }).toFixed()).toBe('100');
    expect(monthly(new Big(12), { interval: 'week' }).toFixed()).toBe('52');
    // 100 every 2 weeks: 100 × 52 ÷ 24 = 216.666… (dropped, not rounded, beyond 12 places)
    expect(monthly(new Big(100), { interval: 'week', interval_count: 2 }).toFixed()).toBe('216.666666666666');
    // 1 a day: 365 ÷ 12 = 30.416666…
    expect(monthly(new Big(1), { interval: 'day' }).toFixed()).toBe('30.416666666666');
  });

  it('tiered prices: graduated adds each tier, volume prices every unit at the tier reached', () => {
    const tiers = [
      { up_to: 5, unit_amount: 1000, flat_amount: 500 },
      { up_to: 'inf' as const, unit_amount: 800, flat_amount: null },
    ];
    // graduated, 7 units: 5 × 10 + 5 (flat) + 2 × 8 = 71
    expect(priceAmount(price('p', 0, { billing_scheme: 'tiered', tiers_mode: 'graduated', tiers }), 7).toFixed()).toBe('71');
    // volume, 7 units: 7 × 8 = 56
    expect(priceAmount(price('p', 0, { billing_scheme: 'tiered', tiers_mode: 'volume', tiers }), 7).toFixed()).toBe('56');
    // per unit with unit_amount_decimal kept exact: 12.345 cents × 3 = 0.37035
    expect(priceAmount(price('p', 0, { unit_amount_decimal: '12.345' }), 3).toFixed()).toBe('0.37035');
  });
});

describe('dates in the workspace time zone', () => {
  it('a timestamp late on 31 Jan UTC is 1 Feb in Paris', () => {
    const ts = Date.parse('2026-01-31T23:30:00Z') / 1000;
    expect(dayOf(ts, 'UTC')).toBe('2026-01-31');
    expect(dayOf(ts, 'Europe/Paris')).toBe('2026-02-01');
    expect(dayOf(ts, 'America/Sao_Paulo')).toBe('2026-01-31');
  });

  it('the mapping dates lines in that zone', () => {
    const objects = oneSubscription({ price: price('p', 1000), start: '2026-01-01' });
    // 2026-01-01T00:00Z is 31 Dec 2025, 21:00 in São Paulo.
    const rows = mapStripe(objects, { timezone: 'America/Sao_Paulo', now: NOW });
    expect(rows.subscriptions.map((r) => r.start_date)).toEqual(['2025-12-31']);
  });
});

describe('addStripeObject keeps the newer copy', () => {
  it('by the version given (an event), else the object order; events are unwrapped', () => {
    const objects = emptyStripeObjects();
    expect(addStripeObject(objects, { id: 'cus_1', object: 'customer', name: 'A' }, 10)).toBe('added');
    expect(addStripeObject(objects, { id: 'cus_1', object: 'customer', name: 'old' }, 5)).toBe('older');
    expect(objects.customers.get('cus_1')?.name).toBe('A');
    expect(addStripeObject(objects, { id: 'evt_1', object: 'event', created: 20, data: { object: { id: 'cus_1', object: 'customer', name: 'B' } } })).toBe('replaced');
    expect(objects.customers.get('cus_1')?.name).toBe('B');
    expect(addStripeObject(objects, { id: 'ch_1', object: 'charge' })).toBe('skipped');
    expect(objects.skipped.get('charge')).toBe(1);
  });

  it('a deleted customer keeps what was known of it, marked deleted', () => {
    const objects = emptyStripeObjects();
    addStripeObject(objects, { id: 'cus_1', object: 'customer', name: 'Kept' });
    addStripeObject(objects, { id: 'cus_1', object: 'customer', deleted: true });
    expect(objects.customers.get('cus_1')).toMatchObject({ name: 'Kept', deleted: true });
  });

  it('a customer listed with its subscriptions expanded brings them', () => {
    const objects = emptyStripeObjects();
    addStripeObject(objects, { id: 'cus_e', object: 'customer', subscriptions: { object: 'list', data: [{ id: 'sub_e', object: 'subscription', customer: 'cus_e', status: 'active', items: { data: [] } }] } });
    expect(objects.subscriptions.get('sub_e')?.customer).toBe('cus_e');
    expect(objects.byCustomer.get('cus_e')).toEqual(new Set(['sub_e']));
  });

  it('prices, products, coupons and discounts expanded inside an object are added too', () => {
    const objects = oneSubscription({ price: price('price_in', 500) });
    expect(objects.prices.has('price_in')).toBe(true);
    expect(objects.byCustomer.get('cus_1')).toEqual(new Set(['sub_cus_1']));
  });
});

describe('readStripeObjects', () => {
  it('reads list pages, arrays and JSON lines; a line that is not JSON is named', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nrr-stripe-read-'));
    try {
      writeFileSync(join(dir, 'a.json'), JSON.stringify({ object: 'list', data: [{ id: 'cus_1', object: 'customer' }], has_more: false }));
      writeFileSync(join(dir, 'b.json'), JSON.stringify([{ id: 'cus_2', object: 'customer' }]));
      writeFileSync(join(dir, 'c.jsonl'), `${JSON.stringify({ id: 'cus_3', object: 'customer' })}\n\n${JSON.stringify({ id: 'prod_1', object: 'product', name: 'P' })}\n`);
      writeFileSync(join(dir, 'notes.txt'), 'ignored');
      const o = await readStripeObjects(dir);
      expect([...o.customers.keys()].sort()).toEqual(['cus_1', 'cus_2', 'cus_3']);
      expect(o.products.get('prod_1')?.name).toBe('P');
      writeFileSync(join(dir, 'd.jsonl'), '{"id":"cus_4","object":"customer"}\n{oops\n');
      await expect(readStripeObjects(dir)).rejects.toThrow(/d\.jsonl line 2 is not JSON/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('mapping rules', () => {
  it('quantity × unit price; the account id from a metadata key when asked', () => {
    const objects = oneSubscription({ price: price('p', 2500), quantity: 4, metadata: { crm_id: 'ACME-1' } });
    const rows = mapStripe(objects, { timezone: 'UTC', now: NOW, accountMetadataKey: 'crm_id' });
    expect(rows.subscriptions).toEqual([
      { account_id: 'ACME-1', line_id: 'si_cus_1@2026-01-01', product: 'prod_x', start_date: '2026-01-01', end_date: null, mrr: '100', discount: '0', currency: 'USD', stripe_subscription: 'sub_cus_1' },
    ]);
    expect(rows.accounts[0]).toMatchObject({ account_id: 'ACME-1', stripe_customer: 'cus_1', 'metadata.crm_id': 'ACME-1' });
  });

  it('a once coupon: not MRR under nrr; one billing period under profitwell', () => {
    const coupon = { id: 'c_once', object: 'coupon', duration: 'once', percent_off: 50 };
    const objects = oneSubscription({ price: price('p', 10000), discounts: [{ id: 'di_1', object: 'discount', coupon, start: t('2026-01-01'), end: null }] });
    expect(mapStripe(objects, { timezone: 'UTC', now: NOW }).subscriptions.map((r) => `${r.start_date} ${r.end_date} ${r.mrr} ${r.discount}`)).toEqual(['2026-01-01 null 100 0']);
    // One monthly period from 1 Jan: January at 50, then 100.
    expect(mapStripe(objects, { timezone: 'UTC', now: NOW, profile: 'profitwell' }).subscriptions.map((r) => `${r.start_date} ${r.end_date} ${r.mrr} ${r.discount}`)).toEqual([
      '2026-01-01 2026-02-01 100 50',
      '2026-02-01 null 100 0',
    ]);
  });

  it('stacked discounts apply in order: 10% then 5 off, on 100 → 85', () => {
    const objects = oneSubscription({
      price: price('p', 10000),
      discounts: [
        { id: 'di_a', object: 'discount', coupon: { id: 'c10', object: 'coupon', duration: 'forever', percent_off: 10 }, start: t('2026-01-01') },
        { id: 'di_b', object: 'discount', coupon: { id: 'c5', object: 'coupon', duration: 'forever', amount_off: 500, currency: 'usd' }, start: t('2026-01-01') },
      ],
    });
    expect(mapStripe(objects, { timezone: 'UTC', now: NOW }).subscriptions.map((r) => `${r.mrr} ${r.discount}`)).toEqual(['100 15']);
  });

  it('mapStripeCustomer gives exactly the rows mapStripe gives that customer', async () => {
    const objects = await readStripeObjects(CORPUS);
    const all = mapStripe(objects, { timezone: 'UTC', now: NOW });
    for (const id of ['cus_upgrade', 'cus_metered', 'cus_pause', 'cus_deleted', 'cus_testmode']) {
      const one = mapStripeCustomer(objects, id, { timezone: 'UTC', now: NOW });
      expect(one.subscriptions).toEqual(all.subscriptions.filter((r) => r.account_id === id));
      expect(one.usage).toEqual(all.usage.filter((r) => r.account_id === id));
      expect(one.accounts).toEqual(all.accounts.filter((r) => r.account_id === id));
    }
  });

  it('every profile maps the corpus with unique line ids, money as plain decimals, ends after starts', async () => {
    const objects = await readStripeObjects(CORPUS);
    for (const profile of Object.keys(PROFILES) as (keyof typeof PROFILES)[]) {
      const rows = mapStripe(objects, { timezone: 'UTC', now: NOW, profile });
      const ids = rows.subscriptions.map((r) => r.line_id);
      expect(new Set(ids).size, profile).toBe(ids.length);
      for (const r of rows.subscriptions) {
        expect(r.mrr).toMatch(/^\d+(\.\d{1,12})?$/);
        expect(r.discount).toMatch(/^\d+(\.\d{1,12})?$/);
        expect(new Big(r.discount).lte(r.mrr)).toBe(true);
        if (r.end_date !== null) expect(r.end_date > r.start_date).toBe(true);
      }
      // One item is at one price at a time: the lines of an item never overlap.
      const byItem = new Map<string, { start: string; end: string | null }[]>();
      for (const r of rows.subscriptions) {
        const item = r.line_id.split('@')[0]!;
        byItem.set(item, [...(byItem.get(item) ?? []), { start: r.start_date, end: r.end_date }]);
      }
      for (const [item, lines] of byItem) {
        lines.sort((a, b) => (a.start < b.start ? -1 : 1));
        for (let i = 1; i < lines.length; i++) expect(lines[i - 1]!.end !== null && lines[i - 1]!.end! <= lines[i]!.start, `${profile} ${item}`).toBe(true);
      }
    }
  });
});

describe('more shapes', () => {
  it('a subscription in another currency of a price (currency_options) is billed at that currency', () => {
    const p = price('p', 10000, { currency_options: { eur: { unit_amount: 9000, unit_amount_decimal: '9000' } } });
    const objects = oneSubscription({ price: p });
    const sub = objects.subscriptions.get('sub_cus_1')!;
    objects.subscriptions.set('sub_cus_1', { ...sub, currency: 'eur' });
    expect(mapStripe(objects, { timezone: 'UTC', now: NOW }).subscriptions.map((r) => `${r.mrr} ${r.currency}`)).toEqual(['90 EUR']);
  });

  it('a schedule not started yet: its phases are future lines of the customer', () => {
    const objects = emptyStripeObjects();
    addStripeObject(objects, { id: 'cus_s', object: 'customer', livemode: true });
    addStripeObject(objects, price('p', 5000));
    addStripeObject(objects, {
      id: 'sub_sched_x',
      object: 'subscription_schedule',
      customer: 'cus_s',
      status: 'not_started',
      subscription: null,
      end_behavior: 'cancel',
      livemode: true,
      phases: [
        { start_date: t('2026-09-01'), end_date: t('2026-12-01'), items: [{ price: 'p', quantity: 2 }] },
        { start_date: t('2026-12-01'), end_date: t('2027-03-01'), items: [{ price: 'p', quantity: 3 }] },
      ],
    });
    expect(mapStripe(objects, { timezone: 'UTC', now: NOW }).subscriptions.map((r) => `${r.line_id} ${r.start_date} ${r.end_date} ${r.mrr}`)).toEqual([
      'sub_sched_x/p@2026-09-01 2026-09-01 2026-12-01 100',
      'sub_sched_x/p@2026-12-01 2026-12-01 2027-03-01 150',
    ]);
  });

  it('a schedule without invoices: its past phases are the history, its future ones committed', () => {
    const objects = oneSubscription({ price: price('p', 2000), quantity: 15 });
    addStripeObject(objects, {
      id: 'sub_sched_h',
      object: 'subscription_schedule',
      customer: 'cus_1',
      subscription: 'sub_cus_1',
      status: 'active',
      end_behavior: 'release',
      livemode: true,
      phases: [
        { start_date: t('2026-01-01'), end_date: t('2026-04-01'), items: [{ price: 'p', quantity: 10 }] },
        { start_date: t('2026-04-01'), end_date: t('2026-10-01'), items: [{ price: 'p', quantity: 15 }] },
        { start_date: t('2026-10-01'), end_date: t('2027-01-01'), items: [{ price: 'p', quantity: 20 }] },
      ],
    });
    const sub = objects.subscriptions.get('sub_cus_1')!;
    objects.subscriptions.set('sub_cus_1', { ...sub, schedule: 'sub_sched_h' });
    // 10 × 20 = 200 Jan–Mar, 15 × 20 = 300 Apr–Sep, then 400 from October, open-ended (released).
    expect(mapStripe(objects, { timezone: 'UTC', now: NOW }).subscriptions.map((r) => `${r.start_date} ${r.end_date} ${r.mrr}`)).toEqual([
      '2026-01-01 2026-04-01 200',
      '2026-04-01 2026-10-01 300',
      '2026-10-01 null 400',
    ]);
  });

  it('two invoices for the same period of an item (one reissued) count once', () => {
    const objects = oneSubscription({ price: price('p', 1000) });
    const line = (id: string) => ({ id, object: 'line_item', amount: 1000, currency: 'usd', period: { start: t('2026-01-01'), end: t('2026-02-01') }, quantity: 1, parent: { type: 'subscription_item_details', subscription_item_details: { subscription: 'sub_cus_1', subscription_item: 'si_cus_1', proration: false } }, pricing: { price_details: { price: 'p' } } });
    for (const id of ['in_a', 'in_b']) addStripeObject(objects, { id, object: 'invoice', customer: 'cus_1', status: 'paid', currency: 'usd', livemode: true, parent: { subscription_details: { subscription: 'sub_cus_1' } }, lines: { data: [line(`il_${id}`)] } });
    const rows = mapStripe(objects, { timezone: 'UTC', now: NOW }).subscriptions;
    expect(rows.map((r) => `${r.start_date} ${r.end_date} ${r.mrr}`)).toEqual(['2026-01-01 null 10']);
  });
});

describe('properties', () => {
  it('any price, quantity, interval and currency: MRR = unit × quantity ÷ months of the interval, exactly', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.integer({ min: 1, max: 500 }),
        fc.constantFrom('month', 'year', 'week', 'day'),
        fc.integer({ min: 1, max: 12 }),
        fc.constantFrom('usd', 'jpy', 'eur', 'kwd'),
        (unit, qty, interval, count, currency) => {
          const p = price('p', unit, { currency, recurring: { interval: interval as 'month', interval_count: count, usage_type: 'licensed' } });
          const rows = mapStripe(oneSubscription({ price: p, quantity: qty }), { timezone: 'UTC', now: NOW });
          const perInterval = fromMinor(unit, currency).times(qty);
          if (perInterval.eq(0)) return rows.subscriptions.length === 1 && rows.subscriptions[0]!.mrr === '0';
          const months = { month: new Big(count), year: new Big(12 * count), week: new Big(12 * count).div(52), day: new Big(12 * count).div(365) }[interval]!;
          const got = new Big(rows.subscriptions[0]!.mrr);
          // Truncated to 12 places: within 1e-12 below the exact quotient (months of a week or day are themselves inexact here).
          const exact = interval === 'week' ? perInterval.times(52).div(12 * count) : interval === 'day' ? perInterval.times(365).div(12 * count) : perInterval.div(months);
          return got.lte(exact) && exact.minus(got).lt('1e-12') && rows.subscriptions[0]!.currency === currency.toUpperCase();
        },
      ),
      { numRuns: 200 },
    );
  });
});
