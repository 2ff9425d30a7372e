import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountProbabilities } from '../src/forecast/account-probabilities.js';
import { forecast } from '../src/forecast/forecast.js';
import { evaluatePlays } from '../src/playbooks/dry-run.js';
import { generateCompany } from '../src/generate/generate-company.js';
import { createApp } from '../src/serve/api-app.js';
import { Money, stringifyJson } from '../src/money.js';
import { Workspace } from '../src/workspace/workspace.js';

// A small generated company: 300 accounts, 30 months to 2026-06; forecasts look from 2026-02.
const TODAY = new Date('2026-07-15T00:00:00Z');
let dir = '';
const copies: string[] = [];

async function forecastAt(data: string, asOf: string, extra: { by?: string; trainingAccounts?: number } = {}) {
  const ws = await Workspace.open({ data, signals: true, store: false, today: TODAY, policies: { as_of: asOf } });
  try {
    return await forecast(ws, { simulations: 200, seed: 3, ...extra });
  } finally {
    ws.close();
  }
}

function copyWith(rows: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), 'nrr-fc-copy-'));
  copies.push(d);
  cpSync(dir, d, { recursive: true });
  rmSync(join(d, '.nrr'), { recursive: true, force: true });
  for (const [file, text] of Object.entries(rows)) appendFileSync(join(d, file), text);
  return d;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nrr-fc-'));
  await generateCompany({ out: dir, accounts: 300, months: 30, seed: 5, end: '2026-06', today: TODAY });
}, 120_000);

afterAll(() => {
  for (const d of [dir, ...copies]) rmSync(d, { recursive: true, force: true });
});

describe('forecast on a workspace', () => {
  it('gives P10 ≤ P50 ≤ P90 of NRR and GRR as fractions, GRR ≤ 1, and every account once', async () => {
    const f = await forecastAt(dir, '2026-02');
    expect(f.as_of).toBe('2026-02-28');
    expect(f.through).toBe('2026-05-31');
    for (const q of [f.nrr, f.grr]) {
      expect(q.p10!).toBeLessThanOrEqual(q.p50!);
      expect(q.p50!).toBeLessThanOrEqual(q.p90!);
    }
    expect(f.grr.p90!).toBeLessThanOrEqual(1);
    expect(f.nrr.p50!).toBeGreaterThan(0.5);
    expect(f.nrr.p50!).toBeLessThan(1.5);
    expect(new Set(f.accounts.map((a) => a.account_id)).size).toBe(f.account_count);
    for (const a of f.accounts) {
      expect(a.churn_probability).toBeGreaterThanOrEqual(0);
      expect(a.churn_probability).toBeLessThanOrEqual(1);
    }
    // Expected loss orders the accounts, the downside is the top of that list.
    expect(f.downside.map((a) => a.account_id)).toEqual(f.accounts.slice(0, f.downside.length).map((a) => a.account_id));
  }, 120_000);

  it('no leakage: rows dated after T (new lines, usage, tickets) do not change the forecast as of T', async () => {
    const before = stringifyJson(await forecastAt(dir, '2026-02'));
    const future = copyWith({
      'subscriptions.csv': 'A0000001,A0000001-FUTURE,platform,2026-04-01,,99999.00,month,,USD\nA0000002,A0000002-FUTURE,platform,2026-03-01,2026-04-01,5.00,month,,USD\n',
      'tickets.csv': 'FUTURE-T1,A0000003,2026-03-02,,urgent,true\nFUTURE-T2,A0000003,2026-03-05,,urgent,true\n',
      'usage.csv': 'A0000004,platform,2026-04,1234.00,USD\n',
    });
    expect(stringifyJson(await forecastAt(future, '2026-02'))).toBe(before);
    // The same rows dated before T do change it (the test can fail).
    const past = copyWith({ 'subscriptions.csv': 'A0000001,A0000001-PAST,platform,2026-01-01,,99999.00,month,,USD\n' });
    expect(stringifyJson(await forecastAt(past, '2026-02'))).not.toBe(before);
  }, 240_000);

  it('the same seed gives the same forecast; --by adds a figure set per group whose starting MRR adds up', async () => {
    const a = await forecastAt(dir, '2026-02', { by: 'segment' });
    const b = await forecastAt(dir, '2026-02', { by: 'segment' });
    expect(stringifyJson(a)).toBe(stringifyJson(b));
    const groups = a.by!.groups;
    expect(groups.length).toBeGreaterThan(1);
    expect(groups.reduce((s, g) => s.plus(g.starting_mrr), groups[0]!.starting_mrr.minus(groups[0]!.starting_mrr)).value).toBe(a.starting_mrr.value);
    expect(groups.reduce((n, g) => n + g.account_count, 0)).toBe(a.account_count);
  }, 120_000);

  it('the committed layer counts a line scheduled to start before T + h, from the latest full month', async () => {
    const base = await forecastAt(dir, '2026-06');
    const id = base.accounts[0]!.account_id;
    // 1,200.00 a month of a new product from 2026-08-01 (T = 2026-06-30, T + h = 2026-09-30): committed +1,200.
    const scheduled = copyWith({ 'subscriptions.csv': `${id},${id}-ADDON,addon,2026-08-01,,1200.00,month,,USD\n` });
    const f = await forecastAt(scheduled, '2026-06');
    expect(f.committed_lines).toBe('all');
    expect(f.starting_mrr.value).toBe(base.starting_mrr.value);
    expect(f.committed_mrr.minus(base.committed_mrr).value).toBe(new Money('1200').value);
    expect(f.accounts.find((a) => a.account_id === id)!.committed_change.minus(base.accounts.find((a) => a.account_id === id)!.committed_change).value).toBe('1200');
  }, 120_000);

  it('a large company trains on a sample of accounts and still forecasts every account', async () => {
    const full = await forecastAt(dir, '2026-02');
    const sampled = await forecastAt(dir, '2026-02', { trainingAccounts: 100 });
    expect(sampled.notes.join(' ')).toMatch(/sample of \d+ % of the accounts/);
    expect(sampled.account_count).toBe(full.account_count);
    expect(sampled.starting_mrr.value).toBe(full.starting_mrr.value);
    expect(sampled.training.rows).toBeLessThan(full.training.rows);
  }, 120_000);

  it('with thin history falls back to segment × time-to-renewal rates and says so', async () => {
    const f = await forecastAt(dir, '2024-06');
    expect(f.method).toBe('segment_renewal_rates');
    expect(f.notes.join(' ')).toMatch(/thin history/);
    expect(f.shock.churn).toBeGreaterThanOrEqual(0.25);
  }, 120_000);

  it('forecasts the T12M NRR reported at T + h: its cohort from 12 months before, P10 ≤ P50 ≤ P90', async () => {
    const f = await forecastAt(dir, '2026-02');
    const t = f.t12m!;
    expect(t.reported_at).toBe(f.through);
    expect(t.cohort_from).toBe('2025-05-31');
    expect(t.accounts_at_as_of).toBeLessThanOrEqual(t.account_count);
    expect(t.nrr.p10!).toBeLessThanOrEqual(t.nrr.p50!);
    expect(t.nrr.p50!).toBeLessThanOrEqual(t.nrr.p90!);
    // Some of the cohort left before T (they count 0); the starting MRR is theirs too.
    expect(t.accounts_at_as_of).toBeLessThan(t.account_count);
    expect(t.starting_mrr.isZero()).toBe(false);
    expect(t.nrr.p50!).toBeGreaterThan(0.3);
    expect(t.nrr.p50!).toBeLessThan(2);
  }, 120_000);
});

describe('per-account probabilities (nrr accounts, playbook fields)', () => {
  it("equal the forecast's 90-day churn and expansion probabilities of each account, from one fit", async () => {
    const ws = await Workspace.open({ data: dir, signals: true, store: false, today: TODAY, policies: { as_of: '2026-02' } });
    try {
      const f = await forecast(ws, { simulations: 50, seed: 3 });
      // A day inside March looks from the end of February, as does February's last day.
      const p = await accountProbabilities(ws, '2026-02-28');
      expect(p.as_of).toBe('2026-02-28');
      expect(p.not_fitted).toBeNull();
      expect(p.accounts.size).toBe(f.account_count);
      for (const a of f.accounts) {
        expect(p.accounts.get(a.account_id)!.churn_probability_90d).toBeCloseTo(a.churn_probability, 12);
        expect(p.accounts.get(a.account_id)!.expansion_probability_90d).toBeCloseTo(a.expansion_probability, 12);
      }
      // Kept: the same day asks no second fit.
      expect(accountProbabilities(ws, '2026-02-28')).toBe(accountProbabilities(ws, '2026-02-28'));
    } finally {
      ws.close();
    }
  }, 120_000);

  it('are fields a play rule reads: the play selects exactly the accounts at or above its threshold', async () => {
    const d = copyWith({});
    const config = join(d, 'nrr.config.yaml');
    writeFileSync(config, readFileSync(config, 'utf8').replace(/^playbooks:\n/m, 'playbooks:\n  - name: forecast-churn\n    when: churn_probability_90d >= 0.3\n    task: { type: save, priority: high, due_days: 7, owner: csm }\n'));
    const ws = await Workspace.open({ data: d, signals: true, store: false, today: TODAY, policies: { as_of: '2026-02' } });
    try {
      const e = await evaluatePlays(ws, '2026-02-28');
      const play = e.plays.find((p) => p.playbook.name === 'forecast-churn')!;
      const p = await accountProbabilities(ws, '2026-02-28');
      const expected = [...p.accounts].filter(([, v]) => v.churn_probability_90d! >= 0.3).map(([id]) => id).sort();
      expect(expected.length).toBeGreaterThan(0);
      expect(play.entering.map((x) => x.account_id).sort()).toEqual(expected);
      expect(e.inputs.get(expected[0]!)!['churn_probability_90d']).toBeCloseTo(p.accounts.get(expected[0]!)!.churn_probability_90d!, 12);
    } finally {
      ws.close();
    }
  }, 120_000);

  it('are null, never 0, when the history is too thin to fit the model', async () => {
    const ws = await Workspace.open({ data: dir, signals: true, store: false, today: TODAY, policies: { as_of: '2024-06' } });
    try {
      const p = await accountProbabilities(ws, '2024-06-30');
      expect(p.not_fitted).toMatch(/thin history/);
      expect(p.accounts.size).toBe(0);
    } finally {
      ws.close();
    }
  }, 120_000);
});

describe('GET /api/forecast', () => {
  it('answers with the forecast for horizon, as_of and by, and refuses bad parameters with 400', async () => {
    const ws = await Workspace.open({ data: dir, signals: true, store: false, today: TODAY });
    try {
      const app = createApp(ws);
      const res = await app.request('/api/forecast?horizon=60&as_of=2026-03&by=segment');
      expect(res.status).toBe(200);
      const j = (await res.json()) as { as_of: string; horizon_months: number; nrr: object; by: { attribute: string } };
      expect(j.as_of).toBe('2026-03-31');
      expect(j.horizon_months).toBe(2);
      expect(Object.keys(j.nrr).sort()).toEqual(['p10', 'p50', 'p90']);
      expect(j.by.attribute).toBe('segment');
      expect((await app.request('/api/forecast?horizon=10')).status).toBe(400);
      expect((await app.request('/api/forecast?by=nope')).status).toBe(400);
      expect((await app.request('/api/forecast?as_of=2030-01')).status).toBe(400);
    } finally {
      ws.close();
    }
  }, 120_000);

  it('/api/accounts and /api/accounts/:id carry the 90-day probabilities of nrr accounts', async () => {
    const ws = await Workspace.open({ data: dir, signals: true, store: false, today: TODAY });
    try {
      const app = createApp(ws);
      type Row = { account_id: string; churn_probability_90d: number | null; expansion_probability_90d: number | null };
      // The probabilities come from the 90-day forecast, computed in the background: null until it is done.
      type Answer = { probabilities: { status: string; note: string | null }; rows: Row[] };
      let answer = (await (await app.request('/api/accounts?limit=100000')).json()) as Answer;
      if (answer.probabilities.status === 'computing') expect(answer.rows.every((r) => r.churn_probability_90d === null)).toBe(true);
      while (answer.probabilities.status === 'computing') {
        await new Promise((r) => setTimeout(r, 100));
        answer = (await (await app.request('/api/accounts?limit=100000')).json()) as Answer;
      }
      expect(answer.probabilities.status).toBe('ready');
      const rows = answer.rows;
      const p = await accountProbabilities(ws, '2026-06-30');
      expect(p.not_fitted).toBeNull();
      const withValue = rows.filter((r) => r.churn_probability_90d !== null);
      expect(withValue.length).toBeGreaterThan(0);
      // Every value is the fit's; an account without MRR at the month-end has null, never 0.
      for (const r of rows) {
        const v = p.accounts.get(r.account_id);
        expect(r.churn_probability_90d).toBe(v ? v.churn_probability_90d : null);
        expect(r.expansion_probability_90d).toBe(v ? v.expansion_probability_90d : null);
      }
      const one = (await (await app.request(`/api/accounts/${encodeURIComponent(withValue[0]!.account_id)}`)).json()) as { account: Row };
      expect(one.account.churn_probability_90d).toBe(withValue[0]!.churn_probability_90d);
    } finally {
      ws.close();
    }
  }, 120_000);
});

describe('the CLI JSON interface', () => {
  const BIN = join(process.cwd(), 'dist/cli/nrr.js');
  const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NRR_TODAY: '2026-07-15' } });

  it('nrr forecast --format json has nrr and grr with p10/p50/p90, and accounts with probabilities and reasons', () => {
    const r = run(['forecast', '--data', dir, '--horizon', '90', '--format', 'json', '--simulations', '100', '-q', '--no-store']);
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    for (const k of ['nrr', 'grr']) expect(Object.keys(j[k] as object).sort()).toEqual(['p10', 'p50', 'p90']);
    const accounts = j['accounts'] as Record<string, unknown>[];
    expect(accounts.length).toBeGreaterThan(0);
    expect(accounts[0]).toEqual(expect.objectContaining({ account_id: expect.any(String), churn_probability: expect.any(Number), expansion_probability: expect.any(Number), reasons: expect.any(Array) }));
  }, 120_000);

  it('nrr forecast backtest --format json has model and the three baselines with mae_points, and coverage_80', () => {
    const r = run(['forecast', 'backtest', '--data', dir, '--format', 'json', '--months', '2', '--simulations', '50', '-q', '--no-store']);
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { model: Record<string, unknown>; baselines: Record<string, Record<string, unknown>>; coverage_80: unknown };
    expect(j.model).toEqual(expect.objectContaining({ mae_points: expect.any(Number), coverage_80: expect.any(Number) }));
    // Also at the top, as the interface names it.
    expect(j.coverage_80).toBe(j.model['coverage_80']);
    expect(Object.keys(j.baselines).sort()).toEqual(['committed', 'last_period', 'trailing_3m']);
    for (const b of Object.values(j.baselines)) expect(b).toHaveProperty('mae_points');
  }, 240_000);
});
