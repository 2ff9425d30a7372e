import { createRequire } from 'node:module';
import type StripeClass from 'stripe';

let library: typeof StripeClass | null = null;

/**
 * Stripe's official client, loaded the first time a Stripe command or webhook needs it: every other
 * command (the CLI registers the Stripe commands with the rest) does not pay for loading it.
 */
export function stripeLibrary(): typeof StripeClass {
  library ??= createRequire(import.meta.url)('stripe') as typeof StripeClass;
  return library;
}
