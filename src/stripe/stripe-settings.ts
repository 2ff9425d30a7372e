import { z } from 'zod';
import { PROFILE_NAMES } from './stripe-profiles.js';

/**
 * The settings of a data folder's Stripe mapping, and where each comes from. The config
 * (`stripe:` in nrr.config.yaml) is where a user sets them; the import's flags serve folders
 * without one. `stripe/settings.json` records the settings the contract files were mapped with,
 * so that a later webhook or sync maps a customer the same way, and a change of the config is
 * noticed instead of mixing two mappings in one folder.
 */

/** What stripe/settings.json records (every key, defaults filled in). */
export const stripeSettingsSchema = z
  .object({
    profile: z.enum(PROFILE_NAMES).default('nrr'),
    account_metadata_key: z.string().min(1).nullable().default(null),
    include_test_mode: z.boolean().default(false),
  })
  .strict();
export type StripeSettings = z.infer<typeof stripeSettingsSchema>;

/** The keys that change how objects are mapped to rows. */
export const MAPPING_KEYS = ['profile', 'account_metadata_key', 'include_test_mode'] as const satisfies readonly (keyof StripeSettings)[];

/**
 * `stripe:` in nrr.config.yaml: every key optional, so that what the user set is told apart from
 * what they left to the folder's recorded settings.
 * @example stripe: { profile: chartmogul, account_metadata_key: crm_id, webhook_tolerance_s: 600 }
 */
export const stripeConfigSchema = z
  .object({
    /** How the points on which tools differ are read (docs/stripe.md, Profiles). */
    profile: z.enum(PROFILE_NAMES, { error: (i) => `${JSON.stringify(i.input)} is not a profile; use one of: ${PROFILE_NAMES.join(', ')}` }).optional(),
    /** A customer metadata key whose value is the account id; null for the Stripe customer id. */
    account_metadata_key: z.string().min(1, 'a metadata key, or null for the Stripe customer id').nullable().optional(),
    /** Map test-mode objects (livemode: false) too. */
    include_test_mode: z.boolean().optional(),
    /** Seconds a webhook signature may be old (STRIPE_WEBHOOK_TOLERANCE overrides it). */
    webhook_tolerance_s: z.number().int().min(1, 'at least 1 second').max(86_400, 'at most 86400 seconds (a day)').optional(),
  })
  .strict();
export type StripeConfig = z.infer<typeof stripeConfigSchema>;

/** The flags' names, for messages. */
const FLAG_OF: Record<(typeof MAPPING_KEYS)[number], string> = {
  profile: '--profile',
  account_metadata_key: '--account-key',
  include_test_mode: '--include-test-mode',
};

/** Where a setting differs between two sets, as "profile: a → b" texts (empty when the same). */
export function mappingDifferences(from: StripeSettings, to: StripeSettings): string[] {
  return MAPPING_KEYS.filter((k) => from[k] !== to[k]).map((k) => `${k}: ${JSON.stringify(from[k])} → ${JSON.stringify(to[k])}`);
}

/**
 * The settings in force: those recorded in the folder, then the config's, then the flags'.
 * A flag that contradicts the config is refused: the config is what later runs read, and a
 * folder mapped one way by the flag and read another way by the config would mix two mappings.
 * @returns the settings, or a message naming the flag and the config key
 */
export function resolveStripeSettings(
  recorded: StripeSettings,
  config: StripeConfig | undefined,
  configPath: string | undefined,
  flags: Partial<StripeSettings> = {},
): { settings: StripeSettings } | { error: string } {
  const fromConfig = Object.fromEntries(MAPPING_KEYS.filter((k) => config?.[k] !== undefined).map((k) => [k, config![k]])) as Partial<StripeSettings>;
  for (const k of MAPPING_KEYS) {
    const flag = flags[k];
    if (flag === undefined || fromConfig[k] === undefined || flag === fromConfig[k]) continue;
    return {
      error: `${FLAG_OF[k]} ${JSON.stringify(flag)} contradicts stripe.${k}: ${JSON.stringify(fromConfig[k])} in ${configPath ?? 'the config'}; change the config instead (it is what later imports, syncs and webhooks read)`,
    };
  }
  const given = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
  return { settings: stripeSettingsSchema.parse({ ...recorded, ...fromConfig, ...given }) };
}
