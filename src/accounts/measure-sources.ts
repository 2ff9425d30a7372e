import type { SignalSourceName } from '../contract/signal-contract.js';
import type { MeasureName } from '../health/health-config.js';

/** Where each health measure comes from: a signal file, or the contract lines. */
export const MEASURE_SOURCES: Record<MeasureName, SignalSourceName | 'billing'> = {
  usage_trend_90d: 'product_usage',
  usage_trend_30d: 'product_usage',
  feature_breadth: 'product_usage',
  seat_utilisation: 'seats',
  qbr_completion_12m: 'meetings',
  days_since_sponsor_engaged: 'contacts',
  sponsor_changes_12m: 'contacts',
  escalations_90d: 'tickets',
  tickets_90d: 'tickets',
  ticket_trend_90d: 'tickets',
  activation_achieved: 'onboarding',
  days_to_first_value: 'onboarding',
  headcount_change_12m: 'enrichment',
  days_since_funding: 'enrichment',
  mrr_change_90d: 'billing',
  days_to_renewal: 'billing',
};
