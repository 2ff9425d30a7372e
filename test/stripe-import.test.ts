import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli/nrr.js';
import { appendKeptObjects, importStripe, readKeptObjects } from '../src/stripe/import-stripe.js';
import { readStripeObjects } from '../src/stripe/stripe-objects.js';

/**
 * The corpus (test/fixtures/stripe/corpus, one file per case, objects at API version 2025-03-31
 * except 02, written as 2024-06-20 returns them) imported through the built CLI, then reported by
 * `nrr mrr` and `nrr movements` as a user runs them. The day is pinned to 2026-07-15: the
 * reporting month is 2026-06 and schedule phases from 2026-07-15 on are future. Rates: EUR 1.1 and
 * JPY 0.0065 USD in every month of 2026. Profile nrr, snapshot at each month's end.
 */

const BIN = join(process.cwd(), 'dist/cli/nrr.js');
const CORPUS = join(process.cwd(), 'test/fixtures/stripe/corpus');
const ENV = { ...process.env, CI: 'true', NRR_TODAY: '2026-07-15' };
const nrr = (args: readonly string[], env: Record<string, string> = {}) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...ENV, ...env } });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status ?? -1 };
};

let root = '';
let data = '';
const mrr = new Map<string, Map<string, number>>();
let moves: { account_id: string; month: string; category: string; delta: string }[] = [];

function fxRates(dir: string): void {
  const rows = ['currency,month,rate'];
  for (let m = 1; m <= 12; m++) rows.push(`EUR,2026-${String(m).padStart(2, '0')},1.1`, `JPY,2026-${String(m).padStart(2, '0')},0.0065`);
  writeFileSync(join(dir, 'fx_rates.csv'), rows.join('\n') + '\n');
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'nrr-stripe-'));
  data = join(root, 'data');
  const r = nrr(['stripe', 'import', '--data', data, CORPUS]);
  expect(r.status, r.stderr).toBe(0);
  fxRates(data);
  const m = nrr(['mrr', '--data', data, '-q', '-f', 'csv']);
  expect(m.status, m.stderr).toBe(0);
  for (const row of parse(m.stdout, { columns: true }) as { account_id: string; month: string; mrr: string }[]) {
    if (!mrr.has(row.account_id)) mrr.set(row.account_id, new Map());
    mrr.get(row.account_id)!.set(row.month, Number(row.mrr));
  }
  const mv = nrr(['movements', '--data', data, '-q', '-f', 'csv']);
  expect(mv.status, mv.stderr).toBe(0);
  moves = parse(mv.stdout, { columns: true });
}, 120_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

const MONTHS = ['2026-01', '2026-02', '2026-03', '2026-04', '2026-05', '2026-06'];
/** An account's MRR in 2026-01 … 2026-06 (0 where it had none). */
const series = (account: string): number[] => MONTHS.map((m) => mrr.get(account)?.get(m) ?? 0);
/** An account's movements as "month category delta". */
const movementsOf = (account: string): string[] => moves.filter((m) => m.account_id === account).map((m) => `${m.month} ${m.category} ${m.delta}`);

describe('the corpus through nrr stripe import, nrr mrr and nrr movements', () => {
  it('01 upgrade mid-period with proration', () => {
    // Basic 100/month from 1 Jan; on 15 Feb the item moves to Pro 250/month, prorated (credit for
    // the unused Basic, charge for the remaining Pro, both from 15 Feb). The Pro price is in force
    // on 28 Feb: Jan 100 (new), Feb 250 (expansion +150), then 250.
    expect(series('cus_upgrade')).toEqual([100, 250, 250, 250, 250, 250]);
    expect(movementsOf('cus_upgrade')).toEqual(['2026-01 new 100', '2026-02 expansion 150']);
  });

  it('02 seat increase (objects in the 2024-06-20 shapes)', () => {
    // 5 seats × 20 = 100 from 1 Jan; on 10 Mar 8 seats (160), prorated on the April invoice.
    // Jan–Feb 100, Mar 160 (expansion +60).
    expect(series('cus_seats')).toEqual([100, 100, 160, 160, 160, 160]);
    expect(movementsOf('cus_seats')).toEqual(['2026-01 new 100', '2026-03 expansion 60']);
  });

  it('03 forever vs repeating coupon', () => {
    // 200/month each. 25% forever from the start: 150 every month. 25% repeating for six months
    // from 1 Apr: 200 until March, 150 from April (contraction −50), 200 again from October.
    expect(series('cus_forever')).toEqual([150, 150, 150, 150, 150, 150]);
    expect(movementsOf('cus_forever')).toEqual(['2026-01 new 150']);
    expect(series('cus_repeating')).toEqual([200, 200, 200, 150, 150, 150]);
    expect(movementsOf('cus_repeating')).toEqual(['2026-01 new 200', '2026-04 contraction -50']);
  });

  it('04 coupon expiry, read from invoice lines after the discount left the subscription', () => {
    // 300/month; 50% off for three months (Jan–Mar invoices carry 150 of discount), then full
    // price: 150, 150, 150, 300 (expansion +150), 300, 300.
    expect(series('cus_expiry')).toEqual([150, 150, 150, 300, 300, 300]);
    expect(movementsOf('cus_expiry')).toEqual(['2026-01 new 150', '2026-04 expansion 150']);
  });

  it('05 trial to paid; a trial still running brings nothing', () => {
    // Trial 20 Jan → 20 Feb (a 0 invoice), then 50/month: nothing in Jan, 50 from Feb (new).
    expect(series('cus_trial')).toEqual([0, 50, 50, 50, 50, 50]);
    expect(movementsOf('cus_trial')).toEqual(['2026-02 new 50']);
    expect(mrr.has('cus_trialing')).toBe(false);
  });

  it('06 past_due to unpaid; past_due counts', () => {
    // 80/month from 1 Jan, invoices paid through April, May's never paid and the subscription is
    // unpaid: MRR ends where the paid period ends (1 May): Jan–Apr 80, churn in May.
    expect(series('cus_unpaid')).toEqual([80, 80, 80, 80, 0, 0]);
    expect(movementsOf('cus_unpaid')).toEqual(['2026-01 new 80', '2026-05 churn -80']);
    // 60/month from 1 Mar, June's invoice open (past_due): still 60.
    expect(series('cus_pastdue')).toEqual([0, 0, 60, 60, 60, 60]);
  });

  it('07 pause and resume', () => {
    // 120/month; collection paused in March and April (their invoices void), resumed in May:
    // 120, 120, 0 (churn), 0, 120 (reactivation), 120.
    expect(series('cus_pause')).toEqual([120, 120, 0, 0, 120, 120]);
    expect(movementsOf('cus_pause')).toEqual(['2026-01 new 120', '2026-03 churn -120', '2026-05 reactivation 120']);
    // 90/month, paused from June (void invoices) until 1 Aug: Jan–May 90, churn in June.
    expect(series('cus_paused')).toEqual([90, 90, 90, 90, 90, 0]);
  });

  it('08 cancel at period end; canceled at once', () => {
    // 150/month; cancellation requested 20 Jun for the end of the period (1 Aug): 150 through June.
    expect(series('cus_cancel')).toEqual([150, 150, 150, 150, 150, 150]);
    expect(movementsOf('cus_cancel')).toEqual(['2026-01 new 150']);
    // 70/month, canceled and ended on 10 Apr: Jan–Mar 70, churn in April.
    expect(series('cus_canceled')).toEqual([70, 70, 70, 0, 0, 0]);
    expect(movementsOf('cus_canceled')).toEqual(['2026-01 new 70', '2026-04 churn -70']);
  });

  it('09 schedule phase change', () => {
    // Phases: 10 seats × 20 (Jan–Mar), 15 seats (Apr–Sep), 20 seats from 1 Oct (future).
    // 200, 200, 200, 300 (expansion +100), 300, 300.
    expect(series('cus_schedule')).toEqual([200, 200, 200, 300, 300, 300]);
    expect(movementsOf('cus_schedule')).toEqual(['2026-01 new 200', '2026-04 expansion 100']);
  });

  it('10 plan swap within a month is an expansion, not churn and new', () => {
    // Starter 100/month, swapped on 10 Mar to Team plan 180/month (another item, another product).
    expect(series('cus_swap')).toEqual([100, 100, 180, 180, 180, 180]);
    expect(movementsOf('cus_swap')).toEqual(['2026-01 new 100', '2026-03 expansion 80']);
  });

  it('11 reactivation', () => {
    // 90/month until 1 Mar (cancelled at period end); a new subscription from 5 May at 90.
    expect(series('cus_react')).toEqual([90, 90, 0, 0, 90, 90]);
    expect(movementsOf('cus_react')).toEqual(['2026-01 new 90', '2026-03 churn -90', '2026-05 reactivation 90']);
  });

  it('12 EUR and JPY (zero-decimal), read from JSON lines', () => {
    // 10000 minor units of EUR = 100 EUR a month × 1.1 = 110 USD from February.
    expect(series('cus_eur')).toEqual([0, 110, 110, 110, 110, 110]);
    // 12000 JPY (zero-decimal: 12,000 yen) a year = 1000 JPY a month × 0.0065 = 6.5 USD.
    expect(series('cus_jpy')).toEqual([6.5, 6.5, 6.5, 6.5, 6.5, 6.5]);
  });

  it('13 metered usage', () => {
    // Base 50/month plus metered calls invoiced in arrears: 25 (Jan), 40, 10, 20, 30 (May); June's
    // not yet invoiced. 75, 90, 60, 70, 80, 50.
    expect(series('cus_metered')).toEqual([75, 90, 60, 70, 80, 50]);
    expect(movementsOf('cus_metered')).toEqual(['2026-01 new 75', '2026-02 expansion 15', '2026-03 contraction -30', '2026-04 expansion 10', '2026-05 expansion 10', '2026-06 contraction -30']);
  });

  it('14 deleted customer: kept, marked deleted, churned when Stripe ended its subscription', () => {
    // 40/month until 1 Apr.
    expect(series('cus_deleted')).toEqual([40, 40, 40, 0, 0, 0]);
    const accounts = parse(readFileSync(join(data, 'accounts.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    expect(accounts.find((a) => a['account_id'] === 'cus_deleted')?.['deleted']).toBe('true');
  });

  it('15 test-mode objects are left out', () => {
    expect(mrr.has('cus_testmode')).toBe(false);
    expect(readFileSync(join(data, 'accounts.csv'), 'utf8')).not.toContain('cus_testmode');
  });

  it("every account's movements add up to its MRR: 0 + new + expansion + reactivation − contraction − churn = end of June", () => {
    for (const [account, months] of mrr) {
      const sum = moves.filter((m) => m.account_id === account && m.month <= '2026-06').reduce((s, m) => s + Number(m.delta), 0);
      expect(sum, account).toBeCloseTo(months.get('2026-06') ?? 0, 9);
    }
  });

  it('the whole: ending MRR in June is the sum of the cases', () => {
    // 250 + 160 + 150 + 150 + 300 + 50 + 60 + 120 + 150 + 300 + 180 + 90 + 110 + 6.5 + 50 = 2126.5
    const june = [...mrr.values()].reduce((s, m) => s + (m.get('2026-06') ?? 0), 0);
    expect(june).toBeCloseTo(2126.5, 9);
  });
});

describe('nrr stripe import: files, provenance and safety', () => {
  it('every line names its subscription item and the day it starts, and the invoice line behind it', () => {
    const subs = parse(readFileSync(join(data, 'subscriptions.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    const ids = subs.map((s) => s['line_id']!);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^si_[A-Za-z0-9_]+@\d{4}-\d{2}-\d{2}(~il_[A-Za-z0-9_]+)?$/);
    expect(ids).toContain('si_upgrade@2026-02-15~il_upgrade_03b');
    const x = nrr(['explain', 'cus_upgrade', '--data', data, '-q', '-f', 'json']);
    expect(x.status, x.stderr).toBe(0);
    expect(x.stdout).toContain('si_upgrade@2026-02-15~il_upgrade_03b');
  });

  it('keeps the raw objects; a second import adds to them and keeps the newer copy', () => {
    const kept = readFileSync(join(data, 'stripe', 'objects.jsonl'), 'utf8').trim().split('\n');
    expect(kept.length).toBeGreaterThan(100);
    const dir = mkdtempSync(join(root, 'more-'));
    // cus_forever's subscription, updated later: 3 items instead of 1 (Team 200 each, 25% forever off).
    const sub = kept.map((l) => JSON.parse(l) as { version: number; object: { id: string; items: { data: { quantity: number }[] } } }).find((o) => o.object.id === 'sub_forever')!.object;
    sub.items.data[0]!.quantity = 3;
    writeFileSync(join(dir, 'events.jsonl'), JSON.stringify({ id: 'evt_1', object: 'event', type: 'customer.subscription.updated', created: 1_790_000_000, data: { object: sub } }) + '\n');
    const copy = join(root, 'copy');
    expect(nrr(['stripe', 'import', '--data', copy, '-q', CORPUS]).status).toBe(0);
    const r = nrr(['stripe', 'import', '--data', copy, '-f', 'json', dir]);
    expect(r.status, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { objects: { customer: number } }).objects.customer).toBe(21);
    const lines = parse(readFileSync(join(copy, 'subscriptions.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    // 3 × 200 = 600 a month, 25% off forever = 150 a month of discount; the line keeps its id.
    expect(lines.filter((l) => l['account_id'] === 'cus_forever').map((l) => `${l['line_id']} ${l['mrr']} ${l['discount']}`)).toEqual(['si_forever@2026-01-01 600 150']);
  });

  it('the kept objects read back to the same objects at the same versions (library)', async () => {
    const dir = join(root, 'library');
    const r = await importStripe({ data: dir, path: CORPUS, now: Date.UTC(2026, 6, 15) / 1000 });
    expect(r.accounts).toBe(20);
    const original = await readStripeObjects(CORPUS);
    const kept = await readKeptObjects(dir);
    for (const k of ['customers', 'subscriptions', 'prices', 'products', 'coupons', 'subscriptionSchedules', 'invoices', 'discounts', 'versions'] as const) {
      expect(new Map(kept[k] as Map<string, unknown>), k).toEqual(new Map(original[k] as Map<string, unknown>));
    }
  });

  it('objects appended to the kept ones (as a webhook would) win when newer, and the file stays nrr\'s', async () => {
    const dir = join(root, 'library');
    const before = await readKeptObjects(dir);
    const sub = before.subscriptions.get('sub_forever')!;
    appendKeptObjects(dir, [
      { version: 1, object: { ...sub, status: 'canceled' } },
      { version: 1_790_000_000, object: { ...sub, metadata: { note: 'newer' } } },
    ]);
    const after = await readKeptObjects(dir);
    expect(after.subscriptions.get('sub_forever')).toMatchObject({ status: 'active', metadata: { note: 'newer' } });
    // Appended by nrr: a later import may rewrite it.
    expect((await importStripe({ data: dir, path: join(CORPUS, '15-test-mode.json') })).objects.subscription).toBe(22);
  });

  it('never replaces a contract file the user wrote; --force does', () => {
    const dir = join(root, 'users');
    expect(nrr(['stripe', 'import', '--data', dir, '-q', CORPUS]).status).toBe(0);
    writeFileSync(join(dir, 'subscriptions.csv'), 'account_id,start_date,mrr\nMINE,2026-01-01,5\n');
    const r = nrr(['stripe', 'import', '--data', dir, '-q', CORPUS]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/refusing to replace .*subscriptions\.csv: nrr did not write it/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(readFileSync(join(dir, 'subscriptions.csv'), 'utf8')).toContain('MINE');
    expect(nrr(['stripe', 'import', '--data', dir, '-q', '--force', CORPUS]).status).toBe(0);
    expect(readFileSync(join(dir, 'subscriptions.csv'), 'utf8')).not.toContain('MINE');
  });

  it('errors name the file and line; a missing path is a user error', () => {
    const dir = mkdtempSync(join(root, 'bad-'));
    writeFileSync(join(dir, 'a.jsonl'), '{"id":"cus_1","object":"customer"}\n{not json\n');
    const r = nrr(['stripe', 'import', '--data', join(root, 'bad-out'), dir]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/a\.jsonl line 2 is not JSON/);
    const m = nrr(['stripe', 'import', '--data', join(root, 'bad-out'), join(root, 'nowhere')]);
    expect(m.status).toBe(1);
    expect(m.stderr).toMatch(/^error: cannot read .*nowhere/);
  });

  it('--include-test-mode maps test-mode objects; the setting is kept for the next import', () => {
    const dir = join(root, 'test-mode');
    expect(nrr(['stripe', 'import', '--data', dir, '-q', '--include-test-mode', CORPUS]).status).toBe(0);
    expect(readFileSync(join(dir, 'subscriptions.csv'), 'utf8')).toContain('cus_testmode,si_testmode@2026-01-01,App,2026-01-01,,500,0,USD');
    expect(JSON.parse(readFileSync(join(dir, 'stripe', 'settings.json'), 'utf8'))).toMatchObject({ include_test_mode: true, profile: 'nrr' });
    expect(nrr(['stripe', 'import', '--data', dir, '-q', CORPUS]).status).toBe(0);
    expect(readFileSync(join(dir, 'subscriptions.csv'), 'utf8')).toContain('cus_testmode');
  });
});

describe('nrr stripe reconcile', () => {
  interface Row { month: string; currency: string; rule: string; ours: number; profile: number; difference: number; subscriptions: string[] }
  const rows = (profile: string): Row[] => {
    const r = nrr(['stripe', 'reconcile', '--data', data, '--profile', profile, '--from', '2026-01', '--to', '2026-06', '-f', 'json']);
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Row[];
  };

  it('against Stripe: each rule its share, with the subscriptions behind it; the shares add up to the total', () => {
    const all = rows('stripe');
    const june = all.filter((r) => r.month === '2026-06' && r.currency === 'USD');
    // June, ours 2126.5 − 110 − 6.5 (EUR and JPY lines are reconciled in their own currency) = 2010. Stripe's reading:
    //   repeating coupons are not MRR: cus_repeating +50;
    //   churn when the cancellation is requested (20 Jun): cus_cancel −150;
    //   paused collection counts: cus_paused +90;
    //   metered usage excluded: June has none invoiced, 0.
    // 2010 + 50 − 150 + 90 = 2000.
    const total = june.find((r) => r.rule === 'total')!;
    expect([total.ours, total.profile, total.difference]).toEqual([2010, 2000, -10]);
    const share = Object.fromEntries(june.filter((r) => r.rule !== 'total').map((r) => [r.rule, [r.difference, r.subscriptions.join(' ')]]));
    expect(share).toEqual({ discount_repeating: [50, 'sub_repeating'], churn_timing: [-150, 'sub_cancel'], pause: [90, 'sub_paused'] });
    for (const month of MONTHS) {
      const m = all.filter((r) => r.month === month && r.currency === 'USD');
      const t = m.find((r) => r.rule === 'total');
      if (!t) continue;
      expect(m.filter((r) => r.rule !== 'total').reduce((s, r) => s + r.difference, 0)).toBeCloseTo(t.difference, 9);
    }
    // January: coupon_half3 (repeating) is not MRR for Stripe: +150 (cus_expiry); usage −25 (cus_metered).
    const jan = all.filter((r) => r.month === '2026-01' && r.rule !== 'total').map((r) => `${r.rule} ${r.difference}`);
    expect(jan).toEqual(['discount_repeating 150', 'metered -25']);
  });

  it('against ChartMogul: unpaid subscriptions count until canceled', () => {
    const may = rows('chartmogul').filter((r) => r.month === '2026-05' && r.rule !== 'total');
    expect(may.map((r) => `${r.rule} ${r.difference} ${r.subscriptions.join(' ')}`)).toEqual(['unpaid 80 sub_unpaid']);
  });

  it('a folder without Stripe objects is a user error', () => {
    const r = nrr(['stripe', 'reconcile', '--data', mkdtempSync(join(root, 'empty-')), '--profile', 'stripe']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/holds no Stripe objects/);
  });
});

describe('the examples of nrr stripe --help run', () => {
  it('each example exits 0 with its paths pointed at the corpus', () => {
    const program = buildProgram();
    const stripe = program.commands.find((c) => c.name() === 'stripe')!;
    const lines: string[] = [];
    for (const c of [stripe, ...stripe.commands]) {
      let text = '';
      c.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
      c.outputHelp();
      for (const l of text.split('\n')) if (/^ {2}nrr stripe /.test(l)) lines.push(l.trim());
    }
    expect(lines.length).toBeGreaterThanOrEqual(4);
    const dir = join(root, 'examples');
    // Imports first, so that reconcile has objects.
    lines.sort((a, b) => Number(b.includes(' import ')) - Number(a.includes(' import ')));
    for (const line of [...new Set(lines)]) {
      const args = line
        .split(/\s+/)
        .slice(1)
        .map((w) => (w === 'my-data' ? dir : w === 'exports/stripe' ? CORPUS : w === 'exports/stripe/customers.jsonl' ? join(CORPUS, '12-eur-and-jpy.jsonl') : w === 'reconcile.csv' ? join(root, 'reconcile.csv') : w));
      const r = nrr(args);
      expect(r.status, `${line}: ${r.stderr}`).toBe(0);
    }
    expect(existsSync(join(root, 'reconcile.csv'))).toBe(true);
  });
});
