import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { csv, fixtureDir, removeDir } from './helpers/fixture-dir.js';

// The built CLI as a user runs it, with the day pinned.
const BIN = join(process.cwd(), 'dist/cli/nrr.js');
function nrrOn(today: string, ...args: string[]): { stdout: string; stderr: string; status: number } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true', NRR_TODAY: today } });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status ?? -1 };
}
const nrr = (...args: string[]) => nrrOn('2024-07-15', ...args);
const rows = (text: string): Record<string, string>[] => parse(text, { columns: true }) as Record<string, string>[];

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));
const folder = (files: Record<string, string>): string => {
  const d = fixtureDir(files);
  dirs.push(d);
  return d;
};

/**
 * Four accounts on 2024-06-30: BIG pays 320,632.79 a year (MRR 26,719.399166…; ARR must come back
 * as 320,632.79, not 320,632.789999999992); SMALL and QUOTE monthly; GONE churned in March.
 */
const ACCOUNTS = {
  'subscriptions.csv': csv(
    'account_id,start_date,end_date,amount,interval',
    'BIG,2024-01-01,2025-01-01,320632.79,year',
    'SMALL,2024-01-01,,100,month',
    'QUOTE,2024-02-01,,250.50,month',
    'GONE,2023-06-01,2024-03-01,40,month',
  ),
  'accounts.csv': csv(
    'account_id,name,segment,region,csm_owner,am_owner',
    'BIG,Big Co,enterprise,EMEA,Cara Diaz,Abe Ito',
    'SMALL,Small Co,smb,NA,Dev Rao,Abe Ito',
    `QUOTE,"O'Brien ""Quoted"", Ltd",smb,EMEA,Cara Diaz,Eve Lund`,
    'GONE,Gone Co,smb,NA,Cara Diaz,Eve Lund',
  ),
};

describe('nrr accounts: the lists people use', () => {
  const dir = folder(ACCOUNTS);
  const list = (...args: string[]) => nrr('accounts', '--data', dir, '--as-of', '2024-06-30', '-q', ...args);

  it('--owner NAME --format csv lists only that owner\'s accounts, with csm_owner, mrr and exact arr, and no blank line at the end', () => {
    const r = list('--owner', 'Cara Diaz', '--format', 'csv');
    expect(r.status).toBe(0);
    expect(r.stdout.endsWith('\n') && !r.stdout.endsWith('\n\n')).toBe(true);
    const got = rows(r.stdout);
    // GONE is Cara's too but churned: the default status is active.
    expect(got.map((x) => x['account_id']).sort()).toEqual(['BIG', 'QUOTE']);
    expect(Object.keys(got[0]!)).toEqual(expect.arrayContaining(['account_id', 'csm_owner', 'am_owner', 'mrr', 'arr', 'term', 'renewal_date']));
    const big = got.find((x) => x['account_id'] === 'BIG')!;
    expect(big).toMatchObject({ csm_owner: 'Cara Diaz', mrr: '26719.399166666666', arr: '320632.79', term: 'contract', renewal_date: '2025-01-01' });
    // One column per meaning: a monthly account has its term, and no word in the date column.
    expect(got.find((x) => x['account_id'] === 'QUOTE')).toMatchObject({ arr: '3006', term: 'monthly', renewal_date: '' });
  });

  it('matches an owner in any owner column, case-insensitive; --segment and repeatable --where; text with quotes is matched as text', () => {
    expect(rows(list('--owner', 'abe ito', '--format', 'csv').stdout).map((x) => x['account_id']).sort()).toEqual(['BIG', 'SMALL']);
    expect(rows(list('--segment', 'SMB', '--format', 'csv').stdout).map((x) => x['account_id']).sort()).toEqual(['QUOTE', 'SMALL']);
    expect(rows(list('--where', 'region=EMEA', '--where', 'segment=smb', '--format', 'csv').stdout).map((x) => x['account_id'])).toEqual(['QUOTE']);
    expect(rows(list('--where', `name=O'Brien "Quoted", Ltd`, '--format', 'csv').stdout).map((x) => x['account_id'])).toEqual(['QUOTE']);
  });

  it('--status churned|active|all', () => {
    expect(rows(list('--status', 'churned', '--format', 'csv').stdout).map((x) => [x['account_id'], x['status'], x['arr']])).toEqual([['GONE', 'churned', '0']]);
    expect(rows(list('--status', 'all', '--format', 'csv').stdout)).toHaveLength(4);
  });

  it('refuses an attribute that does not exist, naming the ones that do', () => {
    const r = list('--where', 'colour=red');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("error: --where: no account attribute 'colour' (attributes: name, segment, region, csm_owner, am_owner)");
    expect(list('--where', 'segment').stderr).toContain("--where: expected ATTRIBUTE=VALUE such as segment=smb, got 'segment'");
  });

  it('a --where that keeps no account says so, naming the values there are, instead of a silent company of zeros', () => {
    const m = (...where: string[]) => nrr('metrics', '--data', dir, '--month', '2024-06', '--window', '3', '-q', '--format', 'csv', ...where);
    const typo = m('--where', 'segment=enterprize');
    expect(typo.status).toBe(0);
    expect(typo.stderr).toContain('warning: no account matches segment=enterprize: every figure is of no accounts (segment has smb, enterprise)');
    expect(rows(typo.stdout)[0]).toMatchObject({ starting_mrr: '0', starting_accounts: '0', nrr: '' });
    const together = m('--where', 'segment=enterprise', '--where', 'region=NA');
    expect(together.stderr).toContain('no account matches segment=enterprise and region=NA together (each matches some accounts alone)');
    // A filter that keeps accounts gives no such warning.
    const kept = m('--where', 'segment=smb');
    expect(kept.stderr).not.toContain('no account matches');
    expect(rows(kept.stdout)[0]!['starting_accounts']).toBe('2');
  });

  it('a table shows money to the cent', () => {
    const r = list('--owner', 'Cara Diaz');
    expect(r.stdout).toContain('320,632.79');
    expect(r.stdout).not.toMatch(/320632\.7899/);
    expect(r.stdout.endsWith('\n\n')).toBe(false);
  });
});

describe('nrr account: no data is not "none"', () => {
  it('says there is no contacts file instead of "executive sponsor none"', () => {
    const dir = folder(ACCOUNTS);
    const r = nrr('account', 'BIG', '--data', dir, '--as-of', '2024-06-30', '-q');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/executive sponsor\s+no data \(no contacts file\)/);
    expect(r.stdout).not.toMatch(/executive sponsor\s+none/);
    expect(r.stdout).toMatch(/renewal 2025-01-01 \(in 185 days\)/);
  });
});

describe('nrr tasks -q', () => {
  it('is accepted; before the first run the list is empty, not an error', () => {
    const dir = folder(ACCOUNTS);
    const before = nrr('tasks', '--data', dir, '-q', '--format', 'json');
    expect([before.status, before.stdout, before.stderr]).toEqual([0, '[]\n', '']);
    expect(nrr('playbooks', 'run', '--data', dir, '-q', '--no-deliver').status).toBe(0);
    const r = nrr('tasks', '--data', dir, '-q');
    expect(r.stderr).not.toContain('unknown option');
    expect(r.status).toBe(0);
  });
});

/** Three accounts whose seats are full on 2024-06-30, with one CSM and a daily budget of 1. */
const PLAYS = {
  'subscriptions.csv': csv('account_id,start_date,end_date,amount,interval', 'A,2024-01-01,2025-01-01,12000,year', 'B,2024-01-01,2025-01-01,24000,year', 'C,2024-01-01,2025-01-01,36000,year'),
  'accounts.csv': csv('account_id,name,csm_owner', 'A,A Co,Cara', 'B,B Co,Cara', 'C,C Co,Dev'),
  'seats.csv': csv('account_id,month,seats_purchased,seats_active', 'A,2024-06,10,9', 'B,2024-06,10,10', 'C,2024-06,10,9'),
  'nrr.config.yaml': `version: 1
playbook_settings:
  daily_budget_per_owner: 1
  destinations:
    crm: { type: outbox, file: outbox/tasks.jsonl }
playbooks:
  - name: full-seats
    when: seat_utilisation > 0.8
    task: { type: expansion, priority: high, due_days: 14, owner: csm }
    notify: [crm]
`,
};

describe('nrr playbooks run says what it did; dry-run says what run would do', () => {
  it('dry-run before and after a run: enter = what run opens; then already_open and held_by_budget, no enter', () => {
    const dir = folder(PLAYS);
    const dry = (): { playbook: string; account_id: string; action: string }[] =>
      JSON.parse(nrr('playbooks', 'dry-run', '--data', dir, '--as-of', '2024-06-30', '-q', '--format', 'json').stdout) as never;
    const before = dry();
    // Cara's budget is 1: B (larger ARR) enters, A waits; Dev's C enters.
    expect(before.map((r) => `${r.account_id} ${r.action}`).sort()).toEqual(['A held_by_budget', 'B enter', 'C enter']);
    const run = nrr('playbooks', 'run', '--data', dir, '--as-of', '2024-06-30');
    expect(run.status).toBe(0);
    const opened = [...run.stderr.matchAll(/^opened task (\d+): full-seats, (\w+), for (\w+)$/gm)].map((m) => m[2]).sort();
    expect(opened).toEqual(before.filter((r) => r.action === 'enter').map((r) => r.account_id).sort());
    // One line per outbox written, naming the file; the file holds those lines.
    const outbox = join(dir, 'outbox/tasks.jsonl');
    expect(run.stderr).toContain(`wrote 2 lines to outbox ${outbox} (crm)`);
    expect(readFileSync(outbox, 'utf8').trim().split('\n')).toHaveLength(2);
    const after = dry();
    expect(after.filter((r) => r.action === 'enter')).toEqual([]);
    expect(after.map((r) => `${r.account_id} ${r.action}`).sort()).toEqual(['A held_by_budget', 'B already_open', 'C already_open']);
  });

  it('the next day the held account enters; with -q the effects are one line of totals', () => {
    const dir = folder(PLAYS);
    nrr('playbooks', 'run', '--data', dir, '--as-of', '2024-06-30', '-q');
    const dry = JSON.parse(nrr('playbooks', 'dry-run', '--data', dir, '--as-of', '2024-07-01', '-q', '--format', 'json').stdout) as { account_id: string; action: string }[];
    expect(dry.filter((r) => r.action === 'enter').map((r) => r.account_id)).toEqual(['A']);
    const r = nrr('playbooks', 'run', '--data', dir, '--as-of', '2024-07-01', '-q');
    expect(r.stderr).toContain('playbooks 2024-07-01: opened 1 task, closed 0 tasks, wrote 1 line to outbox');
    expect(r.stderr).not.toContain('opened task');
  });

  it('a member whose trigger stops holding is an exit in the dry run, and run closes its task and says so', () => {
    const dir = folder(PLAYS);
    nrr('playbooks', 'run', '--data', dir, '--as-of', '2024-06-30', '-q');
    // In July C's seats fall to half: it leaves the play.
    appendFileSync(join(dir, 'seats.csv'), 'C,2024-07,10,5\n');
    const dry = JSON.parse(nrrOn('2024-08-15', 'playbooks', 'dry-run', '--data', dir, '--as-of', '2024-07-31', '-q', '--format', 'json').stdout) as { account_id: string; action: string; task_id: number | null }[];
    expect(dry.find((r) => r.account_id === 'C')).toMatchObject({ action: 'exit' });
    const r = nrrOn('2024-08-15', 'playbooks', 'run', '--data', dir, '--as-of', '2024-07-31', '--no-deliver');
    expect(r.stderr).toMatch(/^closed task \d+: full-seats, C, exited the play$/m);
  });
});

describe('empty and edge states', () => {
  it('an empty workspace after `nrr init` says there are no contract lines yet and what to do next', () => {
    const parent = folder({});
    const dir = join(parent, 'my-data');
    expect(nrr('init', dir).status).toBe(0);
    const report = nrr('report', '--data', dir);
    expect(report.status).toBe(1);
    expect(report.stdout).toBe('');
    expect(report.stderr).toContain(`error: no contract lines yet in ${dir}`);
    expect(report.stderr).toContain(`nrr validate --data ${dir}`);
    expect(report.stderr).not.toContain('Nothing to flag');
    const validate = nrr('validate', '--data', dir);
    expect(validate.status).toBe(0);
    expect(validate.stdout).toContain('no contract lines yet');
  });

  it('singular and plural: 1 row, 1 account, 1 line', () => {
    const dir = folder({ 'subscriptions.csv': csv('account_id,start_date,amount,interval', 'X,2024-01-01,100,month') });
    const r = nrr('mrr', '--data', dir, '--as-of', '2024-06');
    expect(r.stderr).toContain('read subscriptions.csv 1 row');
    expect(r.stderr).toContain('1 account, 1 line,');
  });

  it('`nrr serve` on a port in use says so before reading any file', async () => {
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      // The data folder does not exist: had it been read first, the error would be about it.
      const missing = join(folder({}), 'nowhere');
      const r = nrr('serve', '--data', missing, '--port', String(port));
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`error: port ${port} on 127.0.0.1 is already in use`);
      expect(existsSync(missing)).toBe(false);
    } finally {
      server.close();
    }
  });
});

describe('nrr accounts: ARR of weekly prices', () => {
  it('is 52 weekly prices a year, not 12', () => {
    // 12 a week is 52 a month (12 × 13 ÷ 3) and 624 a year; 100 every 2 weeks is 2,600 a year.
    const dir = fixtureDir({
      'subscriptions.csv': csv('account_id,line_id,product,start_date,end_date,amount,interval', 'W1,L1,core,2024-01-01,,12,week', 'W2,L2,core,2024-01-01,,100,2 weeks'),
    });
    try {
      const r = nrr('accounts', '--data', dir, '--as-of', '2024-06-30', '--format', 'csv', '-q');
      expect(r.status, r.stderr).toBe(0);
      const rows = parse(r.stdout, { columns: true }) as Record<string, string>[];
      const arr = Object.fromEntries(rows.map((x) => [x['account_id'], x['arr']]));
      expect(arr['W1']).toBe('624');
      expect(arr['W2']).toBe('2600');
    } finally {
      removeDir(dir);
    }
  });
});
