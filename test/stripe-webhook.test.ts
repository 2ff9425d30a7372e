import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IngestBatch } from '../src/store/apply-batch.js';
import { StripeEventLog, StripeEventReceiver, diffRows } from '../src/stripe/stripe-events.js';
import { appendKeptObjects } from '../src/stripe/import-stripe.js';
import { StripeObjectsModel } from '../src/stripe/stripe-live-model.js';
import { refetcher } from '../src/stripe/stripe-webhook-endpoint.js';
import { startStripeServer } from './helpers/stripe-server.js';
import { emptyStripeObjects, readStripeObjects } from '../src/stripe/stripe-objects.js';
import { WebhookSignatureError, signStripePayload, verifyStripeEvent, type StripeEventEnvelope } from '../src/stripe/stripe-webhook.js';
import { removeDir } from './helpers/fixture-dir.js';
import { freePort } from './helpers/free-port.js';

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
    const model = StripeObjectsModel.open(kept, { timezone: 'UTC', now: 1_701_000_000 }, (entries) => appendKeptObjects(dir, entries), null);
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
    expect(readFileSync(join(dir, 'stripe', 'objects.jsonl'), 'utf8')).toContain('"version":1700500000');
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
    const model = StripeObjectsModel.open(kept, { timezone: 'UTC', now: 1_701_000_000 }, (entries) => appendKeptObjects(dir, entries), null);
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

  it('with an API key, applies the object as Stripe has it now (fetched again), not the payload; without the object at Stripe, the payload', async () => {
    const dir = tempDir();
    const kept = emptyStripeObjects();
    await readStripeObjects(writeJsonl(dir, 'objects.jsonl', [...objects, sub(2)]), kept);
    const model = StripeObjectsModel.open(kept, { timezone: 'UTC', now: 1_701_000_000 }, (entries) => appendKeptObjects(dir, entries), null);
    // Stripe has 7 seats by now; the event's payload (older) says 3.
    const server = await startStripeServer({ corpus: [{ ...sub(7), id: 'sub_A' } as never] });
    try {
      const batches: IngestBatch[] = [];
      const r = new StripeEventReceiver(
        StripeEventLog.open(join(dir, 'events.jsonl')),
        model,
        async (b) => {
          batches.push(b);
          return { batch_id: b.batchId!, source: 'subscriptions', already_applied: false, rows: 0, replaced: 0, withdrawn: 0, accounts: [], warnings: [], warning_count: 0 };
        },
        undefined,
        refetcher({ apiKey: 'sk_test_local', apiBase: server.url }),
      );
      await r.receive(event('evt_up', 1_700_500_000, 'customer.subscription.updated', sub(3)));
      expect(server.requests.map((q) => q.path)).toEqual(['/v1/subscriptions/sub_A']);
      expect(mrrOf(batches)).toEqual(['700']); // 7 × 100, as fetched
      // An object Stripe does not know (404): the payload is applied.
      await r.receive(event('evt_other', 1_700_600_000, 'customer.subscription.updated', { ...sub(4), id: 'sub_B', items: { object: 'list', has_more: false, data: [{ id: 'si_B', object: 'subscription_item', created: 1_700_000_000, price: 'price_P', quantity: 4, current_period_start: 1_700_000_000, current_period_end: 1_702_592_000 }] } }));
      expect(mrrOf(batches)).toEqual(['700', '400']);
    } finally {
      await server.close();
    }
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

/**
 * A real `nrr serve` with STRIPE_WEBHOOK_SECRET: POST /webhooks/stripe verified, applied to the
 * live workspace before the answer, reflected in /api/accounts/<customer id>.
 */
describe('nrr serve: POST /webhooks/stripe', () => {
  const BIN = join(process.cwd(), 'dist', 'cli', 'nrr.js');
  const T0 = 1_767_225_600; // 2026-01-01T00:00:00Z
  const DAY = 86_400;
  // Events applied from their payloads: no API key, so nothing is fetched from Stripe.
  const ENV: NodeJS.ProcessEnv = { ...process.env, NRR_TODAY: '2026-06-15', STRIPE_WEBHOOK_SECRET: SECRET, STRIPE_API_KEY: '', STRIPE_API_BASE: '' };
  let child: ChildProcess | null = null;
  let base = '';
  let data = '';
  afterAll(() => {
    child?.kill('SIGTERM');
  });

  const subscription = (quantity: number): Record<string, unknown> => ({
    id: 'sub_1',
    object: 'subscription',
    customer: 'cus_1',
    status: 'active',
    created: T0,
    start_date: T0,
    livemode: true,
    currency: 'usd',
    cancel_at_period_end: false,
    items: {
      object: 'list',
      has_more: false,
      data: [{ id: 'si_1', object: 'subscription_item', created: T0, price: 'price_m', quantity, current_period_start: T0 + 150 * DAY, current_period_end: T0 + 180 * DAY }],
    },
  });

  beforeAll(async () => {
    expect(existsSync(BIN), 'run npm run build first').toBe(true);
    const corpus = tempDir();
    // cus_1 on 2 seats of 100.00 USD a month (MRR 200), cus_2 on 1 seat (MRR 100).
    const objects = [
      { id: 'prod_1', object: 'product', name: 'Pro', created: T0 - DAY, livemode: true },
      { id: 'price_m', object: 'price', currency: 'usd', unit_amount: 10_000, type: 'recurring', recurring: { interval: 'month', interval_count: 1, usage_type: 'licensed' }, product: 'prod_1', created: T0 - DAY, livemode: true },
      { id: 'cus_1', object: 'customer', name: 'One', created: T0, livemode: true, metadata: {} },
      { id: 'cus_2', object: 'customer', name: 'Two', created: T0, livemode: true, metadata: {} },
      subscription(2),
      { ...subscription(1), id: 'sub_2', customer: 'cus_2', items: { object: 'list', has_more: false, data: [{ id: 'si_2', object: 'subscription_item', created: T0, price: 'price_m', quantity: 1, current_period_start: T0 + 150 * DAY, current_period_end: T0 + 180 * DAY }] } },
    ];
    writeJsonl(corpus, 'objects.jsonl', objects);
    data = tempDir();
    const imp = spawnSync(process.execPath, [BIN, 'stripe', 'import', '--data', data, corpus, '-q'], { encoding: 'utf8', env: ENV });
    expect(imp.status, imp.stderr).toBe(0);
    const port = await freePort();
    child = spawn(process.execPath, [BIN, 'serve', '--data', data, '--port', String(port)], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      let err = '';
      child!.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Dashboard:')) resolve();
      });
      child!.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      child!.once('exit', (code) => reject(new Error(`nrr serve exited with ${code}: ${err}`)));
    });
    base = `http://127.0.0.1:${port}`;
  });

  const mrr = async (id: string): Promise<string> => {
    const res = await fetch(`${base}/api/accounts/${id}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { account: { mrr: string } | null };
    return String(body.account?.mrr);
  };
  const post = (body: string, signature?: string): Promise<Response> =>
    fetch(`${base}/webhooks/stripe`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...(signature === undefined ? {} : { 'stripe-signature': signature }) } });
  const signed = (body: string): string => signStripePayload(body, [SECRET]);
  const updated = (id: string, created: number, quantity: number): string =>
    JSON.stringify({ id, object: 'event', type: 'customer.subscription.updated', created, livemode: true, api_version: '2026-11-18.endive', data: { object: subscription(quantity), previous_attributes: {} } });

  it('applies a signed customer.subscription.updated before answering: the MRR of the account changes', async () => {
    expect(await mrr('cus_1')).toBe('200');
    const body = updated('evt_seats_3', T0 + 160 * DAY, 3);
    const res = await post(body, signed(body));
    const answer = await res.json();
    expect(res.status, JSON.stringify(answer)).toBe(200);
    expect(answer).toMatchObject({ received: true, status: 'applied', duplicate: false, customers: ['cus_1'] });
    // 3 seats × 100.00 = 300; cus_2 untouched.
    expect(await mrr('cus_1')).toBe('300');
    expect(await mrr('cus_2')).toBe('100');
  });

  it('acknowledges a repeated event without applying it again', async () => {
    const body = updated('evt_seats_3', T0 + 160 * DAY, 3);
    const res = await post(body, signed(body));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'applied', duplicate: true });
    expect(await mrr('cus_1')).toBe('300');
  });

  it('applies out-of-order events by the object version: the later one stands', async () => {
    const later = updated('evt_seats_5', T0 + 162 * DAY, 5);
    const earlier = updated('evt_seats_4', T0 + 161 * DAY, 4);
    expect((await post(later, signed(later))).status).toBe(200);
    const res = await post(earlier, signed(earlier));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'superseded' });
    expect(await mrr('cus_1')).toBe('500'); // 5 × 100, not 4 × 100
  });

  it('answers 400 to a bad or missing signature and applies nothing, without the API token', async () => {
    const body = updated('evt_seats_9', T0 + 170 * DAY, 9);
    const tampered = await post(body.replace('"quantity":9', '"quantity":1'), signed(body));
    expect(tampered.status).toBe(400);
    expect(((await tampered.json()) as { error: string }).error).toMatch(/does not check/);
    expect((await post(body)).status).toBe(400);
    const stale = signStripePayload(body, [SECRET], Math.floor(Date.now() / 1000) - 3600);
    expect((await post(body, stale)).status).toBe(400);
    expect(await mrr('cus_1')).toBe('500');
  });

  it('applies customer.updated as the account row: the new name is in /api/accounts/<customer id>', async () => {
    const body = JSON.stringify({ id: 'evt_name', object: 'event', type: 'customer.updated', created: T0 + 163 * DAY, livemode: true, api_version: '2026-11-18.endive', data: { object: { id: 'cus_2', object: 'customer', name: 'Two Renamed', created: T0, livemode: true, metadata: {} } } });
    const res = await post(body, signed(body));
    const answer = await res.json();
    expect(res.status, JSON.stringify(answer)).toBe(200);
    expect(answer).toMatchObject({ status: 'applied', changes: { accounts: { rows: 1, withdrawn: 0 }, subscriptions: { rows: 0, withdrawn: 0 } } });
    const account = (await (await fetch(`${base}/api/accounts/cus_2`)).json()) as { account: { name: string; mrr: string } };
    expect(account.account).toMatchObject({ name: 'Two Renamed', mrr: '100' });
  });

  it('nrr stripe status counts the events received', () => {
    const r = spawnSync(process.execPath, [BIN, 'stripe', 'status', '--data', data, '--events', '--format', 'json'], { encoding: 'utf8', env: ENV });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/4 received: 3 applied, 1 superseded by a later version, 0 ignored .*, 0 failed/);
    const rows = JSON.parse(r.stdout) as { event_id: string; status: string }[];
    expect(rows.map((x) => [x.event_id, x.status])).toEqual([
      ['evt_seats_3', 'applied'],
      ['evt_seats_4', 'superseded'],
      ['evt_seats_5', 'applied'],
      ['evt_name', 'applied'],
    ]);
  });
});

