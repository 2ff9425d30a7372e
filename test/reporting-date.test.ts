import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scoreAccounts } from '../src/accounts/account-records.js';
import { checkFullMonth, monthEndedBy, monthIndex } from '../src/engine/months.js';
import { NrrError, Workspace, metrics } from '../src/index.js';
import { dryRun } from '../src/playbooks/dry-run.js';
import { buildReport } from '../src/report/report-model.js';
import { renderMarkdown } from '../src/report/render-markdown.js';
import { staleness, type OpenOptions } from '../src/workspace/workspace.js';
import { csv, fixtureDir, removeDir } from './helpers/fixture-dir.js';

/**
 * Lines current to today whose last start is five months before it. Today is pinned to 2026-11-12,
 * so the last full month is 2026-10.
 *   A1: 12,000 a year from 2025-12-15 to 2026-12-15 → 1,000 a month, renewal on 2026-12-15.
 *   A2: 500 a month from 2026-06-01 (the last start), open-ended.
 *   A3: 300 a month from 2026-01-01, ended 2026-09-01 → churn in September.
 */
const TODAY = new Date('2026-11-12T00:00:00Z');
const CURRENT = {
  'subscriptions.csv': csv(
    'account_id,line_id,product,start_date,end_date,amount,interval',
    'A1,L1,core,2025-12-15,2026-12-15,12000,year',
    'A2,L2,core,2026-06-01,,500,month',
    'A3,L3,core,2026-01-01,2026-09-01,300,month',
  ),
  'accounts.csv': csv('account_id,segment', 'A1,smb', 'A2,smb', 'A3,smb'),
};

const dirs: string[] = [];
const workspaces: Workspace[] = [];
afterAll(() => {
  for (const ws of workspaces) ws.close();
  for (const d of dirs) removeDir(d);
});

function folder(files: Record<string, string>): string {
  const dir = fixtureDir(files, 'nrr-dates-');
  dirs.push(dir);
  return dir;
}
async function open(dir: string, options: Partial<OpenOptions> = {}): Promise<Workspace> {
  const ws = await Workspace.open({ data: dir, today: TODAY, ...options });
  workspaces.push(ws);
  return ws;
}

describe('the reporting month', () => {
  it('defaults to the last full month before today, not the month of the last start', async () => {
    const ws = await open(folder(CURRENT));
    expect(ws.summary.asOf).toBe('2026-10');
    expect(ws.summary.partial).toBe(false);
    const [q] = await metrics(ws, { window: 3 });
    // End of July: A1 1,000 + A2 500 + A3 300 = 1,800; end of October: A3 has churned → 1,500.
    expect(q!.month).toBe('2026-10');
    expect(q!.starting_mrr.toString()).toBe('1800');
    expect(q!.ending_mrr.toString()).toBe('1500');
    expect(q!.churn.toString()).toBe('300');
  });

  it('takes the month before today’s, whatever the day of the month', async () => {
    const dir = folder(CURRENT);
    expect((await open(dir, { today: new Date('2026-12-01T00:00:00Z') })).summary.asOf).toBe('2026-11');
    expect((await open(dir, { today: new Date('2026-11-30T00:00:00Z') })).summary.asOf).toBe('2026-10');
  });

  it('as_of in the config wins over the default, and an option (the --as-of flag) over the config', async () => {
    const dir = folder({ ...CURRENT, 'nrr.config.yaml': "policies:\n  as_of: '2026-08'\n" });
    expect((await open(dir)).summary.asOf).toBe('2026-08');
    expect((await open(dir, { policies: { as_of: '2026-09' } })).summary.asOf).toBe('2026-09');
  });

  it('a day (--as-of YYYY-MM-DD) reports the months over by its end', () => {
    expect(monthEndedBy('2024-06-30')).toBe(monthIndex('2024-06'));
    expect(monthEndedBy('2024-06-29')).toBe(monthIndex('2024-05'));
    expect(monthEndedBy('2024-02-29')).toBe(monthIndex('2024-02'));
    expect(monthEndedBy('2024-12-31')).toBe(monthIndex('2024-12'));
  });
});

describe('live views count days from today', () => {
  it('renewals are "in N days" from today, not from the end of the reporting month', async () => {
    const ws = await open(folder(CURRENT), { signals: true });
    expect(ws.dates.liveDate).toBe('2026-11-12');
    const a1 = (await scoreAccounts(ws, { accountId: 'A1' }))[0]!;
    expect(a1.record.snapshot_date).toBe('2026-11-12');
    expect(a1.record.days_to_renewal).toBe(33); // 2026-11-12 → 2026-12-15
    expect((await dryRun(ws)).date).toBe('2026-11-12');
  });

  it('a pinned day is that day; a pinned as_of month is its last day', async () => {
    const dir = folder(CURRENT);
    const day = await open(dir, { signals: true, day: '2026-10-01', policies: { as_of: '2026-09' } });
    expect((await scoreAccounts(day, { accountId: 'A1' }))[0]!.record.days_to_renewal).toBe(75); // Oct 1 → Dec 15
    const month = await open(dir, { signals: true, policies: { as_of: '2026-08' } });
    expect(month.dates.liveDate).toBe('2026-08-31');
    expect((await scoreAccounts(month, { accountId: 'A1' }))[0]!.record.days_to_renewal).toBe(106); // Aug 31 → Dec 15
  });
});

describe('a partial month', () => {
  it('is refused, naming --allow-partial, when it comes from as_of', async () => {
    const dir = folder(CURRENT);
    await expect(open(dir, { policies: { as_of: '2026-11' } })).rejects.toThrow(NrrError);
    await expect(open(dir, { policies: { as_of: '2026-11' } })).rejects.toThrow(/2026-11 is not over yet \(today is 2026-11-12.*--allow-partial/);
    expect(() => checkFullMonth(monthIndex('2026-11'), '2026-11-12', false, '--month')).toThrow(/--month 2026-11 is not over yet/);
    expect(() => checkFullMonth(monthIndex('2027-01'), '2026-11-12', false, '--month')).toThrow(/--month 2027-01 has not begun .*--allow-partial/);
    expect(() => checkFullMonth(monthIndex('2026-10'), '2026-11-12', false, '--month')).not.toThrow();
    expect(() => checkFullMonth(monthIndex('2026-11'), '2026-11-12', true, '--month')).not.toThrow();
  });

  it('with allowPartial is reported and marked partial in the report', async () => {
    const ws = await open(folder(CURRENT), { policies: { as_of: '2026-11' }, allowPartial: true });
    expect(ws.summary.partial).toBe(true);
    expect(ws.dates.liveDate).toBe('2026-11-12'); // the month's end is still to come: live views look from today
    const report = await buildReport(ws);
    expect(report.partial).toBe(true);
    expect(report.date_notes[0]).toContain('2026-11 is a partial month');
    const md = renderMarkdown(report);
    expect(md.split('\n')[0]).toBe('# Net revenue retention — as of 2026-11 (partial month, to 2026-11-12)');
  });
});

describe('a stale export', () => {
  const subs = (start: string): string => csv('account_id,start_date,end_date,amount', `A1,${start},,100`);

  it('is named when the latest dated row is more than 45 days before the end of the reporting month', async () => {
    // Reporting month 2026-10 ends 2026-10-31: 45 days before is 2026-09-16.
    const fresh = await open(folder({ 'subscriptions.csv': subs('2026-09-16') }));
    expect(fresh.summary.latestDate).toBe('2026-09-16');
    expect(fresh.summary.stale).toBeNull();
    const stale = await open(folder({ 'subscriptions.csv': subs('2026-09-15') }));
    expect(stale.summary.stale).toEqual({
      latest_date: '2026-09-15',
      reference_date: '2026-10-31',
      days: 46,
      message: expect.stringContaining('the data looks like an export from 2026-09-15') as string,
    });
    expect(stale.summary.stale!.message).toContain('--as-of 2026-08');
    expect(stale.summary.stale!.message).toContain('--as-of 2026-09-15');
    const report = await buildReport(stale);
    expect(renderMarkdown(report)).toContain('the data looks like an export from 2026-09-15');
  });

  it('dates a line by its start, a usage month by its last day, a signal row by what was observed', async () => {
    // A line's end is known in advance: lines still running do not make an old export current.
    const current = await open(folder(CURRENT));
    expect(current.summary.latestDate).toBe('2026-06-01');
    expect(current.summary.stale?.days).toBe(152); // 2026-06-01 → 2026-10-31
    const usage = await open(folder({ 'subscriptions.csv': subs('2026-09-15'), 'usage.csv': csv('account_id,month,amount', 'A1,2026-09,5') }));
    expect(usage.summary.latestDate).toBe('2026-09-30');
    expect(usage.summary.stale).toBeNull();
    const withTickets = {
      'subscriptions.csv': subs('2026-09-15'),
      'tickets.csv': csv('ticket_id,account_id,opened_date,closed_date,priority,escalated', 'T1,A1,2026-08-01,2026-10-20,low,false'),
      // A meeting still to come was known at the export: its date is not the export's.
      'meetings.csv': csv('meeting_id,account_id,type,scheduled_date,status', 'M1,A1,qbr,2026-12-01,scheduled'),
    };
    const signals = await open(folder(withTickets), { signals: true });
    expect(signals.summary.latestDate).toBe('2026-10-20');
    expect(signals.summary.stale).toBeNull();
    // Revenue-only runs do not read the signal files.
    expect((await open(folder(withTickets))).summary.stale?.latest_date).toBe('2026-09-15');
  });

  it('of a partial month is measured to today', () => {
    expect(staleness('2026-10-01', monthIndex('2026-11'), '2026-11-12')).toBeNull(); // 42 days before today
    expect(staleness('2026-09-01', monthIndex('2026-11'), '2026-11-12')?.days).toBe(72);
    expect(staleness(null, monthIndex('2026-11'), '2026-11-12')).toBeNull();
  });
});

describe('the CLI', () => {
  // The CLI as a user runs it, with today pinned by NRR_TODAY.
  const BIN = join(process.cwd(), 'dist/cli/nrr.js');
  const nrr = (today: string, ...args: string[]): { stdout: string; stderr: string; status: number } => {
    const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true', NRR_TODAY: today } });
    return { stdout: r.stdout, stderr: r.stderr, status: r.status ?? -1 };
  };

  it('metrics reports the last full month before today without --as-of or --month', () => {
    const dir = folder(CURRENT);
    const r = nrr('2026-11-12', 'metrics', '--data', dir, '--window', '3', '-q', '--format', 'json');
    expect(r.status).toBe(0);
    const m = JSON.parse(r.stdout) as { month: string; churn: number; ending_mrr: number; partial: boolean };
    expect([m.month, m.churn, m.ending_mrr, m.partial]).toEqual(['2026-10', 300, 1500, false]);
  });

  it('metrics --month after the last full month exits non-zero naming --allow-partial; with it, the result is marked', () => {
    const dir = folder(CURRENT);
    const refused = nrr('2026-11-12', 'metrics', '--data', dir, '--month', '2026-11');
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain('--allow-partial');
    expect(refused.stdout).toBe('');
    const future = nrr('2026-11-12', 'metrics', '--data', dir, '--month', '2027-03');
    expect(future.status).not.toBe(0);
    expect(future.stderr).toContain('--allow-partial');
    const allowed = nrr('2026-11-12', 'metrics', '--data', dir, '--month', '2026-11', '--window', '1', '--allow-partial', '-q', '--format', 'json');
    expect(allowed.status).toBe(0);
    expect((JSON.parse(allowed.stdout) as { partial: boolean }).partial).toBe(true);
    expect(allowed.stderr).toContain('2026-11 is a partial month');
    const table = nrr('2026-11-12', 'metrics', '--data', dir, '--month', '2026-11', '--window', '1', '--allow-partial', '-q', '--format', 'csv');
    expect(table.stdout.split('\n')[0]).toMatch(/,partial$/);
    expect(table.stdout.split('\n')[1]).toMatch(/,true$/);
  });

  it('report --as-of a month not over is refused, and with --allow-partial its heading says partial', () => {
    const dir = folder(CURRENT);
    const refused = nrr('2026-11-12', 'report', '--data', dir, '--as-of', '2026-11');
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('--allow-partial');
    const md = nrr('2026-11-12', 'report', '--data', dir, '--as-of', '2026-11', '--allow-partial', '-q');
    expect(md.status).toBe(0);
    expect(md.stdout).toContain('# Net revenue retention — as of 2026-11 (partial month, to 2026-11-12)');
    const json = JSON.parse(nrr('2026-11-12', 'report', '--data', dir, '--as-of', '2026-11', '--allow-partial', '-q', '--format', 'json').stdout) as { partial: boolean };
    expect(json.partial).toBe(true);
  });

  it('says on stderr, even with --quiet, that stale data looks like an old export', () => {
    const dir = folder({ 'subscriptions.csv': csv('account_id,start_date,end_date,amount', 'A1,2024-01-01,,100', 'A2,2024-06-30,2025-06-30,100') });
    const r = nrr('2026-11-12', 'mrr', '--data', dir, '-q');
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('warning: the latest dated row in the files is 2024-06-30');
    expect(r.stderr).toContain('--as-of 2024-06 ');
  });

  it('accounts counts days to renewal from today, or from the day given to --as-of', () => {
    const dir = folder(CURRENT);
    const days = (out: string): string => {
      const [head, ...rows] = out.trim().split('\n');
      const col = head!.split(',').indexOf('days_to_renewal');
      return rows.find((l) => l.startsWith('A1,'))!.split(',')[col]!;
    };
    expect(days(nrr('2026-11-12', 'accounts', '--data', dir, '--format', 'csv', '-q').stdout)).toBe('33');
    expect(days(nrr('2026-11-12', 'accounts', '--data', dir, '--format', 'csv', '-q', '--as-of', '2026-10-01').stdout)).toBe('75');
  });

  it('refuses an NRR_TODAY that is not a date', () => {
    const r = nrr('yesterday', 'metrics', '--data', folder(CURRENT));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("NRR_TODAY: not a date: 'yesterday'");
  });

  it('refuses an NRR_TODAY that is not in the calendar instead of reading it as the next month', () => {
    const r = nrr('2024-02-30', 'metrics', '--data', folder(CURRENT));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("NRR_TODAY: not a date: '2024-02-30'");
  });
});

