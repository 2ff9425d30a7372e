import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DuckDbDriver, ValidationError, Workspace } from '../src/index.js';
import { csv, fixtureDir, removeDir } from './helpers/fixture-dir.js';

/**
 * Typed columns of a Parquet file are checked as they are (never cast to text and parsed again), and
 * a bad row gives the same messages whether it comes from CSV or from typed Parquet.
 */

const BASE = {
  'subscriptions.csv': csv('account_id,start_date,amount', 'A1,2024-01-01,100', 'A2,2024-01-01,200'),
  'accounts.csv': csv('account_id,segment', 'A1,smb', 'A2,smb'),
};

const open = (dir: string, options: { skipInvalid?: boolean; rejectsFile?: string } = {}): Promise<Workspace> =>
  Workspace.open({ data: dir, signals: true, policies: { as_of: '2024-03' }, ...options });

/** Writes `name`.parquet into `dir` from a query, with the query's own column types. */
async function writeParquet(dir: string, name: string, sql: string): Promise<void> {
  const driver = await DuckDbDriver.open();
  try {
    await driver.exec(`COPY (${sql}) TO '${join(dir, `${name}.parquet`)}' (FORMAT parquet)`);
  } finally {
    driver.close();
  }
}

interface Issue {
  readonly source: string;
  readonly row: number;
  readonly column: string;
  readonly value: string | null;
  readonly expected: string;
  readonly severity: string;
}

/** Every row of validation_issues (errors and warnings), in a stable order, without the file name. */
async function issuesOf(dir: string): Promise<Issue[]> {
  const ws = await open(dir, { skipInvalid: true, rejectsFile: join(dir, 'rejected.csv') });
  try {
    const rows = await ws.query(`SELECT source, row, "column", value, expected, severity FROM validation_issues ORDER BY source, row, "column", expected`);
    return rows.map((r) => ({
      source: String(r['source']),
      row: Number(r['row']),
      column: String(r['column']),
      value: r['value'] === null ? null : String(r['value']),
      expected: String(r['expected']),
      severity: String(r['severity']),
    }));
  } finally {
    ws.close();
  }
}

describe('typed Parquet columns are taken as they are', () => {
  it('a DATE the text form YYYY-MM-DD cannot write is a date in Parquet, and refused as text in CSV', async () => {
    // A date before year 1 has no YYYY-MM-DD text: read through its text it would be refused.
    const dir = fixtureDir(BASE);
    try {
      await writeParquet(
        dir,
        'tickets',
        `SELECT * FROM (VALUES
           ('T1', 'A1', DATE '0044-03-15 (BC)', NULL::DATE, 'high', TRUE),
           ('T2', 'A2', DATE '2024-03-01', DATE '2024-03-02', 'low', FALSE))
         t(ticket_id, account_id, opened_date, closed_date, priority, escalated)`,
      );
      const ws = await open(dir);
      try {
        const rows = await ws.query(`SELECT ticket_id, CAST(opened_date AS VARCHAR) AS opened, escalated FROM signal_tickets ORDER BY ticket_id`);
        expect(rows).toEqual([
          { ticket_id: 'T1', opened: '0044-03-15 (BC)', escalated: true },
          { ticket_id: 'T2', opened: '2024-03-01', escalated: false },
        ]);
        expect(ws.summary.sources.find((s) => s.file === 'tickets.parquet')?.rejected).toBe(0);
      } finally {
        ws.close();
      }
    } finally {
      removeDir(dir);
    }
    const text = fixtureDir({
      ...BASE,
      'tickets.csv': csv('ticket_id,account_id,opened_date,closed_date,priority,escalated', 'T1,A1,0044-03-15 (BC),,high,true'),
    });
    try {
      const e = await open(text).then(
        (ws) => (ws.close(), undefined),
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).issues).toEqual([
        expect.objectContaining({ file: 'tickets.csv', row: 1, column: 'opened_date', value: '0044-03-15 (BC)', expected: expect.stringMatching(/^a date as YYYY-MM-DD/) }),
      ]);
    } finally {
      removeDir(text);
    }
  });

  it('a DECIMAL keeps every digit, and whole-number and boolean columns keep their values', async () => {
    const dir = fixtureDir(BASE);
    try {
      await writeParquet(
        dir,
        'enrichment',
        `SELECT * FROM (VALUES
           ('A1', DATE '2024-01-01', 120::BIGINT, 'series_a', CAST('12345678901234567890123456.123456789012' AS DECIMAL(38,12))),
           ('A2', DATE '2024-01-01', 9007199254740993::BIGINT, NULL, CAST('0.000000000001' AS DECIMAL(38,12))))
         t(account_id, date, headcount, funding_round, funding_amount)`,
      );
      const ws = await open(dir);
      try {
        const rows = await ws.query(
          `SELECT account_id, CAST(funding_amount AS VARCHAR) AS amount, CAST(headcount AS VARCHAR) AS headcount, typeof(headcount) AS t FROM signal_enrichment ORDER BY account_id`,
        );
        expect(rows).toEqual([
          { account_id: 'A1', amount: '12345678901234567890123456.123456789012', headcount: '120', t: 'BIGINT' },
          { account_id: 'A2', amount: '0.000000000001', headcount: '9007199254740993', t: 'BIGINT' },
        ]);
      } finally {
        ws.close();
      }
    } finally {
      removeDir(dir);
    }
  });
});

describe('a bad row gives the same messages from CSV and from typed Parquet', () => {
  // Rows of product_usage and tickets, each breaking rules: the same values written as CSV text and
  // as typed Parquet columns (dates as DATE, counts as BIGINT, booleans as BOOLEAN).
  const usageRows: ReadonlyArray<readonly [string | null, string, number | null, number]> = [
    ['A1', '2024-03-04', 10, 1],
    ['A1', '2024-03-04', 12, 2], // repeated key
    ['A1', '2024-03-11', -5, 3], // negative count
    [null, '2024-03-18', 1, 4], // no account
    ['A9', '2024-03-18', 1, 5], // not in accounts: a warning
    ['A\u0001B', '2024-03-25', 1, 6], // a control character
  ];
  const ticketRows: ReadonlyArray<readonly [string, string, string, string | null, string, boolean | null]> = [
    ['T1', 'A1', '2024-03-05', '2024-03-01', 'high', true], // closed before opened
    ['T2', 'A1', '2024-03-05', null, 'bogus', false], // not a priority
    ['T3', 'A2', '2024-03-05', null, 'Medium', null], // a synonym; escalated missing
    ['T3', 'A2', '2024-03-06', null, 'low', false], // repeated id
  ];
  const sqlText = (v: string | number | boolean | null): string =>
    v === null ? 'NULL' : typeof v === 'string' ? `'${v.replaceAll('\u0001', "' || chr(1) || '")}'` : String(v);
  const csvCell = (v: string | number | boolean | null): string => (v === null ? '' : String(v));

  it('lists the same rows, columns, values and messages', async () => {
    const csvDir = fixtureDir({
      ...BASE,
      'product_usage.csv': csv(
        'account_id,week,active_users,key_events',
        ...usageRows.map((r) => r.map(csvCell).join(',')),
      ),
      'tickets.csv': csv('ticket_id,account_id,opened_date,closed_date,priority,escalated', ...ticketRows.map((r) => r.map(csvCell).join(','))),
    });
    const parquetDir = fixtureDir(BASE);
    try {
      await writeParquet(
        parquetDir,
        'product_usage',
        `SELECT account_id, CAST(week AS DATE) AS week, CAST(active_users AS BIGINT) AS active_users, CAST(key_events AS BIGINT) AS key_events
         FROM (VALUES ${usageRows.map((r) => `(${r.map(sqlText).join(', ')})`).join(', ')}) t(account_id, week, active_users, key_events)`,
      );
      await writeParquet(
        parquetDir,
        'tickets',
        `SELECT ticket_id, account_id, CAST(opened_date AS DATE) AS opened_date, CAST(closed_date AS DATE) AS closed_date, priority, CAST(escalated AS BOOLEAN) AS escalated
         FROM (VALUES ${ticketRows.map((r) => `(${r.map(sqlText).join(', ')})`).join(', ')}) t(ticket_id, account_id, opened_date, closed_date, priority, escalated)`,
      );
      const fromCsv = await issuesOf(csvDir);
      const fromParquet = await issuesOf(parquetDir);
      expect(fromParquet).toEqual(fromCsv);
      expect(fromCsv).toEqual([
        { source: 'product_usage', row: 2, column: 'account_id, week', value: 'A1 + 2024-03-04', expected: 'a unique account_id + week (first used on row 1)', severity: 'error' },
        { source: 'product_usage', row: 3, column: 'active_users', value: '-5', expected: 'a whole number, zero or more', severity: 'error' },
        { source: 'product_usage', row: 4, column: 'account_id', value: null, expected: 'a value (required)', severity: 'error' },
        { source: 'product_usage', row: 5, column: 'account_id', value: 'A9', expected: 'an account listed in accounts', severity: 'warning' },
        { source: 'product_usage', row: 6, column: 'account_id', value: 'A\u0001B', expected: 'an account listed in accounts', severity: 'warning' },
        {
          source: 'product_usage',
          row: 6,
          column: 'account_id',
          value: 'A\u0001B',
          expected: expect.stringMatching(/^text without control characters .*; found U\+0001$/),
          severity: 'error',
        },
        { source: 'tickets', row: 1, column: 'closed_date', value: '2024-03-01', expected: 'a date on or after opened_date', severity: 'error' },
        { source: 'tickets', row: 2, column: 'priority', value: 'bogus', expected: 'one of: low, normal, high, urgent (or medium, lowest, highest, critical)', severity: 'error' },
        { source: 'tickets', row: 3, column: 'escalated', value: null, expected: 'a value (required)', severity: 'error' },
        { source: 'tickets', row: 4, column: 'ticket_id', value: 'T3', expected: 'a unique ticket_id (first used on row 3)', severity: 'error' },
      ]);
    } finally {
      removeDir(csvDir);
      removeDir(parquetDir);
    }
  });
});

describe('an account id listed in accounts is tested for control characters once', () => {
  it('still refuses it in every file that names it', async () => {
    const id = 'A\u0001C';
    const dir = fixtureDir({
      'subscriptions.csv': csv('account_id,start_date,amount', 'A1,2024-01-01,100', `${id},2024-01-01,200`),
      'accounts.csv': csv('account_id,segment', 'A1,smb', `${id},smb`),
      'usage.csv': csv('account_id,month,amount', `${id},2024-02,5`),
      'product_usage.csv': csv('account_id,week,active_users', `${id},2024-03-04,1`, 'A1,2024-03-04,1'),
    });
    try {
      const control = (await issuesOf(dir)).filter((i) => i.expected.startsWith('text without control characters'));
      expect(control.map((i) => [i.source, i.row, i.column, i.value])).toEqual([
        ['accounts', 2, 'account_id', id],
        ['product_usage', 1, 'account_id', id],
        ['subscriptions', 2, 'account_id', id],
        ['usage', 1, 'account_id', id],
      ]);
    } finally {
      removeDir(dir);
    }
  });
});

describe('typed DATE, INTEGER and DECIMAL columns holding bad values give the messages of the same rows in CSV', () => {
  // Each row breaks rules through its typed columns. The Parquet files hold dates as DATE, amounts
  // as DECIMAL(18,2), exchange rates as DECIMAL(12,6), counts as BIGINT, and usage amounts as DECIMAL(38,14): more places than money
  // keeps, so those are read through their text. The CSV files hold the same values as text,
  // written as the engine prints them.
  const subscriptionRows: ReadonlyArray<readonly [string, string, string, string | null, string, string | null]> = [
    ['A1', 'L1', '2024-01-01', null, '100.00', null], // good
    ['A1', 'L2', '2024-01-01', null, '-100.00', null], // a negative amount
    ['A1', 'L3', '2024-03-01', '2024-02-01', '100.00', null], // ends before it starts
    ['A2', 'L4', '2024-01-01', null, '100.00', '150.00'], // a discount above the amount
    ['A2', 'L5', '2024-01-01', null, '100.00', '-5.00'], // a negative discount
    ['A2', 'L4', '2024-02-01', null, '100.00', null], // a repeated line_id
  ];
  const usageRows: ReadonlyArray<readonly [string, string, string]> = [
    ['A1', '2024-02', '5.00000000000000'],
    ['A2', '2024-02', '-7.00000000000000'], // a negative amount
    ['A2', '2024-03', '1.00000000000001'], // a 14th place
  ];
  const rateRows: ReadonlyArray<readonly [string, string, string]> = [
    ['EUR', '2024-01', '1.100000'],
    ['GBP', '2024-01', '0.000000'], // not positive
    ['USD', '2024-01', '2.000000'], // the reporting currency at another rate than 1
  ];
  const enrichmentRows: ReadonlyArray<readonly [string, string, number, string]> = [
    ['A1', '2024-01-01', 120, '1000.50'],
    ['A2', '2024-01-01', -3, '2000.00'], // a negative count
  ];
  const text = (v: string | number | null): string => (v === null ? 'NULL' : typeof v === 'number' ? String(v) : `'${v}'`);
  const values = (rows: ReadonlyArray<ReadonlyArray<string | number | null>>): string => rows.map((r) => `(${r.map(text).join(', ')})`).join(', ');
  const lines = (rows: ReadonlyArray<ReadonlyArray<string | number | null>>): string[] => rows.map((r) => r.map((v) => (v === null ? '' : String(v))).join(','));

  it('lists the same rows, columns, values and messages', async () => {
    const csvDir = fixtureDir({
      'accounts.csv': BASE['accounts.csv'],
      'subscriptions.csv': csv('account_id,line_id,start_date,end_date,amount,discount', ...lines(subscriptionRows)),
      'usage.csv': csv('account_id,month,amount', ...lines(usageRows)),
      'fx_rates.csv': csv('currency,month,rate', ...lines(rateRows)),
      'enrichment.csv': csv('account_id,date,headcount,funding_amount', ...lines(enrichmentRows)),
    });
    const parquetDir = fixtureDir({ 'accounts.csv': BASE['accounts.csv'] });
    try {
      await writeParquet(
        parquetDir,
        'subscriptions',
        `SELECT account_id, line_id, CAST(start_date AS DATE) AS start_date, CAST(end_date AS DATE) AS end_date,
                CAST(amount AS DECIMAL(18,2)) AS amount, CAST(discount AS DECIMAL(18,2)) AS discount
         FROM (VALUES ${values(subscriptionRows)}) t(account_id, line_id, start_date, end_date, amount, discount)`,
      );
      await writeParquet(
        parquetDir,
        'usage',
        `SELECT account_id, month, CAST(amount AS DECIMAL(38,14)) AS amount FROM (VALUES ${values(usageRows)}) t(account_id, month, amount)`,
      );
      await writeParquet(
        parquetDir,
        'fx_rates',
        `SELECT currency, month, CAST(rate AS DECIMAL(12,6)) AS rate FROM (VALUES ${values(rateRows)}) t(currency, month, rate)`,
      );
      await writeParquet(
        parquetDir,
        'enrichment',
        `SELECT account_id, CAST(date AS DATE) AS date, CAST(headcount AS BIGINT) AS headcount, CAST(funding_amount AS DECIMAL(18,2)) AS funding_amount
         FROM (VALUES ${values(enrichmentRows)}) t(account_id, date, headcount, funding_amount)`,
      );
      const fromCsv = await issuesOf(csvDir);
      expect(fromCsv).toEqual([
        { source: 'enrichment', row: 2, column: 'headcount', value: '-3', expected: 'a whole number, zero or more', severity: 'error' },
        { source: 'fx_rates', row: 2, column: 'rate', value: '0.000000', expected: 'a positive number', severity: 'error' },
        { source: 'fx_rates', row: 3, column: 'rate', value: '2.000000', expected: '1 (USD is the reporting currency)', severity: 'error' },
        { source: 'subscriptions', row: 2, column: 'amount', value: '-100.00', expected: 'zero or more', severity: 'error' },
        { source: 'subscriptions', row: 3, column: 'end_date', value: '2024-02-01', expected: 'a date on or after start_date (end is exclusive)', severity: 'error' },
        { source: 'subscriptions', row: 4, column: 'discount', value: '150.00', expected: 'no more than amount (discount is per interval)', severity: 'error' },
        { source: 'subscriptions', row: 5, column: 'discount', value: '-5.00', expected: 'zero or more', severity: 'error' },
        { source: 'subscriptions', row: 6, column: 'line_id', value: 'L4', expected: 'a unique line_id (first used on row 4)', severity: 'error' },
        { source: 'usage', row: 2, column: 'amount', value: '-7.00000000000000', expected: 'zero or more', severity: 'error' },
        { source: 'usage', row: 3, column: 'amount', value: '1.00000000000001', expected: 'at most 12 places after the decimal point (money keeps 12)', severity: 'error' },
      ]);
      expect(await issuesOf(parquetDir)).toEqual(fromCsv);
    } finally {
      removeDir(csvDir);
      removeDir(parquetDir);
    }
  });
});

describe('a control character in a date, an enumeration or a code', () => {
  it('is named beside the rule of the column it breaks, in signal and contract files', async () => {
    const dir = fixtureDir({
      ...BASE,
      'subscriptions.csv': csv('account_id,start_date,amount,currency', 'A1,2024-01-01,100,USD', 'A2,2024-01-01\u0001,200,U\u0085SD'),
      'tickets.csv': csv('ticket_id,account_id,opened_date,closed_date,priority,escalated', 'T1,A1,2024-03-05,,hi\u0001gh,true', 'T2,A2,2024-03-05\u0002,,low,false'),
    });
    try {
      const issues = await issuesOf(dir);
      expect(issues.map((i) => [i.source, i.row, i.column, i.expected.replace(/ \(U\+0000.*\)/, '')])).toEqual([
        ['subscriptions', 2, 'currency', 'a three-letter ISO currency code'],
        ['subscriptions', 2, 'currency', 'text without control characters; found U+0085'],
        ['subscriptions', 2, 'start_date', "a date as YYYY-MM-DD (a time and offset may follow, as in 2024-03-05T14:30:00Z); time of day '\u0001' not as HH:MM or HH:MM:SS"],
        ['subscriptions', 2, 'start_date', 'text without control characters; found U+0001'],
        ['tickets', 1, 'priority', 'one of: low, normal, high, urgent (or medium, lowest, highest, critical)'],
        ['tickets', 1, 'priority', 'text without control characters; found U+0001'],
        ['tickets', 2, 'opened_date', "a date as YYYY-MM-DD (a time and offset may follow, as in 2024-03-05T14:30:00Z); time of day '\u0002' not as HH:MM or HH:MM:SS"],
        ['tickets', 2, 'opened_date', 'text without control characters; found U+0002'],
      ]);
    } finally {
      removeDir(dir);
    }
  });
});

describe('a signal amount with more places than money keeps', () => {
  it('is refused as a billing amount is, naming file, row, column and value; 12 places are kept to the digit', async () => {
    const dir = fixtureDir({
      ...BASE,
      'enrichment.csv': csv('account_id,date,headcount,funding_amount', 'A1,2024-01-01,10,1000.000000000001', 'A2,2024-01-01,12,1000.0000000000001'),
      'opportunities.csv': csv(
        'opportunity_id,account_id,type,sourced_by,amount,stage,created_date',
        'O1,A1,upsell,cs,2500.1234567890120,open,2024-02-01',
        'O2,A2,upsell,cs,2500.12345678901234,open,2024-02-01',
      ),
    });
    try {
      expect(await issuesOf(dir)).toEqual([
        { source: 'enrichment', row: 2, column: 'funding_amount', value: '1000.0000000000001', expected: 'at most 12 places after the decimal point (money keeps 12)', severity: 'error' },
        { source: 'opportunities', row: 2, column: 'amount', value: '2500.12345678901234', expected: 'at most 12 places after the decimal point (money keeps 12)', severity: 'error' },
      ]);
      const ws = await open(dir, { skipInvalid: true, rejectsFile: join(dir, 'rejected.csv') });
      try {
        // The rows within 12 places (a 13th place of zero is no digit lost) keep every digit.
        expect(await ws.query(`SELECT CAST(funding_amount AS VARCHAR) AS v FROM signal_enrichment`)).toEqual([{ v: '1000.000000000001' }]);
        expect(await ws.query(`SELECT CAST(amount AS VARCHAR) AS v FROM signal_opportunities`)).toEqual([{ v: '2500.123456789012' }]);
      } finally {
        ws.close();
      }
    } finally {
      removeDir(dir);
    }
  });
});
