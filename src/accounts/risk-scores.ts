/**
 * Churn/contraction risk and expansion readiness: 0–100 scores built from the account record's
 * leading indicators, each point tied to a reason in words. The factors are the ones the background
 * articles name; `nrr health validate` measures how well they predict on the workspace's own history.
 */

import type { SignalSourceName } from '../contract/signal-contract.js';

/** The record fields the scores read (null when unknown). */
export interface ScoreInputs {
  readonly usage_trend_90d: number | null;
  readonly usage_trend_30d: number | null;
  readonly seat_utilisation: number | null;
  readonly months_above_80: number | null;
  readonly days_to_renewal: number | null;
  readonly days_since_sponsor_left: number | null;
  readonly days_since_sponsor_engaged: number | null;
  readonly sponsor_present: boolean;
  readonly reviews_missed_180d: number | null;
  readonly escalations_90d: number | null;
  readonly activation_achieved: number | null;
  readonly activation_due: string | null;
  readonly mrr_change_90d: number | null;
  readonly headcount_change_12m: number | null;
  readonly days_since_funding: number | null;
  readonly last_funding_round: string | null;
  readonly adjacent_users_30d: number | null;
  readonly open_expansion_opportunities: number;
  readonly monthly_terms: boolean;
}

export interface Reason {
  readonly points: number;
  readonly text: string;
}

export interface Scored {
  /** 0–100; null when not scored (see `not_scored`). */
  readonly score: number | null;
  readonly level: 'high' | 'medium' | 'low' | null;
  /** Largest first. */
  readonly reasons: readonly Reason[];
  /** How the points were adjusted, when they were. */
  readonly note?: string;
  /** Why there is no score: 'no signal data'. */
  readonly not_scored?: string;
}

/** A score computed from the signals (never null). */
export type Computed = Scored & { readonly score: number; readonly level: 'high' | 'medium' | 'low' };

/** Why an account is not scored: none of the signal files a score reads has a row of it on the day. */
export const NO_SIGNAL_DATA = 'no signal data';

/** The signal files each score reads; billing alone (monthly terms, MRR change) does not make a score. */
export const RISK_SOURCES: readonly SignalSourceName[] = ['product_usage', 'seats', 'onboarding', 'meetings', 'contacts', 'tickets'];
export const EXPANSION_SOURCES: readonly SignalSourceName[] = ['product_usage', 'seats', 'enrichment', 'opportunities'];

/** The score, or "not scored: no signal data" when the account has no row in any of `sources`. */
export function scoreIfSignals(has: readonly SignalSourceName[], sources: readonly SignalSourceName[], score: () => Computed): Scored {
  return sources.some((s) => has.includes(s)) ? score() : { score: null, level: null, reasons: [], not_scored: NO_SIGNAL_DATA };
}

const pct = (x: number): string => `${x > 0 ? '+' : x < 0 ? '−' : ''}${Math.abs(Math.round(x * 100))} %`;
const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

function finish(reasons: Reason[], factor = 1, note?: string): Computed {
  const kept = reasons
    .filter((r) => r.points > 0)
    .map((r) => (factor === 1 ? r : { points: r.points * factor, text: r.text }))
    .sort((a, b) => b.points - a.points);
  const score = Math.min(100, kept.reduce((s, r) => s + r.points, 0));
  const level = score >= 40 ? 'high' : score >= 20 ? 'medium' : 'low';
  return note && kept.length > 0 ? { score, level, reasons: kept, note } : { score, level, reasons: kept };
}

/**
 * Churn and contraction risk.
 * @example churnRisk({ ...inputs, usage_trend_90d: -0.41, days_to_renewal: 54 }).reasons[0].text
 *   // 'usage −41 % against the prior 90 days, renewal in 54 days'
 */
export function churnRisk(r: ScoreInputs): Computed {
  const reasons: Reason[] = [];
  const renewal = r.days_to_renewal !== null && r.days_to_renewal <= 120 ? `, renewal in ${plural(r.days_to_renewal, 'day')}` : '';
  if (r.usage_trend_90d !== null && r.usage_trend_90d < -0.05) {
    reasons.push({ points: Math.min(35, 60 * -r.usage_trend_90d), text: `usage ${pct(r.usage_trend_90d)} against the prior 90 days${renewal}` });
  }
  if (r.usage_trend_30d !== null && r.usage_trend_30d < -0.1) {
    reasons.push({ points: Math.min(20, 30 * -r.usage_trend_30d), text: `usage ${pct(r.usage_trend_30d)} in the last 30 days against the 90 before` });
  }
  if (r.days_since_sponsor_left !== null && r.days_since_sponsor_left <= 180) {
    reasons.push({ points: 20, text: `executive sponsor left ${plural(r.days_since_sponsor_left, 'day')} ago, no successor` });
  } else if (r.sponsor_present && r.days_since_sponsor_engaged !== null && r.days_since_sponsor_engaged > 90) {
    reasons.push({ points: 8, text: `executive sponsor last engaged ${r.days_since_sponsor_engaged} days ago` });
  }
  if (r.reviews_missed_180d !== null && r.reviews_missed_180d > 0) {
    reasons.push({ points: Math.min(16, 8 * r.reviews_missed_180d), text: `${plural(r.reviews_missed_180d, 'business review')} skipped or cancelled in 180 days` });
  }
  if (r.escalations_90d !== null && r.escalations_90d > 0) {
    reasons.push({ points: Math.min(16, 4 + 6 * r.escalations_90d), text: `${plural(r.escalations_90d, 'escalated ticket')} in 90 days` });
  }
  if (r.activation_achieved === 0) {
    reasons.push({ points: 12, text: `activation not reached${r.activation_due ? ` (due ${r.activation_due})` : ''}` });
  }
  if (r.seat_utilisation !== null && r.seat_utilisation < 0.5) {
    reasons.push({ points: 4 + 20 * (0.5 - r.seat_utilisation), text: `seat utilisation ${Math.round(r.seat_utilisation * 100)} %${renewal}` });
  }
  if (r.mrr_change_90d !== null && r.mrr_change_90d <= -0.1) {
    reasons.push({ points: 8, text: `MRR ${pct(r.mrr_change_90d)} in 90 days` });
  }
  if (r.monthly_terms) {
    reasons.push({ points: 6, text: 'monthly contract: it can end any month' });
  } else if (r.days_to_renewal !== null && r.days_to_renewal > 180) {
    // A committed contract cannot churn before its renewal: the signals matter less while it is far off.
    return finish(reasons, 0.5, `points halved: renewal not for ${r.days_to_renewal} days`);
  }
  return finish(reasons);
}

/** Expansion readiness. */
export function expansionReadiness(r: ScoreInputs): Computed {
  const reasons: Reason[] = [];
  if (r.seat_utilisation !== null && r.seat_utilisation > 0.8) {
    const months = r.months_above_80 ?? 1;
    reasons.push({
      points: 25 + Math.min(15, 5 * (months - 1)) + 40 * Math.min(0.2, r.seat_utilisation - 0.8),
      text: `seat utilisation ${Math.round(r.seat_utilisation * 100)} % for ${plural(months, 'month')}`,
    });
  }
  if (r.headcount_change_12m !== null && r.headcount_change_12m >= 0.1) {
    reasons.push({ points: Math.min(20, 10 + 40 * (r.headcount_change_12m - 0.1)), text: `headcount ${pct(r.headcount_change_12m)} in 12 months` });
  }
  if (r.days_since_funding !== null && r.days_since_funding <= 365) {
    reasons.push({ points: 20, text: `raised ${r.last_funding_round ?? 'a round'} ${plural(r.days_since_funding, 'day')} ago` });
  }
  if (r.adjacent_users_30d !== null && r.adjacent_users_30d >= 1) {
    reasons.push({
      points: Math.min(15, 5 + 2 * r.adjacent_users_30d),
      text: `${plural(Math.round(r.adjacent_users_30d), 'user')} a week try features of a product not yet bought`,
    });
  }
  if (r.usage_trend_90d !== null && r.usage_trend_90d >= 0.15) {
    reasons.push({ points: 10, text: `usage ${pct(r.usage_trend_90d)} against the prior 90 days` });
  }
  if (r.open_expansion_opportunities > 0) {
    reasons.push({ points: 5, text: `${plural(r.open_expansion_opportunities, 'open expansion opportunity', 'open expansion opportunities')}` });
  }
  return finish(reasons);
}
