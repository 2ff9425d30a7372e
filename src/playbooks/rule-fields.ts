/**
 * The fields a playbook rule may use: account record fields and scores, with their types. A rule
 * names them; the compiler turns each into a column of the `rule_inputs` view, never anything else.
 */
export type FieldType = 'number' | 'text' | 'boolean';

export interface RuleField {
  readonly type: FieldType;
  /** The SQL expression over `rule_inputs` (a column, or a derived condition for booleans). */
  readonly column: string;
  readonly meaning: string;
}

const n = (column: string, meaning: string): RuleField => ({ type: 'number', column, meaning });
const t = (column: string, meaning: string): RuleField => ({ type: 'text', column, meaning });
const b = (column: string, meaning: string): RuleField => ({ type: 'boolean', column, meaning });

export const RULE_FIELDS: Readonly<Record<string, RuleField>> = {
  arr: n('arr', 'annual recurring revenue on the day'),
  mrr: n('mrr', 'monthly recurring revenue on the day'),
  mrr_change_90d: n('mrr_change_90d', 'MRR against 90 days before (−0.1 = −10 %)'),
  days_to_renewal: n('days_to_renewal', 'days until the yearly or longer contract ends'),
  monthly_terms: b('monthly_terms', 'the account is on a monthly contract'),
  days_since_start: n('days_since_start', 'days since the first contract line started'),
  product_count: n('product_count', 'products in force'),
  seat_utilisation: n('seat_utilisation', 'seats active ÷ purchased in the latest month'),
  months_above_80: n('months_above_80', 'months in a row with seat utilisation above 80 %'),
  usage_trend_90d: n('usage_trend_90d', 'weekly active users, last 90 days against the 90 before'),
  usage_trend_30d: n('usage_trend_30d', 'weekly active users, last 30 days against the 90 before'),
  feature_breadth: n('feature_breadth', 'share of feature areas used in the last 30 days'),
  adjacent_users_30d: n('adjacent_users_30d', 'weekly users of features of a product not bought yet'),
  activated: b('activation_achieved = 1', 'the activation milestone was reached'),
  activation_due: b('activation_achieved IS NOT NULL', 'the activation milestone is due (reached or not)'),
  days_to_first_value: n('days_to_first_value', 'days from the first line to the first_value milestone'),
  qbr_completion_12m: n('qbr_completion_12m', 'business reviews held ÷ due in 12 months'),
  reviews_missed_180d: n('reviews_missed_180d', 'business reviews skipped or cancelled in 180 days'),
  sponsor_present: b('sponsor_present', 'an executive sponsor is in role'),
  days_since_sponsor_engaged: n('days_since_sponsor_engaged', 'days since the executive sponsor last engaged'),
  sponsor_left_days: n('days_since_sponsor_left', 'with no sponsor in role, days since the last one left'),
  sponsor_changes_12m: n('sponsor_changes_12m', 'executive sponsors who left in 12 months'),
  tickets_90d: n('tickets_90d', 'support tickets opened in 90 days'),
  escalations_90d: n('escalations_90d', 'escalated tickets opened in 90 days'),
  open_tickets: n('open_tickets', 'tickets open on the day'),
  headcount_change_12m: n('headcount_change_12m', 'change in the customer’s headcount over 12 months'),
  days_since_funding: n('days_since_funding', 'days since the customer’s last funding round'),
  open_expansion_pipeline: n('open_expansion_pipeline', 'open expansion opportunities, in the reporting currency'),
  tier: n('tier_number', 'the tier’s position in the tiers list: 1, 2, 3'),
  health: n('health_score', 'health score 0–100'),
  health_colour: t('health_colour', 'red, yellow or green'),
  churn_risk: n('churn_risk', 'churn and contraction risk 0–100'),
  expansion_readiness: n('expansion_readiness', 'expansion readiness 0–100'),
  segment: t('segment', 'the account’s segment attribute'),
  churn_probability_90d: n('churn_probability_90d', 'the forecast’s probability of churn in the 90 days after the last month-end (0–1; unknown with too little history)'),
  expansion_probability_90d: n('expansion_probability_90d', 'the forecast’s probability of an expansion in the 90 days after the last month-end (0–1; unknown with too little history)'),
};

/** Fields that need the forecast model fitted (src/forecast/account-probabilities.ts) before a rule reads them. */
export const FORECAST_FIELDS: readonly string[] = ['churn_probability_90d', 'expansion_probability_90d'];

/** Other spellings users write, and the field they mean. */
export const FIELD_ALIASES: Readonly<Record<string, string>> = {
  seat_utilization: 'seat_utilisation',
  health_color: 'health_colour',
  days_since_sponsor_left: 'sponsor_left_days',
  activation_achieved: 'activated',
};
