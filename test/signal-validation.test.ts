import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DuckDbDriver, NrrError, ValidationError, Workspace } from '../src/index.js';
import { SIGNAL_SOURCES } from '../src/contract/signal-contract.js';
import { csv, fixtureDir, removeDir, type FileContent } from './helpers/fixture-dir.js';

/** One valid row of every signal file, for accounts A1 and A2. */
const GOOD: Record<string, string> = {
  'subscriptions.csv': csv('account_id,start_date,amount', 'A1,2024-01-01,100', 'A2,2024-01-01,200'),
  'accounts.csv': csv('account_id,segment', 'A1,smb', 'A2,smb'),
  'fx_rates.csv': csv('currency,month,rate', 'EUR,2024-02,1.1'),
  'product_usage.csv': csv(
    'account_id,week,active_users,key_events,api_calls,adjacent_feature_users',
    'A1,2024-03-04,10,120,0,2',
    'A1,2024-03-11,12,130,,',
    'A2,2024-03-04,5,40,900,0',
  ),
  'seats.csv': csv('account_id,month,seats_purchased,seats_active', 'A1,2024-03,20,12', 'A2,2024-03,5,5'),
  'onboarding.csv': csv('account_id,milestone,target_date,achieved_date', 'A1,activation,2024-03-31,2024-03-20', 'A2,Activation,2024-03-31,'),
  'meetings.csv': csv('meeting_id,account_id,type,scheduled_date,status', 'M1,A1,QBR,2024-03-15,held', 'M2,A2,qbr,2024-03-16,skipped'),
  'contacts.csv': csv(
    'contact_id,account_id,name,role,start_date,end_date,last_engaged',
    'C1,A1,"O\'Neill, Pat",executive_sponsor,2024-01-01,2024-03-01,2024-02-20',
    'C2,A1,Sam,champion,2024-01-01,,',
  ),
  'tickets.csv': csv('ticket_id,account_id,opened_date,closed_date,priority,escalated', 'T1,A1,2024-03-01,2024-03-03,high,true', 'T2,A2,2024-03-02,,low,FALSE'),
  'enrichment.csv': csv('account_id,date,headcount,funding_round,funding_amount', 'A1,2024-01-01,120,,', 'A1,2024-02-10,125,series_a,12000000'),
  'opportunities.csv': csv(
    'opportunity_id,account_id,type,sourced_by,amount,currency,stage,created_date,close_date',
    'O1,A1,expansion,cs,2400.50,EUR,won,2024-02-01,2024-03-01',
    'O2,A2,renewal,sales,1200,,open,2024-03-01,',
  ),
};

const open = (dir: string, options: { skipInvalid?: boolean; rejectsFile?: string } = {}): Promise<Workspace> =>
  Workspace.open({ data: dir, signals: true, policies: { as_of: '2024-03' }, ...options });

async function withFiles<T>(over: Record<string, FileContent>, f: (dir: string) => Promise<T>): Promise<T> {
  const dir = fixtureDir({ ...GOOD, ...over });
  try {
    return await f(dir);
  } finally {
    removeDir(dir);
  }
}

async function errorsOf(over: Record<string, FileContent>): Promise<ValidationError> {
  return withFiles(over, async (dir) => {
    const e = await open(dir).then(
      (ws) => (ws.close(), undefined),
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(ValidationError);
    return e as ValidationError;
  });
}

/** Replaces the data rows of a good file with these. */
const withRows = (file: string, ...rows: string[]): Record<string, string> => ({
  [file]: csv(GOOD[file]!.split('\n')[0]!, ...rows),
});

describe('signal files: valid input', () => {
  it('reads every signal file into a typed table, trimmed and with enumerations in lower case', async () => {
    await withFiles({}, async (dir) => {
      const ws = await open(dir);
      try {
        expect([...ws.signalSources].sort()).toEqual(Object.keys(SIGNAL_SOURCES).sort());
        expect(ws.summary.warningCount).toBe(0);
        const [r] = await ws.query(`SELECT
          (SELECT sum(active_users) FROM signal_product_usage) AS users,
          (SELECT sum(api_calls) FROM signal_product_usage) AS calls,
          (SELECT count(*) FROM signal_product_usage WHERE key_events IS NULL) AS no_events,
          (SELECT typeof(week) FROM signal_product_usage LIMIT 1) AS week_type,
          (SELECT CAST(min(month) AS VARCHAR) FROM signal_seats) AS first_month,
          (SELECT count(*) FROM signal_tickets WHERE escalated) AS escalated,
          (SELECT count(*) FROM signal_tickets WHERE NOT escalated) AS not_escalated,
          (SELECT list(milestone ORDER BY account_id) FROM signal_onboarding) AS milestones,
          (SELECT list(type ORDER BY meeting_id) FROM signal_meetings) AS types,
          (SELECT name FROM signal_contacts WHERE contact_id = 'C1') AS name,
          (SELECT CAST(sum(amount) AS VARCHAR) FROM signal_opportunities) AS pipeline,
          (SELECT sum(funding_amount) FROM signal_enrichment) AS funding`);
        expect(Number(r!['users'])).toBe(27);
        expect(Number(r!['calls'])).toBe(900);
        expect(Number(r!['no_events'])).toBe(0);
        expect(r!['week_type']).toBe('DATE');
        expect(r!['first_month']).toBe('2024-03-01');
        expect(Number(r!['escalated'])).toBe(1);
        expect(Number(r!['not_escalated'])).toBe(1);
        expect(r!['milestones']).toEqual(['activation', 'activation']);
        expect(r!['types']).toEqual(['qbr', 'qbr']);
        expect(r!['name']).toBe("O'Neill, Pat");
        expect(r!['pipeline']).toMatch(/^3600\.50*$/);
        expect(Number(r!['funding'])).toBe(12_000_000);
        const rows = Object.fromEntries(ws.summary.sources.map((s) => [s.file, s.rows]));
        expect(rows['product_usage.csv']).toBe(3);
        expect(rows['opportunities.csv']).toBe(2);
      } finally {
        ws.close();
      }
    });
  });

  it('leaves signal files alone unless asked, and makes empty typed tables for absent ones', async () => {
    await withFiles({ 'tickets.csv': csv('ticket_id,account_id,opened_date,closed_date,priority,escalated', 'T1,A1,not a date,,high,true') }, async (dir) => {
      const revenueOnly = await Workspace.open({ data: dir, policies: { as_of: '2024-03' } });
      expect(revenueOnly.signalSources).toEqual([]);
      revenueOnly.close();
    });
    const dir = fixtureDir({ 'subscriptions.csv': GOOD['subscriptions.csv']!, 'seats.csv': GOOD['seats.csv']! });
    try {
      const ws = await open(dir);
      expect(ws.signalSources).toEqual(['seats']);
      const [r] = await ws.query('SELECT (SELECT count(*) FROM signal_tickets) AS t, (SELECT count(*) FROM signal_seats) AS s');
      expect(Number(r!['t'])).toBe(0);
      expect(Number(r!['s'])).toBe(2);
      ws.close();
    } finally {
      removeDir(dir);
    }
  });

  it('reads a signal file from Parquet and from JSON lines the same as from CSV', async () => {
    const driver = await DuckDbDriver.open();
    const dir = fixtureDir(GOOD);
    try {
      await driver.exec(`COPY (SELECT * FROM read_csv('${join(dir, 'seats.csv')}', all_varchar = true)) TO '${join(dir, 'seats.parquet')}' (FORMAT parquet)`);
      await driver.exec(`COPY (SELECT * FROM read_csv('${join(dir, 'tickets.csv')}', all_varchar = true)) TO '${join(dir, 'tickets.jsonl')}' (FORMAT json)`);
      removeDir(join(dir, 'seats.csv'));
      removeDir(join(dir, 'tickets.csv'));
      const ws = await open(dir);
      const [r] = await ws.query(`SELECT (SELECT sum(seats_active) FROM signal_seats) AS active, (SELECT count(*) FROM signal_tickets WHERE escalated) AS esc`);
      expect(Number(r!['active'])).toBe(17);
      expect(Number(r!['esc'])).toBe(1);
      expect(ws.summary.sources.map((s) => s.file)).toEqual(expect.arrayContaining(['seats.parquet', 'tickets.jsonl']));
      ws.close();
    } finally {
      driver.close();
      removeDir(dir);
    }
  });
});

describe('signal files: each rule names file, row, column, value and what was expected', () => {
  const cases: [string, Record<string, string>, { file: string; row: number; column: string; value: string | null; phrase: string }][] = [
    ['a required value', withRows('seats.csv', 'A1,2024-03,,3'), { file: 'seats.csv', row: 1, column: 'seats_purchased', value: null, phrase: 'a value (required)' }],
    ['a date', withRows('product_usage.csv', 'A1,04/03/2024,3,,,'), { file: 'product_usage.csv', row: 1, column: 'week', value: '04/03/2024', phrase: 'a date as YYYY-MM-DD' }],
    ['a month', withRows('seats.csv', 'A1,2024-3,3,3'), { file: 'seats.csv', row: 1, column: 'month', value: '2024-3', phrase: 'a month as YYYY-MM' }],
    ['a negative count', withRows('seats.csv', 'A1,2024-03,3,-1'), { file: 'seats.csv', row: 1, column: 'seats_active', value: '-1', phrase: 'a whole number, zero or more' }],
    ['a count with decimals', withRows('product_usage.csv', 'A1,2024-03-04,2.5,,,'), { file: 'product_usage.csv', row: 1, column: 'active_users', value: '2.5', phrase: 'a whole number' }],
    ['an amount with a symbol', withRows('opportunities.csv', 'O1,A1,expansion,cs,$2400,,won,2024-02-01,2024-03-01'), { file: 'opportunities.csv', row: 1, column: 'amount', value: '$2400', phrase: 'a plain number' }],
    ['a boolean', withRows('tickets.csv', 'T1,A1,2024-03-01,,high,maybe'), { file: 'tickets.csv', row: 1, column: 'escalated', value: 'maybe', phrase: 'true or false' }],
    ['an enumeration', withRows('meetings.csv', 'M1,A1,lunch,2024-03-15,held'), { file: 'meetings.csv', row: 1, column: 'type', value: 'lunch', phrase: 'one of: kickoff, qbr, ebr, check_in' }],
    ['a currency', withRows('opportunities.csv', 'O1,A1,expansion,cs,10,euro,won,2024-02-01,2024-03-01'), { file: 'opportunities.csv', row: 1, column: 'currency', value: 'euro', phrase: 'a three-letter ISO currency code' }],
    ['a currency without a rate', withRows('opportunities.csv', 'O1,A1,expansion,cs,10,gbp,won,2024-02-01,2024-03-01'), { file: 'opportunities.csv', row: 1, column: 'currency', value: 'gbp', phrase: 'a rate in fx_rates for this currency in force at created_date (reporting currency USD)' }],
    ['a currency created before its first rate', withRows('opportunities.csv', 'O1,A1,expansion,cs,10,EUR,open,2024-01-31,'), { file: 'opportunities.csv', row: 1, column: 'currency', value: 'EUR', phrase: 'a rate in fx_rates for this currency in force at created_date' }],
    ['dates out of order', withRows('tickets.csv', 'T1,A1,2024-03-05,2024-03-01,high,false'), { file: 'tickets.csv', row: 1, column: 'closed_date', value: '2024-03-01', phrase: 'a date on or after opened_date' }],
  ];
  it.each(cases)('%s', async (_name, over, x) => {
    const err = await errorsOf(over);
    expect(err.errorCount, JSON.stringify(err.issues)).toBe(1);
    expect(err.issues[0]).toMatchObject({ file: x.file, row: x.row, column: x.column, value: x.value, severity: 'error' });
    expect(err.issues[0]!.expected).toContain(x.phrase);
    expect(err.message).toContain(`${x.file} row ${x.row}, column ${x.column}`);
  });

  it('a repeated key names the row that came first', async () => {
    // Keys are compared trimmed and case-sensitively, as account ids are everywhere: 'a1' is another account.
    const err = await errorsOf(withRows('seats.csv', 'A1,2024-03,3,3', 'A2,2024-03,3,3', 'A1 ,2024-03,4,4', 'a1,2024-03,1,1'));
    expect(err.errorCount).toBe(1);
    expect(err.issues[0]).toMatchObject({ file: 'seats.csv', row: 3, column: 'account_id, month', value: 'A1  + 2024-03' });
    expect(err.issues[0]!.expected).toBe('a unique account_id + month (first used on row 1)');
  });

  it('an account missing from accounts is a warning, not an error', async () => {
    await withFiles(withRows('tickets.csv', 'T1,A9,2024-03-01,,high,true'), async (dir) => {
      const ws = await open(dir);
      try {
        expect(ws.summary.warningCount).toBe(1);
        expect(ws.summary.warnings[0]).toMatchObject({ file: 'tickets.csv', row: 1, column: 'account_id', value: 'A9', severity: 'warning' });
        const [r] = await ws.query('SELECT count(*) AS n FROM signal_tickets');
        expect(Number(r!['n'])).toBe(1);
      } finally {
        ws.close();
      }
    });
  });

  it('a missing required column stops with the file and the columns found', async () => {
    const e = await withFiles({ 'meetings.csv': csv('meeting_id,account_id,scheduled_date', 'M1,A1,2024-03-01') }, (dir) =>
      open(dir).then(
        (ws) => (ws.close(), undefined),
        (x: unknown) => x,
      ),
    );
    expect(e).toBeInstanceOf(NrrError);
    expect((e as Error).message).toContain("meetings.csv: missing required columns 'type', 'status' (found: meeting_id, account_id, scheduled_date)");
  });

  it('--skip-invalid keeps the good rows and writes the bad ones, with reasons, to the rejects file', async () => {
    await withFiles(withRows('tickets.csv', 'T1,A1,2024-03-01,,high,true', 'T2,A1,yesterday,,high,false', 'T3,A2,2024-03-02,,urgent,false'), async (dir) => {
      const rejectsFile = join(dir, 'rejects.csv');
      const ws = await open(dir, { skipInvalid: true, rejectsFile });
      try {
        const [r] = await ws.query('SELECT list(ticket_id ORDER BY ticket_id) AS ids FROM signal_tickets');
        expect(r!['ids']).toEqual(['T1', 'T3']);
        const tickets = ws.summary.sources.find((s) => s.file === 'tickets.csv')!;
        expect(tickets).toMatchObject({ rows: 3, rejected: 1 });
        const text = readFileSync(rejectsFile, 'utf8');
        expect(text).toContain(`tickets,tickets.csv,2,"opened_date = 'yesterday': expected a date as YYYY-MM-DD (a time and offset may follow, as in 2024-03-05T14:30:00Z); not in the form YYYY-MM-DD"`);
        expect(text).toContain('T2');
      } finally {
        ws.close();
      }
    });
  });
});

describe('nrr validate', () => {
  // Today pinned just after the fixture's last month (2024-03), so the files are current and nothing is said about staleness.
  const cli = (dir: string): { status: number | null; stdout: string; stderr: string } =>
    spawnSync(process.execPath, ['dist/cli/nrr.js', 'validate', '--data', dir], { encoding: 'utf8', env: { ...process.env, NRR_TODAY: '2024-04-15' } });

  it('passes good files with exit 0 and a table of what it read', async () => {
    await withFiles({}, async (dir) => {
      const r = cli(dir);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/product_usage\.csv\s*│\s*3\s*│\s*0/);
      expect(r.stdout).toContain('all 11 files pass the data contract (8 signal files)');
    });
  });

  it('refuses bad files with exit 2 and the problem', async () => {
    await withFiles(withRows('meetings.csv', 'M1,A1,qbr,2024-03-15,postponed'), async (dir) => {
      const r = cli(dir);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain("meetings.csv row 1, column status: 'postponed': expected one of: scheduled, held, skipped, cancelled");
    });
  });
});

describe('docs/data-contract.md', () => {
  it('documents every signal file and column', () => {
    const doc = readFileSync('docs/data-contract.md', 'utf8');
    for (const s of Object.values(SIGNAL_SOURCES)) {
      const section = doc.slice(doc.indexOf(`### \`${s.name}\``));
      expect(section.length, s.name).toBeLessThan(doc.length);
      for (const c of s.columns) expect(section, `${s.name}.${c.name}`).toContain(`| \`${c.name}\` | ${c.type} |`);
    }
  });
});
