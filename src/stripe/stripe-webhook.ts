import type Stripe from 'stripe';
import { stripeLibrary } from './load-stripe.js';
import { NrrError } from '../errors.js';

/** Seconds a signed event may be old when it arrives (Stripe's own default). */
export const DEFAULT_WEBHOOK_TOLERANCE_S = 300;

/** The environment variable holding the endpoint's signing secret (`whsec_…`). */
export const WEBHOOK_SECRET_ENV = 'STRIPE_WEBHOOK_SECRET';

/** The environment variable that changes the tolerance (seconds). */
export const WEBHOOK_TOLERANCE_ENV = 'STRIPE_WEBHOOK_TOLERANCE';

/** An event whose signature was checked. */
export interface StripeEventEnvelope {
  readonly id: string;
  readonly type: string;
  /** Seconds since 1970 when Stripe made the event. */
  readonly created: number;
  readonly livemode: boolean;
  readonly api_version: string | null;
  readonly data: { readonly object: Record<string, unknown> & { readonly id?: string; readonly object?: string }; readonly previous_attributes?: Record<string, unknown> };
}

/** A body whose signature does not check: the endpoint answers 400 and nothing is stored. */
export class WebhookSignatureError extends NrrError {
  override name = 'WebhookSignatureError';
}

/**
 * Checks the `Stripe-Signature` header of a webhook against its raw body with the official
 * client's `constructEventAsync` (the `t=` timestamp within `toleranceSeconds`, HMAC-SHA256 of
 * `t.body` with the endpoint secret compared in constant time with every `v1=` value, so two
 * secrets work during a rotation) and returns the event.
 * @example const event = await verifyStripeEvent(rawBody, req.header('stripe-signature'), process.env.STRIPE_WEBHOOK_SECRET!);
 */
export async function verifyStripeEvent(rawBody: Uint8Array | string, signature: string | undefined, secret: string, toleranceSeconds = DEFAULT_WEBHOOK_TOLERANCE_S): Promise<StripeEventEnvelope> {
  if (signature === undefined || signature.trim() === '') throw new WebhookSignatureError('the request has no Stripe-Signature header: only events signed by Stripe with this endpoint\'s secret are taken');
  let event: Stripe.Event;
  try {
    event = await stripeLibrary().webhooks.constructEventAsync(rawBody, signature, secret, toleranceSeconds);
  } catch (e) {
    if (e instanceof stripeLibrary().errors.StripeSignatureVerificationError) {
      const why = /timestamp outside the tolerance zone/i.test(e.message)
        ? `the signature's timestamp is more than ${toleranceSeconds} s old (a replay, or a clock that is wrong)`
        : /with expected scheme|unable to extract/i.test(e.message)
          ? "the Stripe-Signature header has no t= and v1= values"
          : "no v1 signature matches the body signed with this endpoint's secret (a changed body, or another endpoint's secret)";
      throw new WebhookSignatureError(`the Stripe-Signature does not check: ${why}`);
    }
    if (e instanceof SyntaxError) throw new WebhookSignatureError(`the body is signed but is not JSON (${e.message})`);
    throw e;
  }
  const o = event as unknown as Record<string, unknown>;
  const data = o['data'] as { object?: unknown } | undefined;
  if (typeof o['id'] !== 'string' || typeof o['type'] !== 'string' || typeof o['created'] !== 'number' || data === undefined || data.object === null || typeof data.object !== 'object') {
    throw new NrrError('the body is not a Stripe event: expected id, type, created and data.object');
  }
  return event as unknown as StripeEventEnvelope;
}

/**
 * The tolerance from `STRIPE_WEBHOOK_TOLERANCE` (seconds, a whole number of at least 1), else the config's, else the default.
 */
export function webhookTolerance(env: NodeJS.ProcessEnv = process.env, configured?: number): number {
  const text = env[WEBHOOK_TOLERANCE_ENV];
  if (text === undefined || text === '') return configured ?? DEFAULT_WEBHOOK_TOLERANCE_S;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new NrrError(`${WEBHOOK_TOLERANCE_ENV}: '${text}' is not a number of seconds (a whole number of at least 1; default ${DEFAULT_WEBHOOK_TOLERANCE_S})`);
  return n;
}

/**
 * A `Stripe-Signature` header for a body, as Stripe makes it (tests, the bench, and trying an
 * endpoint by hand); `secrets` gives one v1 value each.
 */
export function signStripePayload(body: string, secrets: readonly string[], timestamp = Math.floor(Date.now() / 1000)): string {
  const parts = secrets.map((secret) => stripeLibrary().webhooks.generateTestHeaderString({ payload: body, secret, timestamp }).split(',')[1]!);
  return [`t=${timestamp}`, ...parts].join(',');
}
