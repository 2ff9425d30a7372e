import { join } from 'node:path';
import { NrrError } from '../errors.js';
import type { LiveWorkspace } from '../store/live-workspace.js';
import { appendKeptObjects, mappedStripeSettings, mappingSettings, readKeptObjects, stripeDir } from './import-stripe.js';
import { findConfigFile, loadConfig } from '../config/config-file.js';
import { StripeEventLog, StripeEventReceiver, type EventOutcome } from './stripe-events.js';
import { API_BASE_ENV, API_KEY_ENV, stripeClient } from './stripe-api-sync.js';
import { StripeObjectsModel } from './stripe-live-model.js';
import { WEBHOOK_SECRET_ENV, WebhookSignatureError, verifyStripeEvent, webhookTolerance } from './stripe-webhook.js';

/** Where a data folder keeps the webhook events it received (stripe/events.jsonl). */
export const EVENTS_FILE = 'events.jsonl';

/** The answer of POST /webhooks/stripe. */
export interface WebhookAnswer {
  readonly status: 200 | 400 | 500;
  readonly body: unknown;
}

/** Takes the raw body and Stripe-Signature header of a webhook request. */
export type StripeWebhookHandler = (body: Uint8Array, signature: string | undefined) => Promise<WebhookAnswer>;

export interface StripeWebhooks {
  readonly handle: StripeWebhookHandler;
  /** The receiver, once the kept objects are read (they are read while the server starts answering). */
  readonly ready: Promise<StripeEventReceiver>;
}

/**
 * The webhook endpoint of a live workspace: events signed with `secret` are verified, stored by id
 * (stripe/events.jsonl) and applied to the workspace (stripe-events.ts) before the answer: 200 once
 * the change is applied (or the event was a repeat, superseded, or not about an object the
 * mapping reads), 400 for a bad or missing signature (nothing stored), 500 when applying failed
 * (the event is kept as failed; Stripe sends it again, and it is tried again then and at start).
 */
export interface WebhookOptions {
  readonly secret: string;
  /** Seconds a signature may be old (default 300). */
  readonly tolerance?: number;
  readonly config?: string;
  /** "Now" for the mapping, Unix seconds (default: the clock). */
  readonly now?: () => number;
  /** With an API key the object of each event is fetched again from Stripe (its state now); else the payload is applied. */
  readonly apiKey?: string;
  /** Another address than api.stripe.com for that fetch. */
  readonly apiBase?: string;
}

export async function openStripeWebhooks(live: LiveWorkspace, options: WebhookOptions): Promise<StripeWebhooks> {
  const data = live.workspace.dataDir;
  const settings = mappingSettings(data, options.config, mappedStripeSettings(data, options.config));
  // The objects are read (and failed events tried again) while the server starts answering; an
  // event waits for that, a bad signature does not.
  const ready = (async () => {
    const model = StripeObjectsModel.open(await readKeptObjects(data), settings, (entries) => appendKeptObjects(data, entries), live.workspace.attributes, options.now);
    const receiver = new StripeEventReceiver(StripeEventLog.open(join(stripeDir(data), EVENTS_FILE)), model, (batch) => live.apply(batch), undefined, refetcher(options));
    await receiver.retryFailed();
    return receiver;
  })();
  ready.catch(() => undefined); // said to every event (500) instead
  const handle: StripeWebhookHandler = async (body, signature) => {
    let outcome: EventOutcome;
    let receiver: StripeEventReceiver;
    const text = (e: unknown): string => (e instanceof Error ? e.message : String(e));
    try {
      const event = await verifyStripeEvent(body, signature, options.secret, options.tolerance);
      try {
        receiver = await ready;
      } catch (e) {
        return { status: 500, body: { error: `the Stripe objects of ${data} could not be read (${text(e)}): the event was not stored; Stripe sends it again` } };
      }
      outcome = await receiver.receive(event);
    } catch (e) {
      if (e instanceof WebhookSignatureError) return { status: 400, body: { error: e.message } };
      if (e instanceof NrrError && /not a Stripe event/.test(e.message)) return { status: 400, body: { error: e.message } };
      return { status: 500, body: { error: `${text(e)}; the event is kept and applied again when Stripe sends it again` } };
    }
    return { status: 200, body: { received: true, ...outcome } };
  };
  return { handle, ready };
}

/**
 * The object of an event fetched again (`GET /v1/<type>s/<id>`, pinned API version, one retry),
 * when an API key is given; a deleted object (404) or a failure leaves the payload to apply.
 */
export function refetcher(options: { readonly apiKey?: string; readonly apiBase?: string }): ((object: Record<string, unknown>) => Promise<Record<string, unknown> | null>) | undefined {
  if (!options.apiKey) return undefined;
  const stripe = stripeClient(options.apiKey, { apiBase: options.apiBase, maxNetworkRetries: 1 });
  return async (object) => {
    const type = String(object['object']);
    const id = String(object['id']);
    if (!/^[A-Za-z0-9_]+$/.test(id) || type === 'discount') return null; // discounts have no endpoint of their own
    const fetched = (await stripe.rawRequest('GET', `/v1/${type === 'plan' ? 'plans' : `${type}s`}/${id}`)) as Record<string, unknown>;
    return fetched && fetched['id'] === id ? fetched : null;
  };
}

/**
 * The webhook endpoint when STRIPE_WEBHOOK_SECRET is set (tolerance from STRIPE_WEBHOOK_TOLERANCE,
 * else the config's stripe.webhook_tolerance_s;
 * with STRIPE_API_KEY each event's object is fetched again, from STRIPE_API_BASE when set), else
 * undefined (POST /webhooks/stripe answers 404).
 */
export async function stripeWebhooksFromEnv(live: LiveWorkspace, options: { config?: string; now?: () => number } = {}, env: NodeJS.ProcessEnv = process.env): Promise<StripeWebhooks | undefined> {
  const secret = env[WEBHOOK_SECRET_ENV];
  if (secret === undefined || secret === '') return undefined;
  const configured = loadConfig(findConfigFile(options.config, live.workspace.dataDir)).stripe?.webhook_tolerance_s;
  return openStripeWebhooks(live, { secret, tolerance: webhookTolerance(env, configured), apiKey: env[API_KEY_ENV] || undefined, apiBase: env[API_BASE_ENV] || undefined, ...options });
}
