import { z } from 'zod';

/**
 * The health score's definition, in the workspace config under `health:`. Each measure of the account
 * record gets bands (full points at `healthy` or better, none at `at_risk` or worse, linear between), a
 * weight and a group; segments may have definitions of their own; missing data has an explicit policy.
 */
export const MEASURES = {
  usage_trend_90d: 'change in weekly active users, last 90 days against the 90 before (−0.4 = −40 %)',
  usage_trend_30d: 'change in weekly active users, last 30 days against the 90 before',
  seat_utilisation: 'seats active ÷ seats purchased in the latest month',
  feature_breadth: 'share of feature areas used in the last 30 days (key features, API, adjacent features)',
  qbr_completion_12m: 'business reviews held ÷ those scheduled in the last 12 months',
  days_since_sponsor_engaged: 'days since the executive sponsor last engaged (no sponsor: days since one left)',
  sponsor_changes_12m: 'executive sponsors who left in the last 12 months',
  escalations_90d: 'escalated support tickets opened in the last 90 days',
  tickets_90d: 'support tickets opened in the last 90 days',
  ticket_trend_90d: 'change in tickets opened, last 90 days against the 90 before',
  activation_achieved: '1 when the activation milestone was reached, 0 when not',
  days_to_first_value: 'days from the first contract to the first_value milestone',
  headcount_change_12m: 'change in the customer’s headcount over 12 months',
  days_since_funding: 'days since the customer’s last funding round',
  mrr_change_90d: 'change in MRR over the last 90 days',
  days_to_renewal: 'days until the current contract ends',
} as const;

export type MeasureName = keyof typeof MEASURES;
const measureNames = Object.keys(MEASURES) as [MeasureName, ...MeasureName[]];

const measureSchema = z
  .object({
    /** At or beyond this value the measure earns all its points. */
    healthy: z.number(),
    /** At or beyond this value it earns none; `healthy` may be above or below it. */
    at_risk: z.number(),
    weight: z.number().positive(),
    group: z.string().min(1).default('other'),
    /** Score a missing value as this value instead of following the `missing` policy. */
    missing_value: z.number().optional(),
  })
  .strict()
  .refine((m) => m.healthy !== m.at_risk, { message: 'healthy and at_risk must differ', path: ['at_risk'] });

const definitionSchema = z
  .object({
    measures: z.partialRecord(z.enum(measureNames), measureSchema).refine((m) => Object.keys(m).length > 0, 'at least one measure'),
    /** `reweight`: leave a missing measure out and scale the others up; `zero`: it scores no points; `neutral`: half. */
    missing: z.enum(['reweight', 'zero', 'neutral']).default('reweight'),
  })
  .strict();

export const healthConfigSchema = z
  .object({
    /** Scores at or above `green` are green, at or above `yellow` yellow, the rest red. */
    green: z.number().min(0).max(100).default(70),
    yellow: z.number().min(0).max(100).default(40),
    /** Days between the snapshot and the one it is compared with. */
    compare_days: z.number().int().positive().default(30),
    /** The account attribute that picks a segment's definition. */
    segment_attribute: z.string().min(1).default('segment'),
    default: definitionSchema.optional(),
    /** Definitions that replace the default for accounts of a segment. */
    segments: z.record(z.string(), definitionSchema).default({}),
  })
  .strict()
  .refine((h) => h.yellow < h.green, { message: 'yellow must be below green', path: ['yellow'] });

export type MeasureBand = z.infer<typeof measureSchema>;
export type HealthDefinition = z.infer<typeof definitionSchema>;
export type HealthConfig = z.infer<typeof healthConfigSchema> & { default: HealthDefinition };

/** The definition used when the config has none: weights sum to 100. */
export const DEFAULT_HEALTH: HealthDefinition = {
  missing: 'reweight',
  measures: {
    usage_trend_90d: { healthy: 0, at_risk: -0.3, weight: 25, group: 'product' },
    seat_utilisation: { healthy: 0.7, at_risk: 0.35, weight: 15, group: 'product' },
    feature_breadth: { healthy: 0.67, at_risk: 0.2, weight: 5, group: 'product' },
    qbr_completion_12m: { healthy: 0.9, at_risk: 0.4, weight: 15, group: 'relationship' },
    days_since_sponsor_engaged: { healthy: 30, at_risk: 120, weight: 10, group: 'relationship' },
    sponsor_changes_12m: { healthy: 0, at_risk: 2, weight: 5, group: 'relationship' },
    escalations_90d: { healthy: 0, at_risk: 2, weight: 10, group: 'support' },
    ticket_trend_90d: { healthy: 0, at_risk: 1, weight: 5, group: 'support' },
    activation_achieved: { healthy: 1, at_risk: 0, weight: 10, group: 'onboarding' },
  },
};

/** Parses the `health:` section (already read from YAML); the default definition fills in. */
export function resolveHealthConfig(raw: z.infer<typeof healthConfigSchema> | undefined): HealthConfig {
  const parsed = healthConfigSchema.parse(raw ?? {});
  return { ...parsed, default: parsed.default ?? DEFAULT_HEALTH };
}
