import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metrics } from '../src/queries/metrics-queries.js';
import { filteredDiagnostics } from '../src/report/report-diagnostics.js';
import { buildReport } from '../src/report/report-model.js';
import { createApp } from '../src/serve/api-app.js';
import { Workspace } from '../src/workspace/workspace.js';

// The example company (150 accounts, reporting month 2025-12).
let dir = '';
let ws: Workspace;
/** Each account's segment, read from accounts.csv itself (no column holds a comma). */
const segmentOf = new Map<string, string>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nrr-diag-filter-'));
  cpSync('examples/acme', dir, { recursive: true });
  rmSync(join(dir, '.nrr'), { recursive: true, force: true });
  for (const line of readFileSync(join(dir, 'accounts.csv'), 'utf8').trim().split('\n').slice(1)) {
    const [id, , segment] = line.split(',');
    segmentOf.set(id!, segment!);
  }
  ws = await Workspace.open({ data: dir, store: false });
}, 60_000);

afterAll(() => {
  ws?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('diagnostics of the accounts a filter keeps', () => {
  it("without a filter are the report's, with the T12M cohort's counts", async () => {
    const report = await buildReport(ws);
    const all = await filteredDiagnostics(ws, undefined);
    expect(all.diagnostics.map(({ scope: _, ...d }) => d)).toEqual(report.diagnostics);
    expect([all.accounts, all.starting_accounts, all.retained_accounts]).toEqual([150, report.headline.t12m.starting_accounts, report.headline.t12m.retained_accounts]);
    expect(all.where).toBeNull();
    expect(all.thin).toBe(false);
    expect(all.diagnostics.every((x) => x.scope === 'company')).toBe(true);
  }, 60_000);

  it('a thin filter is said first, with its count; the filtered attribute is not checked as groups', async () => {
    const d = await filteredDiagnostics(ws, { segment: 'enterprise' });
    const [cohort] = await metrics(ws, { window: 12, where: { segment: 'enterprise' } });
    // accounts.csv holds 31 enterprise accounts; 27 of them paid at the end of 2024-12.
    expect(d.accounts).toBe([...segmentOf.values()].filter((s) => s === 'enterprise').length);
    expect(d.accounts).toBe(31);
    expect(d.starting_accounts).toBe(cohort!.starting_accounts);
    expect(d.starting_accounts).toBe(27);
    expect(d.thin).toBe(true);
    expect(d.diagnostics[0]).toEqual({
      id: 'thin_filter',
      severity: 'warning',
      scope: 'filtered',
      message: 'Only 27 accounts where segment=enterprise paid at the start of the trailing twelve months to 2025-12 (fewer than 30): every finding below rests on few accounts.',
    });
    expect(d.diagnostics.every((x) => x.scope === 'filtered')).toBe(true);
    expect(d.diagnostics.some((x) => x.message.startsWith('segment '))).toBe(false);
    expect(d.skipped).toEqual([{ id: 'small_group', reason: 'segment is filtered on: its one group is these accounts' }]);
    // The groups' counts are of enterprise accounts alone: they add up to the filtered cohort.
    const bands = await metrics(ws, { window: 12, by: 'acv_band', where: { segment: 'enterprise' } });
    expect(bands.reduce((n, g) => n + g.starting_accounts, 0)).toBe(27);
    expect(d.diagnostics.find((x) => x.message.startsWith("acv_band 'Enterprise"))?.message).toContain(`only ${bands.find((g) => g.group!.startsWith('Enterprise'))!.starting_accounts} starting accounts`);
  }, 60_000);

  it("finds what only the filtered accounts show, naming only them: expansion concentrated in five smb accounts", async () => {
    const company = await filteredDiagnostics(ws, undefined);
    const smb = await filteredDiagnostics(ws, { segment: 'smb' });
    expect(company.diagnostics.some((x) => x.id === 'expansion_concentrated_accounts')).toBe(false);
    const d = smb.diagnostics.find((x) => x.id === 'expansion_concentrated_accounts')!;
    const named = /\(([^)]+)\) out of (\d+) that expanded/.exec(d.message)!;
    const ids = named[1]!.split(', ');
    expect(ids).toHaveLength(5);
    for (const id of ids) expect(segmentOf.get(id)).toBe('smb');
    // The count behind it: the smb accounts whose MRR grew over the twelve months.
    const perAccount = await metrics(ws, { window: 12, by: 'account', where: { segment: 'smb' } });
    expect(Number(named[2])).toBe(perAccount.filter((m) => !m.expansion.isZero()).length);
    expect(smb.thin).toBe(false);
  }, 60_000);

  it('a filter on the owner skips the owner concentration check, and says why', async () => {
    const d = await filteredDiagnostics(ws, { owner: 'SMB Pod' });
    expect(d.skipped).toContainEqual({ id: 'expansion_concentrated_owner', reason: 'the filter keeps one owner: expansion cannot be concentrated in one of several owners' });
    const none = await filteredDiagnostics(ws, { segment: 'enterprize' });
    expect(none.accounts).toBe(0);
    expect(none.diagnostics[0]!.message).toBe('No account where segment=enterprize paid at the start of the trailing twelve months to 2025-12: there is no data to diagnose (not a clean bill of health).');
  }, 60_000);

  it('GET /api/diagnostics takes the same filters and answers the same', async () => {
    const app = createApp(ws);
    const res = await app.request('/api/diagnostics?segment=smb');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(JSON.parse(JSON.stringify(await filteredDiagnostics(ws, { segment: 'smb' }))));
    const all = (await (await app.request('/api/diagnostics')).json()) as { where: unknown; accounts: number };
    expect([all.where, all.accounts]).toEqual([null, 150]);
    const bad = await app.request('/api/diagnostics?colour=red');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toBe('unknown parameter colour');
  }, 60_000);
});
