import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { Random } from '../generate/random.js';

/**
 * The Stripe import measured: a generated export of N customers (each with a subscription of one
 * to three items at monthly or yearly prices, some with coupons, trials, cancellations, and a
 * history of paid invoices with their lines) written as JSON lines, then `nrr stripe import` run
 * as a user runs it (a whole process), and `nrr sync` after it. Target: 100K customers ≤ 60 s.
 *   node dist/bench/stripe-bench.js --customers 100000
 */

const CLI = fileURLToPath(new URL('../cli/nrr.js', import.meta.url));
const DAY = 86_400;
const START = Date.UTC(2025, 0, 1) / 1000;

class Lines {
  private buf = '';
  private readonly fd: number;
  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }
  add(o: unknown): void {
    this.buf += JSON.stringify(o) + '\n';
    if (this.buf.length > 1 << 22) this.flush();
  }
  flush(): void {
    writeSync(this.fd, this.buf);
    this.buf = '';
  }
  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

/** Unix seconds of the first day of the month `k` months after January 2025. */
const monthStart = (k: number): number => Date.UTC(2025, k, 1) / 1000;

/** Writes a generated Stripe export of `customers` customers into `dir`; returns the object count. */
export function generateStripeExport(dir: string, customers: number, seed = 7): number {
  mkdirSync(dir, { recursive: true });
  const random = new Random(seed);
  const rnd = (): number => random.uniform();
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const catalog = new Lines(join(dir, '0-catalog.jsonl'));
  const prices = [
    { id: 'price_starter_m', product: 'prod_starter', unit_amount: 2900, interval: 'month' as const },
    { id: 'price_team_m', product: 'prod_team', unit_amount: 9900, interval: 'month' as const },
    { id: 'price_team_y', product: 'prod_team', unit_amount: 99000, interval: 'year' as const },
    { id: 'price_seat_m', product: 'prod_seats', unit_amount: 1500, interval: 'month' as const },
    { id: 'price_addon_m', product: 'prod_addon', unit_amount: 4900, interval: 'month' as const },
  ];
  let n = 0;
  for (const p of ['prod_starter', 'prod_team', 'prod_seats', 'prod_addon']) {
    catalog.add({ id: p, object: 'product', name: p.slice(5), livemode: true, created: START });
    n++;
  }
  const priceObject = (p: (typeof prices)[number]) => ({
    id: p.id,
    object: 'price',
    currency: 'usd',
    product: p.product,
    unit_amount: p.unit_amount,
    unit_amount_decimal: String(p.unit_amount),
    billing_scheme: 'per_unit',
    type: 'recurring',
    livemode: true,
    recurring: { interval: p.interval, interval_count: 1, usage_type: 'licensed', meter: null },
  });
  for (const p of prices) {
    catalog.add(priceObject(p));
    n++;
  }
  const coupon = { id: 'coupon_20', object: 'coupon', duration: 'forever', percent_off: 20, livemode: true };
  catalog.add(coupon);
  n++;
  catalog.close();
  const cus = new Lines(join(dir, '1-customers.jsonl'));
  const subs = new Lines(join(dir, '2-subscriptions.jsonl'));
  const invs = new Lines(join(dir, '3-invoices.jsonl'));
  for (let i = 0; i < customers; i++) {
    const id = `cus_${i.toString(36).padStart(6, '0')}`;
    const startMonth = Math.floor(rnd() * 18);
    const start = monthStart(startMonth) + Math.floor(rnd() * 27) * DAY;
    cus.add({ id, object: 'customer', created: start, livemode: true, name: `Customer ${i}`, email: `c${i}@example.com`, currency: 'usd', address: { country: pick(['US', 'GB', 'DE', 'FR', 'CA']) }, metadata: { segment: pick(['smb', 'mid', 'ent']) } });
    const items = Array.from({ length: 1 + Math.floor(rnd() * rnd() * 3) }, (_, k) => {
      const p = k === 0 ? pick(prices.slice(0, 3)) : pick(prices.slice(3));
      return { p, qty: p.id === 'price_seat_m' ? 1 + Math.floor(rnd() * 40) : 1, si: `si_${i.toString(36)}_${k}` };
    });
    const roll = rnd();
    const status = roll < 0.12 ? 'canceled' : roll < 0.15 ? 'past_due' : roll < 0.17 ? 'trialing' : 'active';
    const sid = `sub_${i.toString(36)}`;
    const discounted = rnd() < 0.1;
    const ended = status === 'canceled' ? Math.min(monthStart(23), start + (30 + Math.floor(rnd() * 400)) * DAY) : null;
    const now = monthStart(23);
    const periodStart = monthStart(22) + ((start - monthStart(startMonth)) % (28 * DAY));
    subs.add({
      id: sid,
      object: 'subscription',
      customer: id,
      status,
      livemode: true,
      currency: 'usd',
      created: start,
      start_date: start,
      ended_at: ended,
      canceled_at: ended,
      cancel_at_period_end: status === 'active' && rnd() < 0.03,
      trial_end: status === 'trialing' ? now + 10 * DAY : null,
      discounts: discounted ? [{ id: `di_${i.toString(36)}`, object: 'discount', coupon, start, end: null }] : [],
      items: { object: 'list', data: items.map((it) => ({ id: it.si, object: 'subscription_item', created: start, price: priceObject(it.p), quantity: it.qty, current_period_start: periodStart, current_period_end: periodStart + 30 * DAY })) },
    });
    n += 2;
    // Invoice history: the last up-to-4 monthly periods before the end (yearly prices bill once).
    const last = ended ?? now;
    for (let k = 0; k < 4; k++) {
      const ps = start + k * 30 * DAY;
      if (ps >= last || status === 'trialing') break;
      const lines = items
        .filter((it) => it.p.interval === 'month' || k === 0)
        .map((it, j) => ({
          id: `il_${i.toString(36)}_${k}_${j}`,
          object: 'line_item',
          amount: it.p.unit_amount * it.qty,
          currency: 'usd',
          period: { start: ps, end: it.p.interval === 'year' ? ps + 365 * DAY : ps + 30 * DAY },
          quantity: it.qty,
          discount_amounts: discounted ? [{ amount: (it.p.unit_amount * it.qty) / 5, discount: `di_${i.toString(36)}` }] : [],
          parent: { type: 'subscription_item_details', subscription_item_details: { subscription: sid, subscription_item: it.si, proration: false } },
          pricing: { price_details: { price: it.p.id, product: it.p.product } },
        }));
      invs.add({ id: `in_${i.toString(36)}_${k}`, object: 'invoice', customer: id, status: 'paid', currency: 'usd', created: ps, livemode: true, parent: { type: 'subscription_details', subscription_details: { subscription: sid } }, lines: { object: 'list', data: lines } });
      n++;
    }
  }
  cus.close();
  subs.close();
  invs.close();
  return n;
}

function folderBytes(dir: string, names: readonly string[]): number {
  return names.reduce((s, f) => s + statSync(join(dir, f)).size, 0);
}

async function main(): Promise<void> {
  const o = new Command('stripe-bench')
    .option('--customers <n>', 'customers in the generated export', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a whole number of 1 or more');
      return n;
    }, 100_000)
    .option('--keep', 'keep the generated folders')
    .parse()
    .opts<{ customers: number; keep?: boolean }>();
  const root = mkdtempSync(join(tmpdir(), 'nrr-stripe-bench-'));
  const src = join(root, 'export');
  const data = join(root, 'data');
  try {
    let t = performance.now();
    const objects = generateStripeExport(src, o.customers);
    const size = folderBytes(src, ['0-catalog.jsonl', '1-customers.jsonl', '2-subscriptions.jsonl', '3-invoices.jsonl']);
    process.stdout.write(`generated ${objects.toLocaleString('en-US')} objects of ${o.customers.toLocaleString('en-US')} customers (${(size / 1e6).toFixed(0)} MB) in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
    const env = { ...process.env, NRR_TODAY: '2026-12-15' };
    t = performance.now();
    const imp = spawnSync(process.execPath, [CLI, 'stripe', 'import', '--data', data, '-f', 'json', src], { encoding: 'utf8', env, maxBuffer: 1 << 26 });
    const importSeconds = (performance.now() - t) / 1000;
    if (imp.status !== 0) throw new Error(`nrr stripe import failed: ${imp.stderr}`);
    const r = JSON.parse(imp.stdout) as { accounts: number; lines: number; seconds: { read: number; map: number; write: number; cpu: number } };
    // The import is one thread of JavaScript: on an idle machine its wall time is about its CPU time.
    process.stdout.write(
      `nrr stripe import: ${importSeconds.toFixed(1)} s as a process (read ${r.seconds.read.toFixed(1)} s, map ${r.seconds.map.toFixed(1)} s, write ${r.seconds.write.toFixed(1)} s), ${r.seconds.cpu.toFixed(1)} s of CPU, load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores: ${r.accounts.toLocaleString('en-US')} accounts, ${r.lines.toLocaleString('en-US')} lines; target ≤ 60 s: ${importSeconds <= 60 ? 'met' : r.seconds.cpu <= 60 ? 'met in CPU time, missed in wall time on this loaded machine' : 'MISSED'}\n`,
    );
    t = performance.now();
    const sync = spawnSync(process.execPath, [CLI, 'sync', '--data', data], { encoding: 'utf8', env });
    if (sync.status !== 0) throw new Error(`nrr sync failed: ${sync.stderr}`);
    process.stdout.write(`then nrr sync (the store built from the files): ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
  } finally {
    if (o.keep) process.stdout.write(`kept ${root}\n`);
    else rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
