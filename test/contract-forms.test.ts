import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { accountRecords } from '../src/accounts/account-records.js';
import { parseConfigText } from '../src/config/config-file.js';
import { DuckDbDriver, NrrError, ValidationError, Workspace, mrrLedger, type OpenOptions } from '../src/index.js';
import { csv, fixtureDir, removeDir, type FileContent } from './helpers/fixture-dir.js';

/**
 * The contract forms real exports use (docs/data-contract.md): MRR given as it is, weekly prices,
 * timestamps with a time of day and an offset, and the messages for values that are none of these.
 */

const ACCOUNTS = csv('account_id', 'A1', 'A2', 'A3');

async function open(files: Record<string, FileContent>, options: Partial<OpenOptions> = {}): Promise<{ ws: Workspace; dir: string }> {
  const dir = fixtureDir({ 'accounts.csv': ACCOUNTS, ...files });
  try {
    return { ws: await Workspace.open({ data: dir, policies: { as_of: '2024-06' }, ...options }), dir };
  } catch (e) {
    removeDir(dir);
    throw e;
  }
}

/** The ledger as 'account month mrr' lines, with `options` (policies…) for opening. */
async function ledger(files: Record<string, FileContent>, options: Partial<OpenOptions> = {}): Promise<string[]> {
  const { ws, dir } = await open(files, options);
  try {
    return (await mrrLedger(ws, {})).map((r) => `${r.account_id} ${r.month} ${r.mrr.value}`);
  } finally {
    ws.close();
    removeDir(dir);
  }
}

/** What opening throws. */
async function failure(files: Record<string, FileContent>, options: Partial<OpenOptions> = {}): Promise<unknown> {
  return open(files, options).then(
    ({ ws, dir }) => {
      ws.close();
      removeDir(dir);
      return undefined;
    },
    (e: unknown) => e,
  );
}

describe('subscriptions with mrr instead of amount + interval', () => {
  it('takes mrr as the monthly value, with a discount deducted as monthly', async () => {
    const rows = await ledger({
      'subscriptions.csv': csv(
        'account_id,line_id,product,start_date,end_date,mrr,currency',
        'A1,L1,core,2024-01-01,2024-03-01,1234.56,',
        'A2,L2,core,2024-02-01,,99.99,USD',
      ),
    });
    expect(rows).toContain('A1 2024-01 1234.56');
    expect(rows).toContain('A1 2024-02 1234.56');
    expect(rows.filter((r) => r.startsWith('A1'))).toHaveLength(2); // ends 1 March, exclusive
    expect(rows).toContain('A2 2024-02 99.99');
    const discounted = await ledger({
      'subscriptions.csv': csv('account_id,start_date,mrr,discount', 'A1,2024-01-01,100,12.50'),
    });
    expect(discounted).toContain('A1 2024-01 87.5');
  });

  it('refuses a file with both forms, naming the columns', async () => {
    const e = await failure({
      'subscriptions.csv': csv('account_id,start_date,amount,interval,mrr', 'A1,2024-01-01,1200,year,100'),
    });
    expect(e).toBeInstanceOf(NrrError);
    expect((e as Error).message).toContain("subscriptions.csv: columns 'amount', 'interval', 'mrr' give the same value in two forms");
    const intervalOnly = await failure({ 'subscriptions.csv': csv('account_id,start_date,interval,mrr', 'A1,2024-01-01,year,100') });
    expect((intervalOnly as Error).message).toContain("columns 'interval', 'mrr' give the same value in two forms");
  });

  it('refuses a file with neither form', async () => {
    const e = await failure({ 'subscriptions.csv': csv('account_id,start_date,price', 'A1,2024-01-01,100') });
    expect(e).toBeInstanceOf(NrrError);
    expect((e as Error).message).toContain("subscriptions.csv: missing required column 'amount' or 'mrr'");
  });

  it('checks mrr as it checks amount', async () => {
    const e = await failure({ 'subscriptions.csv': csv('account_id,start_date,mrr,discount', 'A1,2024-01-01,,', 'A2,2024-01-01,$5,', 'A3,2024-01-01,10,20') });
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).issues.map((i) => [i.row, i.column, i.expected])).toEqual([
      [1, 'mrr', 'a value (required)'],
      [2, 'mrr', 'a plain number such as 1200.50 (no currency symbols or thousands separators)'],
      [3, 'discount', 'no more than mrr (with mrr, discount is monthly)'],
    ]);
  });
});

describe('weekly intervals', () => {
  it('are × 52 ÷ 12 a month, exact to 12 decimal places', async () => {
    const rows = await ledger({
      'subscriptions.csv': csv(
        'account_id,line_id,start_date,amount,interval,discount',
        'A1,W1,2024-01-01,12,week,', // 12 × 52 ÷ 12 = 52
        'A2,W2,2024-01-01,100,2 weeks,', // 100 × 52 ÷ 24 = 216.666…, truncated at the 12th place
        'A3,W3,2024-01-01,1000000.01,weekly,3', // beyond the 64-bit lane: (1000000.01 − 3) × 13 ÷ 3
      ),
    });
    expect(rows).toContain('A1 2024-01 52');
    expect(rows).toContain('A2 2024-01 216.666666666666');
    expect(rows).toContain('A3 2024-01 4333320.376666666666');
  });

  it('refuses 0 weeks and words it does not know', async () => {
    const e = await failure({ 'subscriptions.csv': csv('account_id,start_date,amount,interval', 'A1,2024-01-01,10,0 weeks', 'A2,2024-01-01,10,fortnight') });
    expect((e as ValidationError).issues.map((i) => [i.row, i.column, i.expected])).toEqual([
      [1, 'interval', "month, quarter, year, week, 'N months' or 'N weeks'"],
      [2, 'interval', "month, quarter, year, week, 'N months' or 'N weeks'"],
    ]);
  });
});

describe('timestamps', () => {
  const subs = (...dates: string[]): Record<string, string> => ({
    'subscriptions.csv': csv('account_id,line_id,start_date,mrr', ...dates.map((d, i) => `A1,L${i},${d},10`)),
  });

  it('with a time of day and no offset are that day', async () => {
    expect(await ledger(subs('2024-03-05 14:30:00', '2024-03-31T23:59', '2024-03-05 14:30:00.123456'))).toEqual(['A1 2024-03 30', 'A1 2024-04 30', 'A1 2024-05 30', 'A1 2024-06 30']);
  });

  it('with an offset become a date in the timezone policy, across midnight', async () => {
    // 23:30 at −02:00 on 31 January is 01:30 UTC on 1 February; in São Paulo (UTC−3) it is 22:30 on 31 January.
    const late = subs('2024-01-31T23:30:00-02:00');
    expect((await ledger(late))[0]).toBe('A1 2024-02 10');
    expect((await ledger(late, { policies: { as_of: '2024-06', timezone: 'America/Sao_Paulo' } }))[0]).toBe('A1 2024-01 10');
    // 16:00 UTC on 31 January is 01:00 on 1 February in Tokyo (UTC+9).
    const utc = subs('2024-01-31T16:00:00Z', '2024-01-31 16:00:00 UTC', '2024-01-31T17:00+0100', '2024-01-31T16:00:00.5z');
    expect((await ledger(utc))[0]).toBe('A1 2024-01 40');
    expect((await ledger(utc, { policies: { as_of: '2024-06', timezone: 'Asia/Tokyo' } }))[0]).toBe('A1 2024-02 40');
  });

  it('in Parquet TIMESTAMPTZ columns are read the same way', async () => {
    const dir = fixtureDir({ 'accounts.csv': ACCOUNTS });
    const driver = await DuckDbDriver.open();
    try {
      await driver.exec(`COPY (SELECT 'A1' AS account_id, TIMESTAMPTZ '2024-01-31 16:00:00+00' AS start_date, 10 AS mrr)
        TO ${driver.dialect.quoteString(join(dir, 'subscriptions.parquet'))} (FORMAT parquet)`);
      const at = async (timezone: string): Promise<string | undefined> => {
        const ws = await Workspace.open({ data: dir, policies: { as_of: '2024-06', timezone } });
        try {
          return (await mrrLedger(ws, {}))[0]?.month;
        } finally {
          ws.close();
        }
      };
      expect(await at('UTC')).toBe('2024-01');
      expect(await at('Asia/Tokyo')).toBe('2024-02');
    } finally {
      driver.close();
      removeDir(dir);
    }
  });

  it('that cannot be read say which part is wrong', async () => {
    const e = await failure(
      subs('2024-13-05', '2024-02-30 10:00', '2024-03-05T25:00:00Z', '2024-03-05 14:30:00 EST', '2024-03-05T14:30:00+25:00', '05/03/2024', '2024-03-05 2pm'),
    );
    expect(e).toBeInstanceOf(ValidationError);
    const detail = (e as ValidationError).issues.map((i) => `${i.row} ${i.value}: ${i.expected.split('; ')[1] ?? ''}`);
    expect(detail).toEqual([
      '1 2024-13-05: month 13 out of range',
      '2 2024-02-30 10:00: day 30 out of range for 2024-02',
      '3 2024-03-05T25:00:00Z: time of day 25:00:00 invalid',
      "4 2024-03-05 14:30:00 EST: unknown offset 'EST' (expected Z, UTC or ±HH:MM)",
      "5 2024-03-05T14:30:00+25:00: unknown offset '+25:00' (expected Z, UTC or ±HH:MM)",
      '6 05/03/2024: not in the form YYYY-MM-DD',
      "7 2024-03-05 2pm: time of day ' 2pm' not as HH:MM or HH:MM:SS",
    ]);
    expect((e as ValidationError).issues[0]!.expected).toMatch(/^a date as YYYY-MM-DD/);
  });

  it('the timezone policy must be an IANA time zone', async () => {
    expect(() => parseConfigText('version: 1\npolicies:\n  timezone: Mars/Olympus\n', 'nrr.config.yaml')).toThrow(
      'nrr.config.yaml:3: policies.timezone: an IANA time zone name such as UTC or Europe/Paris',
    );
    expect(parseConfigText('version: 1\npolicies:\n  timezone: Europe/Paris\n', 'nrr.config.yaml').policies.timezone).toBe('Europe/Paris');
    const e = await failure(subs('2024-01-01'), { policies: { timezone: "UTC'; DROP TABLE lines; --" } });
    expect(e).toBeInstanceOf(NrrError);
    expect((e as Error).message).toContain('timezone: an IANA time zone name');
  });
});

describe('how a file is delimited and what is said when it does not parse', () => {
  it('reads a semicolon- or tab-delimited file as the comma-delimited one', async () => {
    const rows = ['account_id;line_id;start_date;amount;interval', 'A1;L1;2024-01-01;1200;year', 'A2;L2;2024-02-01;"50;5";month'];
    const semicolon = await failure({ 'subscriptions.csv': csv(...rows) });
    // The quoted '50;5' is one value, read as such (and refused as a number): the file was split on ';'.
    expect((semicolon as ValidationError).issues.map((i) => [i.row, i.column, i.value])).toEqual([[2, 'amount', '50;5']]);
    expect(await ledger({ 'subscriptions.csv': csv(...rows.slice(0, 2)) })).toContain('A1 2024-01 100');
    const tab = csv('account_id\tstart_date\tmrr', 'A1\t2024-01-01\t99.5');
    expect(await ledger({ 'subscriptions.csv': tab })).toContain('A1 2024-01 99.5');
  });

  it('names a decimal comma, as semicolon-separated exports write it', async () => {
    const e = await failure({ 'subscriptions.csv': csv('account_id;start_date;mrr', 'A1;2024-01-01;1234,56', 'A2;2024-01-01;1,200') });
    expect((e as ValidationError).issues.map((i) => i.expected)).toEqual([
      'a plain number such as 1200.50 (no currency symbols or thousands separators); a decimal comma: write 1234.56',
      'a plain number such as 1200.50 (no currency symbols or thousands separators)', // a thousands separator, perhaps
    ]);
  });

  it('says which data row breaks the separator of the header', async () => {
    const e = await failure({ 'subscriptions.csv': csv('account_id;start_date;mrr', 'A1;2024-01-01;10', 'A2,2024-01-01,10') });
    expect(e).toBeInstanceOf(NrrError);
    expect((e as Error).message).toBe(
      "subscriptions.csv: cannot be read as CSV: data row 2 has 1 field where the header has 3: expected one value per column, separated by ';' as in the header",
    );
  });

  const engineText = /CSV Error|Line:|Possible|Invalid Input|Conversion Error|strict_mode|read_csv|read_json|read_parquet/;
  it.each([
    ['an extra field', 'subscriptions.csv', csv('account_id,start_date,mrr', 'A1,2024-01-01,10', 'A2,2024-01-01,10,x'), 'cannot be read as CSV: data row 2 has 4 fields where the header has 3: expected one value per column, separated by \',\' as in the header, and a value that holds the separator in double quotes'],
    ['a quoted value spanning lines before the bad row', 'subscriptions.csv', csv('account_id,line_id,start_date,mrr', 'A1,"two', 'lines",2024-01-01,10', 'A2,L2,2024-01-01'), 'data row 2 has 3 fields where the header has 4'],
    ['a blank line before the bad row (not a data row)', 'subscriptions.csv', csv('account_id,start_date,mrr', 'A1,2024-01-01,10', '', 'A2,2024-01-01,10', 'A3,2024-01-01,1,2'), 'data row 3 has 4 fields where the header has 3'],
    ['an unclosed quote', 'subscriptions.csv', csv('account_id,start_date,mrr', 'A1,2024-01-01,10', '"A2,2024-01-01,10'), 'cannot be read as CSV: data row 2 has a quoted value that is not closed'],
    ['a quote inside a value', 'subscriptions.csv', csv('account_id,start_date,mrr', 'A1,"x"y,10'), 'cannot be read as CSV: data row 1 has a quoted value that is not closed'],
    ['broken JSON', 'subscriptions.json', '[{"account_id": "A1", "start_date": "2024-01-01", "mrr": 1}, {"account_id":', 'subscriptions.json: cannot be read as JSON (unexpected end of data): expected an array of objects'],
    ['a file that is not Parquet', 'subscriptions.parquet', 'account_id,start_date,mrr\n', 'subscriptions.parquet: cannot be read as Parquet: the file is not a Parquet file'],
  ])('%s: names the file and the data row, without the engine’s text', async (_, name, content, phrase) => {
    const e = await failure({ [name]: content });
    expect(e).toBeInstanceOf(NrrError);
    expect((e as Error).message).toContain(phrase);
    expect((e as Error).message).not.toMatch(engineText);
  });
});

it('a CSV that is not UTF-8 is refused naming the data row', async () => {
  const dir = fixtureDir({ 'accounts.csv': ACCOUNTS });
  try {
    writeFileSync(join(dir, 'subscriptions.csv'), Buffer.from('account_id,start_date,mrr\nA1,2024-01-01,1\nR\xe9my,2024-01-01,1\n', 'latin1'));
    const e = await Workspace.open({ data: dir }).then(() => undefined, (x: unknown) => x);
    expect((e as Error).message).toBe('subscriptions.csv: cannot be read as CSV: data row 2 is not UTF-8 text: expected the file saved as UTF-8');
  } finally {
    removeDir(dir);
  }
});

describe('signal files as other exports write them', () => {
  const SUBS = csv('account_id,start_date,mrr', 'A1,2024-01-01,100', 'A2,2024-01-01,100');

  async function withSignals<T>(files: Record<string, FileContent>, f: (ws: Workspace) => Promise<T>, timezone = 'UTC'): Promise<T> {
    const { ws, dir } = await open({ 'subscriptions.csv': SUBS, ...files }, { signals: true, policies: { as_of: '2024-06', timezone } });
    try {
      return await f(ws);
    } finally {
      ws.close();
      removeDir(dir);
    }
  }

  it('reads the synonyms of enumerations and booleans as the contract values', async () => {
    const files = {
      'tickets.csv': csv(
        'ticket_id,account_id,opened_date,closed_date,priority,escalated',
        'T1,A1,2024-03-01,,Medium,Yes',
        'T2,A1,2024-03-01,,critical,0',
        'T3,A1,2024-03-01,,LOWEST,n',
      ),
      'meetings.csv': csv('meeting_id,account_id,type,scheduled_date,status', 'M1,A1,Check-in,2024-03-15,Completed', 'M2,A1,QBR,2024-03-16,No Show', 'M3,A1,qbr,2024-03-17,canceled'),
      'opportunities.csv': csv(
        'opportunity_id,account_id,type,sourced_by,amount,currency,stage,created_date,close_date',
        'O1,A1,Upsell,cs,100,,Closed Won,2024-02-01,2024-03-01',
        'O2,A1,New Business,sales,100,,closed_lost,2024-02-01,2024-03-01',
      ),
    };
    await withSignals(files, async (ws) => {
      const rows = async (sql: string): Promise<string> => (await ws.query(sql)).map((r) => Object.values(r).join(' ')).join('; ');
      expect(await rows('SELECT priority, escalated FROM signal_tickets ORDER BY row_no')).toBe('normal true; urgent false; low false');
      expect(await rows('SELECT type, status FROM signal_meetings ORDER BY row_no')).toBe('check_in held; qbr skipped; qbr cancelled');
      expect(await rows('SELECT type, stage FROM signal_opportunities ORDER BY row_no')).toBe('expansion won; new lost');
    });
  });

  it('names the synonyms when a value is none of them', async () => {
    const e = await failure({
      'subscriptions.csv': SUBS,
      'tickets.csv': csv('ticket_id,account_id,opened_date,closed_date,priority,escalated', 'T1,A1,2024-03-01,,p2,true'),
    }, { signals: true });
    expect((e as ValidationError).issues.map((i) => [i.row, i.column, i.value, i.expected])).toEqual([
      [1, 'priority', 'p2', 'one of: low, normal, high, urgent (or medium, lowest, highest, critical)'],
    ]);
  });

  it('reads signal dates with a time and an offset in the timezone policy', async () => {
    // 22:30 at −05:00 on 31 March is 03:30 UTC on 1 April, and 23:30 on 31 March in New York (summer time, −04:00).
    const files = { 'tickets.csv': csv('ticket_id,account_id,opened_date,closed_date,priority,escalated', 'T1,A1,2024-03-31T22:30:00-05:00,,low,false') };
    const opened = (ws: Workspace): Promise<unknown> => ws.query('SELECT CAST(opened_date AS VARCHAR) AS d FROM signal_tickets').then((r) => r[0]!['d']);
    expect(await withSignals(files, opened)).toBe('2024-04-01');
    expect(await withSignals(files, opened, 'America/New_York')).toBe('2024-03-31');
  });

  it('takes product usage without active_users', async () => {
    const files = { 'product_usage.csv': csv('account_id,week,key_events', 'A1,2024-06-03,5', 'A1,2024-06-10,7') };
    const [r] = await withSignals(files, (ws) => accountRecords(ws, ['2024-06-30'], { accountId: 'A1' }));
    expect(r!.users_30d).toBeNull();
    expect(r!.feature_breadth).toBeCloseTo(1 / 3, 12); // key events only
  });

  describe('weeks without a product-usage row', () => {
    const HEADER = 'account_id,week,active_users';
    /** Mondays from 2024-01-01, `n` of them, with users `f(k)`, skipping those that give null. */
    const weeks = (account: string, n: number, f: (k: number) => number | null): string[] =>
      Array.from({ length: n }, (_, k) => [k, f(k)] as const)
        .filter(([, u]) => u !== null)
        .map(([k, u]) => `${account},${new Date(Date.UTC(2024, 0, 1 + 7 * k)).toISOString().slice(0, 10)},${u}`);
    const record = async (rows: string[]) => {
      const [r] = await withSignals({ 'product_usage.csv': csv(HEADER, ...rows) }, (ws) => accountRecords(ws, ['2024-06-30'], { accountId: 'A1' }));
      return r!;
    };

    it('count as weeks of zeros: leaving them out or writing 0 gives the same record', async () => {
      // A1 active every other week (10 users); A2 keeps the file running to 2024-06-24.
      const users = (k: number): number => (k % 2 === 0 ? 10 : 0);
      const written = await record([...weeks('A1', 26, users), ...weeks('A2', 26, () => 1)]);
      const omitted = await record([...weeks('A1', 26, (k) => (users(k) === 0 ? null : 10)), ...weeks('A2', 26, () => 1)]);
      expect(omitted).toEqual(written);
      // The last 30 days (weeks 21 to 25: 27 May … 24 June): 0 + 10 + 0 + 10 + 0 over 5 weeks.
      expect(omitted.users_30d).toBe(4);
    });

    it('show usage that stopped as a drop to zero, not as no data', async () => {
      // A1 has 10 users a week until 2024-03-25, then nothing; A2 keeps the file running.
      const r = await record([...weeks('A1', 13, () => 10), ...weeks('A2', 26, () => 1)]);
      expect(r.users_90d).toBe(0);
      expect(r.usage_trend_90d).toBe(-1);
    });

    it('after the file’s last week are unknown, not zeros', async () => {
      // The file ends 2024-04-01: the weeks after it are not in the export yet.
      const r = await record([...weeks('A1', 14, () => 10), ...weeks('A2', 14, () => 1)]);
      expect(r.users_30d).toBeNull(); // no week of the last 30 days is in the file
      expect(r.users_90d).toBe(10); // only 2024-04-01 of the last 90 days is: 10 users
    });
  });
});

it('numbers data rows past blank lines the same in rule errors as in read errors', async () => {
  const e = await failure({ 'subscriptions.csv': csv('account_id,start_date,mrr', 'A1,2024-01-01,10', '', 'A2,2024-01-01,x') });
  expect((e as ValidationError).issues.map((i) => [i.row, i.value])).toEqual([[2, 'x']]);
});
