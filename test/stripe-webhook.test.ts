import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { IngestBatch } from '../src/store/apply-batch.js';
import { StripeEventLog, StripeEventReceiver, diffRows } from '../src/stripe/stripe-events.js';
import { StripeObjectsModel } from '../src/stripe/stripe-live-model.js';
import { emptyStripeObjects, readStripeObjects } from '../src/stripe/stripe-objects.js';
import { WebhookSignatureError, signStripePayload, verifyStripeEvent, type StripeEventEnvelope } from '../src/stripe/stripe-webhook.js';
import { removeDir } from './helpers/fixture-dir.js';

/**
 * Stripe webhooks: the signature (checked by the official client), the event log (a repeat is
 * ignored, a late event does not undo a newer one) and the rows an event changes.
 */

const SECRET = 'whsec_test_secret_one';
const OLD_SECRET = 'whsec_test_secret_old';
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'nrr-stripe-wh-'));
  dirs.push(d);
  return d;
};

/** The header as Stripe's documentation defines it, computed here without the client: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">. */
const v1 = (secret: string, t: number, body: string): string => createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
const now = (): number => Math.floor(Date.now() / 1000);

const event = (id: string, created: number, type: string, object: Record<string, unknown>): StripeEventEnvelope => ({
  id,
  type,
  created,
  livemode: true,
  api_version: '2026-11-18.endive',
  data: { object: object as StripeEventEnvelope['data']['object'] },
});

describe('Stripe-Signature', () => {
  const body = JSON.stringify({ id: 'evt_1', object: 'event', type: 'customer.updated', created: 1_700_000_000, livemode: true, api_version: null, data: { object: { id: 'cus_A', object: 'customer' } } });

  it('accepts a valid signature and returns the event', async () => {
    const t = now();
    const e = await verifyStripeEvent(Buffer.from(body), `t=${t},v1=${v1(SECRET, t, body)}`, SECRET);
    expect(e.id).toBe('evt_1');
    expect(e.data.object.id).toBe('cus_A');
  });

  it('refuses a tampered body (one byte changed after signing)', async () => {
    const t = now();
    const header = `t=${t},v1=${v1(SECRET, t, body)}`;
    await expect(verifyStripeEvent(body.replace('cus_A', 'cus_B'), header, SECRET)).rejects.toThrow(WebhookSignatureError);
    await expect(verifyStripeEvent(body.replace('cus_A', 'cus_B'), header, SECRET)).rejects.toThrow(/no v1 signature matches/);
  });

  it('refuses a stale timestamp (older than the tolerance), accepts it with a larger tolerance', async () => {
    const t = now() - 301; // 300 s is the default tolerance
    const header = `t=${t},v1=${v1(SECRET, t, body)}`;
    await expect(verifyStripeEvent(body, header, SECRET)).rejects.toThrow(/more than 300 s old/);
    await expect(verifyStripeEvent(body, header, SECRET, 600)).resolves.toMatchObject({ id: 'evt_1' });
  });

  it('accepts two v1 values during a secret rotation, whichever one matches', async () => {
    const t = now();
    const both = `t=${t},v1=${v1(OLD_SECRET, t, body)},v1=${v1(SECRET, t, body)}`;
    await expect(verifyStripeEvent(body, both, SECRET)).resolves.toMatchObject({ id: 'evt_1' });
    await expect(verifyStripeEvent(body, both, OLD_SECRET)).resolves.toMatchObject({ id: 'evt_1' });
    await expect(verifyStripeEvent(body, both, 'whsec_another')).rejects.toThrow(WebhookSignatureError);
    // The helper for tests and the bench makes the same header.
    expect(signStripePayload(body, [OLD_SECRET, SECRET], t)).toBe(both);
  });

  it('refuses a missing or empty header, and a header without t= and v1=', async () => {
    await expect(verifyStripeEvent(body, undefined, SECRET)).rejects.toThrow(/no Stripe-Signature header/);
    await expect(verifyStripeEvent(body, '', SECRET)).rejects.toThrow(/no Stripe-Signature header/);
    await expect(verifyStripeEvent(body, 'v0=abc', SECRET)).rejects.toThrow(/no t= and v1=/);
  });
});

describe('the event log and the receiver', () => {
  // One customer on a 100 USD/month price with quantity 2: MRR 200; the update makes it 3 seats: MRR 300.
  const objects = [
    { id: 'prod_P', object: 'product', name: 'Pro', created: 1_700_000_000, livemode: true },
    { id: 'price_P', object: 'price', currency: 'usd', unit_amount: 10_000, recurring: { interval: 'month', interval_count: 1, usage_type: 'licensed' }, product: 'prod_P', type: 'recurring', created: 1_700_000_000, livemode: true },
    { id: 'cus_A', object: 'customer', name: 'Alpha', created: 1_700_000_000, livemode: true, metadata: {} },
  ];
  const sub = (quantity: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    id: 'sub_A',
    object: 'subscription',
    customer: 'cus_A',
    status: 'active',
    created: 1_700_000_000,
    start_date: 1_700_000_000,
    livemode: true,
    cancel_at_period_end: false,
    items: {
      object: 'list',
      has_more: false,
      data: [{ id: 'si_A', object: 'subscription_item', created: 1_700_000_000, price: 'price_P', quantity, current_period_start: 1_700_000_000, current_period_end: 1_702_592_000 }],
    },
    ...extra,
  });

  async function receiver(): Promise<{ r: StripeEventReceiver; batches: IngestBatch[]; dir: string }> {
    const dir = tempDir();
    const kept = emptyStripeObjects();
    await readStripeObjects(writeJsonl(dir, 'objects.jsonl', [...objects, sub(2)]), kept);
    const model = await StripeObjectsModel.open(kept, { timezone: 'UTC', now: 1_701_000_000 }, join(dir, 'live-objects.jsonl'), null);
    const batches: IngestBatch[] = [];
    const r = new StripeEventReceiver(StripeEventLog.open(join(dir, 'events.jsonl')), model, async (b) => {
      batches.push(b);
      return { batch_id: b.batchId!, source: b.source as 'subscriptions', already_applied: false, rows: 0, replaced: 0, withdrawn: 0, accounts: [], warnings: [], warning_count: 0 };
    });
    return { r, batches, dir };
  }

  const mrrOf = (batches: IngestBatch[]): string[] => batches.filter((b) => b.source === 'subscriptions').flatMap((b) => (b.rows ?? []).map((x) => String(x['mrr'])));

  it('applies an update as the changed subscription rows, with a batch id from the event id', async () => {
    const { r, batches } = await receiver();
    const out = await r.receive(event('evt_up', 1_700_500_000, 'customer.subscription.updated', sub(3)));
    expect(out).toMatchObject({ status: 'applied', duplicate: false, customers: ['cus_A'] });
    // 3 seats × 100 = 300 a month; the accounts row did not change, so no accounts batch.
    expect(batches.map((b) => b.batchId)).toEqual(['evt_up.subscriptions']);
    expect(mrrOf(batches)).toEqual(['300']);
  });

  it('acknowledges a repeated event and applies nothing again, also after a restart (the log is on disk)', async () => {
    const { r, batches, dir } = await receiver();
    await r.receive(event('evt_up', 1_700_500_000, 'customer.subscription.updated', sub(3)));
    const again = await r.receive(event('evt_up', 1_700_500_000, 'customer.subscription.updated', sub(3)));
    expect(again).toMatchObject({ status: 'applied', duplicate: true });
    expect(batches).toHaveLength(1);
    const reopened = StripeEventLog.open(join(dir, 'events.jsonl'));
    expect(reopened.get('evt_up')?.status).toBe('applied');
    expect(readFileSync(join(dir, 'live-objects.jsonl'), 'utf8')).toContain('"version":1700500000');
  });

  it('applies out-of-order events by the object version: a late older event does not undo a newer one', async () => {
    const { r, batches } = await receiver();
    // Stripe made evt_4 (4 seats) after evt_3 (3 seats); evt_4 arrives first.
    await r.receive(event('evt_4', 1_700_600_000, 'customer.subscription.updated', sub(4)));
    const late = await r.receive(event('evt_3', 1_700_500_000, 'customer.subscription.updated', sub(3)));
    expect(late.status).toBe('superseded');
    expect(mrrOf(batches)).toEqual(['400']); // 4 × 100; the 300 of evt_3 never applied
  });

  it('keeps a failed apply for retry and applies it when retried', async () => {
    const dir = tempDir();
    const kept = emptyStripeObjects();
    await readStripeObjects(writeJsonl(dir, 'objects.jsonl', [...objects, sub(2)]), kept);
    const model = await StripeObjectsModel.open(kept, { timezone: 'UTC', now: 1_701_000_000 }, join(dir, 'live-objects.jsonl'), null);
    let fail = true;
    const applied: IngestBatch[] = [];
    const log = StripeEventLog.open(join(dir, 'events.jsonl'));
    const r = new StripeEventReceiver(log, model, async (b) => {
      if (fail) throw new Error('the store is busy');
      applied.push(b);
      return { batch_id: b.batchId!, source: 'subscriptions', already_applied: false, rows: 0, replaced: 0, withdrawn: 0, accounts: [], warnings: [], warning_count: 0 };
    });
    await expect(r.receive(event('evt_up', 1_700_500_000, 'customer.subscription.updated', sub(3)))).rejects.toThrow(/the store is busy/);
    expect(log.get('evt_up')).toMatchObject({ status: 'failed', attempts: 1 });
    expect(log.counts().failed).toBe(1);
    fail = false;
    const retried = await r.retryFailed();
    expect(retried.map((o) => o.status)).toEqual(['applied']);
    expect(log.get('evt_up')).toMatchObject({ status: 'applied', attempts: 2 });
    expect(mrrOf(applied)).toEqual(['300']);
  });

  it('ignores events about objects the mapping does not read', async () => {
    const { r, batches } = await receiver();
    const out = await r.receive(event('evt_ch', 1_700_500_000, 'charge.succeeded', { id: 'ch_1', object: 'charge', customer: 'cus_A' }));
    expect(out.status).toBe('ignored');
    expect(batches).toHaveLength(0);
  });

  it('diffRows: new and changed rows, and the keys of rows gone', () => {
    const before = [
      { line_id: 'a', mrr: '1' },
      { line_id: 'b', mrr: '2' },
    ];
    const after = [
      { line_id: 'a', mrr: '1' },
      { line_id: 'c', mrr: '3' },
      { mrr: '2', line_id: 'b2' },
    ];
    expect(diffRows('subscriptions', before, after)).toEqual({ rows: [after[1], after[2]], withdraw: [{ line_id: 'b' }] });
    expect(diffRows('usage', [{ account_id: 'A', product: 'p', month: '2026-01', amount: '1' }], [])).toEqual({ rows: [], withdraw: [{ account_id: 'A', product: 'p', month: '2026-01' }] });
  });
});

function writeJsonl(dir: string, name: string, rows: readonly unknown[]): string {
  const path = join(dir, name);
  writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return path;
}
