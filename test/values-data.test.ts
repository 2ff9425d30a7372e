import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseCsv } from 'csv-parse/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Money, NrrError, ValidationError, Workspace, metrics, stringifyJson, type ValidationIssue } from '../src/index.js';
import { runPlaybooks } from '../src/playbooks/run-playbooks.js';
import { csv, fixtureDir, removeDir } from './helpers/fixture-dir.js';

const BIN = fileURLToPath(new URL('../dist/cli/nrr.js', import.meta.url));

/**
 * Values are data, never markers (docs/data-contract.md#values-are-data): no text in the data can
 * change how an output is written, whatever bytes it holds.
 */

describe('stringifyJson', () => {
  it('writes a name that looks like an old in-band marker as the text it is', () => {
    const name = '\u0000money999\u0000';
    const text = stringifyJson([{ name, mrr: new Money('1234567.1234567891234') }, { name: '\u0000money0\u0000' }]);
    const parsed = JSON.parse(text) as { name: string }[];
    expect(parsed.map((r) => r.name)).toEqual([name, '\u0000money0\u0000']);
    // The amount is a JSON number with every digit.
    expect(text).toContain('"mrr": 1234567.1234567891234');
  });

  it('is JSON.stringify for values without Money, at any indent', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer({ min: 0, max: 4 }), (v, indent) => {
        expect(stringifyJson(v, indent)).toBe(JSON.stringify(v, null, indent));
      }),
      { numRuns: 300 },
    );
  });

  it('leaves out undefined fields, writes null for them in arrays and bigint as text', () => {
    expect(stringifyJson({ a: undefined, b: [undefined, 2n], c: new Date(0) }, 0)).toBe('{"b":[null,"2"],"c":"1970-01-01T00:00:00.000Z"}');
  });
});

const SUBS = 'account_id,line_id,product,start_date,end_date,amount,interval,discount,currency';

/** Opens a data folder made of these files; the error it throws, or the workspace's warnings. */
async function open(files: Record<string, string>): Promise<{ error?: unknown; warnings?: readonly ValidationIssue[]; mrr?: string[] }> {
  const dir = fixtureDir(files);
  try {
    const ws = await Workspace.open({ data: dir, policies: { as_of: '2024-03' } });
    try {
      const rows = await ws.query('SELECT account_id, count(*) AS n FROM lines GROUP BY account_id ORDER BY account_id');
      return { warnings: ws.summary.warnings, mrr: rows.map((r) => `${String(r['account_id'])}:${String(r['n'])}`) };
    } finally {
      ws.close();
    }
  } catch (e) {
    return { error: e };
  } finally {
    removeDir(dir);
  }
}

describe('control characters', () => {
  it('refuses an account named \\0money999\\0 with its file, row and column', async () => {
    const { error } = await open({
      'subscriptions.csv': csv(SUBS, 'A1,L1,core,2024-01-01,,100,month,,'),
      'accounts.csv': csv('account_id,name', 'A1,ok', 'A2,\u0000money999\u0000'),
    });
    expect(error).toBeInstanceOf(ValidationError);
    const issues = (error as ValidationError).issues;
    expect(issues).toEqual([
      expect.objectContaining({ file: 'accounts.csv', row: 2, column: 'name', value: '\u0000money999\u0000', expected: expect.stringContaining('found U+0000') }),
    ]);
    expect((error as ValidationError).message).toContain("accounts.csv row 2, column name: '\\u0000money999\\u0000'");
  });

  it('refuses C0 and C1 controls in ids and values of every file, and keeps tab and line breaks in values', async () => {
    const { error } = await open({
      'subscriptions.csv': csv(SUBS, 'A\u0001,L1,core,2024-01-01,,100,month,,', 'A2,L2,"co\u0085re",2024-01-01,,100,month,,', 'A3,L3,"two\nlines\tok",2024-01-01,,100,month,,'),
      'usage.csv': csv('account_id,product,month,amount,currency', 'A2,co\u007Fre,2024-02,10,'),
      'fx_rates.csv': csv('currency,month,rate', 'EUR,2024-01\u001B,1.1'),
    });
    const found = (error as ValidationError).issues.filter((i) => i.expected.startsWith('text without control')).map((i) => `${i.file}:${i.row}:${i.column}`);
    expect(found.sort()).toEqual(['fx_rates.csv:1:month', 'subscriptions.csv:1:account_id', 'subscriptions.csv:2:product', 'usage.csv:1:product']);
  });
});

describe('column names', () => {
  it("refuses a column named __row, naming the file and the column", async () => {
    const { error } = await open({
      'subscriptions.csv': csv(SUBS, 'A1,L1,core,2024-01-01,,100,month,,'),
      'accounts.csv': csv('account_id,__row', 'A1,7'),
    });
    expect(error).toBeInstanceOf(NrrError);
    expect((error as Error).message).toMatch(/^accounts\.csv: column '__row': names starting with '__' are reserved/);
  });
});

describe('id normalisation', () => {
  it('reads ids differing by a tab, a zero-width space or NFC as one account, and warns naming both spellings', async () => {
    const { warnings, mrr } = await open({
      'subscriptions.csv': csv(SUBS, 'A1\t,L1,core,2024-01-01,,100,month,,', 'A1\u200B,L2,core,2024-01-01,,100,month,,', 'Caf\u0065\u0301,L3,core,2024-01-01,,100,month,,'),
      'accounts.csv': csv('account_id', 'A1', 'Caf\u00e9'),
    });
    expect(mrr).toEqual(['A1:2', 'Caf\u00e9:1']);
    const near = (warnings ?? []).filter((w) => w.expected.startsWith('one spelling of each id'));
    expect(near.map((w) => [w.row, w.value, w.expected.includes("read as 'A1'") || w.expected.includes("read as 'Caf\u00e9'")])).toEqual([
      [1, 'A1\t', true],
      [2, 'A1\u200B', true],
      [3, 'Caf\u0065\u0301', true],
    ]);
  });

  it('finds a repeated line id written once with a zero-width space', async () => {
    const { error } = await open({ 'subscriptions.csv': csv(SUBS, 'A1,L1,core,2024-01-01,,100,month,,', 'A1,\uFEFFL1,core,2024-02-01,,100,month,,') });
    expect((error as ValidationError).issues.map((i) => [i.row, i.column, i.expected])).toEqual([[2, 'line_id', 'a unique line_id (first used on row 1)']]);
  });
});

describe('the CSV outbox of plays', () => {
  it('neutralises text a spreadsheet would run as a formula, as --format csv does; the JSONL outbox keeps it exact', async () => {
    const name = '=HYPERLINK("http://evil.example","click")';
    const dir = fixtureDir({
      'subscriptions.csv': csv('account_id,start_date,amount,interval', 'S1,2024-01-01,300,month'),
      'accounts.csv': csv('account_id,name,csm_owner', `S1,"${name.replaceAll('"', '""')}",@cara`),
      'seats.csv': csv('account_id,month,seats_purchased,seats_active', 'S1,2024-06,10,9'),
      'nrr.config.yaml': [
        'version: 1',
        'playbook_settings:',
        '  destinations:',
        '    sheet: { type: outbox, file: out/events.csv }',
        '    jsonl: { type: outbox, file: out/events.jsonl }',
        'playbooks:',
        '  - name: full-seats',
        '    when: seat_utilisation > 0.8',
        '    task: { type: expansion, priority: high, due_days: 14, owner: csm }',
        '    notify: [sheet, jsonl]',
        '',
      ].join('\n'),
    });
    try {
      const ws = await Workspace.open({ data: dir, signals: true, policies: { as_of: '2024-06' } });
      try {
        const r = await runPlaybooks(ws, { asOf: '2024-06-30' });
        expect(r.deliveries?.failed).toBe(0);
      } finally {
        ws.close();
      }
      const rows = parseCsv(readFileSync(join(dir, 'out/events.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
      expect(rows.map((x) => [x['account_name'], x['owner'], x['account_id']])).toEqual([[`'${name}`, "'@cara", 'S1']]);
      const event = JSON.parse(readFileSync(join(dir, 'out/events.jsonl'), 'utf8').trim()) as { account: { name: string } };
      expect(event.account.name).toBe(name);
    } finally {
      removeDir(dir);
    }
  });
});

describe('nrr tasks done --on', () => {
  it('refuses a day that is not in the calendar as a user error, not an internal one', () => {
    const dir = fixtureDir({ 'subscriptions.csv': csv('account_id,start_date,amount,interval', 'S1,2024-01-01,300,month') });
    try {
      const r = spawnSync(process.execPath, [BIN, 'tasks', 'done', '1', '--outcome', 'won', '--on', '2024-02-30', '--data', dir], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });
      expect(r.stderr).toContain("--on: expected a date as YYYY-MM-DD, got '2024-02-30'");
      expect([1, 2]).toContain(r.status);
    } finally {
      removeDir(dir);
    }
  });
});

describe('JSON amounts', () => {
  const line = (amount: string, id = '"A1"'): string => `{"account_id":${id},"start_date":"2024-01-01","amount":${amount},"interval":"month"}`;

  it('keeps every digit a JSON number was written with, in amounts and ids', async () => {
    const { mrr } = await open({ 'subscriptions.json': `[${line('1234567.123456789123')},\n${line('100', '12345678901234567890')}]` });
    expect(mrr).toEqual(['12345678901234567890:1', 'A1:1']);
    const dir = fixtureDir({ 'subscriptions.jsonl': `${line('1234567.123456789123')}\n${line('0.000000000001', '"A2"')}\n` });
    try {
      const ws = await Workspace.open({ data: dir, policies: { as_of: '2024-01' } });
      try {
        const rows = await ws.query('SELECT account_id, CAST(amount AS VARCHAR) AS amount FROM lines ORDER BY account_id');
        expect(rows.map((r) => [r['account_id'], r['amount']])).toEqual([
          ['A1', '1234567.123456789123'],
          ['A2', '0.000000000001'],
        ]);
      } finally {
        ws.close();
      }
    } finally {
      removeDir(dir);
    }
  });

  it('refuses an exponent and more places than money keeps, in JSON as in CSV', async () => {
    const json = await open({ 'subscriptions.json': `[${line('1e3')},${line('1.1234567890123')},${line('"2.5E2"')}]` });
    const csvFolder = await open({ 'subscriptions.csv': csv('account_id,start_date,amount,interval', 'A1,2024-01-01,1e3,month', 'A1,2024-01-01,1.1234567890123,month', 'A1,2024-01-01,2.5E2,month') });
    const said = (e: unknown): string[] => (e as ValidationError).issues.map((i) => `${i.row} ${i.column} ${i.value} ${i.expected}`);
    expect(said(json.error)).toEqual(said(csvFolder.error));
    expect(said(json.error)).toEqual([
      '1 amount 1e3 a plain number such as 1200.50 (no currency symbols or thousands separators)',
      '2 amount 1.1234567890123 at most 12 places after the decimal point (money keeps 12)',
      '3 amount 2.5E2 a plain number such as 1200.50 (no currency symbols or thousands separators)',
    ]);
  });
});

describe('money totals', () => {
  const folder = (a1: string, a2: string): Record<string, string> => ({
    'subscriptions.csv': csv('account_id,start_date,amount,interval', `A1,2023-01-01,${a1},month`, `A2,2023-01-01,${a2},month`),
  });

  it('refuses amounts whose totals would overflow money, naming the largest accounts', async () => {
    const { error } = await open(folder('99999999999999999999999999', '600000000000000000000000'));
    expect(error).toBeInstanceOf(NrrError);
    expect((error as Error).message).toMatch(/^money totals would overflow: .*about 1\.0e\+26.*the largest accounts: A1 \(about 1\.0e\+26 a month\), A2 \(about 6\.0e\+23 a month\)/);
  });

  it('divides an amount above 10^14 by its interval exactly (it overflowed before)', async () => {
    const dir = fixtureDir({
      'subscriptions.csv': csv('account_id,start_date,amount,interval', 'A1,2024-01-01,99999999999999999999.5,year', 'A2,2024-01-01,99999999999999999999.5,weekly'),
    });
    try {
      const ws = await Workspace.open({ data: dir, policies: { as_of: '2024-01' } });
      try {
        const rows = await ws.query('SELECT account_id, CAST(mrr_local AS VARCHAR) AS mrr FROM lines ORDER BY account_id');
        // ÷ 12, and × 13 ÷ 3 for a weekly price; truncated at the 12th place.
        expect(rows.map((r) => r['mrr'])).toEqual(['8333333333333333333.291666666666', '433333333333333333331.166666666666']);
      } finally {
        ws.close();
      }
    } finally {
      removeDir(dir);
    }
  });

  it('totals amounts just below the limit exactly, to the last cent', async () => {
    const dir = fixtureDir(folder('400000000000000000000.5', '499999999999999999999.25'));
    try {
      const ws = await Workspace.open({ data: dir, policies: { as_of: '2024-06' } });
      try {
        const [m] = await metrics(ws, { window: 12 });
        expect(m!.starting_mrr.value).toBe('899999999999999999999.75');
        expect(m!.ending_mrr.value).toBe('899999999999999999999.75');
      } finally {
        ws.close();
      }
    } finally {
      removeDir(dir);
    }
  });
});

describe('every row is kept or rejected with a reason', () => {
  const HOSTILE = ['\u0000', 'x\u0001y', '=HYPERLINK("http://e","x")', '+1', '@cara', '-x', '\tA', 'A\r', '<!channel>', 'a,"b"', 'A\u200B', '\u00A0A', 'B\u0085', '\u0000money999\u0000', '', '   '];
  const ID = fc.oneof(fc.constantFrom('A1', 'A2', 'A3 ', 'A\u200B1'), fc.constantFrom(...HOSTILE));
  const AMOUNT = fc.constantFrom('100', '12.5', '0', '1e3', '-5', '1.1234567890123', 'abc', '', '99999999999999999999', '=1+1', '1\u0000');
  const DATE = fc.constantFrom('2024-01-01', '2024-02-30', '2024-03-05T10:00:00Z', '', 'x\u0000', '2023-12-31');
  const INTERVAL = fc.constantFrom('month', 'year', '3 months', 'weekly', 'fortnight', '', 'month\u0001');
  const TEXT = fc.oneof(fc.constantFrom('core', 'addon'), fc.constantFrom(...HOSTILE), fc.string({ maxLength: 6 }));
  const ROW = fc.tuple(ID, TEXT, TEXT, DATE, DATE, AMOUNT, INTERVAL);
  /** Every field quoted, so any text (separators, quotes, line breaks) stays one field. */
  const line = (cells: readonly string[]): string => cells.map((c) => `"${c.replaceAll('"', '""')}"`).join(',');

  it('over random rows of good and hostile values: kept rows + rejected rows = every row, each once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(ROW, { minLength: 1, maxLength: 12 }), async (rows) => {
        const dir = fixtureDir({
          'subscriptions.csv': [line(['account_id', 'line_id', 'product', 'start_date', 'end_date', 'amount', 'interval']), ...rows.map(line)].join('\n') + '\n',
          'accounts.csv': csv('account_id,name', 'A1,"=cmd|\' /C calc\'!A0"', 'A2,plain'),
        });
        try {
          const ws = await Workspace.open({ data: dir, skipInvalid: true, policies: { as_of: '2024-06' } });
          let kept: number[];
          try {
            kept = (await ws.query('SELECT row_no FROM lines')).map((r) => Number(r['row_no']));
          } finally {
            ws.close();
          }
          const rejectsPath = join(dir, 'rejected.csv');
          const rejects = existsSync(rejectsPath)
            ? (parseCsv(readFileSync(rejectsPath, 'utf8'), { columns: true }) as Record<string, string>[]).filter((r) => r['source'] === 'subscriptions')
            : [];
          for (const r of rejects) expect(r['reasons']).toMatch(/^[a-z_]+ = .*: expected .+/s);
          const rejected = rejects.map((r) => Number(r['row']));
          expect([...kept, ...rejected].sort((a, b) => a - b)).toEqual(rows.map((_, i) => i + 1));
        } finally {
          removeDir(dir);
        }
      }),
      { numRuns: 20 },
    );
  }, 120_000);
});
