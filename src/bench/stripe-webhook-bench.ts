import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { signStripePayload } from '../stripe/stripe-webhook.js';
import { generateStripeExport } from './stripe-bench.js';

/**
 * Signed Stripe webhooks against `nrr serve` on a large workspace, measured as a client sees them:
 * a generated export of N customers (stripe-bench.ts) imported with `nrr stripe import`, the store
 * built (`nrr sync`), `nrr serve` started with STRIPE_WEBHOOK_SECRET; then, one after another, E
 * `customer.subscription.updated` events (an active subscription's first item gets one more unit)
 * are POSTed to /webhooks/stripe and the account is read from /api/accounts/<customer id>. The
 * figure is the time from sending the event to having the account's new MRR (POST + GET), with
 * the POST alone beside it. Every event is checked: its answer is 200 `applied` and the MRR read
 * afterwards is compared with the one read before it (read untimed; it can stay the same when the
 * mapping dates a change without an invoice at the next period). Target: p99 ≤ 100 ms at 100K
 * customers over 1,000 events.
 *   node dist/bench/stripe-webhook-bench.js --customers 100000 --events 1000
 */

const CLI = fileURLToPath(new URL('../cli/nrr.js', import.meta.url));
const SECRET = 'whsec_bench_secret_0123456789';

const wholeNumber = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a whole number of 1 or more');
  return n;
};

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const p = (probe.address() as { port: number }).port;
      probe.close(() => resolve(p));
    });
  });

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
  return sorted[Math.max(0, i)]!;
}

const ms = (x: number): string => `${x.toFixed(1)} ms`;

async function main(): Promise<void> {
  const o = new Command('stripe-webhook-bench')
    .option('--customers <n>', 'customers in the generated export', wholeNumber, 100_000)
    .option('--events <n>', 'events sent, one after another', wholeNumber, 1000)
    .option('--timeout <seconds>', 'stop sending after this long and report what was measured', wholeNumber, 1800)
    .option('--keep', 'keep the generated folders')
    .parse()
    .opts<{ customers: number; events: number; timeout: number; keep?: boolean }>();
  const root = mkdtempSync(join(tmpdir(), 'nrr-stripe-webhook-bench-'));
  const src = join(root, 'export');
  const data = join(root, 'data');
  const env: NodeJS.ProcessEnv = { ...process.env, NRR_TODAY: '2026-12-15', STRIPE_WEBHOOK_SECRET: SECRET };
  delete env['NRR_API_TOKEN'];
  delete env['STRIPE_API_KEY']; // events applied from their payloads
  let child: ChildProcess | null = null;
  const say = (line: string): void => void process.stdout.write(`${line}\n`);
  try {
    let t = performance.now();
    generateStripeExport(src, o.customers);
    for (const args of [
      ['stripe', 'import', '--data', data, '-q', src],
      ['sync', '--data', data],
    ]) {
      const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env, maxBuffer: 1 << 26 });
      if (r.status !== 0) throw new Error(`nrr ${args.slice(0, 2).join(' ')} failed: ${r.stderr}`);
    }
    say(`workspace of ${o.customers.toLocaleString('en-US')} Stripe customers imported and its store built in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    // Active subscriptions, spread over the export; each event adds one unit to the first item.
    const subs = readFileSync(join(src, '2-subscriptions.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('"status":"active"'))
      .map((l) => JSON.parse(l) as { id: string; customer: string; items: { data: { quantity: number }[] } });
    if (subs.length === 0) throw new Error('the export has no active subscription');
    const stride = Math.max(1, Math.floor(subs.length / o.events));

    const port = await freePort();
    t = performance.now();
    const server = spawn(process.execPath, [CLI, 'serve', '--data', data, '--port', String(port), '-q'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = server;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      let err = '';
      server.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Dashboard:')) resolve();
      });
      server.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      server.once('exit', (code) => reject(new Error(`nrr serve exited with ${code}: ${err}`)));
    });
    const base = `http://127.0.0.1:${port}`;
    say(`nrr serve ready in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const mrrOf = async (customer: string): Promise<string> => {
      const res = await fetch(`${base}/api/accounts/${customer}`);
      if (res.status !== 200) throw new Error(`GET /api/accounts/${customer}: ${res.status} ${await res.text()}`);
      const body = (await res.json()) as { account: { mrr: string } | null };
      return String(body.account?.mrr ?? 'none');
    };
    // The first read computes the dashboard's scores once: not part of an event's time.
    t = performance.now();
    await mrrOf(subs[0]!.customer);
    say(`first account read (scores computed): ${ms(performance.now() - t)}`);

    const total: number[] = [];
    const postOnly: number[] = [];
    let unchanged = 0;
    const created0 = Math.floor(Date.now() / 1000);
    const stopAt = performance.now() + o.timeout * 1000;
    for (let k = 0; k < o.events && performance.now() < stopAt; k++) {
      const sub = subs[(k * stride) % subs.length]!;
      sub.items.data[0]!.quantity += 1;
      const before = await mrrOf(sub.customer);
      const body = JSON.stringify({ id: `evt_bench_${k}`, object: 'event', type: 'customer.subscription.updated', created: created0 + k, livemode: true, api_version: '2026-11-18.endive', data: { object: sub, previous_attributes: {} } });
      const t0 = performance.now();
      const res = await fetch(`${base}/webhooks/stripe`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'stripe-signature': signStripePayload(body, [SECRET]) } });
      const answer = (await res.json()) as { status?: string; error?: string };
      const t1 = performance.now();
      if (res.status !== 200 || answer.status !== 'applied') throw new Error(`event ${k} (${sub.id}): ${res.status} ${JSON.stringify(answer)}`);
      const after = await mrrOf(sub.customer);
      const t2 = performance.now();
      if (after === before) unchanged++;
      postOnly.push(t1 - t0);
      total.push(t2 - t0);
    }
    total.sort((a, b) => a - b);
    postOnly.sort((a, b) => a - b);
    const p99 = quantile(total, 0.99);
    say(`${total.length} signed events applied one after another${total.length < o.events ? ` (stopped at --timeout ${o.timeout} s of ${o.events})` : ''}; ${unchanged} without a change of MRR read back`);
    say(`event sent → new MRR read from /api/accounts/:id: p50 ${ms(quantile(total, 0.5))}, p95 ${ms(quantile(total, 0.95))}, p99 ${ms(p99)}, max ${ms(total[total.length - 1] ?? NaN)}`);
    say(`POST /webhooks/stripe alone (verified, stored, applied): p50 ${ms(quantile(postOnly, 0.5))}, p99 ${ms(quantile(postOnly, 0.99))}`);
    const full = o.customers >= 100_000 && total.length >= 1000;
    say(`target p99 ≤ 100 ms at 100K customers over 1,000 events: ${p99 > 100 ? `MISSED (p99 ${ms(p99)} over ${total.length} events)` : full ? 'met' : 'not measured at that size here'}; load average ${loadavg()[0]!.toFixed(1)}`);
  } finally {
    child?.kill('SIGTERM');
    if (o.keep) say(`kept ${root}`);
    else rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
