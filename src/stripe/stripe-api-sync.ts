import { appendFileSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type Stripe from 'stripe';
import { stripeLibrary } from './load-stripe.js';
import { NrrError } from '../errors.js';

/**
 * The API version every request of a sync names (`Stripe-Version`), pinned: the shapes the mapping
 * reads are those of this version whatever the account's default is. It is the version of the
 * `stripe` package's types; upgrading the package changes it here, deliberately.
 */
export const STRIPE_API_VERSION: Stripe.LatestApiVersion = '2026-11-18.endive';

/** The environment variable holding the secret API key (`sk_live_…`, `rk_live_…`; `sk_test_…` for test mode). */
export const API_KEY_ENV = 'STRIPE_API_KEY';

/**
 * The environment variable that points the client at another address than api.stripe.com: a URL
 * such as `http://127.0.0.1:12111` (a local server speaking Stripe's protocol, for tests and the bench).
 */
export const API_BASE_ENV = 'STRIPE_API_BASE';

/** One kind of object a sync fetches: the list endpoint and its parameters. */
interface SyncedType {
  /** The file the objects go to (`<name>.jsonl`) and the endpoint's name. */
  readonly name: string;
  readonly list: (s: Stripe, params: Record<string, unknown>) => AsyncIterable<{ readonly id: string }>;
  readonly params: Record<string, unknown>;
}

/**
 * What a sync fetches, in this order (objects referred to before those referring to them): every
 * status of subscription (`status=all`), their discounts expanded (the list gives their ids).
 */
export const SYNCED_TYPES: readonly SyncedType[] = [
  { name: 'products', list: (s, p) => s.products.list(p), params: {} },
  { name: 'prices', list: (s, p) => s.prices.list(p), params: {} },
  { name: 'coupons', list: (s, p) => s.coupons.list(p), params: {} },
  { name: 'customers', list: (s, p) => s.customers.list(p), params: {} },
  { name: 'subscriptions', list: (s, p) => s.subscriptions.list(p), params: { status: 'all', expand: ['data.discounts'] } },
  { name: 'subscription_schedules', list: (s, p) => s.subscriptionSchedules.list(p), params: {} },
  { name: 'invoices', list: (s, p) => s.invoices.list(p), params: {} },
  { name: 'credit_notes', list: (s, p) => s.creditNotes.list(p), params: {} },
];

export interface StripeSyncOptions {
  /**
   * The folder a sync works in (stripe/.sync in a data folder): the fetched objects go to
   * `objects/<type>.jsonl` (one `{"version","object"}` a line, the version being the second the
   * page was fetched, so they replace older copies) and the cursors to `state.json`.
   */
  readonly dir: string;
  /**
   * Takes the folder of fetched objects once every list is done (the data folder's import
   * re-maps them); the work folder is removed after it succeeds.
   */
  readonly commit: (objectsDir: string) => Promise<void>;
  readonly apiKey: string;
  /** Another address than api.stripe.com (see API_BASE_ENV). */
  readonly apiBase?: string;
  /** Retries of a request by the client itself (connection errors, 409, 5xx, and what Stripe marks retryable). Default 3. */
  readonly maxNetworkRetries?: number;
  /** Waits after a 429 (rate limited) before giving up: each honours Retry-After, else doubles from 1 s. Default 8. */
  readonly rateLimitRetries?: number;
  /** Objects per page (1-100, default 100). */
  readonly pageSize?: number;
  /** Told how far the sync is. */
  readonly onProgress?: (message: string) => void;
}

/** The state of a sync, kept beside its partial files so that a sync stopped half way continues. */
export interface StripeSyncState {
  readonly api_version: string;
  readonly started_at: string;
  /** Per type: the id of the last object written (the list continues after it), whether the list was exhausted, how many were written. */
  readonly types: Record<string, { cursor: string | null; done: boolean; fetched: number }>;
}

export interface StripeSyncResult {
  readonly api_version: string;
  /** The sync continued one that had stopped. */
  readonly resumed: boolean;
  readonly started_at: string;
  readonly finished_at: string;
  /** Objects per type (the invoices' and subscriptions' own line and item lists fetched whole). */
  readonly counts: Record<string, number>;
  /** Requests the server refused with 429 and that were waited for and made again. */
  readonly rate_limited: number;
}

const STATE = 'state.json';
const OBJECTS = 'objects';

/** The client for a key, pinned to STRIPE_API_VERSION, pointed at `apiBase` when given. */
export function stripeClient(apiKey: string, options: { apiBase?: string; maxNetworkRetries?: number } = {}): Stripe {
  const config: Stripe.StripeConfig = { apiVersion: STRIPE_API_VERSION, maxNetworkRetries: options.maxNetworkRetries ?? 3, telemetry: false, typescript: true, appInfo: { name: 'nrr-engine' } };
  if (options.apiBase !== undefined && options.apiBase !== '') {
    let url: URL;
    try {
      url = new URL(options.apiBase);
    } catch {
      throw new NrrError(`${API_BASE_ENV}: '${options.apiBase}' is not a URL (expected e.g. http://127.0.0.1:12111)`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new NrrError(`${API_BASE_ENV}: '${options.apiBase}': expected an http or https URL`);
    Object.assign(config, { host: url.hostname, port: url.port || (url.protocol === 'http:' ? 80 : 443), protocol: url.protocol.slice(0, -1) as 'http' | 'https' });
  }
  const StripeClient = stripeLibrary();
  return new StripeClient(apiKey, config);
}

/**
 * Fetches every object of SYNCED_TYPES through the official client, page after page (each list
 * exhausted: `has_more` followed with `starting_after`), writes them as JSON lines into the work
 * folder with a cursor per type saved after every page and, when every list is done, hands the
 * objects to `commit`. A sync stopped half way (killed, network lost, a refused request) leaves
 * its work folder: the next one continues each list after its cursor. A 429 is waited for
 * (Retry-After, else doubling from 1 s) and the list continues from its cursor.
 */
export async function syncStripe(options: StripeSyncOptions): Promise<StripeSyncResult> {
  const stripe = stripeClient(options.apiKey, options);
  const staging = join(options.dir, OBJECTS);
  const statePath = join(options.dir, STATE);
  const say = options.onProgress ?? (() => undefined);
  let state = readState(statePath);
  const resumed = state !== null && state.api_version === STRIPE_API_VERSION;
  if (!resumed) {
    rmSync(options.dir, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    state = { api_version: STRIPE_API_VERSION, started_at: new Date().toISOString(), types: Object.fromEntries(SYNCED_TYPES.map((t) => [t.name, { cursor: null, done: false, fetched: 0 }])) };
    writeState(statePath, state);
  } else {
    say(`continuing the sync started ${state!.started_at}`);
  }
  const s = state!;
  const pageSize = options.pageSize ?? 100;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100) throw new NrrError(`page size ${pageSize}: expected 1 to 100`);
  let rateLimited = 0;
  for (const type of SYNCED_TYPES) {
    const t = (s.types[type.name] ??= { cursor: null, done: false, fetched: 0 });
    let waits = 0;
    while (!t.done) {
      try {
        const params = { ...type.params, limit: pageSize, ...(t.cursor === null ? {} : { starting_after: t.cursor }) };
        let page: Record<string, unknown>[] = [];
        const flush = (): void => {
          if (page.length === 0) return;
          const version = Math.floor(Date.now() / 1000);
          appendFileSync(join(staging, `${type.name}.jsonl`), page.map((o) => `{"version":${version},"object":${JSON.stringify(o)}}`).join('\n') + '\n');
          t.cursor = String(page[page.length - 1]!['id']);
          t.fetched += page.length;
          writeState(statePath, s);
          page = [];
        };
        for await (const object of type.list(stripe, params)) {
          page.push(await complete(stripe, object as unknown as Record<string, unknown>));
          if (page.length === pageSize) {
            flush();
            say(`${type.name}: ${t.fetched}`);
          }
        }
        flush();
        t.done = true;
        writeState(statePath, s);
        say(`${type.name}: ${t.fetched}, done`);
      } catch (e) {
        if (e instanceof stripeLibrary().errors.StripeRateLimitError && waits < (options.rateLimitRetries ?? 8)) {
          waits++;
          rateLimited++;
          const after = Number(e.headers?.['retry-after']);
          const ms = Number.isFinite(after) && after >= 0 ? after * 1000 : 1000 * 2 ** (waits - 1);
          say(`${type.name}: rate limited by Stripe, waiting ${Math.round(ms / 100) / 10} s`);
          await sleep(ms);
          continue;
        }
        throw syncError(e, type.name, statePath);
      }
    }
  }
  const deleted = await fetchDeletedCustomers(stripe, staging);
  if (deleted > 0) say(`customers: ${deleted} deleted customer(s) named by subscriptions or invoices fetched one by one`);
  await options.commit(staging);
  rmSync(options.dir, { recursive: true, force: true });
  return {
    api_version: STRIPE_API_VERSION,
    resumed,
    started_at: s.started_at,
    finished_at: new Date().toISOString(),
    counts: Object.fromEntries(SYNCED_TYPES.map((t) => [t.name, s.types[t.name]!.fetched])),
    rate_limited: rateLimited,
  };
}

/**
 * Deleted customers are not listed, but their subscriptions and invoices are: each customer they
 * name that the list did not give is retrieved (Stripe answers `{id, deleted: true}`), so that the
 * account is known as deleted. Customers Stripe does not know (404) are left out.
 */
async function fetchDeletedCustomers(stripe: Stripe, staging: string): Promise<number> {
  const ids = (name: string): { id: string; customer: unknown }[] => {
    try {
      return readFileSync(join(staging, `${name}.jsonl`), 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => (JSON.parse(l) as { object: { id: string; customer: unknown } }).object);
    } catch {
      return [];
    }
  };
  const known = new Set(ids('customers').map((c) => c.id));
  const named = new Set<string>();
  for (const o of [...ids('subscriptions'), ...ids('invoices')]) {
    const c = typeof o.customer === 'string' ? o.customer : (o.customer as { id?: string } | null)?.id;
    if (c && !known.has(c)) named.add(c);
  }
  const found: Record<string, unknown>[] = [];
  for (const id of [...named].sort()) {
    try {
      found.push((await stripe.customers.retrieve(id)) as unknown as Record<string, unknown>);
    } catch (e) {
      if (e instanceof stripeLibrary().errors.StripeInvalidRequestError && e.statusCode === 404) continue;
      throw e;
    }
  }
  if (found.length > 0) {
    const version = Math.floor(Date.now() / 1000);
    appendFileSync(join(staging, 'customers.jsonl'), found.map((o) => `{"version":${version},"object":${JSON.stringify(o)}}`).join('\n') + '\n');
  }
  return found.length;
}

/** A sync stopped half way in its work folder: its state, if any. */
export function pendingSync(dir: string): StripeSyncState | null {
  return readState(join(dir, STATE));
}

/**
 * An object with its own lists whole: an invoice's lines and a subscription's items come
 * embedded with the first page only (`has_more`); the rest is fetched.
 */
async function complete(stripe: Stripe, o: Record<string, unknown>): Promise<Record<string, unknown>> {
  const embedded = (field: string): { data: unknown[]; has_more?: boolean } | null => {
    const l = o[field] as { data?: unknown; has_more?: unknown } | undefined;
    return l && Array.isArray(l.data) && l.has_more === true ? (l as { data: unknown[]; has_more: boolean }) : null;
  };
  const id = String(o['id']);
  if (o['object'] === 'invoice' && embedded('lines')) {
    const data: unknown[] = [];
    for await (const line of stripe.invoices.listLineItems(id, { limit: 100 })) data.push(line);
    return { ...o, lines: { ...(o['lines'] as object), data, has_more: false } };
  }
  if (o['object'] === 'subscription' && embedded('items')) {
    const data: unknown[] = [];
    for await (const item of stripe.subscriptionItems.list({ subscription: id, limit: 100 })) data.push(item);
    return { ...o, items: { ...(o['items'] as object), data, has_more: false } };
  }
  return o;
}

function readState(path: string): StripeSyncState | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as StripeSyncState;
  } catch {
    return null;
  }
}

function writeState(path: string, state: StripeSyncState): void {
  // Written beside and renamed: a sync killed while writing keeps the previous state whole.
  writeFileSync(`${path}.tmp`, JSON.stringify(state, null, 2) + '\n');
  renameSync(`${path}.tmp`, path);
}

/** The error a user sees: what failed, and that the next sync continues where this one stopped. */
function syncError(e: unknown, type: string, statePath: string): Error {
  const next = `what was fetched is kept (${statePath}); run the sync again to continue`;
  if (e instanceof stripeLibrary().errors.StripeAuthenticationError) return new NrrError(`Stripe refused the API key (${API_KEY_ENV}): ${e.message}`);
  if (e instanceof stripeLibrary().errors.StripePermissionError) return new NrrError(`the API key may not read ${type}: give a restricted key read access to it (${e.message})`);
  if (e instanceof stripeLibrary().errors.StripeRateLimitError) return new NrrError(`Stripe kept refusing requests for ${type} as too many (429); ${next}`);
  if (e instanceof stripeLibrary().errors.StripeConnectionError) return new NrrError(`Stripe could not be reached while fetching ${type} (${e.message}); ${next}`);
  if (e instanceof stripeLibrary().errors.StripeError) return new NrrError(`Stripe answered ${e.statusCode ?? 'an error'} while fetching ${type}: ${e.message}; ${next}`);
  return e instanceof Error ? e : new Error(String(e));
}
