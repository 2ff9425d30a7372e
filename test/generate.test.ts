import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rocAuc } from '../src/accounts/predictive-power.js';
import { generateCompany, type GenerateResult } from '../src/generate/generate-company.js';
import { metrics } from '../src/queries/metrics-queries.js';
import { Workspace } from '../src/workspace/workspace.js';
import { MANIFEST_FILE } from '../src/workspace/owned-files.js';
import { fixtureDir, removeDir } from './helpers/fixture-dir.js';

const END = '2026-10';
const dirs: string[] = [];
const tempDir = (): string => {
  const d = fixtureDir({}, 'nrr-gen-');
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach(removeDir));

/** The generated files' digests; the record of what nrr wrote (sizes and times) is left out. */
function digests(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir).sort().filter((n) => n !== MANIFEST_FILE)) out[f] = createHash('sha256').update(readFileSync(join(dir, f))).digest('hex');
  return out;
}

describe('nrr generate: determinism', () => {
  it('gives the same bytes for the same seed, and other bytes for another seed', async () => {
    const [a, b, c] = [tempDir(), tempDir(), tempDir()];
    await generateCompany({ out: a, accounts: 300, months: 24, seed: 5, end: '2025-06' });
    await generateCompany({ out: b, accounts: 300, months: 24, seed: 5, end: '2025-06' });
    await generateCompany({ out: c, accounts: 300, months: 24, seed: 6, end: '2025-06' });
    const da = digests(a);
    expect(Object.keys(da)).toContain('subscriptions.csv');
    expect(Object.keys(da)).toContain('product_usage.csv');
    expect(digests(b)).toEqual(da);
    expect(digests(c)['subscriptions.csv']).not.toEqual(da['subscriptions.csv']);
  });

  it('writes Parquet that gives exactly the numbers of the CSV', async () => {
    const [csv, pq] = [tempDir(), tempDir()];
    await generateCompany({ out: csv, accounts: 400, months: 30, seed: 9, end: '2025-06' });
    const r = await generateCompany({ out: pq, accounts: 400, months: 30, seed: 9, end: '2025-06', format: 'parquet' });
    expect(r.files.every((f) => f.file.endsWith('.parquet'))).toBe(true);
    expect(readdirSync(pq).filter((f) => f.endsWith('.csv'))).toEqual([]);
    const results = [];
    for (const data of [csv, pq]) {
      const ws = await Workspace.open({ data, policies: { as_of: '2025-06' } });
      try {
        results.push((await metrics(ws, { window: 12, by: 'segment' })).map((m) => [m.group, m.starting_mrr.toString(), m.ending_mrr.toString(), m.churn.toString()]));
      } finally {
        ws.close();
      }
    }
    expect(results[0]!.length).toBe(4);
    expect(results[1]).toEqual(results[0]);
  });
});

describe('nrr generate: the demo company (3,000 accounts, default seed)', () => {
  let dir: string;
  let result: GenerateResult;
  let ws: Workspace;
  beforeAll(async () => {
    dir = tempDir();
    result = await generateCompany({ out: dir, end: END });
    // Today pinned in the month after END: the default reporting month is END, the last full month.
    ws = await Workspace.open({ data: dir, signals: true, today: new Date('2026-11-02T00:00:00Z') });
  }, 120_000);
  afterAll(() => ws?.close());

  it('passes every rule of the data contract, revenue and signal files alike, without a warning', () => {
    expect(result.accounts).toBe(3000);
    expect(ws.summary.warningCount).toBe(0);
    expect(ws.summary.warnings).toEqual([]);
    const read = Object.fromEntries(ws.summary.sources.map((s) => [s.file, s.rows]));
    for (const f of result.files) {
      expect(read[f.file], f.file).toBe(f.rows);
      expect(f.rows, f.file).toBeGreaterThan(0);
    }
    expect(ws.summary.sources.every((s) => s.rejected === 0)).toBe(true);
    expect(ws.summary.asOf).toBe(END);
    expect(ws.summary.partial).toBe(false);
    expect(ws.summary.stale).toBeNull(); // the demo runs to its last month: not a stale export
    expect(ws.summary.accounts).toBe(3000);
  });

  it('bills usage only beside a contract line, so an account that leaves churns with its whole MRR', async () => {
    expect(ws.summary.usageSetAside.charges).toBe(0);
    // No churn follows a contraction larger than itself a month before (the mark of usage billed
    // after the lines ended: the lines' MRR booked as contraction, the last usage as churn).
    const [r] = await ws.query(`
      SELECT count(*) AS churns, count(*) FILTER (WHERE p.category = 'contraction' AND -p.movement > -c.movement) AS after_larger_contraction
      FROM account_changes c LEFT JOIN account_changes p ON p.account_id = c.account_id AND p.month_index = c.month_index - 1
      WHERE c.category = 'churn'`);
    expect(Number(r!['churns'])).toBeGreaterThan(300);
    expect(Number(r!['after_larger_contraction'])).toBe(0);
    // Usage moves MRR on its own in many months, and churns of accounts with usage are mixed.
    const causes = Object.fromEntries(
      (await ws.query(`SELECT cause, count(*) AS n FROM account_changes WHERE category <> 'fx' GROUP BY cause`)).map((x) => [x['cause'], Number(x['n'])]),
    );
    expect(causes['usage']).toBeGreaterThan(1000);
    expect(causes['contract']).toBeGreaterThan(1000);
  });

  it("lands each segment's trailing-12-month NRR in its benchmark band", async () => {
    const bands: Record<string, [number, number]> = {
      enterprise: [1.15, 1.25],
      'mid-market': [1.05, 1.12],
      smb: [0.9, 1.0],
      'self-serve': [1.05, 1.15],
    };
    const bySegment = await metrics(ws, { window: 12, by: 'segment' });
    expect(bySegment.map((m) => m.group).sort()).toEqual(Object.keys(bands).sort());
    for (const m of bySegment) {
      const [lo, hi] = bands[m.group!]!;
      expect(m.nrr, `${m.group} NRR ${m.nrr}`).toBeGreaterThanOrEqual(lo);
      expect(m.nrr, `${m.group} NRR ${m.nrr}`).toBeLessThanOrEqual(hi);
      expect(m.starting_accounts).toBeGreaterThanOrEqual(100);
    }
    // SMB churns heavily: its GRR is the lowest of the sales-led segments.
    const grr = Object.fromEntries(bySegment.map((m) => [m.group, m.grr!]));
    expect(grr['smb']).toBeLessThan(grr['mid-market']!);
    expect(grr['mid-market']).toBeLessThan(grr['enterprise']!);
    const api = (await metrics(ws, { window: 12, by: 'product' })).find((m) => m.group === 'api')!;
    expect(api.nrr).toBeGreaterThanOrEqual(1.1);
    expect(api.nrr).toBeLessThanOrEqual(1.2);
  });

  it('puts enterprise accounts above $100K ACV and SMB below $25K', async () => {
    const rows = await ws.query(`
      WITH first_mrr AS (
        SELECT l.account_id, sum(l.mrr_local) AS mrr FROM lines l
        WHERE l.start_date = (SELECT min(start_date) FROM lines x WHERE x.account_id = l.account_id) GROUP BY ALL)
      SELECT a.segment, quantile_cont(f.mrr * 12, 0.1) AS p10, quantile_cont(f.mrr * 12, 0.9) AS p90
      FROM first_mrr f JOIN accounts a USING (account_id) GROUP BY ALL`);
    const seg = Object.fromEntries(rows.map((r) => [r['segment'], { p10: Number(r['p10']), p90: Number(r['p90']) }]));
    // Local currencies move the figures a little around the USD thresholds.
    expect(seg['enterprise']!.p10).toBeGreaterThan(90_000);
    expect(seg['mid-market']!.p10).toBeGreaterThan(20_000);
    expect(seg['mid-market']!.p90).toBeLessThan(110_000);
    expect(seg['smb']!.p90).toBeLessThan(25_000);
  });

  it('covers the cases billing tools disagree on', async () => {
    const [facts] = await ws.query(`SELECT
      (SELECT count(DISTINCT interval_months) FROM lines) AS intervals,
      (SELECT count(*) FROM lines WHERE date_diff('month', start_date, end_date) >= 24) AS multi_year,
      (SELECT count(*) FROM lines WHERE end_date IS NULL) AS open_ended,
      (SELECT count(*) FROM lines WHERE discount > 0) AS discounted,
      (SELECT count(DISTINCT currency) FROM lines) AS currencies,
      (SELECT count(*) FROM (SELECT account_id FROM lines GROUP BY account_id HAVING count(DISTINCT product) >= 3)) AS three_products,
      (SELECT count(*) FROM lines a JOIN lines b ON a.account_id = b.account_id AND a.product = b.product
         AND a.end_date = b.end_date AND b.start_date > a.start_date AND a.interval_months = 12) AS co_termed,
      (SELECT count(*) FROM account_changes WHERE category = 'reactivation') AS reactivations,
      (SELECT count(*) FROM account_changes WHERE category = 'contraction') AS contractions,
      (SELECT count(DISTINCT account_id) FROM usage_charges) AS usage_accounts`);
    const f = Object.fromEntries(Object.entries(facts!).map(([k, v]) => [k, Number(v)]));
    expect(f['intervals']).toBe(2); // monthly and yearly billing
    expect(f['multi_year']).toBeGreaterThan(50);
    expect(f['open_ended']).toBeGreaterThan(500);
    expect(f['discounted']).toBeGreaterThan(200);
    expect(f['currencies']).toBe(5);
    expect(f['three_products']).toBeGreaterThan(5);
    expect(f['co_termed']).toBeGreaterThan(100);
    expect(f['reactivations']).toBeGreaterThan(20);
    expect(f['contractions']).toBeGreaterThan(100);
    expect(f['usage_accounts']).toBeGreaterThan(300);
    expect(ws.attributes).toEqual(['name', 'segment', 'industry', 'region', 'country', 'channel', 'deal_source', 'icp_fit', 'csm_owner', 'am_owner', 'signup_date']);
  });

  it('plants leading indicators that predict churn well but not perfectly', async () => {
    // Accounts active at a quarter's end; positive when they have no seats three months later.
    const f = (name: string): string => `read_csv('${join(dir, name)}', all_varchar = true)`;
    const month = (e: string): string => `(year(${e}) * 12 + month(${e}) - 1)`;
    const rows = await ws.query(`
      WITH seats AS (SELECT account_id, ${month("CAST(month || '-01' AS DATE)")} AS m FROM ${f('seats.csv')}),
      usage AS (SELECT account_id, ${month('CAST(week AS DATE)')} AS m, avg(CAST(active_users AS DOUBLE)) AS users FROM ${f('product_usage.csv')} GROUP BY ALL),
      escalations AS (SELECT account_id, ${month('CAST(opened_date AS DATE)')} AS m FROM ${f('tickets.csv')} WHERE escalated = 'true'),
      obs AS (
        SELECT s.account_id, s.m,
               NOT EXISTS (SELECT 1 FROM seats x WHERE x.account_id = s.account_id AND x.m = s.m + 3) AS churned
        FROM seats s WHERE s.m % 3 = 0 AND s.m <= (SELECT max(m) - 3 FROM seats) AND s.m >= (SELECT min(m) + 8 FROM seats))
      SELECT o.churned,
        coalesce((SELECT avg(users) FROM usage u WHERE u.account_id = o.account_id AND u.m BETWEEN o.m - 1 AND o.m)
          / nullif((SELECT avg(users) FROM usage u WHERE u.account_id = o.account_id AND u.m BETWEEN o.m - 5 AND o.m - 2), 0), 1) AS usage_ratio,
        EXISTS (SELECT 1 FROM escalations e WHERE e.account_id = o.account_id AND e.m BETWEEN o.m - 3 AND o.m) AS escalated
      FROM obs o`);
    const churned = rows.filter((r) => r['churned'] === true).length;
    expect(churned).toBeGreaterThan(200);
    const usageAuc = rocAuc(rows.map((r) => ({ score: -Number(r['usage_ratio']), positive: r['churned'] === true })));
    const escalationAuc = rocAuc(rows.map((r) => ({ score: r['escalated'] ? 1 : 0, positive: r['churned'] === true })));
    expect(usageAuc).toBeGreaterThan(0.72);
    expect(usageAuc).toBeLessThan(0.9);
    expect(escalationAuc).toBeGreaterThan(0.55);
    expect(escalationAuc).toBeLessThan(0.8);
  });

  it('plants seat utilisation above 80 % ahead of expansion', async () => {
    const f = (name: string): string => `read_csv('${join(dir, name)}', all_varchar = true)`;
    const rows = await ws.query(`
      WITH s AS (SELECT account_id, month, CAST(seats_purchased AS INT) AS bought, CAST(seats_active AS INT) AS used,
                   lead(CAST(seats_purchased AS INT), 2) OVER (PARTITION BY account_id ORDER BY month) AS bought_later
                 FROM ${f('seats.csv')})
      SELECT used / bought AS utilisation, bought_later > bought AS expanded FROM s WHERE bought_later IS NOT NULL`);
    const a = rocAuc(rows.map((r) => ({ score: Number(r['utilisation']), positive: r['expanded'] === true })));
    expect(a).toBeGreaterThan(0.7);
    expect(a).toBeLessThan(0.97);
  });
});

describe('nrr generate: streaming', () => {
  it('generates 100K accounts within a 64 MB JavaScript heap, writing far more than that', () => {
    const out = tempDir();
    // Were rows held until the end, the heap limit would stop the process.
    const run = spawnSync(
      process.execPath,
      ['--max-old-space-size=64', 'dist/cli/nrr.js', 'generate', '--out', out, '--accounts', '100000', '--months', '36', '--end', '2025-12'],
      { encoding: 'utf8' },
    );
    expect(run.stderr).toContain('generated 100,000 accounts');
    expect(run.status).toBe(0);
    // Waiting for a full buffer must not leave a listener behind each time (Node warns past 10).
    expect(run.stderr).not.toContain('MaxListenersExceededWarning');
    const written = readdirSync(out).reduce((s, f) => s + statSync(join(out, f)).size, 0);
    expect(written).toBeGreaterThan(400e6);
    const accounts = readFileSync(join(out, 'accounts.csv'), 'utf8').trimEnd().split('\n');
    expect(accounts.length).toBe(100_001);
    expect(accounts.at(-1)).toMatch(/^A0100000,/);
  }, 180_000);
});
