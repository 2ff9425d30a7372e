import type { CustomerRows, StripeLiveModel } from './stripe-events.js';
import { SUBSCRIPTION_COLUMNS, USAGE_COLUMNS, mapStripeCustomer, type StripeMappingSettings } from './stripe-mapping.js';
import { STRIPE_TYPES, addStripeObject, customerOf, idOf, itemPrice, priceProduct, type StripeObjects, type StripeSubscription } from './stripe-objects.js';

/** Keeps objects received one by one where the data folder keeps its Stripe objects (`appendKeptObjects`). */
export type KeepObjects = (entries: readonly { readonly version: number; readonly object: unknown }[]) => void;

/**
 * The Stripe objects of a data folder held in memory by `nrr serve`, mapped one customer at a
 * time with stripe-import's mapping. An object a webhook brings is added at the event's version
 * (`created`): an older version than the one kept is refused (`older`), so events apply in the
 * order of the object's versions whatever order they arrive in. Each object taken is kept with
 * `keep` (stripe/objects.jsonl), so that a restarted server, and a later re-map, start from it.
 */
export class StripeObjectsModel implements StripeLiveModel {
  private constructor(
    private readonly objects: StripeObjects,
    private readonly settings: StripeMappingSettings,
    private readonly keep: KeepObjects,
    /** Account attributes the workspace has (a new metadata key needs the accounts file and a sync). */
    private readonly attributes: ReadonlySet<string> | null,
    /** "Now" for the mapping (schedule phases starting later are future changes), Unix seconds. */
    private readonly now: () => number,
  ) {}

  /** `objects`: the kept objects (those webhooks brought earlier among them). */
  static open(
    objects: StripeObjects,
    settings: StripeMappingSettings,
    keep: KeepObjects,
    attributes: readonly string[] | null,
    now: () => number = () => settings.now ?? Math.floor(Date.now() / 1000),
  ): StripeObjectsModel {
    return new StripeObjectsModel(objects, settings, keep, attributes === null ? null : new Set(attributes.map((a) => a.toLowerCase())), now);
  }

  reads(objectType: string): boolean {
    return (STRIPE_TYPES as readonly string[]).includes(objectType) || objectType === 'plan';
  }

  customersOf(object: Record<string, unknown>): string[] {
    const id = String(object['id']);
    const type = String(object['object']);
    if (type === 'customer') return [id];
    const out = new Set<string>();
    const named = (o: Record<string, unknown> | undefined): void => {
      const c = o?.['customer'];
      const cid = idOf(c as string | { id: string } | null | undefined);
      if (cid) out.add(cid);
    };
    named(object);
    const kept = this.kept(type, id);
    named(kept);
    if (type === 'discount') {
      for (const sid of [object['subscription'], kept?.['subscription']]) {
        const sub = typeof sid === 'string' ? this.objects.subscriptions.get(sid) : undefined;
        if (sub) out.add(customerOf(sub));
      }
    }
    if (type === 'price' || type === 'plan' || type === 'product' || type === 'coupon') {
      for (const sub of this.objects.subscriptions.values()) if (this.uses(sub, type, id)) out.add(customerOf(sub));
    }
    return [...out];
  }

  update(object: Record<string, unknown>, version: number): 'applied' | 'older' {
    const outcome = addStripeObject(this.objects, object, version);
    if (outcome === 'older') return 'older';
    this.keep([{ version, object }]);
    return 'applied';
  }

  rowsOf(customer: string): CustomerRows {
    const rows = mapStripeCustomer(this.objects, customer, { ...this.settings, now: this.now() });
    const attrs = this.attributes;
    const accounts =
      attrs === null
        ? rows.accounts
        : rows.accounts.map((a) => Object.fromEntries(Object.entries(a).filter(([k]) => k === 'account_id' || attrs.has(k.toLowerCase()))));
    // The columns the import writes to the files (the mapping's provenance fields stay out, as there).
    const pick = (list: readonly object[], columns: readonly string[]): Record<string, unknown>[] =>
      list.map((r) => Object.fromEntries(columns.map((c) => [c, (r as Record<string, unknown>)[c] ?? null])));
    return { accounts, subscriptions: pick(rows.subscriptions, SUBSCRIPTION_COLUMNS), usage: pick(rows.usage, USAGE_COLUMNS) };
  }

  private kept(type: string, id: string): Record<string, unknown> | undefined {
    const maps: Record<string, Map<string, unknown>> = {
      subscription: this.objects.subscriptions,
      subscription_schedule: this.objects.subscriptionSchedules,
      invoice: this.objects.invoices,
      credit_note: this.objects.creditNotes,
      discount: this.objects.discounts,
    };
    return maps[type]?.get(id) as Record<string, unknown> | undefined;
  }

  /** Whether a subscription's items use the price, product or coupon. */
  private uses(sub: StripeSubscription, type: string, id: string): boolean {
    if (type === 'coupon') return JSON.stringify([sub.discounts ?? null, sub.discount ?? null, sub.items?.data.map((i) => i.discounts) ?? null]).includes(`"${id}"`);
    for (const item of sub.items?.data ?? []) {
      const price = itemPrice(this.objects, item);
      if (price === null) continue;
      if ((type === 'price' || type === 'plan') && price.id === id) return true;
      if (type === 'product' && priceProduct(price) === id) return true;
    }
    return false;
  }
}
