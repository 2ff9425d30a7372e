import { readFileSync, readdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/**
 * A local HTTP server speaking Stripe's REST protocol for the objects of a corpus folder, so that
 * the official client can be pointed at it (host/port/protocol) in tests and the bench:
 *
 * - `GET /v1/<type>` lists the objects of that type newest first (created, then id), with Stripe's
 *   cursor pagination: `limit` (1-100, default 10), `starting_after`, `ending_before`, `has_more`;
 *   filters `customer` and, for subscriptions, `status` (default: every status but `canceled`,
 *   `all` for all, as Stripe does); deleted objects are not listed.
 * - `GET /v1/<type>/<id>` retrieves one (a deleted customer answers `{id, object, deleted: true}`);
 *   an unknown id answers 404 with Stripe's error shape (`resource_missing`).
 * - An invoice embeds its first 10 lines (`lines.has_more` when it has more, as Stripe does);
 *   `GET /v1/invoices/<id>/lines` lists them all with the same pagination.
 * - `expand[]` (as `expand[]=` or `expand[0]=`) replaces an id (or a list of ids) at the given dotted
 *   path by the object with that id (`data.discounts` on a list, `latest_invoice` on a retrieve).
 * - Every request needs `Authorization: Bearer <key>` (401 otherwise).
 * - Faults, for backoff and resumption: `rateLimit(n)` true makes request n (from 1) answer 429 with
 *   `Retry-After` (Stripe's `rate_limit` error), `fail(n)` true makes it answer 500 with
 *   `Stripe-Should-Retry: false` (the client does not retry it: the run stops there).
 *
 * The corpus is what `nrr stripe import` reads: `*.json` list pages (`{"object":"list","data":[…]}`),
 * arrays or single objects, and `*.jsonl` files of one object a line. Objects are served as written.
 */
export interface StripeServerOptions {
  /** A corpus folder, or the objects themselves. */
  readonly corpus: string | readonly StripeObject[];
  readonly rateLimit?: (request: number) => boolean;
  readonly fail?: (request: number) => boolean;
  /** Seconds sent in Retry-After with a 429 (default 1). */
  readonly retryAfter?: number;
}

export type StripeObject = Record<string, unknown> & { readonly id: string; readonly object: string };

export interface LoggedRequest {
  readonly n: number;
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  readonly status: number;
}

export interface RunningStripeServer {
  /** e.g. http://127.0.0.1:40123 */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Every request answered, in order. */
  readonly requests: LoggedRequest[];
  close(): Promise<void>;
}

/** The list endpoint of an object type: `customer` → `customers`, `subscription_schedule` → `subscription_schedules`. */
export const endpointOf = (objectType: string): string => `${objectType}s`;

/** The objects of a corpus folder, as written. */
export function readCorpus(dir: string): StripeObject[] {
  const out: StripeObject[] = [];
  const take = (v: unknown, where: string): void => {
    if (Array.isArray(v)) return v.forEach((x) => take(x, where));
    if (v === null || typeof v !== 'object') throw new Error(`${where}: expected Stripe objects`);
    const o = v as Record<string, unknown>;
    if (o['object'] === 'list' && Array.isArray(o['data'])) return take(o['data'], where);
    if (typeof o['id'] !== 'string' || typeof o['object'] !== 'string') throw new Error(`${where}: an object without id or object`);
    out.push(o as StripeObject);
  };
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (name.endsWith('.jsonl')) {
      readFileSync(path, 'utf8')
        .split('\n')
        .forEach((line, i) => line.trim() && take(JSON.parse(line), `${name} line ${i + 1}`));
    } else if (name.endsWith('.json')) {
      take(JSON.parse(readFileSync(path, 'utf8')), name);
    }
  }
  return out;
}

const stripeError = (res: ServerResponse, status: number, type: string, message: string, extra: Record<string, string> = {}, code?: string): void => {
  res.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_local_${Date.now()}`, ...extra });
  res.end(JSON.stringify({ error: { type, message, ...(code ? { code } : {}) } }));
};

/**
 * Starts the server on a free port of 127.0.0.1.
 * @example const s = await startStripeServer({ corpus: 'test/fixtures/stripe' }); // point STRIPE_API_BASE at s.url
 */
export async function startStripeServer(options: StripeServerOptions): Promise<RunningStripeServer> {
  const objects = typeof options.corpus === 'string' ? readCorpus(options.corpus) : [...options.corpus];
  const byId = new Map<string, StripeObject>();
  for (const o of objects) byId.set(o.id, o);
  const byType = new Map<string, StripeObject[]>();
  for (const o of byId.values()) {
    const list = byType.get(endpointOf(o.object)) ?? [];
    list.push(o);
    byType.set(endpointOf(o.object), list);
  }
  // Newest first, as Stripe lists: created descending, then id (a stable order for equal times).
  for (const list of byType.values()) list.sort((a, b) => Number(b['created'] ?? 0) - Number(a['created'] ?? 0) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  const requests: LoggedRequest[] = [];

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const n = requests.length + 1;
    const url = new URL(req.url ?? '/', 'http://local');
    const query: Record<string, string> = {};
    const expand: string[] = [];
    for (const [k, v] of url.searchParams) {
      if (/^expand\[\d*\]$/.test(k)) expand.push(v);
      else query[k] = v;
    }
    const status = (s: number): void => void requests.push({ n, method: req.method ?? 'GET', path: url.pathname, query, status: s });
    if (!/^Bearer \S+$/.test(req.headers.authorization ?? '')) {
      status(401);
      return stripeError(res, 401, 'invalid_request_error', 'You did not provide an API key.');
    }
    if (options.rateLimit?.(n)) {
      status(429);
      return stripeError(res, 429, 'invalid_request_error', 'Too many requests hit the API too quickly.', { 'retry-after': String(options.retryAfter ?? 1) }, 'rate_limit');
    }
    if (options.fail?.(n)) {
      status(500);
      return stripeError(res, 500, 'api_error', 'An unexpected error occurred (simulated).', { 'stripe-should-retry': 'false' });
    }
    if (req.method !== 'GET') {
      status(405);
      return stripeError(res, 405, 'invalid_request_error', `this local server answers GET only, not ${req.method}`);
    }
    const parts = url.pathname.split('/').filter(Boolean);
    const lines = parts.length === 4 && parts[1] === 'invoices' && parts[3] === 'lines' ? byId.get(parts[2]!) : undefined;
    if (parts[0] !== 'v1' || parts.length < 2 || (parts.length > 3 && !lines)) {
      status(404);
      return stripeError(res, 404, 'invalid_request_error', `Unrecognized request URL (GET: ${url.pathname}).`);
    }
    const type = lines ? 'lines' : parts[1]!;
    let body: unknown;
    if (parts.length === 3) {
      const found = byId.get(parts[2]!);
      if (!found || endpointOf(found.object) !== type) {
        status(404);
        return stripeError(res, 404, 'invalid_request_error', `No such ${type.replace(/s$/, '')}: '${parts[2]}'`, {}, 'resource_missing');
      }
      body = found['deleted'] === true ? { id: found.id, object: found.object, deleted: true } : embedFirstLines(expandPaths(found, expand, byId));
    } else {
      const limit = query['limit'] === undefined ? 10 : Number(query['limit']);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
        status(400);
        return stripeError(res, 400, 'invalid_request_error', `Invalid integer: ${query['limit']}`);
      }
      const all = lines ? (((lines['lines'] as { data?: StripeObject[] } | undefined)?.data ?? []) as StripeObject[]) : (byType.get(type) ?? []);
      let list = all.filter((o) => o['deleted'] !== true);
      if (query['customer'] !== undefined) list = list.filter((o) => o['customer'] === query['customer']);
      if (type === 'subscriptions') {
        const s = query['status'];
        list = list.filter((o) => (s === undefined ? o['status'] !== 'canceled' : s === 'all' || o['status'] === s));
      }
      let from = 0;
      let to = list.length;
      for (const [param, after] of [
        ['starting_after', true],
        ['ending_before', false],
      ] as const) {
        const id = query[param];
        if (id === undefined) continue;
        const at = list.findIndex((o) => o.id === id);
        if (at < 0) {
          status(400);
          return stripeError(res, 400, 'invalid_request_error', `Invalid ${param} parameter: no ${type} with id '${id}' in this list`);
        }
        if (after) from = at + 1;
        else to = at;
      }
      const page = query['ending_before'] !== undefined && query['starting_after'] === undefined ? list.slice(Math.max(from, to - limit), to) : list.slice(from, Math.min(to, from + limit));
      const more = query['ending_before'] !== undefined && query['starting_after'] === undefined ? to - limit > from : from + limit < to;
      body = { object: 'list', url: url.pathname, has_more: more, data: page.map((o) => embedFirstLines(expandPaths({ data: [o] }, expand, byId)['data'][0] as StripeObject)) };
    }
    status(200);
    res.writeHead(200, { 'content-type': 'application/json', 'request-id': `req_local_${n}`, 'stripe-version': String(req.headers['stripe-version'] ?? '') });
    res.end(JSON.stringify(body));
  };

  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An invoice as Stripe embeds it: its first 10 lines, `has_more` when there are more. */
function embedFirstLines<T extends Record<string, unknown>>(o: T): T {
  const l = o['lines'] as { data?: unknown[] } | undefined;
  if (o['object'] !== 'invoice' || !l || !Array.isArray(l.data) || l.data.length <= 10) return o;
  return { ...o, lines: { ...l, data: l.data.slice(0, 10), has_more: true, url: `/v1/invoices/${String(o['id'])}/lines` } };
}

/** A copy of `value` with the ids at each dotted path replaced by their objects (arrays are walked through). */
function expandPaths<T extends Record<string, unknown>>(value: T, paths: readonly string[], byId: ReadonlyMap<string, StripeObject>): T & { data: unknown[] } {
  let out: unknown = structuredClone(value);
  for (const path of paths) out = expandOne(out, path.split('.'), byId);
  return out as T & { data: unknown[] };
}

function expandOne(value: unknown, path: readonly string[], byId: ReadonlyMap<string, StripeObject>): unknown {
  if (Array.isArray(value)) return value.map((v) => expandOne(v, path, byId));
  if (path.length === 0) return typeof value === 'string' ? (structuredClone(byId.get(value)) ?? value) : value;
  if (value === null || typeof value !== 'object') return value;
  const o = value as Record<string, unknown>;
  const [head, ...rest] = path;
  if (!(head! in o)) return value;
  return { ...o, [head!]: expandOne(o[head!], rest, byId) };
}
