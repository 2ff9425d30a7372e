import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { NrrError } from '../errors.js';
import type { ApplyResult, IngestBatch } from '../store/apply-batch.js';
import type { StripeEventEnvelope } from './stripe-webhook.js';

/**
 * What became of an event:
 * - `applied`: its object was kept and the rows of the customers it touches were applied;
 * - `superseded`: the object had already been applied at a later version (an event that arrived
 *   late): kept, not applied;
 * - `ignored`: not about an object the mapping reads (a charge, a payment intent…);
 * - `failed`: applying it failed; kept with its payload, and tried again when Stripe sends it
 *   again or `retryFailed` runs (`nrr serve` does at start).
 */
export type StripeEventStatus = 'applied' | 'superseded' | 'ignored' | 'failed';

/** One line of the event log. */
export interface StoredStripeEvent {
  readonly id: string;
  readonly type: string;
  /** The event's `created` (seconds): the version of the object it carries. */
  readonly created: number;
  readonly object_id: string | null;
  readonly object_type: string | null;
  readonly status: StripeEventStatus;
  readonly received_at: string;
  readonly attempts: number;
  /** Customers whose rows were applied again. */
  readonly customers?: readonly string[];
  readonly error?: string;
  /** Kept only while the event is `failed`, to try it again. */
  readonly event?: StripeEventEnvelope;
}

/**
 * The events received, by id, as a JSON-lines file (one line per change of an event's state; the
 * last line of an id is its state): a repeated event is recognised, failed events are kept for retry. Lines are appended, so a killed server
 * loses at most the line it was writing (a torn last line is skipped on reading).
 */
export class StripeEventLog {
  private readonly events = new Map<string, StoredStripeEvent>();

  private constructor(readonly path: string) {}

  static open(path: string): StripeEventLog {
    const log = new StripeEventLog(path);
    if (existsSync(path)) {
      for (const line of readFileSync(path, 'utf8').split('\n')) {
        if (line.trim() === '') continue;
        let e: StoredStripeEvent;
        try {
          e = JSON.parse(line) as StoredStripeEvent;
        } catch {
          continue; // a line torn by a crash: that event was not acknowledged, Stripe sends it again
        }
        log.remember(e);
      }
    }
    return log;
  }

  get(id: string): StoredStripeEvent | undefined {
    return this.events.get(id);
  }

  record(e: StoredStripeEvent): void {
    mkdirSync(dirname(this.path), { recursive: true });
    appendFileSync(this.path, JSON.stringify(e) + '\n');
    this.remember(e);
  }

  all(): StoredStripeEvent[] {
    return [...this.events.values()];
  }

  failed(): StoredStripeEvent[] {
    return this.all().filter((e) => e.status === 'failed');
  }

  /** Events by status. */
  counts(): Record<StripeEventStatus, number> {
    const c: Record<StripeEventStatus, number> = { applied: 0, superseded: 0, ignored: 0, failed: 0 };
    for (const e of this.events.values()) c[e.status]++;
    return c;
  }

  private remember(e: StoredStripeEvent): void {
    this.events.set(e.id, e);
  }
}

/** The rows of one customer in the data contract, as the Stripe mapping gives them. */
export interface CustomerRows {
  readonly accounts: readonly Record<string, unknown>[];
  readonly subscriptions: readonly Record<string, unknown>[];
  readonly usage: readonly Record<string, unknown>[];
}

/**
 * The Stripe objects a live server keeps and the mapping of a customer's objects to rows
 * (stripe-live-model.ts gives the one on stripe-import's mapping).
 */
export interface StripeLiveModel {
  /** Whether events about objects of this type (`customer`, `subscription`…) change rows. */
  reads(objectType: string): boolean;
  /** The customers whose rows depend on the object (by its current and its kept version). */
  customersOf(object: Record<string, unknown>): string[];
  /**
   * Keeps the object at `version` (the event's `created`) in place of the one with its id, unless
   * the one kept is of a later version (`older`: nothing changes).
   */
  update(object: Record<string, unknown>, version: number): 'applied' | 'older';
  /** The rows of a customer from the objects kept now. */
  rowsOf(customer: string): CustomerRows;
}

/** What the webhook endpoint answers for an event. */
export interface EventOutcome {
  readonly event_id: string;
  readonly status: StripeEventStatus;
  /** The event had been received before: nothing was done again. */
  readonly duplicate: boolean;
  readonly customers: readonly string[];
  /** Rows ingested and withdrawn per source. */
  readonly changes: Readonly<Record<'accounts' | 'subscriptions' | 'usage', { rows: number; withdrawn: number }>>;
}

const SOURCES = ['accounts', 'subscriptions', 'usage'] as const;
type Source = (typeof SOURCES)[number];

const KEY: Record<Source, readonly string[]> = {
  accounts: ['account_id'],
  subscriptions: ['line_id'],
  usage: ['account_id', 'product', 'month'],
};

/**
 * Applies verified events to the live workspace, one at a time: the event is stored by id (a
 * repeat is acknowledged and ignored), its object is kept unless a later version of it was
 * applied already (events are applied in order of the object's version, the event's `created`,
 * not in order of arrival; equal seconds in order of arrival), the customers it touches are
 * mapped again and the difference from their last rows is applied through `apply` (accounts,
 * then subscriptions, then usage), with batch ids derived from the event id, so that applying
 * an event again after a failure half way does not apply a batch twice.
 */
export class StripeEventReceiver {
  private queue: Promise<unknown> = Promise.resolve();
  /** The rows last applied for each customer (known once an event touched it). */
  private readonly last = new Map<string, CustomerRows>();

  constructor(
    readonly log: StripeEventLog,
    private readonly model: StripeLiveModel,
    private readonly apply: (batch: IngestBatch) => Promise<ApplyResult>,
    private readonly now: () => Date = () => new Date(),
    /**
     * Fetches the object as it is now (with network access to Stripe); without it, or when the
     * fetch fails, the event's payload is applied.
     */
    private readonly fetchObject?: (object: Record<string, unknown>) => Promise<Record<string, unknown> | null>,
  ) {}

  /** Takes an event (already verified); resolves once its change is applied, rejects when that failed (the event is kept as failed). */
  receive(event: StripeEventEnvelope): Promise<EventOutcome> {
    return this.serially(() => this.receiveNow(event));
  }

  /** Applies the failed events again, oldest version first; the outcomes (failures included, as `failed`). */
  retryFailed(): Promise<EventOutcome[]> {
    return this.serially(async () => {
      const out: EventOutcome[] = [];
      const failed = this.log
        .failed()
        .filter((e) => e.event !== undefined)
        .sort((a, b) => a.created - b.created);
      for (const f of failed) {
        try {
          out.push(await this.receiveNow(f.event!));
        } catch {
          out.push({ event_id: f.id, status: 'failed', duplicate: false, customers: [], changes: noChanges() });
        }
      }
      return out;
    });
  }

  private async receiveNow(event: StripeEventEnvelope): Promise<EventOutcome> {
    const before = this.log.get(event.id);
    if (before !== undefined && before.status !== 'failed') {
      return { event_id: event.id, status: before.status, duplicate: true, customers: before.customers ?? [], changes: noChanges() };
    }
    let object = eventObject(event);
    if (this.fetchObject && object['deleted'] !== true && this.model.reads(String(object['object']))) {
      object = (await this.fetchObject(object).catch(() => null)) ?? object;
    }
    const objectId = typeof object['id'] === 'string' ? object['id'] : null;
    const objectType = typeof object['object'] === 'string' ? object['object'] : null;
    const base = {
      id: event.id,
      type: event.type,
      created: event.created,
      object_id: objectId,
      object_type: objectType,
      received_at: this.now().toISOString(),
      attempts: (before?.attempts ?? 0) + 1,
    };
    if (objectId === null || objectType === null || !this.model.reads(objectType)) {
      this.log.record({ ...base, status: 'ignored' });
      return { event_id: event.id, status: 'ignored', duplicate: false, customers: [], changes: noChanges() };
    }
    let customers: string[] = [];
    try {
      customers = [...new Set(this.model.customersOf(object))].sort();
      for (const c of customers) if (!this.last.has(c)) this.last.set(c, this.model.rowsOf(c));
      if (this.model.update(object, event.created) === 'older') {
        this.log.record({ ...base, status: 'superseded' });
        return { event_id: event.id, status: 'superseded', duplicate: false, customers: [], changes: noChanges() };
      }
      const changes = noChanges();
      const next = new Map(customers.map((c) => [c, this.model.rowsOf(c)] as const));
      for (const source of SOURCES) {
        const rows: Record<string, unknown>[] = [];
        const withdraw: Record<string, unknown>[] = [];
        for (const c of customers) {
          const d = diffRows(source, this.last.get(c)![source], next.get(c)![source]);
          rows.push(...d.rows);
          withdraw.push(...d.withdraw);
        }
        if (rows.length + withdraw.length === 0) continue;
        await this.apply({ source, rows, withdraw, batchId: `${event.id.slice(0, 80)}.${source}` });
        changes[source] = { rows: rows.length, withdrawn: withdraw.length };
      }
      for (const [c, rows] of next) this.last.set(c, rows);
      this.log.record({ ...base, status: 'applied', customers });
      return { event_id: event.id, status: 'applied', duplicate: false, customers, changes };
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.log.record({ ...base, status: 'failed', customers, error: message, event });
      throw e instanceof NrrError ? e : new NrrError(`event ${event.id} (${event.type}) could not be applied: ${message}`);
    }
  }

  private serially<T>(f: () => Promise<T>): Promise<T> {
    const run = this.queue.then(f, f);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

const noChanges = (): Record<Source, { rows: number; withdrawn: number }> => ({ accounts: { rows: 0, withdrawn: 0 }, subscriptions: { rows: 0, withdrawn: 0 }, usage: { rows: 0, withdrawn: 0 } });

/**
 * The object an event carries, as it is now: a `*.deleted` event about a customer, product, price,
 * coupon or discount carries the object as it was, so it is marked `deleted: true` (as Stripe
 * answers for a deleted object); a deleted subscription carries its `canceled` state already.
 */
export function eventObject(event: StripeEventEnvelope): Record<string, unknown> {
  const o = event.data.object;
  return event.type.endsWith('.deleted') && o['object'] !== 'subscription' ? { ...o, deleted: true } : o;
}

const keyOf = (source: Source, row: Record<string, unknown>): string => JSON.stringify(KEY[source].map((k) => String(row[k] ?? '')));
const rowText = (row: Record<string, unknown>): string => JSON.stringify(row, Object.keys(row).sort());

/** The rows that are new or changed, and the keys of rows no longer there. */
export function diffRows(source: Source, before: readonly Record<string, unknown>[], after: readonly Record<string, unknown>[]): { rows: Record<string, unknown>[]; withdraw: Record<string, unknown>[] } {
  const old = new Map(before.map((r) => [keyOf(source, r), rowText(r)] as const));
  const now = new Set<string>();
  const rows: Record<string, unknown>[] = [];
  for (const r of after) {
    const k = keyOf(source, r);
    now.add(k);
    if (old.get(k) !== rowText(r)) rows.push(r);
  }
  const withdraw = before.filter((r) => !now.has(keyOf(source, r))).map((r) => Object.fromEntries(KEY[source].map((k) => [k, r[k]])));
  return { rows, withdraw };
}
