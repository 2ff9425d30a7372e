import { readdirSync, statSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { NrrError } from '../errors.js';
import { fsErrorText } from '../input-file.js';

/**
 * The Stripe objects nrr reads, as Stripe's API returns them: the 2025-03-31 ("basil") shapes and
 * the earlier ones (fields that moved are optional in both places; the accessors at the end of this
 * file read either). Only the fields the mapping uses are typed; everything else is kept as it
 * came, so the raw objects can be written back unchanged.
 */

/** Unix seconds, as Stripe writes every timestamp. */
export type UnixSeconds = number;
export type Metadata = Record<string, string>;

export interface StripeDeleted {
  readonly id: string;
  readonly object: string;
  readonly deleted: true;
}

export interface StripeCustomer {
  readonly id: string;
  readonly object: 'customer';
  readonly deleted?: boolean;
  readonly created?: UnixSeconds;
  readonly livemode?: boolean;
  readonly name?: string | null;
  readonly email?: string | null;
  readonly description?: string | null;
  readonly currency?: string | null;
  readonly address?: { readonly country?: string | null } | null;
  readonly metadata?: Metadata;
}

export interface StripeProduct {
  readonly id: string;
  readonly object: 'product';
  readonly name?: string;
  readonly livemode?: boolean;
  readonly deleted?: boolean;
  readonly metadata?: Metadata;
}

export interface StripeTier {
  readonly up_to: number | 'inf' | null;
  readonly unit_amount?: number | null;
  readonly unit_amount_decimal?: string | null;
  readonly flat_amount?: number | null;
  readonly flat_amount_decimal?: string | null;
}

export interface StripeRecurring {
  readonly interval: 'day' | 'week' | 'month' | 'year';
  readonly interval_count?: number;
  readonly usage_type?: 'licensed' | 'metered';
  readonly meter?: string | null;
}

/** A price; a legacy plan (object 'plan') reads the same through `priceAmountPerUnit` and `priceRecurring`. */
export interface StripePrice {
  readonly id: string;
  readonly object: 'price' | 'plan';
  readonly livemode?: boolean;
  readonly currency: string;
  readonly product?: string | StripeProduct | null;
  readonly nickname?: string | null;
  readonly type?: 'one_time' | 'recurring';
  readonly unit_amount?: number | null;
  readonly unit_amount_decimal?: string | null;
  readonly billing_scheme?: 'per_unit' | 'tiered';
  readonly tiers_mode?: 'graduated' | 'volume' | null;
  readonly tiers?: readonly StripeTier[] | null;
  readonly transform_quantity?: { readonly divide_by: number; readonly round: 'up' | 'down' } | null;
  readonly recurring?: StripeRecurring | null;
  /** Prices in other currencies, by lowercase code (a subscription in one of them is billed at it). */
  readonly currency_options?: Readonly<Record<string, { readonly unit_amount?: number | null; readonly unit_amount_decimal?: string | null; readonly tiers?: readonly StripeTier[] | null }>> | null;
  /** Legacy plan fields. */
  readonly amount?: number | null;
  readonly amount_decimal?: string | null;
  readonly interval?: StripeRecurring['interval'];
  readonly interval_count?: number;
  readonly usage_type?: StripeRecurring['usage_type'];
}

export interface StripeCoupon {
  readonly id: string;
  readonly object: 'coupon';
  readonly livemode?: boolean;
  readonly percent_off?: number | null;
  readonly amount_off?: number | null;
  readonly currency?: string | null;
  readonly duration: 'once' | 'repeating' | 'forever';
  readonly duration_in_months?: number | null;
  readonly deleted?: boolean;
}

/** A discount applied to a customer, subscription or item; from 2025-09-30 its coupon is under `source`. */
export interface StripeDiscount {
  readonly id?: string;
  readonly object: 'discount';
  readonly coupon?: StripeCoupon | string;
  readonly source?: { readonly type?: 'coupon'; readonly coupon?: StripeCoupon | string | null };
  readonly start?: UnixSeconds;
  readonly end?: UnixSeconds | null;
  readonly subscription?: string | null;
  readonly subscription_item?: string | null;
  readonly customer?: string | null;
}

export interface StripeSubscriptionItem {
  readonly id: string;
  readonly object: 'subscription_item';
  readonly created?: UnixSeconds;
  readonly price?: StripePrice | string;
  readonly plan?: StripePrice | string;
  readonly quantity?: number | null;
  /** Basil: the billing period moved from the subscription to its items. */
  readonly current_period_start?: UnixSeconds;
  readonly current_period_end?: UnixSeconds;
  readonly discounts?: readonly (string | StripeDiscount)[];
  readonly subscription?: string;
}

export type SubscriptionStatus = 'incomplete' | 'incomplete_expired' | 'trialing' | 'active' | 'past_due' | 'canceled' | 'unpaid' | 'paused';

export interface StripeSubscription {
  readonly id: string;
  readonly object: 'subscription';
  readonly livemode?: boolean;
  readonly customer: string | StripeCustomer;
  readonly status: SubscriptionStatus;
  readonly currency?: string;
  readonly created?: UnixSeconds;
  readonly start_date?: UnixSeconds;
  readonly ended_at?: UnixSeconds | null;
  readonly canceled_at?: UnixSeconds | null;
  readonly cancel_at?: UnixSeconds | null;
  readonly cancel_at_period_end?: boolean;
  readonly trial_start?: UnixSeconds | null;
  readonly trial_end?: UnixSeconds | null;
  /** Before basil only (basil: on each item). */
  readonly current_period_start?: UnixSeconds;
  readonly current_period_end?: UnixSeconds;
  readonly items?: { readonly object?: 'list'; readonly data: readonly StripeSubscriptionItem[]; readonly has_more?: boolean };
  /** Before basil: one discount. */
  readonly discount?: StripeDiscount | null;
  /** Since 2024: several, stacked in order; ids or expanded objects. */
  readonly discounts?: readonly (string | StripeDiscount)[];
  readonly pause_collection?: { readonly behavior: 'keep_as_draft' | 'mark_uncollectible' | 'void'; readonly resumes_at?: UnixSeconds | null } | null;
  readonly schedule?: string | StripeSubscriptionSchedule | null;
  readonly metadata?: Metadata;
  /** Legacy single-plan fields. */
  readonly plan?: StripePrice | null;
  readonly quantity?: number | null;
}

export interface StripeSchedulePhaseItem {
  readonly price?: string | StripePrice;
  readonly plan?: string | StripePrice;
  readonly quantity?: number | null;
  readonly discounts?: readonly { readonly coupon?: string | StripeCoupon | null; readonly discount?: string | null }[];
}

export interface StripeSchedulePhase {
  readonly start_date: UnixSeconds;
  readonly end_date: UnixSeconds | null;
  readonly items: readonly StripeSchedulePhaseItem[];
  readonly coupon?: string | StripeCoupon | null;
  readonly discounts?: readonly { readonly coupon?: string | StripeCoupon | null; readonly discount?: string | null }[];
  readonly trial_end?: UnixSeconds | null;
  readonly currency?: string;
}

export interface StripeSubscriptionSchedule {
  readonly id: string;
  readonly object: 'subscription_schedule';
  readonly livemode?: boolean;
  readonly customer: string | StripeCustomer;
  readonly subscription?: string | StripeSubscription | null;
  readonly status: 'not_started' | 'active' | 'completed' | 'released' | 'canceled';
  readonly created?: UnixSeconds;
  readonly end_behavior?: 'release' | 'cancel' | 'none' | 'renew';
  readonly phases: readonly StripeSchedulePhase[];
  readonly current_phase?: { readonly start_date: UnixSeconds; readonly end_date: UnixSeconds } | null;
  readonly canceled_at?: UnixSeconds | null;
  readonly released_at?: UnixSeconds | null;
  readonly completed_at?: UnixSeconds | null;
}

export interface StripeInvoiceLine {
  readonly id: string;
  readonly object: 'line_item';
  readonly amount: number;
  readonly currency: string;
  readonly description?: string | null;
  readonly period: { readonly start: UnixSeconds; readonly end: UnixSeconds };
  readonly quantity?: number | null;
  readonly discount_amounts?: readonly { readonly amount: number; readonly discount: string | StripeDiscount }[] | null;
  /** Before basil. */
  readonly type?: 'subscription' | 'invoiceitem';
  readonly proration?: boolean;
  readonly price?: StripePrice | string | null;
  readonly plan?: StripePrice | string | null;
  readonly subscription?: string | null;
  readonly subscription_item?: string | null;
  /** Basil. */
  readonly parent?: {
    readonly type?: 'subscription_item_details' | 'invoice_item_details';
    readonly subscription_item_details?: {
      readonly subscription?: string | null;
      readonly subscription_item?: string | null;
      readonly proration?: boolean;
      readonly invoice_item?: string | null;
    } | null;
    readonly invoice_item_details?: { readonly invoice_item?: string; readonly proration?: boolean; readonly subscription?: string | null } | null;
  } | null;
  readonly pricing?: { readonly price_details?: { readonly price?: string | StripePrice; readonly product?: string }; readonly unit_amount_decimal?: string | null } | null;
}

export interface StripeInvoice {
  readonly id: string;
  readonly object: 'invoice';
  readonly livemode?: boolean;
  readonly customer: string | StripeCustomer;
  readonly status?: 'draft' | 'open' | 'paid' | 'uncollectible' | 'void' | null;
  readonly currency: string;
  readonly created?: UnixSeconds;
  readonly period_start?: UnixSeconds;
  readonly period_end?: UnixSeconds;
  readonly billing_reason?: string | null;
  readonly total?: number;
  readonly lines?: { readonly object?: 'list'; readonly data: readonly StripeInvoiceLine[]; readonly has_more?: boolean };
  /** Before basil. */
  readonly subscription?: string | StripeSubscription | null;
  /** Basil. */
  readonly parent?: { readonly type?: string; readonly subscription_details?: { readonly subscription?: string | StripeSubscription | null } | null } | null;
}

export interface StripeCreditNote {
  readonly id: string;
  readonly object: 'credit_note';
  readonly livemode?: boolean;
  readonly invoice: string | StripeInvoice;
  readonly customer: string | StripeCustomer;
  readonly amount: number;
  readonly currency: string;
  readonly created?: UnixSeconds;
  readonly status?: 'issued' | 'void';
  readonly reason?: string | null;
  readonly type?: 'pre_payment' | 'post_payment' | 'mixed';
}

/** The object types nrr keeps, by the name of their `object` field. */
export const STRIPE_TYPES = ['customer', 'subscription', 'price', 'product', 'coupon', 'subscription_schedule', 'invoice', 'credit_note', 'discount'] as const;
export type StripeType = (typeof STRIPE_TYPES)[number];

/** Stripe objects in memory, by type and id. Build it with `emptyStripeObjects` and `addStripeObject`. */
export interface StripeObjects {
  readonly customers: Map<string, StripeCustomer>;
  readonly subscriptions: Map<string, StripeSubscription>;
  /** Prices and legacy plans, by id (a plan's id is its price id). */
  readonly prices: Map<string, StripePrice>;
  readonly products: Map<string, StripeProduct>;
  readonly coupons: Map<string, StripeCoupon>;
  readonly subscriptionSchedules: Map<string, StripeSubscriptionSchedule>;
  readonly invoices: Map<string, StripeInvoice>;
  readonly creditNotes: Map<string, StripeCreditNote>;
  /** Discounts met inside other objects (their coupon and dates), by id. */
  readonly discounts: Map<string, StripeDiscount>;
  /** Ids of the subscriptions, schedules, invoices and credit notes of each customer. */
  readonly byCustomer: Map<string, Set<string>>;
  /** The version each object was added at (`type:id` → its version; see `addStripeObject`). */
  readonly versions: Map<string, number>;
  /** The JSON text an object was read from (`type:id` → text), so that it is written back without printing it again. */
  readonly texts: Map<string, string>;
  /** Objects of other types met while reading, by type: counted, not kept. */
  readonly skipped: Map<string, number>;
}

export function emptyStripeObjects(): StripeObjects {
  return {
    customers: new Map(),
    subscriptions: new Map(),
    prices: new Map(),
    products: new Map(),
    coupons: new Map(),
    subscriptionSchedules: new Map(),
    invoices: new Map(),
    creditNotes: new Map(),
    discounts: new Map(),
    byCustomer: new Map(),
    versions: new Map(),
    texts: new Map(),
    skipped: new Map(),
  };
}

type AnyObject = { readonly id?: unknown; readonly object?: unknown; readonly [k: string]: unknown };

function mapOf(objects: StripeObjects, type: string): Map<string, unknown> | undefined {
  switch (type) {
    case 'customer':
      return objects.customers;
    case 'subscription':
      return objects.subscriptions;
    case 'price':
    case 'plan':
      return objects.prices;
    case 'product':
      return objects.products;
    case 'coupon':
      return objects.coupons;
    case 'subscription_schedule':
      return objects.subscriptionSchedules;
    case 'invoice':
      return objects.invoices;
    case 'credit_note':
      return objects.creditNotes;
    case 'discount':
      return objects.discounts;
    default:
      return undefined;
  }
}

/** What `addStripeObject` did with an object. */
export type AddOutcome = 'added' | 'replaced' | 'older' | 'skipped';

/**
 * Adds one Stripe object (or the object of an `event`) to `objects`, replacing the one with the
 * same type and id unless that one is newer. An object's version is `version` when given (an
 * event's `created`, the time a sync fetched it), else the object's own `updated` or `created`;
 * on equal versions the later call wins, so a list read in order keeps its last copy. Prices,
 * products and coupons expanded inside an object are added too, unless already known at a newer
 * version. A deleted object (`deleted: true`) replaces the one it deletes and keeps what it knew
 * (a deleted customer keeps its name and metadata, marked deleted).
 */
export function addStripeObject(objects: StripeObjects, obj: unknown, version?: number, text?: string): AddOutcome {
  if (obj === null || typeof obj !== 'object') return 'skipped';
  const o = obj as AnyObject;
  if (o.object === 'event') {
    const data = o['data'] as { object?: unknown } | undefined;
    const created = typeof o['created'] === 'number' ? o['created'] : undefined;
    return addStripeObject(objects, data?.object, version ?? created);
  }
  if (o.object === 'list' && Array.isArray(o['data'])) {
    let last: AddOutcome = 'skipped';
    for (const x of o['data'] as unknown[]) last = addStripeObject(objects, x, version);
    return last;
  }
  const type = typeof o.object === 'string' ? o.object : '';
  const id = typeof o.id === 'string' ? o.id : '';
  const map = mapOf(objects, type);
  if (!map || id === '') {
    const t = type || 'unknown';
    objects.skipped.set(t, (objects.skipped.get(t) ?? 0) + 1);
    return 'skipped';
  }
  const key = `${type === 'plan' ? 'price' : type}:${id}`;
  const own = typeof o['updated'] === 'number' ? o['updated'] : typeof o['created'] === 'number' ? o['created'] : 0;
  const v = version ?? own;
  const had = objects.versions.get(key);
  if (had !== undefined && had > v) return 'older';
  const before = map.get(id) as AnyObject | undefined;
  const value = o['deleted'] === true && before ? { ...before, ...o } : o;
  map.set(id, value);
  objects.versions.set(key, v);
  if (text !== undefined && value === o) objects.texts.set(key, text);
  else objects.texts.delete(key);
  const customer = o['customer'];
  const cid = typeof customer === 'string' ? customer : customer && typeof customer === 'object' ? (customer as AnyObject).id : undefined;
  if (typeof cid === 'string' && type !== 'customer' && type !== 'discount') {
    let set = objects.byCustomer.get(cid);
    if (!set) objects.byCustomer.set(cid, (set = new Set()));
    set.add(id);
  }
  addNested(objects, o, v);
  return had === undefined ? 'added' : 'replaced';
}

/** Prices, products, coupons and discounts expanded inside `o`, added without replacing newer copies. */
function addNested(objects: StripeObjects, o: AnyObject, v: number): void {
  const keep = (x: unknown): void => {
    if (x === null || typeof x !== 'object') return;
    const n = x as AnyObject;
    const t = n.object;
    if ((t !== 'price' && t !== 'plan' && t !== 'product' && t !== 'coupon' && t !== 'discount') || typeof n.id !== 'string') return;
    const key = `${t === 'plan' ? 'price' : t}:${n.id}`;
    const had = objects.versions.get(key);
    if (had === undefined || had < v) {
      mapOf(objects, t)!.set(n.id, n);
      objects.versions.set(key, v);
      objects.texts.delete(key);
    }
    if (t === 'price' || t === 'plan') keep(n['product']);
    if (t === 'discount') {
      keep(n['coupon']);
      keep((n['source'] as AnyObject | undefined)?.['coupon']);
    }
  };
  const discounts = (x: unknown): void => {
    if (Array.isArray(x)) for (const d of x) keep(d);
  };
  const listData = (x: unknown): readonly AnyObject[] => {
    const data = (x as { data?: unknown } | null | undefined)?.data;
    return Array.isArray(data) ? (data as AnyObject[]) : [];
  };
  // Only where Stripe expands them: a walk over every field of every object costs more than the rest of a read.
  switch (o.object) {
    case 'subscription':
      keep(o['discount']);
      discounts(o['discounts']);
      keep(o['plan']);
      for (const item of listData(o['items'])) {
        keep(item['price']);
        keep(item['plan']);
        discounts(item['discounts']);
      }
      break;
    case 'invoice':
      for (const line of listData(o['lines'])) {
        keep(line['price']);
        keep(line['plan']);
        keep(((line['pricing'] as AnyObject | null | undefined)?.['price_details'] as AnyObject | undefined)?.['price']);
        discounts(line['discounts']);
        for (const da of (line['discount_amounts'] as { discount?: unknown }[] | null | undefined) ?? []) keep(da.discount);
      }
      break;
    case 'subscription_schedule':
      for (const ph of (o['phases'] as AnyObject[] | undefined) ?? []) {
        keep(ph['coupon']);
        for (const it of (ph['items'] as AnyObject[] | undefined) ?? []) {
          keep(it['price']);
          keep(it['plan']);
        }
      }
      break;
    case 'price':
    case 'plan':
      keep(o['product']);
      break;
    case 'discount':
      keep(o['coupon']);
      keep((o['source'] as AnyObject | undefined)?.['coupon']);
      break;
    case 'customer':
      // A customer listed with `expand[]=data.subscriptions` carries its subscriptions.
      for (const sub of listData(o['subscriptions'])) if (sub.object === 'subscription') addStripeObject(objects, sub, v);
      break;
    default:
      break;
  }
}

/** How many objects of each kept type `objects` holds. */
export function countStripeObjects(objects: StripeObjects): Record<StripeType, number> {
  return {
    customer: objects.customers.size,
    subscription: objects.subscriptions.size,
    price: objects.prices.size,
    product: objects.products.size,
    coupon: objects.coupons.size,
    subscription_schedule: objects.subscriptionSchedules.size,
    invoice: objects.invoices.size,
    credit_note: objects.creditNotes.size,
    discount: objects.discounts.size,
  };
}

/** Every kept object, in an order that reads back to the same collection (its version beside it). */
export function* allStripeObjects(objects: StripeObjects): Generator<{ readonly version: number; readonly object: unknown; readonly text?: string }> {
  const maps: readonly [string, Map<string, unknown>][] = [
    ['product', objects.products],
    ['price', objects.prices],
    ['coupon', objects.coupons],
    ['discount', objects.discounts],
    ['customer', objects.customers],
    ['subscription', objects.subscriptions],
    ['subscription_schedule', objects.subscriptionSchedules],
    ['invoice', objects.invoices],
    ['credit_note', objects.creditNotes],
  ];
  for (const [type, map] of maps) {
    for (const [id, object] of map) {
      const key = `${type}:${id}`;
      yield { version: objects.versions.get(key) ?? 0, object, text: objects.texts.get(key) };
    }
  }
}

const READABLE = new Set(['.json', '.jsonl', '.ndjson']);

/**
 * Reads Stripe objects from a file or a folder: `*.json` files holding a list page
 * (`{"object":"list","data":[…]}`), an array of objects or one object; `*.jsonl` / `*.ndjson` files
 * with one object (or event, or list page) per line. A folder is read in name order, not
 * recursively; other files in it are ignored. Later copies of an object replace earlier ones
 * (see `addStripeObject`). A line `{"version":N,"object":{…}}` (as `nrr stripe import` keeps its raw
 * objects) adds the object at version N.
 */
export async function readStripeObjects(path: string, into: StripeObjects = emptyStripeObjects()): Promise<StripeObjects> {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new NrrError(`cannot read ${path}: ${fsErrorText(e)}`);
  }
  const files = st.isDirectory()
    ? readdirSync(path)
        .filter((f) => READABLE.has(extname(f).toLowerCase()) && !f.startsWith('.'))
        .sort()
        .map((f) => join(path, f))
    : [path];
  if (st.isDirectory() && files.length === 0) throw new NrrError(`${path} holds no *.json or *.jsonl file of Stripe objects`);
  for (const f of files) {
    if (extname(f).toLowerCase() === '.json') await readJsonFile(f, into);
    else await readJsonLines(f, into);
  }
  return into;
}

const WRAPPED = /^\{"version":(\d+),"object":/;

/** Adds a parsed value; `text` is the JSON text of a whole line, kept for an object read as it is. */
function addParsed(objects: StripeObjects, value: unknown, text?: string): void {
  if (Array.isArray(value)) {
    for (const v of value) addParsed(objects, v);
    return;
  }
  if (value !== null && typeof value === 'object' && !('id' in value) && 'version' in value && 'object' in value && typeof (value as { object: unknown }).object === 'object') {
    const w = value as { version: unknown; object: unknown };
    // A line as nrr writes it: {"version":N,"object":TEXT}, TEXT being the object's own JSON.
    const m = text === undefined ? null : WRAPPED.exec(text);
    const inner = m && text!.endsWith('}') ? text!.slice(m[0].length, -1) : undefined;
    addStripeObject(objects, w.object, typeof w.version === 'number' ? w.version : undefined, inner);
    return;
  }
  const o = value as { object?: unknown } | null;
  addStripeObject(objects, value, undefined, o && typeof o === 'object' && o.object !== 'event' && o.object !== 'list' ? text : undefined);
}

async function readJsonFile(file: string, objects: StripeObjects): Promise<void> {
  let text;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new NrrError(`cannot read ${file}: ${fsErrorText(e)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new NrrError(`${file} is not JSON: ${(e as Error).message}; expected a Stripe list page {"object":"list","data":[…]}`);
  }
  if (value === null || typeof value !== 'object') throw new NrrError(`${file}: expected a Stripe list page {"object":"list","data":[…]}, an array of objects or one object`);
  addParsed(objects, value);
}

async function readJsonLines(file: string, objects: StripeObjects): Promise<void> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (e) {
    throw new NrrError(`cannot read ${file}: ${fsErrorText(e)}`);
  }
  const decoder = new StringDecoder('utf8');
  const buf = Buffer.allocUnsafe(1 << 22);
  let rest = '';
  let n = 0;
  const take = (line: string): void => {
    n++;
    if (line.length === 0 || (line.charCodeAt(0) <= 32 && line.trim() === '')) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new NrrError(`${basename(file)} line ${n} is not JSON: ${(e as Error).message}; expected one Stripe object per line`);
    }
    addParsed(objects, value, line.endsWith('\r') ? line.slice(0, -1) : line);
  };
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      const text = rest + decoder.write(buf.subarray(0, bytesRead));
      let from = 0;
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', from)) {
        take(text.slice(from, nl));
        from = nl + 1;
      }
      rest = text.slice(from);
    }
    rest += decoder.end();
    if (rest !== '') take(rest);
  } catch (e) {
    if (e instanceof NrrError) throw e;
    throw new NrrError(`cannot read ${file}: ${fsErrorText(e)}`);
  } finally {
    await handle.close();
  }
}

// ---- Accessors that read both API shapes ----

/** The id of an expandable field: the string, or the expanded object's id. */
export function idOf(x: string | { readonly id: string } | null | undefined): string | null {
  if (x === null || x === undefined) return null;
  return typeof x === 'string' ? x : x.id;
}

/** The price (or legacy plan) of a subscription item, looked up when only its id is given. */
export function itemPrice(objects: StripeObjects, item: StripeSubscriptionItem): StripePrice | null {
  return resolvePrice(objects, item.price ?? item.plan ?? null);
}

export function resolvePrice(objects: StripeObjects, p: string | StripePrice | null | undefined): StripePrice | null {
  if (p === null || p === undefined) return null;
  if (typeof p === 'string') return objects.prices.get(p) ?? null;
  return objects.prices.get(p.id) ?? p;
}

export function resolveCoupon(objects: StripeObjects, c: string | StripeCoupon | null | undefined): StripeCoupon | null {
  if (c === null || c === undefined) return null;
  if (typeof c === 'string') return objects.coupons.get(c) ?? null;
  return c;
}

/** The recurring terms of a price or legacy plan, or null for a one-time price. */
export function priceRecurring(p: StripePrice): StripeRecurring | null {
  if (p.recurring) return p.recurring;
  if (p.interval) return { interval: p.interval, interval_count: p.interval_count ?? 1, usage_type: p.usage_type ?? 'licensed' };
  return null;
}

/** The product id of a price. */
export function priceProduct(p: StripePrice): string | null {
  return idOf(p.product ?? null);
}

/** The coupon a discount applies: `source.coupon` (basil) or `coupon` (earlier). */
export function discountCoupon(objects: StripeObjects, d: StripeDiscount): StripeCoupon | null {
  return resolveCoupon(objects, d.source?.coupon ?? d.coupon ?? null);
}

/** The subscription an invoice bills: `parent.subscription_details.subscription` (basil) or `subscription`. */
export function invoiceSubscription(inv: StripeInvoice): string | null {
  return idOf(inv.parent?.subscription_details?.subscription ?? inv.subscription ?? null);
}

/** The subscription item an invoice line bills, if any. */
export function lineSubscriptionItem(line: StripeInvoiceLine): string | null {
  return line.parent?.subscription_item_details?.subscription_item ?? line.subscription_item ?? null;
}

/** The subscription an invoice line bills, if any. */
export function lineSubscription(line: StripeInvoiceLine): string | null {
  return line.parent?.subscription_item_details?.subscription ?? line.parent?.invoice_item_details?.subscription ?? line.subscription ?? null;
}

/** Whether an invoice line is a proration (a credit or charge for part of a period after a change). */
export function lineIsProration(line: StripeInvoiceLine): boolean {
  return line.parent?.subscription_item_details?.proration ?? line.parent?.invoice_item_details?.proration ?? line.proration ?? false;
}

/** Whether the line bills a subscription period (not a one-off invoice item). */
export function lineIsSubscription(line: StripeInvoiceLine): boolean {
  if (line.parent) return line.parent.type === 'subscription_item_details' || !!line.parent.subscription_item_details;
  return line.type === 'subscription' || (line.type === undefined && !!line.subscription_item);
}

/** The price of an invoice line: `pricing.price_details.price` (basil) or `price`/`plan`. */
export function linePrice(objects: StripeObjects, line: StripeInvoiceLine): StripePrice | null {
  return resolvePrice(objects, line.pricing?.price_details?.price ?? line.price ?? line.plan ?? null);
}

/** The billing period of a subscription item: on the item (basil) or on the subscription (earlier). */
export function itemPeriod(sub: StripeSubscription, item: StripeSubscriptionItem): { start: UnixSeconds; end: UnixSeconds } | null {
  const start = item.current_period_start ?? sub.current_period_start;
  const end = item.current_period_end ?? sub.current_period_end;
  return start !== undefined && end !== undefined ? { start, end } : null;
}

/** The customer id of an object that names one. */
export function customerOf(x: { readonly customer: string | StripeCustomer }): string {
  return typeof x.customer === 'string' ? x.customer : x.customer.id;
}
