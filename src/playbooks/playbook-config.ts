import { z } from 'zod';

/**
 * Playbooks in the workspace config (`playbooks:`): a trigger in the rule language, and the task it
 * opens for the right owner. Versioned with the config in git.
 */
export const TASK_TYPES = ['expansion', 'save', 'onboarding', 'renewal', 'risk'] as const;
const owner = z.enum(['csm', 'am', 'digital']);

export const playbookSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9_-]+$/, 'lower-case letters, digits, _ and - only'),
    /** What the play is for, in a sentence (shown with its tasks). */
    description: z.string().optional(),
    /** The trigger: accounts for which it is true enter the play. */
    when: z.string().min(1),
    /** Accounts leave the play when this is true (default: when the trigger no longer holds). */
    exit: z.string().min(1).optional(),
    task: z
      .object({
        type: z.enum(TASK_TYPES),
        priority: z.enum(['low', 'normal', 'high', 'urgent']).default('normal'),
        due_days: z.number().int().positive().default(14),
        /** Who gets the task: the account's CSM or AM, a digital sequence, or by tier (1, 2, 3 → owner). */
        owner: z.union([owner, z.object({ by_tier: z.record(z.string().regex(/^[1-9]$/), owner) }).strict()]).default('csm'),
      })
      .strict(),
    /** Days after an account leaves the play before it can enter again. */
    cooldown_days: z.number().int().nonnegative().default(30),
    /** How many times an account may enter the play in a year. */
    max_entries_per_year: z.number().int().positive().default(4),
    /** Destinations (`playbook_settings.destinations`) told of every entry and exit. */
    notify: z.array(z.string()).default([]),
  })
  .strict();

export const playbooksSchema = z.array(playbookSchema).superRefine((list, ctx) => {
  const seen = new Set<string>();
  list.forEach((p, i) => {
    if (seen.has(p.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `the name '${p.name}' is used twice` });
    seen.add(p.name);
  });
});

export type Playbook = z.infer<typeof playbookSchema>;

/**
 * The plays of the background articles, with thresholds chosen by `nrr playbooks backtest` on the
 * demo company (docs/playbooks.md): each beats the base rate of what it is for by 1.7× to 5.9×.
 */
export const DEFAULT_PLAYBOOKS: Playbook[] = playbooksSchema.parse([
  {
    name: 'expansion-seats',
    description: 'Seats almost all in use on an annual or longer contract: talk about more seats before they hit the ceiling.',
    when: 'seat_utilisation > 0.8 and not monthly_terms',
    task: { type: 'expansion', priority: 'high', due_days: 14, owner: { by_tier: { '1': 'am', '2': 'am', '3': 'digital' } } },
    cooldown_days: 90,
  },
  {
    name: 'save-usage-drop',
    description: 'Usage down more than 20 % against the prior 90 days with a renewal within 120 days: a save conversation.',
    when: 'usage_trend_90d < -0.2 and (days_to_renewal <= 120 or monthly_terms)',
    task: { type: 'save', priority: 'urgent', due_days: 7, owner: 'csm' },
    cooldown_days: 60,
  },
  {
    name: 'sponsor-change',
    description: 'The executive sponsor left in the last 60 days with a renewal within 180 days: find and win the successor.',
    when: 'sponsor_left_days <= 60 and (days_to_renewal <= 180 or monthly_terms)',
    task: { type: 'risk', priority: 'high', due_days: 10, owner: 'csm' },
  },
  {
    name: 'onboarding-missed',
    description: 'Past the activation milestone without reaching it, renewal within 120 days: get the account to first value.',
    when: 'activation_due and not activated and (days_to_renewal <= 120 or monthly_terms)',
    task: { type: 'onboarding', priority: 'high', due_days: 7, owner: 'csm' },
  },
  {
    name: 'qbr-skipped',
    description: 'Two or more business reviews skipped or cancelled in 180 days before a renewal: re-engage.',
    when: 'reviews_missed_180d >= 2 and (days_to_renewal <= 120 or monthly_terms)',
    task: { type: 'risk', priority: 'normal', due_days: 21, owner: { by_tier: { '1': 'am', '2': 'csm', '3': 'csm' } } },
  },
]);
