import { z } from 'zod';

/**
 * Tiering: Tier 1/2/3 by ACV and expansion potential, as rules in the workspace config under
 * `tiers:`. An account gets the first tier with a condition it meets; a condition holds when every
 * minimum in it is met; the last tier has no conditions and takes the rest.
 */
const conditionSchema = z
  .object({
    min_arr: z.number().nonnegative().optional(),
    min_expansion_readiness: z.number().min(0).max(100).optional(),
  })
  .strict()
  .refine((c) => c.min_arr !== undefined || c.min_expansion_readiness !== undefined, 'a condition needs min_arr or min_expansion_readiness');

export const tiersSchema = z
  .array(
    z
      .object({
        name: z.string().min(1),
        /** Any of these; empty on the last tier. */
        when: z.array(conditionSchema).default([]),
      })
      .strict(),
  )
  .min(1)
  .superRefine((tiers, ctx) => {
    tiers.forEach((t, i) => {
      const last = i === tiers.length - 1;
      if (last && t.when.length > 0) ctx.addIssue({ code: 'custom', path: [i, 'when'], message: 'the last tier takes every other account: give it no conditions' });
      if (!last && t.when.length === 0) ctx.addIssue({ code: 'custom', path: [i, 'when'], message: 'only the last tier may have no conditions' });
    });
  });

export type Tiers = z.infer<typeof tiersSchema>;

export const DEFAULT_TIERS: Tiers = [
  { name: 'Tier 1', when: [{ min_arr: 100_000 }, { min_arr: 50_000, min_expansion_readiness: 50 }] },
  { name: 'Tier 2', when: [{ min_arr: 25_000 }, { min_expansion_readiness: 50 }] },
  { name: 'Tier 3', when: [] },
];

/**
 * The tier of an account.
 * @example tierOf(DEFAULT_TIERS, 120_000, 0) // 'Tier 1'
 */
export function tierOf(tiers: Tiers, arr: number, expansionReadiness: number): string {
  for (const t of tiers) {
    if (t.when.length === 0) return t.name;
    const met = t.when.some(
      (c) => (c.min_arr === undefined || arr >= c.min_arr) && (c.min_expansion_readiness === undefined || expansionReadiness >= c.min_expansion_readiness),
    );
    if (met) return t.name;
  }
  return tiers[tiers.length - 1]!.name;
}
