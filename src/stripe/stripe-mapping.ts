import Big from 'big.js';
import { addInterval, decimalText, fromMinor, monthly, truncate } from './stripe-money.js';
import {
  customerOf,
  discountCoupon,
  idOf,
  invoiceSubscription,
  itemPeriod,
  itemPrice,
  lineIsProration,
  lineIsSubscription,
  linePrice,
  lineSubscription,
  lineSubscriptionItem,
  priceProduct,
  priceRecurring,
  resolvePrice,
  type StripeCustomer,
  type StripeDiscount,
  type StripeInvoice,
  type StripeInvoiceLine,
  type StripeObjects,
  type StripePrice,
  type StripeRecurring,
  type StripeSubscription,
  type StripeSubscriptionSchedule,
  type UnixSeconds,
} from './stripe-objects.js';
import { profileRules, type StripeProfileName, type StripeRules } from './stripe-profiles.js';

/**
 * Stripe objects → rows of the data contract (docs/data-contract.md), by the rules written down in
 * docs/stripe.md. Pure: the same objects and settings give the same rows, in the same order.
 */

export interface StripeMappingSettings {
  /** IANA time zone in which Stripe's Unix timestamps become dates (the workspace's `timezone` policy). */
  readonly timezone: string;
  /** Profile (or rules) for the points on which tools differ; default `nrr`. */
  readonly profile?: StripeProfileName | StripeRules;
  /** A customer metadata key whose value is the account id (customers without it keep their Stripe id). */
  readonly accountMetadataKey?: string | null;
  /** Map test-mode objects (`livemode: false`) too; by default they are left out. */
  readonly includeTestMode?: boolean;
  /** "Now", Unix seconds: schedule phases starting later are future (committed) changes. Default: the clock. */
  readonly now?: UnixSeconds;
}

/** One row of `subscriptions` in the `mrr` form. */
export interface SubscriptionRow {
  readonly account_id: string;
  /** Stripe provenance: `si_…@YYYY-MM-DD` (the subscription item and the day the line starts), `~il_…` when an invoice line is behind it. */
  readonly line_id: string;
  readonly product: string;
  readonly start_date: string;
  readonly end_date: string | null;
  /** Monthly amount before discount, decimal text. */
  readonly mrr: string;
  /** Monthly discount, decimal text. */
  readonly discount: string;
  readonly currency: string;
  /** The Stripe subscription behind the line (not a contract column: for reconcile and explanations). */
  readonly stripe_subscription: string;
}

/** One row of `accounts`: the id and the customer's fields as attributes. */
export type AccountRow = { readonly account_id: string } & Readonly<Record<string, string | null>>;

/** One row of `usage`: metered charges of an account, product and month. */
export interface UsageRow {
  readonly account_id: string;
  readonly product: string;
  readonly month: string;
  readonly amount: string;
  readonly currency: string;
}

export interface ContractRows {
  readonly accounts: AccountRow[];
  readonly subscriptions: SubscriptionRow[];
  readonly usage: UsageRow[];
  /** What was left out or guessed, one sentence each (counted where there are many). */
  readonly warnings: string[];
}

/** The attribute columns every account row has, in order; metadata follows as `metadata.<key>`. */
export const ACCOUNT_COLUMNS = ['account_id', 'name', 'email', 'country', 'currency', 'created', 'stripe_customer', 'deleted'] as const;
export const SUBSCRIPTION_COLUMNS = ['account_id', 'line_id', 'product', 'start_date', 'end_date', 'mrr', 'discount', 'currency'] as const;
export const USAGE_COLUMNS = ['account_id', 'product', 'month', 'amount', 'currency'] as const;

// ---- dates ----

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The day a Unix timestamp falls on in `timeZone`, as YYYY-MM-DD. */
const utcDays = new Map<number, string>();

export function dayOf(t: UnixSeconds, timeZone: string): string {
  if (timeZone === 'UTC' || timeZone === 'Etc/UTC') {
    const d = Math.floor(t / 86_400);
    let text = utcDays.get(d);
    if (text === undefined) {
      text = new Date(d * 86_400_000).toISOString().slice(0, 10);
      if (utcDays.size < 100_000) utcDays.set(d, text);
    }
    return text;
  }
  let f = formatters.get(timeZone);
  if (!f) formatters.set(timeZone, (f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })));
  return f.format(new Date(t * 1000));
}

// ---- pieces: a stretch of time in which one item had one price ----

interface Piece {
  /** The item key: the subscription item id, else `sub_…/price_…`. */
  readonly key: string;
  readonly price: StripePrice;
  readonly start: UnixSeconds;
  readonly end: UnixSeconds | null;
  /** Amount per billing interval, major units, before discount. */
  readonly amount: Big;
  /** Discount per billing interval, major units. */
  readonly discount: Big;
  /** The invoice line behind it, if any. */
  readonly line?: string;
  readonly metered: boolean;
  /** ISO code, upper case: the invoice line's, or the subscription's. */
  readonly currency: string;
}

interface Context {
  readonly objects: StripeObjects;
  readonly rules: StripeRules;
  readonly tz: string;
  readonly now: UnixSeconds;
  readonly includeTest: boolean;
  readonly warnings: Warnings;
}

class Warnings {
  private readonly counts = new Map<string, { n: number; examples: string[] }>();
  add(what: string, example: string): void {
    let w = this.counts.get(what);
    if (!w) this.counts.set(what, (w = { n: 0, examples: [] }));
    w.n++;
    if (w.examples.length < 3) w.examples.push(example);
  }
  list(): string[] {
    return [...this.counts].map(([what, w]) => `${what}: ${w.n} (${w.examples.join(', ')}${w.n > w.examples.length ? ', …' : ''})`);
  }
}

const isTest = (o: { readonly livemode?: boolean }): boolean => o.livemode === false;

/** The amount of a price for a quantity per billing interval, major units: per unit, or tiered (graduated or volume). */
export function priceAmount(price: StripePrice, quantity: number, currency?: string): Big {
  const option = currency && currency.toLowerCase() !== price.currency.toLowerCase() ? price.currency_options?.[currency.toLowerCase()] : undefined;
  if (option) price = { ...price, currency: currency!.toLowerCase(), unit_amount: option.unit_amount ?? null, unit_amount_decimal: option.unit_amount_decimal ?? null, tiers: option.tiers ?? price.tiers };
  const cur = price.currency;
  let q = quantity;
  if (price.transform_quantity && price.transform_quantity.divide_by > 0) {
    const d = q / price.transform_quantity.divide_by;
    q = price.transform_quantity.round === 'up' ? Math.ceil(d) : Math.floor(d);
  }
  const unitOf = (x: { unit_amount_decimal?: string | null; unit_amount?: number | null; amount_decimal?: string | null; amount?: number | null }): Big =>
    fromMinor(x.unit_amount_decimal ?? x.amount_decimal ?? x.unit_amount ?? x.amount ?? 0, cur);
  if (price.billing_scheme === 'tiered' && price.tiers && price.tiers.length > 0) {
    const flat = (t: (typeof price.tiers)[number]): Big => fromMinor(t.flat_amount_decimal ?? t.flat_amount ?? 0, cur);
    const unit = (t: (typeof price.tiers)[number]): Big => fromMinor(t.unit_amount_decimal ?? t.unit_amount ?? 0, cur);
    const upTo = (t: (typeof price.tiers)[number]): number => (t.up_to === null || t.up_to === 'inf' ? Infinity : t.up_to);
    if (price.tiers_mode === 'volume') {
      const tier = price.tiers.find((t) => q <= upTo(t)) ?? price.tiers[price.tiers.length - 1]!;
      return unit(tier).times(q).plus(q > 0 ? flat(tier) : 0);
    }
    let total = new Big(0);
    let below = 0;
    for (const t of price.tiers) {
      if (q <= below) break;
      const inTier = Math.min(q, upTo(t)) - below;
      total = total.plus(unit(t).times(inTier)).plus(flat(t));
      below = upTo(t);
    }
    return total;
  }
  return unitOf(price).times(q);
}

function recurringOf(price: StripePrice): StripeRecurring {
  return priceRecurring(price) ?? { interval: 'month', interval_count: 1 };
}

/** A discount's coupon, dates and whether the rules count it. */
interface DiscountSpan {
  readonly start: UnixSeconds;
  readonly end: UnixSeconds | null;
  readonly percent: Big | null;
  /** Amount off per invoice, major units, in `currency`. */
  readonly amountOff: Big | null;
  readonly currency: string | null;
  readonly duration: 'once' | 'repeating' | 'forever';
}

function discountSpan(ctx: Context, d: StripeDiscount, fallbackStart: UnixSeconds): DiscountSpan | null {
  const c = discountCoupon(ctx.objects, d);
  if (!c) return null;
  const cur = c.currency ?? null;
  return {
    start: d.start ?? fallbackStart,
    end: d.end ?? null,
    percent: c.percent_off !== null && c.percent_off !== undefined ? new Big(c.percent_off) : null,
    amountOff: c.amount_off !== null && c.amount_off !== undefined && cur ? fromMinor(c.amount_off, cur) : null,
    currency: cur ? cur.toUpperCase() : null,
    duration: c.duration,
  };
}

function counts(rules: StripeRules, duration: DiscountSpan['duration']): boolean {
  return duration === 'forever' || (duration === 'repeating' ? rules.discount_repeating === 'apply' : rules.discount_once === 'apply');
}

function resolveDiscount(ctx: Context, d: string | StripeDiscount): StripeDiscount | null {
  return typeof d === 'string' ? (ctx.objects.discounts.get(d) ?? null) : d;
}

/** The discounts in force on a subscription item now: the subscription's (stacked, in order) and the item's own. */
function currentDiscounts(ctx: Context, sub: StripeSubscription, itemDiscounts: readonly (string | StripeDiscount)[] | undefined, start: UnixSeconds): DiscountSpan[] {
  const raw: (string | StripeDiscount)[] = [];
  if (sub.discounts && sub.discounts.length > 0) raw.push(...sub.discounts);
  else if (sub.discount) raw.push(sub.discount);
  if (itemDiscounts) raw.push(...itemDiscounts);
  const out: DiscountSpan[] = [];
  const seen = new Set<string>();
  for (const r of raw) {
    const d = resolveDiscount(ctx, r);
    if (!d) {
      ctx.warnings.add('discounts named by id but not among the objects read: left out', typeof r === 'string' ? r : '?');
      continue;
    }
    if (d.id && seen.has(d.id)) continue;
    if (d.id) seen.add(d.id);
    const s = discountSpan(ctx, d, start);
    if (s) out.push(s);
  }
  return out;
}

/** Splits `p` where counted discounts start or end, and sets each part's discount. */
function applyDiscounts(ctx: Context, p: Piece, spans: readonly DiscountSpan[], currency: string): Piece[] {
  const r = recurringOf(p.price);
  const active = spans
    .filter((s) => counts(ctx.rules, s.duration))
    .map((s) => ({ ...s, end: s.duration === 'once' ? addInterval(s.start, r) : s.duration === 'forever' ? null : s.end }));
  const cuts = new Set<number>();
  for (const s of active) {
    if (s.start > p.start && (p.end === null || s.start < p.end)) cuts.add(s.start);
    if (s.end !== null && s.end > p.start && (p.end === null || s.end < p.end)) cuts.add(s.end);
  }
  const bounds = [p.start, ...[...cuts].sort((a, b) => a - b)];
  const out: Piece[] = [];
  for (let i = 0; i < bounds.length; i++) {
    const start = bounds[i]!;
    const end = i + 1 < bounds.length ? bounds[i + 1]! : p.end;
    let left = p.amount;
    for (const s of active) {
      if (!(s.start <= start && (s.end === null || s.end > start))) continue;
      if (s.percent) left = left.minus(truncate(left.times(s.percent).div(100)));
      else if (s.amountOff && s.currency === currency) left = left.minus(s.amountOff.gt(left) ? left : s.amountOff);
    }
    if (left.lt(0)) left = new Big(0);
    out.push({ ...p, start, end, discount: p.amount.minus(left) });
  }
  return out;
}

/** Discount of an invoice line that the rules count, major units. */
function lineDiscount(ctx: Context, line: StripeInvoiceLine): Big {
  let total = new Big(0);
  for (const da of line.discount_amounts ?? []) {
    if (da.amount === 0) continue;
    const d = resolveDiscount(ctx, da.discount);
    const c = d ? discountCoupon(ctx.objects, d) : null;
    if (c && !counts(ctx.rules, c.duration)) continue;
    total = total.plus(fromMinor(da.amount, line.currency));
  }
  return total;
}

/** The moment a subscription's MRR ends under the rules, or null while it runs on. */
function subscriptionEnd(ctx: Context, sub: StripeSubscription, lastPaidEnd: UnixSeconds | null): UnixSeconds | null {
  const requested = ctx.rules.churn_timing === 'requested' && sub.canceled_at ? sub.canceled_at : null;
  const periodEnd = Math.max(0, ...(sub.items?.data ?? []).map((i) => itemPeriod(sub, i)?.end ?? 0)) || (sub.current_period_end ?? null);
  const periodStart = Math.max(0, ...(sub.items?.data ?? []).map((i) => itemPeriod(sub, i)?.start ?? 0)) || (sub.current_period_start ?? null);
  switch (sub.status) {
    case 'canceled':
    case 'incomplete_expired': {
      const ended = sub.ended_at ?? sub.canceled_at ?? periodEnd;
      return requested !== null && ended !== null ? Math.min(requested, ended) : ended;
    }
    case 'unpaid':
      // The end of the last paid period: what follows was billed and never paid.
      if (ctx.rules.unpaid === 'churn') return lastPaidEnd ?? periodStart ?? sub.canceled_at ?? null;
      break;
    case 'paused':
      return periodStart ?? sub.trial_end ?? null;
    default:
      break;
  }
  if (sub.cancel_at_period_end || sub.cancel_at) {
    const at = sub.cancel_at ?? periodEnd;
    return requested ?? at ?? null;
  }
  return null;
}

function piecesOfSubscription(ctx: Context, sub: StripeSubscription, invoices: readonly StripeInvoice[], schedule: StripeSubscriptionSchedule | null): Piece[] {
  if (sub.status === 'incomplete' || sub.status === 'incomplete_expired') return [];
  const subStart = sub.start_date ?? sub.created ?? 0;
  // Trials bring no MRR: the paid life starts when the trial ends.
  const paidFrom = sub.trial_end && sub.trial_end > subStart ? sub.trial_end : subStart;
  if (sub.status === 'trialing') return [];
  let lastPaidEnd: UnixSeconds | null = null;
  for (const inv of invoices) {
    if (inv.status !== 'paid') continue;
    for (const line of inv.lines?.data ?? []) if (lineIsSubscription(line) && !lineIsProration(line) && line.amount > 0) lastPaidEnd = Math.max(lastPaidEnd ?? 0, line.period.end);
  }
  const end = subscriptionEnd(ctx, sub, lastPaidEnd);

  // 1. Price and quantity history from non-proration invoice lines of paid or open invoices.
  const byKey = new Map<string, Piece[]>();
  const prorations: { key: string; line: StripeInvoiceLine; price: StripePrice | null }[] = [];
  const keyOf = (item: string | null, price: StripePrice | null): string => item ?? `${sub.id}/${price?.id ?? 'price'}`;
  /** The earliest period start any invoice (of any status) bills for each item key. */
  const billedFrom = new Map<string, UnixSeconds>();
  for (const inv of invoices) {
    for (const line of inv.lines?.data ?? []) {
      if (!lineIsSubscription(line) || lineIsProration(line)) continue;
      const ls = lineSubscription(line);
      if (ls !== null && ls !== sub.id) continue;
      const key = keyOf(lineSubscriptionItem(line), linePrice(ctx.objects, line));
      billedFrom.set(key, Math.min(billedFrom.get(key) ?? Infinity, line.period.start));
    }
    if (inv.status !== 'paid' && inv.status !== 'open') continue;
    for (const line of inv.lines?.data ?? []) {
      if (!lineIsSubscription(line)) continue;
      const ls = lineSubscription(line);
      if (ls !== null && ls !== sub.id) continue;
      const price = linePrice(ctx.objects, line);
      const key = keyOf(lineSubscriptionItem(line), price);
      if (lineIsProration(line)) {
        prorations.push({ key, line, price });
        continue;
      }
      if (!price) {
        ctx.warnings.add('invoice lines without a known price: left out of the history', line.id);
        continue;
      }
      const metered = recurringOf(price).usage_type === 'metered';
      if (!metered && line.amount === 0) continue;
      const list = byKey.get(key) ?? [];
      list.push({ key, price, start: line.period.start, end: line.period.end, amount: fromMinor(line.amount, line.currency), discount: lineDiscount(ctx, line), line: line.id, metered, currency: line.currency.toUpperCase() });
      byKey.set(key, list);
    }
  }
  // Without any invoice, the past phases of its schedule are the history (M14).
  if (schedule && invoices.length === 0) {
    for (const ph of schedule.phases) {
      if (ph.start_date > ctx.now) continue;
      for (const it of ph.items) {
        const price = resolvePrice(ctx.objects, it.price ?? it.plan ?? null);
        if (!price) continue;
        const match = (sub.items?.data ?? []).find((i) => idOf(i.price ?? i.plan ?? null) === price.id);
        const key = match?.id ?? `${schedule.id}/${price.id}`;
        const metered = recurringOf(price).usage_type === 'metered';
        const currency = (sub.currency ?? price.currency).toUpperCase();
        const list = byKey.get(key) ?? [];
        list.push({ key, price, start: ph.start_date, end: ph.end_date ?? null, amount: metered ? new Big(0) : priceAmount(price, it.quantity ?? 1, currency), discount: new Big(0), metered, currency });
        byKey.set(key, list);
      }
    }
  }
  for (const list of byKey.values()) list.sort((a, b) => a.start - b.start);

  // 2. Changes inside an invoiced period, from its proration lines: a charge for the remaining time
  // starts the new price there; a credit alone (the item was removed) ends the old one there.
  for (const pr of prorations) {
    const list = byKey.get(pr.key);
    const at = pr.line.period.start;
    const i = list?.findIndex((p) => p.start < at && (p.end === null || at < p.end)) ?? -1;
    if (!list || i < 0) {
      // A charge for the rest of a period no invoiced line covers: an item added mid-period.
      if (pr.line.amount > 0 && pr.price) {
        const q = pr.line.quantity ?? 1;
        const added: Piece = { key: pr.key, price: pr.price, start: at, end: pr.line.period.end, amount: priceAmount(pr.price, q, pr.line.currency), discount: new Big(0), line: pr.line.id, metered: false, currency: pr.line.currency.toUpperCase() };
        if (list?.some((p) => p.start === at)) continue;
        if (list) {
          list.push(added);
          list.sort((a, b) => a.start - b.start);
        } else byKey.set(pr.key, [added]);
      }
      continue;
    }
    const p = list[i]!;
    const before: Piece = { ...p, end: at };
    if (pr.line.amount > 0 && pr.price) {
      const q = pr.line.quantity ?? 1;
      const after: Piece = { key: pr.key, price: pr.price, start: at, end: p.end, amount: priceAmount(pr.price, q, pr.line.currency), discount: p.discount, line: pr.line.id, metered: p.metered, currency: pr.line.currency.toUpperCase() };
      list.splice(i, 1, before, after);
    } else if (!prorations.some((o) => o.key === pr.key && o.line.amount > 0 && o.line.period.start === at)) {
      list.splice(i, 1, before);
    }
  }

  // 3. The subscription as it is now, from where its invoiced history ends.
  const pieces: Piece[] = [];
  const currentKeys = new Set<string>();
  for (const item of sub.items?.data ?? []) {
    const price = itemPrice(ctx.objects, item);
    if (!price) {
      ctx.warnings.add('subscription items whose price is not among the objects read: left out', item.id);
      continue;
    }
    const key = item.id;
    currentKeys.add(key);
    const metered = recurringOf(price).usage_type === 'metered';
    const history = byKey.get(key) ?? byKey.get(keyOf(null, price)) ?? [];
    // Periods before the first invoice read (an export that starts later than the subscription)
    // are taken at the first invoiced price.
    const itemStart = Math.max(item.created ?? subStart, subStart);
    const first = history[0];
    if (first && first.start > itemStart && (billedFrom.get(key) ?? Infinity) >= first.start) {
      history.unshift({ ...first, start: itemStart, end: first.start, line: undefined });
      ctx.warnings.add('subscription items whose invoices read start after the item: the months before are taken at the first invoiced price', item.id);
    }
    const from = history.length > 0 ? Math.max(...history.map((p) => p.end ?? Infinity)) : itemStart;
    // An open-ended history (a schedule's last phase, released) already runs on.
    if (!Number.isFinite(from)) continue;
    const currency = (sub.currency ?? price.currency).toUpperCase();
    const amount = metered ? new Big(0) : priceAmount(price, item.quantity ?? 1, currency);
    const spans = currentDiscounts(ctx, sub, item.discounts, from);
    let current: Piece = { key, price, start: from, end: null, amount, discount: new Big(0), metered, currency };
    // pause_collection: nothing while paused; from resumes_at again when set.
    if (sub.pause_collection && ctx.rules.pause === 'zero') {
      const period = itemPeriod(sub, item);
      const pausedFrom = Math.min(from, period?.start ?? from);
      for (const h of history) if (h.end !== null && h.end > pausedFrom) Object.assign(h, { end: Math.max(h.start, pausedFrom) });
      const resume = sub.pause_collection.resumes_at ?? null;
      if (resume === null) continue;
      current = { ...current, start: Math.max(resume, from) };
    }
    if (!metered || ctx.rules.metered === 'include') pieces.push(...applyDiscounts(ctx, current, spans, currency));
  }
  // The invoiced history of every item, current or gone; a metered item's is a 0 line (its charges are usage).
  for (const list of byKey.values()) {
    for (const p of list) if (!p.metered || ctx.rules.metered === 'include') pieces.push(p.metered ? { ...p, amount: new Big(0), discount: new Big(0) } : p);
  }

  // 4. Future phases of its schedule: committed changes.
  if (schedule && (schedule.status === 'active' || schedule.status === 'not_started')) {
    const future = schedule.phases.filter((ph) => ph.start_date > ctx.now);
    if (future.length > 0) {
      const cut = future[0]!.start_date;
      for (let i = 0; i < pieces.length; i++) {
        const p = pieces[i]!;
        if (p.end === null || p.end > cut) pieces[i] = { ...p, end: Math.max(p.start, cut) };
      }
      for (const ph of future) {
        const last = ph === schedule.phases[schedule.phases.length - 1];
        const phEnd = ph.end_date ?? null;
        const phaseEnd = last && schedule.end_behavior !== 'cancel' ? null : phEnd;
        for (const it of ph.items) {
          const price = resolvePrice(ctx.objects, it.price ?? it.plan ?? null);
          if (!price) {
            ctx.warnings.add('schedule phases naming a price not among the objects read: left out', schedule.id);
            continue;
          }
          const match = (sub.items?.data ?? []).find((i) => idOf(i.price ?? i.plan ?? null) === price.id);
          const key = match?.id ?? `${schedule.id}/${price.id}`;
          const metered = recurringOf(price).usage_type === 'metered';
          if (metered && ctx.rules.metered === 'exclude') continue;
          const currency = (sub.currency ?? price.currency).toUpperCase();
          pieces.push({ key, price, start: ph.start_date, end: phaseEnd, amount: metered ? new Big(0) : priceAmount(price, it.quantity ?? 1, currency), discount: new Big(0), metered, currency });
        }
      }
    }
  }

  // 5. Clip to the paid life of the subscription.
  const out: Piece[] = [];
  for (const p of pieces) {
    const start = Math.max(p.start, paidFrom);
    const pe = p.end === null ? end : end === null ? p.end : Math.min(p.end, end);
    if (pe !== null && pe <= start) continue;
    out.push({ ...p, start, end: pe });
  }
  return mergeAdjacent(out, ctx);
}

/** Consecutive pieces of one item at the same price and amounts become one line (the first one's id). */
function mergeAdjacent(pieces: Piece[], ctx: Context): Piece[] {
  pieces.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.start - b.start));
  const out: Piece[] = [];
  for (let p of pieces) {
    const prev = out[out.length - 1];
    // Two invoices for one stretch of an item (a reissued invoice): the later stretch starts where the earlier ends.
    if (prev && prev.key === p.key && prev.end !== null && p.start < prev.end) {
      if (p.end !== null && p.end <= prev.end) continue;
      p = { ...p, start: prev.end };
    }
    if (
      prev &&
      prev.key === p.key &&
      prev.price.id === p.price.id &&
      prev.currency === p.currency &&
      prev.end !== null &&
      (dayOf(prev.end, ctx.tz) === dayOf(p.start, ctx.tz) || (ctx.rules.pause === 'count' && prev.end <= p.start)) &&
      prev.amount.eq(p.amount) &&
      prev.discount.eq(p.discount)
    ) {
      out[out.length - 1] = { ...prev, end: p.end };
      continue;
    }
    out.push(p);
  }
  return out;
}

function productName(ctx: Context, price: StripePrice): string {
  const pid = priceProduct(price);
  const product = typeof price.product === 'object' && price.product ? price.product : pid ? ctx.objects.products.get(pid) : undefined;
  return product?.name ?? pid ?? price.nickname ?? price.id;
}

function accountIdOf(customer: StripeCustomer | undefined, id: string, key: string | null | undefined): string {
  if (key && customer?.metadata?.[key]) return customer.metadata[key]!;
  return id;
}

function customerRows(ctx: Context, customerId: string, key: string | null | undefined, out: ContractRows): void {
  const customer = ctx.objects.customers.get(customerId);
  if (customer && isTest(customer) && !ctx.includeTest) return;
  const accountId = accountIdOf(customer, customerId, key);
  if (key && accountId === customerId && customer && !customer.deleted) ctx.warnings.add(`customers without metadata '${key}': their Stripe id is the account id`, customerId);
  const ids = ctx.objects.byCustomer.get(customerId) ?? new Set<string>();
  const subs: StripeSubscription[] = [];
  const invoicesBySub = new Map<string, StripeInvoice[]>();
  const schedules = new Map<string, StripeSubscriptionSchedule>();
  const meteredLines: { line: StripeInvoiceLine; price: StripePrice; sub: string }[] = [];
  /** Schedules that have not started their subscription yet: their phases are future lines. */
  const pending: StripeSubscriptionSchedule[] = [];
  for (const id of ids) {
    const sub = ctx.objects.subscriptions.get(id);
    if (sub) {
      if (isTest(sub) && !ctx.includeTest) {
        ctx.warnings.add('test-mode subscriptions left out (livemode: false; --include-test-mode maps them)', sub.id);
        continue;
      }
      subs.push(sub);
      continue;
    }
    const inv = ctx.objects.invoices.get(id);
    if (inv) {
      if (isTest(inv) && !ctx.includeTest) continue;
      const s = invoiceSubscription(inv);
      if (s) invoicesBySub.set(s, [...(invoicesBySub.get(s) ?? []), inv]);
      continue;
    }
    const sch = ctx.objects.subscriptionSchedules.get(id);
    if (sch && (!isTest(sch) || ctx.includeTest)) {
      const s = idOf(sch.subscription ?? null);
      if (s) schedules.set(s, sch);
      else if (sch.status === 'not_started') pending.push(sch);
    }
  }
  if (customer === undefined && subs.length === 0) return;
  subs.sort((a, b) => (a.id < b.id ? -1 : 1));
  const usedIds = new Set<string>();
  // A schedule not started yet stands for the subscription it will create (M14).
  for (const sch of pending.sort((a, b) => (a.id < b.id ? -1 : 1))) {
    subs.push({ id: sch.id, object: 'subscription', customer: customerId, status: 'active', livemode: sch.livemode, start_date: sch.phases[0]?.start_date, created: sch.created, items: { data: [] } });
    schedules.set(sch.id, sch);
  }
  for (const sub of subs) {
    const invoices = invoicesBySub.get(sub.id) ?? [];
    const pieces = piecesOfSubscription(ctx, sub, invoices, schedules.get(sub.id) ?? null);
    for (const p of pieces) {
      const r = recurringOf(p.price);
      const cur = p.currency;
      let lineId = `${p.key}@${dayOf(p.start, ctx.tz)}${p.line ? `~${p.line}` : ''}`;
      // Two stretches of one item starting on one day (times of day apart): the second is told apart.
      for (let k = 2; usedIds.has(lineId); k++) lineId = `${lineId.replace(/#\d+$/, '')}#${k}`;
      usedIds.add(lineId);
      out.subscriptions.push({
        account_id: accountId,
        line_id: lineId,
        product: productName(ctx, p.price),
        start_date: dayOf(p.start, ctx.tz),
        end_date: p.end === null ? null : dayOf(p.end, ctx.tz),
        mrr: decimalText(monthly(p.amount, r)),
        discount: decimalText(monthly(p.discount, r)),
        currency: cur,
        stripe_subscription: sub.id,
      });
    }
    if (ctx.rules.metered === 'include') {
      for (const inv of invoices) {
        if (inv.status !== 'paid' && inv.status !== 'open') continue;
        for (const line of inv.lines?.data ?? []) {
          const price = linePrice(ctx.objects, line);
          if (price && recurringOf(price).usage_type === 'metered' && !lineIsProration(line)) meteredLines.push({ line, price, sub: sub.id });
        }
      }
    }
  }
  // Usage: metered invoice lines, in the month their period starts (when the usage happened).
  const usage = new Map<string, { product: string; month: string; amount: Big; currency: string }>();
  for (const { line, price } of meteredLines) {
    const product = productName(ctx, price);
    const month = dayOf(line.period.start, ctx.tz).slice(0, 7);
    const currency = line.currency.toUpperCase();
    const k = `${product}\u0000${month}\u0000${currency}`;
    const amount = fromMinor(line.amount, line.currency).minus(lineDiscount(ctx, line));
    const u = usage.get(k);
    usage.set(k, { product, month, currency, amount: u ? u.amount.plus(amount) : amount });
  }
  for (const u of [...usage.values()].sort((a, b) => (a.month + a.product < b.month + b.product ? -1 : 1))) {
    if (u.amount.lte(0)) continue;
    out.usage.push({ account_id: accountId, product: u.product, month: u.month, amount: decimalText(u.amount), currency: u.currency });
  }
  const meta = customer?.metadata ?? {};
  const row: Record<string, string | null> = {
    account_id: accountId,
    name: customer?.name ?? null,
    email: customer?.email ?? null,
    country: customer?.address?.country ?? null,
    currency: customer?.currency ? customer.currency.toUpperCase() : null,
    created: customer?.created ? dayOf(customer.created, ctx.tz) : null,
    stripe_customer: customerId,
    deleted: customer?.deleted ? 'true' : 'false',
  };
  for (const k of Object.keys(meta).sort()) row[`metadata.${k}`] = meta[k] ?? null;
  if (customer?.deleted) ctx.warnings.add('deleted customers: kept, with deleted = true; their subscriptions end as Stripe ended them', customerId);
  if (customer === undefined) ctx.warnings.add('customers named by subscriptions but not among the objects read: accounts without attributes', customerId);
  out.accounts.push(row as AccountRow);
}

function context(objects: StripeObjects, settings: StripeMappingSettings, warnings: Warnings): Context {
  return {
    objects,
    rules: profileRules(settings.profile ?? 'nrr'),
    tz: settings.timezone,
    now: settings.now ?? Math.floor(Date.now() / 1000),
    includeTest: settings.includeTestMode === true,
    warnings,
  };
}

/** Every customer's rows (accounts, subscriptions, usage), ordered by customer id. */
export function mapStripe(objects: StripeObjects, settings: StripeMappingSettings): ContractRows {
  const warnings = new Warnings();
  const ctx = context(objects, settings, warnings);
  const out: ContractRows = { accounts: [], subscriptions: [], usage: [], warnings: [] };
  const ids = new Set<string>(objects.customers.keys());
  for (const s of objects.subscriptions.values()) ids.add(customerOf(s));
  for (const id of [...ids].sort()) customerRows(ctx, id, settings.accountMetadataKey, out);
  if (!ctx.includeTest) for (const c of objects.customers.values()) if (isTest(c)) warnings.add('test-mode customers left out (livemode: false; --include-test-mode maps them)', c.id);
  checkUniqueAccounts(out, warnings);
  out.warnings.push(...warnings.list());
  return out;
}

/** One customer's rows only (the webhook path re-maps one customer and replaces that account's rows). */
export function mapStripeCustomer(objects: StripeObjects, customerId: string, settings: StripeMappingSettings): ContractRows {
  const warnings = new Warnings();
  const ctx = context(objects, settings, warnings);
  const out: ContractRows = { accounts: [], subscriptions: [], usage: [], warnings: [] };
  customerRows(ctx, customerId, settings.accountMetadataKey, out);
  out.warnings.push(...warnings.list());
  return out;
}

/** Two customers mapped to one account (a metadata key shared): their rows add up; the accounts file keeps the first. */
function checkUniqueAccounts(out: ContractRows, warnings: Warnings): void {
  const seen = new Set<string>();
  const kept: AccountRow[] = [];
  for (const a of out.accounts) {
    if (seen.has(a.account_id)) {
      warnings.add('customers sharing an account id: their subscriptions add up under it; the first customer gives the attributes', `${a.account_id} (${a['stripe_customer']})`);
      continue;
    }
    seen.add(a.account_id);
    kept.push(a);
  }
  out.accounts.splice(0, out.accounts.length, ...kept);
}
