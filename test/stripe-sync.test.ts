import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir } from './helpers/fixture-dir.js';
import { startStripeServer, type RunningStripeServer } from './helpers/stripe-server.js';

/**
 * `nrr stripe sync` against a local server speaking Stripe's protocol (test/helpers/stripe-server.ts)
 * through the official client: every list followed to its end page by page, a 429 waited for, a
 * sync stopped half way continued from its cursors, and the result equal to `nrr stripe import`
 * of the same objects.
 */

const BIN = join(process.cwd(), 'dist', 'cli', 'nrr.js');
const dirs: string[] = [];
const servers: RunningStripeServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
  dirs.forEach(removeDir);
});
const tempDir = (prefix: string): string => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};

const DAY = 86_400;
const T0 = 1_767_225_600; // 2026-01-01T00:00:00Z

/**
 * Seven customers on one product: cus_1..cus_6 each on price_m (100.00 USD a month) with quantity
 * i, so MRR i × 100; cus_7 on price_y (1,200.00 USD a year → 100 a month) canceled at the end of
 * March (only `status=all` lists it); cus_3's subscription has a forever 10 % coupon through a
 * discount given by id (the sync expands it, the import reads the discount object).
 */
function corpus(): string {
  const dir = tempDir('nrr-stripe-corpus-');
  const customers = Array.from({ length: 7 }, (_, i) => ({ id: `cus_${i + 1}`, object: 'customer', name: `Customer ${i + 1}`, email: null, created: T0 + i * DAY, livemode: true, metadata: {} }));
  const period = { current_period_start: T0 + 150 * DAY, current_period_end: T0 + 180 * DAY };
  const subs = customers.map((c, i) => {
    const yearly = i === 6;
    return {
      id: `sub_${i + 1}`,
      object: 'subscription',
      customer: c.id,
      status: yearly ? 'canceled' : 'active',
      created: T0 + i * DAY,
      start_date: T0 + i * DAY,
      livemode: true,
      currency: 'usd',
      cancel_at_period_end: false,
      ...(yearly ? { canceled_at: T0 + 89 * DAY, ended_at: T0 + 89 * DAY } : {}),
      discounts: i === 2 ? ['di_3'] : [],
      items: {
        object: 'list',
        has_more: false,
        data: [{ id: `si_${i + 1}`, object: 'subscription_item', created: T0 + i * DAY, price: yearly ? 'price_y' : 'price_m', quantity: yearly ? 1 : i + 1, ...period }],
      },
    };
  });
  const objects = [
    { id: 'prod_1', object: 'product', name: 'Pro', created: T0 - DAY, livemode: true },
    { id: 'price_m', object: 'price', currency: 'usd', unit_amount: 10_000, type: 'recurring', recurring: { interval: 'month', interval_count: 1, usage_type: 'licensed' }, product: 'prod_1', created: T0 - DAY, livemode: true },
    { id: 'price_y', object: 'price', currency: 'usd', unit_amount: 120_000, type: 'recurring', recurring: { interval: 'year', interval_count: 1, usage_type: 'licensed' }, product: 'prod_1', created: T0 - DAY, livemode: true },
    { id: 'co_10', object: 'coupon', percent_off: 10, duration: 'forever', created: T0 - DAY, livemode: true },
  ];
  writeFileSync(join(dir, 'catalog.json'), JSON.stringify({ object: 'list', data: objects, has_more: false }));
  writeFileSync(join(dir, 'customers.jsonl'), customers.map((c) => JSON.stringify(c)).join('\n') + '\n');
  writeFileSync(join(dir, 'subscriptions.json'), JSON.stringify({ object: 'list', data: subs, has_more: false }));
  // An invoice of 12 one-off lines (not MRR): the list embeds 10, the sync fetches the other 2.
  const oneOff = Array.from({ length: 12 }, (_, k) => ({ id: `il_${k + 1}`, object: 'line_item', amount: 100 * (k + 1), currency: 'usd', type: 'invoiceitem', period: { start: T0 + DAY, end: T0 + DAY }, quantity: 1 }));
  writeFileSync(join(dir, 'invoices.jsonl'), JSON.stringify({ id: 'in_1', object: 'invoice', customer: 'cus_1', status: 'paid', currency: 'usd', created: T0 + DAY, livemode: true, lines: { object: 'list', has_more: false, data: oneOff } }) + '\n');
  writeFileSync(join(dir, 'discounts.jsonl'), JSON.stringify({ id: 'di_3', object: 'discount', coupon: objects[3], start: T0 + 2 * DAY, end: null, subscription: 'sub_3', customer: 'cus_3' }) + '\n');
  return dir;
}

const ENV = { ...process.env, NRR_TODAY: '2026-06-15', STRIPE_API_KEY: 'sk_test_local_key' };

/** Runs the CLI as a process without blocking this one (the local Stripe server answers from here). */
function nrr(args: string[], env: NodeJS.ProcessEnv = ENV): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const contractFiles = (dir: string): Record<string, string> => Object.fromEntries(['accounts.csv', 'subscriptions.csv', 'usage.csv'].map((f) => [f, readFileSync(join(dir, f), 'utf8')]));

describe('nrr stripe sync', () => {
  let source: string;
  let imported: Record<string, string>;
  beforeAll(async () => {
    expect(existsSync(BIN), 'run npm run build first').toBe(true);
    source = corpus();
    const viaImport = tempDir('nrr-stripe-import-');
    const r = await nrr(['stripe', 'import', '--data', viaImport, source, '-q']);
    expect(r.status, r.stderr).toBe(0);
    imported = contractFiles(viaImport);
  });

  it('follows every list to its end (page size 2), waits for a 429, and writes what the import of the same objects writes', async () => {
    // Request 3 (the first page of coupons) is refused as too many once.
    const server = await startStripeServer({ corpus: source, rateLimit: (n) => n === 3 });
    servers.push(server);
    const data = tempDir('nrr-stripe-sync-');
    const r = await nrr(['stripe', 'sync', '--data', data, '--api-base', server.url, '--page-size', '2', '--format', 'json']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { api_version: string; counts: Record<string, number>; rate_limited: number; resumed: boolean };
    expect(out.api_version).toBe('2026-11-18.endive');
    expect(out.rate_limited).toBe(1);
    expect(out.resumed).toBe(false);
    // 7 customers, 7 subscriptions (the canceled one too), 2 prices, 1 product, 1 coupon.
    expect(out.counts).toMatchObject({ customers: 7, subscriptions: 7, prices: 2, products: 1, coupons: 1 });
    // Customers in pages of 2: 4 requests (2+2+2+1), each after the last id of the one before.
    const customerPages = server.requests.filter((q) => q.path === '/v1/customers');
    expect(customerPages.map((q) => q.query['starting_after'] ?? null)).toEqual([null, 'cus_6', 'cus_4', 'cus_2']);
    expect(server.requests.find((q) => q.path === '/v1/subscriptions')?.query['status']).toBe('all');
    expect(server.requests.filter((q) => q.status === 429)).toHaveLength(1);
    expect(contractFiles(data)).toEqual(imported);
    // The invoice came with 10 of its 12 lines; the other 2 were fetched from its lines endpoint.
    expect(server.requests.filter((q) => q.path === '/v1/invoices/in_1/lines')).toHaveLength(1);
    const kept = readFileSync(join(data, 'stripe', 'objects.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('"id":"in_1"'))
      .map((l) => (JSON.parse(l) as { object: { lines: { data: unknown[]; has_more: boolean } } }).object.lines);
    expect(kept.map((l) => [l.data.length, l.has_more])).toEqual([[12, false]]);
    // Hand-worked: MRR 100 + 200 + 270 (300 less 10 %) + 400 + 500 + 600 = 2,070 on 2026-06-15.
    const mrr = await nrr(['mrr', '--data', data, '--format', 'json', '-q', '--no-store']);
    expect(mrr.status, mrr.stderr).toBe(0);
    const may = (JSON.parse(mrr.stdout) as { month: string; mrr: number }[]).filter((x) => x.month === '2026-05');
    expect(may.reduce((sum, x) => sum + x.mrr, 0)).toBe(2070);
    const record = JSON.parse(readFileSync(join(data, 'stripe', 'sync.json'), 'utf8')) as { api_version: string };
    expect(record.api_version).toBe('2026-11-18.endive');
  });

  it('continues a sync stopped half way from its cursors, and ends with the same files', async () => {
    const data = tempDir('nrr-stripe-resume-');
    mkdirSync(data, { recursive: true });
    // The server fails request 7 without retry: products, prices and coupons take one page each,
    // customers pages 1-3 (cus_7-6, cus_5-4, cus_3-2) are requests 4-6, so the fourth page fails.
    const broken = await startStripeServer({ corpus: source, fail: (n) => n === 7 });
    servers.push(broken);
    const first = await nrr(['stripe', 'sync', '--data', data, '--api-base', broken.url, '--page-size', '2']);
    expect(first.status).toBe(1);
    expect(first.stderr).toMatch(/run the sync again to continue/);
    expect(first.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const status = await nrr(['stripe', 'status', '--data', data]);
    expect(status.status, status.stderr).toBe(0);
    expect(status.stderr).toMatch(/stopped half way \(3 of 8 lists done\)/);

    const server = await startStripeServer({ corpus: source });
    servers.push(server);
    const second = await nrr(['stripe', 'sync', '--data', data, '--api-base', server.url, '--page-size', '2', '--format', 'json']);
    expect(second.status, second.stderr).toBe(0);
    expect((JSON.parse(second.stdout) as { resumed: boolean }).resumed).toBe(true);
    // Products, prices and coupons were done: not asked again; customers continue after cus_2.
    expect(server.requests.some((q) => q.path === '/v1/products' || q.path === '/v1/prices' || q.path === '/v1/coupons')).toBe(false);
    expect(server.requests[0]).toMatchObject({ path: '/v1/customers', query: { starting_after: 'cus_2' } });
    expect(contractFiles(data)).toEqual(imported);
  });

  it("gives, for stripe-import's corpus of every case, what nrr stripe import of the corpus gives (the deleted customer retrieved by id)", async () => {
    const corpusDir = join(process.cwd(), 'test', 'fixtures', 'stripe', 'corpus');
    const viaImport = tempDir('nrr-stripe-corpus-import-');
    const imp = await nrr(['stripe', 'import', '--data', viaImport, corpusDir, '-q']);
    expect(imp.status, imp.stderr).toBe(0);
    const server = await startStripeServer({ corpus: corpusDir, rateLimit: (n) => n === 2 || n === 9 });
    servers.push(server);
    const data = tempDir('nrr-stripe-corpus-sync-');
    const r = await nrr(['stripe', 'sync', '--data', data, '--api-base', server.url, '--page-size', '5']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/2 requests rate limited and made again/);
    // The deleted customer is not listed by Stripe; its subscription names it, so it is retrieved.
    expect(server.requests.some((q) => q.path === '/v1/customers/cus_deleted')).toBe(true);
    expect(contractFiles(data)).toEqual(contractFiles(viaImport));
  });

  it('says what is missing without a key, and an unreachable server, with exit code 1', async () => {
    const data = tempDir('nrr-stripe-nokey-');
    const env: NodeJS.ProcessEnv = { ...ENV };
    delete env['STRIPE_API_KEY'];
    const r = await nrr(['stripe', 'sync', '--data', data], env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/STRIPE_API_KEY is not set/);
    const down = await nrr(['stripe', 'sync', '--data', data, '--api-base', 'http://127.0.0.1:9', '--max-retries', '1']);
    expect(down.status).toBe(1);
    expect(down.stderr).toMatch(/could not be reached/);
  });
});
