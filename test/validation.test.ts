import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DuckDbDriver, NrrError, ValidationError, Workspace, metrics, mrrLedger, type OpenOptions, type ValidationIssue } from '../src/index.js';
import { csv, fixtureDir, removeDir, type FileContent } from './helpers/fixture-dir.js';

/**
 * The data contract's row rules (docs/data-contract.md#validation): every broken rule names the
 * file, the row (1 = the first data row), the column, the value as read and what was expected.
 */

const SUBS_HEADER = 'account_id,line_id,product,start_date,end_date,amount,interval,discount,currency';
const GOOD_LINE = 'A1,L1,core,2024-01-01,,100,month,,';

/** A valid data folder, with `over` replacing or adding files. */
function dataDir(over: Record<string, FileContent> = {}): string {
  return fixtureDir({
    'subscriptions.csv': csv(SUBS_HEADER, GOOD_LINE),
    'accounts.csv': csv('account_id,segment', 'A1,smb', 'A2,smb', 'A3,smb'),
    'fx_rates.csv': csv('currency,month,rate', 'EUR,2024-01,1.10'),
    'usage.csv': csv('account_id,product,month,amount,currency', 'A1,core,2024-02,10,'),
    ...over,
  });
}

/** Subscriptions with the good line on row 1 and these lines after it. */
const subs = (...lines: string[]): Record<string, string> => ({ 'subscriptions.csv': csv(SUBS_HEADER, GOOD_LINE, ...lines) });

async function openIn(dir: string, options: Partial<OpenOptions> = {}): Promise<Workspace> {
  return Workspace.open({ data: dir, policies: { as_of: '2024-12' }, ...options });
}

/** What opening the folder throws (undefined if it opens; the workspace is closed). */
async function openError(dir: string, options: Partial<OpenOptions> = {}): Promise<unknown> {
  return openIn(dir, options).then(
    (ws) => {
      ws.close();
      return undefined;
    },
    (e: unknown) => e,
  );
}

/** Opens the folder, expecting a ValidationError, and returns it. */
async function validationError(files: Record<string, FileContent>, options: Partial<OpenOptions> = {}): Promise<ValidationError> {
  const dir = dataDir(files);
  try {
    const ws = await openIn(dir, options);
    ws.close();
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return e as ValidationError;
  } finally {
    removeDir(dir);
  }
  throw new Error('expected a ValidationError, but the workspace opened');
}

interface Expected {
  file: string;
  row: number;
  column: string;
  value: string | null;
  phrase: string;
}

/** Writes the rows of a SELECT to `subscriptions.parquet` in the folder, through a real DuckDB. */
function writeSubscriptionsParquet(driver: DuckDbDriver, dir: string, select: string): Promise<void> {
  return driver.exec(`COPY (${select}) TO ${driver.dialect.quoteString(join(dir, 'subscriptions.parquet'))} (FORMAT parquet)`);
}

/** Exactly one error, and it says where and what. */
async function expectOneError(files: Record<string, FileContent>, x: Expected): Promise<void> {
  const err = await validationError(files);
  expect(err.errorCount, JSON.stringify(err.issues)).toBe(1);
  const issue: ValidationIssue = err.issues[0]!;
  expect(issue).toMatchObject({ file: x.file, row: x.row, column: x.column, value: x.value, severity: 'error' });
  expect(issue.expected).toContain(x.phrase);
  const shownValue = x.value === null || x.value === '' ? '(empty)' : `'${x.value}'`;
  expect(err.message).toContain(`${x.file} row ${x.row}, column ${x.column}: ${shownValue}: expected `);
  expect(err.message).toContain(x.phrase);
  expect(err.message).toContain('the input has 1 invalid value; nothing was computed');
}

describe('row rules: subscriptions', () => {
  it('an unknown interval', async () => {
    await expectOneError(subs('A2,L2,core,2024-01-01,,100,fortnightly,,'), {
      file: 'subscriptions.csv',
      row: 2,
      column: 'interval',
      value: 'fortnightly',
      phrase: "month, quarter, year, week, 'N months' or 'N weeks'",
    });
  });

  it.each(['0 months', '2 years', 'biweekly', '0 weeks'])('interval %s is refused', async (interval) => {
    await expectOneError(subs(`A2,L2,core,2024-01-01,,100,${interval},,`), {
      file: 'subscriptions.csv',
      row: 2,
      column: 'interval',
      value: interval,
      phrase: "month, quarter, year, week, 'N months' or 'N weeks'",
    });
  });

  it('an end date before the start date', async () => {
    await expectOneError(subs('A2,L2,core,2024-03-01,2024-02-28,100,month,,'), {
      file: 'subscriptions.csv',
      row: 2,
      column: 'end_date',
      value: '2024-02-28',
      phrase: 'a date on or after start_date (end is exclusive)',
    });
  });

  it.each(['$1,200', '1 200', '1e3', '12.', 'abc'])('a non-numeric amount %j', async (amount) => {
    const field = amount.includes(',') ? `"${amount}"` : amount;
    await expectOneError(subs(`A2,L2,core,2024-01-01,,${field},month,,`), {
      file: 'subscriptions.csv',
      row: 2,
      column: 'amount',
      value: amount,
      phrase: 'a plain number such as 1200.50 (no currency symbols or thousands separators)',
    });
  });

  it('a negative amount', async () => {
    await expectOneError(subs('A2,L2,core,2024-01-01,,-100,month,,'), {
      file: 'subscriptions.csv',
      row: 2,
      column: 'amount',
      value: '-100',
      phrase: 'zero or more',
    });
  });

  it('a negative discount', async () => {
    await expectOneError(subs('A2,L2,core,2024-01-01,,100,month,-5,'), {
      file: 'subscriptions.csv',
      row: 2,
      column: 'discount',
      value: '-5',
      phrase: 'zero or more',
    });
  });

  it.each(['2024-02-30', '01/02/2024', '2024/01/02', '2024-1-2', '2024-02-30 00:00:00', '2024-01-01 25:00', '2024-01-01T10:00:00EST'])('a bad start date %j', async (date) => {
    await expectOneError(subs(`A2,L2,core,${date},,100,month,,`), {
      file: 'subscriptions.csv',
      row: 2,
      column: 'start_date',
      value: date,
      phrase: 'a date as YYYY-MM-DD',
    });
  });

  it('a timestamp at midnight is its day', async () => {
    const dates = ['2024-01-01 00:00:00', '2024-01-01T00:00', '2024-01-01T00:00:00.000Z', '2024-01-01 00:00:00+00'];
    const dir = dataDir(subs(...dates.map((date, i) => `A2,T${i},core,${date},2024-03-01 00:00:00,100,month,,`)));
    try {
      const ws = await openIn(dir);
      const rows = await mrrLedger(ws, { account: 'A2' });
      // Four lines of 100 in January and February; none in March (the end date is exclusive).
      expect(rows.map((r) => `${r.month} ${r.mrr.value}`)).toEqual(['2024-01 400', '2024-02 400']);
      ws.close();
    } finally {
      removeDir(dir);
    }
  });

  it('a bad end date', async () => {
    await expectOneError(subs('A2,L2,core,2024-01-01,2023-02-29,100,month,,'), {
      file: 'subscriptions.csv',
      row: 2,
      column: 'end_date',
      value: '2023-02-29', // 2023 is not a leap year
      phrase: 'a date as YYYY-MM-DD (a time and offset may follow, as in 2024-03-05T14:30:00Z), or empty for open-ended; day 29 out of range for 2023-02',
    });
  });

  it('a missing start date', async () => {
    await expectOneError(subs('A2,L2,core,,,100,month,,'), {
      file: 'subscriptions.csv',
      row: 2,
      column: 'start_date',
      value: null,
      phrase: 'a value (required)',
    });
  });

  it('a missing amount', async () => {
    await expectOneError(subs('A2,L2,core,2024-01-01,,,month,,'), {
      file: 'subscriptions.csv',
      row: 2,
      column: 'amount',
      value: null,
      phrase: 'a value (required)',
    });
  });

  it('a missing account id (spaces only)', async () => {
    await expectOneError(subs('   ,L2,core,2024-01-01,,100,month,,'), {
      file: 'subscriptions.csv',
      row: 2,
      column: 'account_id',
      value: '   ',
      phrase: 'a non-empty account id',
    });
  });

  it('a discount above the amount', async () => {
    await expectOneError(subs('A2,L2,core,2024-01-01,,100,month,100.01,'), {
      file: 'subscriptions.csv',
      row: 2,
      column: 'discount',
      value: '100.01',
      phrase: 'no more than amount (discount is per interval)',
    });
  });

  it('a currency without any rate', async () => {
    await expectOneError(subs('A2,L2,core,2024-01-01,,100,month,,GBP'), {
      file: 'subscriptions.csv',
      row: 2,
      column: 'currency',
      value: 'GBP',
      phrase: 'a rate in fx_rates for this currency in force at start_date (reporting currency USD)',
    });
  });

  it('a currency whose first rate comes after the start date', async () => {
    // EUR has a rate from 2024-01 only.
    await expectOneError(subs('A2,L2,core,2023-12-31,,100,month,,EUR'), {
      file: 'subscriptions.csv',
      row: 2,
      column: 'currency',
      value: 'EUR',
      phrase: 'a rate in fx_rates for this currency in force at start_date',
    });
  });

  it.each(['EURO', 'US', '€'])('a bad currency code %j', async (code) => {
    await expectOneError(subs(`A2,L2,core,2024-01-01,,100,month,,${code}`), {
      file: 'subscriptions.csv',
      row: 2,
      column: 'currency',
      value: code,
      phrase: 'a three-letter ISO currency code',
    });
  });

  it('currency codes ignore letter case and spaces', async () => {
    const dir = dataDir(subs('A2,L2,core,2024-01-01,,100,month,, eur '));
    try {
      const ws = await openIn(dir);
      const rows = await mrrLedger(ws, { account: 'A2' });
      expect(rows[0]?.mrr.value).toBe('110'); // 100 EUR × 1.10
      ws.close();
    } finally {
      removeDir(dir);
    }
  });

  it('a duplicate line_id names the row that used it first', async () => {
    await expectOneError(subs('A2,L2,core,2024-01-01,,100,month,,', 'A3,L1,core,2024-01-01,,100,month,,'), {
      file: 'subscriptions.csv',
      row: 3,
      column: 'line_id',
      value: 'L1',
      phrase: 'a unique line_id (first used on row 1)',
    });
  });

  it('every later use of a line_id is an error naming its first use; ids are trimmed, blank ids are not compared', async () => {
    const err = await validationError(
      subs(
        'A2,,core,2024-01-01,,100,month,,', // row 2: blank id, becomes 'row 2'
        'A2, L9 ,core,2024-01-01,,100,month,,', // row 3: first use of L9
        'A3,,core,2024-01-01,,100,month,,', // row 4: blank again, not a duplicate
        'A3,L9,core,2024-01-01,,100,month,,', // row 5: L9 again
        'A2,L9 ,core,2024-01-01,,100,month,,', // row 6: and again
      ),
    );
    expect(err.issues.map((i) => [i.row, i.column, i.value, i.expected])).toEqual([
      [5, 'line_id', 'L9', 'a unique line_id (first used on row 3)'],
      [6, 'line_id', 'L9 ', 'a unique line_id (first used on row 3)'],
    ]);
  });
});

describe('row rules: usage, fx_rates, accounts', () => {
  it.each(['2024-13', '2024-3', '2024-03-01', '03/2024'])('a usage month %j', async (month) => {
    await expectOneError({ 'usage.csv': csv('account_id,product,month,amount,currency', 'A1,core,2024-02,10,', `A1,core,${month},10,`) }, {
      file: 'usage.csv',
      row: 2,
      column: 'month',
      value: month,
      phrase: 'a month as YYYY-MM',
    });
  });

  it('a usage amount that is not a number', async () => {
    await expectOneError({ 'usage.csv': csv('account_id,product,month,amount,currency', 'A1,core,2024-02,ten,') }, {
      file: 'usage.csv',
      row: 1,
      column: 'amount',
      value: 'ten',
      phrase: 'a plain number',
    });
  });

  it('a usage currency without a rate in that month', async () => {
    await expectOneError({ 'usage.csv': csv('account_id,product,month,amount,currency', 'A1,core,2023-12,10,EUR') }, {
      file: 'usage.csv',
      row: 1,
      column: 'currency',
      value: 'EUR',
      phrase: 'a rate in fx_rates for this currency in force in that month (reporting currency USD)',
    });
  });

  it.each(['0', '-1.10', '0.0'])('a non-positive fx rate %j', async (rate) => {
    await expectOneError({ 'fx_rates.csv': csv('currency,month,rate', 'EUR,2024-01,1.10', `EUR,2024-06,${rate}`) }, {
      file: 'fx_rates.csv',
      row: 2,
      column: 'rate',
      value: rate,
      phrase: 'a positive number',
    });
  });

  it('a rate for the reporting currency other than 1', async () => {
    await expectOneError({ 'fx_rates.csv': csv('currency,month,rate', 'EUR,2024-01,1.10', 'USD,2024-01,1.01') }, {
      file: 'fx_rates.csv',
      row: 2,
      column: 'rate',
      value: '1.01',
      phrase: '1 (USD is the reporting currency)',
    });
  });

  it('a second rate for the same currency and month names the first', async () => {
    await expectOneError({ 'fx_rates.csv': csv('currency,month,rate', 'EUR,2024-01,1.10', 'EUR,2024-02,1.11', 'EUR,2024-01,1.12') }, {
      file: 'fx_rates.csv',
      row: 3,
      column: 'month',
      value: '2024-01',
      phrase: 'one rate per currency and month (first given on row 1)',
    });
  });

  it('a duplicate account_id in accounts names the first row', async () => {
    await expectOneError({ 'accounts.csv': csv('account_id,segment', 'A1,smb', 'A2,smb', 'A1,enterprise') }, {
      file: 'accounts.csv',
      row: 3,
      column: 'account_id',
      value: 'A1',
      phrase: 'a unique account_id (first listed on row 1)',
    });
  });
});

describe('several problems', () => {
  it('a row breaking several rules lists each', async () => {
    const err = await validationError(subs('A2,L1,core,2024-02-30,,$5,fortnightly,,'));
    expect(err.errorCount).toBe(4);
    expect(err.issues.map((i) => [i.row, i.column])).toEqual([
      [2, 'amount'],
      [2, 'interval'],
      [2, 'line_id'],
      [2, 'start_date'],
    ]);
  });

  it('the default refuses and lists at most 20 problems plus the total count', async () => {
    const bad = Array.from({ length: 25 }, (_, i) => `A2,L${i + 2},core,2024-01-01,,100,biweekly,,`);
    const err = await validationError(subs(...bad));
    expect(err.errorCount).toBe(25);
    expect(err.issues).toHaveLength(20);
    expect(err.issues.map((i) => i.row)).toEqual(Array.from({ length: 20 }, (_, i) => i + 2)); // in file order
    expect(err.message).toContain('the input has 25 invalid values; nothing was computed');
    expect(err.message).toContain('subscriptions.csv row 21, column interval');
    expect(err.message).not.toContain('subscriptions.csv row 22,');
    expect(err.message).toContain('… and 5 more');
    expect(err.message).toContain('--skip-invalid');
  });

  it('maxListedErrors changes how many are listed, not the count', async () => {
    const bad = Array.from({ length: 5 }, (_, i) => `A2,L${i + 2},core,2024-01-01,,100,biweekly,,`);
    const err = await validationError(subs(...bad), { maxListedErrors: 2 });
    expect([err.errorCount, err.issues.length]).toEqual([5, 2]);
    expect(err.message).toContain('… and 3 more');
  });
});

describe('file-level problems', () => {
  it('a missing required column names the file and the column', async () => {
    const dir = dataDir({ 'subscriptions.csv': csv('account_id,line_id,start,amount', 'A1,L1,2024-01-01,100') });
    try {
      const p = openIn(dir);
      await expect(p).rejects.toThrow(NrrError);
      await expect(p).rejects.toThrow(/subscriptions\.csv: missing required column 'start_date' \(found: account_id, line_id, start, amount\)/);
    } finally {
      removeDir(dir);
    }
  });

  it('a missing required column in an optional file', async () => {
    const dir = dataDir({ 'usage.csv': csv('account_id,product,period,amount', 'A1,core,2024-02,10') });
    try {
      await expect(openIn(dir)).rejects.toThrow(/usage\.csv: missing required column 'month'/);
    } finally {
      removeDir(dir);
    }
  });

  it('column names ignore case and surrounding spaces', async () => {
    const dir = dataDir({ 'subscriptions.csv': csv(' Account_ID ,START_DATE,Amount', 'A1,2024-01-01,100') });
    try {
      const ws = await openIn(dir);
      expect((await mrrLedger(ws))[0]?.mrr.value).toBe('100');
      ws.close();
    } finally {
      removeDir(dir);
    }
  });

  // A CSV that does not parse must stop the run with an error that names the file and says it
  // cannot be read; not be read as something else.
  it.each([
    ['a row with an extra field', csv(SUBS_HEADER, GOOD_LINE, 'A2,L2,core,2024-01-01,,100,month,,,EXTRA')],
    ['a row with a missing field', csv(SUBS_HEADER, GOOD_LINE, 'A2,L2,core,2024-01-01,,100,month,')],
    ['an unterminated quote', csv(SUBS_HEADER, GOOD_LINE, '"A2,L2,core,2024-01-01,,100,month,,', 'A3,L3,core,2024-01-01,,100,month,,')],
  ])('a malformed CSV (%s) stops the run naming the file', async (_, text) => {
    const dir = dataDir({ 'subscriptions.csv': text });
    try {
      const err = await openError(dir);
      expect(err).toBeInstanceOf(NrrError);
      expect((err as Error).message).toMatch(/^subscriptions\.csv: cannot be read/);
    } finally {
      removeDir(dir);
    }
  });

  it('a CSV quoting a value that holds the delimiter is read', async () => {
    const dir = dataDir({
      'subscriptions.csv': csv(SUBS_HEADER, GOOD_LINE),
      'accounts.csv': csv('account_id,name', 'A1,"Acme, Inc."'),
    });
    try {
      const ws = await openIn(dir);
      const [m] = await metrics(ws, { month: '2024-02', window: 1, by: 'name' });
      expect(m?.group).toBe('Acme, Inc.');
      ws.close();
    } finally {
      removeDir(dir);
    }
  });
});

describe('warnings', () => {
  it('an account missing from accounts is a warning, and its revenue is computed', async () => {
    const dir = dataDir(subs('ZZ,L2,core,2024-01-01,,250,month,,'));
    try {
      const ws = await openIn(dir);
      expect(ws.summary.warningCount).toBe(1);
      expect(ws.summary.warnings).toContainEqual(
        expect.objectContaining({
          file: 'subscriptions.csv',
          row: 2,
          column: 'account_id',
          value: 'ZZ',
          severity: 'warning',
          expected: 'an account listed in accounts (it will have no attributes)',
        }),
      );
      expect((await mrrLedger(ws, { account: 'ZZ' }))[0]?.mrr.value).toBe('250');
      ws.close();
    } finally {
      removeDir(dir);
    }
  });

  it('columns outside the contract in subscriptions are ignored with a warning', async () => {
    const dir = dataDir({ 'subscriptions.csv': csv('account_id,start_date,amount,notes', 'A1,2024-01-01,100,hello') });
    try {
      const ws = await openIn(dir);
      expect(ws.summary.warnings).toContainEqual(
        expect.objectContaining({ file: 'subscriptions.csv', column: 'notes', expected: 'a column of the data contract (these columns are ignored)' }),
      );
      ws.close();
    } finally {
      removeDir(dir);
    }
  });
});

describe('other formats', () => {
  it('reads JSON (array) and JSON Lines', async () => {
    const dir = fixtureDir({
      'subscriptions.json': JSON.stringify([
        { account_id: 'J1', line_id: 'J-1', product: 'core', start_date: '2024-01-01', end_date: null, amount: 1200, interval: 'year', discount: null, currency: null },
        { account_id: 'J2', line_id: 'J-2', product: 'core', start_date: '2024-02-01', end_date: '2024-05-01', amount: 300.5, interval: 'month' },
      ]),
      'accounts.jsonl': [{ account_id: 'J1', segment: 'smb' }, { account_id: 'J2', segment: 'enterprise' }].map((o) => JSON.stringify(o)).join('\n') + '\n',
      'usage.ndjson': JSON.stringify({ account_id: 'J1', product: 'core', month: '2024-03', amount: 5.25 }) + '\n',
    });
    try {
      const ws = await openIn(dir);
      expect(ws.summary.sources.map((s) => [s.file, s.rows])).toEqual([
        ['subscriptions.json', 2],
        ['accounts.jsonl', 2],
        ['usage.ndjson', 1],
      ]);
      expect((await mrrLedger(ws, { account: 'J1' })).map((r) => [r.month, r.mrr.value]).slice(0, 3)).toEqual([
        ['2024-01', '100'], // 1200 a year
        ['2024-02', '100'],
        ['2024-03', '105.25'], // + usage
      ]);
      expect((await mrrLedger(ws, { account: 'J2' })).map((r) => [r.month, r.mrr.value])).toEqual([
        ['2024-02', '300.5'],
        ['2024-03', '300.5'],
        ['2024-04', '300.5'],
      ]);
      expect(ws.attributes).toEqual(['segment']);
      ws.close();
    } finally {
      removeDir(dir);
    }
  });

  it('JSON values are text whatever their JSON type: a column mixing numbers and strings', async () => {
    // "Every value is read as text ... whatever the format" (docs/data-contract.md). Account 42 is a
    // number in one row, ACC-1 a string in another; amount 100 a number, "200.50" a string.
    const dir = fixtureDir({
      'subscriptions.json': JSON.stringify([
        { account_id: 42, line_id: 1, start_date: '2024-01-01', amount: 100 },
        { account_id: 'ACC-1', line_id: 'L-2', start_date: '2024-01-01', amount: '200.50' },
      ]),
    });
    try {
      const ws = await openIn(dir);
      try {
        expect((await mrrLedger(ws)).filter((r) => r.month === '2024-01').map((r) => [r.account_id, r.mrr.value])).toEqual([
          ['42', '100'],
          ['ACC-1', '200.5'],
        ]);
      } finally {
        ws.close();
      }
    } finally {
      removeDir(dir);
    }
  });

  it('JSON rows are numbered from 1 in messages', async () => {
    const dir = fixtureDir({
      'subscriptions.jsonl': [
        { account_id: 'J1', start_date: '2024-01-01', amount: 10 },
        { account_id: 'J2', start_date: '2024-01-01', amount: -10 },
      ]
        .map((o) => JSON.stringify(o))
        .join('\n'),
    });
    try {
      const err = await openError(dir);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).issues).toEqual([expect.objectContaining({ file: 'subscriptions.jsonl', row: 2, column: 'amount', expected: 'zero or more' })]);
    } finally {
      removeDir(dir);
    }
  });

  it('reads Parquet written by DuckDB, with typed DATE and DECIMAL columns', async () => {
    const dir = fixtureDir({ 'accounts.csv': csv('account_id,segment', 'P1,smb', 'P2,smb') });
    const driver = await DuckDbDriver.open();
    try {
      await writeSubscriptionsParquet(driver, dir, `
          SELECT * FROM (VALUES
            ('P1', 'P-1', 'core', DATE '2024-01-01', NULL::DATE, 1200.00::DECIMAL(18,2), 'year', NULL::DECIMAL(18,2), 'USD'),
            ('P2', 'P-2', 'core', DATE '2024-03-15', DATE '2024-06-15', 90.00::DECIMAL(18,2), 'quarter', 15.00::DECIMAL(18,2), NULL)
          ) AS t(account_id, line_id, product, start_date, end_date, amount, "interval", discount, currency)
        `);
      expect(existsSync(join(dir, 'subscriptions.parquet'))).toBe(true);
      const ws = await openIn(dir);
      expect(ws.summary.sources[0]).toMatchObject({ file: 'subscriptions.parquet', rows: 2, rejected: 0 });
      expect((await mrrLedger(ws, { account: 'P1' }))[0]).toMatchObject({ month: '2024-01' });
      expect((await mrrLedger(ws, { account: 'P1' }))[0]?.mrr.value).toBe('100');
      // (90 − 15) ÷ 3 = 25 from March to May (ends 06-15: not in force at the end of June)
      expect((await mrrLedger(ws, { account: 'P2' })).map((r) => [r.month, r.mrr.value])).toEqual([
        ['2024-03', '25'],
        ['2024-04', '25'],
        ['2024-05', '25'],
      ]);
      ws.close();
    } finally {
      driver.close();
      removeDir(dir);
    }
  });

  it('Parquet rows are numbered from 1 in messages', async () => {
    const dir = fixtureDir({});
    const driver = await DuckDbDriver.open();
    try {
      await writeSubscriptionsParquet(driver, dir, `SELECT * FROM (VALUES ('P1', '2024-01-01', '10'), ('P2', '2024-01-01', '10'), ('P3', '2024-13-01', '10')) AS t(account_id, start_date, amount)`);
      const err = await openError(dir);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).issues).toEqual([expect.objectContaining({ file: 'subscriptions.parquet', row: 3, column: 'start_date', value: '2024-13-01' })]);
    } finally {
      driver.close();
      removeDir(dir);
    }
  });
});

describe('typed Parquet columns', () => {
  /** Lines as (account, start, end, amount, discount, interval, currency): amounts as exact text. */
  const LINES: ReadonlyArray<readonly [string, string, string | null, string, string | null, string, string]> = [
    ['T1', '2024-01-15', null, '1200.00', null, 'year', 'USD'],
    ['T1', '2024-03-01', '2024-09-01', '90.10', '15.05', 'quarter', 'EUR'],
    ['T2', '2024-02-29', '2024-07-01', '1234567.891', '0.001', '7 months', 'USD'],
    ['T3', '2024-01-01', null, '2000000000000.5', null, 'month', 'USD'],
    ['T4', '2024-05-31', '2024-06-30', '0', null, 'month', 'USD'],
  ];
  const SIDE_FILES = {
    'accounts.csv': csv('account_id,segment', 'T1,smb', 'T2,smb', 'T3,smb', 'T4,smb'),
    'fx_rates.csv': csv('currency,month,rate', 'EUR,2024-01,1.10', 'EUR,2024-04,1.2345'),
  };
  const sqlText = (v: string | null): string => (v === null ? 'NULL' : `'${v}'`);

  /** The lines as a Parquet file whose dates are DATE and whose amount and discount are `moneyType`. */
  async function writeTyped(dir: string, moneyType: string): Promise<void> {
    const driver = await DuckDbDriver.open();
    try {
      const rows = LINES.map(
        (l, i) =>
          `('${l[0]}', 'L${i + 1}', DATE '${l[1]}', ${l[2] === null ? 'NULL::DATE' : `DATE '${l[2]}'`}, CAST(${sqlText(l[3])} AS ${moneyType}), CAST(${sqlText(l[4])} AS ${moneyType}), '${l[5]}', '${l[6]}')`,
      );
      await writeSubscriptionsParquet(driver, dir, `SELECT * FROM (VALUES ${rows.join(', ')}) AS t(account_id, line_id, start_date, end_date, amount, discount, "interval", currency)`);
    } finally {
      driver.close();
    }
  }

  async function ledgerOf(dir: string): Promise<string[]> {
    const ws = await openIn(dir);
    try {
      return (await mrrLedger(ws, {})).map((r) => `${r.account_id} ${r.month} ${r.mrr.value}`);
    } finally {
      ws.close();
    }
  }

  it('give the same ledger, to the last digit, as the same lines written as text', async () => {
    const text = fixtureDir({
      ...SIDE_FILES,
      'subscriptions.csv': csv(
        'account_id,line_id,start_date,end_date,amount,discount,interval,currency',
        ...LINES.map((l, i) => [l[0], `L${i + 1}`, l[1], l[2] ?? '', l[3], l[4] ?? '', l[5], l[6]].join(',')),
      ),
    });
    try {
      const expected = await ledgerOf(text);
      // 1,234,567.891 − 0.001 over 7 months, and two trillion a month: neither fits in millionths the easy way.
      expect(expected).toContain('T2 2024-02 176366.841428571428');
      expect(expected).toContain('T3 2024-01 2000000000000.5');
      // Exact decimals of every width money holds, with 6 or fewer places (64-bit millionths) and more.
      for (const type of ['DECIMAL(18,3)', 'DECIMAL(38,3)', 'DECIMAL(38,10)', 'DECIMAL(26,12)', 'VARCHAR']) {
        const dir = fixtureDir(SIDE_FILES);
        try {
          await writeTyped(dir, type);
          expect(await ledgerOf(dir), type).toEqual(expected);
        } finally {
          removeDir(dir);
        }
      }
    } finally {
      removeDir(text);
    }
  });

  it('take whole numbers as money, and floating point through its text', async () => {
    for (const [type, amount, mrr] of [
      ['INTEGER', '1200', '100'],
      ['BIGINT', '1200', '100'],
      ['DECIMAL(15,3)', '1200.125', '100.010416666666'],
      ['DOUBLE', '1200.5', '100.041666666666'],
    ] as const) {
      const dir = fixtureDir({ 'accounts.csv': csv('account_id', 'T1') });
      const driver = await DuckDbDriver.open();
      try {
        await writeSubscriptionsParquet(driver, dir, `SELECT 'T1' AS account_id, DATE '2024-01-01' AS start_date, CAST('${amount}' AS ${type}) AS amount, 'year' AS "interval"`);
        expect(await ledgerOf(dir), type).toContain(`T1 2024-01 ${mrr}`);
      } finally {
        driver.close();
        removeDir(dir);
      }
    }
  });

  it('take a TIMESTAMP as its day, at midnight or at a time of day', async () => {
    const dir = fixtureDir({ 'accounts.csv': csv('account_id', 'T1', 'T2') });
    const driver = await DuckDbDriver.open();
    try {
      const write = (end: string): Promise<void> =>
        writeSubscriptionsParquet(driver, dir, `SELECT * FROM (VALUES
            ('T1', TIMESTAMP '2024-01-01 00:00:00', ${end}, 1200, 'year'),
            ('T2', TIMESTAMP '2024-02-01 00:00:00', NULL::TIMESTAMP, 50, 'month')
          ) AS t(account_id, start_date, end_date, amount, "interval")`);
      await write(`TIMESTAMP '2024-04-01 00:00:00'`);
      const ledger = await ledgerOf(dir);
      expect(ledger.filter((r) => r.startsWith('T1'))).toEqual(['T1 2024-01 100', 'T1 2024-02 100', 'T1 2024-03 100']);
      expect(ledger.filter((r) => r.startsWith('T2'))).toHaveLength(11); // open-ended from February to December
      expect(ledger).toContain('T2 2024-02 50');
      // A wall-clock time late on 31 March is 31 March (end exclusive): not in force at the end of March.
      await write(`TIMESTAMP '2024-03-31 23:30:00'`);
      expect((await ledgerOf(dir)).filter((r) => r.startsWith('T1'))).toEqual(['T1 2024-01 100', 'T1 2024-02 100']);
    } finally {
      driver.close();
      removeDir(dir);
    }
  });

  it('break the same rules as text, with the value shown as text', async () => {
    const dir = fixtureDir({ 'accounts.csv': csv('account_id', 'T1', 'T2', 'T3', 'T4') });
    const driver = await DuckDbDriver.open();
    try {
      await writeSubscriptionsParquet(driver, dir, `SELECT * FROM (VALUES
          ('T1', DATE '2024-01-01', NULL::DATE, -5.50::DECIMAL(18,2), NULL::DECIMAL(18,2)),
          ('T2', NULL::DATE, NULL::DATE, 10.00::DECIMAL(18,2), NULL::DECIMAL(18,2)),
          ('T3', DATE '2024-03-01', DATE '2024-02-01', 10.00::DECIMAL(18,2), 12.00::DECIMAL(18,2)),
          ('T4', DATE '2024-03-01', NULL::DATE, NULL::DECIMAL(18,2), NULL::DECIMAL(18,2))
        ) AS t(account_id, start_date, end_date, amount, discount)`);
      const err = await openError(dir);
      expect(err).toBeInstanceOf(ValidationError);
      const found = (err as ValidationError).issues.map((i) => [i.row, i.column, i.value, i.expected]);
      expect(found).toEqual([
        [1, 'amount', '-5.50', 'zero or more'],
        [2, 'start_date', null, 'a value (required)'],
        [3, 'discount', '12.00', 'no more than amount (discount is per interval)'],
        [3, 'end_date', '2024-02-01', 'a date on or after start_date (end is exclusive)'],
        [4, 'amount', null, 'a value (required)'],
      ]);
      // Set aside with --skip-invalid, each rejected row is written out whole, as read.
      const rejects = join(dir, 'rejects.csv');
      const ws = await openIn(dir, { skipInvalid: true, rejectsFile: rejects });
      ws.close();
      const text = readFileSync(rejects, 'utf8');
      expect(text.trim().split('\n')).toHaveLength(5);
      expect(text).toContain('"amount"":-5.50');
    } finally {
      driver.close();
      removeDir(dir);
    }
  });

  it('refuse a file rewritten while it is read, rather than mix rows of two versions', async () => {
    const dir = fixtureDir({ 'accounts.csv': csv('account_id', 'T1') });
    const inner = await DuckDbDriver.open();
    const write = (rows: number): Promise<void> =>
      writeSubscriptionsParquet(inner, dir, `SELECT 'T1' AS account_id, 'L' || i AS line_id, DATE '2024-01-01' AS start_date, 100 AS amount
                  FROM range(${rows}) t(i)`);
    await write(2);
    // A real DuckDB driver whose file is rewritten by another writer once the lines are parsed.
    let rewritten = false;
    const driver = {
      dialect: inner.dialect,
      query: (sql: string) => inner.query(sql),
      close: () => undefined,
      exec: async (sql: string): Promise<void> => {
        await inner.exec(sql);
        if (!rewritten && sql.includes('TABLE parsed_subscriptions AS')) {
          rewritten = true;
          await write(3);
        }
      },
    };
    try {
      const err = await openError(dir, { driver });
      expect(rewritten).toBe(true);
      expect(err).toBeInstanceOf(NrrError);
      expect((err as Error).message).toContain('subscriptions.parquet: the file changed while it was being read');
      // Unchanged, the same file opens.
      const ws = await openIn(dir);
      expect(ws.summary.lines).toBe(3);
      ws.close();
    } finally {
      inner.close();
      removeDir(dir);
    }
  });
});

describe('skipInvalid', () => {
  it('sets bad rows aside in the rejects file with their reasons, computes the rest, drops nothing', async () => {
    const dir = dataDir({
      'subscriptions.csv': csv(
        SUBS_HEADER,
        'A1,L1,core,2024-01-01,,100,month,,', // 1 ok
        'A2,L2,core,2024-01-01,,100,fortnightly,200,', // 2 bad: interval, discount
        'A2,L3,core,2024-01-01,,300,quarter,,', // 3 ok: 100 a month
        'A3,L4,core,2024-02-30,,100,month,,', // 4 bad: start_date
        'A3,L5,core,2024-02-01,2024-06-01,50,month,,EUR', // 5 ok: 55
        'A3,L1,core,2024-02-01,,50,month,,', // 6 bad: duplicate line_id
      ),
      'usage.csv': csv('account_id,product,month,amount,currency', 'A1,core,2024-02,10,', 'A1,core,2024-13,10,', 'A1,core,2024-03,-1,'),
      'fx_rates.csv': csv('currency,month,rate', 'EUR,2024-01,1.10', 'EUR,2024-06,0'),
    });
    const rejects = join(dir, 'rejected-rows.csv');
    try {
      const ws = await openIn(dir, { skipInvalid: true, rejectsFile: rejects });
      expect(ws.summary.rejectsFile).toBe(rejects);
      const bySource = Object.fromEntries(ws.summary.sources.map((s) => [s.source, s]));
      expect([bySource['subscriptions']!.rows, bySource['subscriptions']!.rejected]).toEqual([6, 3]);
      expect([bySource['usage']!.rows, bySource['usage']!.rejected]).toEqual([3, 2]);
      expect([bySource['fx_rates']!.rows, bySource['fx_rates']!.rejected]).toEqual([2, 1]);
      expect([bySource['accounts']!.rows, bySource['accounts']!.rejected]).toEqual([3, 0]);

      // Rows read = rows computed + rows rejected, for every file.
      const computed = async (table: string): Promise<number> => Number((await ws.query(`SELECT count(*) AS n FROM ${table}`))[0]!['n']);
      expect(ws.summary.lines).toBe(3);
      expect(ws.summary.lines + bySource['subscriptions']!.rejected).toBe(bySource['subscriptions']!.rows);
      expect((await computed('usage_charges')) + bySource['usage']!.rejected).toBe(bySource['usage']!.rows);
      expect((await computed('fx_rates')) + bySource['fx_rates']!.rejected).toBe(bySource['fx_rates']!.rows);
      expect((await computed('accounts')) + bySource['accounts']!.rejected).toBe(bySource['accounts']!.rows);

      // The valid rows are computed: A1 100 (+10 usage in February), A2 100, A3 55 (EUR at 1.10).
      const ledger = await mrrLedger(ws);
      const at = (account: string, month: string): string | undefined => ledger.find((r) => r.account_id === account && r.month === month)?.mrr.value;
      expect([at('A1', '2024-01'), at('A1', '2024-02'), at('A1', '2024-03')]).toEqual(['100', '110', '100']);
      expect(at('A2', '2024-01')).toBe('100');
      expect([at('A3', '2024-02'), at('A3', '2024-05'), at('A3', '2024-06')]).toEqual(['55', '55', undefined]);
      ws.close();

      // The rejects file: one row per rejected row, every reason, the original row.
      const reader = await DuckDbDriver.open();
      try {
        const rows = await reader.query(`SELECT * FROM read_csv('${rejects.replaceAll("'", "''")}', header = true, all_varchar = true) ORDER BY source, CAST(row AS INTEGER)`);
        expect(rows.map((r) => [r['source'], r['file'], Number(r['row'])])).toEqual([
          ['fx_rates', 'fx_rates.csv', 2],
          ['subscriptions', 'subscriptions.csv', 2],
          ['subscriptions', 'subscriptions.csv', 4],
          ['subscriptions', 'subscriptions.csv', 6],
          ['usage', 'usage.csv', 2],
          ['usage', 'usage.csv', 3],
        ]);
        const reasons = rows.map((r) => String(r['reasons']));
        expect(reasons[0]).toBe("rate = '0': expected a positive number");
        expect(reasons[1]).toBe(
          "discount = '200': expected no more than amount (discount is per interval); interval = 'fortnightly': expected month, quarter, year, week, 'N months' or 'N weeks'",
        );
        expect(reasons[2]).toBe("start_date = '2024-02-30': expected a date as YYYY-MM-DD (a time and offset may follow, as in 2024-03-05T14:30:00Z); day 30 out of range for 2024-02");
        expect(reasons[3]).toBe("line_id = 'L1': expected a unique line_id (first used on row 1)");
        expect(reasons[4]).toBe("month = '2024-13': expected a month as YYYY-MM");
        expect(reasons[5]).toBe("amount = '-1': expected zero or more");
        const original = JSON.parse(String(rows[1]!['original_row'])) as Record<string, unknown>;
        expect(original).toMatchObject({ account_id: 'A2', line_id: 'L2', interval: 'fortnightly', discount: '200', __row: 2 });
        // Nothing dropped silently: every rejected row of the summary is in the file.
        const inFile = (source: string): number => rows.filter((r) => r['source'] === source).length;
        for (const s of ws.summary.sources) expect(inFile(s.source), s.source).toBe(s.rejected);
      } finally {
        reader.close();
      }
    } finally {
      removeDir(dir);
    }
  });

  it('with nothing invalid, no rejects file is written', async () => {
    const dir = dataDir();
    const rejects = join(dir, 'rejected.csv');
    try {
      const ws = await openIn(dir, { skipInvalid: true, rejectsFile: rejects });
      expect(ws.summary.rejectsFile).toBeNull();
      expect(existsSync(rejects)).toBe(false);
      ws.close();
    } finally {
      removeDir(dir);
    }
  });
});
