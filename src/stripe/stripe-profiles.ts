import { NrrError } from '../errors.js';

/**
 * The points on which revenue tools read the same Stripe account differently, as rules, and the
 * named profiles that set them as each tool documents (docs/stripe.md gives the source of each).
 * Rules that every profile shares (trials bring no MRR, taxes and one-off invoice items are not
 * MRR, refunds are ignored) are not rules here: docs/stripe.md lists them.
 */
export interface StripeRules {
  /** `unpaid` subscriptions: MRR ends where the unpaid period starts (`churn`), or they count until canceled. */
  readonly unpaid: 'churn' | 'count';
  /** A `once` coupon: not MRR (`ignore`), or deducted over the one billing period it applies to. */
  readonly discount_once: 'ignore' | 'apply';
  /** A `repeating` coupon: deducted until it ends (`apply`), or not MRR. */
  readonly discount_repeating: 'apply' | 'ignore';
  /** Metered prices: their invoiced usage counts as usage revenue, or not at all. */
  readonly metered: 'include' | 'exclude';
  /**
   * A cancellation: MRR ends when the subscription ends (`ended`: at the end of the paid period for
   * `cancel_at_period_end`, at `cancel_at`, at `ended_at`), or at the moment it was requested (`requested`: `canceled_at`).
   */
  readonly churn_timing: 'ended' | 'requested';
  /** `pause_collection`: no MRR while paused (`zero`), or the subscription counts as it is (`count`). */
  readonly pause: 'zero' | 'count';
}

export const RULE_NAMES = ['unpaid', 'discount_once', 'discount_repeating', 'metered', 'churn_timing', 'pause'] as const satisfies readonly (keyof StripeRules)[];
export type RuleName = (typeof RULE_NAMES)[number];

export const PROFILE_NAMES = ['nrr', 'stripe', 'chartmogul', 'profitwell'] as const;
export type StripeProfileName = (typeof PROFILE_NAMES)[number];

/** Each profile's rules; docs/stripe.md#profiles cites the page behind each value. */
export const PROFILES: Record<StripeProfileName, StripeRules> = {
  nrr: { unpaid: 'churn', discount_once: 'ignore', discount_repeating: 'apply', metered: 'include', churn_timing: 'ended', pause: 'zero' },
  stripe: { unpaid: 'churn', discount_once: 'ignore', discount_repeating: 'ignore', metered: 'exclude', churn_timing: 'requested', pause: 'count' },
  chartmogul: { unpaid: 'count', discount_once: 'apply', discount_repeating: 'apply', metered: 'include', churn_timing: 'ended', pause: 'zero' },
  profitwell: { unpaid: 'churn', discount_once: 'apply', discount_repeating: 'apply', metered: 'include', churn_timing: 'ended', pause: 'zero' },
};

/** What each value of each rule means, for reports and `--help`. */
export const RULE_TEXT: Record<RuleName, string> = {
  unpaid: 'unpaid subscriptions',
  discount_once: 'coupons of duration once',
  discount_repeating: 'coupons of duration repeating',
  metered: 'metered (usage) prices',
  churn_timing: 'when a cancellation takes MRR away',
  pause: 'paused collection (pause_collection)',
};

export function profileRules(profile: StripeProfileName | StripeRules): StripeRules {
  if (typeof profile !== 'string') return profile;
  const rules = PROFILES[profile];
  if (!rules) throw new NrrError(`unknown Stripe profile '${String(profile)}': expected one of ${PROFILE_NAMES.join(', ')}`);
  return rules;
}

export function isProfileName(name: string): name is StripeProfileName {
  return (PROFILE_NAMES as readonly string[]).includes(name);
}
