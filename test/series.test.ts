import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Big from 'big.js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { Workspace, generateCompany, mrrLedger, movements, type Money } from '../src/index.js';
import { SERIES_COLUMNS, revenueSeries, type SeriesRow } from '../src/queries/series-queries.js';
import { createApp } from '../src/serve/api-app.js';
import { fixtureDir, removeDir } from './helpers/fixture-dir.js';

/**
 * The company's revenue series (`nrr mrr --total`, GET /api/series): MRR and customers read from
 * the ledger, the bridge from the movements; the two must agree month by month.
 */
const GOLDEN = 'test/fixtures/golden';
const BIN = join(process.cwd(), 'dist/cli/nrr.js');
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

/** A copy of a folder (the store each run writes stays out of the fixtures). */
function copyOf(src: string, config?: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'nrr-series-'));
  dirs.push(dir);
  cpSync(src, dir, { recursive: true, filter: (s) => !s.includes('.nrr') });
  if (config) writeFileSync(join(dir, 'nrr.config.yaml'), stringify(config));
  return dir;
}

const text = (r: SeriesRow): Record<string, string | number> =>
  Object.fromEntries(SERIES_COLUMNS.map((k) => [k, typeof r[k] === 'object' ? (r[k] as Money).value : r[k]]));

/**
 * The checks every series must pass, whatever the data:
 * - the bridge: net_new = new + expansion + reactivation − contraction − churn, and
 *   mrr(m) = mrr(m−1) + net_new(m) + fx(m) (fx is zero unless FX is revalued monthly);
 * - mrr and customers equal the per-account ledger summed (`nrr mrr`), arr = 12 × mrr;
 * - each category equals the movements of that category summed (`nrr movements`).
 */
async function checkSeries(ws: Workspace): Promise<void> {
  const { rows, fx } = await revenueSeries(ws);
  const ledger = await mrrLedger(ws);
  const moves = await movements(ws);
  let before = new Big(0);
  for (const [i, r] of rows.entries()) {
    const net = new Big(r.new.value).plus(r.expansion.value).plus(r.reactivation.value).minus(r.contraction.value).minus(r.churn.value);
    expect(r.net_new.value, r.month).toBe(net.toFixed());
    expect(before.plus(net).plus(fx[i]!.value).eq(r.mrr.value), `${r.month}: ${before.toFixed()} + ${net.toFixed()} + fx ${fx[i]!.value} ≠ ${r.mrr.value}`).toBe(true);
    expect(new Big(r.mrr.value).times(12).eq(r.arr.value)).toBe(true);
    const inMonth = ledger.filter((l) => l.month === r.month && !l.mrr.isZero());
    expect(inMonth.reduce((s, l) => s.plus(l.mrr.value), new Big(0)).eq(r.mrr.value), `${r.month} mrr`).toBe(true);
    expect(r.customers, `${r.month} customers`).toBe(inMonth.filter((l) => new Big(l.mrr.value).gt(0)).length);
    for (const c of ['new', 'expansion', 'reactivation', 'contraction', 'churn'] as const) {
      const sum = moves.filter((m) => m.month === r.month && m.category === c).reduce((s, m) => s.plus(m.delta.value), new Big(0));
      const sign = c === 'contraction' || c === 'churn' ? -1 : 1;
      expect(sum.times(sign).eq(r[c].value), `${r.month} ${c}: ${sum.toFixed()} vs ${r[c].value}`).toBe(true);
    }
    before = new Big(r.mrr.value);
  }
}

describe('the revenue series on the golden data (hand-checked)', () => {
  let ws: Workspace;
  beforeAll(async () => {
    ws = await Workspace.open({ data: copyOf(GOLDEN), policies: { as_of: '2024-12' }, today: new Date('2025-06-15T00:00:00Z') });
  });
  afterAll(() => ws?.close());

  it('has one row per month from the first month with revenue to the reporting month', async () => {
    const { rows } = await revenueSeries(ws);
    expect(rows.map((r) => r.month)).toEqual(Array.from({ length: 12 }, (_, k) => `2024-${String(k + 1).padStart(2, '0')}`));
  });

  it('2024-01, 2024-03 and 2024-04 as worked by hand', async () => {
    const { rows } = await revenueSeries(ws);
    const at = (m: string) => text(rows.find((r) => r.month === m)!);
    // January: eight accounts start: A1 1000, A10 100, A11 700, A2 900, A4 400, A5 300, A6 500, A7 1200 = 5100.
    expect(at('2024-01')).toEqual({ month: '2024-01', mrr: '5100', arr: '61200', customers: 8, new: '5100', expansion: '0', reactivation: '0', contraction: '0', churn: '0', net_new: '5100' });
    // February: + A3 2000 (72000 ÷ 36) + A8 250 (its January trial was 0) = 7350, ten customers.
    // March: A9 new 1100 (1000 EUR × 1.10), A10 usage +50, A6 churns 500 (term1 ends 03-25):
    // net new 1100 + 50 − 500 = 650; 7350 + 650 = 8000; customers 10 + 1 − 1 = 10.
    expect(at('2024-03')).toEqual({ month: '2024-03', mrr: '8000', arr: '96000', customers: 10, new: '1100', expansion: '50', reactivation: '0', contraction: '0', churn: '500', net_new: '650' });
    // April: A6 comes back (+500 reactivation), A10 usage 50 → 80 (+30): 8530, eleven customers.
    expect(at('2024-04')).toEqual({ month: '2024-04', mrr: '8530', arr: '102360', customers: 11, new: '0', expansion: '30', reactivation: '500', contraction: '0', churn: '0', net_new: '530' });
  });

  it('a filter keeps only the accounts whose attributes match: smb in 2024-03', async () => {
    // smb: A4 400, A5 300, A6 500, A8 250, A10 100, A11 700 = 2250 in February; in March A6 churns
    // (−500) and A10 gains usage (+50): 1800, five customers.
    const { rows } = await revenueSeries(ws, { from: '2024-02', to: '2024-03', where: { segment: 'smb' } });
    expect(rows.map(text)).toEqual([
      { month: '2024-02', mrr: '2250', arr: '27000', customers: 6, new: '250', expansion: '0', reactivation: '0', contraction: '0', churn: '0', net_new: '250' },
      { month: '2024-03', mrr: '1800', arr: '21600', customers: 5, new: '0', expansion: '50', reactivation: '0', contraction: '0', churn: '500', net_new: '-450' },
    ]);
    // Two conditions: smb in EMEA is A5 alone (300).
    const both = await revenueSeries(ws, { from: '2024-03', to: '2024-03', where: { segment: 'smb', region: 'EMEA' } });
    expect(both.rows.map((r) => [r.mrr.value, r.customers])).toEqual([['300', 1]]);
  });

  it('refuses an attribute the accounts do not have, and months outside the data', async () => {
    await expect(revenueSeries(ws, { where: { plan: 'pro' } })).rejects.toThrow(/'plan' is not an attribute of the accounts; choose one of: name, segment, region, owner/);
    await expect(revenueSeries(ws, { to: '2025-01' })).rejects.toThrow(/after the reporting month 2024-12/);
    await expect(revenueSeries(ws, { from: '2024-05', to: '2024-04' })).rejects.toThrow(/after 2024-04/);
  });

  it('passes the bridge and ledger checks, under FX at contract start and revalued monthly', async () => {
    await checkSeries(ws);
    const monthly = await Workspace.open({ data: copyOf(GOLDEN, { policies: { fx: 'monthly' } }), policies: { as_of: '2024-12' }, today: new Date('2025-06-15T00:00:00Z') });
    try {
      await checkSeries(monthly);
      // A9's 1000 EUR is revalued from 1.10 to 1.20 in June: +100 of FX, in no movement.
      const { rows, fx } = await revenueSeries(monthly);
      expect(fx[rows.findIndex((r) => r.month === '2024-06')]!.value).toBe('100');
    } finally {
      monthly.close();
    }
  });
});

describe('the revenue series on a generated company', () => {
  it('passes the bridge and ledger checks on every month', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nrr-series-gen-'));
    dirs.push(dir);
    await generateCompany({ out: dir, accounts: 150, months: 24, seed: 5, end: '2026-06' });
    const ws = await Workspace.open({ data: dir, today: new Date('2026-07-01T00:00:00Z') });
    try {
      await checkSeries(ws);
      const { rows } = await revenueSeries(ws);
      expect(rows).toHaveLength(24);
      expect(rows.at(-1)!.customers).toBeGreaterThan(50);
    } finally {
      ws.close();
    }
  }, 60_000);
});

describe('the revenue series on random data (fast-check)', () => {
  const line = fc.record({
    account: fc.constantFrom('A1', 'A2', 'A3', 'A4'),
    start: fc.integer({ min: 0, max: 700 }),
    length: fc.option(fc.integer({ min: 1, max: 500 }), { nil: null }),
    amount: fc.integer({ min: 0, max: 5000 }).map((c) => (c / 100).toFixed(2)),
    interval: fc.constantFrom('month', 'quarter', 'year'),
    currency: fc.constantFrom('USD', 'EUR'),
  });
  const day = (offset: number): string => new Date(Date.UTC(2023, 0, 1) + offset * 86_400_000).toISOString().slice(0, 10);

  it('every month adds up, whatever the lines and the FX policy', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 12 }), fc.constantFrom('contract_start', 'monthly'), fc.constantFrom('end', 'start'), async (lines, fx, snapshot) => {
        const dir = fixtureDir({
          'subscriptions.csv': [
            ['account_id', 'line_id', 'product', 'start_date', 'end_date', 'amount', 'interval', 'currency'],
            ...lines.map((l, i) => [l.account, `L${i}`, 'core', day(l.start), l.length === null ? '' : day(l.start + l.length), l.amount, l.interval, l.currency]),
          ],
          'accounts.csv': [['account_id', 'segment'], ['A1', 'smb'], ['A2', 'smb'], ['A3', 'enterprise'], ['A4', 'enterprise']],
          'fx_rates.csv': [['currency', 'month', 'rate'], ['EUR', '2023-01', '1.1'], ['EUR', '2023-09', '1.05'], ['EUR', '2024-06', '1.13']],
        });
        try {
          const ws = await Workspace.open({ data: dir, store: false, policies: { as_of: '2024-12', fx, snapshot }, today: new Date('2025-03-01T00:00:00Z') });
          try {
            await checkSeries(ws);
            // The segments' series add up to the company's, month by month.
            const all = (await revenueSeries(ws)).rows;
            const parts = await Promise.all(['smb', 'enterprise'].map(async (s) => (await revenueSeries(ws, { where: { segment: s } })).rows));
            for (const [i, r] of all.entries()) {
              expect(new Big(parts[0]![i]!.mrr.value).plus(parts[1]![i]!.mrr.value).eq(r.mrr.value)).toBe(true);
              expect(parts[0]![i]!.customers + parts[1]![i]!.customers).toBe(r.customers);
            }
          } finally {
            ws.close();
          }
        } finally {
          removeDir(dir);
        }
      }),
      { numRuns: Number(process.env['NRR_PROPERTY_RUNS'] ?? 15) },
    );
  }, 300_000);
});

describe('nrr mrr --total and GET /api/series', () => {
  let dir: string;
  beforeAll(() => {
    dir = copyOf(GOLDEN);
  });
  const nrr = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });

  it('prints one CSV row per month with exactly the columns of the interface', () => {
    const r = nrr('mrr', '--data', dir, '--as-of', '2024-12', '--total', '--format', 'csv', '-q');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('month,mrr,arr,customers,new,expansion,reactivation,contraction,churn,net_new');
    expect(lines).toHaveLength(13);
    expect(lines[3]).toBe('2024-03,8000,96000,10,1100,50,0,0,500,650');
  });

  it('takes --where, and refuses an unknown attribute with exit code 1', () => {
    const r = nrr('mrr', '--data', dir, '--as-of', '2024-12', '--total', '--where', 'segment=smb', '--from', '2024-03', '--to', '2024-03', '--format', 'csv', '-q');
    expect(r.stdout.trim().split('\n')[1]).toBe('2024-03,1800,21600,5,0,50,0,0,500,-450');
    const bad = nrr('mrr', '--data', dir, '--as-of', '2024-12', '--total', '--where', 'plan=pro', '-q');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/error: filter: 'plan' is not an attribute of the accounts/);
    const usage = nrr('mrr', '--data', dir, '--total', '--where', 'segment');
    expect(usage.status).toBe(1); // a usage error, as for every option whose value is refused
    expect(usage.stderr).toMatch(/expected KEY=VALUE/);
  });

  it('the API answers the same rows as the CLI JSON: money as exact strings, counts as integers', async () => {
    // The CLI's JSON writes money as numbers with every digit (as every command does), the API as text.
    const cliText = nrr('mrr', '--data', dir, '--as-of', '2024-12', '--total', '--format', 'json', '-q').stdout;
    const cli = (JSON.parse(cliText) as Record<string, number | string>[]).map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, k === 'customers' ? v : String(v)])));
    const ws = await Workspace.open({ data: dir, policies: { as_of: '2024-12' }, today: new Date('2025-06-15T00:00:00Z') });
    try {
      const app = createApp(ws);
      const res = await app.request('/api/series');
      expect(res.status).toBe(200);
      const body = (await res.json()) as Record<string, unknown>[];
      expect(body).toEqual(cli);
      expect(Object.keys(body[0]!)).toEqual([...SERIES_COLUMNS]);
      expect(body[2]).toEqual({ month: '2024-03', mrr: '8000', arr: '96000', customers: 10, new: '1100', expansion: '50', reactivation: '0', contraction: '0', churn: '500', net_new: '650' });
      const smb = (await (await app.request('/api/series?segment=smb&from=2024-03&to=2024-03')).json()) as Record<string, unknown>[];
      expect(smb).toEqual([{ month: '2024-03', mrr: '1800', arr: '21600', customers: 5, new: '0', expansion: '50', reactivation: '0', contraction: '0', churn: '500', net_new: '-450' }]);
      const bad = await app.request('/api/series?plan=pro');
      expect([bad.status, await bad.json()]).toEqual([400, { error: 'unknown parameter plan' }]);
      const late = await app.request('/api/series?to=2025-01');
      expect(late.status).toBe(400);
    } finally {
      ws.close();
    }
  });
});
