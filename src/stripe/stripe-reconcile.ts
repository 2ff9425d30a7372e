import Big from 'big.js';
import { monthIndex, monthText } from '../engine/months.js';
import { Money } from '../money.js';
import { decimalText } from './stripe-money.js';
import { mapStripe, type ContractRows, type StripeMappingSettings } from './stripe-mapping.js';
import type { StripeObjects } from './stripe-objects.js';
import { PROFILES, RULE_NAMES, RULE_TEXT, profileRules, type RuleName, type StripeProfileName, type StripeRules } from './stripe-profiles.js';

/**
 * `nrr stripe reconcile`: our MRR per month beside the MRR a profile (Stripe's, ChartMogul's,
 * ProfitWell's) gives the same objects, with the difference attributed to each rule on which they
 * differ and the subscriptions behind it. The rules are switched one at a time from ours to the
 * profile's, in the order of RULE_NAMES; what each switch changes is that rule's share, so the
 * shares add up to the whole difference (when two rules touch the same subscription, the first in
 * that order takes the share they have in common).
 */

export interface ReconcileRow {
  readonly month: string;
  readonly currency: string;
  /** `total` for the month's whole difference, else a rule's name. */
  readonly rule: 'total' | RuleName;
  /** What the rule is about, or the two profiles compared. */
  readonly about: string;
  readonly ours: Money;
  readonly profile: Money;
  readonly difference: Money;
  /** Stripe subscriptions whose MRR in the month the rule changes (all of them for `total`). */
  readonly subscriptions: readonly string[];
}

export interface ReconcileOptions {
  /** Our profile (default `nrr`). */
  readonly ours?: StripeProfileName;
  readonly profile: StripeProfileName;
  /** First and last month (YYYY-MM), inclusive. */
  readonly from: string;
  readonly to: string;
  /** `end`: a line counts in the months it is in force on their last day; `start`: on their first. */
  readonly snapshot?: 'end' | 'start';
  /** Count metered usage in the month it happened (the `usage` policy). */
  readonly usage?: 'include' | 'exclude';
}

type Totals = Map<string, { total: Big; bySub: Map<string, Big> }>;

/** MRR (after discount, in each line's currency) per month × currency, and per subscription. */
export function monthlyMrr(rows: ContractRows, from: number, to: number, snapshot: 'end' | 'start', usage: 'include' | 'exclude'): Totals {
  const out: Totals = new Map();
  const add = (m: number, currency: string, sub: string, v: Big): void => {
    const k = `${monthText(m)}\u0000${currency}`;
    let t = out.get(k);
    if (!t) out.set(k, (t = { total: new Big(0), bySub: new Map() }));
    t.total = t.total.plus(v);
    t.bySub.set(sub, (t.bySub.get(sub) ?? new Big(0)).plus(v));
  };
  for (const r of rows.subscriptions) {
    const net = new Big(r.mrr).minus(r.discount);
    const s = monthIndex(r.start_date.slice(0, 7));
    // With `end`, a line is in force at month M's end when it starts on or before M's last day
    // and ends after it: its start month ≤ M < its end month. With `start`, on M's first day:
    // it started on or before the 1st and ends after it.
    const first = snapshot === 'end' ? s : r.start_date.endsWith('-01') ? s : s + 1;
    let last = to;
    if (r.end_date !== null) {
      const e = monthIndex(r.end_date.slice(0, 7));
      last = snapshot === 'end' ? e - 1 : r.end_date.endsWith('-01') ? e - 1 : e;
    }
    for (let m = Math.max(first, from); m <= Math.min(last, to); m++) add(m, r.currency, r.stripe_subscription, net);
  }
  if (usage === 'include') {
    for (const u of rows.usage) {
      const m = monthIndex(u.month);
      if (m >= from && m <= to) add(m, u.currency, `usage of ${u.account_id}`, new Big(u.amount));
    }
  }
  return out;
}

const zero = new Big(0);

export function reconcile(objects: StripeObjects, settings: StripeMappingSettings, o: ReconcileOptions): ReconcileRow[] {
  const from = monthIndex(o.from);
  const to = monthIndex(o.to);
  const snapshot = o.snapshot ?? 'end';
  const usage = o.usage ?? 'include';
  const ours = profileRules(o.ours ?? 'nrr');
  const theirs = PROFILES[o.profile];
  // The sequence of rules: ours, then one rule at a time switched to the profile's.
  const steps: { rule: RuleName; rules: StripeRules }[] = [];
  let current: StripeRules = ours;
  for (const rule of RULE_NAMES) {
    if (current[rule] === theirs[rule]) continue;
    current = { ...current, [rule]: theirs[rule] };
    steps.push({ rule, rules: current });
  }
  const totalsOf = (rules: StripeRules): Totals => monthlyMrr(mapStripe(objects, { ...settings, profile: rules }), from, to, snapshot, usage);
  const base = totalsOf(ours);
  const stepTotals = steps.map((s) => totalsOf(s.rules));
  const final = stepTotals.length > 0 ? stepTotals[stepTotals.length - 1]! : base;
  const keys = [...new Set([...base.keys(), ...final.keys(), ...stepTotals.flatMap((t) => [...t.keys()])])].sort();
  const out: ReconcileRow[] = [];
  for (const k of keys) {
    const [month, currency] = k.split('\u0000') as [string, string];
    const a = base.get(k);
    const z = final.get(k);
    const oursT = a?.total ?? zero;
    const theirsT = z?.total ?? zero;
    const subs = new Set([...(a?.bySub.keys() ?? []), ...(z?.bySub.keys() ?? [])]);
    out.push({
      month,
      currency,
      rule: 'total',
      about: `${o.ours ?? 'nrr'} → ${o.profile}`,
      ours: money(oursT),
      profile: money(theirsT),
      difference: money(theirsT.minus(oursT)),
      subscriptions: [...subs].filter((s) => !(a?.bySub.get(s) ?? zero).eq(z?.bySub.get(s) ?? zero)).sort(),
    });
    let prev = a;
    steps.forEach((s, i) => {
      const next = stepTotals[i]!.get(k);
      const d = (next?.total ?? zero).minus(prev?.total ?? zero);
      const changed = [...new Set([...(prev?.bySub.keys() ?? []), ...(next?.bySub.keys() ?? [])])].filter((sub) => !(prev?.bySub.get(sub) ?? zero).eq(next?.bySub.get(sub) ?? zero)).sort();
      if (!d.eq(0) || changed.length > 0) {
        out.push({
          month,
          currency,
          rule: s.rule,
          about: `${RULE_TEXT[s.rule]}: ${ours[s.rule]} → ${theirs[s.rule]}`,
          ours: money(prev?.total ?? zero),
          profile: money(next?.total ?? zero),
          difference: money(d),
          subscriptions: changed,
        });
      }
      prev = next;
    });
  }
  return out;
}

function money(b: Big): Money {
  return new Money(decimalText(b));
}
