import { createHmac, timingSafeEqual } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { stringify as stringifyCsv } from 'csv-stringify/sync';
import { outboxPath, type Destination, type PlaybookSettings } from './playbook-settings.js';
import type { PlaybookState } from './playbook-state.js';

/**
 * Delivers fired events to the destinations their play names: a webhook (JSON, HMAC-signed), a
 * chat webhook (Slack-compatible), or an outbox file (JSONL or CSV). Each delivery is retried with
 * exponential backoff; what still fails stays unsent and is tried again by the next run. Every
 * delivery carries its event id, so a receiver can drop a repeat (an event whose delivery was cut
 * off by a crash is sent again); an outbox never holds an event twice.
 */
export interface DeliveryOptions {
  /** The HTTP client (default: the global fetch). */
  readonly fetch?: typeof fetch;
  /** Waits between retries (default: a timer). */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Where webhook secrets are read (default: process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export interface DeliverySummary {
  readonly sent: number;
  readonly failed: number;
  /** `destination: event: problem` for each failure. */
  readonly errors: readonly string[];
}

interface Payload {
  readonly event_id: string;
  readonly kind: 'enter' | 'exit';
  readonly playbook: string;
  readonly as_of: string;
  readonly config_version: string;
  readonly account: Record<string, unknown>;
  readonly task?: { task_id: number; type: string; priority: string; owner: string; due_date: string };
  readonly task_id?: number | null;
  readonly reasons: { trigger?: string; values?: Record<string, unknown>; top_reasons?: string[]; exit?: string };
}

/** Sends every unsent delivery (this run's, and earlier runs' failures). */
export async function deliverPending(state: PlaybookState, settings: PlaybookSettings, dataDir: string, options: DeliveryOptions = {}): Promise<DeliverySummary> {
  const errors: string[] = [];
  let sent = 0;
  const outboxes = new Map<string, Set<string>>();
  for (const d of await state.unsent()) {
    const dest = settings.destinations[d.destination];
    let result: Attempt;
    if (!dest) result = { ok: false, attempts: 0, error: 'no such destination in playbook_settings.destinations' };
    else if (dest.type === 'outbox') result = appendOutbox(outboxPath(dataDir, dest.file), d.payload, outboxes);
    else result = await post(dest, d.payload, options);
    await state.markDelivery(d.event_id, d.destination, result);
    if (result.ok) sent++;
    else errors.push(`${d.destination}: event ${d.event_id}: ${result.error}`);
  }
  return { sent, failed: errors.length, errors };
}

interface Attempt {
  ok: boolean;
  attempts: number;
  error?: string;
}

/**
 * The signature a webhook receiver checks: `v1=` and the hex HMAC-SHA256, keyed by the shared
 * secret, of `<timestamp>.<raw body>` (the X-NRR-Timestamp header, in Unix seconds).
 * @example signPayload('s3cret', '1767225600', '{"event_id":"…"}')
 */
export function signPayload(secret: string, timestamp: string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** True when `signature` is this body's, and the timestamp is within `toleranceSeconds` of `now`. */
export function verifySignature(secret: string, signature: string, timestamp: string, body: string, toleranceSeconds = 300, now = Date.now()): boolean {
  const ts = Number(timestamp);
  if (!Number.isInteger(ts) || Math.abs(now / 1000 - ts) > toleranceSeconds) return false;
  const want = Buffer.from(signPayload(secret, timestamp, body));
  const got = Buffer.from(signature);
  return want.length === got.length && timingSafeEqual(want, got);
}

const RETRYABLE = (status: number): boolean => status === 408 || status === 425 || status === 429 || status >= 500;

async function post(dest: Extract<Destination, { type: 'webhook' | 'chat' }>, payloadText: string, options: DeliveryOptions): Promise<Attempt> {
  const doFetch = options.fetch ?? fetch;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const payload = JSON.parse(payloadText) as Payload;
  let secret: string | undefined;
  if (dest.type === 'webhook') {
    secret = (options.env ?? process.env)[dest.secret_env];
    if (!secret) return { ok: false, attempts: 0, error: `the environment variable ${dest.secret_env} (the webhook's signing secret) is not set` };
  }
  const body = dest.type === 'webhook' ? payloadText : JSON.stringify(chatMessage(payload));
  let error = '';
  const tries = dest.retries + 1;
  for (let attempt = 1; attempt <= tries; attempt++) {
    let wait = dest.backoff_ms * 2 ** (attempt - 1);
    try {
      const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'nrr-engine', 'x-nrr-event-id': payload.event_id };
      if (secret) {
        const ts = String(Math.floor(Date.now() / 1000));
        headers['x-nrr-timestamp'] = ts;
        headers['x-nrr-signature'] = signPayload(secret, ts, body);
      }
      const res = await doFetch(dest.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(dest.timeout_ms) });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return { ok: true, attempts: attempt };
      error = `HTTP ${res.status} from ${dest.url}`;
      if (!RETRYABLE(res.status)) return { ok: false, attempts: attempt, error };
      const after = Number(res.headers.get('retry-after'));
      if (Number.isFinite(after) && after > 0) wait = Math.max(wait, Math.min(after, 60) * 1000);
    } catch (e) {
      error = `${dest.url}: ${e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e)}`;
    }
    if (attempt < tries) await sleep(Math.min(wait, 60_000));
  }
  return { ok: false, attempts: tries, error: `${error} (after ${tries} attempts)` };
}

/** A Slack-compatible message: `text` for notifications, one section block for the body. */
export function chatMessage(p: Payload): { text: string; blocks: unknown[] } {
  const name = String(p.account['name'] ?? p.account['account_id']);
  const who = `${name} (${String(p.account['account_id'])})`;
  const text =
    p.kind === 'enter' && p.task
      ? `*${p.playbook}*: ${who} → ${p.task.type} task for ${p.task.owner}, ${p.task.priority}, due ${p.task.due_date}`
      : `*${p.playbook}*: ${who} left the play (${p.reasons.exit ?? ''})`;
  const why = p.kind === 'enter' ? [`when ${p.reasons.trigger ?? ''}`, ...(p.reasons.top_reasons ?? [])].map((r) => `• ${r}`).join('\n') : '';
  return {
    text,
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: why ? `${text}\n${why}` : text } }],
  };
}

const CSV_COLUMNS = ['event_id', 'kind', 'as_of', 'playbook', 'account_id', 'account_name', 'task_id', 'type', 'priority', 'owner', 'due_date', 'config_version', 'reasons'];

/** Appends one event to a JSONL or CSV outbox, unless the file already holds it. */
function appendOutbox(file: string, payloadText: string, cache: Map<string, Set<string>>): Attempt {
  try {
    const csv = /\.csv$/i.test(file);
    let seen = cache.get(file);
    if (!seen) {
      seen = existingEventIds(file, csv);
      cache.set(file, seen);
    }
    const p = JSON.parse(payloadText) as Payload;
    if (!seen.has(p.event_id)) {
      mkdirSync(dirname(file), { recursive: true });
      if (csv) {
        const row = {
          event_id: p.event_id,
          kind: p.kind,
          as_of: p.as_of,
          playbook: p.playbook,
          account_id: p.account['account_id'],
          account_name: p.account['name'] ?? '',
          task_id: p.task?.task_id ?? p.task_id ?? '',
          type: p.task?.type ?? '',
          priority: p.task?.priority ?? '',
          owner: p.task?.owner ?? '',
          due_date: p.task?.due_date ?? '',
          config_version: p.config_version,
          reasons: p.kind === 'enter' ? [`when ${p.reasons.trigger ?? ''}`, ...(p.reasons.top_reasons ?? [])].join('; ') : (p.reasons.exit ?? ''),
        };
        appendFileSync(file, stringifyCsv([row], { header: !existsSync(file), columns: CSV_COLUMNS }));
      } else appendFileSync(file, payloadText + '\n');
      seen.add(p.event_id);
    }
    return { ok: true, attempts: 1 };
  } catch (e) {
    return { ok: false, attempts: 1, error: `${file}: ${e instanceof Error ? e.message : String(e)}` };
  }
}

function existingEventIds(file: string, csv: boolean): Set<string> {
  if (!existsSync(file)) return new Set();
  const text = readFileSync(file, 'utf8');
  if (csv) return new Set((parseCsv(text, { columns: true, relax_column_count: true }) as Record<string, string>[]).map((r) => r['event_id'] ?? ''));
  const ids = new Set<string>();
  for (const line of text.split('\n')) {
    try {
      const id = (JSON.parse(line) as { event_id?: unknown }).event_id;
      if (typeof id === 'string') ids.add(id);
    } catch {
      // A line cut short by a crash: its event was not delivered and is written again.
    }
  }
  // A crash can also leave the file without its final newline.
  if (text.length > 0 && !text.endsWith('\n')) appendFileSync(file, '\n');
  return ids;
}
