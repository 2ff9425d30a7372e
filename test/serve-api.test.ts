import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NrrError, Workspace, generateCompany, metrics, cohortTable, scoreAccounts } from '../src/index.js';
import { runPlaybooks } from '../src/playbooks/run-playbooks.js';
import { PlaybookState } from '../src/playbooks/playbook-state.js';
import { statePath } from '../src/playbooks/playbook-settings.js';
import { createApp } from '../src/serve/api-app.js';
import { startServer } from '../src/serve/start-server.js';
import { removeDir } from './helpers/fixture-dir.js';

let dir: string;
let ws: Workspace;
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nrr-serve-'));
  await generateCompany({ out: dir, accounts: 400, months: 30, seed: 11, end: '2026-06' });
  // Today pinned the day after the data's last month: that month is the reporting month, live views look from today.
  ws = await Workspace.open({ data: dir, signals: true, today: new Date('2026-07-01T00:00:00Z') });
  await runPlaybooks(ws, {});
  app = createApp(ws);
}, 120_000);
afterAll(() => {
  ws?.close();
  removeDir(dir);
});

async function get(path: string, init?: RequestInit): Promise<{ status: number; body: Record<string, unknown> & unknown[] }> {
  const res = await app.request(path, init);
  return { status: res.status, body: (await res.json()) as never };
}

describe('the API, in-process', () => {
  it('/api/summary: the last full month is reported, live views look from today, the data is current', async () => {
    const { status, body } = await get('/api/summary');
    expect(status).toBe(200);
    expect([body['as_of_month'], body['as_of_date'], body['today'], body['partial'], body['stale'], body['date_notes']]).toEqual([
      '2026-06',
      '2026-07-01',
      '2026-07-01',
      false,
      null,
      [],
    ]);
  });

  it('/api/metrics gives the engine’s numbers, overall and by a slice, with every digit', async () => {
    const [m] = await metrics(ws, { window: 12 });
    const res = await app.request('/api/metrics?window=12');
    expect(res.status).toBe(200);
    const text = await res.text();
    // Money leaves as the engine's exact decimals, never rounded.
    expect(text).toContain(`"starting_mrr":${m!.starting_mrr.value}`);
    const [got] = JSON.parse(text) as { nrr: number; grr: number; month: string }[];
    expect(got).toMatchObject({ nrr: m!.nrr, grr: m!.grr, month: '2026-06' });

    const bySegment = await metrics(ws, { window: 3, month: '2026-03', by: 'segment' });
    const r = await get('/api/metrics?window=3&month=2026-03&by=segment');
    expect((r.body as unknown as { group: string; nrr: number }[]).map((x) => [x.group, x.nrr])).toEqual(bySegment.map((x) => [x.group, x.nrr]));
  });

  it('/api/accounts and /api/accounts/:id match the scored records', async () => {
    const scored = await scoreAccounts(ws, {});
    const r = await get('/api/accounts?sort=arr&limit=5');
    expect(r.body['total']).toBe(scored.length);
    const top = [...scored].sort((a, b) => b.record.arr.toNumber() - a.record.arr.toNumber())[0]!;
    const first = (r.body['rows'] as { account_id: string; arr: number; tier: string; churn_risk: number }[])[0]!;
    expect(first).toMatchObject({ account_id: top.record.account_id, arr: top.record.arr.toNumber(), tier: top.tier, churn_risk: top.risk.score });

    const red = await get('/api/accounts?health=red&limit=100000');
    expect(red.body['total']).toBe(scored.filter((s) => s.health.colour === 'red').length);
    expect((red.body['rows'] as { health_colour: string }[]).every((x) => x.health_colour === 'red')).toBe(true);

    const one = await get(`/api/accounts/${encodeURIComponent(top.record.account_id)}`);
    expect(one.status).toBe(200);
    const detail = one.body as unknown as { account: { arr: number }; explanation: { history: unknown[]; lines: unknown[] }; scored: { health: { score: number } } };
    expect(detail.account.arr).toBe(top.record.arr.toNumber());
    expect(detail.scored.health.score).toBe(top.health.score);
    expect(detail.explanation.lines.length).toBeGreaterThan(0);
    expect(detail.explanation.history.length).toBeGreaterThan(0);

    const missing = await get('/api/accounts/NOPE-1');
    expect(missing.status).toBe(404);
    expect(missing.body['error']).toMatch(/account 'NOPE-1' has no lines in the data/);
  });

  it('/api/cohorts and /api/tasks match the engine and the play state', async () => {
    const cohorts = await cohortTable(ws, 'year');
    const r = await get('/api/cohorts?granularity=year');
    expect((r.body['rows'] as { cohort: string; retention: number[] }[]).map((c) => [c.cohort, c.retention])).toEqual(cohorts.map((c) => [c.cohort, c.retention]));

    const s = await PlaybookState.open(statePath(ws.dataDir, ws.scoring.playbookSettings));
    const open = await s.tasks({ status: 'open' });
    s.close();
    expect(open.length).toBeGreaterThan(0);
    const t = await get('/api/tasks');
    expect(t.body['total']).toBe(open.length);
    const owner = open[0]!.owner;
    const mine = await get(`/api/tasks?owner=${encodeURIComponent(owner.toUpperCase())}`);
    expect(mine.body['total']).toBe(open.filter((x) => x.owner === owner).length);
    const pb = await get('/api/playbooks');
    const byOwner = pb.body['by_owner'] as { owner: string; open: number }[];
    expect(byOwner.reduce((n, o) => n + o.open, 0)).toBe(open.length);
  });

  it('answers a bad parameter with a 400 naming it, the value and what was expected', async () => {
    const cases: [string, RegExp][] = [
      ['/api/metrics?month=2025-13', /^month: expected a month as YYYY-MM, got '2025-13'$/],
      ['/api/metrics?window=0', /^window: expected 1 or more, got '0'$/],
      ['/api/metrics?window=abc', /^window: expected a whole number, got 'abc'$/],
      ['/api/metrics?month=2030-01', /^month: 2030-01 is after the reporting month 2026-06$/],
      ['/api/metrics?by=shoe_size', /^by: expected one of acv_band, .*, got 'shoe_size'$/],
      ['/api/metrics?colour=red', /^unknown parameter colour$/],
      ['/api/accounts?health=purple', /^health: Invalid option: expected one of "red"\|"yellow"\|"green", got 'purple'$/],
      ['/api/movements?from=2026-05&to=2026-01', /^from: 2026-05 is after to \(2026-01\)$/],
      ['/api/tasks?status=lost', /^status: .*, got 'lost'$/],
    ];
    for (const [path, message] of cases) {
      const r = await get(path);
      expect(r.status, path).toBe(400);
      expect(r.body['error'], path).toMatch(message);
    }
    expect((await get('/api/nothing')).status).toBe(404);
  });

  it('publishes OpenAPI for every endpoint with its parameters', async () => {
    const doc = (await get('/api/openapi.json')).body as unknown as { openapi: string; paths: Record<string, { get: { parameters: { name: string }[] } }> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/metrics', '/api/movements', '/api/accounts', '/api/accounts/{id}', '/api/tasks']));
    expect(doc.paths['/api/metrics']!.get.parameters.map((p) => p.name)).toEqual(['month', 'window', 'by']);
  });
});

describe('auth', () => {
  it('with a token, /api needs it; the page files do not', async () => {
    const locked = createApp(ws, { token: 's3cret-token' });
    expect((await locked.request('/api/summary')).status).toBe(401);
    expect((await locked.request('/api/summary', { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await locked.request('/api/summary', { headers: { authorization: 'Bearer s3cret-token' } })).status).toBe(200);
    expect((await locked.request('/overview')).status).toBe(200);
  });

  it('refuses to listen beyond loopback without a token, and listens on loopback', async () => {
    await expect(startServer(ws, { port: 0, host: '0.0.0.0' })).rejects.toThrow(NrrError);
    await expect(startServer(ws, { port: 0, host: '0.0.0.0' })).rejects.toThrow(/refusing to listen on 0\.0\.0\.0 without a token/);
    const s = await startServer(ws, { port: 0, host: '127.0.0.1' });
    try {
      const res = await fetch(`${s.url}api/summary`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { as_of_month: string }).as_of_month).toBe('2026-06');
    } finally {
      await s.close();
    }
  });
});
