import { z } from 'zod';

/**
 * Every definition on which billing tools disagree is a named policy here, with its default.
 * Reports print the policies they used (see `describePolicies`).
 */
export const policiesSchema = z
  .object({
    /** MRR of a month is the MRR in force on its last day (`end`) or on its first day (`start`). */
    snapshot: z.enum(['end', 'start']).default('end'),
    /** Usage charges count in MRR in the month consumed, beside a contract line (`include`), or not at all. */
    usage: z.enum(['include', 'exclude']).default('include'),
    /** Convert at the rate in force in the month a line starts, or at each month's rate. */
    fx: z.enum(['contract_start', 'monthly']).default('contract_start'),
    /** ISO code of the currency every figure is reported in. */
    reporting_currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as USD')
      .default('USD'),
    /** A return after more than this many months at zero counts as new, not reactivation. null = always reactivation. */
    reactivation_window_months: z.number().int().positive().nullable().default(null),
    /** How NRR over a window is computed. */
    nrr_method: z.enum(['snapshot', 'movements', 'average']).default('snapshot'),
    /** ACV bands at cohort start, by annualised MRR: upper bounds (exclusive), ascending; the last band is open. */
    acv_bands: z
      .array(z.object({ name: z.string().min(1), below: z.number().positive().nullable() }))
      .min(1)
      .default([
        { name: 'SMB (< $25K)', below: 25_000 },
        { name: 'Mid-market ($25K–$100K)', below: 100_000 },
        { name: 'Enterprise (≥ $100K)', below: null },
      ]),
    /** Cohort vintage granularity for the cohort table and `--by cohort`. */
    cohort_granularity: z.enum(['month', 'quarter', 'year']).default('quarter'),
    /** Groups with fewer starting accounts than this are flagged as too small to trust. */
    min_group_accounts: z.number().int().positive().default(30),
    /**
     * Last month reported (YYYY-MM); also pins the day live views look from to its last day.
     * Default (null): the last full month before today, and live views look from today.
     * A month that is not over yet is refused unless partial months are allowed (`--allow-partial`).
     */
    as_of: z
      .string()
      .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'a month as YYYY-MM')
      .nullable()
      .default(null),
    /**
     * The time zone (IANA name) in which a timestamp with an offset becomes a date:
     * 2024-03-05T23:30:00Z is 5 March in UTC, 6 March in Europe/Paris.
     */
    timezone: z
      .string()
      .refine(isTimeZone, 'an IANA time zone name such as UTC or Europe/Paris')
      .default('UTC'),
    /** Account attribute that names the owner, for the concentration diagnostic. */
    owner_attribute: z.string().nullable().default(null),
  })
  .strict()
  .superRefine((p, ctx) => {
    let prev = 0;
    p.acv_bands.forEach((b, i) => {
      const last = i === p.acv_bands.length - 1;
      if (last !== (b.below === null)) {
        ctx.addIssue({
          code: 'custom',
          path: ['acv_bands', i, 'below'],
          message: last ? 'the last band must be open (below: null)' : 'only the last band may be open',
        });
      } else if (b.below !== null && b.below <= prev) {
        ctx.addIssue({ code: 'custom', path: ['acv_bands', i, 'below'], message: 'bands must be ascending' });
      }
      if (b.below !== null) prev = b.below;
    });
  });

/** A time zone name both Node's ICU and DuckDB's accept: letters, '/', '_', '-', '+' and digits, known to Intl. */
function isTimeZone(name: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(name)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

export type Policies = z.infer<typeof policiesSchema>;
export type PolicyInput = z.input<typeof policiesSchema>;

export const defaultPolicies: Policies = policiesSchema.parse({});

/** One line per policy, as printed at the head of every report. */
export function describePolicies(p: Policies): Record<string, string> {
  return {
    snapshot: p.snapshot === 'end' ? 'MRR in force at the end of each month' : 'MRR in force at the start of each month',
    usage: p.usage === 'include' ? 'usage revenue counted in the month consumed, when a contract line is in force' : 'usage revenue excluded',
    fx:
      p.fx === 'contract_start'
        ? `converted to ${p.reporting_currency} at the rate in force when each line starts`
        : `converted to ${p.reporting_currency} at each month's rate; FX effects reported apart`,
    reactivation:
      p.reactivation_window_months === null
        ? 'a return after any gap is reactivation'
        : `a return within ${p.reactivation_window_months} months is reactivation, later is new`,
    nrr_method: {
      snapshot: 'snapshot: cohort MRR at the end ÷ its MRR at the start',
      movements: 'sum of movements: (start + expansion + reactivation − contraction − churn) ÷ start',
      average: 'average of monthly ratios, compounded over the window',
    }[p.nrr_method],
    acv_bands: p.acv_bands.map((b) => (b.below === null ? b.name : `${b.name} < ${b.below}`)).join('; '),
    // Printed when it is not the default, so that reports of data without timestamps read as before.
    ...(p.timezone === 'UTC' ? {} : { timezone: `timestamps with an offset become dates in ${p.timezone}` }),
  };
}
