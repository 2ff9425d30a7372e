import { createHmac, timingSafeEqual } from 'node:crypto';
import { closeSync, fstatSync, ftruncateSync, mkdirSync, openSync, readFileSync, statSync, truncateSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { stringify as stringifyCsv } from 'csv-stringify/sync';
import { spreadsheetSafe } from '../spreadsheet-cell.js';
import { NrrError } from '../errors.js';
import { outboxPath, type Destination, type PlaybookSettings } from './playbook-settings.js';
import { PlaybookState, newClaimer, type Delivery, type DeliveryResult } from './playbook-state.js';

/**
 * Delivers fired events to the destinations their play names: a webhook (JSON, HMAC-signed), a
 * chat webhook (Slack-compatible), or an outbox file (JSONL or CSV).
 *
 * The play state is never held while sending: the run claims the unsent deliveries in one short
 * transaction, sends them with the state closed, and records each result in short transactions.
 * Destinations are served side by side, each in order. A delivery is retried with exponential
 * backoff; when it still fails on a network error, a timeout or a 5xx, the destination's other
 * deliveries wait for the next run instead of each waiting out the timeout, and the whole run
 * spends at most `delivery_time_limit_ms` delivering. Every delivery carries its event id, so a
 * receiver can drop a repeat (a delivery whose result a crash kept from being recorded is sent
 * again); an outbox never holds an event twice.
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
  /** Not tried in this run (their destination failed earlier in it, or time ran out); the next run sends them. */
  readonly deferred: number;
  /** `destination: event: problem` for each failure, `destination: N deliveries deferred …` for each deferral. */
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

/** A claim outlives the run's delivery time by this much before another run may take it over. */
const LEASE_MARGIN_MS = 600_000;

/**
 * Sends every unsent delivery (this run's, and earlier runs' failures) that no other live run is
 * sending, with the state file `stateFile` open only to claim them and to record results.
 */
export async function deliverPending(stateFile: string, settings: PlaybookSettings, dataDir: string, options: DeliveryOptions = {}): Promise<DeliverySummary> {
  const claimer = newClaimer();
  const due = await PlaybookState.using(stateFile, {}, (s) => s.claimUnsent(claimer, settings.delivery_time_limit_ms + LEASE_MARGIN_MS));
  if (due.length === 0) return { sent: 0, failed: 0, deferred: 0, errors: [] };
  const run: RunContext = { settings, dataDir, options, deadline: Date.now() + settings.delivery_time_limit_ms, results: new ResultLog(stateFile), outboxes: new Map() };
  const byDestination = new Map<string, Due[]>();
  for (const d of due) {
    const list = byDestination.get(d.destination);
    if (list) list.push(d);
    else byDestination.set(d.destination, [d]);
  }
  let parts: DestinationSummary[];
  try {
    parts = await Promise.all([...byDestination].map(([name, list]) => deliverTo(name, list, run)));
    await run.results.flush();
  } finally {
    await PlaybookState.using(stateFile, {}, (s) => s.releaseClaims(claimer));
  }
  const sum = (k: 'sent' | 'failed' | 'deferred'): number => parts.reduce((n, p) => n + p[k], 0);
  return { sent: sum('sent'), failed: sum('failed'), deferred: sum('deferred'), errors: parts.flatMap((p) => p.errors) };
}

type Due = Delivery & { payload: string };
type DestinationSummary = { sent: number; failed: number; deferred: number; errors: string[] };

interface RunContext {
  readonly settings: PlaybookSettings;
  readonly dataDir: string;
  readonly options: DeliveryOptions;
  /** When the run's delivery time runs out (ms since the epoch). */
  readonly deadline: number;
  readonly results: ResultLog;
  /** The event ids each outbox file holds, read once per run. */
  readonly outboxes: Map<string, Set<string>>;
}

/**
 * One destination's deliveries, in order. After a failure that says the destination is down,
 * the rest are deferred to the next run; so are those left when the run's time runs out.
 */
async function deliverTo(name: string, list: readonly Due[], run: RunContext): Promise<DestinationSummary> {
  const out: DestinationSummary = { sent: 0, failed: 0, deferred: 0, errors: [] };
  const dest = run.settings.destinations[name];
  let waitReason = '';
  let previous: Promise<void> = Promise.resolve();
  for (const d of list) {
    if (!waitReason && run.results.failure) waitReason = 'the play state could not be written';
    if (!waitReason && Date.now() >= run.deadline) waitReason = `the run's delivery time (delivery_time_limit_ms: ${run.settings.delivery_time_limit_ms}) ran out`;
    if (waitReason) {
      out.deferred++;
      continue;
    }
    let r: Attempt;
    if (!dest) r = { ok: false, attempts: 0, error: 'no such destination in playbook_settings.destinations', destinationDown: true };
    else if (dest.type === 'outbox') r = appendOutbox(outboxPath(run.dataDir, dest.file), d.payload, run.outboxes);
    else r = await post(dest, d.payload, run.options, run.deadline);
    const recorded = run.results.add({ event_id: d.event_id, destination: name, ok: r.ok, attempts: r.attempts, error: r.error });
    // A crash repeats only requests whose result is not yet recorded: the previous result is
    // recorded while this request is under way, and waited for before the next one, so at most
    // two per destination. An outbox needs no wait (it never takes an event twice).
    if (dest?.type !== 'outbox') {
      await previous;
      previous = recorded;
    }
    if (r.ok) out.sent++;
    else {
      out.failed++;
      out.errors.push(`${name}: event ${d.event_id}: ${r.error}`);
      if (r.destinationDown) waitReason = `${name} failed earlier in this run`;
    }
  }
  if (out.deferred > 0) out.errors.push(`${name}: ${out.deferred} deliver${out.deferred === 1 ? 'y' : 'ies'} deferred to the next run: ${waitReason}`);
  return out;
}

/**
 * Records results as they come, several per short transaction: the state is opened only while
 * a batch is written, so readers and other runs get their turn between batches.
 */
class ResultLog {
  private queue: { result: DeliveryResult; done: () => void }[] = [];
  private writing: Promise<void> | null = null;
  /** Why a batch could not be written; from then on nothing more is sent in this run. */
  failure: Error | null = null;

  constructor(private readonly stateFile: string) {}

  /** Resolves once the result is written (or could not be: see `failure`). */
  add(result: DeliveryResult): Promise<void> {
    return new Promise((done) => {
      this.queue.push({ result, done });
      this.writing ??= this.drain();
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0);
      try {
        if (!this.failure) await PlaybookState.using(this.stateFile, {}, (s) => s.recordDeliveries(batch.map((b) => b.result)));
      } catch (e) {
        this.failure = e instanceof Error ? e : new Error(String(e));
      }
      batch.forEach((b) => b.done());
    }
    this.writing = null;
  }

  /** Waits until every result is written; throws if one could not be (those are sent again). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.failure) throw new NrrError(`deliveries were made but not all of their results could be recorded (the next run sends those again): ${this.failure.message}`);
  }
}

interface Attempt {
  ok: boolean;
  attempts: number;
  error?: string;
  /** The destination itself is failing (network, timeout, 5xx, configuration): its other deliveries wait. */
  destinationDown?: boolean;
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

async function post(dest: Extract<Destination, { type: 'webhook' | 'chat' }>, payloadText: string, options: DeliveryOptions, deadline: number): Promise<Attempt> {
  const doFetch = options.fetch ?? fetch;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const payload = JSON.parse(payloadText) as Payload;
  let secret: string | undefined;
  if (dest.type === 'webhook') {
    secret = (options.env ?? process.env)[dest.secret_env];
    if (!secret) return { ok: false, attempts: 0, error: `the environment variable ${dest.secret_env} (the webhook's signing secret) is not set`, destinationDown: true };
  }
  const body = dest.type === 'webhook' ? payloadText : JSON.stringify(chatMessage(payload));
  let error = '';
  const tries = dest.retries + 1;
  let attempt = 0;
  while (attempt < tries) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    attempt++;
    let wait = dest.backoff_ms * 2 ** (attempt - 1);
    try {
      const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'nrr-engine', 'x-nrr-event-id': payload.event_id };
      if (secret) {
        const ts = String(Math.floor(Date.now() / 1000));
        headers['x-nrr-timestamp'] = ts;
        headers['x-nrr-signature'] = signPayload(secret, ts, body);
      }
      const res = await doFetch(dest.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(Math.min(dest.timeout_ms, left)) });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return { ok: true, attempts: attempt };
      error = `HTTP ${res.status} from ${dest.url}`;
      if (!RETRYABLE(res.status)) return { ok: false, attempts: attempt, error };
      const after = Number(res.headers.get('retry-after'));
      if (Number.isFinite(after) && after > 0) wait = Math.max(wait, Math.min(after, 60) * 1000);
    } catch (e) {
      error = `${dest.url}: ${e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e)}`;
    }
    wait = Math.min(wait, 60_000);
    if (attempt < tries && Date.now() + wait < deadline) await sleep(wait);
    else if (attempt < tries) break;
  }
  const cut = attempt < tries ? "; the run's delivery time ran out" : '';
  return { ok: false, attempts: attempt, error: `${error || 'not sent'} (after ${attempt} attempt${attempt === 1 ? '' : 's'}${cut})`, destinationDown: true };
}

/**
 * Text for Slack mrkdwn: `&`, `<` and `>` become `&amp;`, `&lt;` and `&gt;`, the escaping Slack
 * asks for, so a value can never be a mention (`<!channel>`), a link with a disguised label
 * (`<http://evil|bank>`) or a command; Slack shows the characters as they were.
 * @example escapeSlackText('<!channel> & co') // '&lt;!channel&gt; &amp; co'
 */
export function escapeSlackText(value: string): string {
  return value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** A Slack-compatible message: `text` for notifications, one section block for the body; every value escaped. */
export function chatMessage(p: Payload): { text: string; blocks: unknown[] } {
  const v = (x: unknown): string => escapeSlackText(String(x ?? ''));
  const who = `${v(p.account['name'] ?? p.account['account_id'])} (${v(p.account['account_id'])})`;
  const text =
    p.kind === 'enter' && p.task
      ? `*${v(p.playbook)}*: ${who} → ${v(p.task.type)} task for ${v(p.task.owner)}, ${v(p.task.priority)}, due ${v(p.task.due_date)}`
      : `*${v(p.playbook)}*: ${who} left the play (${v(p.reasons.exit)})`;
  const why = p.kind === 'enter' ? [`when ${p.reasons.trigger ?? ''}`, ...(p.reasons.top_reasons ?? [])].map((r) => `• ${v(r)}`).join('\n') : '';
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
        // Text a spreadsheet would run as a formula is neutralised, as in `--format csv`.
        const safe = Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'string' ? spreadsheetSafe(v) : v]));
        appendRecord(file, stringifyCsv([safe], { columns: CSV_COLUMNS }), stringifyCsv([CSV_COLUMNS]));
      } else appendRecord(file, payloadText + '\n');
      seen.add(p.event_id);
    }
    return { ok: true, attempts: 1 };
  } catch (e) {
    return { ok: false, attempts: 1, error: `${file}: ${e instanceof Error ? e.message : String(e)}`, destinationDown: true };
  }
}

/**
 * Appends one whole record in one write (with the header first when the file is empty). A write
 * cut short (a full disk) is taken back at once; if even that fails, or the process dies in the
 * middle, the next run finds the torn record and removes it (`existingEventIds`).
 */
function appendRecord(file: string, record: string, header = ''): void {
  mkdirSync(dirname(file), { recursive: true });
  const fd = openSync(file, 'a');
  try {
    const size = fstatSync(fd).size;
    const bytes = Buffer.from(size === 0 ? header + record : record);
    let written = 0;
    try {
      written = writeSync(fd, bytes, 0, bytes.length);
    } finally {
      if (written !== bytes.length) {
        try {
          ftruncateSync(fd, size);
        } catch {
          // Left for the next run to repair.
        }
      }
    }
    if (written !== bytes.length) throw new Error(`only ${written} of ${bytes.length} bytes could be written (is the disk full?); the record was taken back`);
  } finally {
    closeSync(fd);
  }
}

/**
 * The event ids an outbox holds. A torn last record (a write cut short by a crash or a full disk)
 * is cut off first, keeping every whole record; its event is then written again. Only the last
 * record may be torn: any other damage is reported and the file left as it is.
 */
function existingEventIds(file: string, csv: boolean): Set<string> {
  let bytes: Buffer;
  try {
    if (!statSync(file).isFile()) throw new Error('not a regular file: an outbox must be a file of its own');
    bytes = readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Set();
    throw e;
  }
  const whole = csv ? wholeCsvLength(bytes) : bytes.lastIndexOf(0x0a) + 1;
  if (whole < bytes.length) {
    truncateSync(file, whole);
    bytes = bytes.subarray(0, whole);
  }
  const ids = new Set<string>();
  if (csv) {
    const rows = parseCsv(bytes, { relax_column_count: true }) as string[][];
    const [header = [], ...records] = rows;
    const at = header.indexOf('event_id');
    // Without the column every event would look written already and be skipped: refuse the file instead.
    if (at < 0 && header.length > 0) throw new Error(`its header has no event_id column (found ${header.join(', ')}): not an nrr outbox, so the file is left as it is`);
    records.forEach((r, i) => {
      if (r.length !== header.length) throw new Error(`record ${i + 1} has ${r.length} fields, the header ${header.length}: only a torn last record is repaired, so the file is left as it is`);
      ids.add(r[at] ?? '');
    });
    return ids;
  }
  for (const line of bytes.toString('utf8').split('\n')) {
    try {
      const id = (JSON.parse(line) as { event_id?: unknown }).event_id;
      if (typeof id === 'string') ids.add(id);
    } catch {
      // A line cut short by a crash of an earlier version: its event was written again after it.
    }
  }
  return ids;
}

/**
 * The length of a CSV file's whole records: up to the last line end outside quotes. What follows
 * it (a record without its line end, or with a quoted field never closed) is a torn record.
 */
function wholeCsvLength(bytes: Buffer): number {
  let quoted = false;
  let end = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0x22) quoted = !quoted;
    else if (b === 0x0a && !quoted) end = i + 1;
  }
  return end;
}
