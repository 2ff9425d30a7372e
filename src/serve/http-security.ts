import { createHash, timingSafeEqual } from 'node:crypto';
import { NrrError } from '../errors.js';

/**
 * The server's protections as small pure functions: which `Host` a token-less server answers, the
 * headers every response carries, and how a token is checked. The HTTP layer (api-app.ts) calls them.
 */

/** Names a token-less server answers by default (any port): the loopback names a browser uses. */
export const DEFAULT_ALLOWED_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];

/** A token shorter than this is refused at startup: it could be guessed. */
export const MIN_TOKEN_LENGTH = 16;

/**
 * On every response, errors and static files included. The dashboard's scripts and styles are
 * files of its own origin (no inline script, no inline style), the API is JSON: nothing else loads.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-resource-policy': 'same-origin',
};

/**
 * The host name of a `Host` header value, lower-cased, without its port and trailing dot; IPv6 in
 * brackets. Null when the value is not a host[:port].
 * @example hostName('[::1]:4317') // '[::1]'; hostName('LocalHost.:80') // 'localhost'
 */
export function hostName(header: string): string | null {
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/i.exec(header.trim());
  if (!m) return null;
  const name = m[1]!.toLowerCase().replace(/\.$/, '');
  return name === '' ? null : name;
}

/** An allow-list entry as `hostName` gives it: `::1` and `[::1]` are the same entry. */
export function normaliseAllowedHost(entry: string): string {
  const e = entry.trim().toLowerCase();
  const bare = e.includes(':') && !e.startsWith('[') ? `[${e}]` : e;
  const name = hostName(bare);
  if (name === null) throw new NrrError(`allowed host '${entry}': expected a host name or address such as nrr.internal or 10.0.0.5, without a port`);
  return name;
}

/**
 * Whether a request addressed to `header` (its `Host`) may be answered: its host name, with any
 * port, is on the list. A missing or malformed header is refused.
 * @example hostAllowed('localhost:4317', DEFAULT_ALLOWED_HOSTS) // true; hostAllowed('evil.example', …) // false
 */
export function hostAllowed(header: string | undefined, allowed: readonly string[]): boolean {
  if (header === undefined) return false;
  const name = hostName(header);
  return name !== null && allowed.includes(name);
}

/** Refuses a token shorter than `MIN_TOKEN_LENGTH`, naming where it came from. */
export function checkTokenStrength(token: string, source: string): void {
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new NrrError(
      `${source} is ${token.length} characters long; an API token needs at least ${MIN_TOKEN_LENGTH} (make one with: openssl rand -hex 24)`,
    );
  }
}

/**
 * Whether an `Authorization` header carries `Bearer <token>`. Both sides are hashed first, so the
 * comparison takes the same time whatever the guess, its length included.
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!m) return false;
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(m[1]!.trim()), digest(token));
}
