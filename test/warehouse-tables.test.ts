import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Driver } from '../src/drivers/driver.js';
import { DuckDbDriver } from '../src/drivers/duckdb-driver.js';
import { Money, Workspace, metricsSeries, movements, mrrLedger, type PolicyInput } from '../src/index.js';
import { monthIndex } from '../src/engine/months.js';
import { openOverDuckDbFile } from '../src/workspace/warehouse-model.js';
import { ValidationError } from '../src/workspace/validation-report.js';
import type { OpenOptions } from '../src/workspace/workspace.js';
import { engineAvailability, enginesUnderTest, startEngine, type Engine, type EngineName } from './helpers/engines.js';
import { fixtureDir, removeDir } from './helpers/fixture-dir.js';

/**
 * The config's `warehouse.tables`: the golden data kept in tables of a warehouse, under other
 * names and with other column names and real types (dates, decimals), gives the same movements,
 * ledger and metrics as the golden files, to the digit; a bad value in a table is refused with the
 * message a file gets, naming the table, the row by its key, the column, the value and what was
 * expected. On every engine of NRR_ENGINES (default duckdb: a DuckDB database file).
 */

const GOLDEN = 'test/fixtures/golden';
const TODAY = new Date('2025-06-15T00:00:00Z');

type Kind = 'text' | 'date' | 'money';

/** How each golden file becomes a table: its name and, per CSV column, the table's column and type. */
const TABLES: Record<string, { table: string; columns: Record<string, [string, Kind]> }> = {
  subscriptions: {
    table: 'billing.contract_lines',
    columns: {
      account_id: ['customer', 'text'],
      line_id: ['line_ref', 'text'],
      product: ['product', 'text'],
      start_date: ['starts_on', 'date'],
      end_date: ['ends_on', 'date'],
      amount: ['price', 'money'],
      interval: ['billing_period', 'text'],
      discount: ['discount', 'money'],
      currency: ['currency', 'text'],
    },
  },
  accounts: {
    table: 'crm.customers',
    columns: { account_id: ['customer', 'text'], name: ['name', 'text'], segment: ['segment', 'text'], region: ['region', 'text'], owner: ['owner', 'text'] },
  },
  usage: {
    table: 'billing.metered',
    columns: { account_id: ['customer', 'text'], product: ['product', 'text'], month: ['month', 'text'], amount: ['amount', 'money'], currency: ['currency', 'text'] },
  },
  fx_rates: { table: 'finance.rates', columns: { currency: ['currency', 'text'], month: ['month', 'text'], rate: ['rate', 'money'] } },
};

/** The config that maps the sources to those tables (renaming the columns whose names differ). */
function configYaml(subscriptionsTable = TABLES['subscriptions']!.table): string {
  const lines = ['warehouse:', '  tables:'];
  for (const [source, t] of Object.entries(TABLES)) {
    const renames = Object.entries(t.columns).filter(([c, [col]]) => c !== col);
    lines.push(`    ${source}:`, `      table: ${source === 'subscriptions' ? subscriptionsTable : t.table}`);
    if (renames.length > 0) lines.push(`      columns: { ${renames.map(([c, [col]]) => `${c}: ${col}`).join(', ')} }`);
  }
  return lines.join('\n') + '\n';
}

const TYPES: Record<EngineName, Record<Kind, string>> = {
  duckdb: { text: 'VARCHAR', date: 'DATE', money: 'DECIMAL(18,6)' },
  postgres: { text: 'TEXT', date: 'DATE', money: 'NUMERIC(18,6)' },
  clickhouse: { text: 'Nullable(String)', date: 'Nullable(Date32)', money: 'Nullable(Decimal(18,6))' },
  'clickhouse-http': { text: 'Nullable(String)', date: 'Nullable(Date32)', money: 'Nullable(Decimal(18,6))' },
};

/** Makes the golden tables in `db` (on ClickHouse, databases stand for schemas); `bad` changes one value first. */
async function loadGolden(db: Driver, engine: EngineName, bad?: { table: string; line: string; column: string; value: string }): Promise<void> {
  const q = (s: string): string => db.dialect.quoteIdent(s);
  for (const schema of ['billing', 'crm', 'finance']) await db.exec(engine.startsWith('clickhouse') ? `CREATE DATABASE IF NOT EXISTS ${schema}` : `CREATE SCHEMA IF NOT EXISTS ${schema}`);
  for (const [source, t] of Object.entries(TABLES)) {
    if (bad !== undefined && source !== 'subscriptions') continue;
    const rows = parse(readFileSync(join(GOLDEN, `${source}.csv`), 'utf8'), { columns: true }) as Record<string, string>[];
    const name = bad !== undefined && source === 'subscriptions' ? bad.table : t.table;
    const cols = Object.entries(t.columns);
    await db.exec(`CREATE TABLE ${name} (${cols.map(([, [col, kind]]) => `${q(col)} ${TYPES[engine][kind]}`).join(', ')})`);
    const literal = (v: string | undefined, kind: Kind): string =>
      v === undefined || v === '' ? 'NULL' : kind === 'money' && /^-?[0-9.]+$/.test(v) ? v : db.dialect.quoteString(v);
    const values = rows.map((r) => {
      const row = bad !== undefined && source === 'subscriptions' && r['line_id'] === bad.line ? { ...r, [bad.column]: bad.value } : r;
      return `(${cols.map(([c, [, kind]]) => literal(row[c], kind)).join(', ')})`;
    });
    await db.exec(`INSERT INTO ${name} (${cols.map(([, [col]]) => q(col)).join(', ')}) VALUES ${values.join(', ')}`);
  }
}

/** The figures compared, as exact text. */
async function figures(ws: Workspace): Promise<unknown> {
  const months = Array.from({ length: 12 }, (_, i) => monthIndex(`2024-${String(i + 1).padStart(2, '0')}`));
  const plain = (o: object): Record<string, unknown> => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v instanceof Money ? v.value : v]));
  const out: Record<string, unknown> = {
    movements: (await movements(ws)).map(plain),
    ledger: (await mrrLedger(ws, { byProduct: true })).map(plain),
  };
  for (const by of [undefined, 'segment', 'product']) {
    for (const window of [1, 11]) out[`${by ?? 'all'} ${window}`] = (await metricsSeries(ws, { months, window, ...(by ? { by } : {}) })).map(plain);
  }
  return out;
}

const POLICY_SETS: readonly PolicyInput[] = [{}, { fx: 'monthly', snapshot: 'start' }];

describe.each(enginesUnderTest())('warehouse.tables on %s', (name: EngineName) => {
  const why = name === 'duckdb' ? null : engineAvailability(name);
  let engine: Engine | null = null;
  let setup: Driver | null = null;
  let duckFile = '';
  const dir = fixtureDir({});
  const options = (config: string, policies: PolicyInput): OpenOptions => {
    const path = join(dir, config);
    return { data: dir, config: path, policies: { as_of: '2024-12', ...policies }, today: TODAY };
  };
  /** Opens the workspace over the tables, on this engine. */
  const open = async (o: OpenOptions): Promise<Workspace> => (name === 'duckdb' ? openOverDuckDbFile(o, duckFile) : engine!.open(o));
  const bad = { table: 'billing.bad_lines', line: 'A2-quarterly', column: 'amount', value: '-5' };
  const badInterval = { table: 'billing.odd_lines', line: 'A3-seats', column: 'interval', value: 'fortnightly' };

  beforeAll(async () => {
    if (why !== null) return;
    writeFileSync(join(dir, 'tables.yaml'), configYaml());
    writeFileSync(join(dir, 'bad.yaml'), configYaml(bad.table));
    writeFileSync(join(dir, 'odd.yaml'), configYaml(badInterval.table));
    if (name === 'duckdb') {
      duckFile = join(dir, 'warehouse.duckdb');
      setup = await DuckDbDriver.open({ path: duckFile });
    } else {
      engine = await startEngine(name);
      setup = await engine.connect();
    }
    await loadGolden(setup, name);
    await loadGolden(setup, name, bad);
    await loadGolden(setup, name, badInterval);
    // A line that starts at an instant: 03:30 UTC on 1 February is still 31 January in New York.
    const instant = { duckdb: 'TIMESTAMPTZ', postgres: 'TIMESTAMPTZ', clickhouse: "Nullable(DateTime64(3, 'UTC'))", 'clickhouse-http': "Nullable(DateTime64(3, 'UTC'))" }[name];
    const at = name.startsWith('clickhouse') ? "'2024-02-01 03:30:00'" : "'2024-02-01 03:30:00+00'";
    await setup.exec(`CREATE TABLE billing.instants (account_id ${TYPES[name].text}, start_date ${instant}, amount ${TYPES[name].money}, "interval" ${TYPES[name].text})`);
    await setup.exec(`INSERT INTO billing.instants VALUES ('A', ${at}, 100.25, 'month')`);
    writeFileSync(join(dir, 'instants.yaml'), 'warehouse:\n  tables:\n    subscriptions: billing.instants\n');
    // Money with 20 digits before the point (the money limit keeps monthly totals below 10^21) and 12 after, which no double holds.
    const big = { duckdb: 'DECIMAL(38,12)', postgres: 'NUMERIC(38,12)', clickhouse: 'Nullable(Decimal(38,12))', 'clickhouse-http': 'Nullable(Decimal(38,12))' }[name];
    await setup.exec(`CREATE TABLE billing.big (account_id ${TYPES[name].text}, start_date ${TYPES[name].date}, mrr ${big})`);
    await setup.exec(`INSERT INTO billing.big VALUES ('B', '2024-01-01', 12345678901234567890.123456789012)`);
    writeFileSync(join(dir, 'big.yaml'), 'warehouse:\n  tables:\n    subscriptions: billing.big\n');
    // The DuckDB file is attached read-only: its writer closes first.
    if (name === 'duckdb') setup.close();
  }, 180_000);
  afterAll(() => {
    if (name !== 'duckdb') setup?.close();
    engine?.stop();
    removeDir(dir);
  });

  describe.skipIf(why !== null)(`on ${name}`, () => {
    it.each(POLICY_SETS.map((p) => [JSON.stringify(p), p] as const))('the golden tables give the golden files’ figures to the digit under %s', async (_label, policies) => {
      const files = await Workspace.open({ data: GOLDEN, policies: { as_of: '2024-12', ...policies }, today: TODAY, store: false });
      const expected = await figures(files);
      files.close();
      const ws = await open(options('tables.yaml', policies));
      try {
        expect(ws.summary.sources.map((s) => `${s.file} ${s.rows}`)).toEqual([
          'billing.contract_lines 18',
          'crm.customers 12',
          'billing.metered 2',
          'finance.rates 2',
        ]);
        expect(await figures(ws)).toEqual(expected);
      } finally {
        ws.close();
      }
    }, 120_000);

    it('a negative amount in a table is refused naming the table, the row by its key, the column and what was expected', async () => {
      const e = await open(options('bad.yaml', {})).then(
        (ws) => (ws.close(), null),
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(ValidationError);
      const v = e as ValidationError;
      // The amount, and the discount of 300 that is now more than it: the two rules a file's row breaks.
      expect(v.errorCount).toBe(2);
      expect(v.issues.map((i) => [i.file, i.row, i.key, i.column, i.expected])).toEqual([
        ['billing.bad_lines', 5, "account_id 'A2', line_id 'A2-quarterly'", 'amount', 'zero or more'],
        ['billing.bad_lines', 5, "account_id 'A2', line_id 'A2-quarterly'", 'discount', 'no more than amount (discount is per interval)'],
      ]);
      expect(Number(v.issues[0]!.value)).toBe(-5);
      // Rows are numbered in the order of their key (A1, A10, A11, A12, A2…): A2's line is the fifth.
      expect(v.message).toMatch(/billing\.bad_lines row 5 \(account_id 'A2', line_id 'A2-quarterly'\), column amount: '-5(\.0+)?': expected zero or more/);
      expect(v.message).not.toMatch(/\n\s+at /);
    }, 60_000);

    it('a text value breaks the rule a file’s would, with the same message', async () => {
      const e = await open(options('odd.yaml', {})).then(
        (ws) => (ws.close(), null),
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).message).toContain(
        "billing.odd_lines row 7 (account_id 'A3', line_id 'A3-seats'), column interval: 'fortnightly': expected month, quarter, year, week, 'N months' or 'N weeks'",
      );
    }, 60_000);

    it.each([
      ['America/New_York', '2024-01'],
      ['UTC', '2024-02'],
    ])('a timestamp with a time zone keeps its instant: in %s the line starts in %s', async (timezone, first) => {
      const ws = await open(options('instants.yaml', { timezone, as_of: '2024-03' }));
      try {
        const ledger = (await mrrLedger(ws)).map((r) => `${r.account_id} ${r.month} ${r.mrr.value}`);
        const months = first === '2024-01' ? ['2024-01', '2024-02', '2024-03'] : ['2024-02', '2024-03'];
        expect(ledger).toEqual(months.map((m) => `A ${m} 100.25`));
      } finally {
        ws.close();
      }
    }, 60_000);

    it('money of 20 digits and 12 places leaves the warehouse with every digit', async () => {
      const ws = await open(options('big.yaml', { as_of: '2024-02' }));
      try {
        expect((await mrrLedger(ws)).map((r) => `${r.account_id} ${r.month} ${r.mrr.value}`)).toEqual([
          'B 2024-01 12345678901234567890.123456789012',
          'B 2024-02 12345678901234567890.123456789012',
        ]);
      } finally {
        ws.close();
      }
    }, 60_000);

    it.skipIf(name !== 'postgres')('on PostgreSQL a table without its schema is refused: it would lie among the model’s tables, which are replaced', async () => {
      writeFileSync(join(dir, 'bare.yaml'), 'warehouse:\n  tables:\n    subscriptions: contract_lines\n');
      await expect(open(options('bare.yaml', {}))).rejects.toThrow(
        /^contract_lines \(warehouse\.tables\.subscriptions in the config\): the table must be named with its schema, and not lie in the schema 't_[0-9a-f]+' where nrr makes the model's tables/,
      );
    }, 60_000);

    it('a table that is not there, and a renamed column that is not there, are named', async () => {
      writeFileSync(join(dir, 'missing.yaml'), 'warehouse:\n  tables:\n    subscriptions: billing.no_such_lines\n');
      await expect(open(options('missing.yaml', {}))).rejects.toThrow(/^billing\.no_such_lines: no table or view of that name in .*\(warehouse\.tables\.subscriptions in the config\)/);
      writeFileSync(join(dir, 'renamed.yaml'), 'warehouse:\n  tables:\n    subscriptions: { table: billing.contract_lines, columns: { account_id: client } }\n');
      await expect(open(options('renamed.yaml', {}))).rejects.toThrow(
        "billing.contract_lines: no column 'client' (warehouse.tables.subscriptions.columns.account_id in the config); the table's columns: customer, line_ref, product, starts_on, ends_on, price, billing_period, discount, currency",
      );
    }, 60_000);
  });
});

/** The command line, on a DuckDB database file that the config names (needs `npm run build`: dist/). */
describe('nrr mrr|movements|metrics over warehouse.tables of a DuckDB file', () => {
  const dir = fixtureDir({});
  const data = join(dir, 'data');
  const nrr = (args: readonly string[]): { code: number; stdout: string; stderr: string } => {
    const r = spawnSync(process.execPath, [join(process.cwd(), 'dist/cli/nrr.js'), ...args], { env: { ...process.env, NRR_TODAY: '2025-06-15' }, encoding: 'utf8' });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  beforeAll(async () => {
    mkdirSync(data);
    const db = await DuckDbDriver.open({ path: join(dir, 'warehouse.duckdb') });
    await loadGolden(db, 'duckdb');
    db.close();
    // The file is named relative to the config's folder.
    writeFileSync(join(data, 'nrr.config.yaml'), configYaml().replace('warehouse:\n', 'warehouse:\n  url: duckdb:../warehouse.duckdb\n'));
  }, 60_000);
  afterAll(() => removeDir(dir));

  it.each([
    ['metrics', '--as-of', '2024-12', '--window', '11', '--format', 'json'],
    ['metrics', '--as-of', '2024-12', '--by', 'segment', '--window', '3', '--format', 'csv'],
    ['movements', '--format', 'csv'],
    ['mrr', '--by-product', '--format', 'csv'],
  ])('nrr %s … gives what the golden files give, byte for byte', (...args) => {
    const tables = nrr([...args, '--data', data, '-q']);
    const files = nrr([...args, '--data', GOLDEN, '--no-store', '-q']);
    expect(tables.code, tables.stderr).toBe(0);
    expect(files.code, files.stderr).toBe(0);
    expect(tables.stdout.length).toBeGreaterThan(300);
    expect(tables.stdout).toBe(files.stdout);
  }, 60_000);

  it('says what was read: the tables, with their rows', () => {
    const r = nrr(['metrics', '--as-of', '2024-12', '--data', data, '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('read billing.contract_lines 18 rows, crm.customers 12 rows, billing.metered 2 rows, finance.rates 2 rows');
  }, 60_000);

  it('a command that reads files only refuses such a config, saying which commands read tables', () => {
    const r = nrr(['report', '--data', data, '-q']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/warehouse\.tables: the sources are tables in a warehouse, which nrr mrr, movements and metrics read/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});
