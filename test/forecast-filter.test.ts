import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseLossless } from 'lossless-json';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forecast, type Forecast } from '../src/forecast/forecast.js';
import { revenueSeries } from '../src/queries/series-queries.js';
import { createApp } from '../src/serve/api-app.js';
import { Workspace } from '../src/workspace/workspace.js';

// The example company (150 accounts, reporting month 2025-12), today pinned so that the CLI and the
// API read the same committed changes.
const TODAY = '2026-01-15';
let dir = '';
let ws: Workspace;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nrr-fc-filter-'));
  cpSync('examples/acme', dir, { recursive: true });
  rmSync(join(dir, '.nrr'), { recursive: true, force: true });
  ws = await Workspace.open({ data: dir, signals: true, store: false, today: new Date(`${TODAY}T00:00:00Z`) });
}, 60_000);

afterAll(() => {
  ws?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The forecast as compared: its JSON, with money as decimal text. */
const plain = (f: unknown): unknown => JSON.parse(JSON.stringify(f));

describe('a filtered forecast (--where, API filters)', () => {
  it("is the group of a forecast by the attribute: same figures to the last digit, the same accounts", async () => {
    const by = await forecast(ws, { by: 'segment', seed: 3, simulations: 400 });
    const only = await forecast(ws, { where: { segment: 'enterprise' }, seed: 3, simulations: 400 });
    const group = by.by!.groups.find((g) => g.group === 'enterprise')!;
    const figures = (f: Omit<Forecast, 'by'> | (typeof by.by & object)['groups'][number]) => plain({
      account_count: f.account_count, starting_mrr: f.starting_mrr, committed_mrr: f.committed_mrr, committed_nrr: f.committed_nrr,
      nrr: f.nrr, grr: f.grr, ending_mrr: f.ending_mrr, expected_expansion: f.expected_expansion, expected_contraction: f.expected_contraction, expected_churn: f.expected_churn, t12m: f.t12m,
    });
    expect(figures(only)).toEqual(figures(group));
    // Not the company's: the filter changes the figures (the test can fail).
    expect(only.starting_mrr.toString()).not.toBe(by.starting_mrr.toString());
    // Its accounts are the enterprise ones of the company forecast, with the same probabilities.
    const segmentOf = new Map((await ws.query('SELECT account_id, segment FROM accounts')).map((r) => [String(r['account_id']), String(r['segment'])]));
    const companyEnterprise = by.accounts.filter((a) => segmentOf.get(a.account_id) === 'enterprise');
    expect(only.accounts.map((a) => [a.account_id, a.churn_probability])).toEqual(companyEnterprise.map((a) => [a.account_id, a.churn_probability]));
    expect(only.accounts.every((a) => segmentOf.get(a.account_id) === 'enterprise')).toBe(true);
    // The filter is said with its counts, and that the model is the whole company's.
    expect(only.filter).toMatchObject({ where: { segment: 'enterprise' }, accounts: only.account_count, company_accounts: by.account_count });
    expect(only.filter!.note).toContain("the model is fitted on the whole company's history");
    expect(only.training).toEqual(by.training);
  }, 60_000);

  it('counts the accounts with MRR at T that match, and their MRR, as the revenue series does', async () => {
    const f = await forecast(ws, { where: { segment: 'enterprise' }, simulations: 200 });
    const { rows } = await revenueSeries(ws, { where: { segment: 'enterprise' } });
    const dec = rows.find((r) => r.month === '2025-12')!;
    expect(f.as_of).toBe('2025-12-31');
    expect(f.account_count).toBe(dec.customers);
    expect(f.starting_mrr.toString()).toBe(dec.mrr.toString());
    // The example company: 29 of the 132 accounts paying at the end of 2025-12 are enterprise.
    expect([f.account_count, f.filter!.company_accounts]).toEqual([29, 132]);
    // Fewer than 30 accounts: said, with the filter.
    expect(f.notes).toContain('only 29 accounts with MRR at T match segment=enterprise: the figures are too noisy to trust');
  }, 60_000);

  it('the same seed gives the same numbers; a filter that keeps no account says there is no data', async () => {
    const a = await forecast(ws, { where: { segment: 'smb' }, seed: 5, simulations: 200 });
    const b = await forecast(ws, { where: { segment: 'smb' }, seed: 5, simulations: 200 });
    const c = await forecast(ws, { where: { segment: 'smb' }, seed: 6, simulations: 200 });
    expect(plain(a)).toEqual(plain(b));
    expect(plain(c.nrr)).not.toEqual(plain(a.nrr));
    const none = await forecast(ws, { where: { segment: 'enterprize' }, simulations: 100 });
    expect(none.account_count).toBe(0);
    expect(none.nrr).toEqual({ p10: null, p50: null, p90: null });
    expect(none.notes.some((n) => n.startsWith('no account with MRR at T matches segment=enterprize') && n.includes('no data'))).toBe(true);
    await expect(forecast(ws, { where: { colour: 'red' } })).rejects.toThrow(/'colour' is not an attribute of the accounts; choose one of: name, segment/);
  }, 60_000);

  it('nrr forecast --where and GET /api/forecast?segment= give the same forecast', async () => {
    const r = spawnSync(process.execPath, ['dist/cli/nrr.js', 'forecast', '--data', dir, '--no-store', '-q', '--where', 'segment=mid-market', '--format', 'json'], {
      encoding: 'utf8',
      env: { ...process.env, NRR_TODAY: TODAY },
    });
    expect(r.status, r.stderr).toBe(0);
    const cli = JSON.parse(r.stdout) as Forecast;
    const app = createApp(ws);
    const res = await app.request('/api/forecast?segment=mid-market');
    expect(res.status).toBe(200);
    const apiText = await res.text();
    const api = JSON.parse(apiText) as Forecast;
    // Every value as written (the CLI writes money as JSON numbers, the API as strings): digit for digit.
    const exact = (t: string): unknown => parseLossless(t, null, (n) => n);
    expect(exact(apiText)).toEqual(exact(r.stdout));
    expect(api.filter!.where).toEqual({ segment: 'mid-market' });
    // The unfiltered forecast is another answer (the company's).
    const company = (await (await app.request('/api/forecast?accounts=none')).json()) as Forecast;
    expect(company.filter).toBeUndefined();
    expect(company.account_count).toBe(132);
    expect(api.account_count).toBeLessThan(company.account_count);
    // The CLI's table names the accounts the figures are of.
    const text = spawnSync(process.execPath, ['dist/cli/nrr.js', 'forecast', '--data', dir, '--no-store', '-q', '--where', 'segment=mid-market', '--format', 'csv'], { encoding: 'utf8', env: { ...process.env, NRR_TODAY: TODAY } });
    expect(text.stdout.split('\n')[1]!.split(',').slice(0, 2)).toEqual(['segment=mid-market', String(cli.account_count)]);
  }, 120_000);
});
